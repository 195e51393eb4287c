/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The timing of the D-Bus figures of `make bench`, shared by bus1-dbus-bench
 * (libdbus, static) and bus1-dbus-sdpump-bench (sd-bus, dynamic): both print
 * figures of one icount VM run against the same dbus-daemon baseline, so
 * they must be measured the same way.
 */
#ifndef DBUS_BENCH_UTIL_H
#define DBUS_BENCH_UTIL_H

#define DBENCH_REPS	7
#define DBENCH_KIDS	16	/* children of one case at most */

struct fig {
	double instr, csw;
};

struct fig dbench_measure(void (*op)(void *), void *ctx, int iters);
void dbench_ratio_line(const char *what, struct fig f, struct fig base,
		       double target);
void dbench_spawn(void (*fn)(void *arg, int fd), void *arg, int fd);
void dbench_wait_ready(int fd, int n);
void dbench_reap(void);
void dbench_kill_kids(void);

#endif
