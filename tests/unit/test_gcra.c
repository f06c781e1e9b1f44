/* test_gcra -- the rate algorithm with an injected clock. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "quota/gcra.h"

#define SEC 1000000LL

static void
test_burst_then_steady(void **state)
{
	struct gcra_limit l;
	int64_t tat = 0, retry, now = 1000 * SEC;

	(void)state;
	assert_int_equal(gcra_limit_init(&l, 10, SEC, 5), 0); /* 10/s, burst 5 */
	assert_int_equal(l.interval_us, 100000);
	for (int i = 0; i < 5; i++)
		assert_int_equal(gcra_take(&l, &tat, now, 1, NULL), 1);
	assert_int_equal(gcra_take(&l, &tat, now, 1, &retry), 0);
	assert_int_equal(retry, 100000); /* the next unit frees in one interval */
	assert_int_equal(gcra_take(&l, &tat, now + 99999, 1, NULL), 0);
	assert_int_equal(gcra_take(&l, &tat, now + 100000, 1, NULL), 1);
	/* Steady state: exactly 10 a second.  The bucket is empty at the start of the
	 * run, so 60 s give 600 units less the one just taken at that instant. */
	int passed = 0;
	for (int64_t t = now + 100000; t < now + 100000 + 60 * SEC; t += 1000)
		passed += gcra_take(&l, &tat, t, 1, NULL);
	assert_int_equal(passed, 599);
}

static void
test_batches_and_boundaries(void **state)
{
	struct gcra_limit l;
	int64_t tat = 0, retry, now = 50 * SEC;

	(void)state;
	gcra_limit_init(&l, 60, 60 * SEC, 10); /* 1/s, burst 10 */
	assert_int_equal(gcra_take(&l, &tat, now, 10, NULL), 1);
	assert_int_equal(gcra_take(&l, &tat, now, 1, &retry), 0);
	assert_int_equal(retry, SEC);
	assert_int_equal(gcra_available(&l, tat, now), 0);
	assert_int_equal(gcra_available(&l, tat, now + 3 * SEC), 3);
	assert_int_equal(gcra_take(&l, &tat, now + 3 * SEC, 4, &retry), 0);
	assert_int_equal(retry, SEC);
	assert_int_equal(gcra_take(&l, &tat, now + 3 * SEC, 3, NULL), 1);
	/* More than the burst never passes, whatever the wait. */
	assert_int_equal(gcra_take(&l, &tat, now + 3600 * SEC, 11, &retry), 0);
	assert_int_equal(retry, -1);
	/* After a long quiet spell, the burst is back but not more. */
	assert_int_equal(gcra_available(&l, tat, now + 3600 * SEC), 10);
}

static void
test_clock_going_backwards(void **state)
{
	struct gcra_limit l;
	int64_t tat = 0, now = 100 * SEC;

	(void)state;
	gcra_limit_init(&l, 1, SEC, 2);
	assert_int_equal(gcra_take(&l, &tat, now, 2, NULL), 1);
	/* The clock jumps back an hour: no extra units appear. */
	assert_int_equal(gcra_take(&l, &tat, now - 3600 * SEC, 1, NULL), 0);
	assert_int_equal(gcra_available(&l, tat, now - 3600 * SEC), 0);
	/* Back to normal: one unit a second again. */
	assert_int_equal(gcra_take(&l, &tat, now + SEC, 1, NULL), 1);
	assert_int_equal(gcra_take(&l, &tat, now + SEC, 1, NULL), 0);
}

static void
test_bad_limits(void **state)
{
	struct gcra_limit l;

	(void)state;
	assert_int_equal(gcra_limit_init(&l, 0, SEC, 1), -1);
	assert_int_equal(gcra_limit_init(&l, 1, 0, 1), -1);
	assert_int_equal(gcra_limit_init(&l, 1, SEC, 0), -1);
	/* A rate above one a microsecond is clamped to one a microsecond. */
	assert_int_equal(gcra_limit_init(&l, 10000000, SEC, 1), 0);
	assert_int_equal(l.interval_us, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_burst_then_steady),
	    cmocka_unit_test(test_batches_and_boundaries),
	    cmocka_unit_test(test_clock_going_backwards),
	    cmocka_unit_test(test_bad_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
