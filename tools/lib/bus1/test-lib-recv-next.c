// SPDX-License-Identifier: GPL-2.0
/*
 * libbus1 bus1_recv_next() (LIBBUS1_2): one RECV releases the message held
 * in the struct and receives the next into it (BUS1_RECV_FLAG_RELEASE),
 * also across a transparent pool remap; with BUS1_RECV_FLAG_WAIT it blocks
 * until a message arrives from another process.
 */
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include "test-lib.h"

#define BIG (300 * 1024)

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static __u64 slices(struct bus1_peer *p)
{
	struct bus1_peer_stats st;

	return bus1_peer_get_stats(p, &st) ? ~0ULL : st.pool_slices;
}

int main(void)
{
	struct bus1_peer *a = NULL, *b = NULL, *c = NULL;
	struct bus1_message m = { .offset = BUS1_OFFSET_INVALID };
	__u64 na, hb, t0;
	char *big;
	size_t i;
	pid_t pid;
	int fd, st;

	tap_start("libbus1 bus1_recv_next");
	tap_plan(25);
	big = malloc(BIG);
	if (!big)
		return 1;
	for (i = 0; i < BIG; i++)
		big[i] = 'a' + i % 23;

	fd = open(BUS1_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	CHECK_R(bus1_peer_new_from_fd(fd, 4096, &a), 0,
		"peer with a one-page pool window");
	CHECK_R(bus1_peer_new(&b), 0, "second peer");
	CHECK_R(bus1_peer_new(&c), 0, "third peer");
	if (!a || !b || !c)
		return tap_end();
	CHECK_R(bus1_node_new(a, &na), 0, "node");
	CHECK_R(bus1_handle_transfer(a, na, b, &hb), 0, "handle to b");

	CHECK_R(bus1_recv_next(a, 0, &m), -EAGAIN,
		"empty struct, empty queue: EAGAIN");
	CHECK_R(bus1_send_data(b, hb, "one", 3), 0, "send one");
	CHECK_R(bus1_send_data(b, hb, big, BIG), 0, "send 300 KiB");
	CHECK_R(bus1_send_data(b, hb, "two", 3), 0, "send two");

	CHECK_R(bus1_recv_next(a, 0, &m), 0, "receive one");
	CHECK(m.n_bytes == 3 && !memcmp(m.data, "one", 3), "payload one");
	CHECK_R(bus1_recv_next(a, 0, &m), 0,
		"release one, receive the big one (ERANGE handled inside)");
	CHECK(m.n_bytes == BIG && !memcmp(m.data, big, BIG),
	      "big payload intact in the grown window");
	CHECK(slices(a) == 2, "one released: big and two left (%llu)",
	      (unsigned long long)slices(a));
	CHECK_R(bus1_recv_next(a, 0, &m), 0, "release big, receive two");
	CHECK(m.n_bytes == 3 && !memcmp(m.data, "two", 3), "payload two");
	CHECK_R(bus1_recv_next(a, 0, &m), -EAGAIN,
		"release two, queue empty: EAGAIN");
	CHECK(slices(a) == 0 && !m.peer &&
	      m.offset == BUS1_OFFSET_INVALID,
	      "two released and the struct emptied");

	CHECK_R(bus1_send_data(b, hb, "three", 5), 0, "send three");
	CHECK_R(bus1_recv_next(c, 0, &(struct bus1_message){ .peer = a }),
		-EINVAL, "a message of another peer: EINVAL");

	/* WAIT: block until a child process sends */
	CHECK_R(bus1_recv_next(a, 0, &m), 0, "receive three");
	pid = fork();
	if (pid == 0) {
		usleep(300 * 1000);
		_exit(bus1_send_data(b, hb, "four", 4) ? 1 : 0);
	}
	t0 = now_ms();
	CHECK_R(bus1_recv_next(a, BUS1_RECV_FLAG_WAIT, &m), 0,
		"release three, wait for four");
	CHECK(now_ms() - t0 >= 150 && m.n_bytes == 4 &&
	      !memcmp(m.data, "four", 4) && slices(a) == 1,
	      "waited %llu ms for the child's message",
	      (unsigned long long)(now_ms() - t0));
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	      !WEXITSTATUS(st), "child sent");
	CHECK_R(bus1_message_release(&m), 0, "release four");

	bus1_peer_free(a);
	bus1_peer_free(b);
	bus1_peer_free(c);
	free(big);
	return tap_end();
}
