// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-failnth - exhaustive fault injection along every bus1 code path
 *
 * For each step of a small scenario (open, mmap, HANDLE_TRANSFER, SEND,
 * multicast SEND, RECV, SLICE_RELEASE, NODES_DESTROY, HANDLE_RELEASE,
 * PEER_QUERY, PEER_RESET, DISCONNECT, close), the step is run again and
 * again with /proc/thread-self/fail-nth = 1, 2, 3, ...: the N-th fault
 * injection point the syscall passes (kmalloc/kmem_cache_alloc via failslab,
 * alloc_pages via fail_page_alloc, copy_{from,to}_user via fail_usercopy)
 * fails. The loop ends when a run passes fewer than N points, so every
 * allocation and user copy on that path has failed once. After every
 * injected failure the step must have returned success or an errno the spec
 * allows, left no visible effect (fdinfo counters, queues), and a retry
 * without injection must succeed with the message delivered exactly once and
 * intact; no failed step may lose or duplicate a message (bus1.rst allows
 * no loss: RECV checks its argument before anything is dequeued and keeps
 * the message queued on every error). Leaks are left to kmemleak (the rig
 * scans after the run).
 *
 * A step on which no fault point fires is a SKIP with the reason
 * (no_point_why[]) if its path is known to have none, and fails otherwise:
 * then the injection does not reach it and the step proved nothing. Every
 * knob is read back after it was set; a knob that cannot be set fails the
 * run (ignore-gfp-wait left at Y exempts every GFP_KERNEL allocation).
 *
 * Needs CONFIG_FAULT_INJECTION(+FAILSLAB, FAIL_PAGE_ALLOC,
 * FAULT_INJECTION_USERCOPY, FAULT_INJECTION_DEBUG_FS) and debugfs; skips
 * otherwise. Prints TAP, one line per step; exit status 0 only if all passed.
 * Built as tools/testing/selftests/bus1/debug/out/debug-failnth.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/types.h>
#include <linux/bus1.h>

#define ARRAY_SIZE(_a) (sizeof(_a) / sizeof((_a)[0]))
#define POOL		0x100000
#define MAX_NTH		5000
#define NODE_A		0x100ULL
#define NODE_B		0x200ULL
#define NODE_C		0x300ULL
#define NODE_C2		0x400ULL
#define PAYLOAD		300

static const char *dev = "/dev/bus1";
static int nth_fd = -1;
static unsigned int failures;	/* violations in the current step */
static unsigned long long injected_total;

/* knobs set for the run and restored afterwards */
static const char *const knobs[][2] = {
	{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
	{ "/sys/kernel/debug/failslab/verbose", "0" },
	{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N" },
	{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N" },
	{ "/sys/kernel/debug/fail_page_alloc/min-order", "0" },
	{ "/sys/kernel/debug/fail_page_alloc/verbose", "0" },
	{ "/sys/kernel/debug/fail_usercopy/verbose", "0" },
};

static char saved[ARRAY_SIZE(knobs)][32];
static unsigned int knob_errors;

struct st {
	int a, b, c;		/* peers: A and C own nodes, B sends */
	const __u8 *ma, *mc;	/* pool mappings of A and C */
	__u64 hb, hc, hc2;	/* B's handles to NODE_A, NODE_C, NODE_C2 */
	__u64 slice;		/* A's published slice (S_SRELEASE) */
	long long pre;		/* a counter before the step */
	unsigned int n_fds;	/* fds attached by the last send_msg() */
	int pipe[2];
	__u8 payload[PAYLOAD];
};

static void fail(const char *fmt, ...)
{
	va_list ap;

	failures++;
	if (failures > 8)
		return;
	printf("#   FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static int wfile(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = write(fd, val, strlen(val)) < 0 ? -1 : 0;
	close(fd);
	return r;
}

static void rfile(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r = fd < 0 ? -1 : read(fd, buf, n - 1);

	if (fd >= 0)
		close(fd);
	buf[r > 0 ? r : 0] = 0;
	if (r > 0 && buf[r - 1] == '\n')
		buf[r - 1] = 0;
}

static void set_nth(unsigned int n)
{
	char b[16];
	int len = snprintf(b, sizeof(b), "%u", n), i;

	/* the write's own copy_from_user may take a pending fault: retry */
	for (i = 0; i < 3; i++)
		if (pwrite(nth_fd, b, len, 0) == len)
			return;
	perror("fail-nth");
	exit(1);
}

/* true if the injection happened (the counter reached 0) */
static bool nth_done(void)
{
	char b[16] = "";
	ssize_t r = pread(nth_fd, b, sizeof(b) - 1, 0);

	/* the read's own copy_to_user may take the fault: not injected */
	set_nth(0);
	return r > 0 && strtoul(b, NULL, 10) == 0;
}

static long long read_info(int fd, const char *key)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = strtoll(line + kl + 2, NULL, 10);
	fclose(f);
	return v;
}

static void want_info(int fd, const char *key, long long want,
		      const char *what)
{
	long long v = read_info(fd, key);

	if (v != want)
		fail("%s: %s = %lld, want %lld", what, key, v, want);
}

static int open_peer(void)
{
	return open(dev, O_RDWR | O_CLOEXEC);
}

static int xfer(int from, __u64 src, int to, __u64 *out)
{
	struct bus1_cmd_handle_transfer x = {
		.src_handle = src,
		.dst_fd = to < 0 ? ~0ULL : (__u64)to,
	};

	if (ioctl(from, BUS1_CMD_HANDLE_TRANSFER, &x))
		return errno;
	if (out)
		*out = x.dst_handle;
	return 0;
}

/*
 * SEND keeps up to 2 destinations and 4 fds inline; the multicast step has
 * 3 destinations and 5 fds, so both arrays are allocated, the fds' after
 * the destinations': a failure there must unwind destinations that were
 * never prepared (found by the fuzzer under failslab: it unwound garbage).
 */
#define WIDE_FDS 5

static int send_msg(struct st *s, __u64 *dst, unsigned int n_dst,
		    unsigned int n_fds)
{
	__u64 handles[2] = { NODE_B, s->hb };
	__s32 fds[WIDE_FDS];
	unsigned int i;
	struct iovec v[3] = {
		{ s->payload, 100 },
		{ s->payload + 100, 0 },
		{ s->payload + 100, PAYLOAD - 100 },
	};
	struct bus1_cmd_send c = {
		.ptr_destinations = (uintptr_t)dst,
		.n_destinations = n_dst,
		.ptr_vecs = (uintptr_t)v,
		.n_vecs = 3,
		.ptr_handles = (uintptr_t)handles,
		.n_handles = 2,
		.ptr_fds = (uintptr_t)fds,
		.n_fds = n_fds,
	};

	for (i = 0; i < n_fds; i++)
		fds[i] = s->pipe[0];
	s->n_fds = n_fds;
	return ioctl(s->b, BUS1_CMD_SEND, &c) ? errno : 0;
}

static int recv_msg(int fd, struct bus1_cmd_recv *r)
{
	memset(r, 0, sizeof(*r));
	r->flags = BUS1_RECV_FLAG_INSTALL_FDS;
	r->max_offset = POOL;
	return ioctl(fd, BUS1_CMD_RECV, r) ? errno : 0;
}

/* the message of send_msg() arrived intact at @fd (mapped at @m) */
static void check_msg(struct st *s, int fd, const __u8 *m,
		      const struct bus1_cmd_recv *r, const char *what)
{
	const __s32 *fds;
	unsigned int i;

	if (r->msg.type != BUS1_MSG_DATA || r->msg.n_bytes != PAYLOAD ||
	    r->msg.n_handles != 2 || r->msg.n_fds != s->n_fds) {
		fail("%s: type %llu bytes %llu handles %llu fds %llu", what,
		     (unsigned long long)r->msg.type,
		     (unsigned long long)r->msg.n_bytes,
		     (unsigned long long)r->msg.n_handles,
		     (unsigned long long)r->msg.n_fds);
		return;
	}
	if (memcmp(m + r->msg.offset, s->payload, PAYLOAD))
		fail("%s: payload corrupt", what);
	fds = (const __s32 *)(m + r->msg.offset + PAYLOAD + 4 + 16);
	for (i = 0; i < s->n_fds; i++) {
		if (fcntl(fds[i], F_GETFD) < 0)
			fail("%s: installed fd %d not open", what, fds[i]);
		else
			close(fds[i]);
	}
	if (ioctl(fd, BUS1_CMD_SLICE_RELEASE, &r->msg.offset))
		fail("%s: SLICE_RELEASE: %s", what, strerror(errno));
}

/* exactly @n intact messages are queued on @fd */
static void expect_n(struct st *s, int fd, const __u8 *m, int n,
		     const char *what)
{
	struct bus1_cmd_recv r;
	int e;

	while (n-- > 0) {
		e = recv_msg(fd, &r);
		if (e) {
			fail("%s: message missing (RECV %s)", what,
			     strerror(e));
			return;
		}
		check_msg(s, fd, m, &r, what);
	}
	e = recv_msg(fd, &r);
	if (e != EAGAIN)
		fail("%s: second RECV: %s (type %llu), want EAGAIN", what,
		     e ? strerror(e) : "ok", (unsigned long long)r.msg.type);
}

/* --- scenario ------------------------------------------------------------- */

enum {
	S_OPEN, S_MMAP, S_TRANSFER, S_SEND, S_MULTICAST, S_RECV, S_SRELEASE,
	S_DESTROY, S_HRELEASE, S_QUERY, S_RESET, S_DISCONNECT, S_CLOSE,
	S_COUNT,
};

static const char *const step_names[S_COUNT] = {
	"open", "mmap", "HANDLE_TRANSFER (new node)", "SEND (payload, handles, fd)",
	"SEND multicast (5 fds: arrays allocated)", "RECV (INSTALL_FDS)", "SLICE_RELEASE",
	"NODES_DESTROY", "HANDLE_RELEASE", "PEER_QUERY", "PEER_RESET (FLUSH)",
	"PEER_DISCONNECT", "close",
};

/* errnos a step may return under injection (besides 0) */
static const int ok_errs[S_COUNT][6] = {
	[S_OPEN] = { ENOMEM, ENFILE, EMFILE, EFAULT },
	[S_MMAP] = { ENOMEM, EAGAIN },
	[S_TRANSFER] = { ENOMEM, EFAULT, EDQUOT },
	[S_SEND] = { ENOMEM, EFAULT, EXFULL },
	[S_MULTICAST] = { ENOMEM, EFAULT, EXFULL },
	[S_RECV] = { ENOMEM, EFAULT, EMFILE },
	[S_SRELEASE] = { EFAULT },
	[S_DESTROY] = { ENOMEM, EFAULT },
	[S_HRELEASE] = { EFAULT },
	[S_QUERY] = { EFAULT },
	[S_RESET] = { EFAULT },
	[S_DISCONNECT] = { 0 },
	[S_CLOSE] = { 0 },
};

/*
 * Steps whose path has no injectable point: they allocate nothing and read
 * their argument with get_user(), which fail_usercopy does not cover. Any
 * other step without a fault point fails.
 */
static const char *const no_point_why[S_COUNT] = {
	[S_SRELEASE] = "no allocation; the offset is read with get_user()",
	[S_HRELEASE] = "no allocation; the ID is read with get_user()",
	[S_DISCONNECT] = "no allocation and no user copy",
	[S_CLOSE] = "no allocation and no user copy",
};

static void st_clear(struct st *s)
{
	s->a = -1;
	s->b = -1;
	s->c = -1;
	s->pipe[0] = -1;
	s->pipe[1] = -1;
	s->ma = NULL;
	s->mc = NULL;
}

static void teardown(struct st *s)
{
	if (s->ma && s->ma != MAP_FAILED)
		munmap((void *)s->ma, POOL);
	if (s->mc && s->mc != MAP_FAILED)
		munmap((void *)s->mc, POOL);
	if (s->a >= 0)
		close(s->a);
	if (s->b >= 0)
		close(s->b);
	if (s->c >= 0)
		close(s->c);
	if (s->pipe[0] >= 0)
		close(s->pipe[0]);
	if (s->pipe[1] >= 0)
		close(s->pipe[1]);
	st_clear(s);
}

/* everything before @step, without injection; false on setup failure */
static bool setup(struct st *s, int step)
{
	struct bus1_cmd_recv r;
	unsigned int i;
	__u64 d;

	memset(s, 0, sizeof(*s));
	st_clear(s);
	for (i = 0; i < PAYLOAD; i++)
		s->payload[i] = (__u8)(i * 31 + 7);
	if (pipe2(s->pipe, O_CLOEXEC))
		return false;
	if (step == S_OPEN)
		return true;
	s->a = open_peer();
	s->b = open_peer();
	s->c = open_peer();
	if (s->a < 0 || s->b < 0 || s->c < 0)
		return false;
	if (step == S_MMAP)
		return true;
	s->ma = mmap(NULL, POOL, PROT_READ, MAP_SHARED, s->a, 0);
	s->mc = mmap(NULL, POOL, PROT_READ, MAP_SHARED, s->c, 0);
	if (s->ma == MAP_FAILED || s->mc == MAP_FAILED)
		return false;
	if (step == S_TRANSFER)
		return true;
	if (xfer(s->a, NODE_A, s->b, &s->hb) ||
	    xfer(s->c, NODE_C, s->b, &s->hc) ||
	    xfer(s->c, NODE_C2, s->b, &s->hc2))
		return false;
	if (step <= S_MULTICAST || step == S_QUERY)
		return true;
	d = s->hb;
	if (send_msg(s, &d, 1, 1))
		return false;
	if (step == S_RECV)
		return true;
	if (recv_msg(s->a, &r))
		return false;
	if (r.msg.n_fds == 1)
		close(((const __s32 *)(s->ma + r.msg.offset + PAYLOAD + 4 +
				       16))[0]);
	if (step == S_SRELEASE) {
		s->slice = r.msg.offset;
		return true;
	}
	if (step == S_HRELEASE)
		s->pre = read_info(s->b, "bus1-handles");
	return !ioctl(s->a, BUS1_CMD_SLICE_RELEASE, &r.msg.offset);
}

/* the step itself: exactly the syscall under injection; returns errno */
static int run_step(struct st *s, int step)
{
	struct bus1_cmd_nodes_destroy nd = { 0 };
	struct bus1_cmd_peer_reset q = { 0 };
	struct bus1_cmd_recv r;
	__u64 d[3], id, node = NODE_A;
	void *p;
	int fd, e;

	switch (step) {
	case S_OPEN:
		fd = open_peer();
		return fd < 0 ? errno : (s->a = fd, 0);
	case S_MMAP:
		p = mmap(NULL, POOL, PROT_READ, MAP_SHARED, s->a, 0);
		if (p == MAP_FAILED)
			return errno;
		s->ma = p;
		return 0;
	case S_TRANSFER:
		return xfer(s->a, NODE_A, s->b, &s->hb);
	case S_SEND:
		d[0] = s->hb;
		return send_msg(s, d, 1, 1);
	case S_MULTICAST:
		d[0] = s->hb;
		d[1] = s->hc;
		d[2] = s->hc2;
		return send_msg(s, d, 3, WIDE_FDS);
	case S_RECV:
		e = recv_msg(s->a, &r);
		if (!e)
			check_msg(s, s->a, s->ma, &r, "RECV under injection");
		return e;
	case S_SRELEASE:
		id = s->slice;
		return ioctl(s->a, BUS1_CMD_SLICE_RELEASE, &id) ? errno : 0;
	case S_DESTROY:
		nd.ptr_nodes = (uintptr_t)&node;
		nd.n_nodes = 1;
		return ioctl(s->a, BUS1_CMD_NODES_DESTROY, &nd) ? errno : 0;
	case S_HRELEASE:
		id = s->hb;
		return ioctl(s->b, BUS1_CMD_HANDLE_RELEASE, &id) ? errno : 0;
	case S_QUERY:
		return ioctl(s->a, BUS1_CMD_PEER_QUERY, &q) ? errno : 0;
	case S_RESET:
		q.flags = BUS1_PEER_RESET_FLAG_FLUSH;
		q.peer_flags = ~0ULL;
		memset(&q.max_slices, 0xff, 4 * sizeof(__u32));
		return ioctl(s->a, BUS1_CMD_PEER_RESET, &q) ? errno : 0;
	case S_DISCONNECT:
		return ioctl(s->b, BUS1_CMD_PEER_DISCONNECT, 0) ? errno : 0;
	case S_CLOSE:
		e = close(s->b) ? errno : 0;
		s->b = -1;
		return e;
	}
	fail("unknown step %d", step);
	return 0;
}

/* after an injected failure (e != 0): no effect, and a retry works */
static void check_after(struct st *s, int step, int e)
{
	struct bus1_cmd_recv r;
	int e2;

	switch (step) {
	case S_OPEN:
	case S_MMAP:
	case S_QUERY:
	case S_CLOSE:
		break;
	case S_TRANSFER:
		if (e) {
			want_info(s->a, "bus1-nodes", 0, "failed TRANSFER");
			want_info(s->b, "bus1-handles", 0, "failed TRANSFER");
			e2 = run_step(s, step);
			if (e2)
				fail("TRANSFER retry: %s", strerror(e2));
		}
		want_info(s->a, "bus1-nodes", 1, "TRANSFER");
		want_info(s->b, "bus1-handles", 1, "TRANSFER");
		break;
	case S_SEND:
	case S_MULTICAST:
		if (e) {
			want_info(s->a, "bus1-queued", 0, "failed SEND");
			want_info(s->c, "bus1-queued", 0, "failed SEND");
			want_info(s->b, "bus1-nodes", 0,
				  "failed SEND (provisional node)");
			e2 = run_step(s, step);
			if (e2) {
				fail("SEND retry: %s", strerror(e2));
				break;
			}
		}
		expect_n(s, s->a, s->ma, 1, "SEND to A");
		if (step == S_MULTICAST)
			expect_n(s, s->c, s->mc, 2, "multicast SEND to C");
		break;
	case S_RECV:
		if (!e)
			break;
		e2 = recv_msg(s->a, &r);
		if (e2) {
			fail("message lost after RECV failed with %s (%s)",
			     strerror(e), strerror(e2));
		} else {
			check_msg(s, s->a, s->ma, &r, "RECV retry");
			if (recv_msg(s->a, &r) != EAGAIN)
				fail("message duplicated after failed RECV");
		}
		break;
	case S_SRELEASE:
		if (e) {
			e2 = run_step(s, step);
			if (e2)
				fail("SLICE_RELEASE retry: %s", strerror(e2));
		}
		want_info(s->a, "bus1-pool-slices", 0, "SLICE_RELEASE");
		break;
	case S_DESTROY:
		if (e) {
			want_info(s->b, "bus1-queued", 0, "failed DESTROY");
			want_info(s->a, "bus1-nodes", 1, "failed DESTROY");
			e2 = run_step(s, step);
			if (e2)
				fail("DESTROY retry: %s", strerror(e2));
		}
		want_info(s->b, "bus1-queued", 1, "DESTROY notification");
		break;
	case S_HRELEASE:
		if (e) {
			e2 = run_step(s, step);
			if (e2)
				fail("HANDLE_RELEASE retry: %s", strerror(e2));
		}
		want_info(s->b, "bus1-handles", s->pre - 1, "HANDLE_RELEASE");
		break;
	case S_RESET:
		if (e) {
			e2 = run_step(s, step);
			if (e2)
				fail("PEER_RESET retry: %s", strerror(e2));
		}
		want_info(s->a, "bus1-nodes", 0, "PEER_RESET");
		want_info(s->a, "bus1-handles", 0, "PEER_RESET");
		if (read_info(s->b, "bus1-queued") < 1)
			fail("PEER_RESET: no NODE_DESTROY queued on B");
		break;
	case S_DISCONNECT:
		want_info(s->b, "bus1-handles", 0, "DISCONNECT");
		want_info(s->b, "bus1-queued", 0, "DISCONNECT");
		break;
	}
}

static bool errno_ok(int step, int e)
{
	unsigned int i;

	if (!e)
		return true;
	for (i = 0; i < ARRAY_SIZE(ok_errs[step]) && ok_errs[step][i]; i++)
		if (ok_errs[step][i] == e)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	unsigned int step, n, tn = 0, bad = 0, i;
	struct st s;

	if (argc > 1)
		dev = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..%d\n", S_COUNT);
	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (nth_fd < 0 || access("/sys/kernel/debug/failslab", F_OK)) {
		for (step = 0; step < S_COUNT; step++)
			printf("ok %u %s # SKIP no fail-nth or failslab\n",
			       step + 1, step_names[step]);
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(knobs); i++) {
		char now[32];

		rfile(knobs[i][0], saved[i], sizeof(saved[i]));
		if (!wfile(knobs[i][0], knobs[i][1])) {
			rfile(knobs[i][0], now, sizeof(now));
			if (!strcmp(now, knobs[i][1]))
				continue;
		} else {
			snprintf(now, sizeof(now), "%s", strerror(errno));
		}
		knob_errors++;
		printf("# knob %s: cannot set to %s (now: %s)\n", knobs[i][0],
		       knobs[i][1], now);
	}

	for (step = 0; step < S_COUNT; step++) {
		unsigned int points = 0;

		failures = 0;
		if (knob_errors)
			fail("%u fault-injection knobs not set (see above)",
			     knob_errors);
		for (n = 1; n <= MAX_NTH; n++) {
			bool injected;
			int e;

			if (!setup(&s, step)) {
				fail("setup failed without injection: %s",
				     strerror(errno));
				teardown(&s);
				break;
			}
			set_nth(n);
			e = run_step(&s, step);
			injected = nth_done();
			if (!injected) {
				if (e)
					fail("step fails without injection: %s",
					     strerror(e));
				check_after(&s, step, e);
				teardown(&s);
				break;
			}
			points++;
			injected_total++;
			if (!errno_ok(step, e))
				fail("fault point %u: errno %s not allowed", n,
				     strerror(e));
			else if (step != S_OPEN && step != S_MMAP)
				check_after(&s, step, e);
			teardown(&s);
			if (failures > 20)
				break;
		}
		if (n > MAX_NTH && failures <= 20)
			fail("more than %d fault points?", MAX_NTH);
		if (!points && !no_point_why[step])
			fail("no fault point fired: the injection does not reach this step");
		tn++;
		if (failures)
			bad++;
		if (!failures && !points)
			printf("ok %u %s # SKIP no fault point: %s\n", tn,
			       step_names[step], no_point_why[step]);
		else
			printf("%sok %u %s: %u fault points, each failed once%s\n",
			       failures ? "not " : "", tn, step_names[step],
			       points, failures ? " (violations above)" :
			       ", all clean");
	}
	for (i = 0; i < ARRAY_SIZE(knobs); i++)
		if (saved[i][0])
			wfile(knobs[i][0], saved[i]);
	printf("# bus1-failnth: %llu faults injected\n", injected_total);
	return bad ? 1 : 0;
}
