/* SPDX-License-Identifier: GPL-2.0 */
/* What the benchmarks share: a clock and a failure. */
#ifndef MSHV_BENCH_H
#define MSHV_BENCH_H

#include <stdio.h>
#include <time.h>

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline int die(const char *what)
{
	perror(what);
	return 1;
}

#endif
