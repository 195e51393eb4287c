// SPDX-License-Identifier: GPL-2.0
/*
 * libbus1 basics: peers, nodes, transfer, send/recv views (iovecs, handles,
 * fds), poll, notifications, limits, fdinfo stats, errors, disconnect and
 * multicast with per-destination errors (CONTINUE).
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "test-lib.h"

static int readable(struct bus1_peer *p)
{
	struct pollfd pfd = { .fd = bus1_peer_get_fd(p), .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

int main(void)
{
	struct bus1_peer *a = NULL, *b = NULL, *c = NULL, *e = NULL;
	struct bus1_message m;
	struct bus1_limits lim, lim2;
	struct bus1_peer_stats st;
	__u64 na = 0, nb = 0, hb = 0, ha = 0, hc = 0, dst[2], err[2];
	struct iovec v[3] = {
		{ "abc", 3 }, { "", 0 }, { "defgh", 5 },
	};
	struct bus1_send s;
	const char *pool;
	int p[2], r, fd;
	char buf[8], env[16];

	tap_start("libbus1 basic API");
	tap_plan(64);

	CHECK_R(bus1_peer_new(&a), 0, "open peer a");
	CHECK_R(bus1_peer_new(&b), 0, "open peer b");
	CHECK_R(bus1_peer_new(&c), 0, "open peer c");
	if (!a || !b || !c)
		return tap_end();
	CHECK(bus1_peer_get_fd(a) >= 0 &&
	      bus1_peer_get_map_size(a) == BUS1_MAP_DEFAULT,
	      "peer has an fd and a %lu byte pool window",
	      (unsigned long)BUS1_MAP_DEFAULT);

	CHECK_R(bus1_node_new(a, &na), 0, "create node in a");
	CHECK(!(na & (BUS1_HANDLE_FLAG_MANAGED | BUS1_HANDLE_FLAG_REMOTE)),
	      "node ID 0x%llx is a user ID", (unsigned long long)na);
	CHECK_R(bus1_handle_transfer(a, na, b, &hb), 0, "transfer to b");
	CHECK(hb == 0xb, "first remote handle in a fresh peer is 0xb (0x%llx)",
	      (unsigned long long)hb);

	/* unicast with a gather list */
	CHECK(!readable(a), "a not readable before any message");
	CHECK_R(bus1_recv(a, 0, &m), -EAGAIN, "recv on empty queue");
	s = (struct bus1_send){ .destinations = &hb, .n_destinations = 1,
				.vecs = v, .n_vecs = 3 };
	CHECK_R(bus1_send(b, &s), 0, "b sends 3 iovecs to a's node");
	CHECK(readable(a), "a readable (POLLIN) after the send");
	CHECK_R(bus1_recv(a, 0, &m), 0, "a receives");
	pool = NULL;
	if (m.type == BUS1_MSG_DATA) {
		pool = (const char *)m.data - m.offset;
		CHECK(m.destination == na && m.n_bytes == 8 &&
		      !memcmp(m.data, "abcdefgh", 8) && !m.n_handles &&
		      !m.n_fds, "DATA to node 0x%llx with payload abcdefgh",
		      (unsigned long long)na);
	} else {
		CHECK(0, "DATA expected, got %s",
		      bus1_message_type_name(m.type));
	}
	CHECK_R(bus1_message_release(&m), 0, "release the slice");
	if (pool) {
		__u64 off = 0;	/* the first slice of a fresh pool */

		CHECK(ioctl(bus1_peer_get_fd(a), BUS1_CMD_SLICE_RELEASE,
			    &off) < 0 && errno == ENXIO,
		      "slice is gone after bus1_message_release");
	}

	/* handles: b attaches its own node, a answers through it */
	CHECK_R(bus1_node_new(b, &nb), 0, "create node in b");
	s = (struct bus1_send){ .destinations = &hb, .n_destinations = 1,
				.handles = &nb, .n_handles = 1 };
	CHECK_R(bus1_send(b, &s), 0, "b sends its node handle to a");
	r = bus1_recv(a, 0, &m);
	CHECK(!r && m.n_handles == 1 && m.handles &&
	      (m.handles[0] & BUS1_HANDLE_FLAG_REMOTE) &&
	      (m.handles[0] & BUS1_HANDLE_FLAG_MANAGED),
	      "a got a remote handle (0x%llx)",
	      !r && m.n_handles ? (unsigned long long)m.handles[0] : 0ULL);
	if (!r && m.n_handles == 1)
		ha = m.handles[0];
	bus1_message_release(&m);
	CHECK_R(bus1_send_data(a, ha, "pong", 4), 0, "a replies via handle");
	r = bus1_recv(b, 0, &m);
	CHECK(!r && m.type == BUS1_MSG_DATA && m.destination == nb &&
	      m.n_bytes == 4 && !memcmp(m.data, "pong", 4),
	      "b receives the reply on its node");
	bus1_message_release(&m);

	/* fds */
	if (pipe2(p, O_CLOEXEC) == 0) {
		s = (struct bus1_send){ .destinations = &hb,
					.n_destinations = 1,
					.fds = &p[1], .n_fds = 1 };
		CHECK_R(bus1_send(b, &s), 0, "b sends a pipe fd");
		r = bus1_recv(a, BUS1_RECV_FLAG_INSTALL_FDS, &m);
		CHECK(!r && m.n_fds == 1 && m.fds && m.fds[0] >= 0,
		      "a receives it with INSTALL_FDS");
		if (!r && m.n_fds == 1 && m.fds) {
			fd = m.fds[0];
			CHECK(write(fd, "x", 1) == 1 &&
			      read(p[0], buf, 1) == 1 && buf[0] == 'x',
			      "the installed fd is the same pipe");
			close(fd);
		}
		bus1_message_release(&m);
		close(p[0]);
		close(p[1]);
	}
	{
		int sp[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0) {
			s = (struct bus1_send){ .destinations = &hb,
						.n_destinations = 1,
						.fds = sp, .n_fds = 1 };
			CHECK_R(bus1_send(b, &s), -EOPNOTSUPP,
				"AF_UNIX sockets cannot be attached");
			close(sp[0]);
			close(sp[1]);
		}
	}

	/* stats and limits */
	CHECK_R(bus1_send_data(b, hb, "1", 1), 0, "queue message 1");
	CHECK_R(bus1_send_data(b, hb, "2", 1), 0, "queue message 2");
	r = bus1_peer_get_stats(a, &st);
	CHECK(!r && st.queued == 2 && st.nodes == 1 && st.handles == 2,
	      "fdinfo: queued %llu (2), nodes %llu (1), handles %llu (2)",
	      (unsigned long long)st.queued, (unsigned long long)st.nodes,
	      (unsigned long long)st.handles);
	while (bus1_recv(a, 0, &m) == 0)
		bus1_message_release(&m);
	r = bus1_peer_get_stats(a, &st);
	CHECK(!r && st.queued == 0 && st.pool_slices == 0,
	      "fdinfo after draining: queued %llu, slices %llu",
	      (unsigned long long)st.queued,
	      (unsigned long long)st.pool_slices);

	CHECK_R(bus1_peer_query(a, &lim), 0, "query limits");
	CHECK(lim.max_slices && lim.max_handles, "limits are non-zero");
	lim2 = (struct bus1_limits){ 1, BUS1_LIMIT_KEEP, BUS1_LIMIT_KEEP,
				     BUS1_LIMIT_KEEP };
	CHECK_R(bus1_peer_reset(a, 0, &lim2), 0, "set max_slices to 1");
	CHECK_R(bus1_send_data(b, hb, "1", 1), 0, "first message fits");
	CHECK_R(bus1_send_data(b, hb, "2", 1), -EDQUOT,
		"second message exceeds the slice limit");
	CHECK(strstr(bus1_strerror(-EDQUOT), "quota"),
	      "bus1_strerror explains EDQUOT: %s", bus1_strerror(-EDQUOT));
	CHECK(!strcmp(bus1_strerror(-ENOENT), strerror(ENOENT)),
	      "bus1_strerror falls back to strerror");
	lim2.max_slices = lim.max_slices;
	CHECK_R(bus1_peer_reset(a, 0, &lim2), 0, "restore the limit");
	CHECK_R(bus1_peer_query(a, &lim2), 0, "query again");
	CHECK(lim2.max_slices == lim.max_slices, "limit restored");
	while (bus1_recv(a, 0, &m) == 0)
		bus1_message_release(&m);

	/* release: owner gets NODE_RELEASE */
	CHECK_R(bus1_handle_release(a, ha), 0, "a releases its handle to b");
	r = bus1_recv(b, 0, &m);
	CHECK(!r && m.type == BUS1_MSG_NODE_RELEASE && m.destination == nb,
	      "b gets NODE_RELEASE for its node");
	bus1_message_release(&m);
	CHECK_R(bus1_handle_release(b, nb), -EBUSY,
		"owner handle of a live node is pinned");

	/* destroy: holders get NODE_DESTROY */
	CHECK_R(bus1_handle_transfer(a, na, c, &hc), 0, "transfer to c");
	CHECK_R(bus1_node_destroy(a, &na, 1, 0), 0, "destroy a's node");
	CHECK_R(bus1_node_destroy(a, &na, 1, 0), -ESTALE, "destroy again");
	r = bus1_recv(b, 0, &m);
	CHECK(!r && m.type == BUS1_MSG_NODE_DESTROY && m.destination == hb,
	      "b gets NODE_DESTROY on 0x%llx", (unsigned long long)hb);
	r = bus1_recv(c, 0, &m);
	CHECK(!r && m.type == BUS1_MSG_NODE_DESTROY && m.destination == hc,
	      "c gets NODE_DESTROY on 0x%llx", (unsigned long long)hc);
	r = bus1_recv(a, 0, &m);
	CHECK(!r && m.type == BUS1_MSG_NODE_DESTROY && m.destination == na,
	      "owner a gets NODE_DESTROY too");
	CHECK_R(bus1_handle_release(a, na), 0, "a drops the dead node");
	CHECK_R(bus1_handle_release(b, hb), 0, "b drops its handle");

	/* multicast with per-destination errors */
	{
		__u64 nc, hcb;

		CHECK_R(bus1_node_new(c, &nc), 0, "create node in c");
		CHECK_R(bus1_handle_transfer(c, nc, b, &hcb), 0,
			"c's node to b");
		CHECK_R(bus1_node_new(a, &na), 0, "new node in a");
		CHECK_R(bus1_handle_transfer(a, na, b, &hb), 0,
			"a's node to b");
		CHECK_R(bus1_peer_disconnect(a), 0, "disconnect a");
		CHECK_R(bus1_send_data(a, hb, "x", 1), -ESHUTDOWN,
			"a disconnected: ESHUTDOWN");
		r = bus1_send_data(b, hb, "x", 1);
		CHECK(r == -EHOSTUNREACH || r == -ESHUTDOWN,
		      "send to a dead peer's node fails (%s)",
		      bus1_strerror(r));
		dst[0] = hcb;
		dst[1] = hb;
		err[0] = 12345;
		err[1] = 12345;
		s = (struct bus1_send){ .flags = BUS1_SEND_FLAG_CONTINUE,
					.destinations = dst,
					.n_destinations = 2, .errors = err,
					.vecs = v, .n_vecs = 1 };
		CHECK_R(bus1_send(b, &s), 0, "CONTINUE multicast succeeds");
		CHECK(err[0] == 0 && (err[1] == EHOSTUNREACH ||
				      err[1] == ESHUTDOWN),
		      "per-destination errors: %llu, %llu",
		      (unsigned long long)err[0], (unsigned long long)err[1]);
		r = bus1_recv(c, 0, &m);
		CHECK(!r && m.type == BUS1_MSG_DATA && m.destination == nc,
		      "the live destination got the message");
		bus1_message_release(&m);
		s.errors = NULL;
		CHECK_R(bus1_send(b, &s), -EINVAL,
			"CONTINUE without an error array is refused");
	}

	/* no bus1-peer line: not a bus1 fd, even though fdinfo exists */
	if (pipe(p) < 0)
		return 1;
	r = bus1_fd_get_stats(p[0], &st);
	close(p[0]);
	close(p[1]);
	CHECK(r == -ENOTTY && st.queued == ~0ULL,
	      "fdinfo of a pipe: ENOTTY, all figures ~0 (%d)", r);

	/* a peer handed down in the environment (bus1_peer_new_from_env) */
	fd = open(BUS1_DEVICE_PATH, O_RDWR | O_NONBLOCK);
	setenv("BUS1_TEST_FD", "3x", 1);
	r = bus1_peer_new_from_env("BUS1_TEST_FD", &e);
	unsetenv("BUS1_TEST_FD");
	CHECK(r == -EBADF &&
	      bus1_peer_new_from_env("BUS1_TEST_FD", &e) == -ENOENT,
	      "env: a malformed fd is EBADF, an unset variable ENOENT");
	snprintf(env, sizeof(env), "%d", fd);
	setenv("BUS1_TEST_FD", env, 1);
	r = fd < 0 ? -EBADF : bus1_peer_new_from_env("BUS1_TEST_FD", &e);
	CHECK(!r && bus1_peer_get_fd(e) == fd &&
	      (fcntl(fd, F_GETFD) & FD_CLOEXEC) && !getenv("BUS1_TEST_FD"),
	      "env: the peer has the fd, now FD_CLOEXEC, and the variable is unset (%d)",
	      r);
	if (!r)
		bus1_peer_free(e);
	else if (fd >= 0)
		close(fd);

	bus1_peer_free(a);
	bus1_peer_free(b);
	bus1_peer_free(c);
	return tap_end();
}
