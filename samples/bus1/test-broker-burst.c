// SPDX-License-Identifier: GPL-2.0
/*
 * The burst cut-off (broker.rst, Robustness) judges what one client had
 * queued at once: a client that waits for each reply before it sends its
 * next request is never cut off, whatever the broker's queue held before
 * it. The layout that once cut such a client off: a flooder is cut off at
 * its (BURST + 1)th request in one batch, a second client's requests fill
 * the rest of that batch and head the next one, so the flooder's backlog
 * is still queued behind a live message, now stale (its node is
 * destroyed), when the next batch begins. RECV discards stale entries
 * without returning them, so a batch that took "as many messages as were
 * queued when it began" as its bound read on past them, into the requests
 * the waiting client sent after replies of that same batch, and cut it off
 * at its (BURST + 1)th round trip: its request unanswered, its connection
 * gone (CI, 6.12, test-broker-flood: "error -110", then -113).
 *
 * The test stops the broker (SIGSTOP) to lay the queue out, and shares the
 * broker's CPU at SCHED_FIFO, so that each of its requests is queued before
 * the broker takes up its next message: every round trip then falls into
 * one batch unless the broker bounds batches by something the client's
 * round trips cannot stretch.
 */
#include "broker-test.h"
#include "broker-int.h"

/* the flooder's requests behind its cut-off: stale when the batch ends */
#define BACKLOG		500
#define TRIPS		(4 * BROKER_MAX_BURST)
#define HANG_MS		20000

static int send_pings(struct b1c *c, unsigned int n)
{
	unsigned char buf[B1B_HDR_SIZE];
	struct b1b_buf b;
	unsigned int i;
	int r;

	for (i = 0; i < n; i++) {
		b1b_buf_init(&b, buf, sizeof(buf));
		b1b_put_hdr(&b, B1B_OP_PING, ++c->serial, 0);
		r = b1b_finish(&b);
		if (r < 0)
			return r;
		r = b1c_send_raw(c, c->broker, buf, r, NULL, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

int main(void)
{
	struct b1c *waiter = NULL, *flooder = NULL, *filler = NULL;
	unsigned int trips = 0;
	struct b1c_msg *m = NULL;
	struct test_broker_stats st = { 0 };
	cpu_set_t rest;
	int r, status;

	tap_start("broker: the burst cut-off spares a client that waits for its replies");
	tap_plan(8);
	CHECK_R(test_broker_start(NULL, 5000), 0, "broker started");
	r = b1c_connect(NULL, &waiter);
	if (!r)
		r = b1c_connect(NULL, &flooder);
	if (!r)
		r = b1c_connect(NULL, &filler);
	CHECK_R(r, 0, "three clients connect");
	if (r < 0)
		goto out;
	test_share_cpu_with_broker(&rest);

	r = kill(test_broker_pid, SIGSTOP) < 0 ? -errno : 0;
	if (!r && waitpid(test_broker_pid, &status, WUNTRACED) < 0)
		r = -errno;
	if (!r)
		r = send_pings(flooder, BROKER_MAX_BURST + 1);
	if (!r)
		r = send_pings(filler, BATCH - BROKER_MAX_BURST);
	if (!r)
		r = send_pings(flooder, BACKLOG);
	if (!r)
		r = send_pings(waiter, 1);
	kill(test_broker_pid, SIGCONT);
	CHECK_R(r, 0, "queued %d + %d of a flooder, %d of another between, 1 of a waiter",
		BROKER_MAX_BURST + 1, BACKLOG, BATCH - BROKER_MAX_BURST);

	/* the first reply, then round trips: each request after a reply */
	if (!r)
		r = b1c_recv(waiter, HANG_MS, &m);
	b1c_msg_free(m);
	while (!r && ++trips < TRIPS)
		r = b1c_ping(waiter, HANG_MS);
	CHECK(!r && trips == TRIPS,
	      "the waiting client was answered every time (%u of %d round trips, error %d)",
	      trips, TRIPS, r);
	r = send_pings(flooder, 1);
	CHECK(r == -EHOSTUNREACH, "the flooder was cut off (its next send: %d)",
	      r);
	r = test_broker_stats(waiter, HANG_MS, &st);
	CHECK(!r && st.rejected == 1,
	      "the broker cut off one client (error %d, rejected %llu)", r,
	      (unsigned long long)st.rejected);
	test_broker_alive();
out:
	b1c_free(waiter);
	b1c_free(flooder);
	b1c_free(filler);
	CHECK_R(test_broker_stop(), 0, "broker exits cleanly");
	return tap_end();
}
