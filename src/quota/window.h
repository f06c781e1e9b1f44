/*
 * window -- a rolling count over a fixed span (24 h for the daily quota, 1 h
 * for the hourly cap), kept as NBUCKETS buckets of SPAN/NBUCKETS each.
 *
 * A bucket holds the recipients committed in its slice of time; the count is
 * the sum of the buckets younger than the span.  Counting is exact to the
 * bucket: a recipient sent at 13:02 frees its place at the end of the bucket
 * holding 13:02 a span later (with 288 buckets over 24 h, within 5 minutes
 * after the 24 h), never earlier — so the quota is never exceeded and "retry
 * after" is a time a client can act on.  Pure: time is passed in (seconds);
 * a clock that goes backwards neither frees nor loses counts.
 */
#ifndef OUTPOST_WINDOW_H
#define OUTPOST_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#define WINDOW_BUCKETS 288
/* One slot more than the span holds: a bucket is counted until the END of its
 * slice plus the span, so nothing frees early. */
#define WINDOW_SLOTS (WINDOW_BUCKETS + 1)

struct window {
	int64_t span;	/* seconds covered, a multiple of WINDOW_BUCKETS */
	int64_t newest; /* index (time / width) of the newest bucket written */
	uint64_t sum;	/* of the buckets: counting never walks them all */
	uint32_t b[WINDOW_SLOTS];
};

/* SPAN seconds (a positive multiple of WINDOW_BUCKETS); 0 ok, -1 otherwise. */
int window_init(struct window *w, int64_t span);
/* Recipients counted in the span ending at NOW. */
uint64_t window_count(struct window *w, int64_t now);
/* Add N recipients at NOW. */
void window_add(struct window *w, int64_t now, uint32_t n);
/*
 * Would N more fit under LIMIT at NOW?  Returns 1, or 0 with *FREE_AT set to
 * the first time they would (-1 if N alone is more than LIMIT).
 */
int window_fits(struct window *w, int64_t now, uint64_t limit, uint64_t n, int64_t *free_at);

/* Start loading the bucket NOW falls in (a hint, before the slot's lock is taken). */
static inline void
window_prefetch(const struct window *w, int64_t now)
{
	if (now >= 0)
		__builtin_prefetch(&w->b[(now / (w->span / WINDOW_BUCKETS)) % WINDOW_SLOTS], 1);
}

/* Store layout: version byte, span, newest, then the buckets (little-endian). */
size_t window_encode(const struct window *w, uint8_t *buf, size_t len);
int window_decode(const void *data, size_t len, struct window *w);

#endif
