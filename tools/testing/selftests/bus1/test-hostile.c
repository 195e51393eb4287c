// SPDX-License-Identifier: GPL-2.0
/*
 * test-hostile - one local user must not be able to hang another peer
 * (issue 15, items 2, 3, 4 and 10).
 *
 * A hostile sender can make any access to its own memory block for as long
 * as it likes (FUSE, userfaultfd). userfaultfd stands in for it here: a
 * page of a registered range is missing until the handler thread of the
 * test resolves the fault, which it does only when the check is done (or
 * after UF_HOLD_MS). While one peer is blocked like that, the close() of
 * another peer, HANDLE_TRANSFER to it, poll() and its fdinfo must all
 * return within BOUND_MS.
 *
 * Item 10: every receiver of one multicast sees the same payload bytes and
 * the same validity of an attached handle, whatever other threads do to the
 * payload buffer or the node meanwhile.
 *
 * Item 4: a stress of remote active references released while their peer
 * closes (KASAN on the debug kernel catches a use after free there).
 *
 * The SEND of a RECV with BUS1_RECV_FLAG_SEND (issue 18) is the same
 * attack surface as BUS1_CMD_SEND: the *_recv_send_* tests repeat items 2
 * and 3 with its command, payload or destination array on the missing
 * page.
 */
#define _GNU_SOURCE
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/syscall.h>

/* the harness compares int constants with __u64 results */
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "msg-util.h"

#define BOUND_MS	500
#define UF_HOLD_MS	3000
#define NODE		0x100ULL
#define NODE2		0x200ULL

static __u64 ms_since(__u64 t0)
{
	return (b1_now_ns() - t0) / 1000000;
}

/* --- userfaultfd ---------------------------------------------------------- */

struct uf {
	int fd;
	void *area;
	size_t pre;
	size_t len;
	pthread_t thread;
	atomic_int faulted;
	atomic_int resolve;
	atomic_int stop;
};

static void *uf_handler(void *arg)
{
	struct uf *u = arg;
	struct uffd_msg msg;
	struct uffdio_zeropage z;
	struct pollfd p = { .fd = u->fd, .events = POLLIN };
	long pg = sysconf(_SC_PAGESIZE);
	__u64 t0;

	while (!atomic_load(&u->stop)) {
		if (poll(&p, 1, 20) <= 0)
			continue;
		if (read(u->fd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		atomic_store(&u->faulted, 1);
		t0 = b1_now_ns();
		while (!atomic_load(&u->resolve) && ms_since(t0) < UF_HOLD_MS)
			usleep(1000);
		memset(&z, 0, sizeof(z));
		z.range.start = msg.arg.pagefault.address & ~((__u64)pg - 1);
		z.range.len = pg;
		ioctl(u->fd, UFFDIO_ZEROPAGE, &z);
	}
	return NULL;
}

/*
 * A missing range of @len bytes, its faults held by a handler thread, right
 * behind @pre bytes of ordinary (populated) memory at u->area - @pre.
 */
static int uf_setup_behind(struct uf *u, size_t pre, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {};

	memset(u, 0, sizeof(*u));
	u->fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u->fd < 0)
		return -errno;
	if (ioctl(u->fd, UFFDIO_API, &api))
		return -errno;
	u->pre = pre;
	u->len = len;
	u->area = mmap(NULL, pre + len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u->area == MAP_FAILED)
		return -errno;
	memset(u->area, 0, pre);
	u->area = (char *)u->area + pre;
	reg.range.start = (uintptr_t)u->area;
	reg.range.len = len;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(u->fd, UFFDIO_REGISTER, &reg))
		return -errno;
	if (pthread_create(&u->thread, NULL, uf_handler, u))
		return -EAGAIN;
	return 0;
}

static int uf_setup(struct uf *u, size_t len)
{
	return uf_setup_behind(u, 0, len);
}

/* waits until an access to the range blocks; false after 2 s */
static bool uf_wait_fault(struct uf *u)
{
	__u64 t0 = b1_now_ns();

	while (!atomic_load(&u->faulted)) {
		if (ms_since(t0) > 2000)
			return false;
		usleep(1000);
	}
	/* the faulting task is in the fault handler by now, or about to be */
	usleep(50000);
	return true;
}

static void uf_teardown(struct uf *u)
{
	atomic_store(&u->resolve, 1);
	atomic_store(&u->stop, 1);
	pthread_join(u->thread, NULL);
	munmap((char *)u->area - u->pre, u->pre + u->len);
	close(u->fd);
}

/* --- a peer blocked in its own SEND or RECV ------------------------------ */

enum {
	HOW_SEND,	/* SEND, its payload faults */
	HOW_RECV,	/* RECV, its argument faults */
	HOW_RS_PAYLOAD,	/* RECV(SEND), the SEND's payload faults */
	HOW_RS_CMD,	/* ... the second half of its struct bus1_cmd_send */
	HOW_RS_DESTS,	/* ... its second destination ID */
};

struct blocked {
	int fd;
	int how;	/* HOW_* */
	__u64 dest;
	void *mem;	/* the missing page; the page before it is ordinary */
	int r;
	__u64 ms;
	__u64 arg;	/* RECV(SEND): msg.destination passed ... */
	__u64 left;	/* ... and as the call left it */
};

/*
 * RECV(SEND|RELEASE) whose SEND sends 64 bytes to b->dest, with the part
 * b->how names on the missing page: the SEND faults there with the RECV
 * half not yet run. A payload page resolves to zeroes, a command half to
 * n_vecs = 0 (no payload), a destination ID to 0 (no such handle).
 */
static int blocked_recv_send(struct blocked *b)
{
	static char payload[64];
	struct iovec v = { .iov_base = payload, .iov_len = sizeof(payload) };
	struct bus1_cmd_send local = {}, *s = &local;
	struct bus1_cmd_recv r = {};
	__u64 one[1] = { b->dest }, *ids = one;
	int ret;

	if (b->how == HOW_RS_PAYLOAD)
		v.iov_base = b->mem;
	if (b->how == HOW_RS_CMD)
		s = (void *)((char *)b->mem -
			     offsetof(struct bus1_cmd_send, n_vecs));
	if (b->how == HOW_RS_DESTS) {
		ids = (__u64 *)b->mem - 1;
		ids[0] = b->dest;
	}
	/* only the fields before n_vecs: the rest may be on the missing page */
	s->flags = 0;
	s->ptr_destinations = (uintptr_t)ids;
	s->ptr_errors = 0;
	s->n_destinations = b->how == HOW_RS_DESTS ? 2 : 1;
	s->ptr_vecs = (uintptr_t)&v;
	if (b->how != HOW_RS_CMD)
		s->n_vecs = 1;
	r.flags = BUS1_RECV_FLAG_SEND | BUS1_RECV_FLAG_RELEASE;
	r.max_offset = 0;
	r.msg.offset = BUS1_OFFSET_INVALID;
	r.msg.destination = (uintptr_t)s;
	b->arg = r.msg.destination;
	ret = b1_ioctl(b->fd, BUS1_CMD_RECV, (unsigned long)&r);
	b->left = r.msg.destination;
	return ret;
}

static void *blocked_run(void *arg)
{
	struct blocked *b = arg;
	__u64 t0 = b1_now_ns();

	if (b->how == HOW_SEND) {
		b->r = b1_send1(b->fd, b->dest, b->mem, 64);
	} else if (b->how >= HOW_RS_PAYLOAD) {
		b->r = blocked_recv_send(b);
	} else {
		struct bus1_cmd_recv *r = b->mem;

		b->r = b1_ioctl(b->fd, BUS1_CMD_RECV, (unsigned long)r);
	}
	b->ms = ms_since(t0);
	return NULL;
}

/*
 * Item 2: the receiver's close() must not wait for the sender's fault; the
 * SEND then finds the destination gone.
 */
TEST(close_while_sender_faults_on_payload)
{
	struct blocked b = {};
	pthread_t t;
	struct uf u;
	int rcv, snd;
	__u64 t0, ms;

	rcv = b1_open();
	snd = b1_open();
	ASSERT_LE(0, rcv);
	ASSERT_LE(0, snd);
	ASSERT_EQ(0, b1_transfer(rcv, NODE, snd, &b.dest));
	ASSERT_EQ(0, uf_setup(&u, 4096));

	b.fd = snd;
	b.mem = u.area;
	ASSERT_EQ(0, pthread_create(&t, NULL, blocked_run, &b));
	ASSERT_TRUE(uf_wait_fault(&u));

	t0 = b1_now_ns();
	close(rcv);
	ms = ms_since(t0);
	atomic_store(&u.resolve, 1);
	pthread_join(t, NULL);
	uf_teardown(&u);
	close(snd);

	ksft_print_msg("close() took %llu ms, SEND returned %d after %llu ms\n",
		       (unsigned long long)ms, b.r, (unsigned long long)b.ms);
	EXPECT_GT(BOUND_MS, ms);
	/* the destination disconnected before the message could commit */
	EXPECT_EQ(-EHOSTUNREACH, b.r);
}

struct blocked_send {
	int fd;
	struct bus1_cmd_send cmd;
	int r;
};

static void *blocked_send_run(void *arg)
{
	struct blocked_send *b = arg;

	b->r = b1_send_raw(b->fd, &b->cmd);
	return NULL;
}

/*
 * Item 2, the arrays: the destination ids are read one by one, and the
 * errors of a CONTINUE are stored after all destinations were looked up;
 * a receiver taken before either faults must still close at once.
 */
static void close_while_array_faults(struct __test_metadata *_metadata,
				     bool errors)
{
	struct blocked_send b = {};
	__u64 *ids, *errs = NULL, t0, ms;
	int rcv, rcv2, snd;
	pthread_t t;
	struct uf u;

	rcv = b1_open();
	rcv2 = b1_open();
	snd = b1_open();
	ASSERT_LE(0, rcv);
	ASSERT_LE(0, rcv2);
	ASSERT_LE(0, snd);
	ASSERT_EQ(0, uf_setup_behind(&u, 4096, 4096));
	/* ids[0] on an ordinary page, ids[1] on the missing one */
	ids = (__u64 *)u.area - 1;
	if (errors) {
		ids = malloc(2 * sizeof(*ids));
		ASSERT_NE(NULL, ids);
		errs = u.area;
	}
	ASSERT_EQ(0, b1_transfer(rcv, NODE, snd, &ids[0]));
	if (errors)
		ASSERT_EQ(0, b1_transfer(rcv2, NODE, snd, &ids[1]));

	b.fd = snd;
	b.cmd.flags = errors ? BUS1_SEND_FLAG_CONTINUE : 0;
	b.cmd.ptr_destinations = (uintptr_t)ids;
	b.cmd.ptr_errors = (uintptr_t)errs;
	/* without CONTINUE, the second id faults after the first lookup */
	b.cmd.n_destinations = 2;
	ASSERT_EQ(0, pthread_create(&t, NULL, blocked_send_run, &b));
	ASSERT_TRUE(uf_wait_fault(&u));

	t0 = b1_now_ns();
	close(rcv);
	ms = ms_since(t0);
	atomic_store(&u.resolve, 1);
	pthread_join(t, NULL);

	ksft_print_msg("close() took %llu ms, SEND returned %d\n",
		       (unsigned long long)ms, b.r);
	EXPECT_GT(BOUND_MS, ms);
	if (errors) {
		/* CONTINUE: the closed receiver is a per-destination error */
		EXPECT_EQ(0, b.r);
		EXPECT_EQ(EHOSTUNREACH, errs[0]);
		EXPECT_EQ(0, errs[1]);
		free(ids);
	} else {
		/* the first destination is gone: the whole SEND fails */
		EXPECT_EQ(-EHOSTUNREACH, b.r);
	}
	uf_teardown(&u);
	close(rcv2);
	close(snd);
}

TEST(close_while_sender_faults_on_destinations)
{
	close_while_array_faults(_metadata, false);
}

TEST(close_while_sender_faults_on_errors)
{
	close_while_array_faults(_metadata, true);
}

/*
 * Item 2 for the SEND of a RECV(SEND): the receiver's close() must not
 * wait for it; the SEND then fails (the destination is gone) and with it
 * the whole call, which leaves msg.destination as it was (not sent).
 */
static void close_while_recv_send_faults(struct __test_metadata *_metadata,
					 int how)
{
	struct blocked b = {};
	int rcv, snd;
	pthread_t t;
	struct uf u;
	__u64 t0, ms;

	rcv = b1_open();
	snd = b1_open();
	ASSERT_LE(0, rcv);
	ASSERT_LE(0, snd);
	ASSERT_EQ(0, b1_transfer(rcv, NODE, snd, &b.dest));
	ASSERT_EQ(0, uf_setup_behind(&u, 4096, 4096));

	b.fd = snd;
	b.how = how;
	b.mem = u.area;
	ASSERT_EQ(0, pthread_create(&t, NULL, blocked_run, &b));
	ASSERT_TRUE(uf_wait_fault(&u));

	t0 = b1_now_ns();
	close(rcv);
	ms = ms_since(t0);
	atomic_store(&u.resolve, 1);
	pthread_join(t, NULL);
	uf_teardown(&u);
	close(snd);

	ksft_print_msg("close() took %llu ms, RECV(SEND) returned %d after %llu ms\n",
		       (unsigned long long)ms, b.r, (unsigned long long)b.ms);
	EXPECT_GT(BOUND_MS, ms);
	EXPECT_EQ(-EHOSTUNREACH, b.r);
	EXPECT_EQ(b.arg, b.left);
}

TEST(close_while_recv_send_faults_on_payload)
{
	close_while_recv_send_faults(_metadata, HOW_RS_PAYLOAD);
}

TEST(close_while_recv_send_faults_on_command)
{
	close_while_recv_send_faults(_metadata, HOW_RS_CMD);
}

TEST(close_while_recv_send_faults_on_destinations)
{
	close_while_recv_send_faults(_metadata, HOW_RS_DESTS);
}

enum { OP_TRANSFER, OP_POLL, OP_FDINFO };

/*
 * Item 3: P is blocked in its own SEND, RECV or the SEND of a RECV(SEND)
 * on a user fault (HOW_*); another peer's HANDLE_TRANSFER to P, poll(P)
 * with a stale queue head and reading P's fdinfo must not wait for it.
 */
static void blocked_peer_op(struct __test_metadata *_metadata, int how,
			    int op)
{
	struct blocked b = {};
	__u64 ids[1] = { NODE }, t0, ms, hq, id;
	int p, q, r = 0;
	pthread_t t;
	struct uf u;

	p = b1_open();
	q = b1_open();
	ASSERT_LE(0, p);
	ASSERT_LE(0, q);
	/* P holds a handle to Q's node, to send to */
	ASSERT_EQ(0, b1_transfer(q, NODE2, p, &b.dest));

	/* a stale head in P's queue: a message to a node P destroyed since */
	ASSERT_EQ(0, b1_transfer(p, NODE, q, &hq));
	ASSERT_EQ(0, b1_send1(q, hq, "x", 1));
	ASSERT_EQ(0, b1_destroy(p, BUS1_NODES_DESTROY_FLAG_RELEASE_HANDLES,
				ids, 1));

	ASSERT_EQ(0, uf_setup_behind(&u, 4096, 4096));
	b.fd = p;
	b.how = how;
	b.mem = u.area;
	ASSERT_EQ(0, pthread_create(&t, NULL, blocked_run, &b));
	ASSERT_TRUE(uf_wait_fault(&u));

	t0 = b1_now_ns();
	switch (op) {
	case OP_TRANSFER:
		r = b1_transfer(q, NODE2, p, &id);
		break;
	case OP_POLL:
		r = b1_poll(p, POLLIN, 0);
		break;
	case OP_FDINFO:
		r = b1_fdinfo(p, "bus1-handles") < 0 ? -1 : 0;
		break;
	}
	ms = ms_since(t0);
	atomic_store(&u.resolve, 1);
	pthread_join(t, NULL);
	uf_teardown(&u);

	ksft_print_msg("%s while P blocks in %s: %llu ms (result %d)\n",
		       op == OP_TRANSFER ? "HANDLE_TRANSFER to P" :
		       op == OP_POLL ? "poll(P)" : "fdinfo of P",
		       how == HOW_SEND ? "SEND" : how == HOW_RECV ? "RECV" :
		       how == HOW_RS_PAYLOAD ? "RECV(SEND) on its payload" :
		       how == HOW_RS_CMD ? "RECV(SEND) on its command" :
		       "RECV(SEND) on its destinations",
		       (unsigned long long)ms, r);
	EXPECT_GT(BOUND_MS, ms);
	if (op == OP_TRANSFER)
		EXPECT_EQ(0, r);
	if (op == OP_FDINFO)
		EXPECT_EQ(0, r);
	if (op == OP_POLL)
		EXPECT_LE(0, r);
	close(p);
	close(q);
}

TEST(transfer_to_peer_blocked_in_send)
{
	blocked_peer_op(_metadata, 0, OP_TRANSFER);
}

TEST(poll_peer_blocked_in_send)
{
	blocked_peer_op(_metadata, 0, OP_POLL);
}

TEST(fdinfo_peer_blocked_in_send)
{
	blocked_peer_op(_metadata, 0, OP_FDINFO);
}

TEST(transfer_to_peer_blocked_in_recv)
{
	blocked_peer_op(_metadata, 1, OP_TRANSFER);
}

TEST(poll_peer_blocked_in_recv)
{
	blocked_peer_op(_metadata, 1, OP_POLL);
}

TEST(fdinfo_peer_blocked_in_recv)
{
	blocked_peer_op(_metadata, 1, OP_FDINFO);
}

TEST(transfer_to_peer_blocked_in_recv_send_payload)
{
	blocked_peer_op(_metadata, HOW_RS_PAYLOAD, OP_TRANSFER);
}

TEST(poll_peer_blocked_in_recv_send_payload)
{
	blocked_peer_op(_metadata, HOW_RS_PAYLOAD, OP_POLL);
}

TEST(fdinfo_peer_blocked_in_recv_send_payload)
{
	blocked_peer_op(_metadata, HOW_RS_PAYLOAD, OP_FDINFO);
}

TEST(transfer_to_peer_blocked_in_recv_send_command)
{
	blocked_peer_op(_metadata, HOW_RS_CMD, OP_TRANSFER);
}

TEST(poll_peer_blocked_in_recv_send_command)
{
	blocked_peer_op(_metadata, HOW_RS_CMD, OP_POLL);
}

TEST(fdinfo_peer_blocked_in_recv_send_command)
{
	blocked_peer_op(_metadata, HOW_RS_CMD, OP_FDINFO);
}

TEST(transfer_to_peer_blocked_in_recv_send_destinations)
{
	blocked_peer_op(_metadata, HOW_RS_DESTS, OP_TRANSFER);
}

TEST(poll_peer_blocked_in_recv_send_destinations)
{
	blocked_peer_op(_metadata, HOW_RS_DESTS, OP_POLL);
}

TEST(fdinfo_peer_blocked_in_recv_send_destinations)
{
	blocked_peer_op(_metadata, HOW_RS_DESTS, OP_FDINFO);
}

/* --- item 10: one multicast, one content -------------------------------- */

#define N_RCV		8
#define BIG		(256 * 1024)

struct mcast {
	struct mu_peer rcv[N_RCV];
	int snd;
	__u64 dests[N_RCV];
};

static int mcast_open(struct mcast *m)
{
	int i, r;

	m->snd = b1_open();
	if (m->snd < 0)
		return m->snd;
	for (i = 0; i < N_RCV; ++i) {
		r = mu_peer_open(&m->rcv[i], 4 << 20);
		if (r)
			return r;
		r = b1_transfer(m->rcv[i].fd, NODE, m->snd, &m->dests[i]);
		if (r)
			return r;
	}
	return 0;
}

static void mcast_close(struct mcast *m)
{
	int i;

	for (i = 0; i < N_RCV; ++i)
		mu_peer_close(&m->rcv[i]);
	close(m->snd);
}

struct scribbler {
	__u8 *buf;
	size_t len;
	atomic_int stop;
};

static void *scribble(void *arg)
{
	struct scribbler *s = arg;
	unsigned int v = 0;

	while (!atomic_load(&s->stop))
		memset(s->buf, ++v, s->len);
	return NULL;
}

TEST(multicast_payload_same_bytes_under_concurrent_writes)
{
	struct scribbler s = { .len = BIG };
	struct bus1_cmd_recv r[N_RCV];
	struct iovec v;
	struct mcast m;
	int iter, i, differ = 0;
	pthread_t t;

	ASSERT_EQ(0, mcast_open(&m));
	s.buf = malloc(BIG);
	ASSERT_NE(NULL, s.buf);
	memset(s.buf, 0, BIG);
	ASSERT_EQ(0, pthread_create(&t, NULL, scribble, &s));

	v.iov_base = s.buf;
	v.iov_len = BIG;
	for (iter = 0; iter < 20 && !differ; ++iter) {
		ASSERT_EQ(0, b1_send(m.snd, 0, m.dests, N_RCV, &v, 1,
				     NULL, 0, NULL, 0));
		for (i = 0; i < N_RCV; ++i) {
			ASSERT_EQ(0, mu_peer_recv(&m.rcv[i], 0, &r[i]));
			ASSERT_EQ(BUS1_MSG_DATA, r[i].msg.type);
			ASSERT_EQ(BIG, r[i].msg.n_bytes);
		}
		for (i = 1; i < N_RCV; ++i)
			if (memcmp(mu_payload(&m.rcv[0], &r[0]),
				   mu_payload(&m.rcv[i], &r[i]), BIG))
				differ = iter + 1;
		for (i = 0; i < N_RCV; ++i)
			ASSERT_EQ(0, b1_slice_release(m.rcv[i].fd,
						      r[i].msg.offset));
	}
	atomic_store(&s.stop, 1);
	pthread_join(t, NULL);
	free(s.buf);
	mcast_close(&m);
	if (differ)
		ksft_print_msg("receivers got different bytes in multicast %d\n",
			       differ);
	EXPECT_EQ(0, differ);
}

/*
 * A node destruction becomes visible (no new handle joins the node) when it
 * is staged, and gets its place in the order when the batch is sealed. The
 * target goes first in a batch with many more nodes, which keeps that
 * window open for a while; a multicast that pins the handle for some
 * receivers before and for others inside that window must still give all
 * of them the same answer.
 */
#define N_BATCH		BUS1_DESTINATION_MAX	/* largest batch accepted */

struct destroyer {
	int fd;
	__u64 *ids;
	atomic_int go;
	int r;
};

/* the race needs both threads running at once, not taking turns */
static void pin_cpu(int cpu)
{
	cpu_set_t set;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	CPU_ZERO(&set);
	if (cpu < 0) {
		CPU_SET(0, &set);
		CPU_SET(1, &set);
	} else {
		CPU_SET(cpu, &set);
	}
	sched_setaffinity(0, sizeof(set), &set);
}

static void *destroy_batch(void *arg)
{
	struct destroyer *d = arg;

	pin_cpu(1);
	while (!atomic_load(&d->go))
		;
	d->r = b1_destroy(d->fd, BUS1_NODES_DESTROY_FLAG_RELEASE_HANDLES,
			  d->ids, N_BATCH);
	return NULL;
}

static void spin_ns(__u64 ns)
{
	__u64 t0 = b1_now_ns();

	while (b1_now_ns() - t0 < ns)
		;
}

/* an empty fixture, only to get TEST_F_TIMEOUT for the long tests */
FIXTURE(slow) {
	int unused;
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

/*
 * 0.5 s a round on the 6.1 debug kernel of a quiet host, several times that
 * on a loaded one (testing.rst, "Debug kernel budgets")
 */
TEST_F_TIMEOUT(slow, multicast_handle_same_validity_under_concurrent_destroy, 90)
{
	int iter, i, n_valid, mixed = 0, all = 0, none = 0, failed = 0;
	__u64 hs, t0, destroy_ns, seed = 1, next_id = 0x100000;
	struct bus1_cmd_recv r;
	struct destroyer d;
	const __u64 *ids;
	struct mcast m;
	struct iovec v;
	pthread_t t;
	char *buf;
	int owner;
	int rounds = mu_param("BUS1_MCAST_DESTROY_ROUNDS", 80);

	pin_cpu(0);
	ASSERT_EQ(0, mcast_open(&m));
	owner = b1_open();
	ASSERT_LE(0, owner);
	d.ids = calloc(N_BATCH, sizeof(*d.ids));
	ASSERT_NE(NULL, d.ids);
	/* a large payload spreads the pins of the receivers apart */
	buf = calloc(1, BIG);
	ASSERT_NE(NULL, buf);
	v.iov_base = buf;
	v.iov_len = BIG;

	/* how long a batch takes, to spread the multicasts over it */
	for (i = 0; i < N_BATCH; ++i, next_id += 8)
		d.ids[i] = next_id;
	t0 = b1_now_ns();
	ASSERT_EQ(0, b1_destroy(owner, BUS1_NODES_DESTROY_FLAG_RELEASE_HANDLES,
				d.ids, N_BATCH));
	destroy_ns = b1_now_ns() - t0 + 1;
	while (!b1_recv(owner, 0, 0, &r))
		;

	t0 = b1_now_ns();
	/*
	 * A count, not a time budget (which ended the rounds wherever a
	 * loaded host happened to be): KASAN kernels run a batch ten times
	 * slower, so the debug kernel does fewer (qemu/init).
	 */
	for (iter = 0; iter < rounds && !mixed; ++iter) {
		for (i = 0; i < N_BATCH; ++i, next_id += 8)
			d.ids[i] = next_id;
		ASSERT_EQ(0, b1_transfer(owner, d.ids[0], m.snd, &hs));
		d.fd = owner;
		atomic_store(&d.go, 0);
		ASSERT_EQ(0, pthread_create(&t, NULL, destroy_batch, &d));
		atomic_store(&d.go, 1);
		spin_ns(mu_rand(&seed) % destroy_ns);
		ASSERT_EQ(0, b1_send(m.snd, 0, m.dests, N_RCV, &v, 1, &hs, 1,
				     NULL, 0));
		pthread_join(t, NULL);
		if (d.r)
			++failed;

		n_valid = 0;
		for (i = 0; i < N_RCV; ++i) {
			do {
				ASSERT_EQ(0, mu_peer_recv(&m.rcv[i], 0, &r));
			} while (r.msg.type != BUS1_MSG_DATA);
			ASSERT_EQ(1, r.msg.n_handles);
			ids = mu_handles(&m.rcv[i], &r);
			if (ids[0] != BUS1_HANDLE_INVALID) {
				++n_valid;
				b1_release(m.rcv[i].fd, ids[0]);
			}
			ASSERT_EQ(0, b1_slice_release(m.rcv[i].fd,
						      r.msg.offset));
		}
		if (n_valid == N_RCV)
			++all;
		else if (!n_valid)
			++none;
		else
			mixed = n_valid;
		b1_release(m.snd, hs);
		/* drain the notifications */
		for (i = 0; i < N_RCV; ++i)
			while (!mu_peer_recv(&m.rcv[i], 0, &r))
				;
		while (!b1_recv(m.snd, 0, 0, &r))
			;
		while (!b1_recv(owner, 0, 0, &r))
			;
	}
	ksft_print_msg("%d multicasts in %llu ms (batch %llu us): %d valid, %d INVALID, %s\n",
		       iter, (unsigned long long)(b1_now_ns() - t0) / 1000000,
		       (unsigned long long)destroy_ns / 1000, all, none,
		       mixed ? "mixed" : "never mixed");
	ksft_print_msg("mixed: %d of %d valid; %d destroys failed\n",
		       mixed, N_RCV, failed);
	free(d.ids);
	free(buf);
	close(owner);
	mcast_close(&m);
	pin_cpu(-1);
	EXPECT_EQ(0, failed);
	EXPECT_EQ(0, mixed);
}

/* --- item 4: active references released while the peer closes ---------- */

struct hammer {
	int fd;
	__u64 dest;
	atomic_int *go;
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	int r;

	while (!atomic_load(h->go))
		;
	do {
		r = b1_send1(h->fd, h->dest, "x", 1);
	} while (!r || r == -EDQUOT || r == -EXFULL);
	return NULL;
}

/* 13 s on the 6.1 debug kernel of a loaded host (testing.rst) */
TEST_F_TIMEOUT(slow, release_active_refs_while_peer_closes, 60)
{
	enum { N_THREADS = 4, ROUNDS = 40 };
	struct hammer h[N_THREADS];
	pthread_t t[N_THREADS];
	atomic_int go;
	int round, i, rcv;

	for (round = 0; round < ROUNDS; ++round) {
		atomic_store(&go, 0);
		rcv = b1_open();
		ASSERT_LE(0, rcv);
		for (i = 0; i < N_THREADS; ++i) {
			h[i].fd = b1_open();
			ASSERT_LE(0, h[i].fd);
			h[i].go = &go;
			ASSERT_EQ(0, b1_transfer(rcv, NODE, h[i].fd,
						 &h[i].dest));
			ASSERT_EQ(0, pthread_create(&t[i], NULL, hammer_run,
						    &h[i]));
		}
		atomic_store(&go, 1);
		usleep(round * 100);
		ASSERT_EQ(0, b1_close(rcv));
		for (i = 0; i < N_THREADS; ++i) {
			pthread_join(t[i], NULL);
			close(h[i].fd);
		}
	}
}

TEST_HARNESS_MAIN
