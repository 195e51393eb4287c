// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libbus1-dbus: the pump (Documentation/bus1/dbus.rst, "sd-bus over
 * bus1"). sd-bus has no public path between bytes and messages but an fd,
 * so each connection's sd_bus sits on two sockets whose other ends are
 * ours: sd_bus_set_fd(in, out), the output a SOCK_SEQPACKET socket on which
 * every message sd-bus sends is one record, taken with one recvmsg()
 * together with its unix fds (SCM_RIGHTS); the input a SOCK_STREAM socket
 * into which we write what bus1 brought, fds as SCM_RIGHTS, for
 * sd_bus_process() to read, validate and parse. The sd_bus authenticates
 * once (ANONYMOUS, unix fds negotiated) against a throw-away sd_bus of the
 * other role on dups of our ends (dbus-sd-auth.h): bus1 peers exchange
 * bare D-Bus messages, no SASL.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "dbus-native-int.h"
#include "dbus-sd-auth.h"

#define MAX_FDS		253	/* SCM_MAX_FD */

static int take(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct b1d_pump *p = userdata;

	sd_bus_message_unref(p->got);
	p->got = sd_bus_message_ref(m);
	return 1;	/* handled: sd-bus answers nothing on its own */
}

static int dup_fd(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

int b1d_pump_open(struct b1d_pump *p, bool server, bool filter)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, r;
	int tin = -1, tout = -1, sndbuf = 0;
	socklen_t len = sizeof(sndbuf);
	sd_bus *tmp = NULL;
	sd_id128_t id;

	memset(p, 0, sizeof(*p));
	p->in = -1;
	p->out = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, out)) {
		r = -errno;
		goto fail;
	}
	tin = dup_fd(out[1]);
	tout = dup_fd(in[1]);
	if (tin < 0 || tout < 0) {
		r = -errno;
		goto fail;
	}
	r = sd_id128_randomize(&id);
	if (r >= 0)
		r = sd_bus_new(&p->sd);
	if (r >= 0)
		r = sd_bus_new(&tmp);
	if (r < 0)
		goto fail;
	/* the throw-away end reads what p->sd writes and the reverse */
	r = sd_bus_set_fd(p->sd, in[0], out[0]);
	if (r >= 0) {
		in[0] = -1;
		out[0] = -1;
		r = sd_bus_set_fd(tmp, tin, tout);
	}
	if (r >= 0) {
		tin = -1;
		tout = -1;
		r = sd_bus_set_anonymous(p->sd, 1);
	}
	if (r >= 0)
		r = sd_bus_set_anonymous(tmp, 1);
	if (r >= 0)
		r = sd_bus_negotiate_fds(p->sd, 1);
	if (r >= 0)
		r = sd_bus_negotiate_fds(tmp, 1);
	if (r >= 0)
		r = sd_bus_set_server(server ? p->sd : tmp, 1, id);
	if (r >= 0)
		r = sd_auth_pair(server ? p->sd : tmp, server ? tmp : p->sd);
	if (r >= 0 && sd_bus_can_send(p->sd, SD_BUS_TYPE_UNIX_FD) <= 0)
		r = -EPROTO;
	if (r >= 0 && filter)
		r = sd_bus_add_filter(p->sd, NULL, take, p);
	tmp = sd_bus_unref(tmp);
	if (r < 0)
		goto fail;
	/*
	 * sd-bus made the shared file descriptions non-blocking: the record
	 * is there when sd_bus_send() returns, the input is written in parts
	 * if sd-bus must read some first
	 */
	if (fcntl(in[1], F_SETFL, O_NONBLOCK) || fcntl(out[1], F_SETFL, 0) ||
	    getsockopt(out[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, &len)) {
		r = -errno;
		goto fail;
	}
	/* a record is bounded by the sender's send buffer (the same size) */
	p->size = sndbuf > 0 ? (size_t)sndbuf : 212992;
	p->buf = malloc(p->size);
	if (!p->buf) {
		r = -ENOMEM;
		goto fail;
	}
	p->in = in[1];
	p->out = out[1];
	return 0;
fail:
	sd_bus_unref(tmp);
	p->sd = sd_bus_flush_close_unref(p->sd);
	for (len = 0; len < 2; len++) {
		if (in[len] >= 0)
			close(in[len]);
		if (out[len] >= 0)
			close(out[len]);
	}
	if (tin >= 0)
		close(tin);
	if (tout >= 0)
		close(tout);
	return r;
}

void b1d_pump_close(struct b1d_pump *p)
{
	p->got = sd_bus_message_unref(p->got);
	p->sd = sd_bus_close_unref(p->sd);
	if (p->in >= 0)
		close(p->in);
	if (p->out >= 0)
		close(p->out);
	p->in = -1;
	p->out = -1;
	free(p->buf);
	p->buf = NULL;
}

static ssize_t take_record(struct b1d_pump *p, int *fds, size_t max_fds,
			   size_t *n_fdsp, int flags)
{
	char cbuf[CMSG_SPACE(MAX_FDS * sizeof(int))];
	struct iovec v = { p->buf, p->size };
	struct msghdr mh = {
		.msg_iov = &v,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	size_t i, n_fds = 0;
	ssize_t n;

	n = recvmsg(p->out, &mh, MSG_CMSG_CLOEXEC | flags);
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		int *cf = (int *)CMSG_DATA(c);
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			if (n_fds < max_fds)
				fds[n_fds++] = cf[i];
			else
				close(cf[i]);
		}
	}
	*n_fdsp = n_fds;
	if (!n)
		return -EPIPE;
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		for (i = 0; i < n_fds; i++)
			close(fds[i]);
		*n_fdsp = 0;
		return -EMSGSIZE;
	}
	return n;
}

ssize_t b1d_pump_take(struct b1d_pump *p, int *fds, size_t max_fds,
		      size_t *n_fdsp)
{
	return take_record(p, fds, max_fds, n_fdsp, MSG_DONTWAIT);
}

int b1d_pump_strays(struct b1d_pump *p)
{
	int fds[MAX_FDS], n = 0;
	size_t n_fds, i;

	while (take_record(p, fds, MAX_FDS, &n_fds, MSG_DONTWAIT) > 0) {
		for (i = 0; i < n_fds; i++)
			close(fds[i]);
		n++;
	}
	return n;
}

/*
 * Is @data exactly one whole D-Bus message? sd-bus reads a stream: a
 * message shorter than its header claims would take the next one's bytes.
 * Only the framing (the fixed header: endianness, version, lengths) is
 * looked at; sd-bus validates the rest and drops what is invalid.
 */
static bool one_message(const unsigned char *d, size_t n)
{
	unsigned long long body, fields, total;

	if (n < 16 || (d[0] != 'l' && d[0] != 'B') || d[3] != 1)
		return false;
	if (d[0] == 'l') {
		body = d[4] | d[5] << 8 | d[6] << 16 | (unsigned long long)d[7] << 24;
		fields = d[12] | d[13] << 8 | d[14] << 16 |
			 (unsigned long long)d[15] << 24;
	} else {
		body = d[7] | d[6] << 8 | d[5] << 16 | (unsigned long long)d[4] << 24;
		fields = d[15] | d[14] << 8 | d[13] << 16 |
			 (unsigned long long)d[12] << 24;
	}
	total = 16 + ((fields + 7) & ~7ULL) + body;
	return total == n;
}

static void close_all(const int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

int b1d_pump_feed(struct b1d_pump *p, const void *data, size_t n,
		  const int *fds, size_t n_fds, sd_bus_message **mp)
{
	char cbuf[CMSG_SPACE(MAX_FDS * sizeof(int))];
	const char *d = data;
	size_t left = n;
	int r = 0;

	if (mp)
		*mp = NULL;
	if (!one_message(data, n) || n_fds > MAX_FDS) {
		close_all(fds, n_fds);
		return 0;
	}
	while (left) {
		struct iovec v = { (void *)d, left };
		struct msghdr mh = { .msg_iov = &v, .msg_iovlen = 1 };
		ssize_t w;

		/* the fds go with the first byte */
		if (n_fds && left == n) {
			struct cmsghdr *c;

			mh.msg_control = cbuf;
			mh.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
			memcpy(CMSG_DATA(c), fds, n_fds * sizeof(int));
		}
		w = sendmsg(p->in, &mh, MSG_NOSIGNAL);
		if (w > 0) {
			d += w;
			left -= w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w == 0 || errno != EAGAIN) {
			r = -errno;
			break;
		}
		/* the socket is full: let sd-bus read a part */
		r = sd_bus_process(p->sd, NULL);
		if (r < 0)
			break;
	}
	/* sd-bus has its own copies now */
	close_all(fds, n_fds);
	/* (no @mp: the caller has sd-bus read it, with its own callbacks) */
	if (!mp)
		return r < 0 ? r : 0;
	/* until sd-bus handed it to the filter or read it all and dropped it */
	while (r >= 0 && !p->got) {
		r = sd_bus_process(p->sd, NULL);
		if (r == 0)
			break;
	}
	if (r < 0) {
		p->got = sd_bus_message_unref(p->got);
		return r;
	}
	*mp = p->got;
	p->got = NULL;
	return *mp ? 1 : 0;
}
