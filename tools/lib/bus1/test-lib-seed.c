// SPDX-License-Identifier: GPL-2.0
/*
 * libbus1 seed: bus1_seed_set() stores a message on the peer itself,
 * bus1_seed_get() reads it back once (payload and handles), the seed
 * survives until read and a new one replaces the old one.
 */
#include "test-lib.h"

int main(void)
{
	struct bus1_peer *a = NULL;
	struct bus1_message m;
	struct iovec v = { "seed-2", 6 }, v1 = { "seed-1", 6 };
	__u64 n1, n2;
	int r;

	tap_start("libbus1 seed");
	tap_plan(12);
	CHECK_R(bus1_peer_new(&a), 0, "open peer");
	if (!a)
		return tap_end();
	CHECK_R(bus1_seed_get(a, 0, &m), -EAGAIN, "no seed yet");
	CHECK_R(bus1_node_new(a, &n1), 0, "node 1");
	CHECK_R(bus1_node_new(a, &n2), 0, "node 2");
	CHECK_R(bus1_seed_set(a, &v1, 1, &n1, 1), 0, "set a seed");
	CHECK_R(bus1_seed_set(a, &v, 1, &n2, 1), 0, "replace the seed");
	r = bus1_seed_get(a, 0, &m);
	CHECK_R(r, 0, "read the seed");
	CHECK(!r && m.n_bytes == 6 && !memcmp(m.data, "seed-2", 6) &&
	      m.n_handles == 1 && m.handles[0] == n2 &&
	      m.destination == BUS1_HANDLE_INVALID,
	      "seed carries the second payload and node 2");
	CHECK_R(bus1_message_release(&m), 0, "release the seed slice");
	CHECK_R(bus1_seed_get(a, 0, &m), -EAGAIN, "seed is read only once");
	/* the replaced seed's in-flight reference to node 1 was dropped */
	r = bus1_recv(a, 0, &m);
	CHECK(!r && m.type == BUS1_MSG_NODE_RELEASE && m.destination == n1,
	      "replacing the seed released node 1 (NODE_RELEASE)");
	bus1_message_release(&m);
	CHECK_R(bus1_recv(a, 0, &m), -EAGAIN, "the seed never hits the queue");
	bus1_peer_free(a);
	return tap_end();
}
