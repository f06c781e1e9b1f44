/* test_rate -- reputation windows, rates and thresholds (pure arithmetic). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "feedback/rate.h"

#define H0 498000u			/* an hour number (2026-10) */
#define NOW ((int64_t)H0 * 3600 + 1440) /* 0.4 h into hour H0 */
#define B(h, d, hard, soft)                                  \
	{                                                    \
		(h),                                         \
		{                                            \
			{                                    \
				(d), (hard), (soft), 0, 0, 0 \
			}                                    \
		}                                            \
	}

static const struct rate_limits SES = {10000, 90, 500, 5, 10, 0.1, 0.5};

static void
test_empty_account(void **state)
{
	struct rate_window w;
	int cause;

	(void)state;
	rate_window_compute(NULL, 0, NOW, &SES, NULL, &w);
	assert_int_equal(w.eligible, 0);
	assert_false(w.judged);
	assert_true(w.bounce_rate == 0 && w.complaint_rate == 0 && w.span_days == 0);
	assert_int_equal(rate_verdict(&w, &SES, AS_ACTIVE, &cause), -1);
	assert_int_equal(cause, RC_NONE);
}

static void
test_min_volume(void **state)
{
	struct rate_bucket b[] = {B(H0, 249, 250, 0)};
	struct rate_window w;
	int cause;

	(void)state;
	rate_window_compute(b, 1, NOW, &SES, NULL, &w);
	assert_int_equal(w.eligible, 499); /* 50 % bounces, but one short of 500 */
	assert_false(w.judged);
	assert_int_equal(rate_verdict(&w, &SES, AS_ACTIVE, &cause), -1);
	b[0].c.n[SF_DELIVERED]++;
	rate_window_compute(b, 1, NOW, &SES, NULL, &w);
	assert_true(w.judged);
	assert_int_equal(rate_verdict(&w, &SES, AS_ACTIVE, &cause), AS_PAUSED);
	assert_int_equal(cause, RC_BOUNCE);
	/* Blocks and deferrals are not eligible. */
	b[0].c.n[SF_DELIVERED]--;
	b[0].c.n[SF_BLOCK] = 1000;
	b[0].c.n[SF_DEFERRED] = 1000;
	rate_window_compute(b, 1, NOW, &SES, NULL, &w);
	assert_int_equal(w.eligible, 499);
}

/* One table: (state, delivered, hard, complaints) -> expected state and cause. */
static void
test_thresholds(void **state)
{
	static const struct {
		int from;
		uint32_t delivered, hard, complaints;
		int to, cause;
	} t[] = {
	    {AS_ACTIVE, 9501, 499, 0, -1, RC_NONE},	      /* 4.99 % */
	    {AS_ACTIVE, 9500, 500, 0, AS_REVIEW, RC_BOUNCE},  /* 5 % exactly */
	    {AS_ACTIVE, 9001, 999, 0, AS_REVIEW, RC_BOUNCE},  /* 9.99 % */
	    {AS_ACTIVE, 9000, 1000, 0, AS_PAUSED, RC_BOUNCE}, /* 10 %: straight to paused */
	    {AS_REVIEW, 9300, 700, 0, -1, RC_NONE},	      /* already under review */
	    {AS_REVIEW, 9000, 1000, 0, AS_PAUSED, RC_BOUNCE},
	    {AS_PAUSED, 5000, 5000, 0, -1, RC_NONE},		/* never changed automatically */
	    {AS_ACTIVE, 10000, 0, 9, -1, RC_NONE},		/* 0.09 % complaints */
	    {AS_ACTIVE, 10000, 0, 10, AS_REVIEW, RC_COMPLAINT}, /* 0.1 % */
	    {AS_ACTIVE, 10000, 0, 50, AS_PAUSED, RC_COMPLAINT}, /* 0.5 % */
	    {AS_REVIEW, 10000, 0, 49, -1, RC_NONE},
	    {AS_ACTIVE, 9000, 1000, 50, AS_PAUSED, RC_BOUNCE}, /* both: bounce named first */
	};
	struct rate_window w;
	int cause;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct rate_bucket b = B(H0, t[i].delivered, t[i].hard, 0);
		b.c.n[SF_COMPLAINT] = t[i].complaints;
		rate_window_compute(&b, 1, NOW, &SES, NULL, &w);
		if (rate_verdict(&w, &SES, t[i].from, &cause) != t[i].to || cause != t[i].cause)
			fail_msg("row %zu: got %d/%d, want %d/%d", i,
				 rate_verdict(&w, &SES, t[i].from, &cause), cause, t[i].to,
				 t[i].cause);
	}
}

static void
test_zero_threshold_is_off(void **state)
{
	struct rate_limits lim = SES;
	struct rate_bucket b = B(H0, 500, 500, 0);
	struct rate_window w;
	int cause;

	(void)state;
	lim.bounce_pause = 0;
	rate_window_compute(&b, 1, NOW, &lim, NULL, &w);
	assert_int_equal(rate_verdict(&w, &lim, AS_ACTIVE, &cause), AS_REVIEW);
	lim.bounce_review = 0;
	assert_int_equal(rate_verdict(&w, &lim, AS_ACTIVE, &cause), -1);
}

/* The last N eligible, whole hours: older bounces fall out of the window. */
static void
test_window_cut_by_count(void **state)
{
	struct rate_bucket b[] = {
	    B(H0 - 2000, 0, 5000, 0), /* beyond 10,001 eligible: not counted */
	    B(H0 - 950, 0, 1016, 1),  /* the oldest hour counted */
	    B(H0 - 10, 4000, 0, 0),
	    B(H0, 4984, 0, 0),
	};
	struct rate_limits lim = SES;
	struct rate_window w;
	char reason[256];
	int cause;

	(void)state;
	lim.window_days = 365;
	rate_window_compute(b, 4, NOW, &lim, NULL, &w);
	assert_int_equal(w.eligible, 10001);
	assert_int_equal(w.hard, 1016);
	assert_int_equal(w.start, (int64_t)(H0 - 950) * 3600);
	assert_int_equal(rate_verdict(&w, &lim, AS_ACTIVE, &cause), AS_PAUSED);
	rate_reason(&w, &lim, cause, AS_PAUSED, reason, sizeof(reason));
	assert_string_equal(reason, "bounce rate 10.16% over the last 10,001 eligible emails "
				    "spanning 39.6 days (pause at 10%)");
	/* A smaller N stops sooner. */
	lim.window_messages = 8984;
	rate_window_compute(b, 4, NOW, &lim, NULL, &w);
	assert_int_equal(w.eligible, 8984);
	assert_int_equal(w.hard, 0);
}

/* At most T days: an hour older than window_days is never counted. */
static void
test_window_cut_by_days(void **state)
{
	struct rate_bucket b[] = {
	    B(H0 - 90 * 24, 0, 900, 0),	    /* 90 days ago: just outside */
	    B(H0 - 90 * 24 + 1, 0, 100, 0), /* just inside */
	    B(H0, 900, 0, 0),
	};
	struct rate_window w;

	(void)state;
	rate_window_compute(b, 3, NOW, &SES, NULL, &w);
	assert_int_equal(w.eligible, 1000);
	assert_int_equal(w.hard, 100);
	assert_true(w.bounce_rate > 9.99 && w.bounce_rate < 10.01);
}

/* After a resume, the window starts afresh: that hour's earlier counts are left out. */
static void
test_fresh_window_after_resume(void **state)
{
	struct rate_bucket b[] = {
	    B(H0 - 5, 400, 600, 0),
	    B(H0, 30, 70, 0), /* 20 delivered and 70 hard before the resume */
	};
	struct window_rec fresh = {.since = NOW - 60, .base = {{20, 70, 0, 0, 0, 0}}};
	struct rate_limits lim = SES;
	struct rate_window w;
	int cause;

	(void)state;
	lim.min_volume = 10;
	rate_window_compute(b, 2, NOW, &lim, NULL, &w);
	assert_int_equal(rate_verdict(&w, &lim, AS_ACTIVE, &cause), AS_PAUSED);
	rate_window_compute(b, 2, NOW, &lim, &fresh, &w);
	assert_int_equal(w.eligible, 10);
	assert_int_equal(w.hard, 0);
	assert_int_equal(w.start, NOW - 60);
	assert_int_equal(rate_verdict(&w, &lim, AS_ACTIVE, &cause), -1);
	/* Nothing yet since the resume: an empty window, not judged. */
	fresh.base.n[SF_DELIVERED] = 30;
	rate_window_compute(b, 2, NOW, &lim, &fresh, &w);
	assert_int_equal(w.eligible, 0);
	assert_false(w.judged);
	/* A resume long ago changes nothing for the hours after it. */
	fresh.since = NOW - 86400;
	rate_window_compute(b, 2, NOW, &lim, &fresh, &w);
	assert_int_equal(w.eligible, 1100);
}

static void
test_group_digits(void **state)
{
	static const struct {
		uint64_t n;
		const char *s;
	} t[] = {
	    {0, "0"}, {999, "999"}, {1000, "1,000"}, {10001, "10,001"}, {1234567, "1,234,567"}};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_string_equal(rate_group_digits(t[i].n, buf, sizeof(buf)), t[i].s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_account),
	    cmocka_unit_test(test_min_volume),
	    cmocka_unit_test(test_thresholds),
	    cmocka_unit_test(test_zero_threshold_is_off),
	    cmocka_unit_test(test_window_cut_by_count),
	    cmocka_unit_test(test_window_cut_by_days),
	    cmocka_unit_test(test_fresh_window_after_resume),
	    cmocka_unit_test(test_group_digits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
