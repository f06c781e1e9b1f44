/* test_window -- rolling quota windows with an injected clock. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "quota/window.h"

#define DAY 86400
#define T0 1795000200LL /* a multiple of 300: bucket edges fall on round times */

static void
test_quota_and_retry_after(void **state)
{
	struct window w;
	int64_t free_at;

	(void)state;
	assert_int_equal(window_init(&w, DAY), 0); /* 288 buckets of 5 minutes */
	window_add(&w, T0 + 10, 15);		   /* 15 at 00:00:10 */
	window_add(&w, T0 + 3600, 5);		   /* 5 an hour later */
	assert_int_equal(window_count(&w, T0 + 3600), 20);
	assert_true(window_fits(&w, T0 + 7200, 20, 0, &free_at));
	assert_false(window_fits(&w, T0 + 7200, 20, 1, &free_at));
	/* The 15 of the first bucket free at the end of that bucket, a day later. */
	assert_int_equal(free_at, T0 + 300 + DAY);
	/* Needing 16 places means waiting for the second batch too. */
	assert_false(window_fits(&w, T0 + 7200, 20, 16, &free_at));
	assert_int_equal(free_at, T0 + 3600 + 300 + DAY);
	/* More than the quota never fits. */
	assert_false(window_fits(&w, T0 + 7200, 20, 21, &free_at));
	assert_int_equal(free_at, -1);
	/* Just before the first batch expires it still counts; just after, it doesn't. */
	assert_int_equal(window_count(&w, T0 + 300 + DAY - 1), 20);
	assert_int_equal(window_count(&w, T0 + 300 + DAY), 5);
	assert_true(window_fits(&w, T0 + 300 + DAY, 20, 15, &free_at));
}

static void
test_roll_over_and_long_gaps(void **state)
{
	struct window w;

	(void)state;
	window_init(&w, DAY);
	for (int h = 0; h < 48; h++)
		window_add(&w, T0 + h * 3600, 1);
	/* At hour 47 the window holds the adds of the last 24 hours and the one made
	 * exactly 24 h ago, whose bucket has not ended a span ago yet: never early. */
	assert_int_equal(window_count(&w, T0 + 47 * 3600), 25);
	assert_int_equal(window_count(&w, T0 + 47 * 3600 + 300), 24);
	/* Nothing for a week: all gone. */
	assert_int_equal(window_count(&w, T0 + 9 * DAY), 0);
}

static void
test_clock_backwards(void **state)
{
	struct window w;

	(void)state;
	/* A span must split into whole-second buckets: 3600 s doesn't into 288. */
	assert_int_equal(window_init(&w, 3600), -1);
	assert_int_equal(window_init(&w, 0), -1);
	assert_int_equal(window_init(&w, 288 * 12), 0); /* 57.6 minutes in 12 s buckets */
	window_add(&w, T0 + 1000, 7);
	/* The clock goes back an hour: the count stays, it is not lost nor freed. */
	assert_int_equal(window_count(&w, T0 + 1000 - 3600), 7);
	window_add(&w, T0 + 1000 - 3600, 1); /* lands in the newest bucket */
	assert_int_equal(window_count(&w, T0 + 1000), 8);
}

static void
test_encode_decode(void **state)
{
	struct window w, back;
	uint8_t buf[2048];
	size_t n;

	(void)state;
	window_init(&w, DAY);
	window_add(&w, T0, 3);
	window_add(&w, T0 + 7000, 4000000000u);
	window_add(&w, T0 + 7000, 4000000000u); /* saturates, never wraps */
	n = window_encode(&w, buf, sizeof(buf));
	assert_int_equal(n, 1 + 16 + 4 * WINDOW_SLOTS);
	assert_int_equal(window_decode(buf, n, &back), 0);
	assert_int_equal(window_count(&back, T0 + 7000), 3 + (uint64_t)UINT32_MAX);
	buf[0] = 2;
	assert_int_equal(window_decode(buf, n, &back), -1);
	assert_int_equal(window_decode(buf, n - 1, &back), -1);
	assert_int_equal(window_encode(&w, buf, 10), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quota_and_retry_after),
	    cmocka_unit_test(test_roll_over_and_long_gaps),
	    cmocka_unit_test(test_clock_backwards),
	    cmocka_unit_test(test_encode_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
