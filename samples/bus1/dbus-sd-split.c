// SPDX-License-Identifier: GPL-2.0
/*
 * dbus-sd-split - the pump a port of libbus1-dbus to sd-bus would need,
 * tried on the host (Documentation/bus1/dbus.rst, "sd-bus over bus1").
 *
 * sd-bus reads and writes messages only through fds. With one socketpair
 * (bus1-dbus-sdpump-bench) the pump must find message boundaries in a
 * byte stream. sd_bus_set_fd() takes the input and the output fd apart;
 * both are SOCK_STREAM sockets (a SOCK_SEQPACKET output, one record per
 * message, bounded messages by the socket buffer): the pump reads one
 * message at a time off the output, framed by its fixed header, with the
 * fds (SCM_RIGHTS) that came with it, and lets sd-bus write the rest of a
 * larger one between its reads. Each sd_bus authenticates (ANONYMOUS, unix fds negotiated)
 * against a throw-away sd_bus of the other role on dups of the pump's
 * ends, as the bench does. The pump is libbus1-dbus's own
 * (dbus-native-pump.c: b1d_pump_open(), b1d_pump_take(), b1d_pump_feed()).
 *
 * Three Echo("sh") calls (a string and an fd) go from a client sd_bus
 * through the pump to a server sd_bus's object and back, then one with a
 * 1 MiB string, five times the socket buffer. Exits 0 only if every call
 * and reply crossed as exactly one message with the fd and string intact
 * and nothing behind it.
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
#include "dbus-native-int.h"

#define MAX_FDS 16

static void die(const char *what, int err)
{
	fprintf(stderr, "dbus-sd-split: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	exit(1);
}

/* libbus1-dbus's pump (dbus-native-pump.c), without its filter */
static void end_open(struct b1d_pump *e, bool server)
{
	int r = b1d_pump_open(e, server, false);

	if (r < 0)
		die("b1d_pump_open", r);
}

/* one message sd-bus wrote on @from, with its fds, into @to's input */
static size_t pump_record(struct b1d_pump *from, struct b1d_pump *to)
{
	int fds[MAX_FDS];
	size_t n_fds;
	ssize_t n;
	char c;
	int r;

	n = b1d_pump_take(from, fds, MAX_FDS, &n_fds);
	if (n <= 0)
		die("b1d_pump_take", n < 0 ? (int)n : EPIPE);
	/* exactly one message per record: nothing else is waiting */
	if (recv(from->out, &c, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 ||
	    errno != EAGAIN)
		die("more than one record per message", EPROTO);
	r = b1d_pump_feed(to, from->buf, n, fds, n_fds, NULL);
	if (r < 0)
		die("b1d_pump_feed", r);
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

static void echo_call(struct b1d_pump *cli, struct b1d_pump *srv, int fd,
		      int i, const char *arg)
{
	sd_bus_message *m, *reply = NULL;
	uint64_t cookie, reply_cookie;
	const char *s;
	size_t n_call, n_reply;
	int r;

	r = sd_bus_message_new_method_call(cli->sd, &m, "org.bus1.Test",
					   "/org/bus1/test", "org.bus1.Test",
					   "Echo");
	if (r >= 0)
		r = sd_bus_message_set_sender(m, ":1.1");
	if (r >= 0)
		r = sd_bus_message_append(m, "sh", arg, fd);
	if (r >= 0)
		r = sd_bus_send(cli->sd, m, &cookie);
	if (r < 0)
		die("the Echo call", r);
	sd_bus_message_unref(m);
	n_call = pump_record(cli, srv);
	while ((r = sd_bus_process(srv->sd, NULL)) > 0)
		;
	if (r < 0)
		die("sd_bus_process (server)", r);
	n_reply = pump_record(srv, cli);
	while (!reply && (r = sd_bus_process(cli->sd, &reply)) > 0)
		;
	if (r < 0 || !reply)
		die("sd_bus_process (client)", r < 0 ? r : EPROTO);
	r = sd_bus_message_get_reply_cookie(reply, &reply_cookie);
	if (r >= 0)
		r = sd_bus_message_read(reply, "s", &s);
	if (r < 0 || reply_cookie != cookie || strcmp(s, arg))
		die("the reply", r < 0 ? r : EPROTO);
	printf("ok %d - Echo(a string of %zu B, fd): %zu B out, %zu B back, one message each\n",
	       i + 1, strlen(arg), n_call, n_reply);
	sd_bus_message_unref(reply);
}

int main(void)
{
	struct b1d_pump cli, srv;
	size_t big = 1 << 20;
	char *s = malloc(big + 1);
	FILE *f;
	int i, r;

	end_open(&cli, false);
	end_open(&srv, true);
	r = sd_bus_add_object_vtable(srv.sd, NULL, "/org/bus1/test",
				     "org.bus1.Test", echo_vtable, NULL);
	if (r < 0)
		die("sd_bus_add_object_vtable", r);
	f = tmpfile();
	if (!f || fputc('X', f) == EOF || fflush(f))
		die("tmpfile", errno);
	if (!s)
		die("malloc", ENOMEM);
	memset(s, 'x', big);
	s[big] = 0;
	printf("1..4\n");
	for (i = 0; i < 3; ++i)
		echo_call(&cli, &srv, fileno(f), i, "hello");
	echo_call(&cli, &srv, fileno(f), 3, s);
	printf("# 4 passed, 0 failed\n");
	free(s);
	return 0;
}
