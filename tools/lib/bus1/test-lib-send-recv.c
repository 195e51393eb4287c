// SPDX-License-Identifier: GPL-2.0
/*
 * libbus1 bus1_send_recv_next() (LIBBUS1_3): a SEND, the release of the
 * message held and the receive of the next in one RECV
 * (BUS1_RECV_FLAG_SEND), and the fallback to SEND + RECV for a module
 * without the flag. The library's ioctl() is wrapped (-Wl,--wrap=ioctl):
 * it counts the calls, and while old_module is set it fails a RECV with
 * BUS1_RECV_FLAG_SEND with EINVAL, as a module without it does (the
 * unknown flag is checked before anything else happens).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include "test-lib.h"

int __real_ioctl(int fd, unsigned long req, ...);

static int old_module, n_ioctl, n_send;

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	struct bus1_cmd_recv *r;
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	n_ioctl++;
	if (req == BUS1_CMD_SEND)
		n_send++;
	r = arg;
	if (old_module && req == BUS1_CMD_RECV &&
	    (r->flags & BUS1_RECV_FLAG_SEND)) {
		errno = EINVAL;
		return -1;
	}
	return __real_ioctl(fd, req, arg);
}

static __u64 slices(struct bus1_peer *p)
{
	struct bus1_peer_stats st;

	return bus1_peer_get_stats(p, &st) ? ~0ULL : st.pool_slices;
}

static int is(const struct bus1_message *m, const char *s)
{
	return m->peer && m->n_bytes == strlen(s) &&
	       !memcmp(m->data, s, m->n_bytes);
}

/* @to sends @s to handle @h, releases @m and receives into it */
static int srn(struct bus1_peer *to, __u64 h, const char *s, __u64 flags,
	       struct bus1_message *m, int *sent)
{
	struct iovec v = { (void *)s, s ? strlen(s) : 0 };
	struct bus1_send a = {
		.destinations = &h, .n_destinations = 1, .vecs = &v, .n_vecs = 1,
	};

	n_ioctl = 0;
	n_send = 0;
	return bus1_send_recv_next(to, s ? &a : NULL, flags, m, sent);
}

/* two peers, each with a handle to the other's node */
static int pair(struct bus1_peer **a, struct bus1_peer **b, __u64 *ha,
		__u64 *hb)
{
	__u64 na, nb;

	/* both block in BUS1_RECV_FLAG_WAIT: not O_NONBLOCK (bus1_peer_new) */
	if (bus1_peer_new_from_fd(open(BUS1_DEVICE_PATH, O_RDWR | O_CLOEXEC),
				  0, a) ||
	    bus1_peer_new_from_fd(open(BUS1_DEVICE_PATH, O_RDWR | O_CLOEXEC),
				  0, b) || bus1_node_new(*a, &na) ||
	    bus1_node_new(*b, &nb) || bus1_handle_transfer(*a, na, *b, hb) ||
	    bus1_handle_transfer(*b, nb, *a, ha))
		return -1;
	return 0;
}

#define EMPTY { .offset = BUS1_OFFSET_INVALID }
/* a remote handle ID the kernel never gave out */
#define UNKNOWN ((1000ULL << 3) | BUS1_HANDLE_FLAG_MANAGED | \
		 BUS1_HANDLE_FLAG_REMOTE)

int main(void)
{
	struct bus1_message ma = EMPTY, mb = EMPTY, mc = EMPTY, md = EMPTY;
	struct bus1_peer *a, *b, *c, *d, *e, *f;
	__u64 ha, hb, hc, hd, he, hf;
	int sent, st;
	pid_t pid;

	tap_start("libbus1 bus1_send_recv_next");
	tap_plan(36);
	if (!CHECK(!pair(&a, &b, &ha, &hb) && !pair(&c, &d, &hc, &hd) &&
		   !pair(&e, &f, &he, &hf), "three pairs of peers"))
		return tap_end();

	/* a module with BUS1_RECV_FLAG_SEND: one ioctl per call */
	CHECK_R(srn(b, hb, "ping", 0, &mb, &sent), -EAGAIN,
		"client: request sent, own queue empty");
	CHECK(sent == 1 && n_ioctl == 1 && !n_send,
	      "sent in one RECV (sent %d, %d ioctls, %d SEND)", sent, n_ioctl,
	      n_send);
	CHECK_R(bus1_recv_next(a, 0, &ma), 0, "server receives");
	CHECK(is(&ma, "ping"), "request intact");
	CHECK_R(srn(a, ha, "pong", 0, &ma, &sent), -EAGAIN,
		"server: reply sent, request released, queue empty");
	CHECK(sent == 1 && n_ioctl == 1 && !ma.peer && slices(a) == 0,
	      "one ioctl, request slice released (%d ioctls, %llu slices)",
	      n_ioctl, (unsigned long long)slices(a));
	CHECK_R(bus1_recv_next(b, 0, &mb), 0, "client receives the reply");
	CHECK(is(&mb, "pong"), "reply intact");
	CHECK_R(srn(b, UNKNOWN, "lost", 0, &mb, &sent), -ENXIO,
		"SEND to an unknown handle fails the call");
	CHECK(!sent && is(&mb, "pong") && slices(b) == 1,
	      "nothing else happened: not sent, reply kept (%llu slices)",
	      (unsigned long long)slices(b));

	/* a round trip with WAIT: the server is a child process */
	pid = fork();
	if (pid == 0) {
		struct bus1_message m = EMPTY;
		int r;

		r = bus1_recv_next(a, BUS1_RECV_FLAG_WAIT, &m);
		if (!r && is(&m, "ping2"))
			r = srn(a, ha, "pong2", 0, &m, &sent);
		_exit(r == -EAGAIN && sent ? 0 : 1);
	}
	CHECK_R(srn(b, hb, "ping2", BUS1_RECV_FLAG_WAIT, &mb, &sent), 0,
		"client: request, release, wait for the reply");
	CHECK(sent == 1 && n_ioctl == 1 && is(&mb, "pong2") &&
	      slices(b) == 1, "one ioctl for the client's side (%d)", n_ioctl);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	      !WEXITSTATUS(st), "server: receive, then reply in one RECV");
	CHECK_R(srn(b, 0, NULL, 0, &mb, &sent), -EAGAIN,
		"nothing to send: a plain bus1_recv_next()");
	CHECK(sent == 1 && !mb.peer && slices(b) == 0 && n_ioctl == 1,
	      "reply released in the one RECV");

	/* a genuine EINVAL of the SEND is no fallback */
	n_ioctl = 0;
	n_send = 0;
	CHECK_R(bus1_send_recv_next(e, &(struct bus1_send){
			.flags = 1ULL << 62, .destinations = &he,
			.n_destinations = 1 }, 0, &(struct bus1_message)EMPTY,
			&sent), -EINVAL,
		"unknown SEND flag: the SEND's EINVAL");
	CHECK(!sent && n_ioctl == 2 && !n_send,
	      "asked the module once, no plain SEND (%d ioctls, %d SEND)",
	      n_ioctl, n_send);
	CHECK_R(srn(e, he, "x", 0, &(struct bus1_message)EMPTY, &sent),
		-EAGAIN, "then sends in one RECV");
	CHECK(sent && n_ioctl == 1, "one ioctl (%d)", n_ioctl);
	CHECK_R(bus1_recv(f, 0, &md), 0, "delivered");
	CHECK_R(bus1_message_release(&md), 0, "released");

	/* a module without BUS1_RECV_FLAG_SEND */
	old_module = 1;
	CHECK_R(srn(c, hc, "old1", 0, &mc, &sent), -EAGAIN,
		"old module: sent, queue empty");
	CHECK(sent && n_ioctl == 4 && n_send == 1,
	      "RECV refused, probe, SEND, RECV (%d ioctls, %d SEND)", n_ioctl,
	      n_send);
	CHECK_R(srn(c, hc, "old2", 0, &mc, &sent), -EAGAIN,
		"old module again");
	CHECK(sent && n_ioctl == 2 && n_send == 1,
	      "remembered: SEND and RECV, no probe (%d ioctls)", n_ioctl);
	CHECK_R(bus1_recv_next(d, 0, &md), 0, "first delivered");
	CHECK(is(&md, "old1"), "in order");
	CHECK_R(srn(d, hd, "back", BUS1_RECV_FLAG_WAIT, &md, &sent), 0,
		"reply, release, then the queued message (plain path)");
	CHECK(sent && is(&md, "old2") && slices(d) == 1,
	      "second delivered, first released (%llu slices)",
	      (unsigned long long)slices(d));
	CHECK_R(srn(d, UNKNOWN, "lost", 0, &md, &sent), -ENXIO,
		"old module: a failing SEND fails the call");
	CHECK(!sent && is(&md, "old2"), "nothing else happened");
	CHECK_R(srn(d, 0, NULL, 0, &md, &sent), -EAGAIN,
		"old module, nothing to send");
	CHECK(sent && n_ioctl == 1 && !md.peer && slices(d) == 0,
	      "one RECV with RELEASE (%d)", n_ioctl);
	CHECK_R(bus1_recv_next(c, 0, &mc), 0, "reply to the old module's peer");
	CHECK(is(&mc, "back"), "reply intact");
	old_module = 0;

	bus1_message_release(&ma);
	bus1_message_release(&mb);
	bus1_message_release(&mc);
	bus1_message_release(&md);
	bus1_peer_free(a);
	bus1_peer_free(b);
	bus1_peer_free(c);
	bus1_peer_free(d);
	bus1_peer_free(e);
	bus1_peer_free(f);
	return tap_end();
}
