// SPDX-License-Identifier: GPL-2.0
/*
 * test-quota - bus1 resource accounting (issue 6, spec section 7).
 *
 * Several users: the VM runs the tests as root; peers are charged to the
 * uid that opened them, so every peer of user X is opened by a child that
 * did setresuid(X, X, X) (mu_open_as()), and every flood of user X is sent
 * from a child running as X. The receiving side is drained by the test
 * process itself (root), which does not change whom anything is charged to.
 *
 * The DoS figure of issue 6 is printed as "# DoS:" diagnostics by
 * dos_figure and dos_figure_all_peers: how much a hostile user can pin on a victim before EDQUOT,
 * relative to the victim user's limits (module parameters user_*_max).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/prctl.h>

/* the harness compares int constants with __u64 results */
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "msg-util.h"

#define NODE		0x100ULL
#define NODE2		0x200ULL
#define FLOOD_CAP	200000L

/* Distinct uids per test, so no user record is shared between tests. */
#define UID(test, who)	(61000 + (test) * 10 + (who))

static unsigned long param(const char *name, unsigned long def)
{
	char path[128], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/module/bus1/parameters/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return def;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return def;
	buf[n] = 0;
	return strtoul(buf, NULL, 10);
}

static void *shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * A flood: send @len-byte messages (with @n_fds copies of @fd attached) to
 * @dst until the first error or @max messages. Runs in a child as @uid.
 */
struct flood {
	int fd;
	__u64 dst;
	size_t len;
	int n_fds, att_fd;
	long max;
	long n;		/* out: messages sent */
	int err;	/* out: the error that stopped it (0: reached max) */
};

static int flood_run(struct flood *f)
{
	static __u8 buf[1 << 20];
	int fds[BUS1_FD_MAX], i;
	struct iovec v = { .iov_base = buf, .iov_len = f->len };

	for (i = 0; i < f->n_fds; i++)
		fds[i] = f->att_fd;
	f->n = 0;
	f->err = 0;
	while (f->n < f->max) {
		f->err = mu_sendv(f->fd, 0, &f->dst, 1, NULL, &v, 1, NULL, 0,
				  fds, f->n_fds);
		if (f->err)
			break;
		f->n++;
	}
	return 0;
}

/* Run @f in a child with all ids set to @uid; returns the child's status. */
static int flood_as(uid_t uid, struct flood *f)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (!pid) {
		if (setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
			_exit(100);
		_exit(flood_run(f));
	}
	return mu_wait(pid);
}

/* One message of @len bytes from @fd to @dst, sent as @uid. */
static int send_as(uid_t uid, struct flood *f, int fd, __u64 dst, size_t len)
{
	int r;

	f->fd = fd;
	f->dst = dst;
	f->len = len;
	f->n_fds = 0;
	f->max = 1;
	r = flood_as(uid, f);
	return r ? -ECHILD : f->err;
}

/* Drain @p completely (releasing slices); returns the number of messages. */
static long drain(struct mu_peer *p)
{
	struct bus1_cmd_recv r;
	long n = 0;

	while (!mu_peer_recv(p, 0, &r)) {
		if (r.msg.type == BUS1_MSG_DATA)
			b1_slice_release(p->fd, r.msg.offset);
		n++;
	}
	return n;
}

/* The per-peer charge counters that must be 0 on an idle peer. */
static void assert_idle(struct __test_metadata *_metadata, int fd)
{
	ASSERT_EQ(0, mu_counter(fd, "bus1-queued"));
	ASSERT_EQ(0, mu_counter(fd, "bus1-pool-bytes"));
	ASSERT_EQ(0, mu_counter(fd, "bus1-pool-slices"));
	ASSERT_EQ(0, mu_counter(fd, "bus1-charge-slices"));
	ASSERT_EQ(0, mu_counter(fd, "bus1-charge-bytes"));
	ASSERT_EQ(0, mu_counter(fd, "bus1-charge-fds"));
}

/*
 * The resources a message charges to its receiver that the share rule of
 * Documentation/bus1/quota.rst bounds per sending user, as the receiving
 * peer's counters show them.
 */
enum { RES_SLICES, RES_BYTES, RES_FDS, RES_N };
static const char *const res_name[RES_N] = { "slices", "bytes", "fds" };

static void res_read(int fd, long *v)
{
	v[RES_SLICES] = mu_counter(fd, "bus1-charge-slices");
	v[RES_BYTES] = mu_counter(fd, "bus1-charge-bytes");
	v[RES_FDS] = mu_counter(fd, "bus1-charge-fds");
}

static void res_limits(long *lim)
{
	lim[RES_SLICES] = param("user_slices_max", 16384);
	lim[RES_BYTES] = param("user_inflight_bytes_max", 16 << 20);
	lim[RES_FDS] = param("user_inflight_fds_max", 4096);
}

/*
 * What a sending user may queue on one more peer of a receiving user with
 * limits @lim, when other users hold @others and the sender already holds
 * @held on the receiving user's other peers: the per-peer share rule
 * S_p <= (W - (S_u - S_p)) / 2 with W = (R + S_u) / 2 and R = lim - others -
 * S_u, i.e. S_p <= (lim - others - 2 * held) / 4. An idle victim peer takes
 * a quarter from the first sender; summed over all peers, a sender gets
 * less than half.
 */
static long peer_room(long lim, long others, long held)
{
	return (lim - others - 2 * held) / 4;
}

/* How many messages charging @c fit into @room (the share rule's EDQUOT). */
static long res_fit(const long *room, const long *c)
{
	long n = LONG_MAX;
	int i;

	for (i = 0; i < RES_N; i++)
		if (c[i] && room[i] / c[i] < n)
			n = room[i] / c[i];
	return n;
}

static int open_peer_as(uid_t uid, struct mu_peer *p)
{
	int fd = mu_open_as(uid);

	memset(p, 0, sizeof(*p));
	p->fd = fd;
	if (fd < 0)
		return fd;
	return mu_map(p, 1 << 20);
}

/*
 * A flood from user A to a non-reading receiver of user B ends in EDQUOT
 * (not a hang); user C can still deliver to the same receiver; draining
 * restores A; every counter returns to its start.
 */
TEST(flood_edquot)
{
	uid_t ua = UID(1, 1), ub = UID(1, 2), uc = UID(1, 3);
	struct mu_counters start, end;
	struct mu_peer rb;
	int sa, sc, d;
	__u64 ha, hc;
	struct flood *f;
	long n_a, n_c;

	f = shared_alloc(sizeof(*f));
	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, open_peer_as(ub, &rb));
	sa = mu_open_as(ua);
	sc = mu_open_as(uc);
	ASSERT_GE(sa, 0);
	ASSERT_GE(sc, 0);
	ASSERT_EQ(0, b1_transfer(rb.fd, NODE, sa, &ha));
	ASSERT_EQ(0, b1_transfer(rb.fd, NODE, sc, &hc));
	ASSERT_EQ(0, mu_counters_read(rb.fd, &start));

	*f = (struct flood){ .fd = sa, .dst = ha, .len = 4096,
			     .max = FLOOD_CAP };
	ASSERT_EQ(0, flood_as(ua, f));
	ASSERT_EQ(-EDQUOT, f->err) {
		TH_LOG("flood of A stopped after %ld messages", f->n);
	}
	n_a = f->n;
	ASSERT_GT(n_a, 0);
	TH_LOG("user A queued %ld x 4 KiB before EDQUOT", n_a);

	/* C is not locked out by A */
	ASSERT_EQ(0, send_as(uc, f, sc, hc, 4096));
	*f = (struct flood){ .fd = sc, .dst = hc, .len = 4096,
			     .max = FLOOD_CAP };
	ASSERT_EQ(0, flood_as(uc, f));
	ASSERT_EQ(-EDQUOT, f->err);
	n_c = f->n + 1;
	TH_LOG("user C then queued %ld x 4 KiB", n_c);
	/* A is still refused while nothing was received */
	ASSERT_EQ(-EDQUOT, send_as(ua, f, sa, ha, 4096));

	/* draining restores A */
	ASSERT_EQ(n_a + n_c, drain(&rb));
	assert_idle(_metadata, rb.fd);
	ASSERT_EQ(0, send_as(ua, f, sa, ha, 4096));
	ASSERT_EQ(1, drain(&rb));

	ASSERT_EQ(0, mu_counters_read(rb.fd, &end));
	d = mu_counters_diff(&start, &end);
	ASSERT_EQ(-1, d) {
		TH_LOG("%s was %llu, now %llu", mu_counter_keys[d],
		       (unsigned long long)start.v[d],
		       (unsigned long long)end.v[d]);
	}
	assert_idle(_metadata, sa);
	assert_idle(_metadata, sc);
	close(sa);
	close(sc);
	mu_peer_close(&rb);
}

/* Two receivers of user B: a stuck one does not stop its sibling. */
TEST(stuck_sibling)
{
	uid_t ua = UID(2, 1), ub = UID(2, 2), uc = UID(2, 3);
	struct mu_peer stuck, sib;
	__u64 ha1, ha2, hc2;
	struct flood *f;
	int sa, sc;
	long n;

	f = shared_alloc(sizeof(*f));
	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, open_peer_as(ub, &stuck));
	ASSERT_EQ(0, open_peer_as(ub, &sib));
	sa = mu_open_as(ua);
	sc = mu_open_as(uc);
	ASSERT_GE(sa, 0);
	ASSERT_GE(sc, 0);
	ASSERT_EQ(0, b1_transfer(stuck.fd, NODE, sa, &ha1));
	ASSERT_EQ(0, b1_transfer(sib.fd, NODE, sa, &ha2));
	ASSERT_EQ(0, b1_transfer(sib.fd, NODE, sc, &hc2));

	*f = (struct flood){ .fd = sa, .dst = ha1, .len = 4096,
			     .max = FLOOD_CAP };
	ASSERT_EQ(0, flood_as(ua, f));
	ASSERT_EQ(-EDQUOT, f->err);
	n = f->n;
	TH_LOG("A pinned %ld x 4 KiB on the stuck peer", n);

	/* the sibling still receives, from A and from C */
	ASSERT_EQ(0, send_as(ua, f, sa, ha2, 4096));
	ASSERT_EQ(0, send_as(uc, f, sc, hc2, 4096));
	ASSERT_EQ(2, drain(&sib));
	ASSERT_EQ(0, send_as(ua, f, sa, ha2, 4096));
	ASSERT_EQ(1, drain(&sib));

	ASSERT_EQ(n, drain(&stuck));
	assert_idle(_metadata, stuck.fd);
	assert_idle(_metadata, sib.fd);
	close(sa);
	close(sc);
	mu_peer_close(&stuck);
	mu_peer_close(&sib);
}

/* PEER_RESET limits show in PEER_QUERY and are honoured. */
TEST(reset_limits)
{
	struct bus1_cmd_peer_reset q, bad;
	struct mu_peer rb;
	struct bus1_cmd_recv r;
	int sa, i, p[2], fds[5];
	__u64 ha, h0, hs[2] = { NODE, NODE2 };
	static __u8 buf[8200];

	ASSERT_EQ(0, open_peer_as(UID(3, 2), &rb));
	sa = mu_open_as(UID(3, 1));
	ASSERT_GE(sa, 0);
	ASSERT_EQ(0, b1_transfer(rb.fd, NODE, sa, &ha));
	ASSERT_EQ(0, pipe(p));
	for (i = 0; i < 5; i++)
		fds[i] = p[1];

	/* defaults come from the user's limits */
	ASSERT_EQ(0, b1_query(rb.fd, &q));
	ASSERT_EQ(0, q.peer_flags);
	ASSERT_EQ(param("user_slices_max", 16384), q.max_slices);
	ASSERT_EQ(param("user_handles_max", 65536), q.max_handles);
	ASSERT_EQ(param("user_inflight_bytes_max", 16 << 20),
		  q.max_inflight_bytes);
	ASSERT_EQ(param("user_inflight_fds_max", 4096), q.max_inflight_fds);

	/* validation */
	bad = (struct bus1_cmd_peer_reset){ .peer_flags = 0,
		.max_slices = MU_KEEP, .max_handles = MU_KEEP,
		.max_inflight_bytes = MU_KEEP, .max_inflight_fds = MU_KEEP };
	ASSERT_EQ(-EINVAL, b1_reset_raw(rb.fd, &bad));
	ASSERT_EQ(-EINVAL, mu_reset(rb.fd, 0, 0x80000000U, MU_KEEP, MU_KEEP,
				    MU_KEEP));
	ASSERT_EQ(-EINVAL, mu_reset(rb.fd, 1ULL << 2, MU_KEEP, MU_KEEP,
				    MU_KEEP, MU_KEEP));
	bad.flags = 1;
	ASSERT_EQ(-EINVAL, b1_ioctl(rb.fd, BUS1_CMD_PEER_QUERY,
				    (unsigned long)&bad));
	ASSERT_EQ(0, b1_query(rb.fd, &bad));
	ASSERT_EQ(0, memcmp(&q, &bad, sizeof(q)));

	/* new limits are visible; 0xffffffff keeps a limit */
	h0 = mu_counter(rb.fd, "bus1-charge-handles");
	ASSERT_EQ(0, mu_reset(rb.fd, 0, 10, h0 + 2, 8192, 4));
	ASSERT_EQ(0, b1_query(rb.fd, &q));
	ASSERT_EQ(10, q.max_slices);
	ASSERT_EQ(h0 + 2, q.max_handles);
	ASSERT_EQ(8192, q.max_inflight_bytes);
	ASSERT_EQ(4, q.max_inflight_fds);
	ASSERT_EQ(0, mu_reset(rb.fd, 0, MU_KEEP, MU_KEEP, MU_KEEP, MU_KEEP));
	ASSERT_EQ(0, b1_query(rb.fd, &bad));
	ASSERT_EQ(0, memcmp(&q, &bad, sizeof(q)));

	/* slices: 10 pending messages fit, the 11th does not */
	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, b1_send1(sa, ha, "", 0));
	ASSERT_EQ(-EDQUOT, b1_send1(sa, ha, "", 0));
	ASSERT_EQ(10, mu_counter(rb.fd, "bus1-charge-slices"));
	/* a received slice stays charged until it is released */
	ASSERT_EQ(0, mu_peer_recv(&rb, 0, &r));
	ASSERT_EQ(-EDQUOT, b1_send1(sa, ha, "", 0));
	ASSERT_EQ(0, b1_slice_release(rb.fd, r.msg.offset));
	ASSERT_EQ(0, b1_send1(sa, ha, "", 0));
	ASSERT_EQ(-EDQUOT, b1_send1(sa, ha, "", 0));
	/* lowering below usage revokes nothing, but refuses new charges */
	ASSERT_EQ(0, mu_reset(rb.fd, 0, 2, MU_KEEP, MU_KEEP, MU_KEEP));
	ASSERT_EQ(10, mu_counter(rb.fd, "bus1-queued"));
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, mu_peer_recv_release(&rb, &r));
		ASSERT_EQ(-EDQUOT, b1_send1(sa, ha, "", 0));
	}
	ASSERT_EQ(0, mu_peer_recv_release(&rb, &r));
	ASSERT_EQ(0, b1_send1(sa, ha, "", 0));
	ASSERT_EQ(2, drain(&rb));
	ASSERT_EQ(0, mu_reset(rb.fd, 0, 100, MU_KEEP, MU_KEEP, MU_KEEP));

	/* in-flight bytes: 8192, returned at RECV */
	ASSERT_EQ(-EDQUOT, b1_send1(sa, ha, buf, 8200));
	ASSERT_EQ(0, b1_send1(sa, ha, buf, 8192));
	ASSERT_EQ(8192, mu_counter(rb.fd, "bus1-charge-bytes"));
	ASSERT_EQ(-EDQUOT, b1_send1(sa, ha, buf, 1));
	ASSERT_EQ(0, mu_peer_recv(&rb, 0, &r));
	ASSERT_EQ(0, mu_counter(rb.fd, "bus1-charge-bytes"));
	ASSERT_EQ(0, b1_send1(sa, ha, buf, 1));
	ASSERT_EQ(0, b1_slice_release(rb.fd, r.msg.offset));
	ASSERT_EQ(1, drain(&rb));

	/* in-flight fds: 4, returned at RECV */
	ASSERT_EQ(-EDQUOT, mu_sendv(sa, 0, &ha, 1, NULL, NULL, 0, NULL, 0,
				    fds, 5));
	ASSERT_EQ(0, mu_sendv(sa, 0, &ha, 1, NULL, NULL, 0, NULL, 0, fds, 4));
	ASSERT_EQ(4, mu_counter(rb.fd, "bus1-charge-fds"));
	ASSERT_EQ(-EDQUOT, mu_sendv(sa, 0, &ha, 1, NULL, NULL, 0, NULL, 0,
				    fds, 1));
	ASSERT_EQ(1, drain(&rb));
	ASSERT_EQ(0, mu_counter(rb.fd, "bus1-charge-fds"));
	ASSERT_EQ(0, mu_sendv(sa, 0, &ha, 1, NULL, NULL, 0, NULL, 0, fds, 1));
	ASSERT_EQ(1, drain(&rb));

	/* handles: two more refs fit, in flight or received */
	ASSERT_EQ(0, mu_sendv(sa, 0, &ha, 1, NULL, NULL, 0, hs, 2, NULL, 0));
	ASSERT_EQ(-EDQUOT, mu_sendv(sa, 0, &ha, 1, NULL, NULL, 0, hs, 1,
				    NULL, 0));
	ASSERT_EQ(0, mu_peer_recv(&rb, 0, &r));
	ASSERT_EQ(2, r.msg.n_handles);
	ASSERT_EQ(h0 + 2, mu_counter(rb.fd, "bus1-charge-handles"));
	ASSERT_EQ(-EDQUOT, mu_sendv(sa, 0, &ha, 1, NULL, NULL, 0, hs, 1,
				    NULL, 0));
	ASSERT_EQ(0, b1_release(rb.fd, mu_handles(&rb, &r)[0]));
	ASSERT_EQ(0, b1_release(rb.fd, mu_handles(&rb, &r)[1]));
	ASSERT_EQ(0, b1_slice_release(rb.fd, r.msg.offset));
	ASSERT_EQ(h0, mu_counter(rb.fd, "bus1-charge-handles"));
	ASSERT_EQ(0, mu_sendv(sa, 0, &ha, 1, NULL, NULL, 0, hs, 1, NULL, 0));
	ASSERT_EQ(0, mu_peer_recv(&rb, 0, &r));
	ASSERT_EQ(0, b1_release(rb.fd, mu_handles(&rb, &r)[0]));
	ASSERT_EQ(0, b1_slice_release(rb.fd, r.msg.offset));

	assert_idle(_metadata, rb.fd);
	ASSERT_EQ(h0, mu_counter(rb.fd, "bus1-charge-handles"));
	close(p[0]);
	close(p[1]);
	close(sa);
	mu_peer_close(&rb);
}

/* In-flight fds are limited per user too (default 4096). */
TEST(inflight_fds)
{
	unsigned long lim = param("user_inflight_fds_max", 4096);
	struct mu_peer rb;
	struct flood *f;
	int sa, p[2];
	__u64 ha;
	long n;

	f = shared_alloc(sizeof(*f));
	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, open_peer_as(UID(4, 2), &rb));
	sa = mu_open_as(UID(4, 1));
	ASSERT_GE(sa, 0);
	ASSERT_EQ(0, b1_transfer(rb.fd, NODE, sa, &ha));
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));

	*f = (struct flood){ .fd = sa, .dst = ha, .len = 0,
			     .n_fds = BUS1_FD_MAX, .att_fd = p[1],
			     .max = FLOOD_CAP };
	ASSERT_EQ(0, flood_as(UID(4, 1), f));
	ASSERT_EQ(-EDQUOT, f->err);
	n = f->n;
	TH_LOG("%ld messages with %d fds each before EDQUOT (limit %lu)", n,
	       BUS1_FD_MAX, lim);
	ASSERT_GT(n, 0);
	/* one sender, one idle victim peer: a quarter (quota.rst) */
	ASSERT_LE(n * BUS1_FD_MAX, lim / 4);
	ASSERT_EQ(n * BUS1_FD_MAX, mu_counter(rb.fd, "bus1-charge-fds"));
	ASSERT_EQ(n, drain(&rb));
	assert_idle(_metadata, rb.fd);
	/* all dropped: no writer left */
	close(p[1]);
	ASSERT_EQ(0, read(p[0], &n, 1));
	close(p[0]);
	close(sa);
	mu_peer_close(&rb);
}

/*
 * The three kinds of flood of the DoS figures, each bound by another
 * resource: 64 KiB (or 4 KiB) messages by bytes, empty ones by slices, and
 * ones with 16 fds each by fds.
 */
struct dos_kind {
	size_t len;
	int n_fds;
	const char *what;
};

static const struct dos_kind dos_kinds[] = {
	{ 65536, 0, "64 KiB" }, { 0, 0, "empty" }, { 0, 16, "16-fd" },
};

/*
 * The DoS figure on one victim peer: how much one hostile user (and then a
 * second one) can pin on a victim user before EDQUOT, as a fraction of the
 * victim's limits, for byte-, slice- and fd-bound messages. quota.rst
 * promises that the first takes at most a quarter of each resource, the
 * second at most a quarter of what the first left, and that each gets
 * exactly that (EDQUOT on the first message beyond it, not before). The
 * victim must keep a share: a further user can still deliver.
 */
TEST(dos_figure)
{
	uid_t ua = UID(5, 1), ub = UID(5, 2), uc = UID(5, 3), ud = UID(5, 4);
	long lim[RES_N], held_a[RES_N], held_c[RES_N], c[RES_N], room[RES_N];
	struct mu_peer rb;
	int sa, sc, sd, k, i, p[2];
	__u64 ha, hc, hd;
	struct flood *f;
	long na, nc;

	res_limits(lim);
	f = shared_alloc(sizeof(*f));
	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, open_peer_as(ub, &rb));
	sa = mu_open_as(ua);
	sc = mu_open_as(uc);
	sd = mu_open_as(ud);
	ASSERT_GE(sa, 0);
	ASSERT_GE(sc, 0);
	ASSERT_GE(sd, 0);
	ASSERT_EQ(0, b1_transfer(rb.fd, NODE, sa, &ha));
	ASSERT_EQ(0, b1_transfer(rb.fd, NODE, sc, &hc));
	ASSERT_EQ(0, b1_transfer(rb.fd, NODE, sd, &hd));
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));

	for (k = 0; k < (int)ARRAY_SIZE(dos_kinds); k++) {
		const struct dos_kind *d = &dos_kinds[k];

		*f = (struct flood){ .fd = sa, .dst = ha, .len = d->len,
				     .n_fds = d->n_fds, .att_fd = p[1],
				     .max = FLOOD_CAP };
		ASSERT_EQ(0, flood_as(ua, f));
		ASSERT_EQ(-EDQUOT, f->err);
		na = f->n;
		ASSERT_GT(na, 0);
		res_read(rb.fd, held_a);
		for (i = 0; i < RES_N; i++) {
			c[i] = held_a[i] / na;
			ASSERT_EQ(na * c[i], held_a[i]);
		}
		*f = (struct flood){ .fd = sc, .dst = hc, .len = d->len,
				     .n_fds = d->n_fds, .att_fd = p[1],
				     .max = FLOOD_CAP };
		ASSERT_EQ(0, flood_as(uc, f));
		ASSERT_EQ(-EDQUOT, f->err);
		nc = f->n;
		res_read(rb.fd, held_c);
		for (i = 0; i < RES_N; i++)
			held_c[i] -= held_a[i];
		printf("# DoS: %s messages: user A pinned %ld msgs on B's peer:",
		       d->what, na);
		printf(" %.1f%% of B's slices (%ld), %.1f%% of its bytes (%ld),",
		       100.0 * held_a[RES_SLICES] / lim[RES_SLICES],
		       lim[RES_SLICES], 100.0 * held_a[RES_BYTES] / lim[RES_BYTES],
		       lim[RES_BYTES]);
		printf(" %.1f%% of its fds (%ld)\n",
		       100.0 * held_a[RES_FDS] / lim[RES_FDS], lim[RES_FDS]);
		printf("# DoS:   then user C pinned %ld more (A+C: %.1f%% / %.1f%% / %.1f%%)\n",
		       nc,
		       100.0 * (held_a[RES_SLICES] + held_c[RES_SLICES]) /
		       lim[RES_SLICES],
		       100.0 * (held_a[RES_BYTES] + held_c[RES_BYTES]) /
		       lim[RES_BYTES],
		       100.0 * (held_a[RES_FDS] + held_c[RES_FDS]) /
		       lim[RES_FDS]);
		/* the promise: a quarter for A, a quarter of the rest for C */
		for (i = 0; i < RES_N; i++) {
			ASSERT_LE(held_a[i], peer_room(lim[i], 0, 0)) {
				TH_LOG("%s: user A holds %ld %s of %ld on one peer (> 1/4)",
				       d->what, held_a[i], res_name[i], lim[i]);
			}
			ASSERT_LE(held_c[i], peer_room(lim[i], held_a[i], 0)) {
				TH_LOG("%s: user C holds %ld %s of the %ld A left (> 1/4)",
				       d->what, held_c[i], res_name[i],
				       lim[i] - held_a[i]);
			}
		}
		/* and no less: EDQUOT came on the first message beyond it */
		for (i = 0; i < RES_N; i++)
			room[i] = peer_room(lim[i], 0, 0);
		ASSERT_EQ(res_fit(room, c), na);
		for (i = 0; i < RES_N; i++)
			room[i] = peer_room(lim[i], held_a[i], 0);
		ASSERT_EQ(res_fit(room, c), nc);
		/* and a third user still gets through */
		ASSERT_EQ(0, send_as(ud, f, sd, hd, d->len));
		ASSERT_EQ(na + nc + 1, drain(&rb));
		assert_idle(_metadata, rb.fd);
	}
	close(p[0]);
	close(p[1]);
	close(sa);
	close(sc);
	close(sd);
	mu_peer_close(&rb);
}

/*
 * DoS figure over all of the victim's peers: user A floods 8 peers of B in
 * turn (each until EDQUOT), for each kind of message. quota.rst promises
 * that A holds at most half of each of B's resources in total, each peer
 * taking a quarter of what A's previous floods left ((lim - 2 * held) / 4,
 * no less), and that a further user still gets through to every peer.
 */
#define DOS_PEERS 8

/* an empty fixture, only to get TEST_F_TIMEOUT for the long test */
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
 * Fixed work (floods to EDQUOT): 11.9 s on 6.12-debug with the host at
 * load 4, 40% of the default 30 s.
 */
TEST_F_TIMEOUT(slow, dos_figure_all_peers, 90)
{
	uid_t ua = UID(6, 1), ub = UID(6, 2), uc = UID(6, 3);
	long lim[RES_N], c[RES_N], room[RES_N], held[RES_N], v[RES_N];
	struct mu_peer rb[DOS_PEERS];
	__u64 ha[DOS_PEERS], hc[DOS_PEERS];
	long n[DOS_PEERS], total;
	int sa, sc, k, i, j, p[2];
	struct flood *f;

	res_limits(lim);
	f = shared_alloc(sizeof(*f));
	ASSERT_NE(NULL, f);
	sa = mu_open_as(ua);
	sc = mu_open_as(uc);
	ASSERT_GE(sa, 0);
	ASSERT_GE(sc, 0);
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	for (k = 0; k < DOS_PEERS; k++) {
		ASSERT_EQ(0, open_peer_as(ub, &rb[k]));
		ASSERT_EQ(0, b1_transfer(rb[k].fd, NODE, sa, &ha[k]));
		ASSERT_EQ(0, b1_transfer(rb[k].fd, NODE, sc, &hc[k]));
	}
	for (j = 0; j < (int)ARRAY_SIZE(dos_kinds); j++) {
		struct dos_kind d = dos_kinds[j];

		if (d.len)
			d = (struct dos_kind){ 4096, 0, "4 KiB" };
		total = 0;
		memset(held, 0, sizeof(held));
		memset(c, 0, sizeof(c));
		for (k = 0; k < DOS_PEERS; k++) {
			*f = (struct flood){ .fd = sa, .dst = ha[k],
					     .len = d.len, .n_fds = d.n_fds,
					     .att_fd = p[1], .max = FLOOD_CAP };
			ASSERT_EQ(0, flood_as(ua, f));
			ASSERT_EQ(-EDQUOT, f->err);
			n[k] = f->n;
			res_read(rb[k].fd, v);
			for (i = 0; i < RES_N; i++) {
				if (!k)
					c[i] = v[i] / n[k];
				ASSERT_EQ(n[k] * c[i], v[i]);
				room[i] = peer_room(lim[i], 0, held[i]);
			}
			for (i = 0; i < RES_N; i++)
				held[i] += v[i];
			total += n[k];
			/* the promise: at most half of each resource */
			for (i = 0; i < RES_N; i++) {
				ASSERT_LE(held[i], lim[i] / 2) {
					TH_LOG("%s: user A holds %ld %s of B's %ld, more than half",
					       d.what, held[i], res_name[i],
					       lim[i]);
				}
			}
			/* each peer a quarter of what A's floods left */
			ASSERT_EQ(res_fit(room, c), n[k]) {
				TH_LOG("%s: peer %d of B took %ld messages from A",
				       d.what, k, n[k]);
			}
		}
		printf("# DoS: %s messages, %d peers of B: user A pinned %ld msgs",
		       d.what, DOS_PEERS, total);
		printf(" = %.1f%% of B's slices, %.1f%% of its bytes, %.1f%% of its fds\n",
		       100.0 * held[RES_SLICES] / lim[RES_SLICES],
		       100.0 * held[RES_BYTES] / lim[RES_BYTES],
		       100.0 * held[RES_FDS] / lim[RES_FDS]);
		printf("# DoS:   per peer: %ld %ld %ld %ld %ld %ld %ld %ld\n",
		       n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7]);
		for (k = 0; k < DOS_PEERS; k++) {
			ASSERT_EQ(0, send_as(uc, f, sc, hc[k], d.len)) {
				TH_LOG("user C locked out of B's peer %d", k);
			}
			ASSERT_EQ(n[k] + 1, drain(&rb[k]));
			assert_idle(_metadata, rb[k].fd);
		}
	}
	for (k = 0; k < DOS_PEERS; k++)
		mu_peer_close(&rb[k]);
	close(p[0]);
	close(p[1]);
	close(sa);
	close(sc);
}

/*
 * The per-CPU settling of Documentation/bus1/quota.rst at the limit. A
 * message settled on a CPU stays counted in the user's figures until a
 * charge there takes it back or a charge that would fail folds every CPU
 * back. So: a flood after settling on both CPUs must queue exactly what a
 * flood from a clean state does (fewer: a settled amount was not folded;
 * more: the fast path overcharged), also when two senders on two CPUs race
 * into the limit, each having settled on its own CPU first. All messages
 * are alike and go to one receiver, whose data lock orders the charges, so
 * the exact rule admits the same number whatever the interleaving.
 */
struct race {
	atomic_int ready;
	long n[2];
	int err[2];
};

#define RACE_WARM	64
#define RACE_LEN	4096

static int race_child(uid_t uid, int cpu, int sfd, __u64 dst,
		      struct mu_peer *rb, struct race *st, int idx)
{
	static __u8 buf[RACE_LEN];
	struct iovec v = { .iov_base = buf, .iov_len = RACE_LEN };
	struct bus1_cmd_recv r;
	cpu_set_t set;
	int k, err;
	long n = 0;

	if (setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		return 100;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* one CPU: the race degenerates to interleaving, still exact */
	sched_setaffinity(0, sizeof(set), &set);
	/* settle on this CPU: each send is followed by one receive */
	for (k = 0; k < RACE_WARM; k++) {
		if (mu_sendv(sfd, 0, &dst, 1, NULL, &v, 1, NULL, 0, NULL, 0))
			return 101;
		if (mu_peer_recv_release(rb, &r))
			return 102;
	}
	atomic_fetch_add(&st->ready, 1);
	while (atomic_load(&st->ready) < 2)
		;
	while (!(err = mu_sendv(sfd, 0, &dst, 1, NULL, &v, 1, NULL, 0,
				NULL, 0)))
		n++;
	st->n[idx] = n;
	st->err[idx] = err;
	return 0;
}

TEST(percpu_race_to_limit)
{
	uid_t ua = UID(20, 1), ub = UID(20, 2);
	struct mu_peer rb;
	struct race *st;
	struct flood *f;
	int sa[2], i, round;
	__u64 h[2];
	pid_t pid[2];
	long n0;

	f = shared_alloc(sizeof(*f));
	st = shared_alloc(sizeof(*st));
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, st);
	ASSERT_EQ(0, open_peer_as(ub, &rb));
	for (i = 0; i < 2; i++) {
		sa[i] = mu_open_as(ua);
		ASSERT_GE(sa[i], 0);
		ASSERT_EQ(0, b1_transfer(rb.fd, NODE, sa[i], &h[i]));
	}

	/* the exact figure: a flood from a clean state, nothing settled */
	*f = (struct flood){ .fd = sa[0], .dst = h[0], .len = RACE_LEN,
			     .max = FLOOD_CAP };
	ASSERT_EQ(0, flood_as(ua, f));
	ASSERT_EQ(-EDQUOT, f->err);
	n0 = f->n;
	ASSERT_GT(n0, 2 * RACE_WARM);
	TH_LOG("clean flood: %ld x %d B", n0, RACE_LEN);
	/* drained here: settled on this CPU, not folded */
	ASSERT_EQ(n0, drain(&rb));

	/* settled on this CPU only: one flood must still queue n0 */
	ASSERT_EQ(0, flood_as(ua, f));
	ASSERT_EQ(-EDQUOT, f->err);
	ASSERT_EQ(n0, f->n);
	ASSERT_EQ(n0, drain(&rb));

	for (round = 0; round < 3; round++) {
		memset(st, 0, sizeof(*st));
		for (i = 0; i < 2; i++) {
			pid[i] = fork();
			ASSERT_GE(pid[i], 0);
			if (!pid[i])
				_exit(race_child(ua, i, sa[i], h[i], &rb, st,
						 i));
		}
		for (i = 0; i < 2; i++)
			ASSERT_EQ(0, mu_wait(pid[i]));
		ASSERT_EQ(-EDQUOT, st->err[0]);
		ASSERT_EQ(-EDQUOT, st->err[1]);
		TH_LOG("round %d: %ld + %ld of %ld", round, st->n[0],
		       st->n[1], n0);
		ASSERT_EQ(n0, st->n[0] + st->n[1]);
		ASSERT_EQ(n0, drain(&rb));
	}
	assert_idle(_metadata, rb.fd);
	for (i = 0; i < 2; i++)
		close(sa[i]);
	mu_peer_close(&rb);
}

/*
 * A multicast charges the receiving user once for all its destinations on
 * that user, and each peer alone against figures that count the whole
 * reservation (quota.rst, "Multicast charges"). That is stricter than
 * charging the messages one by one, so a peer that does not fit the
 * reservation must be charged exactly: a multicast with CONTINUE, repeated
 * until every destination refuses, must queue exactly what the same
 * messages sent one by one in the same order queue.
 */
#define MC_PEERS	8
#define MC_LEN		16384

struct mc {
	int fd;
	__u64 dst[MC_PEERS];
	long n[MC_PEERS];
	int err;
};

static int mc_child(struct mc *m, bool multicast)
{
	static __u8 buf[MC_LEN];
	struct iovec v = { .iov_base = buf, .iov_len = MC_LEN };
	__u64 errors[MC_PEERS];
	int i, left, r;

	memset(m->n, 0, sizeof(m->n));
	do {
		if (multicast) {
			r = mu_sendv(m->fd, BUS1_SEND_FLAG_CONTINUE, m->dst,
				     MC_PEERS, errors, &v, 1, NULL, 0, NULL, 0);
			if (r)
				return m->err = r, 1;
		} else {
			for (i = 0; i < MC_PEERS; i++)
				errors[i] = -mu_sendv(m->fd, 0, &m->dst[i], 1,
						      NULL, &v, 1, NULL, 0,
						      NULL, 0);
		}
		left = 0;
		for (i = 0; i < MC_PEERS; i++) {
			if (errors[i] && errors[i] != EDQUOT)
				return m->err = -(int)errors[i], 1;
			if (!errors[i]) {
				m->n[i]++;
				left++;
			}
		}
	} while (left);
	return 0;
}

static int mc_as(uid_t uid, struct mc *m, bool multicast)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (!pid) {
		if (setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
			_exit(100);
		_exit(mc_child(m, multicast));
	}
	return mu_wait(pid);
}

TEST(multicast_exact)
{
	uid_t ua = UID(21, 1), ub = UID(21, 2);
	struct mu_peer rb[MC_PEERS];
	long seq[MC_PEERS], total = 0;
	struct mc *m;
	int i, round;

	m = shared_alloc(sizeof(*m));
	ASSERT_NE(NULL, m);
	m->fd = mu_open_as(ua);
	ASSERT_GE(m->fd, 0);
	for (i = 0; i < MC_PEERS; i++) {
		ASSERT_EQ(0, open_peer_as(ub, &rb[i]));
		ASSERT_EQ(0, b1_transfer(rb[i].fd, NODE, m->fd, &m->dst[i]));
	}

	ASSERT_EQ(0, mc_as(ua, m, false));
	memcpy(seq, m->n, sizeof(seq));
	for (i = 0; i < MC_PEERS; i++) {
		ASSERT_EQ(seq[i], drain(&rb[i]));
		total += seq[i];
	}
	TH_LOG("one by one: %ld x %d B on %d peers", total, MC_LEN,
	       MC_PEERS);
	ASSERT_GT(total, 4 * MC_PEERS);

	/* twice: the second starts with the first one's settles */
	for (round = 0; round < 2; round++) {
		ASSERT_EQ(0, mc_as(ua, m, true));
		for (i = 0; i < MC_PEERS; i++) {
			ASSERT_EQ(seq[i], m->n[i]);
			ASSERT_EQ(seq[i], drain(&rb[i]));
		}
	}
	for (i = 0; i < MC_PEERS; i++) {
		assert_idle(_metadata, rb[i].fd);
		mu_peer_close(&rb[i]);
	}
	close(m->fd);
}

/*
 * A reservation that does not fit the per-user rule must not be taken
 * (quota.rst, "Multicast charges"), not even for the moment until the
 * first peer it covers is charged. Nothing shows a user's figures, so a
 * second sender watches them: user B has a limit of 16 in-flight fds and
 * 17 peers. User A multicasts one fd to 16 of them over and over; the
 * exact rule admits at most 7 of each multicast (4 <= 16 - 2 * k for the
 * k-th), so A never holds more than 7 fds on B, and a reservation for the
 * 15 after the first never fits (S_u + 2 * 15 > R). Meanwhile user C, on
 * another CPU, sends one fd to B's 17th peer and receives it, over and
 * over: with at most 7 held by A it needs 4 <= 16 - 7, so it must never
 * see EDQUOT. A reservation of the 15 taken anyway counts 16 fds on B
 * until its first peer refuses it, and C's charge in that window fails
 * even on exact figures. The window is widened: between B's first
 * destination and the others the multicast lists 32 nodes of a peer of
 * user D that takes no fds, each refused in turn (EDQUOT). With that,
 * C saw the window within 20 multicasts in each of four runs (6.1 3x, 6.12)
 * of a kernel that takes such a reservation; it needs two CPUs.
 */
#define RESV_PEERS	16
#define RESV_GAP	32
#define RESV_DSTS	(RESV_PEERS + RESV_GAP)
#define RESV_FDS_MAX	16
#define RESV_ROUNDS	2000
#define RESV_SECONDS	10	/* of the harness's 30, for debug kernels */

struct resv_watch {
	atomic_int ready, stop;
	atomic_long refused;
	long sent;
	int err;
};

static int param_write(const char *name, unsigned long v)
{
	char path[128], buf[32];
	int fd, n, r = 0;

	snprintf(path, sizeof(path), "/sys/module/bus1/parameters/%s", name);
	n = snprintf(buf, sizeof(buf), "%lu", v);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, n) != n)
		r = -EIO;
	close(fd);
	return r;
}

static void pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* one CPU: no race, the test then cannot see the window */
	sched_setaffinity(0, sizeof(set), &set);
}

/* RECV one message from @p, closing the fds it installed */
static int recv_close(struct mu_peer *p)
{
	struct bus1_cmd_recv r;
	__u64 i;
	int ret;

	ret = mu_peer_recv(p, 0, &r);
	if (ret || r.msg.type != BUS1_MSG_DATA)
		return ret;
	for (i = 0; i < r.msg.n_fds; i++)
		close(mu_fds(p, &r)[i]);
	return b1_slice_release(p->fd, r.msg.offset);
}

/* user C: one fd to @dst and back, until told to stop */
static int resv_watcher(struct resv_watch *w, int sc, __u64 dst,
			struct mu_peer *q, int fd)
{
	int r;

	/* a failing test must not leave it spinning with B's peer open */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	pin_cpu(1);
	atomic_store(&w->ready, 1);
	while (!atomic_load(&w->stop)) {
		r = mu_sendv(sc, 0, &dst, 1, NULL, NULL, 0, NULL, 0, &fd, 1);
		if (r == -EDQUOT) {
			atomic_fetch_add(&w->refused, 1);
			continue;
		}
		if (!r)
			r = recv_close(q);
		if (r)
			return w->err = r, 1;
		w->sent++;
	}
	return 0;
}

/* destination @i of the multicast: B's first peer, D's nodes, B's others */
static int resv_dst_peer(int i)
{
	if (!i)
		return 0;
	return i <= RESV_GAP ? -1 : i - RESV_GAP;
}

TEST(multicast_reserve_refused)
{
	uid_t ua = UID(22, 1), ub = UID(22, 2), uc = UID(22, 3);
	struct mu_peer rb[RESV_PEERS + 1], rd;
	__u64 dst[RESV_DSTS], errors[RESV_DSTS], hc;
	int ro[RESV_PEERS + 1], sa, sc, p[2], i, k, n, round, rw;
	struct resv_watch *w;
	unsigned long old;
	__u64 start;
	pid_t pid;

	w = shared_alloc(sizeof(*w));
	ASSERT_NE(NULL, w);
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));

	/* B's user record takes its limits from its first peer's open */
	old = param("user_inflight_fds_max", 4096);
	rw = param_write("user_inflight_fds_max", RESV_FDS_MAX);
	for (i = 0; i <= RESV_PEERS; i++)
		ro[i] = rw ? rw : open_peer_as(ub, &rb[i]);
	ASSERT_EQ(0, param_write("user_inflight_fds_max", old));
	ASSERT_EQ(0, rw);
	sa = mu_open_as(ua);
	sc = mu_open_as(uc);
	ASSERT_GE(sa, 0);
	ASSERT_GE(sc, 0);
	ASSERT_EQ(0, open_peer_as(UID(22, 4), &rd));
	ASSERT_EQ(0, mu_reset(rd.fd, 0, MU_KEEP, MU_KEEP, MU_KEEP, 0));
	for (i = 0; i < RESV_DSTS; i++) {
		struct bus1_cmd_peer_reset q;

		k = resv_dst_peer(i);
		if (k < 0) {
			ASSERT_EQ(0, b1_transfer(rd.fd, NODE + ((__u64)i << 8),
						 sa, &dst[i]));
			continue;
		}
		ASSERT_EQ(0, ro[k]);
		ASSERT_EQ(0, b1_query(rb[k].fd, &q));
		ASSERT_EQ(RESV_FDS_MAX, q.max_inflight_fds);
		ASSERT_EQ(0, b1_transfer(rb[k].fd, NODE, sa, &dst[i]));
	}
	ASSERT_EQ(0, ro[RESV_PEERS]);
	ASSERT_EQ(0, b1_transfer(rb[RESV_PEERS].fd, NODE, sc, &hc));

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		_exit(resv_watcher(w, sc, hc, &rb[RESV_PEERS], p[1]));
	pin_cpu(0);
	while (!atomic_load(&w->ready))
		;
	start = b1_now_ns();
	for (round = 0; round < RESV_ROUNDS &&
	     b1_now_ns() - start < RESV_SECONDS * 1000000000ULL; round++) {
		ASSERT_EQ(0, mu_sendv(sa, BUS1_SEND_FLAG_CONTINUE, dst,
				      RESV_DSTS, errors, NULL, 0, NULL, 0,
				      &p[1], 1));
		/* 7, or 6 while C holds its fd (4 <= 16 - 1 - 2 * 6 fails) */
		ASSERT_EQ(0, errors[0]);
		for (n = 0, i = 0; i < RESV_DSTS; i++) {
			k = resv_dst_peer(i);
			if (k < 0) {
				ASSERT_EQ(EDQUOT, errors[i]);
				continue;
			}
			ASSERT_TRUE(!errors[i] || errors[i] == EDQUOT);
			if (!errors[i]) {
				ASSERT_EQ(0, recv_close(&rb[k]));
				n++;
			}
		}
		ASSERT_LE(6, n);
		ASSERT_GE(7, n);
		if (atomic_load(&w->refused))
			break;
	}
	atomic_store(&w->stop, 1);
	ASSERT_EQ(0, mu_wait(pid)) {
		TH_LOG("user C failed with %d", w->err);
	}
	TH_LOG("%d multicasts of A, %ld round trips of C, %llu ms", round,
	       w->sent, (b1_now_ns() - start) / 1000000ULL);
	ASSERT_EQ(0, atomic_load(&w->refused)) {
		TH_LOG("user C got EDQUOT in round %d of A, with at most 7 of B's 16 fds held by A",
		       round);
	}
	for (i = 0; i <= RESV_PEERS; i++) {
		assert_idle(_metadata, rb[i].fd);
		mu_peer_close(&rb[i]);
	}
	assert_idle(_metadata, rd.fd);
	mu_peer_close(&rd);
	close(sa);
	close(sc);
	close(p[0]);
	close(p[1]);
}

/*
 * A peer charged from a multicast's reservation keeps its own hard limits
 * (bus1_quota_charge_reserved() checks them before the per-peer rule):
 * user A multicasts with CONTINUE to four peers of user B, one of which
 * takes no slice (PEER_RESET); the first is charged exactly, the other
 * three from a reservation of three, which fits. Only the peer without
 * room refuses, with EDQUOT, whatever its position after the first.
 */
#define PL_PEERS	4

TEST(multicast_peer_limit)
{
	uid_t ua = UID(23, 1), ub = UID(23, 2);
	struct mu_peer rb[PL_PEERS];
	unsigned long slices = param("user_slices_max", 16384);
	__u64 dst[PL_PEERS], errors[PL_PEERS];
	int sa, i, full;

	sa = mu_open_as(ua);
	ASSERT_GE(sa, 0);
	for (i = 0; i < PL_PEERS; i++) {
		ASSERT_EQ(0, open_peer_as(ub, &rb[i]));
		ASSERT_EQ(0, b1_transfer(rb[i].fd, NODE, sa, &dst[i]));
	}
	for (full = 1; full < PL_PEERS; full++) {
		ASSERT_EQ(0, mu_reset(rb[full].fd, 0, 0, MU_KEEP, MU_KEEP,
				      MU_KEEP));
		ASSERT_EQ(0, mu_sendv(sa, BUS1_SEND_FLAG_CONTINUE, dst,
				      PL_PEERS, errors, NULL, 0, NULL, 0, NULL,
				      0));
		for (i = 0; i < PL_PEERS; i++) {
			ASSERT_EQ(i == full ? EDQUOT : 0, errors[i]) {
				TH_LOG("peer %d of B (peer %d without room)",
				       i, full);
			}
			ASSERT_EQ(i == full ? 0 : 1, drain(&rb[i]));
		}
		ASSERT_EQ(0, mu_reset(rb[full].fd, 0, slices, MU_KEEP,
				      MU_KEEP, MU_KEEP));
	}
	for (i = 0; i < PL_PEERS; i++) {
		assert_idle(_metadata, rb[i].fd);
		mu_peer_close(&rb[i]);
	}
	close(sa);
}

/*
 * A multicast's reservation is taken on one receiving user and covers
 * that user's peers only: a peer of another user listed among them is
 * charged to its own user. User A multicasts 64 KiB to B's first peer,
 * C's peer and B's second and third peer (a reservation for the last
 * two); once all of them received it, nothing of it may stay charged to
 * B: A's flood of 64 KiB messages to a fourth peer of B queues what it
 * queued before the multicast (the per-peer rule's quarter of B's bytes,
 * less if B's figures kept a charge). The same for C.
 */
TEST(multicast_other_user)
{
	uid_t ua = UID(24, 1), ub = UID(24, 2), uc = UID(24, 3);
	struct mu_peer rb[4], rc[2];
	__u64 dst[4], hb, hc;
	long nb, nc;
	struct flood *f;
	static __u8 buf[65536];
	struct iovec v = { .iov_base = buf, .iov_len = sizeof(buf) };
	int sa, i;

	f = shared_alloc(sizeof(*f));
	ASSERT_NE(NULL, f);
	sa = mu_open_as(ua);
	ASSERT_GE(sa, 0);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, open_peer_as(ub, &rb[i]));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, open_peer_as(uc, &rc[i]));
	ASSERT_EQ(0, b1_transfer(rb[0].fd, NODE, sa, &dst[0]));
	ASSERT_EQ(0, b1_transfer(rc[0].fd, NODE, sa, &dst[1]));
	ASSERT_EQ(0, b1_transfer(rb[1].fd, NODE, sa, &dst[2]));
	ASSERT_EQ(0, b1_transfer(rb[2].fd, NODE, sa, &dst[3]));
	ASSERT_EQ(0, b1_transfer(rb[3].fd, NODE, sa, &hb));
	ASSERT_EQ(0, b1_transfer(rc[1].fd, NODE, sa, &hc));

	/* the floods before: nothing of A held on B or C */
	*f = (struct flood){ .fd = sa, .dst = hb, .len = sizeof(buf),
			     .max = FLOOD_CAP };
	ASSERT_EQ(0, flood_as(ua, f));
	ASSERT_EQ(-EDQUOT, f->err);
	nb = f->n;
	ASSERT_EQ(nb, drain(&rb[3]));
	*f = (struct flood){ .fd = sa, .dst = hc, .len = sizeof(buf),
			     .max = FLOOD_CAP };
	ASSERT_EQ(0, flood_as(ua, f));
	ASSERT_EQ(-EDQUOT, f->err);
	nc = f->n;
	ASSERT_EQ(nc, drain(&rc[1]));
	TH_LOG("A's flood of 64 KiB messages: %ld to B, %ld to C", nb, nc);

	ASSERT_EQ(0, mu_sendv(sa, 0, dst, 4, NULL, &v, 1, NULL, 0, NULL, 0));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(1, drain(&rb[i]));
	ASSERT_EQ(1, drain(&rc[0]));

	*f = (struct flood){ .fd = sa, .dst = hb, .len = sizeof(buf),
			     .max = FLOOD_CAP };
	ASSERT_EQ(0, flood_as(ua, f));
	ASSERT_EQ(-EDQUOT, f->err);
	ASSERT_EQ(nb, f->n) {
		TH_LOG("B's figures kept a charge of the multicast");
	}
	ASSERT_EQ(nb, drain(&rb[3]));
	*f = (struct flood){ .fd = sa, .dst = hc, .len = sizeof(buf),
			     .max = FLOOD_CAP };
	ASSERT_EQ(0, flood_as(ua, f));
	ASSERT_EQ(-EDQUOT, f->err);
	ASSERT_EQ(nc, f->n) {
		TH_LOG("C's figures lost a charge of the multicast");
	}
	ASSERT_EQ(nc, drain(&rc[1]));
	for (i = 0; i < 4; i++) {
		assert_idle(_metadata, rb[i].fd);
		mu_peer_close(&rb[i]);
	}
	for (i = 0; i < 2; i++) {
		assert_idle(_metadata, rc[i].fd);
		mu_peer_close(&rc[i]);
	}
	close(sa);
}

/*
 * Handle references a receiver's user holds are charged without a share
 * (bus1_quota_charge(): node creation, HANDLE_TRANSFER), against figures
 * that may still count what a settle left on a CPU. A charge those refuse
 * must fold them and be decided on the exact figures: user B, with a
 * limit of 8 handles, gets a message carrying a handle from user A and
 * flushes it unreceived (its handle charge goes back to a CPU's part, not
 * to B's figures; the flush also releases B's node); B then creates nodes
 * up to exactly its limit.
 */
#define HL_MAX		8

TEST(handle_limit_after_settle)
{
	uid_t ua = UID(25, 1), ub = UID(25, 2);
	__u64 ha, h = NODE2, ids[HL_MAX];
	struct mu_peer rb;
	unsigned long old;
	long h0, h1;
	int sa, rw, ro, i;

	old = param("user_handles_max", 65536);
	rw = param_write("user_handles_max", HL_MAX);
	ro = rw ? rw : open_peer_as(ub, &rb);
	ASSERT_EQ(0, param_write("user_handles_max", old));
	ASSERT_EQ(0, rw);
	ASSERT_EQ(0, ro);
	sa = mu_open_as(ua);
	ASSERT_GE(sa, 0);
	ASSERT_EQ(0, b1_transfer(rb.fd, NODE, sa, &ha));
	h0 = mu_counter(rb.fd, "bus1-charge-handles");
	/* room for A's one handle: 4 * 1 <= 8 - h0 (quota.rst) */
	ASSERT_GE(HL_MAX - 4, h0);

	ASSERT_EQ(0, mu_sendv(sa, 0, &ha, 1, NULL, NULL, 0, &h, 1, NULL, 0));
	ASSERT_EQ(h0 + 1, mu_counter(rb.fd, "bus1-charge-handles"));
	ASSERT_EQ(0, mu_reset(rb.fd, BUS1_PEER_RESET_FLAG_FLUSH, MU_KEEP,
			      MU_KEEP, MU_KEEP, MU_KEEP));
	ASSERT_EQ(0, mu_counter(rb.fd, "bus1-queued"));
	h1 = mu_counter(rb.fd, "bus1-charge-handles");
	ASSERT_GE(h0, h1);

	/* n_destinations 0: the SEND only creates the nodes of its array */
	for (i = 0; i < HL_MAX - h1; i++)
		ids[i] = NODE2 + ((__u64)(i + 1) << 8);
	ASSERT_EQ(0, mu_sendv(rb.fd, 0, NULL, 0, NULL, NULL, 0, ids,
			      HL_MAX - h1, NULL, 0)) {
		TH_LOG("B refused %ld nodes with %ld of %d handles held",
		       HL_MAX - h1, h1, HL_MAX);
	}
	ASSERT_EQ(HL_MAX, mu_counter(rb.fd, "bus1-charge-handles"));
	ids[0] = NODE2 + ((__u64)HL_MAX << 12);
	ASSERT_EQ(-EDQUOT, mu_sendv(rb.fd, 0, NULL, 0, NULL, NULL, 0, ids, 1,
				    NULL, 0));
	close(sa);
	mu_peer_close(&rb);
}

TEST_HARNESS_MAIN
