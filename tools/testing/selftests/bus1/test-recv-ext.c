// SPDX-License-Identifier: GPL-2.0
/*
 * test-recv-ext - the RECV extensions of the 2016 ABI (issue 18):
 * BUS1_RECV_FLAG_RELEASE (release the previous slice in the same call),
 * BUS1_RECV_FLAG_WAIT (block until a message is ready) and
 * BUS1_RECV_FLAG_SEND (send a message first). See bus1(7).
 *
 * RELEASE: release and receive in one call, release with an empty queue
 * (released, EAGAIN), a bad offset (its error, nothing received, nothing
 * written), BUS1_OFFSET_INVALID (nothing to release), msg.offset reset to
 * BUS1_OFFSET_INVALID once released, and a RECV that faults after its
 * release and is run again by the kernel (a zero page and a
 * userfaultfd-write-protected page under the result): released once.
 *
 * WAIT: a message already queued, blocking until a SEND from another
 * process, woken by a disconnect (ESHUTDOWN), interrupted by a signal
 * (EINTR without SA_RESTART; restarted with it, the slice released once),
 * killed by SIGKILL while waiting, O_NONBLOCK (EAGAIN), WAIT with SEED
 * (EINVAL), and an unknown flag (EINVAL, nothing released).
 *
 * SEND (BUS1_RECV_FLAG_SEND, the SEND at msg.destination first): sent,
 * then received; sent with an empty queue (EAGAIN, msg.destination 0, not
 * sent again by the same call); a failing SEND (its error, nothing else);
 * msg.destination 0 (a plain RECV); a client round trip with WAIT; a
 * signal while waiting (EINTR after the SEND; restarted, sent once); and
 * the kernel's runs again after a fault, of the result (zero page) and of
 * the record in msg.destination (userfaultfd), sent once.
 *
 * Torn result stores: a failed RECV leaves its argument as it was, except
 * for the RELEASE and SEND records (bus1(7), "on failure it is left as it
 * was"). The argument straddles a writable and a read-only page, so a store
 * of the result faults part-way and cannot be faulted in (EFAULT): a data
 * message (with and without a handle), NODE_DESTROY, NODE_RELEASE, with
 * SEND (msg.destination 0, the rest untouched), with RELEASE (msg.offset
 * BUS1_OFFSET_INVALID, the rest untouched) and after WAIT slept. Every msg
 * word keeps its sentinel and the entry stays queued.
 */
#define _GNU_SOURCE
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>

/* the harness compares int constants with __u64 results */
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "msg-util.h"

#define NODE		0x100ULL
#define POOL		0x100000
/* what a sleeping child waits before it acts; the waiter must take longer */
#define DELAY_MS	300
#define MIN_WAIT_MS	150

#define RELEASE		BUS1_RECV_FLAG_RELEASE
#define WAIT		BUS1_RECV_FLAG_WAIT

static __u64 ms_since(__u64 t0)
{
	return (b1_now_ns() - t0) / 1000000;
}

/* RECV on a caller-provided struct: msg.offset is the release offset */
static int rx(int fd, struct bus1_cmd_recv *r, __u64 flags, __u64 release)
{
	memset(r, 0, sizeof(*r));
	r->flags = flags;
	r->max_offset = POOL;
	r->msg.offset = release;
	return b1_ioctl(fd, BUS1_CMD_RECV, (unsigned long)r);
}

struct pair {
	struct mu_peer a;	/* sender */
	struct mu_peer b;	/* receiver, owns NODE */
	__u64 h;		/* a's handle to NODE */
};

/* every test runs on a fresh pair, closed even when an ASSERT fails */
FIXTURE(recv_ext) {
	struct pair p;
};

FIXTURE_SETUP(recv_ext)
{
	self->p.a.fd = -1;
	self->p.b.fd = -1;
	self->p.h = BUS1_HANDLE_INVALID;
	ASSERT_EQ(0, mu_peer_open(&self->p.a, POOL));
	ASSERT_EQ(0, mu_peer_open(&self->p.b, POOL));
	ASSERT_EQ(0, b1_transfer(self->p.b.fd, NODE, self->p.a.fd,
				 &self->p.h));
}

FIXTURE_TEARDOWN(recv_ext)
{
	mu_peer_close(&self->p.a);
	mu_peer_close(&self->p.b);
}

/* receives one message the old way and returns its offset */
static __u64 recv_one(struct __test_metadata *_metadata, struct pair *p,
		      const char *want)
{
	struct bus1_cmd_recv r;

	ASSERT_EQ(0, rx(p->b.fd, &r, 0, 0));
	EXPECT_EQ(BUS1_MSG_DATA, r.msg.type);
	EXPECT_EQ(strlen(want), r.msg.n_bytes);
	EXPECT_EQ(0, memcmp(mu_payload(&p->b, &r), want, strlen(want)));
	return r.msg.offset;
}

/* queues "one" (and "two" if @n is 2), receives "one", returns its offset */
static __u64 queue_and_recv_first(struct __test_metadata *_metadata,
				  struct pair *p, int n)
{
	__u64 o;

	ASSERT_EQ(0, mu_send1(p->a.fd, p->h, "one", 3));
	if (n == 2)
		ASSERT_EQ(0, mu_send1(p->a.fd, p->h, "two", 3));
	o = recv_one(_metadata, p, "one");
	return o;
}

/* allocated slices: the published ones and those of queued messages */
static __u64 n_slices(struct pair *p)
{
	return mu_counter(p->b.fd, "bus1-pool-slices");
}

static __u64 n_queued(struct pair *p)
{
	return mu_counter(p->b.fd, "bus1-queued");
}

/* forks a child that sleeps DELAY_MS, then runs @fn; returns its pid */
static pid_t after_delay(void (*fn)(struct pair *, void *), struct pair *p,
			 void *arg)
{
	pid_t pid = fork();

	if (pid == 0) {
		usleep(DELAY_MS * 1000);
		fn(p, arg);
		_exit(0);
	}
	return pid;
}

static void do_send(struct pair *p, void *arg)
{
	if (mu_send1(p->a.fd, p->h, arg, strlen(arg)))
		_exit(1);
}

static void do_disconnect(struct pair *p, void *arg)
{
	if (b1_disconnect(p->b.fd))
		_exit(1);
}

static void do_signal(struct pair *p, void *arg)
{
	kill(getppid(), SIGUSR1);
}

static void do_signal_send(struct pair *p, void *arg)
{
	kill(getppid(), SIGUSR1);
	usleep(DELAY_MS * 1000);
	do_send(p, arg);
}

static atomic_int n_sigusr1;

static void on_sigusr1(int sig)
{
	atomic_fetch_add(&n_sigusr1, 1);
}

static void set_sigusr1(int flags)
{
	struct sigaction sa = { .sa_handler = on_sigusr1, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	atomic_store(&n_sigusr1, 0);
}

/* --- RELEASE -------------------------------------------------------------- */

/* one call releases the previous slice and receives the next message */
TEST_F(recv_ext, release_and_recv)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r;
	__u64 o1;

	o1 = queue_and_recv_first(_metadata, p, 2);
	ASSERT_EQ(2, n_slices(p));

	ASSERT_EQ(0, rx(p->b.fd, &r, RELEASE, o1));
	EXPECT_EQ(BUS1_MSG_DATA, r.msg.type);
	EXPECT_EQ(NODE, r.msg.destination);
	EXPECT_EQ(3, r.msg.n_bytes);
	EXPECT_EQ(0, memcmp(mu_payload(&p->b, &r), "two", 3));
	/* "one" is gone, "two" is the only slice */
	EXPECT_EQ(1, n_slices(p));
	EXPECT_EQ(0, n_queued(p));
	/* "one"'s charge went back in the settle that received "two" */
	EXPECT_EQ(1, mu_counter(p->b.fd, "bus1-charge-slices"));
	EXPECT_EQ(-ENXIO, b1_slice_release(p->b.fd, o1));
	/* and the loop goes on: release "two" with nothing queued */
	EXPECT_EQ(-EAGAIN, rx(p->b.fd, &r, RELEASE, r.msg.offset));
	EXPECT_EQ(0, n_slices(p));
	EXPECT_EQ(0, mu_counter(p->b.fd, "bus1-charge-slices"));
}

/* empty queue: the slice is released all the same, then EAGAIN */
TEST_F(recv_ext, release_empty_queue)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r;
	__u64 o1;

	o1 = queue_and_recv_first(_metadata, p, 1);
	ASSERT_EQ(1, n_slices(p));

	EXPECT_EQ(-EAGAIN, rx(p->b.fd, &r, RELEASE, o1));
	EXPECT_EQ(0, n_slices(p));
	EXPECT_EQ(0, mu_counter(p->b.fd, "bus1-pool-bytes"));
	/* nothing received: the release settles on its own */
	EXPECT_EQ(0, mu_counter(p->b.fd, "bus1-charge-slices"));
	/* the kernel marked it released: running the call again is harmless */
	EXPECT_EQ(BUS1_OFFSET_INVALID, r.msg.offset);
	EXPECT_EQ(-EAGAIN, b1_ioctl(p->b.fd, BUS1_CMD_RECV, (unsigned long)&r));
	EXPECT_EQ(-ENXIO, b1_slice_release(p->b.fd, o1));
}

/* a bad offset: its error, nothing released, nothing received or written */
TEST_F(recv_ext, release_bad_offset)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r;
	__u64 o1;

	o1 = queue_and_recv_first(_metadata, p, 2);

	EXPECT_EQ(-ENXIO, rx(p->b.fd, &r, RELEASE, o1 + 8));
	EXPECT_EQ(o1 + 8, r.msg.offset);
	EXPECT_EQ(0, r.msg.type);
	EXPECT_EQ(-ENXIO, rx(p->b.fd, &r, RELEASE | WAIT, POOL * 4ULL));
	EXPECT_EQ(POOL * 4ULL, r.msg.offset);
	EXPECT_EQ(2, n_slices(p));
	EXPECT_EQ(1, n_queued(p));

	/* both still there: "one" releases, "two" is received */
	EXPECT_EQ(0, rx(p->b.fd, &r, RELEASE, o1));
	EXPECT_EQ(0, memcmp(mu_payload(&p->b, &r), "two", 3));
	EXPECT_EQ(1, n_slices(p));
}

/* BUS1_OFFSET_INVALID: nothing to release, a plain RECV */
TEST_F(recv_ext, release_nothing)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r;

	EXPECT_EQ(-EAGAIN, rx(p->b.fd, &r, RELEASE, BUS1_OFFSET_INVALID));
	ASSERT_EQ(0, mu_send1(p->a.fd, p->h, "one", 3));
	EXPECT_EQ(0, rx(p->b.fd, &r, RELEASE, BUS1_OFFSET_INVALID));
	EXPECT_EQ(0, memcmp(mu_payload(&p->b, &r), "one", 3));
	EXPECT_EQ(1, n_slices(p));
	/* without the flag msg.offset is no input, as in the 2016 ABI */
	ASSERT_EQ(0, mu_send1(p->a.fd, p->h, "two", 3));
	EXPECT_EQ(0, rx(p->b.fd, &r, 0, r.msg.offset));
	EXPECT_EQ(2, n_slices(p));
}

/* unknown flags and WAIT with SEED: EINVAL before anything is released */
TEST_F(recv_ext, flags_invalid)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r;
	__u64 o1;

	o1 = queue_and_recv_first(_metadata, p, 2);

	EXPECT_EQ(-EINVAL, rx(p->b.fd, &r, RELEASE | (1ULL << 5), o1));
	EXPECT_EQ(-EINVAL, rx(p->b.fd, &r, RELEASE | (1ULL << 63), o1));
	EXPECT_EQ(-EINVAL, rx(p->b.fd, &r, RELEASE | WAIT |
			      BUS1_RECV_FLAG_SEED, o1));
	EXPECT_EQ(o1, r.msg.offset);
	EXPECT_EQ(-EINVAL, rx(p->b.fd, &r, WAIT | BUS1_RECV_FLAG_SEED,
			      BUS1_OFFSET_INVALID));
	EXPECT_EQ(2, n_slices(p));
	EXPECT_EQ(1, n_queued(p));
	EXPECT_EQ(0, b1_slice_release(p->b.fd, o1));
}

/* RELEASE with SEED: the slice goes, then the seed is received */
TEST_F(recv_ext, release_seed)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r;
	__u64 o1;

	ASSERT_EQ(0, mu_sendv(p->b.fd, BUS1_SEND_FLAG_SEED, NULL, 0, NULL,
			      &(struct iovec){ "seed", 4 }, 1, NULL, 0,
			      NULL, 0));
	o1 = queue_and_recv_first(_metadata, p, 1);
	EXPECT_EQ(0, rx(p->b.fd, &r, RELEASE | BUS1_RECV_FLAG_SEED, o1));
	EXPECT_EQ(0, memcmp(mu_payload(&p->b, &r), "seed", 4));
	EXPECT_EQ(1, n_slices(p));
}

/*
 * The result of a RECV lands on a page the kernel cannot write with page
 * faults disabled, right after msg.offset: the release succeeds (and
 * resets msg.offset), the store of the result faults, the kernel faults
 * the page in and runs RECV again, which must not release again (it would
 * fail with ENXIO, or free a slice published meanwhile).
 */
static void retry_after_fault(struct __test_metadata *_metadata,
			      struct bus1_cmd_recv *r, struct pair *p)
{
	__u64 o1;

	o1 = queue_and_recv_first(_metadata, p, 2);

	r->flags = RELEASE;
	r->max_offset = POOL;
	r->msg.offset = o1;
	EXPECT_EQ(0, b1_ioctl(p->b.fd, BUS1_CMD_RECV, (unsigned long)r));
	EXPECT_EQ(BUS1_MSG_DATA, r->msg.type);
	EXPECT_EQ(3, r->msg.n_bytes);
	EXPECT_NE(BUS1_OFFSET_INVALID, r->msg.offset);
	EXPECT_EQ(0, memcmp(mu_payload(&p->b, r), "two", 3));
	EXPECT_EQ(1, n_slices(p));
	EXPECT_EQ(0, n_queued(p));
}

/* struct bus1_cmd_recv placed so msg.n_bytes starts the page at @page */
static struct bus1_cmd_recv *recv_at(char *page)
{
	return (void *)(page - offsetof(struct bus1_cmd_recv, msg.n_bytes));
}

/* the page under the result maps the zero page: a write needs a COW fault */
TEST_F(recv_ext, retry_fault_zero_page)
{
	struct pair *p = &self->p;
	long pg = sysconf(_SC_PAGESIZE);
	char c = 0;
	long i;
	char *m;

	m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	m[0] = 1;
	/* read only: the kernel sees the shared zero page, read-only */
	for (i = 0; i < pg; i += 64)
		c += __atomic_load_n(&m[pg + i], __ATOMIC_RELAXED);
	ASSERT_EQ(0, c);
	retry_after_fault(_metadata, recv_at(m + pg), p);
	munmap(m, 2 * pg);
}

struct uf_wp {
	int fd;
	char *page;
	long pg;
	pthread_t thread;
	atomic_int faults;
	atomic_int stop;
};

/* counts write faults on the protected page and lifts the protection */
static void *uf_wp_handler(void *arg)
{
	struct uf_wp *u = arg;
	struct pollfd pfd = { .fd = u->fd, .events = POLLIN };
	struct uffdio_writeprotect wp;
	struct uffd_msg msg;

	while (!atomic_load(&u->stop)) {
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		if (read(u->fd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT ||
		    !(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP))
			continue;
		atomic_fetch_add(&u->faults, 1);
		memset(&wp, 0, sizeof(wp));
		wp.range.start = (uintptr_t)u->page;
		wp.range.len = u->pg;
		wp.mode = 0;
		ioctl(u->fd, UFFDIO_WRITEPROTECT, &wp);
	}
	return NULL;
}

/* the page under the result is write-protected by userfaultfd */
TEST_F(recv_ext, retry_fault_uffd_wp)
{
	struct pair *p = &self->p;
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {};
	struct uffdio_writeprotect wp = {};
	struct uf_wp u = {};
	char *m;

	u.pg = sysconf(_SC_PAGESIZE);
	u.fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u.fd < 0)
		SKIP(return, "userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(u.fd, UFFDIO_API, &api));
	if (!(api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP))
		SKIP(return, "userfaultfd without write-protect");
	m = mmap(NULL, 2 * u.pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	memset(m, 0, 2 * u.pg);
	u.page = m + u.pg;
	reg.range.start = (uintptr_t)u.page;
	reg.range.len = u.pg;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(u.fd, UFFDIO_REGISTER, &reg))
		SKIP(return, "UFFDIO_REGISTER_MODE_WP: %s", strerror(errno));
	wp.range = reg.range;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	ASSERT_EQ(0, ioctl(u.fd, UFFDIO_WRITEPROTECT, &wp));
	ASSERT_EQ(0, pthread_create(&u.thread, NULL, uf_wp_handler, &u));

	retry_after_fault(_metadata, recv_at(u.page), p);
	/* the kernel did run into the protection (and ran RECV again) */
	EXPECT_EQ(1, atomic_load(&u.faults));

	atomic_store(&u.stop, 1);
	pthread_join(u.thread, NULL);
	close(u.fd);
	munmap(m, 2 * u.pg);
}

/* --- WAIT ----------------------------------------------------------------- */

/* a queued message: WAIT returns it right away */
TEST_F(recv_ext, wait_ready)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r;

	ASSERT_EQ(0, mu_send1(p->a.fd, p->h, "one", 3));
	EXPECT_EQ(0, rx(p->b.fd, &r, WAIT, 0));
	EXPECT_EQ(0, memcmp(mu_payload(&p->b, &r), "one", 3));
}

/* WAIT blocks until another process sends; RELEASE done before sleeping */
TEST_F(recv_ext, wait_for_send)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r;
	__u64 o1, t0;
	pid_t pid;

	o1 = queue_and_recv_first(_metadata, p, 1);

	pid = after_delay(do_send, p, "two");
	ASSERT_LT(0, pid);
	t0 = b1_now_ns();
	EXPECT_EQ(0, rx(p->b.fd, &r, RELEASE | WAIT, o1));
	EXPECT_LE(MIN_WAIT_MS, ms_since(t0));
	EXPECT_EQ(0, memcmp(mu_payload(&p->b, &r), "two", 3));
	EXPECT_EQ(1, n_slices(p));
	EXPECT_EQ(0, mu_wait(pid));
}

/* several waiters: each message wakes and is taken by exactly one */
TEST_F(recv_ext, wait_two_waiters)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r;
	pid_t pid[2];
	int i;

	for (i = 0; i < 2; ++i) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0)
			_exit(rx(p->b.fd, &r, WAIT, 0) ? 1 : 0);
	}
	usleep(DELAY_MS * 1000);
	ASSERT_EQ(0, mu_send1(p->a.fd, p->h, "one", 3));
	ASSERT_EQ(0, mu_send1(p->a.fd, p->h, "two", 3));
	EXPECT_EQ(0, mu_wait(pid[0]));
	EXPECT_EQ(0, mu_wait(pid[1]));
	EXPECT_EQ(2, n_slices(p));
	EXPECT_EQ(0, n_queued(p));
}

/* a disconnect from another process ends the wait with ESHUTDOWN */
TEST_F(recv_ext, wait_disconnect)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r;
	__u64 t0;
	pid_t pid;

	pid = after_delay(do_disconnect, p, NULL);
	ASSERT_LT(0, pid);
	t0 = b1_now_ns();
	EXPECT_EQ(-ESHUTDOWN, rx(p->b.fd, &r, WAIT, 0));
	EXPECT_LE(MIN_WAIT_MS, ms_since(t0));
	EXPECT_EQ(0, mu_wait(pid));
	EXPECT_EQ(-ESHUTDOWN, rx(p->b.fd, &r, WAIT, 0));
}

/* a signal without SA_RESTART: EINTR, the slice released once */
TEST_F(recv_ext, wait_signal_eintr)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r;
	__u64 o1, t0;
	pid_t pid;

	o1 = queue_and_recv_first(_metadata, p, 1);
	set_sigusr1(0);
	pid = after_delay(do_signal, p, NULL);
	ASSERT_LT(0, pid);
	t0 = b1_now_ns();
	EXPECT_EQ(-EINTR, rx(p->b.fd, &r, RELEASE | WAIT, o1));
	EXPECT_LE(MIN_WAIT_MS, ms_since(t0));
	EXPECT_EQ(1, atomic_load(&n_sigusr1));
	EXPECT_EQ(BUS1_OFFSET_INVALID, r.msg.offset);
	EXPECT_EQ(0, n_slices(p));
	EXPECT_EQ(0, mu_wait(pid));
}

/* with SA_RESTART the restarted RECV waits on and does not release again */
TEST_F(recv_ext, wait_signal_restart)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r;
	__u64 o1;
	pid_t pid;

	o1 = queue_and_recv_first(_metadata, p, 1);
	set_sigusr1(SA_RESTART);
	pid = after_delay(do_signal_send, p, "two");
	ASSERT_LT(0, pid);
	EXPECT_EQ(0, rx(p->b.fd, &r, RELEASE | WAIT, o1));
	EXPECT_EQ(1, atomic_load(&n_sigusr1));
	EXPECT_EQ(0, memcmp(mu_payload(&p->b, &r), "two", 3));
	EXPECT_EQ(1, n_slices(p));
	EXPECT_EQ(0, mu_wait(pid));
}

/* SIGKILL ends a waiting process; its peer stays usable for others */
TEST_F(recv_ext, wait_killed)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r;
	__u64 t0;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(rx(p->b.fd, &r, WAIT, 0) ? 1 : 0);
	usleep(DELAY_MS * 1000);
	t0 = b1_now_ns();
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, mu_wait(pid));
	EXPECT_GT(2000, ms_since(t0));
	ASSERT_EQ(0, mu_send1(p->a.fd, p->h, "one", 3));
	EXPECT_EQ(0, rx(p->b.fd, &r, WAIT, 0));
	EXPECT_EQ(1, n_slices(p));
}

/* O_NONBLOCK wins over WAIT: EAGAIN, after the release */
TEST_F(recv_ext, wait_nonblock)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r;
	__u64 o1, t0;

	o1 = queue_and_recv_first(_metadata, p, 1);
	ASSERT_EQ(0, fcntl(p->b.fd, F_SETFL, O_NONBLOCK));
	t0 = b1_now_ns();
	EXPECT_EQ(-EAGAIN, rx(p->b.fd, &r, RELEASE | WAIT, o1));
	EXPECT_GT(MIN_WAIT_MS, ms_since(t0));
	EXPECT_EQ(0, n_slices(p));
	ASSERT_EQ(0, mu_send1(p->a.fd, p->h, "two", 3));
	EXPECT_EQ(0, rx(p->b.fd, &r, WAIT, 0));
	EXPECT_EQ(0, memcmp(mu_payload(&p->b, &r), "two", 3));
}

/* --- SEND ----------------------------------------------------------------- */

#define SEND		BUS1_RECV_FLAG_SEND
#define NODE_A		0x200ULL

/* a SEND of one message, for RECV's msg.destination */
struct send1 {
	struct bus1_cmd_send cmd;
	struct iovec v;
	__u64 dst;
};

static __u64 send1(struct send1 *s, __u64 dst, const char *buf)
{
	memset(s, 0, sizeof(*s));
	s->dst = dst;
	s->v.iov_base = (void *)buf;
	s->v.iov_len = strlen(buf);
	s->cmd.ptr_destinations = (uintptr_t)&s->dst;
	s->cmd.n_destinations = 1;
	s->cmd.ptr_vecs = (uintptr_t)&s->v;
	s->cmd.n_vecs = 1;
	return (uintptr_t)&s->cmd;
}

/* RECV with SEND: run the SEND at @send (0: none), then receive */
static int srx(int fd, struct bus1_cmd_recv *r, __u64 flags, __u64 release,
	       __u64 send)
{
	memset(r, 0, sizeof(*r));
	r->flags = flags | SEND;
	r->max_offset = POOL;
	r->msg.destination = send;
	r->msg.offset = release;
	return b1_ioctl(fd, BUS1_CMD_RECV, (unsigned long)r);
}

/* b's handle to a's node NODE_A, for replies */
static __u64 reverse(struct __test_metadata *_metadata, struct pair *p)
{
	__u64 h = BUS1_HANDLE_INVALID;

	ASSERT_EQ(0, b1_transfer(p->a.fd, NODE_A, p->b.fd, &h));
	return h;
}

static __u64 a_queued(struct pair *p)
{
	return mu_counter(p->a.fd, "bus1-queued");
}

/* the SEND goes first, then the caller's own queue is received */
TEST_F(recv_ext, send_then_recv)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r;
	struct send1 s;
	__u64 hb;

	hb = reverse(_metadata, p);
	ASSERT_EQ(0, mu_send1(p->b.fd, hb, "ack", 3));
	EXPECT_EQ(0, srx(p->a.fd, &r, 0, BUS1_OFFSET_INVALID,
			 send1(&s, p->h, "one")));
	EXPECT_EQ(BUS1_MSG_DATA, r.msg.type);
	EXPECT_EQ(NODE_A, r.msg.destination);
	EXPECT_EQ(3, r.msg.n_bytes);
	EXPECT_EQ(0, memcmp(mu_payload(&p->a, &r), "ack", 3));
	EXPECT_EQ(1, n_queued(p));
	recv_one(_metadata, p, "one");
	EXPECT_EQ(0, a_queued(p));
}

/* empty queue: sent all the same, EAGAIN, msg.destination 0 says so */
TEST_F(recv_ext, send_empty_queue)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r;
	struct send1 s;

	EXPECT_EQ(-EAGAIN, srx(p->a.fd, &r, 0, BUS1_OFFSET_INVALID,
			       send1(&s, p->h, "one")));
	EXPECT_EQ(0, r.msg.destination);
	EXPECT_EQ(1, n_queued(p));
	/* the same call again: nothing left to send */
	EXPECT_EQ(-EAGAIN, b1_ioctl(p->a.fd, BUS1_CMD_RECV, (unsigned long)&r));
	EXPECT_EQ(1, n_queued(p));
	recv_one(_metadata, p, "one");
}

/* a failing SEND: its error; nothing released, received or written */
TEST_F(recv_ext, send_fails)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r;
	struct send1 s;
	__u64 o1, hb, cmd;

	hb = reverse(_metadata, p);
	o1 = queue_and_recv_first(_metadata, p, 2);

	cmd = send1(&s, hb, "bad");
	s.cmd.flags = 1ULL << 40;
	EXPECT_EQ(-EINVAL, srx(p->b.fd, &r, RELEASE, o1, cmd));
	EXPECT_EQ(cmd, r.msg.destination);
	EXPECT_EQ(o1, r.msg.offset);
	EXPECT_EQ(0, r.msg.type);

	/* an unmapped destination array: EFAULT after the kernel retried */
	cmd = send1(&s, hb, "bad");
	s.cmd.ptr_destinations = 8;
	EXPECT_EQ(-EFAULT, srx(p->b.fd, &r, RELEASE | WAIT, o1, cmd));
	EXPECT_EQ(cmd, r.msg.destination);
	EXPECT_EQ(o1, r.msg.offset);

	EXPECT_EQ(2, n_slices(p));
	EXPECT_EQ(1, n_queued(p));
	EXPECT_EQ(0, a_queued(p));
	EXPECT_EQ(0, rx(p->b.fd, &r, RELEASE, o1));
	EXPECT_EQ(0, memcmp(mu_payload(&p->b, &r), "two", 3));
}

/* msg.destination 0: nothing to send, a plain RECV */
TEST_F(recv_ext, send_nothing)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r;

	EXPECT_EQ(-EAGAIN, srx(p->b.fd, &r, 0, BUS1_OFFSET_INVALID, 0));
	ASSERT_EQ(0, mu_send1(p->a.fd, p->h, "one", 3));
	EXPECT_EQ(0, srx(p->b.fd, &r, RELEASE, BUS1_OFFSET_INVALID, 0));
	EXPECT_EQ(0, memcmp(mu_payload(&p->b, &r), "one", 3));
	EXPECT_EQ(0, a_queued(p));
}

struct reply {
	__u64 hb;
	bool signal;
};

/* the server's side: take the request off b, answer "two" to a */
static void do_reply(struct pair *p, void *arg)
{
	struct reply *rp = arg;
	struct bus1_cmd_recv r;

	if (rp->signal) {
		kill(getppid(), SIGUSR1);
		usleep(DELAY_MS * 1000);
	}
	if (rx(p->b.fd, &r, 0, 0) || r.msg.n_bytes != 3 ||
	    memcmp(mu_payload(&p->b, &r), "one", 3))
		_exit(1);
	if (mu_send1(p->b.fd, rp->hb, "two", 3))
		_exit(1);
}

/* a client's round trip in one call: SEND the request, WAIT for the reply */
TEST_F(recv_ext, send_wait_reply)
{
	struct pair *p = &self->p;
	struct reply rp = { .hb = reverse(_metadata, p) };
	struct bus1_cmd_recv r;
	struct send1 s;
	__u64 t0;
	pid_t pid;

	pid = after_delay(do_reply, p, &rp);
	ASSERT_LT(0, pid);
	t0 = b1_now_ns();
	EXPECT_EQ(0, srx(p->a.fd, &r, WAIT, BUS1_OFFSET_INVALID,
			 send1(&s, p->h, "one")));
	EXPECT_LE(MIN_WAIT_MS, ms_since(t0));
	EXPECT_EQ(0, memcmp(mu_payload(&p->a, &r), "two", 3));
	EXPECT_EQ(0, mu_wait(pid));
	EXPECT_EQ(0, n_queued(p));
}

/* a signal while waiting: EINTR with the SEND done, or restarted: sent once */
TEST_F(recv_ext, send_wait_signal)
{
	struct pair *p = &self->p;
	struct reply rp = { .hb = reverse(_metadata, p), .signal = true };
	struct bus1_cmd_recv r;
	struct send1 s;
	pid_t pid;

	set_sigusr1(0);
	pid = after_delay(do_signal, p, NULL);
	ASSERT_LT(0, pid);
	EXPECT_EQ(-EINTR, srx(p->a.fd, &r, WAIT, BUS1_OFFSET_INVALID,
			      send1(&s, p->h, "one")));
	EXPECT_EQ(0, r.msg.destination);
	EXPECT_EQ(1, n_queued(p));
	EXPECT_EQ(0, mu_wait(pid));
	recv_one(_metadata, p, "one");

	set_sigusr1(SA_RESTART);
	pid = after_delay(do_reply, p, &rp);
	ASSERT_LT(0, pid);
	EXPECT_EQ(0, srx(p->a.fd, &r, WAIT, BUS1_OFFSET_INVALID,
			 send1(&s, p->h, "one")));
	EXPECT_EQ(1, atomic_load(&n_sigusr1));
	EXPECT_EQ(0, memcmp(mu_payload(&p->a, &r), "two", 3));
	/* the child took the one request; a second would still be queued */
	EXPECT_EQ(0, mu_wait(pid));
	EXPECT_EQ(0, n_queued(p));
}

/*
 * The result lands on the zero page: the SEND and its record in
 * msg.destination succeed, the store of the result faults, the kernel runs
 * RECV again, which must not send again.
 */
TEST_F(recv_ext, send_retry_fault_zero_page)
{
	struct pair *p = &self->p;
	long pg = sysconf(_SC_PAGESIZE);
	struct bus1_cmd_recv *r;
	struct send1 s;
	__u64 hb;
	char c = 0;
	long i;
	char *m;

	hb = reverse(_metadata, p);
	ASSERT_EQ(0, mu_send1(p->b.fd, hb, "ack", 3));
	m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	m[0] = 1;
	for (i = 0; i < pg; i += 64)
		c += __atomic_load_n(&m[pg + i], __ATOMIC_RELAXED);
	ASSERT_EQ(0, c);
	r = recv_at(m + pg);
	r->flags = SEND;
	r->max_offset = POOL;
	r->msg.destination = send1(&s, p->h, "one");
	r->msg.offset = BUS1_OFFSET_INVALID;
	EXPECT_EQ(0, b1_ioctl(p->a.fd, BUS1_CMD_RECV, (unsigned long)r));
	EXPECT_EQ(NODE_A, r->msg.destination);
	EXPECT_EQ(0, memcmp(mu_payload(&p->a, r), "ack", 3));
	EXPECT_EQ(1, n_queued(p));
	munmap(m, 2 * pg);
}

/*
 * msg.destination itself is on a userfaultfd-write-protected page: the
 * record of the SEND cannot be stored with page faults disabled; the
 * kernel stores it with them enabled (the handler lifts the protection)
 * before RECV runs again, and does not send twice.
 */
TEST_F(recv_ext, send_retry_fault_uffd_wp)
{
	struct pair *p = &self->p;
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {};
	struct uffdio_writeprotect wp = {};
	struct bus1_cmd_recv *r;
	struct uf_wp u = {};
	struct send1 s;
	char *m;

	u.pg = sysconf(_SC_PAGESIZE);
	u.fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u.fd < 0)
		SKIP(return, "userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(u.fd, UFFDIO_API, &api));
	if (!(api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP))
		SKIP(return, "userfaultfd without write-protect");
	m = mmap(NULL, 2 * u.pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	memset(m, 0, 2 * u.pg);
	u.page = m + u.pg;
	r = (void *)(u.page - offsetof(struct bus1_cmd_recv, msg.destination));
	r->flags = SEND;
	r->max_offset = POOL;
	r->msg.destination = send1(&s, p->h, "one");
	r->msg.offset = BUS1_OFFSET_INVALID;
	reg.range.start = (uintptr_t)u.page;
	reg.range.len = u.pg;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(u.fd, UFFDIO_REGISTER, &reg))
		SKIP(return, "UFFDIO_REGISTER_MODE_WP: %s", strerror(errno));
	wp.range = reg.range;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	ASSERT_EQ(0, ioctl(u.fd, UFFDIO_WRITEPROTECT, &wp));
	ASSERT_EQ(0, pthread_create(&u.thread, NULL, uf_wp_handler, &u));

	EXPECT_EQ(-EAGAIN, b1_ioctl(p->a.fd, BUS1_CMD_RECV, (unsigned long)r));
	EXPECT_EQ(0, r->msg.destination);
	EXPECT_EQ(1, atomic_load(&u.faults));
	EXPECT_EQ(1, n_queued(p));

	atomic_store(&u.stop, 1);
	pthread_join(u.thread, NULL);
	close(u.fd);
	munmap(m, 2 * u.pg);
}

/* --- torn result stores --------------------------------------------------- */

#define N_MSG_WORDS	7
/* never a type, an ID, an offset or a size the kernel would return */
#define SENTINEL(i)	(0x5e5e5e5e00000000ULL | (__u64)(i))
#define W_DESTINATION	2
#define W_OFFSET	3

static const char *const msg_word[N_MSG_WORDS] = {
	"type", "flags", "destination", "offset", "n_bytes", "n_handles",
	"n_fds",
};

/* two pages: a writable one, then one made read-only under the argument */
struct torn {
	char *map;
	long pg;
};

static void torn_map(struct __test_metadata *_metadata, struct torn *t)
{
	t->pg = sysconf(_SC_PAGESIZE);
	t->map = mmap(NULL, 2 * t->pg, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, t->map);
}

static __u64 *msg_words(struct bus1_cmd_recv *r)
{
	return (__u64 *)&r->msg;
}

/*
 * The argument with the first @k words of msg at the end of the writable
 * page and the rest on the read-only one, every msg word a sentinel. Any
 * store of a result writes msg.type first, so it writes something and then
 * faults, and the fault-in fails (the page is not writable): EFAULT, with
 * whatever the kernel wrote before the fault left on the writable page.
 */
static struct bus1_cmd_recv *torn_arg(struct __test_metadata *_metadata,
				      struct torn *t, int k, __u64 flags)
{
	char *ro = t->map + t->pg;
	struct bus1_cmd_recv *r;
	int i;

	r = (void *)(ro - offsetof(struct bus1_cmd_recv, msg) - 8 * k);
	ASSERT_EQ(0, mprotect(ro, t->pg, PROT_READ | PROT_WRITE));
	r->flags = flags;
	r->max_offset = POOL;
	for (i = 0; i < N_MSG_WORDS; ++i)
		msg_words(r)[i] = SENTINEL(i);
	ASSERT_EQ(0, mprotect(ro, t->pg, PROT_READ));
	return r;
}

/* every msg word but @skip (-1: none) still holds its sentinel */
static void torn_check(struct __test_metadata *_metadata,
		       struct bus1_cmd_recv *r, int k, int skip)
{
	int i;

	for (i = 0; i < N_MSG_WORDS; ++i) {
		if (i == skip)
			continue;
		EXPECT_EQ(SENTINEL(i), msg_words(r)[i]) {
			TH_LOG("%d msg words writable: msg.%s written",
			       k, msg_word[i]);
		}
	}
}

/*
 * RECV of the entry at the head of @fd's queue at every split: EFAULT,
 * the argument untouched, the entry still queued.
 */
static void torn_recv_splits(struct __test_metadata *_metadata,
			     struct torn *t, int fd)
{
	struct bus1_cmd_recv *r;
	int k;

	for (k = 1; k < N_MSG_WORDS; ++k) {
		r = torn_arg(_metadata, t, k, 0);
		EXPECT_EQ(-EFAULT, b1_ioctl(fd, BUS1_CMD_RECV,
					    (unsigned long)r));
		torn_check(_metadata, r, k, -1);
		EXPECT_EQ(1, mu_counter(fd, "bus1-queued"));
	}
}

static void torn_unmap(struct torn *t)
{
	munmap(t->map, 2 * t->pg);
}

/* a data message at the head: EFAULT at every split, received afterwards */
TEST_F(recv_ext, torn_store_data)
{
	struct pair *p = &self->p;
	struct torn t;

	torn_map(_metadata, &t);
	ASSERT_EQ(0, mu_send1(p->a.fd, p->h, "one", 3));
	torn_recv_splits(_metadata, &t, p->b.fd);
	recv_one(_metadata, p, "one");
	EXPECT_EQ(0, n_queued(p));
	torn_unmap(&t);
}

/* a data message with a handle: not the fast path, the general one */
TEST_F(recv_ext, torn_store_data_handle)
{
	struct pair *p = &self->p;
	struct iovec v = { "one", 3 };
	struct bus1_cmd_recv r2;
	struct torn t;

	torn_map(_metadata, &t);
	ASSERT_EQ(0, mu_sendv(p->a.fd, 0, &p->h, 1, NULL, &v, 1, &p->h, 1,
			      NULL, 0));
	torn_recv_splits(_metadata, &t, p->b.fd);
	ASSERT_EQ(0, rx(p->b.fd, &r2, 0, 0));
	EXPECT_EQ(BUS1_MSG_DATA, r2.msg.type);
	EXPECT_EQ(1, r2.msg.n_handles);
	EXPECT_EQ(NODE, mu_handles(&p->b, &r2)[0]);
	EXPECT_EQ(0, n_queued(p));
	torn_unmap(&t);
}

/* a NODE_DESTROY at the head of the holder's queue */
TEST_F(recv_ext, torn_store_node_destroy)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r2;
	struct torn t;

	torn_map(_metadata, &t);
	ASSERT_EQ(0, b1_destroy1(p->b.fd, NODE));
	ASSERT_EQ(1, a_queued(p));
	torn_recv_splits(_metadata, &t, p->a.fd);
	ASSERT_EQ(0, rx(p->a.fd, &r2, 0, 0));
	EXPECT_EQ(BUS1_MSG_NODE_DESTROY, r2.msg.type);
	EXPECT_EQ(p->h, r2.msg.destination);
	EXPECT_EQ(0, a_queued(p));
	torn_unmap(&t);
}

/* a NODE_RELEASE at the head of the owner's queue */
TEST_F(recv_ext, torn_store_node_release)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv r2;
	struct torn t;

	torn_map(_metadata, &t);
	ASSERT_EQ(0, b1_release(p->a.fd, p->h));
	ASSERT_EQ(1, n_queued(p));
	torn_recv_splits(_metadata, &t, p->b.fd);
	ASSERT_EQ(0, rx(p->b.fd, &r2, 0, 0));
	EXPECT_EQ(BUS1_MSG_NODE_RELEASE, r2.msg.type);
	EXPECT_EQ(NODE, r2.msg.destination);
	EXPECT_EQ(0, n_queued(p));
	torn_unmap(&t);
}

/*
 * SEND, then a receive whose store faults: sent once per call, and
 * msg.destination reads 0. It must be writable for that (a SEND record that
 * cannot be stored fails the call with EFAULT, bus1(7)), so the splits put
 * it on the writable page.
 */
TEST_F(recv_ext, torn_store_send)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv *r, r2;
	struct send1 s;
	struct torn t;
	__u64 hb;
	int k;

	torn_map(_metadata, &t);
	hb = reverse(_metadata, p);
	ASSERT_EQ(0, mu_send1(p->b.fd, hb, "ack", 3));
	for (k = W_DESTINATION + 1; k < N_MSG_WORDS; ++k) {
		r = torn_arg(_metadata, &t, k, SEND);
		r->msg.destination = send1(&s, p->h, "one");
		EXPECT_EQ(-EFAULT, b1_ioctl(p->a.fd, BUS1_CMD_RECV,
					    (unsigned long)r));
		EXPECT_EQ(0, r->msg.destination);
		torn_check(_metadata, r, k, W_DESTINATION);
		EXPECT_EQ(k - W_DESTINATION, n_queued(p));
		EXPECT_EQ(1, a_queued(p));
	}
	ASSERT_EQ(0, rx(p->a.fd, &r2, 0, 0));
	EXPECT_EQ(NODE_A, r2.msg.destination);
	EXPECT_EQ(0, memcmp(mu_payload(&p->a, &r2), "ack", 3));
	torn_unmap(&t);
}

/*
 * RELEASE, then a receive whose store faults: the slice is released and
 * msg.offset reads BUS1_OFFSET_INVALID, on the writable page for the same
 * reason as msg.destination above; nothing else changes.
 */
TEST_F(recv_ext, torn_store_release)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv *r;
	struct torn t;
	__u64 o1;
	int k;

	torn_map(_metadata, &t);
	for (k = W_OFFSET + 1; k < N_MSG_WORDS; ++k) {
		o1 = queue_and_recv_first(_metadata, p, 2);
		r = torn_arg(_metadata, &t, k, RELEASE);
		r->msg.offset = o1;
		EXPECT_EQ(-EFAULT, b1_ioctl(p->b.fd, BUS1_CMD_RECV,
					    (unsigned long)r));
		EXPECT_EQ(BUS1_OFFSET_INVALID, r->msg.offset);
		torn_check(_metadata, r, k, W_OFFSET);
		EXPECT_EQ(-ENXIO, b1_slice_release(p->b.fd, o1));
		EXPECT_EQ(1, n_queued(p));
		EXPECT_EQ(0, b1_slice_release(p->b.fd,
					      recv_one(_metadata, p, "two")));
	}
	torn_unmap(&t);
}

/* WAIT slept on an empty queue; the run after the wake-up faults */
TEST_F(recv_ext, torn_store_after_wait)
{
	struct pair *p = &self->p;
	struct bus1_cmd_recv *r;
	struct torn t;
	pid_t pid;
	__u64 t0;

	torn_map(_metadata, &t);
	pid = after_delay(do_send, p, "one");
	ASSERT_LT(0, pid);
	/*
	 * Filled after the fork, which write-protected the parent's pages:
	 * otherwise the store would fault on msg.type and write nothing.
	 */
	r = torn_arg(_metadata, &t, W_DESTINATION + 1, WAIT);
	t0 = b1_now_ns();
	EXPECT_EQ(-EFAULT, b1_ioctl(p->b.fd, BUS1_CMD_RECV, (unsigned long)r));
	/* it did sleep: the store that faulted came after the wake-up */
	EXPECT_LE(MIN_WAIT_MS, ms_since(t0));
	torn_check(_metadata, r, W_DESTINATION + 1, -1);
	EXPECT_EQ(0, mu_wait(pid));
	EXPECT_EQ(1, n_queued(p));
	recv_one(_metadata, p, "one");
	torn_unmap(&t);
}

/*
 * A RECV that stores nothing writes nothing: with a read-only argument and
 * nothing to receive it fails with EAGAIN (the 2016 ABI's answer), not
 * EFAULT. The kernel stores the caller's words back only after it changed
 * them; on a KASAN kernel (make check-debug) the call's state is poisoned
 * before it is set up, so a "changed" flag left unset reads as set and this
 * fails.
 */
TEST_F(recv_ext, read_only_argument_nothing_to_receive)
{
	struct pair *p = &self->p;
	long pg = sysconf(_SC_PAGESIZE);
	struct bus1_cmd_recv *r;
	int i;

	r = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	r->max_offset = POOL;
	for (i = 0; i < N_MSG_WORDS; ++i)
		msg_words(r)[i] = SENTINEL(i);
	ASSERT_EQ(0, mprotect(r, pg, PROT_READ));
	EXPECT_EQ(-EAGAIN, b1_ioctl(p->b.fd, BUS1_CMD_RECV, (unsigned long)r));
	/* and with a message queued, the store fails: EFAULT, still queued */
	ASSERT_EQ(0, mu_send1(p->a.fd, p->h, "one", 3));
	EXPECT_EQ(-EFAULT, b1_ioctl(p->b.fd, BUS1_CMD_RECV, (unsigned long)r));
	EXPECT_EQ(1, n_queued(p));
	for (i = 0; i < N_MSG_WORDS; ++i)
		EXPECT_EQ(SENTINEL(i), msg_words(r)[i]);
	munmap(r, pg);
}

TEST_HARNESS_MAIN
