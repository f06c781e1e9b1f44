/* clock -- the wall clock in microseconds (quotas and rates need more than time(2)'s seconds). */
#ifndef OUTPOST_CLOCK_H
#define OUTPOST_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A monotonic clock in microseconds, for latencies (never jumps with the wall clock). */
static inline int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
