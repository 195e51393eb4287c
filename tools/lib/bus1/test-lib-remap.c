// SPDX-License-Identifier: GPL-2.0
/*
 * libbus1 pool window: a message beyond the mapped window makes RECV fail
 * with ERANGE; the library maps a larger window and retries transparently,
 * and views of messages received before the remap stay valid.
 */
#include <fcntl.h>
#include "test-lib.h"

#define BIG (300 * 1024)

int main(void)
{
	struct bus1_peer *a = NULL, *b = NULL;
	struct bus1_message m1, m2, m3;
	__u64 na, hb;
	char *big;
	size_t i;
	int fd, r, ok;

	tap_start("libbus1 transparent pool remap");
	tap_plan(22);
	big = malloc(BIG);
	if (!big)
		return 1;
	for (i = 0; i < BIG; i++)
		big[i] = 'a' + i % 23;

	fd = open(BUS1_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0, "open %s", BUS1_DEVICE_PATH);
	CHECK_R(bus1_peer_new_from_fd(fd, 4096, &a), 0,
		"peer with a one-page pool window");
	CHECK_R(bus1_peer_new(&b), 0, "second peer");
	if (!a || !b)
		return tap_end();
	CHECK(bus1_peer_get_map_size(a) == 4096, "window is 4096 bytes");
	CHECK_R(bus1_node_new(a, &na), 0, "node");
	CHECK_R(bus1_handle_transfer(a, na, b, &hb), 0, "handle to b");

	CHECK_R(bus1_send_data(b, hb, "small-1", 7), 0, "send small message");
	CHECK_R(bus1_send_data(b, hb, big, BIG), 0, "send 300 KiB message");
	CHECK_R(bus1_send_data(b, hb, "small-2", 7), 0, "send small message");

	CHECK_R(bus1_recv(a, 0, &m1), 0, "receive the first (fits)");
	CHECK(m1.n_bytes == 7 && !memcmp(m1.data, "small-1", 7),
	      "first payload ok");
	CHECK(bus1_peer_get_map_size(a) == 4096, "no remap needed yet");

	r = bus1_recv(a, 0, &m2);
	CHECK_R(r, 0, "receive the big one (ERANGE handled inside)");
	CHECK(bus1_peer_get_map_size(a) >= m2.offset + BIG,
	      "window grew to %zu bytes", bus1_peer_get_map_size(a));
	ok = !r && m2.n_bytes == BIG && !memcmp(m2.data, big, BIG);
	CHECK(ok, "big payload intact");
	CHECK(!memcmp(m1.data, "small-1", 7),
	      "view received before the remap is still valid");
	CHECK_R(bus1_recv(a, 0, &m3), 0, "receive the last");
	CHECK(m3.n_bytes == 7 && !memcmp(m3.data, "small-2", 7),
	      "last payload ok");
	CHECK_R(bus1_message_release(&m1), 0, "release (old window)");
	CHECK_R(bus1_message_release(&m2), 0, "release big");
	CHECK_R(bus1_message_release(&m3), 0, "release last");
	CHECK_R(bus1_recv(a, 0, &m1), -EAGAIN, "queue empty");

	bus1_peer_free(a);
	bus1_peer_free(b);
	free(big);
	return tap_end();
}
