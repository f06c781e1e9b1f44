/*
 * gcra -- the Generic Cell Rate Algorithm: a send rate with a burst, exact,
 * in one 64-bit number per limit (the theoretical arrival time, TAT).
 *
 * A limit of RATE units per PERIOD with a burst of BURST means: one unit
 * every T = PERIOD / RATE on average, and up to BURST units at once after a
 * quiet spell.  A request for N units at time NOW is allowed when
 *     max(TAT, NOW) + N*T - NOW <= BURST*T
 * and then TAT becomes max(TAT, NOW) + N*T.  Pure: time is passed in
 * (microseconds, any monotonic or wall clock); a clock that goes backwards
 * never grants extra units (TAT is never moved back).
 */
#ifndef OUTPOST_GCRA_H
#define OUTPOST_GCRA_H

#include <stdint.h>

struct gcra_limit {
	int64_t interval_us; /* T: PERIOD / RATE */
	int64_t burst;	     /* units allowed at once (>= 1) */
};

/* RATE units per PERIOD_US with BURST; 0 ok, -1 for a rate or period that is not positive. */
int gcra_limit_init(struct gcra_limit *l, int64_t rate, int64_t period_us, int64_t burst);

/*
 * May N units pass at NOW?  On yes, *TAT is advanced and 1 returned.  On no,
 * *TAT is unchanged, *RETRY_US (if not NULL) is how long until N units would
 * pass, and 0 returned.  N larger than the burst can never pass: *RETRY_US is
 * then -1.
 */
int gcra_take(const struct gcra_limit *l, int64_t *tat, int64_t now_us, int64_t n,
	      int64_t *retry_us);

/* Units that could pass at NOW without changing anything. */
int64_t gcra_available(const struct gcra_limit *l, int64_t tat, int64_t now_us);

#endif
