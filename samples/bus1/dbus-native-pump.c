// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libbus1-dbus: the pump (Documentation/bus1/dbus.rst, "sd-bus over
 * bus1"). sd-bus has no public path between bytes and messages but an fd,
 * so each connection's sd_bus sits on two sockets whose other ends are
 * ours: sd_bus_set_fd(in, out), both SOCK_STREAM sockets. On the output
 * we read one message at a time, framed by its fixed header, with the unix
 * fds (SCM_RIGHTS) that came with its first bytes; the input is where we
 * write what bus1 brought, fds as SCM_RIGHTS, for sd_bus_process() to
 * read, validate and parse. The sd_bus authenticates
 * once (ANONYMOUS, unix fds negotiated) against a throw-away sd_bus of the
 * other role on dups of our ends (dbus-sd-auth.h): bus1 peers exchange
 * bare D-Bus messages, no SASL.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "dbus-native-int.h"
#include "dbus-sd-auth.h"

#define MAX_FDS		253	/* SCM_MAX_FD */
#define HDR		16	/* the fixed header: what frames a message */

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
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out)) {
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
	 * both ways non-blocking (sd-bus made the shared file descriptions
	 * so): what sd-bus could not write yet it writes in its
	 * sd_bus_process(), which b1d_pump_take() runs between its reads
	 */
	if (fcntl(in[1], F_SETFL, O_NONBLOCK) ||
	    getsockopt(out[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, &len)) {
		r = -errno;
		goto fail;
	}
	/* what sd-bus writes at once: most messages whole in one read */
	p->base = sndbuf > 0 ? (size_t)sndbuf : 212992;
	p->size = p->base;
	p->filter = filter;
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

/*
 * The length of the message whose fixed header is @d (endianness, version,
 * body and fields lengths), 0 if it is none. sd-bus validates the rest and
 * drops what is invalid.
 */
static unsigned long long frame_len(const unsigned char *d)
{
	unsigned long long body, fields;

	if ((d[0] != 'l' && d[0] != 'B') || d[3] != 1)
		return 0;
	if (d[0] == 'l') {
		body = d[4] | d[5] << 8 | d[6] << 16 | (unsigned long long)d[7] << 24;
		fields = d[12] | d[13] << 8 | d[14] << 16 |
			 (unsigned long long)d[15] << 24;
	} else {
		body = d[7] | d[6] << 8 | d[5] << 16 | (unsigned long long)d[4] << 24;
		fields = d[15] | d[14] << 8 | d[13] << 16 |
			 (unsigned long long)d[12] << 24;
	}
	return HDR + ((fields + 7) & ~7ULL) + body;
}

static void close_all(const int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

/* the fds of one message being taken */
struct take_fds {
	int *fds;
	size_t max, n;
	bool lost;		/* more than @max, or more than the kernel gave */
};

/* up to @len bytes at @at, without waiting; fds into @tf */
static ssize_t read_part(struct b1d_pump *p, void *at, size_t len,
			 struct take_fds *tf)
{
	char cbuf[CMSG_SPACE(MAX_FDS * sizeof(int))];
	struct iovec v = { at, len };
	struct msghdr mh = {
		.msg_iov = &v,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	ssize_t n;
	size_t i, k;

	n = recvmsg(p->out, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		int *cf = (int *)CMSG_DATA(c);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			if (tf->n < tf->max) {
				tf->fds[tf->n++] = cf[i];
			} else {
				close(cf[i]);
				tf->lost = true;
			}
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		tf->lost = true;
	return n;
}

/*
 * All sd-bus wrote is read: have it write more (the rest of a message
 * larger than the socket buffer, which sd-bus queued). sd_bus_process()
 * writes first; it reads the input only if the message is not all out,
 * and finds it empty: b1d_pump_feed() with @mp has sd-bus read all it
 * writes (the filter took the message), and without @mp the caller's own
 * callbacks get what it reads, as in its own sd_bus_process(). 0, or
 * -EAGAIN: sd-bus has nothing more to write.
 */
static int write_more(struct b1d_pump *p)
{
	int r;

	r = sd_bus_get_events(p->sd);
	if (r < 0)
		return r;
	if (!(r & POLLOUT))
		return -EAGAIN;
	r = sd_bus_process(p->sd, NULL);
	return r < 0 ? r : 0;
}

/* @p->buf of @want bytes (the message's length, at most B1D_MESSAGE_MAX) */
static int grow(struct b1d_pump *p, size_t want)
{
	char *b;

	if (want <= p->size)
		return 0;
	b = realloc(p->buf, want);
	if (!b)
		return -ENOMEM;
	p->buf = b;
	p->size = want;
	return 0;
}

/* back to the base size after a big message: it is not kept for long */
static void shrink(struct b1d_pump *p)
{
	char *b;

	if (p->size <= p->base)
		return;
	b = realloc(p->buf, p->base);
	if (b) {
		p->buf = b;
		p->size = p->base;
	}
}

/* where the next read goes, and how much it may take: never past the end */
static size_t next_read(struct b1d_pump *p, unsigned long long total,
			unsigned long long done, size_t first, char **atp)
{
	if (!total) {
		*atp = p->buf + done;
		return first - done;
	}
	if (total > p->size) {		/* dropped: read and forget */
		*atp = p->buf;
		return total - done < p->size ? total - done : p->size;
	}
	*atp = p->buf + done;
	return total - done;
}

/*
 * One message off the output, whole: its header first (@first bytes: the
 * header, or the buffer if the caller knows nothing follows the message),
 * then exactly the rest, so the next message's fds stay in the socket
 * (a read that reaches an skb carrying fds takes them). sd-bus writes
 * without waiting: a message larger than the socket buffer comes in parts,
 * between which sd-bus writes more. One over B1D_MESSAGE_MAX is read all
 * the same, into nothing, and fails with -EMSGSIZE: the stream stays in
 * step.
 */
static ssize_t take_message(struct b1d_pump *p, size_t first,
			    struct take_fds *tf)
{
	unsigned long long total = 0, done = 0;
	bool stalled = false;
	size_t len;
	ssize_t n;
	char *at;
	int r;

	while (!total || done < total) {
		len = next_read(p, total, done, first, &at);
		n = read_part(p, at, len, tf);
		if (n == -EINTR)
			continue;
		if (n == -EAGAIN) {
			/* twice nothing: sd-bus wrote less than the header said */
			r = stalled ? -EPROTO : write_more(p);
			if (r == -EAGAIN && done)
				r = -EPROTO;
			if (r < 0)
				return r;
			stalled = true;
			continue;
		}
		if (n <= 0)
			return n ? n : -EPIPE;
		stalled = false;
		done += n;
		if (total || done < HDR)
			continue;
		total = frame_len((unsigned char *)p->buf);
		if (total < HDR || done > total)
			return -EPROTO;
		/* over the maximum or no memory: next_read() drops it */
		if (total <= B1D_MESSAGE_MAX)
			grow(p, total);
	}
	if (total > p->size)
		return total > B1D_MESSAGE_MAX ? -EMSGSIZE : -ENOMEM;
	return tf->lost ? -EMSGSIZE : (ssize_t)total;
}

ssize_t b1d_pump_take(struct b1d_pump *p, int *fds, size_t max_fds,
		      size_t *n_fdsp)
{
	struct take_fds tf = { .fds = fds, .max = max_fds };
	ssize_t n;

	shrink(p);
	/*
	 * with the filter, sd-bus writes nothing on its own: the output holds
	 * only the message the caller just sent, and one read can take it
	 */
	n = take_message(p, p->filter ? p->size : HDR, &tf);
	if (n < 0) {
		close_all(tf.fds, tf.n);
		tf.n = 0;
	}
	*n_fdsp = tf.n;
	return n;
}

int b1d_pump_strays(struct b1d_pump *p)
{
	int fds[MAX_FDS], n = 0;
	struct take_fds tf;
	ssize_t r;

	for (;;) {
		tf = (struct take_fds){ .fds = fds, .max = MAX_FDS };
		r = take_message(p, HDR, &tf);
		close_all(tf.fds, tf.n);
		if (r < 0 && r != -EMSGSIZE && r != -ENOMEM)
			return n;
		n++;
	}
}

/*
 * Is @data exactly one whole D-Bus message? sd-bus reads a stream: a
 * message shorter than its header claims would take the next one's bytes.
 */
static bool one_message(const unsigned char *d, size_t n)
{
	return n >= HDR && frame_len(d) == n;
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
