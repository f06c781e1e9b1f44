/* limits -- the limits of one quota scope (see quota.h); shared by facts.h and quota.h. */
#ifndef OUTPOST_LIMITS_H
#define OUTPOST_LIMITS_H

#include <stdint.h>

struct quota_limits {
	int64_t rate_n, rate_per;	/* RATE_N recipients per RATE_PER seconds; 0: none */
	int64_t burst;			/* 0: the rate of one second, at least 1 */
	int64_t daily, hourly, monthly; /* recipients; 0: none */
};

#endif
