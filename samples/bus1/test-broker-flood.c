// SPDX-License-Identifier: GPL-2.0
/*
 * Flooding: two clients of another user hammer the broker for a few
 * seconds (one with PINGs while never reading its replies, with a small
 * per-peer slice limit; one with garbage) while a well-behaved client keeps
 * doing PING round trips. The kernel's sender quotas bound how much of the
 * broker's queue the flooding user can fill (their sends see EDQUOT); the
 * broker cuts off clients above its request rate (their sends then fail).
 * The good client must be served throughout with bounded latency, and the
 * broker must stay alive and never block on the flooders.
 */
#include "broker-test.h"

#define FLOOD_MS	3000
#define FLOOD_UID	65534
#define F1_SLICES	64

struct report {
	unsigned long sent;
	unsigned long edquot;
	unsigned long other;
};

static int flooder(int fd, bool garbage)
{
	struct bus1_limits lim = { F1_SLICES, BUS1_LIMIT_KEEP,
				   BUS1_LIMIT_KEEP, BUS1_LIMIT_KEEP };
	unsigned char buf[B1B_HDR_SIZE];
	struct report rep = { 0 };
	struct b1b_buf b;
	struct b1c *c;
	long long end;
	int r;

	test_child_init_keep(fd);
	if (setgid(FLOOD_UID) < 0 || setuid(FLOOD_UID) < 0)
		return 60;
	if (b1c_connect(NULL, &c) < 0)
		return 61;
	if (!garbage && bus1_peer_reset(c->peer, 0, &lim) < 0)
		return 62;
	b1b_buf_init(&b, buf, sizeof(buf));
	b1b_put_hdr(&b, B1B_OP_PING, 1, 0);
	if (b1b_finish(&b) < 0)
		return 63;
	if (garbage)
		memset(buf, 0xee, sizeof(buf));
	end = test_now_ms() + FLOOD_MS;
	while (test_now_ms() < end) {
		r = b1c_send_raw(c, c->broker, buf, sizeof(buf), NULL, 0);
		if (!r) {
			rep.sent++;
		} else if (r == -EDQUOT) {
			rep.edquot++;
			usleep(500);
		} else {
			rep.other++;	/* cut off by the broker */
			usleep(1000);
		}
	}
	if (write(fd, &rep, sizeof(rep)) != sizeof(rep))
		return 64;
	pause();	/* keep the peer (and its unread replies) alive */
	return 0;
}

static __u64 get_dropped(struct b1c *c)
{
	struct b1b_cursor body;
	struct b1b_hdr h;
	struct b1c_msg *m = NULL;
	__u64 v = 0;
	int i;

	i = b1c_request(c, B1B_OP_GET_STATS, NULL, NULL, 0, 5000, &m);
	CHECK_R(i, 0, "GET_STATS");
	if (i == 0) {
		b1b_parse_hdr(m->data, m->n_bytes, &h, &body);
		for (i = 0; i < 5; i++)
			v = b1b_get_u64(&body);
	}
	b1c_msg_free(m);
	return v;
}

int main(void)
{
	struct report rep[2] = { 0 };
	struct b1c *g = NULL, *late = NULL;
	long long t, end, lat, max_lat = 0;
	unsigned long pings = 0, fails = 0;
	int pfd[2][2], i, r, status;
	pid_t pid[2];
	__u64 dropped;

	tap_start("broker: a flooding client cannot starve others");
	tap_plan(11);
	CHECK_R(test_broker_start(NULL, 5000), 0, "broker started");
	CHECK_R(b1c_connect(NULL, &g), 0, "good client connects");
	if (!g)
		goto out;

	fflush(NULL);
	for (i = 0; i < 2; i++) {
		if (pipe(pfd[i]) < 0)
			goto out;
		pid[i] = fork();
		if (!pid[i])
			_exit(flooder(pfd[i][1], i == 1));
		close(pfd[i][1]);
	}
	usleep(300000);
	end = test_now_ms() + FLOOD_MS - 500;
	while (test_now_ms() < end) {
		t = test_now_ms();
		r = b1c_ping(g, 5000);
		lat = test_now_ms() - t;
		if (r < 0)
			fails++;
		else
			pings++;
		if (lat > max_lat)
			max_lat = lat;
	}
	for (i = 0; i < 2; i++) {
		r = read(pfd[i][0], &rep[i], sizeof(rep[i]));
		close(pfd[i][0]);
		if (r != sizeof(rep[i])) {
			waitpid(pid[i], &status, WNOHANG);
			printf("# flooder %d failed (status %d)\n", i,
			       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		}
		printf("# flooder %d (uid %d): %lu sent, %lu EDQUOT, %lu other errors\n",
		       i, FLOOD_UID, rep[i].sent, rep[i].edquot, rep[i].other);
	}
	printf("# good client: %lu pings, %lu failed, max latency %lld ms\n",
	       pings, fails, max_lat);
	/*
	 * The broker may cut a flooder off as soon as it has more than its
	 * burst limit queued, so more than that is proof of a flood.
	 */
	CHECK(rep[0].sent > BROKER_MAX_BURST && rep[1].sent > BROKER_MAX_BURST,
	      "the flooders did flood (%lu, %lu requests)", rep[0].sent,
	      rep[1].sent);
	CHECK(pings >= 10 && !fails,
	      "the good client was served throughout (%lu round trips)",
	      pings);
	/* responsive, with slack for emulation on a loaded host */
	CHECK(max_lat < 5000, "worst round trip %lld ms (< 5000)", max_lat);
	CHECK(rep[0].other && rep[1].other,
	      "the broker cut both flooders off (%lu, %lu sends refused)",
	      rep[0].other, rep[1].other);
	dropped = get_dropped(g);
	printf("# broker dropped %llu replies\n", (unsigned long long)dropped);
	t = test_now_ms();
	r = b1c_connect(NULL, &late);
	if (!r)
		r = b1c_ping(late, 2000);
	CHECK(!r && test_now_ms() - t < 2000,
	      "a new client is served right away (%lld ms)",
	      test_now_ms() - t);
	test_broker_alive();
	for (i = 0; i < 2; i++) {
		/* never kill(-1): fork fails under fault injection */
		if (pid[i] <= 0)
			continue;
		kill(pid[i], SIGKILL);
		waitpid(pid[i], &status, 0);
	}
	CHECK_R(b1c_ping(g, 2000), 0, "broker fine after the flooders died");
out:
	b1c_free(g);
	b1c_free(late);
	CHECK_R(test_broker_stop(), 0, "broker exits cleanly");
	return tap_end();
}
