// SPDX-License-Identifier: GPL-2.0
/*
 * test-stall - head-of-line stalls (issue #15 item 5).
 *
 * A transaction holds a staging entry on each destination queue from its
 * staging to its commit; every message committed behind that entry waits.
 * The time is linear in the number of entries the transaction stages, so
 * the number of destinations of a SEND and of nodes of a NODES_DESTROY is
 * bounded by BUS1_DESTINATION_MAX (bus1(7), threat-model.rst). Since tx.c
 * stages runs of one queue longest first and commits them shortest first,
 * a victim's single entry waits for about one lock hold per distinct
 * destination queue, not per entry: here two (the victim's, the sink's).
 *
 * hol_latency measures it: a victim receives 1 ms-spaced unicasts from a
 * sender of its own, idle, then alternately under a similar CPU load
 * without multicasts and while an unprivileged user loops maximal
 * multicasts to the victim's node plus the nodes of a sink peer of its own,
 * in the same VM run, and compares the p99 latencies.
 *
 * Parameters (environment):
 *   BUS1_STALL_MSGS    unicasts per phase (default 400)
 *   BUS1_STALL_ROUNDS  busy/attack phase pairs (default 3)
 */
#define _GNU_SOURCE
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "msg-util.h"

/* before the limit existed the header did not define it; the test fails */
#ifndef BUS1_DESTINATION_MAX
#define BUS1_DESTINATION_MAX 1024
#endif

#define STALL_UID	65534
#define VICTIM_NODE	0x100ULL
#define STALL_MAGIC	0x11a7e4c9ULL
/* more than any user can stage at once with the default quotas */
#define ATTACK_TRY	8192

/* a destination array of @n fresh node ids of the caller, after @first */
static __u64 *own_nodes(__u64 first, size_t n)
{
	__u64 *ids = calloc(n + 1, sizeof(*ids));
	size_t i;

	if (!ids)
		return NULL;
	ids[0] = first;
	for (i = 1; i <= n; i++)
		ids[i] = (__u64)(0x10000 + i) << 3;
	return ids;
}

static int send_multi(int fd, __u64 flags, const __u64 *dst, size_t n,
		      __u64 *err)
{
	return mu_sendv(fd, flags, dst, n, err, NULL, 0, NULL, 0, NULL, 0);
}

TEST(destination_limit)
{
	__u64 *ids, *err;
	int a, b;
	__u64 hb;

	ids = own_nodes(0, BUS1_DESTINATION_MAX + 1);
	err = calloc(BUS1_DESTINATION_MAX + 2, sizeof(*err));
	ASSERT_NE(NULL, ids);
	ASSERT_NE(NULL, err);
	a = b1_open();
	b = b1_open();
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, b1_transfer(b, VICTIM_NODE, a, &hb));
	ids[0] = hb;

	/* one destination too many: refused before anything happens */
	ASSERT_EQ(-EMSGSIZE, send_multi(a, 0, ids, BUS1_DESTINATION_MAX + 1,
					NULL));
	ASSERT_EQ(-EMSGSIZE, send_multi(a, BUS1_SEND_FLAG_CONTINUE, ids,
					BUS1_DESTINATION_MAX + 1, err));
	ASSERT_EQ(0, mu_counter(a, "bus1-nodes"));
	ASSERT_EQ(0, mu_counter(b, "bus1-queued"));
	/* exactly at the limit is fine */
	ASSERT_EQ(0, send_multi(a, 0, ids, BUS1_DESTINATION_MAX, NULL));
	ASSERT_EQ(BUS1_DESTINATION_MAX - 1, mu_counter(a, "bus1-nodes"));
	ASSERT_EQ(1, mu_counter(b, "bus1-queued"));

	/* the same bound for the nodes of one NODES_DESTROY */
	ASSERT_EQ(-EMSGSIZE, b1_destroy(a, 0, ids + 1,
					BUS1_DESTINATION_MAX + 1));
	ASSERT_EQ(BUS1_DESTINATION_MAX - 1, mu_counter(a, "bus1-nodes"));
	/* the last one is created on demand, and destroyed with the rest */
	ASSERT_EQ(0, b1_destroy(a, 0, ids + 1, BUS1_DESTINATION_MAX));
	ASSERT_EQ(0, mu_counter(a, "bus1-nodes"));

	close(b);
	close(a);
	free(err);
	free(ids);
}

enum { ATTACK_PAUSE, ATTACK_BUSY, ATTACK_MAX };

struct stall_shared {
	atomic_uint stop;
	atomic_uint mode;
	atomic_uint sends;
	atomic_uint dests;
	atomic_uint err;
	atomic_ullong send_ns;
	atomic_ullong send_max_ns;
};

/*
 * The sink: a peer of the attacker owning @n nodes, drained by a process of
 * its own, so that the attacker's multicasts follow each other without a
 * pause. The attacker's peer gets a handle to each node; @ids[1..n] become
 * those handles (ids[0] stays the victim's).
 */
static int sink_setup(int att, int sink, __u64 *ids, size_t n)
{
	size_t i;
	int r = 0;

	for (i = 0; !r && i < n; i++)
		r = b1_transfer(sink, (__u64)(0x10000 + i) << 3, att,
				&ids[i + 1]);
	return r;
}

static void sink_drain(int sink, struct stall_shared *sh)
{
	struct pollfd pfd = { .fd = sink, .events = POLLIN };
	struct bus1_cmd_recv r;

	while (!atomic_load(&sh->stop)) {
		if (b1_recv(sink, 0, MU_POOL_MAX, &r)) {
			poll(&pfd, 1, 10);
			continue;
		}
		if (r.msg.type == BUS1_MSG_DATA)
			b1_slice_release(sink, r.msg.offset);
	}
	_exit(0);
}

/*
 * The attacker: maximal multicasts to the victim's node plus the sink's
 * nodes in a loop (ATTACK_MAX), or, as the baseline with a similar CPU
 * load, unicasts to a node of its own that it receives (ATTACK_BUSY).
 */
static void attack(int fd, __u64 *ids, struct stall_shared *sh)
{
	const __u64 self = 0x7000ULL << 3;
	struct bus1_cmd_recv r;
	size_t n = ATTACK_TRY;
	__u64 *err, t0, dt;
	unsigned int i, ok, mode;

	err = calloc(n + 1, sizeof(*err));
	if (!err)
		_exit(3);
	while (!atomic_load(&sh->stop)) {
		mode = atomic_load(&sh->mode);
		if (mode == ATTACK_PAUSE) {
			usleep(1000);
			continue;
		}
		if (mode == ATTACK_BUSY) {
			/* a node of its own, received right away */
			send_multi(fd, 0, &self, 1, NULL);
			while (!b1_recv(fd, 0, MU_POOL_MAX, &r))
				if (r.msg.type == BUS1_MSG_DATA)
					b1_slice_release(fd, r.msg.offset);
			continue;
		}
		t0 = b1_now_ns();
		if (send_multi(fd, BUS1_SEND_FLAG_CONTINUE, ids, n + 1,
			       err) == -EMSGSIZE && n >= BUS1_DESTINATION_MAX) {
			/* the most the kernel takes in one transaction */
			n = BUS1_DESTINATION_MAX - 1;
			continue;
		}
		dt = b1_now_ns() - t0;
		for (i = 0, ok = 0; i <= n; i++) {
			ok += !err[i];
			if (err[i])
				atomic_store(&sh->err, err[i]);
		}
		atomic_store(&sh->dests, ok);
		atomic_fetch_add(&sh->send_ns, dt);
		if (dt > atomic_load(&sh->send_max_ns))
			atomic_store(&sh->send_max_ns, dt);
		atomic_fetch_add(&sh->sends, 1);
	}
	_exit(0);
}

struct stall_victim {
	struct mu_peer v;
	int sender;
	__u64 hv;
	unsigned int n;
	__u64 *lat;
};

/*
 * Receives the unicast number @i, which is committed already: whatever
 * RECV waits for is the staging entry of a transaction in front of it.
 * The attacker's empty messages to the victim are dropped on the way.
 */
static int victim_recv(struct stall_victim *s, unsigned int i, __u64 t0)
{
	struct pollfd pfd = { .fd = s->v.fd, .events = POLLIN };
	struct bus1_cmd_recv r;
	const __u64 *p;
	int ret;

	for (;;) {
		ret = mu_peer_recv(&s->v, 0, &r);
		if (ret == -EAGAIN) {
			/*
			 * Sleep, as a real receiver would: spinning here
			 * could preempt the very commit we wait for.
			 */
			if (b1_now_ns() - t0 > 10000000000ULL)
				return -ETIMEDOUT;
			poll(&pfd, 1, 1000);
			continue;
		}
		if (ret)
			return ret;
		if (r.msg.type != BUS1_MSG_DATA)
			continue;
		p = mu_payload(&s->v, &r);
		ret = r.msg.n_bytes == 16 && p[0] == STALL_MAGIC && p[1] == i;
		b1_slice_release(s->v.fd, r.msg.offset);
		if (ret)
			return 0;
	}
}

/*
 * @n unicasts 1 ms apart, each received right after its SEND returned; the
 * latency is from before the SEND to the RECV that returns it. Scheduling
 * noise of the host hits the few microseconds of a SEND and a RECV only,
 * unlike a wake-up of a separate receiver.
 */
static int victim_phase(struct stall_victim *s)
{
	struct timespec next;
	__u64 msg[2], t0;
	unsigned int i;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (i = 0; i < s->n; i++) {
		next.tv_nsec += 1000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		msg[0] = STALL_MAGIC;
		msg[1] = i;
		t0 = b1_now_ns();
		r = mu_send1(s->sender, s->hv, msg, sizeof(msg));
		if (!r)
			r = victim_recv(s, i, t0);
		if (r)
			return r;
		s->lat[i] = b1_now_ns() - t0;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static double percentile(__u64 *lat, unsigned int n, unsigned int pct)
{
	qsort(lat, n, sizeof(*lat), cmp_u64);
	return lat[(__u64)n * pct / 100] / 1e6;
}

/*
 * The bound: the p99 under attack stays within a few times the p99 under
 * the same CPU load without multicasts, plus a slack. With two vCPUs busy,
 * TCG on a loaded host adds tens of milliseconds of noise now and then to
 * any operation; the phases alternate and are pooled, so the noise hits
 * both alike, and a stall shows on top of it.
 */
#define STALL_FACTOR	2.0
/* the slack, in ms: 10 by default, more on KASAN kernels (qemu/init) */
#define STALL_SLACK_MS	((double)mu_param("BUS1_STALL_SLACK_MS", 10))

/*
 * An empty fixture, only for TEST_F_TIMEOUT: on a debug kernel a maximal
 * SEND takes ~10 ms, and with the host loaded the phases took more than
 * the harness's default 30 s (6.12-debug, session 10's CI: busy p99 17.6
 * ms, one attacker SEND per phase, killed at 30 s).
 */
FIXTURE(slow) {
	int unused;
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

TEST_F_TIMEOUT(slow, hol_latency, 120)
{
	double idle50, idle99, busy50, busy99, att50, att99, mean;
	unsigned int round, rounds, sends, n;
	struct stall_victim s = {};
	struct stall_shared *sh;
	__u64 *busy, *hit, *ids;
	int att, sink, i;
	pid_t pid[2];

	if (geteuid() != 0)
		SKIP(return, "needs root to open a peer as another user");
	s.n = mu_param("BUS1_STALL_MSGS", 400);
	rounds = mu_param("BUS1_STALL_ROUNDS", 3);
	n = s.n * rounds;
	s.lat = calloc(s.n, sizeof(*s.lat));
	busy = calloc(n, sizeof(*busy));
	hit = calloc(n, sizeof(*hit));
	ASSERT_NE(NULL, s.lat);
	ASSERT_NE(NULL, busy);
	ASSERT_NE(NULL, hit);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	memset(sh, 0, sizeof(*sh));

	ASSERT_EQ(0, mu_peer_open(&s.v, 1 << 20));
	s.sender = b1_open();
	ASSERT_LE(0, s.sender);
	ASSERT_EQ(0, b1_transfer(s.v.fd, VICTIM_NODE, s.sender, &s.hv));
	att = mu_open_as(STALL_UID);
	ASSERT_LE(0, att);
	sink = mu_open_as(STALL_UID);
	ASSERT_LE(0, sink);
	ids = calloc(ATTACK_TRY + 1, sizeof(*ids));
	ASSERT_NE(NULL, ids);
	ASSERT_EQ(0, b1_transfer(s.v.fd, VICTIM_NODE, att, &ids[0]));
	ASSERT_EQ(0, sink_setup(att, sink, ids, ATTACK_TRY));

	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (pid[i])
			continue;
		if (setresgid(STALL_UID, STALL_UID, STALL_UID) ||
		    setresuid(STALL_UID, STALL_UID, STALL_UID))
			_exit(2);
		if (i)
			sink_drain(sink, sh);
		attack(att, ids, sh);
	}
	close(sink);
	close(att);

	/* for the record: nothing else running */
	ASSERT_EQ(0, victim_phase(&s));
	idle50 = percentile(s.lat, s.n, 50);
	idle99 = percentile(s.lat, s.n, 99);

	for (round = 0; round < rounds; round++) {
		atomic_store(&sh->mode, ATTACK_BUSY);
		usleep(20000);
		ASSERT_EQ(0, victim_phase(&s));
		memcpy(busy + round * s.n, s.lat, s.n * sizeof(*s.lat));

		sends = atomic_load(&sh->sends);
		atomic_store(&sh->mode, ATTACK_MAX);
		while (atomic_load(&sh->sends) < sends + 1)
			usleep(1000);
		sends = atomic_load(&sh->sends);
		ASSERT_EQ(0, victim_phase(&s));
		memcpy(hit + round * s.n, s.lat, s.n * sizeof(*s.lat));
		ksft_print_msg("round %u: p99 %.3f ms busy, %.3f ms under attack (%u SENDs)\n",
			       round, percentile(busy + round * s.n, s.n, 99),
			       percentile(s.lat, s.n, 99),
			       atomic_load(&sh->sends) - sends);
	}
	atomic_store(&sh->stop, 1);
	ASSERT_EQ(0, mu_wait(pid[0]));
	ASSERT_EQ(0, mu_wait(pid[1]));

	busy50 = percentile(busy, n, 50);
	busy99 = percentile(busy, n, 99);
	att50 = percentile(hit, n, 50);
	att99 = percentile(hit, n, 99);
	mean = atomic_load(&sh->send_ns) / 1e6 / atomic_load(&sh->sends);
	ksft_print_msg("attacker: %u SENDs of %u dests (refused: %u), %.2f ms mean, %.2f max\n",
		       atomic_load(&sh->sends), atomic_load(&sh->dests),
		       atomic_load(&sh->err), mean,
		       atomic_load(&sh->send_max_ns) / 1e6);
	ksft_print_msg("victim unicast latency: idle p50 %.3f p99 %.3f ms (%u)\n",
		       idle50, idle99, s.n);
	ksft_print_msg("victim unicast latency: busy p50 %.3f p99 %.3f max %.3f ms (%u)\n",
		       busy50, busy99, busy[n - 1] / 1e6, n);
	ksft_print_msg("victim unicast latency: attack p50 %.3f p99 %.3f max %.3f ms (%u)\n",
		       att50, att99, hit[n - 1] / 1e6, n);
	ASSERT_GE(STALL_FACTOR * busy99 + STALL_SLACK_MS, att99) {
		TH_LOG("p99 %.3f ms under attack, bound %.3f ms", att99,
		       STALL_FACTOR * busy99 + STALL_SLACK_MS);
	}

	close(s.sender);
	mu_peer_close(&s.v);
	munmap(sh, sizeof(*sh));
	free(ids);
	free(hit);
	free(busy);
	free(s.lat);
}

TEST_HARNESS_MAIN
