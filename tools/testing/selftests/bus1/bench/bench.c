// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-bench-run - the measurements behind `make bench` (driver: bus1-bench)
 *
 *   bus1-bench-run                  sections 1, 2, 3 and 5, with the targets
 *                                   of issue 18; exit 1 if a measurement is
 *                                   invalid (round-trip context switches off
 *                                   the expected pattern, see README.md)
 *   bus1-bench-run --only unicast|multicast|roundtrip|memory
 *                                   one section (after the RECV probe)
 *   bus1-bench-run --roundtrip WARMUP ITERS REPS
 *                                   section 3 with other run lengths
 *   bus1-bench-run --scaling [SECS] section 4 (needs >= 2 CPUs, no icount):
 *                                   pairs of one user and of two users
 *   bus1-bench-run --profile CASE N ITERS
 *                                   time CASE untraced, then run it ITERS
 *                                   times with function_graph tracing on
 *                                   (CASE: unicast N=payload bytes, mcast
 *                                   N=destinations)
 *   bus1-bench-run --mloop ITERS N [jitter]
 *                                   ITERS multicasts of 64 B to N peers,
 *                                   drained (perf-profile.sh MCAST=N)
 *   bus1-bench-run --imports FILE   list the symbols a .ko imports
 *
 * bus1 is called the way a user of the running kernel would: with the RECV
 * extensions (RECV_FLAG_RELEASE, RECV_FLAG_WAIT, RECV_FLAG_SEND) if the
 * kernel has them, else with SEND/poll/RECV/SLICE_RELEASE; the first lines
 * say which.
 *
 * Under qemu -icount shift=0 one guest ns is one guest instruction, so all
 * figures are instruction counts (see README.md for what that hides).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/bus1.h>
#include "bench.h"

/* BUS1_RECV_FLAG_RELEASE, _WAIT and _SEND: the RECV extensions of bus1(7) */

#define POOL_MAP	(16UL * 1024 * 1024)
#define NODE_ID		0x100ULL	/* user-chosen node ID (bits 0/1 clear) */
#define REPS		7		/* repetitions; the median is reported */
#define MAX_DESTS	256
#define SLICES_PARAM	"/sys/module/bus1/parameters/user_slices_max"
#define TRACEFS		"/sys/kernel/tracing/"

static char *payload;		/* MAX_PAYLOAD bytes, sender side */
static char *rbuf;		/* MAX_PAYLOAD bytes, AF_UNIX receive buffer */
#define MAX_PAYLOAD	(1024 * 1024)

static unsigned int n_pass, n_miss, n_fail;

/* what the kernel supports (probe_recv_ext()) */
static bool ext_release, ext_wait, ext_send;

/* round trips: warm-up, then RT_REPS timed repetitions of RT_ITERS */
#define RT_WARMUP	6000
#define RT_ITERS	9000
#define RT_REPS		5
static unsigned int rt_warmup = RT_WARMUP, rt_iters = RT_ITERS,
		    rt_reps = RT_REPS;

/* ---- generic helpers ------------------------------------------------------ */

void bench_die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "bus1-bench: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

u64 bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* least-squares slope of y over x */
static double slope(const double *x, const double *y, size_t n)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0;
	size_t i;

	for (i = 0; i < n; ++i) {
		sx += x[i];
		sy += y[i];
		sxx += x[i] * x[i];
		sxy += x[i] * y[i];
	}
	return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

/* one target line: @what, @detail (figures, baseline), ratio, target, verdict */
static void verdict_ratio(const char *what, const char *detail, double ratio,
			  double target, bool le)
{
	bool ok = le ? ratio <= target : ratio >= target;

	printf("%-34s %-34s %6.3fx %s %.2fx %s\n", what, detail, ratio,
	       le ? "<=" : ">=", target, ok ? "PASS" : "MISS");
	if (ok)
		n_pass++;
	else
		n_miss++;
}

/* a target line for @fig against @base of the baseline named @base_name */
static void verdict(const char *what, double fig, const char *base_name,
		    double base, double target, bool le)
{
	char detail[96];

	snprintf(detail, sizeof(detail), "%.0f vs %s %.0f", fig, base_name,
		 base);
	verdict_ratio(what, detail, fig / base, target, le);
}

static void write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		bench_die("writing '%s' to %s: %m", val, path);
	close(fd);
}

static void raise_nofile(void)
{
	struct rlimit r = { 8192, 8192 };

	if (setrlimit(RLIMIT_NOFILE, &r))
		bench_die("setrlimit(NOFILE): %m");
}

/* ---- bus1 ------------------------------------------------------------------ */

struct peer {
	int fd;
	const void *pool;
	u64 held;	/* slice of the last message, released by the next RECV */
};

static void peer_open(struct peer *p, bool map)
{
	p->fd = open("/dev/bus1", O_RDWR | O_CLOEXEC);
	if (p->fd < 0)
		bench_die("open /dev/bus1: %m");
	p->pool = NULL;
	p->held = BUS1_OFFSET_INVALID;
	if (map) {
		p->pool = mmap(NULL, POOL_MAP, PROT_READ, MAP_SHARED, p->fd, 0);
		if (p->pool == MAP_FAILED)
			bench_die("mmap pool: %m");
	}
}

static void peer_close(struct peer *p)
{
	if (p->pool)
		munmap((void *)p->pool, POOL_MAP);
	close(p->fd);
}

/* create node NODE_ID on @owner, give @holder a handle; returns its ID */
static u64 node_to(struct peer *owner, struct peer *holder)
{
	struct bus1_cmd_handle_transfer t = {
		.src_handle = NODE_ID,
		.dst_fd = holder->fd,
		.dst_handle = BUS1_HANDLE_INVALID,
	};

	if (ioctl(owner->fd, BUS1_CMD_HANDLE_TRANSFER, &t))
		bench_die("HANDLE_TRANSFER: %m");
	return t.dst_handle;
}

static int b1_send(int fd, const u64 *dests, size_t n, size_t len)
{
	struct iovec v = { .iov_base = payload, .iov_len = len };
	struct bus1_cmd_send s = {
		.ptr_destinations = (uintptr_t)dests,
		.n_destinations = n,
		.ptr_vecs = (uintptr_t)&v,
		.n_vecs = len ? 1 : 0,
	};

	return ioctl(fd, BUS1_CMD_SEND, &s);
}

static void b1_send_or_die(int fd, const u64 *dests, size_t n, size_t len)
{
	if (b1_send(fd, dests, n, len))
		bench_die("SEND (%zu dests, %zu B): %m", n, len);
}

static void b1_check_data(const struct bus1_cmd_recv *r, size_t len)
{
	if (r->msg.type != BUS1_MSG_DATA || r->msg.n_bytes != len)
		bench_die("RECV: type %llu, %llu bytes (expected %zu)",
			  (unsigned long long)r->msg.type,
			  (unsigned long long)r->msg.n_bytes, len);
}

static void b1_slice_release(int fd, u64 offset)
{
	if (ioctl(fd, BUS1_CMD_SLICE_RELEASE, &offset))
		bench_die("SLICE_RELEASE: %m");
}

/*
 * Receive one DATA message of @len bytes on @p as a user of this kernel
 * would. With RECV_FLAG_RELEASE the slice of the previous message (which
 * its reader keeps until it is done, i.e. until the next RECV) is released
 * in the same call and the new one is kept; without, SLICE_RELEASE follows
 * RECV. @wait (only if ext_wait): block in RECV until a message is ready.
 */
static void b1_recv(struct peer *p, size_t len, bool wait)
{
	struct bus1_cmd_recv r = { .max_offset = POOL_MAP };

	if (wait)
		r.flags |= BUS1_RECV_FLAG_WAIT;
	if (p->held != BUS1_OFFSET_INVALID) {
		r.flags |= BUS1_RECV_FLAG_RELEASE;
		r.msg.offset = p->held;
		p->held = BUS1_OFFSET_INVALID;
	}
	if (ioctl(p->fd, BUS1_CMD_RECV, &r))
		bench_die("RECV (flags 0x%llx): %m", (unsigned long long)r.flags);
	b1_check_data(&r, len);
	if (ext_release)
		p->held = r.msg.offset;
	else
		b1_slice_release(p->fd, r.msg.offset);
}

/* release the slice @p still keeps, if any */
static void b1_release_held(struct peer *p)
{
	if (p->held == BUS1_OFFSET_INVALID)
		return;
	b1_slice_release(p->fd, p->held);
	p->held = BUS1_OFFSET_INVALID;
}

static void probe_alarm(int sig)
{
	static const char m[] =
		"bus1-bench: error: probe: RECV_FLAG_WAIT blocked with a message queued\n";

	(void)sig;
	if (write(2, m, sizeof(m) - 1) < 0)
		_exit(1);
	_exit(1);
}

/* RECV with @flags on @p; returns 0 or the errno */
static int b1_recv_raw(struct peer *p, u64 flags, u64 offset,
		       struct bus1_cmd_recv *r)
{
	*r = (struct bus1_cmd_recv){ .flags = flags, .max_offset = POOL_MAP };
	r->msg.offset = offset;
	return ioctl(p->fd, BUS1_CMD_RECV, r) ? errno : 0;
}

/*
 * RECV with RECV_FLAG_SEND: run the SEND at @s (NULL: none) on @p, then
 * receive as b1_recv() does. Returns 0 or the errno.
 */
static int b1_send_recv_raw(struct peer *p, struct bus1_cmd_send *s,
			    u64 flags, struct bus1_cmd_recv *r)
{
	*r = (struct bus1_cmd_recv){
		.flags = flags | BUS1_RECV_FLAG_SEND, .max_offset = POOL_MAP,
	};
	r->msg.destination = (uintptr_t)s;
	r->msg.offset = p->held;
	if (p->held != BUS1_OFFSET_INVALID)
		r->flags |= BUS1_RECV_FLAG_RELEASE;
	p->held = BUS1_OFFSET_INVALID;
	return ioctl(p->fd, BUS1_CMD_RECV, r) ? errno : 0;
}

/*
 * RECV_FLAG_SEND: an unknown flag is EINVAL; a kernel that has it sends
 * (from @a to @b's node @dst) and then finds @a's queue empty: EAGAIN with
 * msg.destination 0 (the SEND happened), and the message is on @b.
 */
static void probe_recv_send(struct peer *a, struct peer *b, u64 dst)
{
	struct iovec v = { .iov_base = payload, .iov_len = 0 };
	struct bus1_cmd_send s = {
		.ptr_destinations = (uintptr_t)&dst, .n_destinations = 1,
		.ptr_vecs = (uintptr_t)&v,
	};
	struct bus1_cmd_recv r;
	int e;

	a->held = BUS1_OFFSET_INVALID;
	e = b1_send_recv_raw(a, &s, 0, &r);
	if (e == EINVAL)
		return;
	if (e != EAGAIN || r.msg.destination)
		bench_die("probe: RECV(SEND), empty queue: %s, destination %llu (want EAGAIN, 0)",
			  strerror(e), (unsigned long long)r.msg.destination);
	e = b1_recv_raw(b, 0, 0, &r);
	if (e)
		bench_die("probe: RECV(SEND) sent nothing: %s", strerror(e));
	b1_check_data(&r, 0);
	b1_slice_release(b->fd, r.msg.offset);
	ext_send = true;
}

/*
 * Find out whether the kernel has the RECV extensions: an unknown RECV
 * flag is EINVAL. RELEASE is probed on an empty peer with an offset that
 * is not published (supported: ENXIO from the release part); WAIT with a
 * message queued, so that a kernel that has it cannot block. Where the
 * extensions are there, check the semantics the bench relies on: the
 * released slice is gone, also when the receive part finds nothing.
 */
static void probe_recv_ext(bool verbose)
{
	struct bus1_cmd_recv r;
	struct peer a, b;
	u64 dst, first;
	int e;

	peer_open(&a, true);
	peer_open(&b, true);
	e = b1_recv_raw(&b, BUS1_RECV_FLAG_RELEASE, 0, &r);
	if (e != EINVAL && e != ENXIO)
		bench_die("probe: RECV(RELEASE) of 0 on an empty peer: %s (not EINVAL/ENXIO)",
			  strerror(e));
	ext_release = e == ENXIO;

	dst = node_to(&b, &a);
	b1_send_or_die(a.fd, &dst, 1, 0);
	b1_send_or_die(a.fd, &dst, 1, 0);
	signal(SIGALRM, probe_alarm);
	alarm(10);
	e = b1_recv_raw(&b, BUS1_RECV_FLAG_WAIT, 0, &r);
	alarm(0);
	signal(SIGALRM, SIG_DFL);
	if (e == EINVAL)
		e = b1_recv_raw(&b, 0, 0, &r);
	else
		ext_wait = true;
	if (e)
		bench_die("probe: RECV: %s", strerror(e));
	b1_check_data(&r, 0);
	first = r.msg.offset;
	if (ext_release) {
		e = b1_recv_raw(&b, BUS1_RECV_FLAG_RELEASE, first, &r);
		if (e)
			bench_die("probe: RECV(RELEASE) with a message queued: %s",
				  strerror(e));
		b1_check_data(&r, 0);
		if (ioctl(b.fd, BUS1_CMD_SLICE_RELEASE, &first) != -1 ||
		    errno != ENXIO)
			bench_die("probe: RECV(RELEASE) did not release the slice");
		first = r.msg.offset;
		e = b1_recv_raw(&b, BUS1_RECV_FLAG_RELEASE, first, &r);
		if (e != EAGAIN)
			bench_die("probe: RECV(RELEASE) on an empty queue: %s (expected EAGAIN)",
				  strerror(e));
		if (ioctl(b.fd, BUS1_CMD_SLICE_RELEASE, &first) != -1 ||
		    errno != ENXIO)
			bench_die("probe: RECV(RELEASE) with EAGAIN did not release the slice");
	}
	probe_recv_send(&a, &b, dst);
	peer_close(&a);
	peer_close(&b);
	if (!verbose)
		return;
	printf("# RECV extensions: RELEASE %s, WAIT %s, SEND %s\n",
	       ext_release ? "yes" : "no (EINVAL)",
	       ext_wait ? "yes" : "no (EINVAL)",
	       ext_send ? "yes" : "no (EINVAL)");
	printf("# bus1 message path: %s\n", ext_release ?
	       "SEND + RECV(RELEASE previous slice)" :
	       "fallback SEND + RECV + SLICE_RELEASE");
	printf("# bus1 round trip:   %s\n", ext_send && ext_wait ?
	       "client RECV(SEND|WAIT|RELEASE); server RECV(SEND previous reply|WAIT|RELEASE)" :
	       ext_wait ?
	       "client SEND, RECV(WAIT|RELEASE); server RECV(WAIT|RELEASE), SEND" :
	       "fallback: SEND, poll, RECV(+release as above)");
}

/* ---- AF_UNIX ------------------------------------------------------------------ */

static void unix_pair(int sv[2])
{
	int sz = 8 * 1024 * 1024;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		bench_die("socketpair: %m");
	/* room for one 1 MiB datagram (root: the *FORCE variants) */
	if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) ||
	    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
		bench_die("SO_SNDBUFFORCE: %m");
}

static void unix_send(int fd, size_t len)
{
	if (send(fd, payload, len, 0) != (ssize_t)len)
		bench_die("AF_UNIX send %zu: %m", len);
}

static void unix_recv(int fd, size_t len)
{
	if (recv(fd, rbuf, MAX_PAYLOAD, 0) != (ssize_t)len)
		bench_die("AF_UNIX recv %zu: %m", len);
}

/* ---- 1. unicast ------------------------------------------------------------ */

struct unicast {
	struct peer a, b;
	u64 dst;
	int sv[2];
	size_t len;
};

static void unicast_setup(struct unicast *u, size_t len)
{
	peer_open(&u->a, true);
	peer_open(&u->b, true);
	u->dst = node_to(&u->b, &u->a);
	unix_pair(u->sv);
	u->len = len;
}

static void unicast_teardown(struct unicast *u)
{
	peer_close(&u->a);
	peer_close(&u->b);
	close(u->sv[0]);
	close(u->sv[1]);
}

static void bus1_unicast_loop(struct unicast *u, unsigned int n)
{
	while (n--) {
		b1_send_or_die(u->a.fd, &u->dst, 1, u->len);
		b1_recv(&u->b, u->len, false);
	}
}

static void unix_unicast_loop(struct unicast *u, unsigned int n)
{
	while (n--) {
		unix_send(u->sv[0], u->len);
		unix_recv(u->sv[1], u->len);
	}
}

/* median over REPS repetitions of @iters calls, per call (after a warm-up) */
static double time_loop(void (*fn)(struct unicast *, unsigned int),
			struct unicast *u, unsigned int iters)
{
	double v[REPS];
	unsigned int i;

	fn(u, iters > 4 ? iters / 4 : 1);
	for (i = 0; i < REPS; ++i) {
		u64 t0 = bench_now();

		fn(u, iters);
		v[i] = (double)(bench_now() - t0) / iters;
	}
	return bench_median(v, REPS);
}

/* an ioctl number bus1 rejects with ENOTTY after its dispatch */
#define BENCH_NOP_IOCTL	_IO(0x96, 0xff)

/* as many rejected ioctls as the message path makes calls (2 or 3) */
static void floor_bus1_loop(struct unicast *u, unsigned int n)
{
	while (n--) {
		ioctl(u->a.fd, BENCH_NOP_IOCTL, 0);
		ioctl(u->a.fd, BENCH_NOP_IOCTL, 0);
		if (!ext_release)
			ioctl(u->a.fd, BENCH_NOP_IOCTL, 0);
	}
}

static void floor_syscall_loop(struct unicast *u, unsigned int n)
{
	(void)u;
	while (n--) {
		getppid();
		getppid();
	}
}

/*
 * What the calls cost before any work: a bus1 message takes two ioctls
 * with RECV_FLAG_RELEASE (three without), an AF_UNIX one two syscalls. The
 * bus1 figure includes the ioctl path of the kernel (fd lookup, the LSM
 * ioctl hook, do_vfs_ioctl) and bus1's own dispatch (active reference,
 * local lock).
 */
static void bench_floor(double b1_0, double unix_0)
{
	double f_b1, f_sys;
	struct unicast u;

	peer_open(&u.a, false);
	/* the floor is meaningless unless bus1 rejects the call at once */
	if (ioctl(u.a.fd, BENCH_NOP_IOCTL, 0) != -1 || errno != ENOTTY)
		bench_die("floor ioctl: expected ENOTTY, got %m");
	f_b1 = time_loop(floor_bus1_loop, &u, 200);
	f_sys = time_loop(floor_syscall_loop, &u, 200);
	peer_close(&u.a);
	printf("floor: %d ioctls bus1 rejects at dispatch %.0f, 2 getppid() %.0f\n",
	       ext_release ? 2 : 3, f_b1, f_sys);
	printf("above the floor at 0 B: bus1 %.0f, AF_UNIX %.0f (0.65x AF_UNIX leaves bus1 %.0f)\n",
	       b1_0 - f_b1, unix_0 - f_sys, 0.65 * unix_0 - f_b1);
}

static void bench_unicast(void)
{
	static const size_t sizes[] = { 0, 64, 1024, 16384, 65536, 1048576 };
	static const unsigned int iters[] = { 200, 200, 200, 50, 20, 4 };
	/* issue 18's targets; 0: no target, ratio printed as information */
	static const double target[] = { 0.65, 0, 0.50, 0, 0.37, 0 };
	double b[6], x[6];
	char what[64];
	unsigned int i;

	printf("\n## 1. unicast, one thread: bus1 %s vs AF_UNIX SOCK_SEQPACKET send+recv\n",
	       ext_release ? "SEND + RECV(RELEASE previous)" :
	       "SEND + RECV + SLICE_RELEASE");
	printf("%-10s %12s %12s %8s\n", "payload", "bus1", "AF_UNIX", "ratio");
	for (i = 0; i < 6; ++i) {
		struct unicast u;

		unicast_setup(&u, sizes[i]);
		b[i] = time_loop(bus1_unicast_loop, &u, iters[i]);
		x[i] = time_loop(unix_unicast_loop, &u, iters[i]);
		unicast_teardown(&u);
		printf("%-10zu %12.0f %12.0f %7.3fx\n", sizes[i], b[i], x[i],
		       b[i] / x[i]);
	}
	bench_floor(b[0], x[0]);
	for (i = 0; i < 6; ++i) {
		if (!target[i])
			continue;
		snprintf(what, sizeof(what), "unicast %zu B", sizes[i]);
		verdict(what, b[i], "AF_UNIX", x[i], target[i], true);
	}
}

/* ---- 2. multicast ---------------------------------------------------------- */

static void bench_multicast(void)
{
	static struct peer dst[MAX_DESTS];
	static int sv[MAX_DESTS][2];
	double xs[16], bs[16], bt[16], us[16], ut[16];
	u64 ids[MAX_DESTS];
	unsigned int n, k, i, j, npts = 0;
	struct peer src;
	struct unicast u;
	const size_t len = 64;
	double sb, tb, su, tu, plain;

	/* the baseline: one plain 64 B send()+recv() on one socket pair */
	unicast_setup(&u, len);
	plain = time_loop(unix_unicast_loop, &u, 200);
	unicast_teardown(&u);

	peer_open(&src, true);
	for (i = 0; i < MAX_DESTS; ++i) {
		peer_open(&dst[i], true);
		ids[i] = node_to(&dst[i], &src);
		unix_pair(sv[i]);
	}
	printf("\n## 2. multicast of %zu B to N destinations %s\n", len,
	       "(instructions per SEND / per SEND+drain)");
	printf("## bus1 drains with %s; AF_UNIX sends to N socket pairs and drains them\n",
	       ext_release ? "RECV(RELEASE previous)" : "RECV + SLICE_RELEASE");
	printf("%-6s %12s %12s %12s %12s\n", "N", "bus1 send", "bus1 total",
	       "unix send", "unix total");
	for (n = 1; n <= MAX_DESTS; n *= 2) {
		double vs[2][REPS], vt[2][REPS];
		unsigned int iters = n >= 64 ? 3 : 48 / n + 2;

		for (k = 0; k <= REPS; ++k) {
			double s = 0, t = 0, s2 = 0, t2 = 0;

			for (j = 0; j < iters; ++j) {
				u64 t0 = bench_now(), t1, t3;

				b1_send_or_die(src.fd, ids, n, len);
				t1 = bench_now();
				for (i = 0; i < n; ++i)
					b1_recv(&dst[i], len, false);
				t3 = bench_now();
				s += t1 - t0;
				t += t3 - t0;

				t0 = bench_now();
				for (i = 0; i < n; ++i)
					unix_send(sv[i][0], len);
				t1 = bench_now();
				for (i = 0; i < n; ++i)
					unix_recv(sv[i][1], len);
				t3 = bench_now();
				s2 += t1 - t0;
				t2 += t3 - t0;
			}
			if (!k)
				continue;	/* warm-up */
			vs[0][k - 1] = s / iters;
			vt[0][k - 1] = t / iters;
			vs[1][k - 1] = s2 / iters;
			vt[1][k - 1] = t2 / iters;
		}
		xs[npts] = n;
		bs[npts] = bench_median(vs[0], REPS);
		bt[npts] = bench_median(vt[0], REPS);
		us[npts] = bench_median(vs[1], REPS);
		ut[npts] = bench_median(vt[1], REPS);
		printf("%-6u %12.0f %12.0f %12.0f %12.0f\n", n, bs[npts],
		       bt[npts], us[npts], ut[npts]);
		npts++;
	}
	sb = slope(xs, bs, npts);
	tb = slope(xs, bt, npts);
	su = slope(xs, us, npts);
	tu = slope(xs, ut, npts);
	printf("slope per extra destination (least squares over N=1..%d):\n",
	       MAX_DESTS);
	printf("  bus1: send %.0f, total %.0f; AF_UNIX over N pairs: send %.0f, send+recv %.0f\n",
	       sb, tb, su, tu);
	printf("  (endpoints N=1->%d: bus1 send %.0f, total %.0f)\n", MAX_DESTS,
	       (bs[npts - 1] - bs[0]) / (MAX_DESTS - 1),
	       (bt[npts - 1] - bt[0]) / (MAX_DESTS - 1));
	printf("  baseline: plain AF_UNIX 64 B send()+recv() on one pair, this run: %.0f\n",
	       plain);
	verdict("multicast total per extra dest", tb, "AF_UNIX 64 B", plain,
		0.55, true);
	verdict("multicast sender per extra dest", sb, "AF_UNIX 64 B", plain,
		0.22, true);
	printf("%-34s %-34s %6.3fx (info: AF_UNIX's own slope)\n",
	       "multicast total per extra dest", "vs AF_UNIX over N pairs",
	       tb / tu);
	for (i = 0; i < MAX_DESTS; ++i) {
		peer_close(&dst[i]);
		close(sv[i][0]);
		close(sv[i][1]);
	}
	peer_close(&src);
}

/* ---- 3. round trip ------------------------------------------------------------ */

void bench_csw_now(struct bench_csw *c)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		bench_die("getrusage: %m");
	c->vol = ru.ru_nvcsw;
	c->invol = ru.ru_nivcsw;
}

void bench_rt_server_done(struct bench_rt *rt)
{
	char c;

	close(rt->quit[1]);
	if (read(rt->quit[0], &c, 1) < 0)
		_exit(4);
}

void bench_rt_client_done(struct bench_rt *rt)
{
	close(rt->quit[0]);
	close(rt->quit[1]);	/* EOF for the server */
}

static void wait_in(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, -1) != 1 || !(p.revents & POLLIN))
		if (p.revents & (POLLHUP | POLLERR))
			bench_die("poll: revents 0x%x", p.revents);
}

enum rt_kind {
	RT_B1,		/* bus1 as a blocking user: RECV(SEND|WAIT|RELEASE) */
	RT_B1_SPLIT,	/* the same with SEND and RECV(WAIT|RELEASE) apart */
	RT_B1_POLL,	/* bus1 in an event loop: poll, then RECV(RELEASE) */
	RT_UNIX,	/* AF_UNIX send + blocking recv */
	RT_UNIX_POLL,	/* AF_UNIX send, poll, recv */
	RT_BINDER,	/* BINDER_WRITE_READ */
	RT_KINDS
};

static const char *const rt_name[RT_KINDS] = {
	[RT_B1] = "bus1",
	[RT_B1_SPLIT] = "bus1, SEND apart from RECV",
	[RT_B1_POLL] = "bus1 + poll (event loop)",
	[RT_UNIX] = "AF_UNIX (blocking recv)",
	[RT_UNIX_POLL] = "AF_UNIX + poll",
	[RT_BINDER] = "Binder",
};

static struct bench_csw *rt_srv_shared;	/* MAP_SHARED, for the server */

/* one side's half of a bus1 round trip: wait for a message, receive it */
static void b1_rt_recv(struct peer *p, size_t len, bool poll_first)
{
	if (poll_first)
		wait_in(p->fd);
	b1_recv(p, len, !poll_first);
}

/*
 * One side's SEND of @len bytes to @dst and its wait for the next message
 * in one RECV(SEND|WAIT|RELEASE); @dst 0: nothing to send.
 */
static void b1_rt_send_recv(struct peer *p, u64 dst, size_t len)
{
	struct iovec v = { .iov_base = payload, .iov_len = len };
	struct bus1_cmd_send s = {
		.ptr_destinations = (uintptr_t)&dst,
		.n_destinations = 1,
		.ptr_vecs = (uintptr_t)&v,
		.n_vecs = len ? 1 : 0,
	};
	struct bus1_cmd_recv r;
	int e;

	e = b1_send_recv_raw(p, dst ? &s : NULL, BUS1_RECV_FLAG_WAIT, &r);
	if (e)
		bench_die("RECV(SEND|WAIT): %s", strerror(e));
	b1_check_data(&r, len);
	p->held = r.msg.offset;
}

/*
 * Ping-pong of @kind (not Binder): the child echoes every message; the
 * parent runs @rt's warm-up and timed repetitions. Both processes live
 * through all of it, as the two ends of a real connection would.
 */
static void pingpong(enum rt_kind kind, size_t len, struct bench_rt *rt)
{
	unsigned long total = rt->warmup + (unsigned long)rt->reps * rt->iters;
	bool b1 = kind == RT_B1 || kind == RT_B1_SPLIT || kind == RT_B1_POLL;
	bool pl = kind == RT_B1_POLL || kind == RT_UNIX_POLL ||
		  ((kind == RT_B1 || kind == RT_B1_SPLIT) && !ext_wait);
	/* one RECV(SEND|WAIT) per side and round trip */
	bool sr = kind == RT_B1 && ext_send && ext_wait;
	unsigned long i;
	unsigned int rep;
	struct peer c, s;
	u64 to_s = 0, to_c = 0;
	int sv[2], st;
	pid_t pid;

	if (b1) {
		peer_open(&c, true);
		peer_open(&s, true);
		to_s = node_to(&s, &c);
		to_c = node_to(&c, &s);
	} else {
		unix_pair(sv);
	}
	pid = fork();
	if (pid < 0)
		bench_die("fork: %m");
	if (!pid) {
		for (i = 0; i < total; ++i) {
			if (sr) {
				/* the reply to the last request goes with it */
				b1_rt_send_recv(&s, i ? to_c : 0, len);
			} else if (b1) {
				b1_rt_recv(&s, len, pl);
				b1_send_or_die(s.fd, &to_c, 1, len);
			} else {
				if (pl)
					wait_in(sv[1]);
				unix_recv(sv[1], len);
				unix_send(sv[1], len);
			}
			bench_rt_server_mark(rt, i + 1);
		}
		if (sr)
			b1_send_or_die(s.fd, &to_c, 1, len);
		bench_rt_server_done(rt);
		_exit(0);
	}
	for (rep = 0; rep <= rt->reps; ++rep) {
		unsigned int n = rep ? rt->iters : rt->warmup;
		u64 t0 = bench_now(), t1;

		for (i = 0; i < n; ++i) {
			if (sr) {
				b1_rt_send_recv(&c, to_s, len);
			} else if (b1) {
				b1_send_or_die(c.fd, &to_s, 1, len);
				b1_rt_recv(&c, len, pl);
			} else {
				unix_send(sv[0], len);
				if (pl)
					wait_in(sv[0]);
				unix_recv(sv[0], len);
			}
		}
		t1 = bench_now();
		bench_csw_now(&rt->cli[rep]);
		if (rep)
			rt->t[rep - 1] = (double)(t1 - t0) / n;
	}
	bench_rt_client_done(rt);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		bench_die("ping-pong child failed");
	if (b1) {
		peer_close(&c);
		peer_close(&s);
	} else {
		close(sv[0]);
		close(sv[1]);
	}
}

/*
 * The context switches of a ping-pong on one CPU (getrusage of each side,
 * per round trip). The client gives up the CPU once per round trip,
 * sleeping until the reply (1 voluntary, 0 involuntary). So does the
 * server, in one of two ways: it sleeps until the next request (voluntary),
 * or the client it wakes with its reply preempts it and it finds the next
 * request queued when it runs again (involuntary; it saves a sleep and a
 * wake-up). For a few thousand round trips after fork() every reply
 * preempts the server (involuntary 1.0; the new child's vruntime lags); in
 * the steady state that follows, bus1's and AF_UNIX's servers are preempted
 * by 1-4% of the replies and Binder's by ~58% (measured). Timing the
 * post-fork pattern would compare a schedule, not an IPC, so a run is
 * invalid (FAIL) unless in every timed repetition:
 *   client voluntary 1 +- CSW_TOL, involuntary <= CSW_TOL;
 *   server voluntary + involuntary 1 +- CSW_TOL, voluntary >= CSW_SRV_VOL
 *   (the post-fork pattern has none);
 * and no per-round-trip figure differs between repetitions by more than
 * CSW_DRIFT_MAX, and no repetition's instructions per round trip by more
 * than INSTR_DRIFT_MAX from the median.
 */
#define CSW_TOL		0.01
#define CSW_SRV_VOL	0.25
#define CSW_DRIFT_MAX	0.03
#define INSTR_DRIFT_MAX	0.01

struct rt_row {
	bool done;
	double instr;		/* median per round trip */
	/* per round trip, mean over reps: client vol/invol, server vol/invol */
	double csw[4];
	bool csw_ok;
};

static bool rt_csw(const struct bench_rt *rt, double median, double mean[4],
		   char *why, size_t whylen)
{
	double lo[4], hi[4], f[4];
	unsigned int r, k;
	bool ok = true;

	for (k = 0; k < 4; ++k) {
		mean[k] = 0;
		lo[k] = 1e9;
		hi[k] = -1e9;
	}
	why[0] = 0;
	for (r = 1; r <= rt->reps; ++r) {
		f[0] = rt->cli[r].vol - rt->cli[r - 1].vol;
		f[1] = rt->cli[r].invol - rt->cli[r - 1].invol;
		f[2] = rt->srv[r].vol - rt->srv[r - 1].vol;
		f[3] = rt->srv[r].invol - rt->srv[r - 1].invol;
		for (k = 0; k < 4; ++k) {
			f[k] /= rt->iters;
			mean[k] += f[k] / rt->reps;
			lo[k] = f[k] < lo[k] ? f[k] : lo[k];
			hi[k] = f[k] > hi[k] ? f[k] : hi[k];
		}
		if (ok && (f[0] < 1 - CSW_TOL || f[0] > 1 + CSW_TOL ||
			   f[1] > CSW_TOL ||
			   f[2] + f[3] < 1 - CSW_TOL ||
			   f[2] + f[3] > 1 + CSW_TOL || f[2] < CSW_SRV_VOL)) {
			snprintf(why, whylen,
				 "rep %u: client %.3f/%.3f, server %.3f/%.3f vol/invol per round trip",
				 r, f[0], f[1], f[2], f[3]);
			ok = false;
		}
		if (ok && (rt->t[r - 1] > median * (1 + INSTR_DRIFT_MAX) ||
			   rt->t[r - 1] < median * (1 - INSTR_DRIFT_MAX))) {
			snprintf(why, whylen,
				 "rep %u: %.0f instructions per round trip, median %.0f",
				 r, rt->t[r - 1], median);
			ok = false;
		}
	}
	for (k = 0; ok && k < 4; ++k) {
		if (hi[k] - lo[k] > CSW_DRIFT_MAX) {
			snprintf(why, whylen,
				 "%s %s per round trip drifts %.3f..%.3f across reps",
				 k < 2 ? "client" : "server",
				 k % 2 ? "invol" : "vol", lo[k], hi[k]);
			ok = false;
		}
	}
	return ok;
}

static void rt_run(enum rt_kind kind, size_t len, struct rt_row *row)
{
	struct bench_rt rt = {
		.warmup = rt_warmup, .iters = rt_iters, .reps = rt_reps,
		.srv = rt_srv_shared,
	};
	double v[BENCH_RT_MAX_REPS];
	char why[128];
	unsigned int i;
	int r = 0;

	memset(rt.srv, 0, sizeof(*rt.srv) * (BENCH_RT_MAX_REPS + 1));
	if (pipe2(rt.quit, O_CLOEXEC))
		bench_die("pipe: %m");
	if (kind == RT_BINDER)
		r = binder_pingpong(len, &rt);
	else
		pingpong(kind, len, &rt);
	if (r) {
		close(rt.quit[0]);
		close(rt.quit[1]);
		row->done = false;
		printf("%-10zu %-28s %10s  (binder unavailable: %s)\n", len,
		       rt_name[kind], "n/a", strerror(-r));
		return;
	}
	memcpy(v, rt.t, sizeof(v));
	row->done = true;
	row->instr = bench_median(v, rt.reps);
	row->csw_ok = rt_csw(&rt, row->instr, row->csw, why, sizeof(why));
	printf("%-10zu %-28s %10.0f  %6.3f %6.3f  %6.3f %6.3f  %s\n", len,
	       rt_name[kind], row->instr, row->csw[0], row->csw[1],
	       row->csw[2], row->csw[3], row->csw_ok ? "ok" : "FAIL");
	printf("#   per rep: instr/RT");
	for (i = 0; i < rt.reps; ++i)
		printf(" %.0f", rt.t[i]);
	printf("; server invol/RT");
	for (i = 1; i <= rt.reps; ++i)
		printf(" %.3f", (double)(rt.srv[i].invol - rt.srv[i - 1].invol) /
		       rt.iters);
	printf("\n");
	if (!row->csw_ok) {
		printf("FAIL: %zu B %s: %s\n", len, rt_name[kind], why);
		n_fail++;
	}
}

static void rt_verdict(size_t len, const struct rt_row *b,
		       const struct rt_row *base, enum rt_kind bk,
		       double target)
{
	char what[64];

	snprintf(what, sizeof(what), "round trip %zu B", len);
	if (!base->done) {
		printf("%-34s %-34s    n/a %s %.2fx MISS\n", what,
		       bk == RT_BINDER ? "vs Binder (unavailable)" : "n/a",
		       "<=", target);
		n_miss++;
		return;
	}
	verdict(what, b->instr, bk == RT_BINDER ? "Binder" : "AF_UNIX",
		base->instr, target, true);
}

static void bench_roundtrip(void)
{
	static const size_t sizes[] = { 0, 1024 };
	/* issue 18's targets: vs AF_UNIX (blocking recv), vs Binder */
	static const double t_unix[] = { 0.80, 0.70 }, t_binder[] = { 0.60, 0.72 };
	struct rt_row row[2][RT_KINDS];
	char what[64], fb[96];
	unsigned int i, k;

	printf("\n## 3. round trip, steady state: %u warm-up, then %u x %u timed\n",
	       rt_warmup, rt_reps, rt_iters);
	printf("## bus1: %s\n", ext_send && ext_wait ?
	       "client RECV(SEND|WAIT|RELEASE); server RECV(SEND reply|WAIT|RELEASE)" :
	       ext_wait ?
	       "client SEND, RECV(WAIT|RELEASE); server RECV(WAIT|RELEASE), SEND" :
	       "fallback (no RECV WAIT): SEND, poll, RECV; the event-loop row is the same path");
	printf("## context switches per round trip, mean of reps. Valid if in every rep: client\n");
	printf("## vol 1+-%.2f, invol <= %.2f; server vol+invol 1+-%.2f, vol >= %.2f; no figure\n",
	       CSW_TOL, CSW_TOL, CSW_TOL, CSW_SRV_VOL);
	printf("## drifts by more than %.2f across reps, no rep's instr/RT by more than %.0f%%\n",
	       CSW_DRIFT_MAX, INSTR_DRIFT_MAX * 100);
	printf("%-10s %-28s %10s  %13s  %13s\n", "payload", "case", "instr/RT",
	       "client v/inv", "server v/inv");
	for (i = 0; i < 2; ++i) {
		for (k = 0; k < RT_KINDS; ++k) {
			/* without RECV WAIT the bus1 rows are the same path */
			if ((k == RT_B1_POLL && !ext_wait) ||
			    (k == RT_B1_SPLIT && !(ext_send && ext_wait))) {
				row[i][k] = row[i][RT_B1];
				continue;
			}
			rt_run(k, sizes[i], &row[i][k]);
		}
	}
	for (i = 0; i < 2; ++i) {
		rt_verdict(sizes[i], &row[i][RT_B1], &row[i][RT_UNIX], RT_UNIX,
			   t_unix[i]);
		rt_verdict(sizes[i], &row[i][RT_B1], &row[i][RT_BINDER],
			   RT_BINDER, t_binder[i]);
		snprintf(what, sizeof(what), "round trip %zu B, event loop",
			 sizes[i]);
		snprintf(fb, sizeof(fb), "%.0f vs AF_UNIX + poll %.0f",
			 row[i][RT_B1_POLL].instr, row[i][RT_UNIX_POLL].instr);
		printf("%-34s %-34s %6.3fx (info)\n", what, fb,
		       row[i][RT_B1_POLL].instr / row[i][RT_UNIX_POLL].instr);
	}
}

/* ---- 4. scaling ---------------------------------------------------------------- */

enum scale_kind {
	SC_B1_ONE_USER,		/* both pairs' peers of one user (root) */
	SC_B1_TWO_USERS,	/* each pair under its own real uid */
	SC_UNIX,		/* AF_UNIX, the control */
	SC_KINDS
};

static const char *const sc_name[SC_KINDS] = {
	[SC_B1_ONE_USER] = "bus1, pairs of one user",
	[SC_B1_TWO_USERS] = "bus1, pairs of two users",
	[SC_UNIX] = "AF_UNIX",
};

struct pair_arg {
	enum scale_kind kind;
	int cpu;
	double secs;
	pthread_barrier_t *barrier;
	unsigned long ops;
};

static void *pair_thread(void *p)
{
	struct pair_arg *a = p;
	bool b1 = a->kind != SC_UNIX;
	struct unicast u;
	cpu_set_t set;
	u64 end;

	CPU_ZERO(&set);
	CPU_SET(a->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	/*
	 * This thread's real uid only (the raw syscall, not glibc's
	 * process-wide setresuid()): its peers belong to a user of its own,
	 * so the pairs share no struct bus1_user. The thread ends with the
	 * run, so the next run starts as root again.
	 */
	if (a->kind == SC_B1_TWO_USERS &&
	    syscall(SYS_setresuid, 1000 + a->cpu, -1, -1))
		bench_die("setresuid: %m");
	unicast_setup(&u, 64);
	bus1_unicast_loop(&u, 100);
	unix_unicast_loop(&u, 100);
	pthread_barrier_wait(a->barrier);
	end = bench_now() + (u64)(a->secs * 1e9);
	a->ops = 0;
	while (bench_now() < end) {
		if (b1)
			bus1_unicast_loop(&u, 64);
		else
			unix_unicast_loop(&u, 64);
		a->ops += 64;
	}
	unicast_teardown(&u);
	return NULL;
}

static double run_pairs(enum scale_kind kind, unsigned int n, double secs)
{
	struct pair_arg a[2];
	pthread_t t[2];
	pthread_barrier_t barrier;
	double ops = 0;
	unsigned int i;

	pthread_barrier_init(&barrier, NULL, n);
	for (i = 0; i < n; ++i) {
		a[i] = (struct pair_arg){ .kind = kind, .cpu = i, .secs = secs,
					  .barrier = &barrier };
		if (pthread_create(&t[i], NULL, pair_thread, &a[i]))
			bench_die("pthread_create");
	}
	for (i = 0; i < n; ++i) {
		pthread_join(t[i], NULL);
		ops += a[i].ops;
	}
	pthread_barrier_destroy(&barrier);
	return ops / secs;
}

static void bench_scaling(double secs)
{
	/* 15 runs: the median of 9 still moved by 0.2x with the host */
	enum { reps = 15 };
	double one[SC_KINDS][reps], two[SC_KINDS][reps], rat[SC_KINDS][reps];
	double norm[SC_KINDS][reps], mn, mx, r1, r2;
	unsigned int i, k;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("\n%s\n",
		       "## 4. scaling: not measured here, needs 2 CPUs without icount (make scaling):");
		for (k = SC_B1_ONE_USER; k <= SC_B1_TWO_USERS; ++k)
			printf("%-34s %-34s %7s >= %.2fx (make scaling)\n",
			       "2 pairs vs 1 pair", sc_name[k], "n/a", 1.8);
		return;
	}
	printf("\n%s\n",
	       "## 4. throughput of 1 vs 2 independent pairs (64 B message per op, one thread");
	printf("## per pair, pinned to its CPU; wall clock, %u interleaved runs of %.1f s each)\n",
	       reps, secs);
	for (i = 0; i < reps; ++i) {
		for (k = 0; k < SC_KINDS; ++k) {
			one[k][i] = run_pairs(k, 1, secs);
			two[k][i] = run_pairs(k, 2, secs);
			rat[k][i] = two[k][i] / one[k][i];
		}
		for (k = 0; k < SC_KINDS; ++k)
			norm[k][i] = rat[k][i] / rat[SC_UNIX][i];
	}
	for (k = 0; k < SC_KINDS; ++k) {
		mn = rat[k][0];
		mx = mn;
		for (i = 1; i < reps; ++i) {
			mn = rat[k][i] < mn ? rat[k][i] : mn;
			mx = rat[k][i] > mx ? rat[k][i] : mx;
		}
		r1 = bench_median(one[k], reps);
		r2 = bench_median(two[k], reps);
		printf("%-26s 1 pair %9.0f ops/s, 2 pairs %9.0f ops/s;",
		       sc_name[k], r1, r2);
		printf(" 2/1 per run: median %.2fx, min %.2fx, max %.2fx\n",
		       bench_median(rat[k], reps), mn, mx);
		for (i = 1; i < reps; ++i) {	/* best runs: least disturbed */
			one[k][0] = one[k][i] > one[k][0] ? one[k][i] : one[k][0];
			two[k][0] = two[k][i] > two[k][0] ? two[k][i] : two[k][0];
		}
		printf("%-26s best of %u: 1 pair %9.0f, 2 pairs %9.0f ops/s: %.2fx\n",
		       sc_name[k], reps, one[k][0], two[k][0],
		       two[k][0] / one[k][0]);
	}
	for (k = SC_B1_ONE_USER; k <= SC_B1_TWO_USERS; ++k)
		verdict_ratio("2 pairs vs 1 pair (median of runs)", sc_name[k],
			      bench_median(rat[k], reps), 1.8, false);
	for (k = SC_B1_ONE_USER; k <= SC_B1_TWO_USERS; ++k)
		printf("%-34s %-34s %6.3fx (info: 1.0 = scales like AF_UNIX here)\n",
		       "scaling / AF_UNIX scaling", sc_name[k],
		       bench_median(norm[k], reps));
}

/* ---- 5. memory ------------------------------------------------------------------- */

static long read_meminfo(const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		bench_die("/proc/meminfo: %m");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = strtol(line + kl + 1, NULL, 10) * 1024;
	fclose(f);
	return v;
}

#define MAX_CACHES 512
struct slabsnap {
	unsigned int n;
	char name[MAX_CACHES][40];
	long bytes[MAX_CACHES];
};

static void slab_snapshot(struct slabsnap *s)
{
	char line[512], name[64];
	long active, num, size;
	FILE *f = fopen("/proc/slabinfo", "re");

	s->n = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && s->n < MAX_CACHES) {
		if (sscanf(line, "%63s %ld %ld %ld", name, &active, &num,
			   &size) != 4)
			continue;
		snprintf(s->name[s->n], sizeof(s->name[0]), "%.39s", name);
		s->bytes[s->n++] = active * size;
	}
	fclose(f);
}

static void slab_diff(const struct slabsnap *a, const struct slabsnap *b,
		      unsigned int per)
{
	unsigned int i, j, k, top[6] = { 0 }, nt = 0;
	long d[MAX_CACHES] = { 0 };

	for (i = 0; i < b->n; ++i)
		for (j = 0; j < a->n; ++j)
			if (!strcmp(a->name[j], b->name[i]))
				d[i] = b->bytes[i] - a->bytes[j];
	for (k = 0; k < 6; ++k) {
		long best = per / 2 * 8;	/* >= 8 B per object */
		int bi = -1;

		for (i = 0; i < b->n; ++i) {
			bool used = false;

			for (j = 0; j < nt; ++j)
				used |= top[j] == i;
			if (!used && d[i] > best) {
				best = d[i];
				bi = i;
			}
		}
		if (bi < 0)
			break;
		top[nt++] = bi;
	}
	printf("    slabinfo (active objs x size), biggest:");
	for (k = 0; k < nt; ++k)
		printf(" %s %.0f", b->name[top[k]], (double)d[top[k]] / per);
	printf("%s\n", nt ? "" : " (none / unavailable)");
}

static void bench_memory(void)
{
	const unsigned int n_peers = 1000, n_msgs = 10000;
	static struct slabsnap s0, s1;
	long slab0, slab1, sun0, sun1;
	struct peer *peers, a, b;
	double per_peer, per_msg;
	unsigned int i, sent;
	char old[32] = "", detail[96];
	u64 dst;
	int fd;

	printf("\n%s\n",
	       "## 5. kernel memory (/proc/meminfo Slab delta; pool pages are shmem, not slab)");
	peers = calloc(n_peers, sizeof(*peers));
	if (!peers)
		bench_die("calloc");
	sync();
	slab_snapshot(&s0);
	slab0 = read_meminfo("Slab");
	sun0 = read_meminfo("SUnreclaim");
	for (i = 0; i < n_peers; ++i)
		peer_open(&peers[i], false);
	slab1 = read_meminfo("Slab");
	sun1 = read_meminfo("SUnreclaim");
	slab_snapshot(&s1);
	per_peer = (double)(slab1 - slab0) / n_peers;
	printf("idle peer:      %7.0f B slab (%.0f B unreclaimable) per peer, %u peers\n",
	       per_peer, (double)(sun1 - sun0) / n_peers, n_peers);
	slab_diff(&s0, &s1, n_peers);
	for (i = 0; i < n_peers; ++i)
		peer_close(&peers[i]);
	free(peers);

	/* 10000 queued slices exceed the default per-sender share: raise it */
	fd = open(SLICES_PARAM, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, old, sizeof(old) - 1);

		old[n > 0 ? n : 0] = 0;
		close(fd);
		write_file(SLICES_PARAM, "1000000");
	}
	usleep(100000);		/* let deferred frees of the peers settle */
	peer_open(&a, false);
	peer_open(&b, false);
	dst = node_to(&b, &a);
	b1_send_or_die(a.fd, &dst, 1, 0);
	b1_recv(&b, 0, false);
	b1_release_held(&b);
	slab_snapshot(&s0);
	slab0 = read_meminfo("Slab");
	sun0 = read_meminfo("SUnreclaim");
	for (sent = 0; sent < n_msgs; ++sent)
		if (b1_send(a.fd, &dst, 1, 0))
			break;
	slab1 = read_meminfo("Slab");
	sun1 = read_meminfo("SUnreclaim");
	slab_snapshot(&s1);
	if (sent < n_msgs / 2)
		bench_die("only %u messages could be queued: %m", sent);
	per_msg = (double)(slab1 - slab0) / sent;
	printf("queued message: %7.0f B slab (%.0f B unreclaimable) per 0 B message, %u queued\n",
	       per_msg, (double)(sun1 - sun0) / sent, sent);
	slab_diff(&s0, &s1, sent);
	peer_close(&a);
	peer_close(&b);
	if (old[0])
		write_file(SLICES_PARAM, old);
	snprintf(detail, sizeof(detail), "%.0f B per peer, target 1024 B",
		 per_peer);
	verdict_ratio("kernel memory per idle peer", detail, per_peer / 1024,
		      1.0, true);
	snprintf(detail, sizeof(detail), "%.0f B per message, target 192 B",
		 per_msg);
	verdict_ratio("kernel memory per queued message", detail,
		      per_msg / 192, 1.0, true);
}

/* ---- profiling support ---------------------------------------------------------- */

static void run_profile(const char *what, size_t arg, unsigned int iters)
{
	static struct peer dst[MAX_DESTS];
	bool mc = !strcmp(what, "mcast");
	double base = 0;
	struct unicast u;
	u64 ids[MAX_DESTS], t0;
	unsigned int i, k, rep;
	double v[REPS];

	if (mc) {
		if (arg < 1 || arg > MAX_DESTS)
			bench_die("mcast: 1..%d destinations", MAX_DESTS);
		peer_open(&u.a, true);
		for (i = 0; i < arg; ++i) {
			peer_open(&dst[i], true);
			ids[i] = node_to(&dst[i], &u.a);
		}
	} else if (!strcmp(what, "unicast") && arg <= MAX_PAYLOAD) {
		unicast_setup(&u, arg);
	} else {
		bench_die("unknown profile case %s", what);
	}
	/* rep 0: warm-up, 1..REPS untraced, REPS+1 traced */
	for (rep = 0; rep <= REPS + 1; ++rep) {
		if (rep == REPS + 1) {
			char pid[32];

			base = bench_median(v, REPS);
			snprintf(pid, sizeof(pid), "%d", (int)getpid());
			write_file(TRACEFS "set_ftrace_pid", pid);
			write_file(TRACEFS "current_tracer", "function_graph");
			write_file(TRACEFS "tracing_on", "1");
		}
		t0 = bench_now();
		for (k = 0; k < iters; ++k) {
			if (mc) {
				b1_send_or_die(u.a.fd, ids, arg, 64);
				for (i = 0; i < arg; ++i)
					b1_recv(&dst[i], 64, false);
			} else {
				bus1_unicast_loop(&u, 1);
			}
		}
		if (rep && rep <= REPS)
			v[rep - 1] = (double)(bench_now() - t0) / iters;
		if (rep == REPS + 1) {
			write_file(TRACEFS "tracing_on", "0");
			printf("untraced %.0f traced %.0f iters %u\n", base,
			       (double)(bench_now() - t0) / iters, iters);
		}
	}
	/* the caller reads the trace (switching the tracer would clear it) */
}

/* names of the symbols a module imports (its __versions table) */
static void list_imports(const char *path)
{
	struct { u64 crc; char name[56]; } *mv;
	const Elf64_Shdr *sh;
	const Elf64_Ehdr *eh;
	const char *strs;
	struct stat st;
	size_t i, j;
	void *m;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		bench_die("%s: %m", path);
	m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		bench_die("mmap %s: %m", path);
	eh = m;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || !eh->e_shoff)
		bench_die("%s: not an ELF object", path);
	sh = (const Elf64_Shdr *)((const char *)m + eh->e_shoff);
	strs = (const char *)m + sh[eh->e_shstrndx].sh_offset;
	for (i = 0; i < eh->e_shnum; ++i) {
		if (strcmp(strs + sh[i].sh_name, "__versions"))
			continue;
		mv = (void *)((char *)m + sh[i].sh_offset);
		for (j = 0; j < sh[i].sh_size / sizeof(*mv); ++j)
			printf("%.*s\n", (int)sizeof(mv[j].name), mv[j].name);
	}
	munmap(m, st.st_size);
	close(fd);
}

/* 0..1023 rounds of busy work from @seed's sequence (see run_loop()) */
static void bench_jitter(unsigned int *seed)
{
	unsigned int k;

	*seed = *seed * 1103515245u + 12345u;
	/* the empty asm keeps the busy loop from being folded */
	for (k = (*seed >> 16) & 1023; k; k--)
		asm volatile("" : "+r" (k));
}

/*
 * --loop ITERS LEN [jitter]: ITERS unicast SEND+RECV+SLICE_RELEASE of LEN
 * bytes, timed (perf-profile.sh samples it). With "jitter" every iteration
 * adds 0..1023 rounds of user-space busy work from a fixed pseudo-random
 * sequence: under icount a sampling timer fires at fixed instruction
 * counts, and a loop of constant length would alias with it.
 */
static void run_loop(unsigned int iters, size_t len, bool jitter)
{
	unsigned int i, seed = 12345;
	struct unicast u;
	u64 t0;

	if (len > MAX_PAYLOAD)
		bench_die("--loop: at most %d bytes", MAX_PAYLOAD);
	unicast_setup(&u, len);
	bus1_unicast_loop(&u, 100);
	t0 = bench_now();
	for (i = 0; i < iters; ++i) {
		if (jitter)
			bench_jitter(&seed);
		bus1_unicast_loop(&u, 1);
	}
	printf("loop: %zu B, %u iterations%s: %.1f per iteration\n", len,
	       iters, jitter ? " (with jitter)" : "",
	       (double)(bench_now() - t0) / iters);
	unicast_teardown(&u);
}

/*
 * --mloop ITERS N [jitter]: ITERS multicasts of 64 B to N peers (one node
 * each), each drained, timed; the jitter as for --loop (perf-profile.sh
 * MCAST=N samples it). The SEND alone is printed too.
 */
static void run_mloop(unsigned int iters, size_t n, bool jitter)
{
	static struct peer dst[MAX_DESTS];
	unsigned int i, j, seed = 12345;
	u64 ids[MAX_DESTS], t0, t1, send = 0;
	struct peer src;

	if (n < 1 || n > MAX_DESTS)
		bench_die("--mloop: 1..%d destinations", MAX_DESTS);
	peer_open(&src, true);
	for (i = 0; i < n; ++i) {
		peer_open(&dst[i], true);
		ids[i] = node_to(&dst[i], &src);
	}
	for (j = 0; j < 10; ++j) {
		b1_send_or_die(src.fd, ids, n, 64);
		for (i = 0; i < n; ++i)
			b1_recv(&dst[i], 64, false);
	}
	t0 = bench_now();
	for (j = 0; j < iters; ++j) {
		if (jitter)
			bench_jitter(&seed);
		t1 = bench_now();
		b1_send_or_die(src.fd, ids, n, 64);
		send += bench_now() - t1;
		for (i = 0; i < n; ++i)
			b1_recv(&dst[i], 64, false);
	}
	printf("loop: mcast %zu, send %.1f, %u iterations%s: %.1f per iteration\n",
	       n, (double)send / iters, iters, jitter ? " (with jitter)" : "",
	       (double)(bench_now() - t0) / iters);
}

/* ---- main -------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && !strcmp(argv[1], "--imports")) {
		list_imports(argv[2]);
		return 0;
	}
	payload = malloc(MAX_PAYLOAD);
	rbuf = malloc(MAX_PAYLOAD);
	if (!payload || !rbuf)
		bench_die("malloc");
	memset(payload, 0x5a, MAX_PAYLOAD);
	memset(rbuf, 0, MAX_PAYLOAD);
	raise_nofile();
	rt_srv_shared = mmap(NULL, sizeof(*rt_srv_shared) *
			     (BENCH_RT_MAX_REPS + 1), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rt_srv_shared == MAP_FAILED)
		bench_die("mmap: %m");
	/* --profile's first line is parsed by bus1-bench: probe quietly */
	probe_recv_ext(argc == 1 || strncmp(argv[1], "--profile", 9));
	if (argc >= 2 && !strcmp(argv[1], "--scaling")) {
		bench_scaling(argc >= 3 ? atof(argv[2]) : 1.0);
	} else if (argc == 5 && !strcmp(argv[1], "--profile")) {
		run_profile(argv[2], strtoul(argv[3], NULL, 0),
			    strtoul(argv[4], NULL, 0));
		return 0;
	} else if ((argc == 4 || argc == 5) && !strcmp(argv[1], "--loop")) {
		run_loop(strtoul(argv[2], NULL, 0), strtoul(argv[3], NULL, 0),
			 argc == 5 && !strcmp(argv[4], "jitter"));
		return 0;
	} else if ((argc == 4 || argc == 5) && !strcmp(argv[1], "--mloop")) {
		run_mloop(strtoul(argv[2], NULL, 0), strtoul(argv[3], NULL, 0),
			  argc == 5 && !strcmp(argv[4], "jitter"));
		return 0;
	} else if (argc == 3 && !strcmp(argv[1], "--only")) {
		if (!strcmp(argv[2], "unicast"))
			bench_unicast();
		else if (!strcmp(argv[2], "multicast"))
			bench_multicast();
		else if (!strcmp(argv[2], "roundtrip"))
			bench_roundtrip();
		else if (!strcmp(argv[2], "memory"))
			bench_memory();
		else
			bench_die("--only: unknown section %s", argv[2]);
	} else if (argc == 5 && !strcmp(argv[1], "--roundtrip")) {
		rt_warmup = strtoul(argv[2], NULL, 0);
		rt_iters = strtoul(argv[3], NULL, 0);
		rt_reps = strtoul(argv[4], NULL, 0);
		if (!rt_iters || !rt_reps || rt_reps > BENCH_RT_MAX_REPS)
			bench_die("--roundtrip: ITERS >= 1, 1 <= REPS <= %d",
				  BENCH_RT_MAX_REPS);
		bench_roundtrip();
	} else if (argc == 1) {
		bench_unicast();
		bench_multicast();
		bench_roundtrip();
		bench_scaling(1.0);	/* two "not measured here" lines */
		bench_memory();
	} else {
		fprintf(stderr, "usage: %s %s\n", argv[0],
			"[--only SECTION | --roundtrip WARMUP ITERS REPS | --scaling [SECS] | --profile unicast|mcast N ITERS | --loop ITERS LEN [jitter] | --mloop ITERS N [jitter] | --imports KO]");
		return 2;
	}
	printf("\n# targets: %u PASS, %u MISS\n", n_pass, n_miss);
	if (n_fail) {
		printf("# FAIL: %u invalid measurement(s), see the FAIL lines above\n",
		       n_fail);
		return 1;
	}
	return 0;
}
