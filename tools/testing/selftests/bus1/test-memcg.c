// SPDX-License-Identifier: GPL-2.0
/*
 * test-memcg - bus1 under a memory cgroup limit (issue 15 items 8 and 9).
 *
 * Item 8: the kernel arrays a SEND sizes from its arguments (destinations,
 * handles, created nodes, files, iovecs) and the RECV arrays are charged to
 * the caller's memory cgroup, so memory.max bounds them.
 *
 * Item 9: when the pool page that receives the handle-id array cannot be
 * allocated, RECV fails with ENOMEM and leaves the message queued; it never
 * delivers an array of zeros (valid user node IDs). The page is made to
 * fail like this: the receiver's pool is charged to a cgroup that holds no
 * task (its peer was opened there), root punches the page out of the pool's
 * shmem file through /proc/self/map_files, and the cgroup's memory.max is
 * set below its usage. With no task to kill, the charge fails.
 *
 * Needs root and cgroup2 with the memory controller (mounted on
 * /sys/fs/cgroup if nothing is); SKIPs otherwise, with the reason.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/falloc.h>

#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "msg-util.h"

#define CG		"/sys/fs/cgroup"
#define NODE_B		0x100ULL
#define NODE_A		0x300ULL

static int cg_write(const char *cg, const char *file, const char *val)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s%s%s", CG, cg, *cg ? "/" : "",
		 file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

/* one number from @file, or the value of @key in a "key value" file */
static long long cg_read(const char *cg, const char *file, const char *key)
{
	char path[256], buf[4096], *s;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", CG, cg, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	if (!key)
		return strtoll(buf, NULL, 10);
	for (s = buf; s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL)
		if (!strncmp(s, key, strlen(key)) && s[strlen(key)] == ' ')
			return strtoll(s + strlen(key) + 1, NULL, 10);
	return -ENOENT;
}

/* "" if cgroup2 with the memory controller is usable, else why not */
static const char *cg_setup(const char *cg)
{
	char path[256];

	if (access(CG "/cgroup.controllers", F_OK)) {
		mkdir(CG, 0755);
		if (mount("none", CG, "cgroup2", 0, NULL))
			return "cannot mount cgroup2";
	}
	if (cg_write("", "cgroup.subtree_control", "+memory"))
		return "cannot enable the memory controller";
	snprintf(path, sizeof(path), "%s/%s", CG, cg);
	rmdir(path);
	if (mkdir(path, 0755))
		return "cannot create a cgroup";
	if (cg_read(cg, "memory.max", NULL) == -ENOENT)
		return "no memory.max";
	return "";
}

static void cg_leave_and_remove(const char *cg)
{
	char path[256];

	cg_write("", "cgroup.procs", "0");
	snprintf(path, sizeof(path), "%s/%s", CG, cg);
	rmdir(path);
}

static unsigned long handles_max(void)
{
	char buf[32];
	ssize_t n;
	int fd;

	fd = open("/sys/module/bus1/parameters/user_handles_max",
		  O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 65536;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 65536;
	buf[n] = 0;
	return strtoul(buf, NULL, 10);
}

/*
 * A SEND whose arrays the kernel allocates before it reads the handle IDs
 * from a bad pointer: n destinations, n handles.
 */
/* destinations: at most BUS1_DESTINATION_MAX per SEND (bus1(7)) */
static unsigned long big_dests(unsigned long n)
{
	return n < BUS1_DESTINATION_MAX ? n : BUS1_DESTINATION_MAX;
}

static int send_big_arrays(int fd, unsigned long n)
{
	struct bus1_cmd_send s = {
		.n_destinations = big_dests(n),
		.ptr_handles = 8,
		.n_handles = n,
	};

	return b1_send_raw(fd, &s);
}

/* Item 8: the peak usage of the cgroup shows the transient arrays. */
TEST(send_arrays_charged)
{
	const char *why = cg_setup("bus1-t8a");
	unsigned long n = handles_max() < 65536 ? handles_max() : 65536;
	long long p0, p1;
	int fd;

	if (*why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, cg_write("bus1-t8a", "cgroup.procs", "0"));
	fd = b1_open();
	ASSERT_GE(fd, 0);
	/* warm up: the first SEND of a peer allocates what it keeps */
	ASSERT_EQ(-EFAULT, send_big_arrays(fd, 1));
	p0 = cg_read("bus1-t8a", "memory.peak", NULL);
	ASSERT_GE(p0, 0);
	ASSERT_EQ(-EFAULT, send_big_arrays(fd, n));
	p1 = cg_read("bus1-t8a", "memory.peak", NULL);
	/* at least the destination (32 bytes) and handle (8) arrays */
	TH_LOG("%lu destinations, %lu handles: memory.peak %lld -> %lld (+%lld)",
	       big_dests(n), n, p0, p1, p1 - p0);
	EXPECT_GE(p1 - p0, (long long)big_dests(n) * 32 + (long long)n * 8);
	close(fd);
	cg_leave_and_remove("bus1-t8a");
}

/* Item 8: a SEND cannot take the cgroup beyond memory.max. */
TEST(send_arrays_bounded)
{
	const char *why = cg_setup("bus1-t8b");
	unsigned long n = handles_max() < 65536 ? handles_max() : 65536;
	long long cur, max, ev0, ev1;
	char buf[32];
	int fd, r;

	if (*why)
		SKIP(return, "%s", why);
	/* handles and created nodes, 16 bytes each, must pass 512 KiB */
	if (n < 32768)
		SKIP(return, "user_handles_max %lu too small", n);
	/* no OOM victim in the cgroup: a failed charge fails the call */
	ASSERT_EQ(0, cg_write("bus1-t8b", "cgroup.procs", "0"));
	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(5, write(fd, "-1000", 5));
	close(fd);
	fd = b1_open();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(-EFAULT, send_big_arrays(fd, 1));

	/* 512 KiB of room: less than the arrays need, enough for the rest */
	cur = cg_read("bus1-t8b", "memory.current", NULL);
	ASSERT_GT(cur, 0);
	snprintf(buf, sizeof(buf), "%lld", cur + (512 << 10));
	ASSERT_EQ(0, cg_write("bus1-t8b", "memory.max", buf));
	ev0 = cg_read("bus1-t8b", "memory.events", "max");
	r = send_big_arrays(fd, n);
	ev1 = cg_read("bus1-t8b", "memory.events", "max");
	max = cg_read("bus1-t8b", "memory.max", NULL);
	cur = cg_read("bus1-t8b", "memory.current", NULL);
	ASSERT_EQ(0, cg_write("bus1-t8b", "memory.max", "max"));
	TH_LOG("SEND of %lu dests, %lu handles: %d; max events %lld -> %lld",
	       big_dests(n), n, r, ev0, ev1);
	TH_LOG("memory.current %lld, memory.max %lld", cur, max);
	EXPECT_EQ(-ENOMEM, r);
	EXPECT_GT(ev1, ev0);
	EXPECT_LE(cur, max);
	close(fd);
	cg_leave_and_remove("bus1-t8b");
}

/* Item 9: a failed write of the handle-id array fails RECV cleanly. */
TEST(recv_ids_write_fails)
{
	const char *why = cg_setup("bus1-t9");
	static char big[3 * 4096], page[4096];
	struct iovec v;
	struct bus1_cmd_recv r;
	struct mu_peer a, b;
	__u64 hb, node = NODE_A, id = ~0ULL;
	long long cur, after;
	cpu_set_t cpus;
	char path[128];
	int mapfd, ret;

	if (*why)
		SKIP(return, "%s", why);
	/*
	 * One CPU for the whole test. memcg charges pages in batches and
	 * keeps the surplus in a per-CPU stock that later charges take
	 * without looking at memory.max. Writing memory.max drains the
	 * writer's CPU at once but other CPUs only from a work item; on the
	 * KCSAN kernel under TCG that work had not run 200 ms later, and the
	 * RECV, run on the CPU that had charged the pool, took the page from
	 * that stock and succeeded. On one CPU the write drains the only
	 * stock this cgroup has.
	 */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu(), &cpus);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpus), &cpus));
	/* only b's pool is charged to the cgroup; no task stays in it */
	ASSERT_EQ(0, cg_write("bus1-t9", "cgroup.procs", "0"));
	ASSERT_EQ(0, mu_peer_open(&b, 1 << 20));
	ASSERT_EQ(0, cg_write("", "cgroup.procs", "0"));
	ASSERT_EQ(0, mu_peer_open(&a, 1 << 20));
	hb = NODE_B;
	ASSERT_EQ(0, b1_transfer(b.fd, NODE_B, a.fd, &hb));

	/* message 1: 4096 bytes, its handle id at pool offset 4096 (page 1) */
	memset(page, 'x', sizeof(page));
	v = (struct iovec){ page, sizeof(page) };
	ASSERT_EQ(0, mu_sendv(a.fd, 0, &hb, 1, NULL, &v, 1, &node, 1,
			      NULL, 0));
	/* message 2 ends in page 4: the pool's cached page is not page 1 */
	v = (struct iovec){ big, sizeof(big) };
	ASSERT_EQ(0, mu_sendv(a.fd, 0, &hb, 1, NULL, &v, 1, NULL, 0,
			      NULL, 0));

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
		 (unsigned long)b.pool, (unsigned long)b.pool + b.size);
	mapfd = open(path, O_RDWR | O_CLOEXEC);
	if (mapfd < 0)
		SKIP(return, "cannot open the pool's shmem file (%s: %d)",
		     path, errno);
	ASSERT_EQ(0, fallocate(mapfd, FALLOC_FL_PUNCH_HOLE |
			       FALLOC_FL_KEEP_SIZE, 4096, 4096));
	/*
	 * Below the usage: the write drains the per-CPU charge stock (a
	 * batch of pages charged ahead), which would otherwise let the next
	 * page through; other CPUs drain from a work item. A drain is
	 * skipped, not waited for, while another one runs anywhere
	 * (drain_all_stock()'s mutex_trylock()) or while a drain work item
	 * of an earlier write is still pending on this CPU: the second write,
	 * after both are over, drains for certain.
	 */
	ASSERT_EQ(0, cg_write("bus1-t9", "memory.max", "0"));
	usleep(200 * 1000);
	ASSERT_EQ(0, cg_write("bus1-t9", "memory.max", "0"));
	cur = cg_read("bus1-t9", "memory.current", NULL);
	ASSERT_GT(cur, 0);

	ret = b1_recv(b.fd, 0, b.size, &r);
	after = cg_read("bus1-t9", "memory.current", NULL);
	if (!ret)
		ASSERT_EQ(8, pread(mapfd, &id, 8, 4096));
	/* (a RECV that got its page from a charge stock leaves usage as is) */
	TH_LOG("RECV, id page unavailable: %d (ids 0x%llx; memory.current %lld -> %lld)",
	       ret, (unsigned long long)id, cur, after);
	EXPECT_EQ(-ENOMEM, ret);
	EXPECT_EQ(2, mu_counter(b.fd, "bus1-queued"));

	/* with room again, the same message arrives, with a real id */
	ASSERT_EQ(0, cg_write("bus1-t9", "memory.max", "max"));
	if (ret) {
		ASSERT_EQ(0, mu_peer_recv(&b, 0, &r));
		ASSERT_EQ(4096, r.msg.n_bytes);
		ASSERT_EQ(1, r.msg.n_handles);
		id = mu_handles(&b, &r)[0];
		EXPECT_EQ(BUS1_HANDLE_FLAG_MANAGED | BUS1_HANDLE_FLAG_REMOTE,
			  id & (BUS1_HANDLE_FLAG_MANAGED |
				BUS1_HANDLE_FLAG_REMOTE));
		EXPECT_EQ('x', ((const char *)mu_payload(&b, &r))[4095]);
	}
	close(mapfd);
	mu_peer_close(&a);
	mu_peer_close(&b);
	cg_leave_and_remove("bus1-t9");
}

/*
 * A multicast destination whose pool cannot be created (its peer's memory
 * cgroup is full and holds no task) fails alone under CONTINUE, with
 * ENOMEM, a per-destination error (bus1(7)); the others are delivered.
 * The destinations are four peers of one user, so after the first the
 * SEND reserves the other three's charges at once (quota.rst, "Multicast
 * charges"): the failed one never takes its part, and what the
 * reservation still holds when the command ends must go back. A flood of
 * 64 KiB messages to a fifth peer of that user queues as many after the
 * multicast as before (fewer if the user's figures kept a charge).
 */
#define MC_PEERS	4

static long flood_count(int fd, __u64 dst, struct mu_peer *p)
{
	static char buf[65536];
	struct iovec v = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct bus1_cmd_recv r;
	long n = 0, m = 0;
	int ret;

	while (!(ret = mu_sendv(fd, 0, &dst, 1, NULL, &v, 1, NULL, 0,
				NULL, 0)))
		n++;
	if (ret != -EDQUOT)
		return ret;
	while (!mu_peer_recv_release(p, &r))
		m++;
	return m == n ? n : -EBADMSG;
}

TEST(multicast_dest_enomem)
{
	const char *why = cg_setup("bus1-t10");
	static char buf[65536];
	struct iovec v = { .iov_base = buf, .iov_len = sizeof(buf) };
	__u64 dst[MC_PEERS], errors[MC_PEERS], hx;
	struct mu_peer a, b[MC_PEERS], x;
	struct bus1_cmd_recv r;
	cpu_set_t cpus;
	long n0, n;
	int i;

	if (*why)
		SKIP(return, "%s", why);
	/* one CPU: memory.max drains this CPU's charge stock at once */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu(), &cpus);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpus), &cpus));
	/* peer 1 is charged to the cgroup; it gets no pool before the SEND */
	ASSERT_EQ(0, cg_write("bus1-t10", "cgroup.procs", "0"));
	memset(&b[1], 0, sizeof(b[1]));
	b[1].fd = b1_open();
	ASSERT_EQ(0, cg_write("", "cgroup.procs", "0"));
	ASSERT_GE(b[1].fd, 0);
	ASSERT_EQ(0, mu_peer_open(&a, 1 << 20));
	ASSERT_EQ(0, mu_peer_open(&x, 1 << 20));
	for (i = 0; i < MC_PEERS; i++) {
		if (i != 1)
			ASSERT_EQ(0, mu_peer_open(&b[i], 1 << 20));
		ASSERT_EQ(0, b1_transfer(b[i].fd, NODE_B, a.fd, &dst[i]));
	}
	ASSERT_EQ(0, b1_transfer(x.fd, NODE_B, a.fd, &hx));
	ASSERT_EQ(0, cg_write("bus1-t10", "memory.max", "0"));
	usleep(200 * 1000);
	ASSERT_EQ(0, cg_write("bus1-t10", "memory.max", "0"));

	n0 = flood_count(a.fd, hx, &x);
	ASSERT_LT(0, n0);
	ASSERT_EQ(0, mu_sendv(a.fd, BUS1_SEND_FLAG_CONTINUE, dst, MC_PEERS,
			      errors, &v, 1, NULL, 0, NULL, 0));
	for (i = 0; i < MC_PEERS; i++) {
		ASSERT_EQ(i == 1 ? ENOMEM : 0, errors[i]) {
			TH_LOG("destination %d", i);
		}
		if (i != 1)
			ASSERT_EQ(0, mu_peer_recv_release(&b[i], &r));
	}
	n = flood_count(a.fd, hx, &x);
	TH_LOG("64 KiB messages to a peer of the user: %ld before the multicast, %ld after",
	       n0, n);
	ASSERT_EQ(n0, n);

	ASSERT_EQ(0, cg_write("bus1-t10", "memory.max", "max"));
	for (i = 0; i < MC_PEERS; i++)
		mu_peer_close(&b[i]);
	mu_peer_close(&x);
	mu_peer_close(&a);
	cg_leave_and_remove("bus1-t10");
}

TEST_HARNESS_MAIN
