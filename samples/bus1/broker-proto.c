// SPDX-License-Identifier: GPL-2.0
/*
 * bus1 broker wire format (see Documentation/bus1/broker.rst) and the client
 * side helpers used by bus1ctl, the demo services and the tests.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "broker-proto.h"

void b1b_buf_init(struct b1b_buf *b, void *data, size_t cap)
{
	b->data = data;
	b->len = 0;
	b->cap = cap;
	b->overflow = false;
}

static void put(struct b1b_buf *b, const void *p, size_t n)
{
	if (b->overflow || n > b->cap - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void b1b_put_hdr(struct b1b_buf *b, __u8 opcode, __u32 serial, __s32 status)
{
	struct b1b_hdr h = {
		.magic = B1B_MAGIC,
		.version = B1B_VERSION,
		.opcode = opcode,
		.serial = serial,
		.status = status,
	};

	put(b, &h, sizeof(h));
}

void b1b_put_u8(struct b1b_buf *b, __u8 v)
{
	put(b, &v, 1);
}

void b1b_put_u32(struct b1b_buf *b, __u32 v)
{
	put(b, &v, 4);
}

void b1b_put_u64(struct b1b_buf *b, __u64 v)
{
	put(b, &v, 8);
}

void b1b_put_str(struct b1b_buf *b, const char *s)
{
	size_t n = strlen(s);
	__u16 l = n;

	if (n > 0xffff) {
		b->overflow = true;
		return;
	}
	put(b, &l, 2);
	put(b, s, n);
}

int b1b_finish(struct b1b_buf *b)
{
	__u32 body;

	if (b->overflow || b->len < B1B_HDR_SIZE)
		return -EMSGSIZE;
	body = b->len - B1B_HDR_SIZE;
	memcpy(b->data + offsetof(struct b1b_hdr, body_len), &body, 4);
	return b->len;
}

int b1b_parse_hdr(const void *data, size_t len, struct b1b_hdr *hdr,
		  struct b1b_cursor *body)
{
	memset(hdr, 0, sizeof(*hdr));
	body->p = NULL;
	body->left = 0;
	body->err = 0;
	if (len >= 8)	/* salvage the serial for the error reply */
		memcpy(&hdr->serial, (const char *)data + 4, 4);
	if (len < B1B_HDR_SIZE)
		return -EBADMSG;
	memcpy(hdr, data, sizeof(*hdr));
	if (hdr->magic != B1B_MAGIC)
		return -EBADMSG;
	if (hdr->version != B1B_VERSION)
		return -EPROTONOSUPPORT;
	if (hdr->body_len != len - B1B_HDR_SIZE)
		return -EBADMSG;
	body->p = (const unsigned char *)data + B1B_HDR_SIZE;
	body->left = hdr->body_len;
	return 0;
}

static bool get(struct b1b_cursor *c, void *p, size_t n)
{
	if (c->err || c->left < n) {
		if (!c->err)
			c->err = -EBADMSG;
		memset(p, 0, n);
		return false;
	}
	memcpy(p, c->p, n);
	c->p += n;
	c->left -= n;
	return true;
}

__u8 b1b_get_u8(struct b1b_cursor *c)
{
	__u8 v;

	get(c, &v, 1);
	return v;
}

__u32 b1b_get_u32(struct b1b_cursor *c)
{
	__u32 v;

	get(c, &v, 4);
	return v;
}

__u64 b1b_get_u64(struct b1b_cursor *c)
{
	__u64 v;

	get(c, &v, 8);
	return v;
}

void b1b_get_str(struct b1b_cursor *c, char *buf, size_t size)
{
	__u16 l;

	buf[0] = 0;
	if (!get(c, &l, 2))
		return;
	if (l >= size) {
		if (!c->err)
			c->err = -ENAMETOOLONG;
		return;
	}
	if (!get(c, buf, l))
		return;
	if (memchr(buf, 0, l)) {
		c->err = -EINVAL;
		buf[0] = 0;
		return;
	}
	buf[l] = 0;
}

int b1b_end(struct b1b_cursor *c)
{
	if (c->err)
		return c->err;
	return c->left ? -EBADMSG : 0;
}

/* "a.b", 1..255 chars of [A-Za-z0-9_.-], elements non-empty, no digit first */
bool b1b_name_valid(const char *name)
{
	size_t i, n = strlen(name);
	bool dot = false;
	char ch, prev = '.';

	if (!n || n > B1B_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		ch = name[i];
		if (ch == '.') {
			if (prev == '.')
				return false;
			dot = true;
		} else if (ch >= '0' && ch <= '9') {
			if (prev == '.')
				return false;
		} else if (!((ch >= 'a' && ch <= 'z') ||
			     (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '-')) {
			return false;
		}
		prev = ch;
	}
	return dot && prev != '.';
}

const char *b1b_op_name(unsigned int op)
{
	switch (op & ~B1B_OP_REPLY) {
	case B1B_OP_REQUEST_NAME:
		return "REQUEST_NAME";
	case B1B_OP_RELEASE_NAME:
		return "RELEASE_NAME";
	case B1B_OP_GET_NAME_OWNER:
		return "GET_NAME_OWNER";
	case B1B_OP_LIST_NAMES:
		return "LIST_NAMES";
	case B1B_OP_WATCH:
		return "WATCH";
	case B1B_OP_UNWATCH:
		return "UNWATCH";
	case B1B_OP_PING:
		return "PING";
	case B1B_OP_GET_STATS:
		return "GET_STATS";
	case B1B_OP_CALL:
		return "CALL";
	case B1B_OP_NAME_OWNER_CHANGED:
		return "NameOwnerChanged";
	}
	return op == B1B_OP_ERROR ? "ERROR" : "UNKNOWN";
}

/* --- client --- */

static int client_new(struct bus1_peer *peer, struct b1c **cp)
{
	struct b1c *c;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->peer = peer;
	c->stash_tail = &c->stash;
	*cp = c;
	return 0;
}

int b1c_connect(const char *path, struct b1c **cp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct bus1_peer *peer = NULL;
	struct b1b_welcome w;
	struct b1b_hello h = {
		.magic = B1B_HELLO_MAGIC,
		.version = B1B_VERSION,
	};
	struct iovec iov = { &h, sizeof(h) };
	union {
		struct cmsghdr cm;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cm;
	struct timeval tv = { .tv_sec = 10 };
	struct b1c *c;
	ssize_t n;
	int s = -1, r, fd;

	if (!path)
		path = getenv(B1B_SOCKET_ENV);
	if (!path)
		path = B1B_SOCKET_DEFAULT;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);

	r = bus1_peer_new(&peer);
	if (r < 0)
		return r;
	r = bus1_node_new(peer, &h.reply_node);
	if (r < 0)
		goto fail;
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		goto fail;
	}
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	fd = bus1_peer_get_fd(peer);
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(s, &mh, MSG_NOSIGNAL) != sizeof(h)) {
		r = -errno ?: -EIO;
		goto fail;
	}
	n = recv(s, &w, sizeof(w), 0);
	if (n != sizeof(w) || w.magic != B1B_HELLO_MAGIC) {
		r = n < 0 ? -errno : -EPROTO;
		goto fail;
	}
	if (w.status < 0) {
		r = w.status;
		goto fail;
	}
	close(s);
	r = client_new(peer, &c);
	if (r < 0)
		goto fail_nosock;
	c->reply_node = h.reply_node;
	c->broker = w.broker_handle;
	c->id = w.client_id;
	*cp = c;
	return 0;

fail:
	if (s >= 0)
		close(s);
fail_nosock:
	bus1_peer_free(peer);
	return r;
}

int b1c_from_env(struct b1c **cp)
{
	const char *h = getenv(B1B_HANDLE_ENV), *rn = getenv(B1B_REPLY_ENV);
	const char *id = getenv(B1B_ID_ENV);
	struct bus1_peer *peer;
	struct b1c *c;
	int r;

	if (!h || !rn || !id)
		return -ENOENT;
	r = bus1_peer_new_from_env(NULL, &peer);
	if (r < 0)
		return r;
	r = client_new(peer, &c);
	if (r < 0) {
		bus1_peer_free(peer);
		return r;
	}
	c->broker = strtoull(h, NULL, 0);
	c->reply_node = strtoull(rn, NULL, 0);
	c->id = strtoull(id, NULL, 0);
	unsetenv(B1B_HANDLE_ENV);
	unsetenv(B1B_REPLY_ENV);
	unsetenv(B1B_ID_ENV);
	*cp = c;
	return 0;
}

void b1c_msg_free(struct b1c_msg *m)
{
	if (m) {
		free(m->data);
		free(m->handles);
		free(m);
	}
}

struct b1c *b1c_free(struct b1c *c)
{
	struct b1c_msg *m;

	if (!c)
		return NULL;
	while ((m = c->stash)) {
		c->stash = m->next;
		b1c_msg_free(m);
	}
	bus1_peer_free(c->peer);
	free(c);
	return NULL;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * One message from the kernel, copied; -EAGAIN if none ready. With @wait
 * the RECV itself blocks until one is (BUS1_RECV_FLAG_WAIT): no poll()
 * first, one syscall instead of two; a signal returns -EINTR. With @send
 * the request goes out in the same RECV (bus1_send_recv_next(), one ioctl
 * for a request and its first look for the reply); *@sentp tells whether
 * it went out, also when the receive then fails.
 */
static int recv_one(struct b1c *c, const struct bus1_send *send,
		    struct b1c_msg **mp, int wait, int *sentp)
{
	struct bus1_message bm = { .offset = BUS1_OFFSET_INVALID };
	__u64 flags = wait ? BUS1_RECV_FLAG_WAIT : 0;
	struct b1c_msg *m;
	int r;

	if (send)
		r = bus1_send_recv_next(c->peer, send, flags, &bm, sentp);
	else
		r = bus1_recv(c->peer, flags, &bm);
	if (r < 0)
		return r;
	m = calloc(1, sizeof(*m));
	if (!m) {
		bus1_message_release(&bm);
		return -ENOMEM;
	}
	m->type = bm.type;
	m->destination = bm.destination;
	m->flags = bm.flags;
	m->n_bytes = bm.n_bytes;
	m->n_handles = bm.n_handles;
	m->data = malloc(bm.n_bytes + 1);
	m->handles = malloc(bm.n_handles * 8 + 1);
	if (!m->data || !m->handles) {
		bus1_message_release(&bm);
		b1c_msg_free(m);
		return -ENOMEM;
	}
	if (bm.n_bytes)
		memcpy(m->data, bm.data, bm.n_bytes);
	m->data[bm.n_bytes] = 0;
	if (bm.n_handles)
		memcpy(m->handles, bm.handles, bm.n_handles * 8);
	bus1_message_release(&bm);
	*mp = m;
	return 0;
}

static int wait_readable(struct b1c *c, long long deadline)
{
	struct pollfd p = { .fd = bus1_peer_get_fd(c->peer), .events = POLLIN };
	int t, r;

	t = deadline < 0 ? -1 : (int)(deadline - now_ms());
	if (deadline >= 0 && t <= 0)
		return -ETIMEDOUT;
	r = poll(&p, 1, t);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (!r)
		return -ETIMEDOUT;
	if (p.revents & POLLHUP)
		return -ESHUTDOWN;
	return 0;
}

int b1c_recv(struct b1c *c, int timeout_ms, struct b1c_msg **mp)
{
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	int r;

	if (c->stash) {
		*mp = c->stash;
		c->stash = c->stash->next;
		if (!c->stash)
			c->stash_tail = &c->stash;
		(*mp)->next = NULL;
		return 0;
	}
	for (;;) {
		/* without a deadline the RECV waits by itself */
		r = recv_one(c, NULL, mp, deadline < 0, NULL);
		if (r == -EINTR)
			continue;
		if (r != -EAGAIN)
			return r;
		r = wait_readable(c, deadline);
		if (r < 0)
			return r;
	}
}

/* the SEND of one vector @v and @n handles @h to @dst */
#define B1C_SEND(dst, v, h, n) ((struct bus1_send){	\
		.destinations = (dst),			\
		.n_destinations = 1,			\
		.vecs = (v),				\
		.n_vecs = 1,				\
		.handles = (h),				\
		.n_handles = (n),			\
	})

int b1c_send_raw(struct b1c *c, __u64 dst, const void *data, size_t len,
		 const __u64 *handles, size_t n_handles)
{
	struct iovec v = { (void *)data, len };
	struct bus1_send s = B1C_SEND(&dst, &v, handles, n_handles);

	return bus1_send(c->peer, &s);
}

/*
 * Send @send (the request), then wait for a reply with @serial on the reply
 * node, stash everything else. The request goes out in the first RECV.
 */
static int wait_reply(struct b1c *c, const struct bus1_send *send,
		      __u32 serial, int timeout_ms, struct b1c_msg **replyp)
{
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct b1b_cursor body;
	struct b1b_hdr hdr;
	struct b1c_msg *m;
	int r, sent = 0;

	for (;;) {
		r = recv_one(c, send, &m, deadline < 0, &sent);
		if (send && !sent)
			return r;	/* the SEND failed: nothing else happened */
		send = NULL;
		if (r == -EINTR)
			continue;
		if (r == -EAGAIN) {
			r = wait_readable(c, deadline);
			if (r < 0)
				return r;
			continue;
		}
		if (r < 0)
			return r;
		if (m->type == BUS1_MSG_DATA && m->destination == c->reply_node &&
		    b1b_parse_hdr(m->data, m->n_bytes, &hdr, &body) == 0 &&
		    (hdr.opcode & B1B_OP_REPLY) && hdr.serial == serial) {
			*replyp = m;
			return 0;
		}
		*c->stash_tail = m;
		c->stash_tail = &m->next;
	}
}

/* returns the reply's status (0 or negative errno) or a transport error */
int b1c_request(struct b1c *c, __u8 op, const char *name,
		const __u64 *handles, size_t n_handles, int timeout_ms,
		struct b1c_msg **replyp)
{
	unsigned char buf[B1B_MAX_MSG];
	struct iovec v = { buf, 0 };
	struct bus1_send s = B1C_SEND(&c->broker, &v, handles, n_handles);
	struct b1b_cursor body;
	struct b1b_hdr hdr;
	struct b1b_buf b;
	struct b1c_msg *m;
	__u32 serial = ++c->serial;
	int len, r;

	b1b_buf_init(&b, buf, sizeof(buf));
	b1b_put_hdr(&b, op, serial, 0);
	if (name)
		b1b_put_str(&b, name);
	len = b1b_finish(&b);
	if (len < 0)
		return len;
	v.iov_len = len;
	r = wait_reply(c, &s, serial, timeout_ms, &m);
	if (r < 0)
		return r;
	b1b_parse_hdr(m->data, m->n_bytes, &hdr, &body);
	r = hdr.status;
	if (hdr.opcode == B1B_OP_ERROR && !r)
		r = -EPROTO;
	if (replyp)
		*replyp = m;
	else
		b1c_msg_free(m);
	return r;
}

int b1c_request_name(struct b1c *c, const char *name, __u64 node)
{
	return b1c_request(c, B1B_OP_REQUEST_NAME, name, &node, 1, 10000,
			   NULL);
}

int b1c_release_name(struct b1c *c, const char *name)
{
	return b1c_request(c, B1B_OP_RELEASE_NAME, name, NULL, 0, 10000, NULL);
}

int b1c_get_name_owner(struct b1c *c, const char *name, int timeout_ms,
		       __u64 *handlep, __u64 *owner_idp)
{
	struct b1b_cursor body;
	struct b1b_hdr hdr;
	struct b1c_msg *m = NULL;
	__u64 id;
	int r;

	r = b1c_request(c, B1B_OP_GET_NAME_OWNER, name, NULL, 0, timeout_ms,
			&m);
	if (r < 0) {
		b1c_msg_free(m);
		return r;
	}
	b1b_parse_hdr(m->data, m->n_bytes, &hdr, &body);
	id = b1b_get_u64(&body);
	if (b1b_end(&body) < 0 || m->n_handles != 1 ||
	    m->handles[0] == BUS1_HANDLE_INVALID) {
		if (m->n_handles == 1 && m->handles[0] != BUS1_HANDLE_INVALID)
			bus1_handle_release(c->peer, m->handles[0]);
		b1c_msg_free(m);
		return -EPROTO;
	}
	*handlep = m->handles[0];
	if (owner_idp)
		*owner_idp = id;
	b1c_msg_free(m);
	return 0;
}

int b1c_watch(struct b1c *c, const char *name)
{
	return b1c_request(c, B1B_OP_WATCH, name, NULL, 0, 10000, NULL);
}

int b1c_ping(struct b1c *c, int timeout_ms)
{
	return b1c_request(c, B1B_OP_PING, NULL, NULL, 0, timeout_ms, NULL);
}

int b1c_call(struct b1c *c, __u64 service, const char *text, int timeout_ms,
	     char **outp)
{
	unsigned char buf[B1B_MAX_MSG];
	struct iovec v = { buf, 0 };
	struct bus1_send s = B1C_SEND(&service, &v, &c->reply_node, 1);
	struct b1b_cursor body;
	struct b1b_hdr hdr;
	struct b1b_buf b;
	struct b1c_msg *m;
	__u32 serial = ++c->serial;
	char *out;
	int len, r;

	b1b_buf_init(&b, buf, sizeof(buf));
	b1b_put_hdr(&b, B1B_OP_CALL, serial, 0);
	b1b_put_str(&b, text);
	len = b1b_finish(&b);
	if (len < 0)
		return len;
	v.iov_len = len;
	r = wait_reply(c, &s, serial, timeout_ms, &m);
	if (r < 0)
		return r;
	b1b_parse_hdr(m->data, m->n_bytes, &hdr, &body);
	r = hdr.status;
	if (!r) {
		out = malloc(B1B_MAX_MSG);
		if (!out) {
			r = -ENOMEM;
		} else {
			b1b_get_str(&body, out, B1B_MAX_MSG);
			r = b1b_end(&body);
			if (r < 0)
				free(out);
			else
				*outp = out;
		}
	}
	b1c_msg_free(m);
	return r;
}

int b1b_parse_event(const struct b1c_msg *m, struct b1b_event *ev)
{
	struct b1b_cursor body;
	struct b1b_hdr hdr;
	int r;

	if (m->type != BUS1_MSG_DATA)
		return -EINVAL;
	r = b1b_parse_hdr(m->data, m->n_bytes, &hdr, &body);
	if (r < 0)
		return r;
	if (hdr.opcode != B1B_OP_NAME_OWNER_CHANGED)
		return -EINVAL;
	b1b_get_str(&body, ev->name, sizeof(ev->name));
	ev->old_owner = b1b_get_u64(&body);
	ev->new_owner = b1b_get_u64(&body);
	return b1b_end(&body);
}

/* --- server side of the bootstrap --- */

int b1b_hello_recv(int sock, struct b1b_hello *h, int *peer_fd,
		   struct ucred *cred)
{
	union {
		struct cmsghdr cm;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} u;
	struct iovec iov = { h, sizeof(*h) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	socklen_t cl = sizeof(*cred);
	int fds[4], n_fds = 0, i, r;
	struct cmsghdr *cm;
	size_t k;
	ssize_t n;

	n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && errno == EAGAIN)
		return -EAGAIN;
	for (cm = CMSG_FIRSTHDR(&mh); n >= 0 && cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int) &&
		     n_fds < 4; k++)
			memcpy(&fds[n_fds++], CMSG_DATA(cm) + k * sizeof(int),
			       sizeof(int));
	}
	r = -EBADMSG;
	if (n != sizeof(*h) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    h->magic != B1B_HELLO_MAGIC || h->flags || n_fds != 1)
		goto out;
	r = -EPROTONOSUPPORT;
	if (h->version != B1B_VERSION)
		goto out;
	r = -EINVAL;
	if (h->reply_node & (BUS1_HANDLE_FLAG_MANAGED | BUS1_HANDLE_FLAG_REMOTE))
		goto out;
	r = getsockopt(sock, SOL_SOCKET, SO_PEERCRED, cred, &cl) < 0 ?
	    -errno : 0;
out:
	for (i = r ? 0 : 1; i < n_fds; i++)
		close(fds[i]);
	if (!r)
		*peer_fd = fds[0];
	return r;
}

int b1b_take_client_node(struct bus1_peer *peer, int client_fd, __u64 node,
			 __u64 *handlep)
{
	struct bus1_cmd_handle_transfer t = {
		.src_handle = node,
		.dst_fd = bus1_peer_get_fd(peer),
	};

	if (node & (BUS1_HANDLE_FLAG_MANAGED | BUS1_HANDLE_FLAG_REMOTE))
		return -EINVAL;
	if (ioctl(client_fd, BUS1_CMD_HANDLE_TRANSFER, &t) < 0)
		return -errno;
	if (!(t.dst_handle & BUS1_HANDLE_FLAG_REMOTE)) {
		if (t.dst_handle != BUS1_HANDLE_INVALID)
			bus1_handle_release(peer, t.dst_handle);
		return -EINVAL;
	}
	*handlep = t.dst_handle;
	return 0;
}

void b1b_welcome(int sock, int status, __u64 client_id, __u64 broker_handle)
{
	struct b1b_welcome w = {
		.magic = B1B_HELLO_MAGIC,
		.status = status,
		.version = B1B_VERSION,
		.client_id = client_id,
		.broker_handle = broker_handle,
	};
	ssize_t n;

	n = send(sock, &w, sizeof(w), MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)n;
}
