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

/*
 * Binder ping-pong (binder.c): forks a context-manager server, runs
 * @warmup + @reps * @iters round trips with @len bytes each way and stores
 * the per-round-trip time of every repetition in @out.
 * Return: 0 on success, -errno if binder is not usable (nothing stored).
 */
int binder_pingpong(size_t len, unsigned int warmup, unsigned int reps,
		    unsigned int iters, double *out);

#endif /* __BUS1_BENCH_H */
