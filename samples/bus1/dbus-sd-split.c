// SPDX-License-Identifier: GPL-2.0
/*
 * dbus-sd-split - the pump a port of libbus1-dbus to sd-bus would need,
 * tried on the host (Documentation/bus1/dbus.rst, "sd-bus over bus1").
 *
 * sd-bus reads and writes messages only through fds. With one socketpair
 * (bus1-dbus-sdpump-bench) the pump must find message boundaries in a
 * byte stream. sd_bus_set_fd() takes the input and the output fd apart, so
 * here the output is a SOCK_SEQPACKET socket: each message sd-bus sends is
 * one record, which the pump takes with one recvmsg() (fds included, as
 * SCM_RIGHTS); the input stays a SOCK_STREAM socket that sd-bus reads as
 * usual. Each sd_bus authenticates (ANONYMOUS, unix fds negotiated)
 * against a throw-away sd_bus of the other role on dups of the pump's
 * ends, as the bench does.
 *
 * Three Echo("sh") calls (a string and an fd) go from a client sd_bus
 * through the pump to a server sd_bus's object and back. Exits 0 only if
 * every call and reply crossed as exactly one record with the fd intact.
 *
 *   make -C samples/bus1 sd-split      (host only, libsystemd-dev)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include "dbus-sd-auth.h"

#define MAX_FDS 16

struct end {
	sd_bus *bus;
	int in;		/* the pump writes here, sd-bus reads (stream) */
	int out;	/* sd-bus writes here, the pump reads (records) */
};

static void die(const char *what, int err)
{
	fprintf(stderr, "dbus-sd-split: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	exit(1);
}

static int dup_fd(int fd)
{
	int r = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	if (r < 0)
		die("dup", errno);
	return r;
}

static void end_open(struct end *e, bool server)
{
	int in[2], out[2], r;
	sd_bus *tmp;
	sd_id128_t id;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, out))
		die("socketpair", errno);
	if (sd_id128_randomize(&id) < 0 || sd_bus_new(&e->bus) < 0 ||
	    sd_bus_new(&tmp) < 0)
		die("sd_bus_new", ENOMEM);
	/* the throw-away end reads what e->bus writes and the reverse */
	if (sd_bus_set_fd(e->bus, in[0], out[0]) < 0 ||
	    sd_bus_set_fd(tmp, dup_fd(out[1]), dup_fd(in[1])) < 0 ||
	    sd_bus_set_anonymous(e->bus, 1) < 0 ||
	    sd_bus_set_anonymous(tmp, 1) < 0 ||
	    sd_bus_negotiate_fds(e->bus, 1) < 0 ||
	    sd_bus_negotiate_fds(tmp, 1) < 0 ||
	    sd_bus_set_server(server ? e->bus : tmp, 1, id) < 0)
		die("sd_bus_set_*", EINVAL);
	r = sd_auth_pair(server ? e->bus : tmp, server ? tmp : e->bus);
	if (r < 0)
		die("the authentication", r);
	if (sd_bus_can_send(e->bus, SD_BUS_TYPE_UNIX_FD) <= 0)
		die("unix fds not negotiated", EPROTO);
	sd_bus_unref(tmp);
	/* sd-bus made the shared file descriptions non-blocking */
	if (fcntl(in[1], F_SETFL, 0) || fcntl(out[1], F_SETFL, 0))
		die("fcntl", errno);
	e->in = in[1];
	e->out = out[1];
}

/* one record sd-bus wrote on @from, with its fds, into @to's input */
static size_t pump_record(struct end *from, struct end *to)
{
	char buf[65536], cbuf[CMSG_SPACE(MAX_FDS * sizeof(int))];
	struct iovec v = { buf, sizeof(buf) };
	struct msghdr mh = {
		.msg_iov = &v,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	ssize_t n;

	n = recvmsg(from->out, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n <= 0)
		die("recvmsg", n < 0 ? errno : EPIPE);
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		die("recvmsg", EMSGSIZE);
	/* exactly one message per record: nothing else is waiting */
	if (recv(from->out, buf, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 ||
	    errno != EAGAIN)
		die("more than one record per message", EPROTO);
	v.iov_len = n;
	if (!mh.msg_controllen)
		mh.msg_control = NULL;
	if (sendmsg(to->in, &mh, 0) != n)
		die("sendmsg", errno);
	return n;
}

static int on_echo(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *s;
	char c;
	int fd, r;

	r = sd_bus_message_read(m, "sh", &s, &fd);
	if (r < 0)
		return r;
	if (pread(fd, &c, 1, 0) != 1 || c != 'X')
		return -EIO;
	return sd_bus_reply_method_return(m, "s", s);
}

static const sd_bus_vtable echo_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Echo", "sh", "s", on_echo,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

static void echo_call(struct end *cli, struct end *srv, int fd, int i)
{
	sd_bus_message *m, *reply = NULL;
	uint64_t cookie, reply_cookie;
	const char *s;
	size_t n_call, n_reply;
	int r;

	r = sd_bus_message_new_method_call(cli->bus, &m, "org.bus1.Test",
					   "/org/bus1/test", "org.bus1.Test",
					   "Echo");
	if (r >= 0)
		r = sd_bus_message_set_sender(m, ":1.1");
	if (r >= 0)
		r = sd_bus_message_append(m, "sh", "hello", fd);
	if (r >= 0)
		r = sd_bus_send(cli->bus, m, &cookie);
	if (r < 0)
		die("the Echo call", r);
	sd_bus_message_unref(m);
	n_call = pump_record(cli, srv);
	while ((r = sd_bus_process(srv->bus, NULL)) > 0)
		;
	if (r < 0)
		die("sd_bus_process (server)", r);
	n_reply = pump_record(srv, cli);
	while (!reply && (r = sd_bus_process(cli->bus, &reply)) > 0)
		;
	if (r < 0 || !reply)
		die("sd_bus_process (client)", r < 0 ? r : EPROTO);
	r = sd_bus_message_get_reply_cookie(reply, &reply_cookie);
	if (r >= 0)
		r = sd_bus_message_read(reply, "s", &s);
	if (r < 0 || reply_cookie != cookie || strcmp(s, "hello"))
		die("the reply", r < 0 ? r : EPROTO);
	printf("ok %d - Echo(\"hello\", fd): %zu B out, %zu B back, one record each\n",
	       i + 1, n_call, n_reply);
	sd_bus_message_unref(reply);
}

int main(void)
{
	struct end cli, srv;
	FILE *f;
	int i, r;

	end_open(&cli, false);
	end_open(&srv, true);
	r = sd_bus_add_object_vtable(srv.bus, NULL, "/org/bus1/test",
				     "org.bus1.Test", echo_vtable, NULL);
	if (r < 0)
		die("sd_bus_add_object_vtable", r);
	f = tmpfile();
	if (!f || fputc('X', f) == EOF || fflush(f))
		die("tmpfile", errno);
	printf("1..3\n");
	for (i = 0; i < 3; ++i)
		echo_call(&cli, &srv, fileno(f), i);
	printf("# 3 passed, 0 failed\n");
	return 0;
}
