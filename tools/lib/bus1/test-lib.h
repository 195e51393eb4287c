/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _BUS1_TEST_LIB_H
#define _BUS1_TEST_LIB_H

/*
 * Minimal TAP helpers for the libbus1 and broker tests. A test calls
 * tap_plan(N) after tap_start() with its number of checks: the plan comes
 * first, and tap_end() fails unless exactly N checks ran, so a test that
 * stops early (a "goto out" without a failed check) cannot pass. Without
 * tap_plan() the plan is printed last as the number of checks that ran.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bus1/bus1.h>

/*
 * The counters are the program's: a test of several files defines
 * TAP_SHARED before including this header in each of them, and
 * TAP_SHARED_DEFINE as well in the one that holds them.
 */
#if !defined(TAP_SHARED)
static int tap_n, tap_failed, tap_planned = -1;
#elif defined(TAP_SHARED_DEFINE)
int tap_n, tap_failed, tap_planned = -1;
#else
extern int tap_n, tap_failed, tap_planned;
#endif

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

static inline int tap_check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!ok)
		tap_failed++;
	return ok;
}

/* check that r (0 or -errno) equals want */
static inline int tap_check_r(int r, int want, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return tap_check(r == want, "%s (got %d%s%s)", what, r,
			 r < 0 ? " " : "", r < 0 ? bus1_strerror(r) : "");
}

#define CHECK_R(r, want, ...) tap_check_r((r), (want), __VA_ARGS__)

#define CHECK(cond, ...) tap_check(!!(cond), __VA_ARGS__)

static inline void tap_begin(const char *name)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n# %s\n", name);
}

static inline void tap_start(const char *name)
{
	tap_begin(name);
	if (access(BUS1_DEVICE_PATH, R_OK | W_OK)) {
		printf("1..0 # SKIP %s not available\n", BUS1_DEVICE_PATH);
		exit(4);
	}
}

static inline void tap_plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
}

static inline int tap_end(void)
{
	if (tap_planned < 0) {
		printf("1..%d\n", tap_n);
	} else if (tap_n != tap_planned) {
		printf("# planned %d checks, ran %d\n", tap_planned, tap_n);
		return 1;
	}
	if (tap_failed)
		printf("# %d of %d checks failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif /* _BUS1_TEST_LIB_H */
