/*
 * rate -- the reputation arithmetic: an account's window over its hourly
 * counters, its bounce and complaint rates, and the state they call for.
 * Pure: no store, no clock (NOW is an argument), so every case is a table row
 * in tests/unit/test_rate.c.
 *
 * The window walks back from the newest hour, whole hours at a time, until it
 * holds at least window_messages eligible recipients, or reaches window_days,
 * or meets the fresh-window start an operator's resume set (that hour counts
 * only what came after the resume: FRESH->base is subtracted).  Whole hours:
 * a window may hold a few more than window_messages ("10,001 eligible").
 *
 *   eligible       = delivered + hard bounces + soft failures made final
 *                    (SF_SOFT: a 5xx for a soft reason, or a deferral expired);
 *                    blocks and deferrals are not eligible
 *   bounce rate    = hard bounces / eligible, in percent
 *   complaint rate = complaints / delivered, in percent
 *
 * Nothing is judged below min_volume eligible recipients.  A threshold of 0
 * is off.  A rate at or above a threshold crosses it.
 */
#ifndef OUTPOST_RATE_H
#define OUTPOST_RATE_H

#include <stddef.h>
#include <stdint.h>

#include "store/records.h"

struct rate_bucket {
	uint32_t hour; /* epoch seconds / 3600 */
	struct stats_rec c;
};

struct rate_limits {
	int64_t window_messages;
	int64_t window_days;
	int64_t min_volume;
	double bounce_review, bounce_pause; /* percent */
	double complaint_review, complaint_pause;
};

struct rate_window {
	uint64_t eligible, delivered, hard, soft, complaints;
	int64_t start; /* the oldest counted result's hour (or the fresh start); NOW if none */
	double span_days;
	double bounce_rate, complaint_rate; /* percent; 0 with nothing to divide by */
	int judged;			    /* eligible >= min_volume */
};

enum rate_cause { RC_NONE, RC_BOUNCE, RC_COMPLAINT };

/* The window of buckets B[0..N-1] (ascending hours) at NOW; FRESH may be NULL. */
void rate_window_compute(const struct rate_bucket *b, size_t n, int64_t now,
			 const struct rate_limits *lim, const struct window_rec *fresh,
			 struct rate_window *w);
/* The state W calls for, from STATE: AS_REVIEW or AS_PAUSED, or -1 to stay as it is (never
 * back to active).  *CAUSE_R says which rate crossed its threshold. */
int rate_verdict(const struct rate_window *w, const struct rate_limits *lim, int state,
		 int *cause_r);
/* "bounce rate 10.16% over the last 10,001 eligible emails spanning 39.6 days (pause at 10%)" */
void rate_reason(const struct rate_window *w, const struct rate_limits *lim, int cause, int to,
		 char *buf, size_t len);
/* N with thousands separators: "10,001". */
char *rate_group_digits(uint64_t n, char *buf, size_t len);

#endif
