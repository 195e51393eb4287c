// SPDX-License-Identifier: GPL-2.0
/*
 * Malformed input: 30 kinds of broken requests and 6 kinds of broken
 * bootstrap attempts. Each must be answered with an error (the specific
 * errno listed below) and the broker must keep serving; GET_STATS counts
 * every rejection.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include "broker-test.h"

enum { H_NONE, H_OWN, H_TWO, H_BROKER, H_DEAD };

struct bad {
	const char *what;
	int expect;
	int op;		/* expected reply opcode */
	int hnd;	/* which handles to attach */
};

static unsigned char msg[8192];
static size_t msg_len;

static void hdr(__u8 magic, __u8 version, __u8 op, __u8 flags, __u32 serial,
		__s32 status)
{
	struct b1b_hdr h = { magic, version, op, flags, serial, status, 0 };

	memcpy(msg, &h, sizeof(h));
	msg_len = sizeof(h);
}

static void body(const void *p, size_t n)
{
	memcpy(msg + msg_len, p, n);
	msg_len += n;
}

static void str(const char *s, size_t n)
{
	__u16 l = n;

	body(&l, 2);
	body(s, n);
}

static void fix_len(void)
{
	__u32 l = msg_len - B1B_HDR_SIZE;

	memcpy(msg + 12, &l, 4);
}

/* build malformed request number @i with serial @serial */
static struct bad build(int i, __u32 serial)
{
	char longname[321];
	const __u8 M = B1B_MAGIC, V = B1B_VERSION;
	const int E = B1B_OP_ERROR;
	__u64 x = 1;

	memset(longname, 'a', sizeof(longname) - 1);
	memcpy(longname, "org.", 4);
	longname[sizeof(longname) - 1] = 0;
	msg_len = 0;
	switch (i) {
	case 0:
		return (struct bad){ "empty message", -EBADMSG, E, H_NONE };
	case 1:
		body("garbage", 7);
		return (struct bad){ "7 bytes", -EBADMSG, E, H_NONE };
	case 2:
		hdr(M, V, B1B_OP_PING, 0, serial, 0);
		msg_len = 15;
		return (struct bad){ "truncated header", -EBADMSG, E, H_NONE };
	case 3:
		hdr(0x42, V, B1B_OP_PING, 0, serial, 0);
		fix_len();
		return (struct bad){ "bad magic", -EBADMSG, E, H_NONE };
	case 4:
		hdr(M, 2, B1B_OP_PING, 0, serial, 0);
		fix_len();
		return (struct bad){ "version 2", -EPROTONOSUPPORT, E, H_NONE };
	case 5:
		hdr(M, 0, B1B_OP_PING, 0, serial, 0);
		fix_len();
		return (struct bad){ "version 0", -EPROTONOSUPPORT, E, H_NONE };
	case 6:
		hdr(M, V, B1B_OP_PING, 1, serial, 0);
		fix_len();
		return (struct bad){ "header flags set", -EINVAL, E, H_NONE };
	case 7:
		hdr(M, V, B1B_OP_PING, 0, serial, -1);
		fix_len();
		return (struct bad){ "status set in a request", -EINVAL, E,
				     H_NONE };
	case 8:
		hdr(M, V, B1B_OP_GET_NAME_OWNER, 0, serial, 0);
		str("org.x", 5);
		fix_len();
		msg_len -= 2;
		return (struct bad){ "body_len beyond the message", -EBADMSG,
				     E, H_NONE };
	case 9:
		hdr(M, V, B1B_OP_PING, 0, serial, 0);
		body("xx", 2);
		return (struct bad){ "body_len short of the message",
				     -EBADMSG, E, H_NONE };
	case 10:
		hdr(M, V, 0x33, 0, serial, 0);
		fix_len();
		return (struct bad){ "unknown opcode", -EOPNOTSUPP, E, H_NONE };
	case 11:
		hdr(M, V, B1B_OP_PING | B1B_OP_REPLY, 0, serial, 0);
		fix_len();
		return (struct bad){ "a reply sent as request", -EOPNOTSUPP, E,
				     H_NONE };
	case 12:
		hdr(M, V, B1B_OP_NAME_OWNER_CHANGED, 0, serial, 0);
		str("org.x", 5);
		body(&x, 8);
		body(&x, 8);
		fix_len();
		return (struct bad){ "an event sent as request", -EOPNOTSUPP,
				     E, H_NONE };
	case 13:
		hdr(M, V, B1B_OP_CALL, 0, serial, 0);
		str("hello", 5);
		fix_len();
		return (struct bad){ "CALL to the broker", -EOPNOTSUPP, E,
				     H_NONE };
	case 14:
		hdr(M, V, B1B_OP_PING, 0, serial, 0);
		memset(msg + msg_len, 'x', 8000);
		msg_len += 8000;
		fix_len();
		return (struct bad){ "8 KiB request", -EMSGSIZE, E, H_NONE };
	case 15:
		hdr(M, V, B1B_OP_REQUEST_NAME, 0, serial, 0);
		fix_len();
		return (struct bad){ "REQUEST_NAME without a name", -EBADMSG,
				     B1B_OP_REQUEST_NAME | B1B_OP_REPLY,
				     H_OWN };
	case 16:
		hdr(M, V, B1B_OP_GET_NAME_OWNER, 0, serial, 0);
		x = 50;
		body(&x, 2);
		body("org.x", 5);
		fix_len();
		return (struct bad){ "string length beyond the body", -EBADMSG,
				     B1B_OP_GET_NAME_OWNER | B1B_OP_REPLY,
				     H_NONE };
	case 17:
		hdr(M, V, B1B_OP_REQUEST_NAME, 0, serial, 0);
		str("", 0);
		fix_len();
		return (struct bad){ "empty name", -EINVAL,
				     B1B_OP_REQUEST_NAME | B1B_OP_REPLY,
				     H_OWN };
	case 18:
		hdr(M, V, B1B_OP_REQUEST_NAME, 0, serial, 0);
		str("org.x\0y", 7);
		fix_len();
		return (struct bad){ "embedded NUL", -EINVAL,
				     B1B_OP_REQUEST_NAME | B1B_OP_REPLY,
				     H_OWN };
	case 19:
		hdr(M, V, B1B_OP_REQUEST_NAME, 0, serial, 0);
		str(longname, strlen(longname));
		fix_len();
		return (struct bad){ "over-long name (320 chars)", -ENAMETOOLONG,
				     B1B_OP_REQUEST_NAME | B1B_OP_REPLY,
				     H_OWN };
	case 20:
		hdr(M, V, B1B_OP_REQUEST_NAME, 0, serial, 0);
		str("org.x/y", 7);
		fix_len();
		return (struct bad){ "invalid characters", -EINVAL,
				     B1B_OP_REQUEST_NAME | B1B_OP_REPLY,
				     H_OWN };
	case 21:
		hdr(M, V, B1B_OP_REQUEST_NAME, 0, serial, 0);
		str("org.x", 5);
		fix_len();
		return (struct bad){ "REQUEST_NAME without a handle", -EINVAL,
				     B1B_OP_REQUEST_NAME | B1B_OP_REPLY,
				     H_NONE };
	case 22:
		hdr(M, V, B1B_OP_REQUEST_NAME, 0, serial, 0);
		str("org.x", 5);
		fix_len();
		return (struct bad){ "REQUEST_NAME with two handles", -EINVAL,
				     B1B_OP_REQUEST_NAME | B1B_OP_REPLY,
				     H_TWO };
	case 23:
		hdr(M, V, B1B_OP_REQUEST_NAME, 0, serial, 0);
		str("org.x", 5);
		fix_len();
		return (struct bad){ "the broker's own node as owner", -EINVAL,
				     B1B_OP_REQUEST_NAME | B1B_OP_REPLY,
				     H_BROKER };
	case 24:
		hdr(M, V, B1B_OP_REQUEST_NAME, 0, serial, 0);
		str("org.x", 5);
		fix_len();
		return (struct bad){ "a destroyed node as owner",
				     -EHOSTUNREACH,
				     B1B_OP_REQUEST_NAME | B1B_OP_REPLY,
				     H_DEAD };
	case 25:
		hdr(M, V, B1B_OP_GET_NAME_OWNER, 0, serial, 0);
		str("org.x", 5);
		fix_len();
		return (struct bad){ "GET_NAME_OWNER with a handle", -EINVAL,
				     B1B_OP_GET_NAME_OWNER | B1B_OP_REPLY,
				     H_OWN };
	case 26:
		hdr(M, V, B1B_OP_LIST_NAMES, 0, serial, 0);
		str("org.x", 5);
		fix_len();
		return (struct bad){ "LIST_NAMES with a body", -EBADMSG,
				     B1B_OP_LIST_NAMES | B1B_OP_REPLY,
				     H_NONE };
	case 27:
		hdr(M, V, B1B_OP_RELEASE_NAME, 0, serial, 0);
		str("org.x", 5);
		body("junk", 4);
		fix_len();
		return (struct bad){ "trailing bytes after the name", -EBADMSG,
				     B1B_OP_RELEASE_NAME | B1B_OP_REPLY,
				     H_NONE };
	case 28:
		hdr(M, V, B1B_OP_WATCH, 0, serial, 0);
		str("org..x", 6);
		fix_len();
		return (struct bad){ "WATCH of an invalid name", -EINVAL,
				     B1B_OP_WATCH | B1B_OP_REPLY, H_NONE };
	case 29:
		hdr(M, V, B1B_OP_GET_STATS, 0, serial, 0);
		x = 0;
		body(&x, 1);
		fix_len();
		return (struct bad){ "GET_STATS with a body", -EBADMSG,
				     B1B_OP_GET_STATS | B1B_OP_REPLY, H_NONE };
	}
	return (struct bad){ NULL, 0, 0, 0 };
}

static int get_rejected(struct b1c *c, __u64 *rej)
{
	struct test_broker_stats st;
	int r;

	r = test_broker_stats(c, 5000, &st);
	if (!r)
		*rej = st.rejected;
	return r;
}

/* raw bootstrap: returns the welcome status, or -ETIMEDOUT */
static int raw_hello(const struct b1b_hello *h, size_t len, int fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	union {
		struct cmsghdr cm;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { (void *)h, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct timeval tv = { .tv_sec = 5 };
	struct b1b_welcome w;
	struct cmsghdr *cm;
	int s, r;

	strcpy(sa.sun_path, test_sock);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	if (sendmsg(s, &mh, MSG_NOSIGNAL) < 0) {
		r = -errno;
		close(s);
		return r;
	}
	r = recv(s, &w, sizeof(w), 0);
	close(s);
	if (r != sizeof(w))
		return r < 0 ? -ETIMEDOUT : -EPROTO;
	return w.status;
}

static void test_bootstrap(struct b1c *c, __u64 *n_rejected)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct bus1_peer *p;
	struct b1b_hello h = { B1B_HELLO_MAGIC, B1B_VERSION, 0, 0 };
	int pfd[2], s, fd;

	if (bus1_peer_new(&p) < 0)
		return;
	fd = bus1_peer_get_fd(p);
	CHECK_R(raw_hello(&h, sizeof(h), -1), -EBADMSG, "hello without fd");
	h.magic = 1;
	CHECK_R(raw_hello(&h, sizeof(h), fd), -EBADMSG, "hello, bad magic");
	h.magic = B1B_HELLO_MAGIC;
	CHECK_R(raw_hello(&h, sizeof(h) - 1, fd), -EBADMSG, "short hello");
	h.version = 9;
	CHECK_R(raw_hello(&h, sizeof(h), fd), -EPROTONOSUPPORT,
		"hello, unknown version");
	h.version = B1B_VERSION;
	h.reply_node = 0xb;
	CHECK_R(raw_hello(&h, sizeof(h), fd), -EINVAL,
		"hello, reply node with REMOTE|MANAGED bits");
	h.reply_node = 0;
	if (pipe(pfd) == 0) {
		CHECK_R(raw_hello(&h, sizeof(h), pfd[0]), -ENOTTY,
			"hello with a pipe instead of a bus1 fd");
		close(pfd[0]);
		close(pfd[1]);
	}
	/* a connection that never says hello must not block anyone */
	strcpy(sa.sun_path, test_sock);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	CHECK(s >= 0 && !connect(s, (struct sockaddr *)&sa, sizeof(sa)),
	      "a silent connection");
	CHECK_R(b1c_ping(c, 1000), 0, "the broker answers meanwhile");
	if (s >= 0)
		close(s);
	*n_rejected += 6;
	bus1_peer_free(p);
}

int main(void)
{
	struct b1c *c = NULL;
	struct b1c_msg *m;
	struct b1b_cursor bd;
	struct b1b_hdr h;
	__u64 own, dead, handles[2], rej0 = 0, rej1 = 0, expect;
	struct bad bad;
	size_t nh;
	int i, r, n = 0;

	tap_start("broker: malformed requests");
	tap_plan(51);
	CHECK_R(test_broker_start(NULL, 5000), 0, "broker started");
	CHECK_R(b1c_connect(NULL, &c), 0, "client connects");
	if (!c)
		goto out;
	CHECK_R(bus1_node_new(c->peer, &own), 0, "node");
	CHECK_R(bus1_node_new(c->peer, &dead), 0, "node to destroy");
	CHECK_R(bus1_node_destroy(c->peer, &dead, 1, 0), 0, "destroy it");
	r = b1c_recv(c, 2000, &m);
	CHECK(!r && m->type == BUS1_MSG_NODE_DESTROY && m->destination == dead,
	      "its NODE_DESTROY arrives");
	if (!r)
		b1c_msg_free(m);
	CHECK_R(get_rejected(c, &rej0), 0, "GET_STATS");

	for (i = 0; ; i++) {
		__u32 serial = 1000 + i;

		bad = build(i, serial);
		if (!bad.what)
			break;
		n++;
		nh = 0;
		if (bad.hnd == H_OWN || bad.hnd == H_TWO)
			handles[nh++] = own;
		if (bad.hnd == H_TWO)
			handles[nh++] = own;
		if (bad.hnd == H_BROKER)
			handles[nh++] = c->broker;
		if (bad.hnd == H_DEAD)
			handles[nh++] = dead;
		r = b1c_send_raw(c, c->broker, msg, msg_len, handles, nh);
		if (r < 0) {
			CHECK(0, "%s: send failed: %s", bad.what,
			      bus1_strerror(r));
			continue;
		}
		/* skip NODE_RELEASE of our node (the broker drops handles) */
		while ((r = b1c_recv(c, 5000, &m)) == 0 &&
		       m->type != BUS1_MSG_DATA)
			b1c_msg_free(m);
		if (r < 0) {
			CHECK(0, "%s: no reply (%s)", bad.what,
			      bus1_strerror(r));
			continue;
		}
		r = b1b_parse_hdr(m->data, m->n_bytes, &h, &bd);
		expect = msg_len >= 8 ? serial : 0;
		CHECK(!r && h.opcode == bad.op && h.status == bad.expect &&
		      h.serial == expect && !m->n_handles,
		      "%-32s -> %s %d (%s)", bad.what, b1b_op_name(h.opcode),
		      h.status, strerror(-h.status));
		b1c_msg_free(m);
	}
	CHECK(n == 30, "%d kinds of malformed requests", n);
	CHECK_R(b1c_ping(c, 2000), 0, "broker still answers PING");
	test_bootstrap(c, &rej0);
	CHECK_R(get_rejected(c, &rej1), 0, "GET_STATS");
	/* the silent connection times out later; count it when it does */
	CHECK(rej1 == rej0 + n || rej1 == rej0 + n + 1,
	      "every rejection counted (%llu -> %llu)",
	      (unsigned long long)rej0, (unsigned long long)rej1);
	test_broker_alive();
out:
	b1c_free(c);
	CHECK_R(test_broker_stop(), 0, "broker exits cleanly");
	return tap_end();
}
