// SPDX-License-Identifier: GPL-2.0
/*
 * test-hostile-fd - which files a message may carry (issue 15 item 1).
 *
 * A message holds references to the files it carries. If one of them can
 * itself hold a reference to the receiving peer (an io_uring with the peer
 * registered, an AF_UNIX socket with the peer queued, a bus1 peer), a peer
 * that sends it to itself pins itself: ->release never runs and pool, nodes,
 * quota and the module reference stay until reboot. SEND accepts only file
 * kinds that cannot hold file references (bus1(7), "PASSING FILES") and
 * refuses everything else with EOPNOTSUPP.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <linux/io_uring.h>
#include <netinet/in.h>

#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "msg-util.h"

#define NODE_B		0x100ULL
#define NODE_SELF	0x200ULL

static __u64 link_node(struct __test_metadata *_metadata, int owner,
		       __u64 node, int holder)
{
	__u64 id = BUS1_HANDLE_INVALID;

	ASSERT_EQ(0, b1_transfer(owner, node, holder, &id));
	return id;
}

static bool same_file(int fd1, int fd2)
{
	struct stat s1, s2;

	if (fstat(fd1, &s1) || fstat(fd2, &s2))
		return false;
	return s1.st_dev == s2.st_dev && s1.st_ino == s2.st_ino;
}

/* an io_uring, or -errno (no liburing in the VM: raw syscalls) */
static int ring_open(void)
{
	struct io_uring_params p;
	long fd;

	memset(&p, 0, sizeof(p));
	fd = syscall(__NR_io_uring_setup, 4, &p);
	return fd < 0 ? -errno : (int)fd;
}

static int ring_register(int ring, int fd)
{
	return syscall(__NR_io_uring_register, ring, IORING_REGISTER_FILES,
		       &fd, 1) < 0 ? -errno : 0;
}

static long module_refcnt(void)
{
	char buf[32];
	ssize_t n;
	int fd;

	fd = open("/sys/module/bus1/refcnt", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

/* the refcnt once it has not changed for half a second (or -errno) */
static long settled_refcnt(void)
{
	long last = module_refcnt(), now;
	int same = 0, i;

	for (i = 0; i < 200 && same < 10 && last >= 0; i++) {
		usleep(50 * 1000);
		now = module_refcnt();
		same = now == last ? same + 1 : 0;
		last = now;
	}
	return last;
}

/* send one message carrying @fd from @a through @h; 0 or -errno */
static int send_fd(int a, __u64 h, int fd)
{
	return mu_sendv(a, 0, &h, 1, NULL, NULL, 0, NULL, 0, &fd, 1);
}

TEST(io_uring_refused)
{
	struct mu_peer a, b;
	__u64 hb;
	int ring;

	ring = ring_open();
	if (ring == -ENOSYS)
		SKIP(return, "no io_uring in this kernel");
	ASSERT_GE(ring, 0);
	ASSERT_EQ(0, mu_peer_open(&a, 1 << 20));
	ASSERT_EQ(0, mu_peer_open(&b, 1 << 20));
	hb = link_node(_metadata, b.fd, NODE_B, a.fd);
	ASSERT_EQ(0, ring_register(ring, b.fd));

	EXPECT_EQ(-EOPNOTSUPP, send_fd(a.fd, hb, ring));
	EXPECT_EQ(0, mu_counter(b.fd, "bus1-queued"));
	/* the seed is a message too */
	EXPECT_EQ(-EOPNOTSUPP, mu_sendv(b.fd, BUS1_SEND_FLAG_SEED, NULL, 0,
					NULL, NULL, 0, NULL, 0, &ring, 1));
	close(ring);
	mu_peer_close(&a);
	mu_peer_close(&b);
}

/*
 * The reported cycle: a peer registered in an io_uring, the ring sent to
 * the peer's own node and stored in its seed, everything closed. Once the
 * ring's exit work has run, the module reference count must be back where
 * it was (it counts open peers).
 */
TEST(io_uring_cycle_released)
{
	long base, now = 0;
	int i, status, ring;
	pid_t pid;

	ring = ring_open();
	if (ring == -ENOSYS)
		SKIP(return, "no io_uring in this kernel");
	ASSERT_GE(ring, 0);
	close(ring);
	/* rings of earlier tests drop their registered peers asynchronously */
	base = settled_refcnt();
	ASSERT_GE(base, 0);

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		__u64 self = NODE_SELF;
		int fd = b1_open(), r1, r2;

		ring = ring_open();
		if (fd < 0 || ring < 0 || ring_register(ring, fd))
			_exit(2);
		r1 = send_fd(fd, self, ring);
		r2 = mu_sendv(fd, BUS1_SEND_FLAG_SEED, NULL, 0, NULL, NULL, 0,
			      NULL, 0, &ring, 1);
		printf("# child: SEND of the ring to its own node: %d, as seed: %d\n",
		       r1, r2);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));

	/* io_uring drops its registered files from a work item */
	for (i = 0; i < 100; i++) {
		now = module_refcnt();
		if (now == base)
			break;
		usleep(50 * 1000);
	}
	TH_LOG("module refcnt: %ld before, %ld after", base, now);
	ASSERT_EQ(base, now);
}

struct kind {
	const char *name;
	int fd;
};

/* Every kind bus1(7) lists as passable arrives as the same file. */
TEST(allowed_kinds)
{
	struct bus1_cmd_recv r;
	struct mu_peer a, b;
	struct kind k[16];
	char path[64];
	int p[2], n = 0, i, fd, ret;
	__u64 hb;

	ASSERT_EQ(0, mu_peer_open(&a, 1 << 20));
	ASSERT_EQ(0, mu_peer_open(&b, 1 << 20));
	hb = link_node(_metadata, b.fd, NODE_B, a.fd);

	k[n++] = (struct kind){ "regular file",
		open("/proc/self/exe", O_RDONLY | O_CLOEXEC) };
	k[n++] = (struct kind){ "directory",
		open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC) };
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	k[n++] = (struct kind){ "pipe read end", p[0] };
	k[n++] = (struct kind){ "pipe write end", p[1] };
	snprintf(path, sizeof(path), "/tmp/bus1-fifo-%d", getpid());
	ASSERT_EQ(0, mkfifo(path, 0600));
	k[n++] = (struct kind){ "fifo", open(path, O_RDWR | O_CLOEXEC) };
	unlink(path);
	k[n++] = (struct kind){ "memfd", memfd_create("bus1", MFD_CLOEXEC) };
	k[n++] = (struct kind){ "eventfd", eventfd(0, EFD_CLOEXEC) };
	k[n++] = (struct kind){ "/dev/null",
		open("/dev/null", O_RDWR | O_CLOEXEC) };
	k[n++] = (struct kind){ "pty master",
		open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC) };
	k[n++] = (struct kind){ "tcp socket",
		socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) };
	k[n++] = (struct kind){ "udp socket",
		socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) };
	k[n++] = (struct kind){ "O_PATH of a bus1 device",
		open(B1_DEVICE, O_PATH | O_CLOEXEC) };

	for (i = 0; i < n; i++) {
		ASSERT_GE(k[i].fd, 0) TH_LOG("%s", k[i].name);
		ret = send_fd(a.fd, hb, k[i].fd);
		EXPECT_EQ(0, ret) TH_LOG("%s refused", k[i].name);
		if (ret)
			continue;
		ASSERT_EQ(0, mu_peer_recv(&b, BUS1_RECV_FLAG_INSTALL_FDS, &r));
		ASSERT_EQ(1, r.msg.n_fds);
		fd = mu_fds(&b, &r)[0];
		EXPECT_TRUE(same_file(fd, k[i].fd)) TH_LOG("%s", k[i].name);
		close(fd);
		ASSERT_EQ(0, b1_slice_release(b.fd, r.msg.offset));
	}
	for (i = 0; i < n; i++)
		close(k[i].fd);
	mu_peer_close(&a);
	mu_peer_close(&b);
}

/*
 * An IPv6 socket passes like an IPv4 one (bus1(7), "PASSING FILES": IPv4
 * and IPv6 sockets); allowed_kinds has only AF_INET sockets.
 */
TEST(allowed_ipv6_sockets)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM };
	struct bus1_cmd_recv r;
	struct mu_peer a, b;
	int i, sk, fd;
	__u64 hb;

	ASSERT_EQ(0, mu_peer_open(&a, 1 << 20));
	ASSERT_EQ(0, mu_peer_open(&b, 1 << 20));
	hb = link_node(_metadata, b.fd, NODE_B, a.fd);
	for (i = 0; i < 2; i++) {
		sk = socket(AF_INET6, types[i] | SOCK_CLOEXEC, 0);
		ASSERT_LE(0, sk) TH_LOG("AF_INET6 socket: %d", errno);
		ASSERT_EQ(0, send_fd(a.fd, hb, sk)) TH_LOG("type %d", types[i]);
		ASSERT_EQ(0, mu_peer_recv(&b, BUS1_RECV_FLAG_INSTALL_FDS, &r));
		ASSERT_EQ(1, r.msg.n_fds);
		fd = mu_fds(&b, &r)[0];
		EXPECT_TRUE(same_file(fd, sk));
		close(fd);
		close(sk);
		ASSERT_EQ(0, b1_slice_release(b.fd, r.msg.offset));
	}
	mu_peer_close(&a);
	mu_peer_close(&b);
}

/*
 * A pty's slave end passes like its master (bus1(7), "PASSING FILES":
 * terminals); allowed_kinds has only the master, whose major (128) is the
 * first of the Unix98 pty range, the slave's (136) is past the masters'.
 */
TEST(allowed_pty_slave)
{
	struct bus1_cmd_recv r;
	struct mu_peer a, b;
	int master, slave, fd;
	struct stat st;
	__u64 hb;

	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ASSERT_LE(0, master);
	ASSERT_EQ(0, grantpt(master));
	ASSERT_EQ(0, unlockpt(master));
	slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	ASSERT_LE(0, slave);
	ASSERT_EQ(0, fstat(slave, &st));
	ASSERT_EQ(136U, major(st.st_rdev));

	ASSERT_EQ(0, mu_peer_open(&a, 1 << 20));
	ASSERT_EQ(0, mu_peer_open(&b, 1 << 20));
	hb = link_node(_metadata, b.fd, NODE_B, a.fd);
	ASSERT_EQ(0, send_fd(a.fd, hb, slave));
	ASSERT_EQ(0, mu_peer_recv(&b, BUS1_RECV_FLAG_INSTALL_FDS, &r));
	ASSERT_EQ(1, r.msg.n_fds);
	fd = mu_fds(&b, &r)[0];
	EXPECT_TRUE(same_file(fd, slave));
	close(fd);
	ASSERT_EQ(0, b1_slice_release(b.fd, r.msg.offset));
	close(slave);
	close(master);
	mu_peer_close(&a);
	mu_peer_close(&b);
}

/* Kinds that can hold file references, or that bus1 cannot tell apart. */
TEST(refused_kinds)
{
	struct mu_peer a, b;
	struct kind k[16];
	int sv[2], n = 0, i, ring;
	sigset_t mask;
	__u64 hb;

	ASSERT_EQ(0, mu_peer_open(&a, 1 << 20));
	ASSERT_EQ(0, mu_peer_open(&b, 1 << 20));
	hb = link_node(_metadata, b.fd, NODE_B, a.fd);

	ring = ring_open();
	if (ring != -ENOSYS) {
		ASSERT_GE(ring, 0);
		k[n++] = (struct kind){ "io_uring", ring };
	}
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	k[n++] = (struct kind){ "AF_UNIX socket", sv[0] };
	k[n++] = (struct kind){ "bus1 peer", b.fd };
	k[n++] = (struct kind){ "epoll", epoll_create1(EPOLL_CLOEXEC) };
	k[n++] = (struct kind){ "timerfd",
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC) };
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	k[n++] = (struct kind){ "signalfd", signalfd(-1, &mask, SFD_CLOEXEC) };
	k[n++] = (struct kind){ "userfaultfd",
		(int)syscall(__NR_userfaultfd, O_CLOEXEC) };
	/* a misc character device (not a memory device, not a terminal) */
	k[n++] = (struct kind){ "/dev/cpu_dma_latency",
		open("/dev/cpu_dma_latency", O_RDONLY | O_CLOEXEC) };

	for (i = 0; i < n; i++) {
		if (k[i].fd < 0) {
			TH_LOG("no %s here (%d), not tested", k[i].name,
			       errno);
			continue;
		}
		EXPECT_EQ(-EOPNOTSUPP, send_fd(a.fd, hb, k[i].fd))
			TH_LOG("%s accepted", k[i].name);
	}
	EXPECT_EQ(0, mu_counter(b.fd, "bus1-queued"));
	for (i = 0; i < n; i++)
		if (k[i].fd >= 0 && k[i].fd != b.fd)
			close(k[i].fd);
	close(sv[1]);
	mu_peer_close(&a);
	mu_peer_close(&b);
}

/*
 * RECV reserves the fd numbers before anything is visible: with no free
 * number it fails with EMFILE and the message stays queued (bus1(7)).
 */
TEST(recv_emfile_keeps_message)
{
	struct rlimit rl;
	struct bus1_cmd_recv r;
	struct mu_peer a, b;
	int p[2], two[2], fd, last = -1;
	__u64 hb;

	ASSERT_EQ(0, mu_peer_open(&a, 1 << 20));
	ASSERT_EQ(0, mu_peer_open(&b, 1 << 20));
	hb = link_node(_metadata, b.fd, NODE_B, a.fd);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	two[0] = p[0];
	two[1] = p[1];
	ASSERT_EQ(0, mu_sendv(a.fd, 0, &hb, 1, NULL, NULL, 0, NULL, 0, two,
			      2));

	/* exactly one free fd number below the limit */
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
	rl.rlim_cur = 64;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	while ((fd = dup(p[0])) >= 0)
		last = fd;
	ASSERT_EQ(EMFILE, errno);
	ASSERT_GE(last, 0);
	close(last);

	EXPECT_EQ(-EMFILE, mu_peer_recv(&b, BUS1_RECV_FLAG_INSTALL_FDS, &r));
	EXPECT_EQ(1, mu_counter(b.fd, "bus1-queued"));
	/* the failed RECV left no fd behind: the one free number is free */
	fd = dup(p[0]);
	EXPECT_EQ(last, fd);
	close(fd);

	close(last - 1);
	ASSERT_EQ(0, mu_peer_recv(&b, BUS1_RECV_FLAG_INSTALL_FDS, &r));
	ASSERT_EQ(2, r.msg.n_fds);
	EXPECT_TRUE(same_file(mu_fds(&b, &r)[0], p[0]));
	EXPECT_TRUE(same_file(mu_fds(&b, &r)[1], p[1]));
	mu_peer_close(&a);
	mu_peer_close(&b);
}

TEST_HARNESS_MAIN
