// SPDX-License-Identifier: GPL-2.0
/*
 * The timing of the D-Bus figures of `make bench` (dbus-bench-util.h): under
 * qemu -icount shift=0 a CLOCK_MONOTONIC ns is one guest instruction (user +
 * kernel, whole VM); context switches are the whole VM's (/proc/stat ctxt).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "dbus-bench-util.h"

/* the children of the case being measured */
static pid_t kids[DBENCH_KIDS];
static int nkids;

static unsigned long long now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static unsigned long long context_switches(void)
{
	unsigned long long v = 0;
	char line[256];
	FILE *f = fopen("/proc/stat", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "ctxt %llu", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/**
 * dbench_measure() - instructions and context switches of one operation
 * @op: the operation
 * @ctx: its argument
 * @iters: calls of @op per repetition
 *
 * Return: the medians of DBENCH_REPS repetitions of @iters calls of @op,
 * after a warm-up one, divided by @iters.
 */
struct fig dbench_measure(void (*op)(void *), void *ctx, int iters)
{
	double t[DBENCH_REPS], c[DBENCH_REPS];
	struct fig f;

	for (int r = -1; r < DBENCH_REPS; r++) {
		unsigned long long c0 = context_switches(), t0 = now();

		for (int i = 0; i < iters; i++)
			op(ctx);
		if (r < 0)
			continue;
		t[r] = (double)(now() - t0) / iters;
		c[r] = (double)(context_switches() - c0) / iters;
	}
	qsort(t, DBENCH_REPS, sizeof(*t), cmp);
	qsort(c, DBENCH_REPS, sizeof(*c), cmp);
	f.instr = t[DBENCH_REPS / 2];
	f.csw = c[DBENCH_REPS / 2];
	return f;
}

/**
 * dbench_ratio_line() - print a figure as a share of dbus-daemon's
 * @what: what was measured
 * @f: its figure
 * @base: dbus-daemon's figure of the same case
 * @target: the case's target ratio
 *
 * The format of the floor lines under a case of bus1-dbus-bench.
 */
void dbench_ratio_line(const char *what, struct fig f, struct fig base,
		       double target)
{
	double ratio = f.instr / base.instr;

	printf("  %-42s %9.0f = %.2fx of dbus-daemon (%s the %.2fx target)\n",
	       what, f.instr, ratio,
	       ratio > target ? "above" : "within", target);
}

/**
 * dbench_kill_kids() - SIGKILL every child of the case (on a failure)
 */
void dbench_kill_kids(void)
{
	for (int i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
}

static void fail(const char *what)
{
	fprintf(stderr, "dbus bench: %s failed\n", what);
	dbench_kill_kids();
	exit(1);
}

/**
 * dbench_spawn() - run @fn(@arg, @fd) in a child of the case
 * @fn: the child's work; it returns only to exit
 * @arg: its argument
 * @fd: its file descriptor (the write end of a ready pipe)
 *
 * The child is killed by dbench_reap() or dbench_kill_kids().
 */
void dbench_spawn(void (*fn)(void *arg, int fd), void *arg, int fd)
{
	pid_t p;

	if (nkids == DBENCH_KIDS)
		fail("spawn: too many children");
	p = fork();
	if (p < 0)
		fail("fork");
	if (!p) {
		fn(arg, fd);
		_exit(0);
	}
	kids[nkids++] = p;
}

/**
 * dbench_wait_ready() - read the ready bytes of @n children
 * @fd: the read end of their ready pipe
 * @n: how many
 */
void dbench_wait_ready(int fd, int n)
{
	char c;

	while (n-- > 0)
		if (read(fd, &c, 1) != 1)
			fail("a child's ready byte");
}

/**
 * dbench_reap() - end the case's children (SIGTERM) and wait for them
 */
void dbench_reap(void)
{
	while (nkids > 0) {
		kill(kids[--nkids], SIGTERM);
		waitpid(kids[nkids], NULL, 0);
	}
}
