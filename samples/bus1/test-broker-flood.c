// SPDX-License-Identifier: GPL-2.0
/*
 * Flooding: two clients of another user hammer the broker (one with PINGs
 * while never reading its replies, with a small per-peer slice limit; one
 * with garbage) while a well-behaved client keeps doing round trips. The
 * kernel's sender quotas bound how much of the broker's queue the flooding
 * user can fill (their sends see EDQUOT); the broker cuts off clients with
 * more than BROKER_MAX_BURST requests queued at once (their sends then
 * fail), and a cut-off flooder connects again and goes on, as an attacker
 * would. The good client must be served throughout, and the broker must
 * stay alive and never block on the flooders.
 *
 * All of it is counted in broker work, none of it timed, so that a slow or
 * loaded host (TCG, several VMs on two cores) changes how long the test
 * takes but not its verdict: a bound in milliseconds (once "10 round trips
 * in 2.5 s", "every round trip < 5 s", "a new client served in < 2 s")
 * fails on a slow enough host and, with room for that, no longer tells a
 * starving broker from a fair one. The good client's round trips are
 * GET_STATS requests, whose replies carry the number of requests the
 * broker has handled; two consecutive replies give the gap of a round
 * trip, the requests of others the broker handled since the good client's
 * previous one. The flood lasts until the broker has handled FLOOD_WORK
 * requests of the flooders, however long that takes. The good client must
 * be answered every time with no gap above MAX_GAP, and so must a new
 * client once the flooders stop. Time only guards against hangs (HANG_MS,
 * FLOOD_MAX_MS).
 *
 * The bound: the broker serves its queue in the kernel's order and cuts a
 * client off at its 33rd request sent before one of the broker's fences
 * (broker-requests.c); what that client still has queued is discarded,
 * unhandled. A flooder
 * has one connection at a time, and its next one waits for the broker to
 * take its hello. So what the broker handles ahead of a request of the
 * good client is a few dozen requests of each flooder's current
 * connection: gaps were at most 95 (about three connections' worth) in
 * every run, quiet or loaded. MAX_GAP is 16 * BROKER_MAX_BURST, 512. A
 * broker that lets a flood keep it busy (no cut-off, or a cut-off only
 * once it has served the flooder's backlog) makes the good client wait
 * behind all the flooding user may queue at the broker, up to a quarter of
 * its 16384 slices (quota.rst): gaps of 2,000 and more in such runs.
 */
#include <sys/mman.h>
#include "broker-test.h"

#define FLOOD_UID	65534
#define F1_SLICES	64
/* requests of the flooders the broker handles: the length of the flood */
#define FLOOD_WORK	3000
/* the largest gap allowed: requests of others between two round trips */
#define MAX_GAP		(16 * BROKER_MAX_BURST)
/* hang guards, far beyond any run: a round trip, the flood */
#define HANG_MS		60000
#define FLOOD_MAX_MS	150000

enum { FLOOD_WAIT, FLOOD_RUN, FLOOD_STOP };

struct report {
	unsigned long sent;
	unsigned long edquot;
	unsigned long refused;	/* sends failing because it was cut off */
	unsigned long conns;	/* connections made */
	int done;		/* stopped, these are the final counts */
};

/* shared with the flooders */
struct shared {
	int state;
	struct report rep[2];
};

static int get_state(struct shared *sh)
{
	return __atomic_load_n(&sh->state, __ATOMIC_ACQUIRE);
}

static void set_state(struct shared *sh, int state)
{
	__atomic_store_n(&sh->state, state, __ATOMIC_RELEASE);
}

static int flood_connect(struct b1c **cp, bool garbage)
{
	struct bus1_limits lim = { F1_SLICES, BUS1_LIMIT_KEEP,
				   BUS1_LIMIT_KEEP, BUS1_LIMIT_KEEP };
	int r;

	r = b1c_connect(NULL, cp);
	if (!r && !garbage)
		r = bus1_peer_reset((*cp)->peer, 0, &lim);
	if (r < 0)
		*cp = b1c_free(*cp);
	return r;
}

static int flooder(struct shared *sh, int i, const cpu_set_t *cpus)
{
	struct report *rep = &sh->rep[i];
	unsigned char buf[B1B_HDR_SIZE];
	bool garbage = i == 1;
	struct b1c *c = NULL;
	struct b1b_buf b;
	int r;

	test_child_init();
	if (CPU_COUNT(cpus) && sched_setaffinity(0, sizeof(*cpus), cpus) < 0)
		return 59;
	if (setgid(FLOOD_UID) < 0 || setuid(FLOOD_UID) < 0)
		return 60;
	if (flood_connect(&c, garbage) < 0)
		return 61;
	b1b_buf_init(&b, buf, sizeof(buf));
	b1b_put_hdr(&b, B1B_OP_PING, 1, 0);
	if (b1b_finish(&b) < 0)
		return 63;
	if (garbage)
		memset(buf, 0xee, sizeof(buf));
	__atomic_store_n(&rep->conns, 1, __ATOMIC_RELEASE);
	while (get_state(sh) == FLOOD_WAIT)
		usleep(1000);
	while (get_state(sh) == FLOOD_RUN) {
		if (!c) {
			/* cut off by the broker: come back as a new client */
			if (flood_connect(&c, garbage) < 0)
				usleep(1000);
			else
				rep->conns++;
			continue;
		}
		r = b1c_send_raw(c, c->broker, buf, sizeof(buf), NULL, 0);
		if (!r) {
			rep->sent++;
		} else if (r == -EDQUOT) {
			rep->edquot++;
			usleep(500);
		} else {
			rep->refused++;
			c = b1c_free(c);
		}
	}
	__atomic_store_n(&rep->done, 1, __ATOMIC_RELEASE);
	pause();	/* keep the peer (and its unread replies) alive */
	return 0;
}

/* a flooder that exited (it only pauses once done): reported, false */
static bool flooders_alive(pid_t *pid)
{
	int i, status = 0;

	for (i = 0; i < 2; i++) {
		if (pid[i] > 0 && waitpid(pid[i], &status, WNOHANG) == 0)
			continue;
		if (pid[i] > 0)
			printf("# flooder %d exited (status %d)\n", i,
			       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		pid[i] = 0;
		return false;
	}
	return true;
}

int main(void)
{
	unsigned long trips = 0, live = 0, max_gap_trip = 0, hist[5] = { 0 };
	__u64 gap, max_gap = 0, work = 0, late_gap = 0;
	struct b1c *g = NULL, *late = NULL;
	long long t, start, lat, max_lat = 0, max_gap_lat = 0;
	struct test_broker_stats st, prev;
	cpu_set_t cpus;
	struct shared *sh;
	pid_t pid[2] = { 0, 0 };
	int i, r, status;

	tap_start("broker: a flooding client cannot starve others");
	tap_plan(10);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK_R(test_broker_start(NULL, 5000), 0, "broker started");
	CHECK_R(b1c_connect(NULL, &g), 0, "good client connects");
	if (!g || sh == MAP_FAILED)
		goto out;

	test_share_cpu_with_broker(&cpus);
	fflush(NULL);
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		if (!pid[i])
			_exit(flooder(sh, i, &cpus));
	}
	start = test_now_ms();
	while ((!__atomic_load_n(&sh->rep[0].conns, __ATOMIC_ACQUIRE) ||
		!__atomic_load_n(&sh->rep[1].conns, __ATOMIC_ACQUIRE)) &&
	       flooders_alive(pid) && test_now_ms() - start < HANG_MS)
		usleep(1000);
	r = test_broker_stats(g, HANG_MS, &prev);
	set_state(sh, FLOOD_RUN);
	start = test_now_ms();
	while (!r && work < FLOOD_WORK && flooders_alive(pid) &&
	       test_now_ms() - start < FLOOD_MAX_MS) {
		t = test_now_ms();
		r = test_broker_stats(g, HANG_MS, &st);
		lat = test_now_ms() - t;
		if (r < 0)
			break;
		trips++;
		gap = st.requests - prev.requests - 1;
		work += gap;
		live += st.clients > 1;
		hist[gap < 16 ? 0 : gap < 64 ? 1 : gap < 128 ? 2 :
		     gap <= MAX_GAP ? 3 : 4]++;
		if (gap > max_gap) {
			max_gap = gap;
			max_gap_trip = trips;
			max_gap_lat = lat;
		}
		if (lat > max_lat)
			max_lat = lat;
		prev = st;
	}
	set_state(sh, FLOOD_STOP);
	t = test_now_ms();
	while ((!__atomic_load_n(&sh->rep[0].done, __ATOMIC_ACQUIRE) ||
		!__atomic_load_n(&sh->rep[1].done, __ATOMIC_ACQUIRE)) &&
	       flooders_alive(pid) && test_now_ms() - t < HANG_MS)
		usleep(1000);
	for (i = 0; i < 2; i++)
		printf("# flooder %d (uid %d): %lu sent, %lu EDQUOT, %lu refused, %lu conns\n",
		       i, FLOOD_UID, sh->rep[i].sent, sh->rep[i].edquot,
		       sh->rep[i].refused, sh->rep[i].conns);
	printf("# good client: %lu round trips (%lu while flooders connected) in %lld ms\n",
	       trips, live, test_now_ms() - start);
	printf("# slowest round trip %lld ms, largest gap before #%lu (%lld ms)\n",
	       max_lat, max_gap_trip, max_gap_lat);
	printf("# gaps: <16 %lu, <64 %lu, <128 %lu, <=%d %lu, more %lu\n",
	       hist[0], hist[1], hist[2], MAX_GAP, hist[3], hist[4]);
	printf("# broker dropped %llu replies\n",
	       (unsigned long long)prev.dropped);
	CHECK(sh->rep[0].sent > BROKER_MAX_BURST &&
	      sh->rep[1].sent > BROKER_MAX_BURST && work >= FLOOD_WORK,
	      "the flooders did flood (%lu, %lu requests sent, %llu handled, >= %d)",
	      sh->rep[0].sent, sh->rep[1].sent, (unsigned long long)work,
	      FLOOD_WORK);
	CHECK(!r && trips,
	      "the good client was answered every time (%lu round trips, error %d)",
	      trips, r);
	CHECK(!r && trips && max_gap <= MAX_GAP,
	      "the good client was served throughout (%lu round trips, largest gap %llu, <= %d)",
	      trips, (unsigned long long)max_gap, MAX_GAP);
	CHECK(sh->rep[0].refused && sh->rep[1].refused,
	      "the broker cut both flooders off (%lu, %lu times)",
	      sh->rep[0].refused, sh->rep[1].refused);
	/* the flooders' backlog is cut off, not served before a newcomer */
	r = b1c_connect(NULL, &late);
	if (!r)
		r = test_broker_stats(late, HANG_MS, &st);
	if (!r)
		late_gap = st.requests - prev.requests - 1;
	CHECK(!r && late_gap <= MAX_GAP,
	      "a new client is served right away (error %d, gap %llu, <= %d)",
	      r, (unsigned long long)late_gap, MAX_GAP);
	test_broker_alive();
out:
	for (i = 0; i < 2; i++) {
		/* never kill(-1): fork fails under fault injection */
		if (pid[i] <= 0)
			continue;
		kill(pid[i], SIGKILL);
		waitpid(pid[i], &status, 0);
	}
	if (g)
		CHECK_R(b1c_ping(g, HANG_MS), 0,
			"broker fine after the flooders died");
	b1c_free(g);
	b1c_free(late);
	CHECK_R(test_broker_stop(), 0, "broker exits cleanly");
	return tap_end();
}
