/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _BUS1_BROKER_TEST_H
#define _BUS1_BROKER_TEST_H

/*
 * Helpers for the broker tests: TAP output (from libbus1's test-lib.h), a
 * private broker forked from the test binary itself (so activation can
 * exec /proc/self/exe), and a tiny service loop.
 */

#include <ctype.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include "test-lib.h"
#include "broker.h"

static char test_sock[108], test_policy[108];
static pid_t test_broker_pid;

static inline long long test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* fork a broker with @policy (text, may be NULL); returns 0 when ready */
static inline int test_broker_start(const char *policy, int timeout_ms)
{
	struct broker_config cfg = {
		.activation_timeout_ms = timeout_ms,
		.max_burst = BROKER_MAX_BURST,
		.verbose = getenv("BROKER_VERBOSE") ? 2 : 0,
	};
	char buf[8];
	int p[2];
	FILE *f;

	snprintf(test_sock, sizeof(test_sock), "/tmp/b1t-%d.sock",
		 (int)getpid());
	snprintf(test_policy, sizeof(test_policy), "/tmp/b1t-%d.policy",
		 (int)getpid());
	if (policy) {
		f = fopen(test_policy, "we");
		if (!f)
			return -errno;
		fputs(policy, f);
		fclose(f);
		cfg.policy_path = test_policy;
	}
	cfg.socket_path = test_sock;
	if (pipe(p) < 0)
		return -errno;
	fflush(NULL);
	test_broker_pid = fork();
	if (test_broker_pid < 0)
		return -errno;
	if (!test_broker_pid) {
		close(p[0]);
		cfg.ready_fd = p[1];
		_exit(broker_run(&cfg));
	}
	close(p[1]);
	if (read(p[0], buf, sizeof(buf)) <= 0) {
		close(p[0]);
		return -EIO;
	}
	close(p[0]);
	setenv(B1B_SOCKET_ENV, test_sock, 1);
	return 0;
}

/* stop the broker; returns its exit status, or 128+signal if it crashed */
static inline int test_broker_stop(void)
{
	int status;

	if (test_broker_pid <= 0)
		return -1;
	kill(test_broker_pid, SIGTERM);
	if (waitpid(test_broker_pid, &status, 0) < 0)
		return -1;
	test_broker_pid = 0;
	unlink(test_policy);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/*
 * The broker and the calling client share one CPU, the client at
 * SCHED_FIFO: once its reply is there it sends the next request before the
 * broker takes up the next message. So what the broker does between two
 * requests of the client is what it chose to serve first, not what it did
 * while the client waited for a CPU: on a loaded host one vCPU may stall
 * for hundreds of milliseconds while the other runs on (1,415 requests of
 * flooders between two round trips of test-broker-flood, unpinned, in one
 * run). @rest gets the other CPUs (or that one, if it is the only one),
 * for children forked afterwards, which are not SCHED_FIFO; empty if the
 * CPU set is unknown.
 */
static inline void test_share_cpu_with_broker(cpu_set_t *rest)
{
	struct sched_param fifo = { .sched_priority = 1 };
	cpu_set_t one;
	int cpu;

	CPU_ZERO(rest);
	if (sched_getaffinity(0, sizeof(*rest), rest) < 0) {
		printf("# no CPU set, nothing pinned: %m\n");
		CPU_ZERO(rest);
		return;
	}
	for (cpu = 0; !CPU_ISSET(cpu, rest); cpu++)
		;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (CPU_COUNT(rest) > 1)
		CPU_CLR(cpu, rest);
	if (sched_setaffinity(test_broker_pid, sizeof(one), &one) < 0 ||
	    sched_setaffinity(0, sizeof(one), &one) < 0)
		printf("# cannot pin the broker and the client: %m\n");
	if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &fifo) < 0)
		printf("# no SCHED_FIFO for the client: %m\n");
}

/* the broker's counters, as GET_STATS answers them (broker.rst) */
struct test_broker_stats {
	__u64 clients;
	__u64 names;
	__u64 requests;
	__u64 rejected;
	__u64 dropped;
	__u64 events;
};

/* one round trip: GET_STATS on @c */
static inline int test_broker_stats(struct b1c *c, int timeout_ms,
				    struct test_broker_stats *st)
{
	struct b1b_cursor body;
	struct b1b_hdr h;
	struct b1c_msg *m = NULL;
	int r;

	r = b1c_request(c, B1B_OP_GET_STATS, NULL, NULL, 0, timeout_ms, &m);
	if (!r) {
		b1b_parse_hdr(m->data, m->n_bytes, &h, &body);
		st->clients = b1b_get_u64(&body);
		st->names = b1b_get_u64(&body);
		st->requests = b1b_get_u64(&body);
		st->rejected = b1b_get_u64(&body);
		st->dropped = b1b_get_u64(&body);
		st->events = b1b_get_u64(&body);
		r = b1b_end(&body);
	}
	b1c_msg_free(m);
	return r;
}

/* in a forked child: drop inherited peers so they can die with the parent */
static inline void test_child_init(void)
{
	int fd;

	for (fd = 3; fd < 1024; fd++)
		close(fd);
}

static inline void test_child_init_keep(int keep)
{
	int fd;

	for (fd = 3; fd < 1024; fd++)
		if (fd != keep)
			close(fd);
}

static inline void test_broker_alive(void)
{
	int status;

	CHECK(test_broker_pid > 0 &&
	      waitpid(test_broker_pid, &status, WNOHANG) == 0,
	      "broker is still running");
}

/* serve CALLs on @node: reply "<prefix>ARG"; stop on "quit" or broker loss */
static inline int test_serve(struct b1c *c, __u64 node, const char *prefix,
			     long max_calls)
{
	unsigned char buf[B1B_MAX_MSG];
	char arg[1024], out[1200];
	struct b1b_cursor body;
	struct b1b_hdr hdr;
	struct b1b_buf w;
	struct b1c_msg *m;
	long calls = 0;
	size_t i;
	int r, len, status;

	while (max_calls < 0 || calls < max_calls) {
		r = b1c_recv(c, -1, &m);
		if (r < 0)
			return r;
		if (m->type == BUS1_MSG_NODE_DESTROY &&
		    m->destination == c->broker) {
			b1c_msg_free(m);
			return 0;
		}
		if (m->type == BUS1_MSG_DATA && m->destination == node &&
		    m->n_handles >= 1 && m->handles[0] != BUS1_HANDLE_INVALID) {
			status = b1b_parse_hdr(m->data, m->n_bytes, &hdr,
					       &body);
			b1b_get_str(&body, arg, sizeof(arg));
			if (!status)
				status = b1b_end(&body);
			snprintf(out, sizeof(out), "%s%s", prefix, arg);
			b1b_buf_init(&w, buf, sizeof(buf));
			b1b_put_hdr(&w, B1B_OP_CALL | B1B_OP_REPLY,
				    hdr.serial, status);
			b1b_put_str(&w, out);
			len = b1b_finish(&w);
			if (len > 0)
				b1c_send_raw(c, m->handles[0], buf, len,
					     NULL, 0);
			calls++;
			if (!strcmp(arg, "quit"))
				max_calls = calls;
		}
		for (i = 0; i < m->n_handles; i++)
			if (m->handles[i] != BUS1_HANDLE_INVALID)
				bus1_handle_release(c->peer, m->handles[i]);
		b1c_msg_free(m);
	}
	return 0;
}

/* connect, own @name, serve; for forked children */
static inline int test_service_main(const char *name, const char *prefix)
{
	struct b1c *c;
	__u64 node;
	int r;

	r = b1c_from_env(&c);
	if (r == -ENOENT)
		r = b1c_connect(NULL, &c);
	if (r < 0)
		return 10;
	if (bus1_node_new(c->peer, &node) < 0)
		return 11;
	r = b1c_request_name(c, name, node);
	if (r < 0)
		return 12;
	r = test_serve(c, node, prefix, -1);
	b1c_free(c);
	return r < 0 ? 13 : 0;
}

/* look @name up, retrying while it is absent (ENOENT), up to @ms */
static inline int test_lookup_wait(struct b1c *c, const char *name, int ms,
				   __u64 *h, __u64 *owner)
{
	long long end = test_now_ms() + ms;
	int r;

	for (;;) {
		r = b1c_get_name_owner(c, name, 5000, h, owner);
		if (r != -ENOENT || test_now_ms() > end)
			return r;
		usleep(20000);
	}
}

/* wait until a lookup of @name fails with ENOENT, up to @ms */
static inline int test_gone_wait(struct b1c *c, const char *name, int ms)
{
	long long end = test_now_ms() + ms;
	__u64 h;
	int r;

	for (;;) {
		r = b1c_get_name_owner(c, name, 5000, &h, NULL);
		if (r == -ENOENT)
			return 0;
		if (r == 0)
			bus1_handle_release(c->peer, h);
		if (test_now_ms() > end)
			return r ? r : -EEXIST;
		usleep(20000);
	}
}

#endif /* _BUS1_BROKER_TEST_H */
