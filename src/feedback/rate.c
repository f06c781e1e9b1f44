/* rate -- reputation windows, rates and thresholds; see rate.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "rate.h"

static uint64_t
sub0(uint32_t a, uint32_t b)
{
	return a > b ? a - b : 0;
}

/* Add bucket C (less BASE, if given) to W; returns what it added to eligible. */
static uint64_t
window_add(struct rate_window *w, const struct stats_rec *c, const struct stats_rec *base)
{
	static const struct stats_rec zero;
	uint64_t d, h, s, e;

	if (base == NULL)
		base = &zero;
	d = sub0(c->n[SF_DELIVERED], base->n[SF_DELIVERED]);
	h = sub0(c->n[SF_HARD], base->n[SF_HARD]);
	s = sub0(c->n[SF_SOFT], base->n[SF_SOFT]);
	e = d + h + s;
	w->delivered += d;
	w->hard += h;
	w->soft += s;
	w->eligible += e;
	w->complaints += sub0(c->n[SF_COMPLAINT], base->n[SF_COMPLAINT]);
	return e;
}

static double
percent(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

void
rate_window_compute(const struct rate_bucket *b, size_t n, int64_t now,
		    const struct rate_limits *lim, const struct window_rec *fresh,
		    struct rate_window *w)
{
	int64_t now_hour = now / 3600, first_hour = now_hour - lim->window_days * 24 + 1;
	int64_t fresh_hour = fresh && fresh->since > 0 ? fresh->since / 3600 : -1;

	memset(w, 0, sizeof(*w));
	w->start = now;
	if (fresh_hour > first_hour)
		first_hour = fresh_hour;
	for (size_t i = n; i-- > 0 && (int64_t)w->eligible < lim->window_messages;) {
		int64_t hour = b[i].hour;
		int at_fresh = hour == fresh_hour;
		if (hour < first_hour)
			break;
		if (window_add(w, &b[i].c, at_fresh ? &fresh->base : NULL) > 0 || at_fresh) {
			int64_t start = at_fresh ? fresh->since : hour * 3600;
			if (start < w->start)
				w->start = start;
		}
	}
	if (fresh_hour >= 0 && fresh->since < w->start && w->eligible == 0)
		w->start = fresh->since;
	w->span_days = w->start < now ? (double)(now - w->start) / 86400.0 : 0.0;
	w->bounce_rate = percent(w->hard, w->eligible);
	w->complaint_rate = percent(w->complaints, w->delivered);
	w->judged = w->eligible > 0 && (int64_t)w->eligible >= lim->min_volume;
}

static int
crossed(double rate, double threshold)
{
	return threshold > 0 && rate >= threshold;
}

int
rate_verdict(const struct rate_window *w, const struct rate_limits *lim, int state, int *cause_r)
{
	*cause_r = RC_NONE;
	if (!w->judged || state == AS_PAUSED)
		return -1;
	if (crossed(w->bounce_rate, lim->bounce_pause))
		*cause_r = RC_BOUNCE;
	else if (crossed(w->complaint_rate, lim->complaint_pause))
		*cause_r = RC_COMPLAINT;
	if (*cause_r != RC_NONE)
		return AS_PAUSED;
	if (state != AS_ACTIVE)
		return -1;
	if (crossed(w->bounce_rate, lim->bounce_review))
		*cause_r = RC_BOUNCE;
	else if (crossed(w->complaint_rate, lim->complaint_review))
		*cause_r = RC_COMPLAINT;
	return *cause_r != RC_NONE ? AS_REVIEW : -1;
}

char *
rate_group_digits(uint64_t n, char *buf, size_t len)
{
	char tmp[32];
	int digits = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)n);
	size_t o = 0;

	for (int i = 0; i < digits && o + 1 < len; i++) {
		if (i > 0 && (digits - i) % 3 == 0 && o + 2 < len)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

void
rate_reason(const struct rate_window *w, const struct rate_limits *lim, int cause, int to,
	    char *buf, size_t len)
{
	int complaint = cause == RC_COMPLAINT;
	double threshold = complaint
			       ? (to == AS_PAUSED ? lim->complaint_pause : lim->complaint_review)
			       : (to == AS_PAUSED ? lim->bounce_pause : lim->bounce_review);
	char count[32];

	rate_group_digits(complaint ? w->delivered : w->eligible, count, sizeof(count));
	snprintf(buf, len,
		 "%s rate %.2f%% over the last %s %s emails spanning %.1f days (%s at %g%%)",
		 complaint ? "complaint" : "bounce", complaint ? w->complaint_rate : w->bounce_rate,
		 count, complaint ? "delivered" : "eligible", w->span_days,
		 to == AS_PAUSED ? "pause" : "review", threshold);
}
