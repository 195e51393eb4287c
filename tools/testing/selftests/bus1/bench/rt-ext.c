// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-rt-ext - round trips with and without the RECV extensions (issue 18).
 *
 *   bus1-rt-ext MODE N
 *
 * A client sends 0 bytes and receives the reply, a forked server receives
 * and replies, N times after 3,000 warm-up round trips. MODE 0 is the 2016
 * ABI: RECV, poll() on EAGAIN, SLICE_RELEASE. MODE 1 is one RECV with
 * BUS1_RECV_FLAG_WAIT | BUS1_RECV_FLAG_RELEASE that releases the previous
 * message. Prints the mean time per round trip (in the icount VM:
 * instructions) and the client's context switches per round trip.
 *
 *   make rt-ext    (icount VM, -smp 1; see Documentation/bus1/testing.rst)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <linux/bus1.h>

static unsigned long long now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void die(const char *s)
{
	perror(s);
	exit(1);
}

static __u64 last = BUS1_OFFSET_INVALID;

static void rx(int fd, int mode)
{
	struct bus1_cmd_recv r;

	memset(&r, 0, sizeof(r));
	r.max_offset = 1 << 20;
	if (mode == 1) {
		r.flags = BUS1_RECV_FLAG_WAIT | BUS1_RECV_FLAG_RELEASE;
		r.msg.offset = last;
		if (ioctl(fd, BUS1_CMD_RECV, &r) < 0)
			die("recv wait");
		last = r.msg.offset;
		return;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (ioctl(fd, BUS1_CMD_RECV, &r) == 0)
			break;
		if (errno != EAGAIN)
			die("recv");
		poll(&p, 1, -1);
	}
	if (ioctl(fd, BUS1_CMD_SLICE_RELEASE, &r.msg.offset) < 0)
		die("release");
}

static void tx(int fd, __u64 dst)
{
	struct bus1_cmd_send s = { .ptr_destinations = (unsigned long)&dst,
				   .n_destinations = 1 };
	if (ioctl(fd, BUS1_CMD_SEND, &s) < 0)
		die("send");
}

int main(int argc, char **argv)
{
	int mode, n, warm = 3000, i;
	int c = open("/dev/bus1", O_RDWR), s = open("/dev/bus1", O_RDWR);
	struct bus1_cmd_handle_transfer t;
	struct rusage r0, r1;
	unsigned long long t0, t1;
	__u64 hs, hc;
	pid_t pid;

	if (argc != 3) {
		fprintf(stderr, "usage: bus1-rt-ext 0|1 N\n");
		return 2;
	}
	mode = atoi(argv[1]);
	n = atoi(argv[2]);

	mmap(NULL, 1 << 20, PROT_READ, MAP_SHARED, c, 0);
	mmap(NULL, 1 << 20, PROT_READ, MAP_SHARED, s, 0);
	memset(&t, 0, sizeof(t));
	t.src_handle = 0x100;
	t.dst_fd = c;
	if (ioctl(s, BUS1_CMD_HANDLE_TRANSFER, &t))
		die("xfer");
	hs = t.dst_handle;
	memset(&t, 0, sizeof(t));
	t.src_handle = 0x100;
	t.dst_fd = s;
	if (ioctl(c, BUS1_CMD_HANDLE_TRANSFER, &t))
		die("xfer");
	hc = t.dst_handle;
	pid = fork();
	if (!pid) {
		for (i = 0; i < warm + n; i++) {
			rx(s, mode);
			tx(s, hc);
		}
		_exit(0);
	}
	for (i = 0; i < warm; i++) {
		tx(c, hs);
		rx(c, mode);
	}
	getrusage(RUSAGE_SELF, &r0);
	t0 = now();
	for (i = 0; i < n; i++) {
		tx(c, hs);
		rx(c, mode);
	}
	t1 = now();
	getrusage(RUSAGE_SELF, &r1);
	waitpid(pid, NULL, 0);
	printf("mode=%s n=%d ns/rt=%llu (icount: instructions) client vcsw/rt=%.3f ivcsw/rt=%.3f\n",
	       mode ? "RECV|WAIT|RELEASE" : "poll+RECV+SLICE_RELEASE", n, (t1 - t0) / n,
	       (double)(r1.ru_nvcsw - r0.ru_nvcsw) / n, (double)(r1.ru_nivcsw - r0.ru_nivcsw) / n);
	return 0;
}
