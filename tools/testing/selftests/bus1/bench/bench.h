/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers of the bus1 benchmark (bench.c, binder.c).
 */
#ifndef __BUS1_BENCH_H
#define __BUS1_BENCH_H

#include <stddef.h>
#include <stdint.h>

typedef unsigned long long u64;
typedef unsigned int u32;

/* median of @n samples (the array is sorted in place) */
double bench_median(double *v, size_t n);

/* CLOCK_MONOTONIC in ns (== guest instructions under -icount shift=0) */
u64 bench_now(void);

/* print a message and exit(1); never returns */
void bench_die(const char *fmt, ...);

/* context switches of the calling process so far (getrusage RUSAGE_SELF) */
struct bench_csw {
	long vol, invol;
};

void bench_csw_now(struct bench_csw *c);

#define BENCH_RT_MAX_REPS 16

/*
 * A round-trip measurement: @warmup round trips, then @reps timed
 * repetitions of @iters. Results: @t, instructions per round trip of every
 * repetition; @cli/@srv, the client's/server's context-switch counters
 * after the warm-up ([0]) and after every repetition ([1..reps]), taken by
 * each side itself (@srv lives in memory shared with the forked server).
 */
struct bench_rt {
	unsigned int warmup, iters, reps;
	double t[BENCH_RT_MAX_REPS];
	struct bench_csw cli[BENCH_RT_MAX_REPS + 1];
	struct bench_csw *srv;
	int quit[2];	/* pipe: the server exits once the client is done */
};

/*
 * Server side helper: call after each completed round trip with the number
 * completed so far; records @rt->srv at the repetition boundaries.
 */
static inline void bench_rt_server_mark(struct bench_rt *rt, unsigned long done)
{
	if (done >= rt->warmup && !((done - rt->warmup) % rt->iters))
		bench_csw_now(&rt->srv[(done - rt->warmup) / rt->iters]);
}

/*
 * Server side, after its last reply: wait until the client has stopped its
 * clock, so that the server's exit is not timed as part of a round trip.
 */
void bench_rt_server_done(struct bench_rt *rt);

/* client side, after its last timestamp: let the server exit */
void bench_rt_client_done(struct bench_rt *rt);

/*
 * Binder ping-pong (binder.c): forks a context-manager server and runs
 * @rt's round trips with @len bytes each way, filling in @rt.
 * Return: 0 on success, -errno if binder is not usable (nothing stored).
 */
int binder_pingpong(size_t len, struct bench_rt *rt);

#endif /* __BUS1_BENCH_H */
