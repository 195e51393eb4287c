// SPDX-License-Identifier: GPL-2.0
/*
 * Peer tests (spec §2, §3.0-§3.3, §7.1, §8): open/close, PEER_QUERY,
 * PEER_RESET limits and validation, PEER_DISCONNECT, poll, mmap, fdinfo,
 * read/write/llseek, fork/dup, unknown ioctls and module pinning.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bus1-util.h"

/* the harness itself has unused parameters; keep -Wextra output clean */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <kselftest_harness.h>

#define KEEP		0xffffffffU
#define INT_MAX_U32	0x7fffffffU
#define MAP_4M		(4UL * 1024 * 1024)

static const char * const fdinfo_keys[] = {
	"bus1-peer",
	"bus1-queued",
	"bus1-pool-bytes",
	"bus1-pool-slices",
	"bus1-handles",
	"bus1-nodes",
	"bus1-charge-slices",
	"bus1-charge-handles",
	"bus1-charge-bytes",
	"bus1-charge-fds",
};

static void reset_keep(struct bus1_cmd_peer_reset *r)
{
	memset(r, 0, sizeof(*r));
	r->peer_flags = (__u64)-1;
	r->max_slices = KEEP;
	r->max_handles = KEEP;
	r->max_inflight_bytes = KEEP;
	r->max_inflight_fds = KEEP;
}

static int set_limits(int fd, __u32 slices, __u32 handles, __u32 bytes,
		      __u32 fds)
{
	struct bus1_cmd_peer_reset r;

	reset_keep(&r);
	r.max_slices = slices;
	r.max_handles = handles;
	r.max_inflight_bytes = bytes;
	r.max_inflight_fds = fds;
	return b1_reset_raw(fd, &r);
}

TEST(device_node_is_char_dev_mode_0666)
{
	struct stat st;

	ASSERT_EQ(0, stat(B1_DEVICE, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	ASSERT_EQ(0666U, st.st_mode & 0777U);
}

TEST(open_close_many_peers)
{
	enum { N = 256 };
	int fds[N], i, j, fd;
	__s64 ids[N];

	for (i = 0; i < N; i++) {
		fds[i] = b1_open();
		ASSERT_LE(0, fds[i]);
		ids[i] = b1_fdinfo(fds[i], "bus1-peer");
		ASSERT_LE(0, ids[i]);
	}
	/* every open is a new peer with its own ID */
	for (i = 0; i < N; i++)
		for (j = i + 1; j < N; j++)
			ASSERT_NE(ids[i], ids[j]);
	for (i = 0; i < N; i++) {
		struct bus1_cmd_peer_reset q;

		ASSERT_EQ(0, b1_query(fds[i], &q));
	}
	for (i = 0; i < N; i++)
		ASSERT_EQ(0, b1_close(fds[i]));
	/* and the device is still usable afterwards */
	fd = b1_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, b1_disconnect(fd));
	ASSERT_EQ(0, b1_close(fd));
}

TEST(open_peers_are_independent)
{
	struct bus1_cmd_peer_reset q;
	int a, b;

	a = b1_open();
	ASSERT_LE(0, a);
	b = b1_open();
	ASSERT_LE(0, b);

	/* limits are per peer */
	ASSERT_EQ(0, set_limits(a, 11, 22, 33, 44));
	ASSERT_EQ(0, b1_query(b, &q));
	ASSERT_EQ(16384U, q.max_slices);
	ASSERT_EQ(65536U, q.max_handles);

	/* disconnecting one does not affect the other */
	ASSERT_EQ(0, b1_disconnect(a));
	ASSERT_EQ(0, b1_query(b, &q));
	ASSERT_EQ(-ESHUTDOWN, b1_query(a, &q));
	ASSERT_EQ(0, b1_poll(b, POLLIN | POLLOUT, 0) & POLLHUP);

	close(a);
	close(b);
}

TEST(query_defaults_match_module_parameters)
{
	struct bus1_cmd_peer_reset q;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, b1_query(fd, &q));
	ASSERT_EQ(0ULL, q.flags);
	ASSERT_EQ(0ULL, q.peer_flags);
	ASSERT_EQ(16384U, q.max_slices);
	ASSERT_EQ(65536U, q.max_handles);
	ASSERT_EQ(16777216U, q.max_inflight_bytes);
	ASSERT_EQ(4096U, q.max_inflight_fds);
	close(fd);
}

TEST(query_peer_flags_out_is_zero)
{
	struct bus1_cmd_peer_reset q;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	memset(&q, 0xa5, sizeof(q));
	q.flags = 0;
	ASSERT_EQ(0, b1_ioctl(fd, BUS1_CMD_PEER_QUERY, (unsigned long)&q));
	ASSERT_EQ(0ULL, q.peer_flags);
	ASSERT_EQ(16384U, q.max_slices);
	close(fd);
}

TEST(query_nonzero_flags_einval)
{
	static const __u64 bad[] = { 1, 2, 4, 1ULL << 63, (__u64)-1 };
	struct bus1_cmd_peer_reset q;
	size_t i;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&q, 0, sizeof(q));
		q.flags = bad[i];
		ASSERT_EQ(-EINVAL,
			  b1_ioctl(fd, BUS1_CMD_PEER_QUERY, (unsigned long)&q));
	}
	close(fd);
}

TEST(query_bad_pointer_efault)
{
	void *ro;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(-EFAULT, b1_ioctl(fd, BUS1_CMD_PEER_QUERY, 0));
	ASSERT_EQ(-EFAULT, b1_ioctl(fd, BUS1_CMD_PEER_QUERY, 8));
	/* readable (flags = 0) but not writable: copy-out fails */
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(-EFAULT,
		  b1_ioctl(fd, BUS1_CMD_PEER_QUERY, (unsigned long)ro));
	munmap(ro, 4096);
	close(fd);
}

TEST(reset_unknown_flags_einval)
{
	static const __u64 bad[] = { 4, 8, 1ULL << 63, (__u64)-1 };
	struct bus1_cmd_peer_reset r, q;
	size_t i;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		reset_keep(&r);
		r.flags = bad[i];
		r.max_slices = 7;	/* must not be applied */
		ASSERT_EQ(-EINVAL, b1_reset_raw(fd, &r));
	}
	ASSERT_EQ(0, b1_query(fd, &q));
	ASSERT_EQ(16384U, q.max_slices);
	close(fd);
}

TEST(reset_peer_flags_not_all_ones_einval)
{
	static const __u64 bad[] = { 0, 1, 0xffffffffULL, (__u64)-2 };
	struct bus1_cmd_peer_reset r, q;
	size_t i;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		reset_keep(&r);
		r.peer_flags = bad[i];
		r.max_handles = 7;	/* must not be applied */
		ASSERT_EQ(-EINVAL, b1_reset_raw(fd, &r));
	}
	ASSERT_EQ(0, b1_query(fd, &q));
	ASSERT_EQ(65536U, q.max_handles);
	close(fd);
}

TEST(reset_limit_above_int_max_einval)
{
	static const __u32 bad[] = { 0x80000000U, 0xfffffffeU, 0xc0000000U };
	struct bus1_cmd_peer_reset r, q;
	size_t i, f;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	for (f = 0; f < 4; f++) {
		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			reset_keep(&r);
			/* a valid value in another field must not stick */
			r.max_slices = 5;
			r.max_handles = 5;
			r.max_inflight_bytes = 5;
			r.max_inflight_fds = 5;
			switch (f) {
			case 0:
				r.max_slices = bad[i];
				break;
			case 1:
				r.max_handles = bad[i];
				break;
			case 2:
				r.max_inflight_bytes = bad[i];
				break;
			default:
				r.max_inflight_fds = bad[i];
				break;
			}
			ASSERT_EQ(-EINVAL, b1_reset_raw(fd, &r));
		}
	}
	ASSERT_EQ(0, b1_query(fd, &q));
	ASSERT_EQ(16384U, q.max_slices);
	ASSERT_EQ(65536U, q.max_handles);
	ASSERT_EQ(16777216U, q.max_inflight_bytes);
	ASSERT_EQ(4096U, q.max_inflight_fds);
	close(fd);
}

TEST(reset_all_keep_is_noop)
{
	struct bus1_cmd_peer_reset r, q;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	reset_keep(&r);
	ASSERT_EQ(0, b1_reset_raw(fd, &r));
	ASSERT_EQ(0, b1_query(fd, &q));
	ASSERT_EQ(16384U, q.max_slices);
	ASSERT_EQ(65536U, q.max_handles);
	ASSERT_EQ(16777216U, q.max_inflight_bytes);
	ASSERT_EQ(4096U, q.max_inflight_fds);
	close(fd);
}

TEST(reset_sets_limits_and_query_returns_them)
{
	struct bus1_cmd_peer_reset q;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_limits(fd, 1, 2, 3, 4));
	ASSERT_EQ(0, b1_query(fd, &q));
	ASSERT_EQ(1U, q.max_slices);
	ASSERT_EQ(2U, q.max_handles);
	ASSERT_EQ(3U, q.max_inflight_bytes);
	ASSERT_EQ(4U, q.max_inflight_fds);

	/* 0xffffffff keeps a single field */
	ASSERT_EQ(0, set_limits(fd, KEEP, 20, KEEP, KEEP));
	ASSERT_EQ(0, b1_query(fd, &q));
	ASSERT_EQ(1U, q.max_slices);
	ASSERT_EQ(20U, q.max_handles);
	ASSERT_EQ(3U, q.max_inflight_bytes);
	ASSERT_EQ(4U, q.max_inflight_fds);

	/* 0 and INT_MAX are both valid; per-peer may exceed the user limit */
	ASSERT_EQ(0, set_limits(fd, 0, INT_MAX_U32, 0, INT_MAX_U32));
	ASSERT_EQ(0, b1_query(fd, &q));
	ASSERT_EQ(0U, q.max_slices);
	ASSERT_EQ(INT_MAX_U32, q.max_handles);
	ASSERT_EQ(0U, q.max_inflight_bytes);
	ASSERT_EQ(INT_MAX_U32, q.max_inflight_fds);
	ASSERT_EQ(0ULL, q.peer_flags);
	close(fd);
}

TEST(reset_flush_on_fresh_peer_succeeds)
{
	struct bus1_cmd_peer_reset q;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, b1_reset(fd, BUS1_PEER_RESET_FLAG_FLUSH));
	ASSERT_EQ(0, b1_reset(fd, BUS1_PEER_RESET_FLAG_FLUSH_SEED));
	ASSERT_EQ(0, b1_reset(fd, BUS1_PEER_RESET_FLAG_FLUSH |
				  BUS1_PEER_RESET_FLAG_FLUSH_SEED));
	ASSERT_EQ(0, b1_query(fd, &q));
	ASSERT_EQ(16384U, q.max_slices);
	ASSERT_EQ(0, b1_poll(fd, POLLIN | POLLOUT, 0) & (POLLIN | POLLHUP));
	close(fd);
}

TEST(reset_bad_pointer_efault)
{
	int fd = b1_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(-EFAULT, b1_ioctl(fd, BUS1_CMD_PEER_RESET, 0));
	ASSERT_EQ(-EFAULT, b1_ioctl(fd, BUS1_CMD_PEER_RESET, 8));
	close(fd);
}

TEST(disconnect_nonzero_arg_einval)
{
	struct bus1_cmd_peer_reset q;
	__u64 zero = 0;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(-EINVAL, b1_ioctl(fd, BUS1_CMD_PEER_DISCONNECT, 1));
	/* a pointer to a zero u64 is still a non-zero argument */
	ASSERT_EQ(-EINVAL, b1_ioctl(fd, BUS1_CMD_PEER_DISCONNECT,
				    (unsigned long)&zero));
	/* still connected */
	ASSERT_EQ(0, b1_query(fd, &q));
	ASSERT_EQ(POLLOUT | POLLWRNORM, b1_poll(fd, POLLIN | POLLOUT |
						POLLRDNORM | POLLWRNORM, 0));
	ASSERT_EQ(0, b1_disconnect(fd));
	close(fd);
}

TEST(disconnect_twice_eshutdown)
{
	int fd = b1_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, b1_disconnect(fd));
	ASSERT_EQ(-ESHUTDOWN, b1_disconnect(fd));
	ASSERT_EQ(-ESHUTDOWN, b1_disconnect(fd));
	close(fd);
}

TEST(ioctls_after_disconnect_eshutdown)
{
	static const unsigned long cmds[] = {
		BUS1_CMD_PEER_QUERY, BUS1_CMD_PEER_RESET,
		BUS1_CMD_HANDLE_RELEASE, BUS1_CMD_HANDLE_TRANSFER,
		BUS1_CMD_NODES_DESTROY, BUS1_CMD_SLICE_RELEASE,
		BUS1_CMD_SEND, BUS1_CMD_RECV,
		/* unknown commands: ESHUTDOWN wins over ENOTTY */
		_IOWR(BUS1_IOCTL_MAGIC, 0x03, struct bus1_cmd_peer_reset),
		_IOWR(BUS1_IOCTL_MAGIC, 0x01, __u64),
		_IO(BUS1_IOCTL_MAGIC, 0x7f),
		0x5401, /* TCGETS */
	};
	struct bus1_cmd_peer_reset q;
	union {
		__u64 u;
		struct bus1_cmd_peer_reset r;
		struct bus1_cmd_handle_transfer t;
		struct bus1_cmd_nodes_destroy d;
		struct bus1_cmd_send s;
		struct bus1_cmd_recv v;
	} arg;
	size_t i;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, b1_disconnect(fd));
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		/* a valid-looking argument ... */
		memset(&arg, 0, sizeof(arg));
		arg.r.peer_flags = (__u64)-1;
		arg.v.max_offset = B1_POOL_SIZE;
		EXPECT_EQ(-ESHUTDOWN,
			  b1_ioctl(fd, cmds[i], (unsigned long)&arg)) {
			TH_LOG("cmd 0x%lx", cmds[i]);
		}
		/* ... and a bad pointer: the state check comes first */
		EXPECT_EQ(-ESHUTDOWN, b1_ioctl(fd, cmds[i], 0)) {
			TH_LOG("cmd 0x%lx (NULL arg)", cmds[i]);
		}
	}
	ASSERT_EQ(-ESHUTDOWN, b1_query(fd, &q));
	ASSERT_EQ(-ESHUTDOWN, b1_reset(fd, 0));
	ASSERT_EQ(-ESHUTDOWN, b1_release(fd, 0x100));
	ASSERT_EQ(-ESHUTDOWN, b1_transfer(fd, 0x100, B1_SELF, NULL));
	close(fd);
}

TEST(mmap_after_disconnect_eshutdown)
{
	void *p;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, b1_disconnect(fd));
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(ESHUTDOWN, errno);
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(ESHUTDOWN, errno);
	close(fd);
}

TEST(poll_after_disconnect_is_pollhup_only)
{
	int fd = b1_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, b1_disconnect(fd));
	ASSERT_EQ(POLLHUP, b1_poll(fd, POLLIN | POLLOUT | POLLRDNORM |
				   POLLWRNORM | POLLPRI, 0));
	ASSERT_EQ(POLLHUP, b1_poll(fd, POLLOUT, 0));
	close(fd);
}

struct poll_waiter {
	int fd;
	int revents;
	__u64 ns;
};

static void *poll_waiter_fn(void *arg)
{
	struct poll_waiter *w = arg;
	__u64 t0 = b1_now_ns();

	w->revents = b1_poll(w->fd, POLLIN, 20000);
	w->ns = b1_now_ns() - t0;
	return NULL;
}

TEST(disconnect_wakes_pollers)
{
	struct poll_waiter w = { .revents = -1 };
	pthread_t th;

	w.fd = b1_open();
	ASSERT_LE(0, w.fd);
	ASSERT_EQ(0, pthread_create(&th, NULL, poll_waiter_fn, &w));
	usleep(200 * 1000);
	ASSERT_EQ(0, b1_disconnect(w.fd));
	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_EQ(POLLHUP, w.revents);
	/* woken by the disconnect, not by the 20 s timeout */
	ASSERT_GT(15000000000ULL, w.ns);
	close(w.fd);
}

TEST(unknown_ioctl_on_connected_peer_enotty)
{
	static const unsigned long cmds[] = {
		_IOWR(BUS1_IOCTL_MAGIC, 0x03, struct bus1_cmd_peer_reset),
		_IOWR(BUS1_IOCTL_MAGIC, 0x12, struct bus1_cmd_handle_transfer),
		_IOWR(BUS1_IOCTL_MAGIC, 0x60, __u64),
		/* right nr, wrong size or direction: full value must match */
		_IOWR(BUS1_IOCTL_MAGIC, 0x01, __u64),
		_IOR(BUS1_IOCTL_MAGIC, 0x01, struct bus1_cmd_peer_reset),
		_IOW(BUS1_IOCTL_MAGIC, 0x10, __u64),
		_IO(BUS1_IOCTL_MAGIC, 0x00),
		_IOWR(0x97, 0x01, struct bus1_cmd_peer_reset),
		0x5401, /* TCGETS */
	};
	char buf[128];
	size_t i;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		memset(buf, 0, sizeof(buf));
		EXPECT_EQ(-ENOTTY, b1_ioctl(fd, cmds[i], (unsigned long)buf)) {
			TH_LOG("cmd 0x%lx", cmds[i]);
		}
	}
	/* the peer is unharmed */
	ASSERT_EQ(POLLOUT, b1_poll(fd, POLLOUT, 0));
	close(fd);
}

TEST(read_write_einval)
{
	char buf[16] = { 0 };
	int fd = b1_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, write(fd, buf, sizeof(buf)));
	ASSERT_EQ(EINVAL, errno);
	close(fd);
}

TEST(llseek_is_noop)
{
	int fd = b1_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, lseek(fd, 100, SEEK_SET));
	ASSERT_EQ(0, lseek(fd, 0, SEEK_CUR));
	close(fd);
}

TEST(poll_fresh_peer_pollout_only)
{
	int fd = b1_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(POLLOUT | POLLWRNORM,
		  b1_poll(fd, POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM, 0));
	ASSERT_EQ(0, b1_poll(fd, POLLIN | POLLRDNORM, 0));
	close(fd);
}

TEST(mmap_read_shared_4m_reads_zeros)
{
	const __u64 *p;
	size_t i, nonzero = 0;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	p = mmap(NULL, MAP_4M, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < MAP_4M / sizeof(*p); i++)
		if (p[i])
			nonzero++;
	ASSERT_EQ(0U, nonzero);
	ASSERT_EQ(0, munmap((void *)p, MAP_4M));
	close(fd);
}

TEST(mmap_read_private_works)
{
	const char *p;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, p[0]);
	ASSERT_EQ(0, p[4095]);
	munmap((void *)p, 4096);
	close(fd);
}

TEST(mmap_writable_eperm)
{
	static const int prots[] = {
		PROT_WRITE, PROT_READ | PROT_WRITE,
	};
	static const int flags[] = { MAP_SHARED, MAP_PRIVATE };
	size_t i, j;
	void *p;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(prots); i++) {
		for (j = 0; j < ARRAY_SIZE(flags); j++) {
			p = mmap(NULL, 4096, prots[i], flags[j], fd, 0);
			EXPECT_EQ(MAP_FAILED, p) {
				TH_LOG("prot %d flags %d mapped", prots[i],
				       flags[j]);
				munmap(p, 4096);
				continue;
			}
			EXPECT_EQ(EPERM, errno);
		}
	}
	close(fd);
}

TEST(mprotect_write_later_fails)
{
	void *p;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(-1, mprotect(p, 8192, PROT_READ | PROT_WRITE));
	ASSERT_EQ(EACCES, errno);
	ASSERT_EQ(-1, mprotect(p, 4096, PROT_WRITE));
	ASSERT_EQ(EACCES, errno);
	munmap(p, 8192);

	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(-1, mprotect(p, 4096, PROT_READ | PROT_WRITE));
	ASSERT_EQ(EACCES, errno);
	munmap(p, 4096);
	close(fd);
}

static char peek(const char *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

TEST(mapping_survives_close_and_disconnect)
{
	const char *p, *q;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	p = mmap(NULL, MAP_4M, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	q = mmap(NULL, MAP_4M, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, q);

	ASSERT_EQ(0, b1_disconnect(fd));
	ASSERT_EQ(0, peek(p));
	ASSERT_EQ(0, peek(p + MAP_4M / 2));

	ASSERT_EQ(0, b1_close(fd));
	/* pages never touched before close are still backed */
	ASSERT_EQ(0, peek(p + MAP_4M - 1));
	ASSERT_EQ(0, peek(q));
	ASSERT_EQ(0, peek(q + MAP_4M - 4096));
	munmap((void *)p, MAP_4M);
	munmap((void *)q, MAP_4M);
}

static char *read_fdinfo(int fd)
{
	char path[64];
	static char buf[8192];
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return NULL;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n < 0)
		return NULL;
	buf[n] = 0;
	return buf;
}

TEST(fdinfo_lines_format_and_fresh_counters)
{
	char *info, *line, *save = NULL;
	size_t k = 0, i;
	int fd = b1_open();

	ASSERT_LE(0, fd);
	info = read_fdinfo(fd);
	ASSERT_NE(NULL, info);

	for (line = strtok_r(info, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t klen;

		if (k == 0 && strncmp(line, "bus1-", 5))
			continue;	/* generic lines */
		ASSERT_GT(ARRAY_SIZE(fdinfo_keys), k) {
			TH_LOG("unexpected extra line '%s'", line);
		}
		klen = strlen(fdinfo_keys[k]);
		ASSERT_EQ(0, strncmp(line, fdinfo_keys[k], klen)) {
			TH_LOG("line %zu: expected key %s, got '%s'", k,
			       fdinfo_keys[k], line);
		}
		ASSERT_EQ(':', line[klen]);
		ASSERT_EQ('\t', line[klen + 1]);
		if (k == 0) {
			/* %16llx: exactly 16 chars, space padded hex */
			const char *v = line + klen + 2;

			ASSERT_EQ(16U, strlen(v)) {
				TH_LOG("peer line '%s'", line);
			}
			for (i = 0; i < 16 && v[i] == ' '; i++)
				;
			ASSERT_GT(16U, i);
			for (; i < 16; i++)
				ASSERT_NE(NULL, strchr("0123456789abcdef",
						       v[i]));
		} else {
			ASSERT_STREQ("0", line + klen + 2) {
				TH_LOG("fresh peer: '%s'", line);
			}
		}
		k++;
	}
	ASSERT_EQ(ARRAY_SIZE(fdinfo_keys), k);
	close(fd);
}

TEST(fdinfo_peer_ids_differ_and_dup_shares)
{
	int a = b1_open(), b = b1_open(), c;

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	c = dup(a);
	ASSERT_LE(0, c);
	ASSERT_LE(0, b1_fdinfo(a, "bus1-peer"));
	ASSERT_NE(b1_fdinfo(a, "bus1-peer"), b1_fdinfo(b, "bus1-peer"));
	ASSERT_EQ(b1_fdinfo(a, "bus1-peer"), b1_fdinfo(c, "bus1-peer"));
	close(a);
	close(b);
	close(c);
}

TEST(dup_shares_peer_and_keeps_it_alive)
{
	struct bus1_cmd_peer_reset q;
	int a = b1_open(), c;

	ASSERT_LE(0, a);
	c = dup(a);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, set_limits(c, 77, KEEP, KEEP, KEEP));
	ASSERT_EQ(0, b1_query(a, &q));
	ASSERT_EQ(77U, q.max_slices);
	/* closing one fd of the file description does not disconnect */
	ASSERT_EQ(0, b1_close(a));
	ASSERT_EQ(0, b1_query(c, &q));
	ASSERT_EQ(77U, q.max_slices);
	ASSERT_EQ(POLLOUT, b1_poll(c, POLLOUT, 0));
	close(c);
}

TEST(peer_survives_fork_child_can_use_it)
{
	struct bus1_cmd_peer_reset q;
	int fd = b1_open(), status;
	pid_t pid;

	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct bus1_cmd_peer_reset cq;

		if (b1_query(fd, &cq) || cq.max_slices != 16384)
			_exit(2);
		if (set_limits(fd, 123, KEEP, KEEP, KEEP))
			_exit(3);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* the child's change is visible, and its exit did not close it */
	ASSERT_EQ(0, b1_query(fd, &q));
	ASSERT_EQ(123U, q.max_slices);
	ASSERT_EQ(POLLOUT, b1_poll(fd, POLLOUT, 0));
	close(fd);
}

TEST(unprivileged_user_can_open)
{
	int status;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch to an unprivileged uid");
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct bus1_cmd_peer_reset q;
		int fd;

		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(2);
		fd = b1_open();
		if (fd < 0)
			_exit(3);
		if (b1_query(fd, &q))
			_exit(4);
		if (b1_disconnect(fd))
			_exit(5);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

TEST(module_unload_refused_while_peer_open)
{
	struct bus1_cmd_peer_reset q;
	int fd;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	if (access("/sys/module/bus1/refcnt", F_OK))
		SKIP(return, "bus1 is not a loadable module here");
	fd = b1_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, syscall(SYS_delete_module, "bus1", O_NONBLOCK));
	ASSERT_TRUE(errno == EWOULDBLOCK || errno == EBUSY) {
		TH_LOG("delete_module: %s", strerror(errno));
	}
	ASSERT_EQ(0, b1_query(fd, &q));
	close(fd);
}

/* Shmem of /proc/meminfo in KiB, or -1 */
static long meminfo_shmem_kb(void)
{
	char line[128];
	long v = -1;
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Shmem: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

#define DEAD_POOL_MSGS	32
#define DEAD_POOL_MSG	(256UL << 10)

/*
 * Issue #15 item 7: a disconnected peer's pool (the shmem file and its
 * pages, charged to the owner's memcg) is freed at disconnect, not when
 * the last remote handle to one of its nodes goes away: a client that
 * never releases its handle must not keep a dead service's pool alive.
 * Measured through Shmem in /proc/meminfo: the payload lands in the
 * receiver's shmem pages at SEND.
 */
TEST(dead_peer_pool_freed_at_disconnect)
{
	long base, filled, closed, released;
	struct bus1_cmd_recv r;
	struct iovec v;
	__u64 hb;
	char *buf;
	int a, b, i;

	buf = malloc(DEAD_POOL_MSG);
	ASSERT_NE(NULL, buf);
	memset(buf, 0x5a, DEAD_POOL_MSG);
	a = b1_open();
	ASSERT_LE(0, a);
	b = b1_open();
	ASSERT_LE(0, b);
	ASSERT_EQ(0, b1_transfer(b, 0x100, a, &hb));
	base = meminfo_shmem_kb();
	ASSERT_LE(0, base);

	v.iov_base = buf;
	v.iov_len = DEAD_POOL_MSG;
	/* received, never released: the in-flight quota does not fill up */
	for (i = 0; i < DEAD_POOL_MSGS; i++) {
		ASSERT_EQ(0, b1_send(a, 0, &hb, 1, &v, 1, NULL, 0, NULL, 0));
		ASSERT_EQ(0, b1_recv(b, 0, 1ULL << 32, &r));
	}
	filled = meminfo_shmem_kb();
	ksft_print_msg("Shmem: %ld kB idle, %ld kB with %lu kB received\n",
		       base, filled, DEAD_POOL_MSGS * DEAD_POOL_MSG / 1024);
	/* the measure sees the pool at all */
	ASSERT_LE(base + (long)(DEAD_POOL_MSGS * DEAD_POOL_MSG / 1024) * 3 / 4,
		  filled);

	/* the receiver dies; a still holds a handle to its node */
	close(b);
	closed = meminfo_shmem_kb();
	ksft_print_msg("Shmem: %ld kB after the receiver closed\n", closed);
	ASSERT_GT(base + (long)(DEAD_POOL_MSGS * DEAD_POOL_MSG / 1024) / 4,
		  closed) {
		TH_LOG("the dead peer's pool is still alive (%ld kB above idle)",
		       closed - base);
	}

	ASSERT_EQ(0, b1_release(a, hb));
	released = meminfo_shmem_kb();
	ksft_print_msg("Shmem: %ld kB after the last handle went away\n",
		       released);
	close(a);
	free(buf);
}

TEST_HARNESS_MAIN
