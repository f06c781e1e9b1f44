/* test_door_stats -- rules, reply classes, histogram buckets and quantiles (door_stats.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "decide/door_stats.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Each latency lands in the first bucket whose bound is at least it. */
static void
test_bucket_index(void **state)
{
	static const struct {
		uint64_t us;
		size_t want;
	} cases[] = {
	    {0, 0},
	    {25, 0},
	    {26, 1},
	    {100, 2},
	    {101, 3},
	    {250, 3},
	    {251, 4},
	    {1000, 5},
	    {1001, 6},
	    {999999, 14},
	    {1000000, 14},
	    {1000001, DOOR_BUCKETS},
	    {UINT64_MAX, DOOR_BUCKETS},
	};

	(void)state;
	for (size_t i = 1; i < DOOR_BUCKETS; i++)
		assert_true(door_bucket_us[i - 1] < door_bucket_us[i]);
	for (size_t i = 0; i < N(cases); i++)
		if (door_bucket_index(cases[i].us) != cases[i].want)
			fail_msg("%llu us: bucket %zu, want %zu", (unsigned long long)cases[i].us,
				 door_bucket_index(cases[i].us), cases[i].want);
}

/* Every rule name maps back to its index; NULL is "none", an unknown name "other". */
static void
test_rules(void **state)
{
	(void)state;
	for (size_t i = 0; door_rule_name(i); i++)
		if (strcmp(door_rule_name(i), "other") != 0 &&
		    strcmp(door_rule_name(i), "none") != 0)
			assert_int_equal(door_rule_index(door_rule_name(i)), i);
	for (size_t i = 0; i < DOOR_RULES; i++)
		assert_non_null(door_rule_name(i));
	assert_null(door_rule_name(DOOR_RULES));
	assert_string_equal(door_rule_name(door_rule_index(NULL)), "none");
	assert_string_equal(door_rule_name(door_rule_index("no_such_rule")), "other");
	assert_string_equal(door_rule_name(door_rule_index("suppressed")), "suppressed");
	assert_string_equal(door_rule_name(door_rule_index("daily_quota")), "daily_quota");
}

/* Verdicts count under their rule and reply class; the histogram counts each once. */
static void
test_note(void **state)
{
	struct door_stats s;
	struct verdict v;
	size_t sup = door_rule_index("suppressed"), paused = door_rule_index("paused");

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(&v, 0, sizeof(v));
	door_stats_note(&s, &v, 50); /* a pass */
	v.kind = VK_REJECT;
	v.rule = "suppressed";
	door_stats_note(&s, &v, 300);
	v.kind = VK_PASS;
	v.would = VK_TEMPFAIL;
	v.rule = "paused";
	door_stats_note(&s, &v, 2000000);
	v.would = 0;
	v.kind = VK_HOLD;
	door_stats_note(&s, &v, 700);
	assert_int_equal(s.decisions[0][RC_DUNNO], 1);
	assert_int_equal(s.decisions[sup][RC_5XX], 1);
	assert_int_equal(s.decisions[paused][RC_WOULD_REFUSE], 1);
	assert_int_equal(s.decisions[paused][RC_HOLD], 1);
	assert_int_equal(s.latency_count, 4);
	assert_int_equal(s.latency_sum_us, 50 + 300 + 2000000 + 700);
	assert_int_equal(s.buckets[1], 1); /* 50 us */
	assert_int_equal(s.buckets[4], 1); /* 300 us */
	assert_int_equal(s.buckets[5], 1); /* 700 us */
	assert_int_equal(s.buckets[DOOR_BUCKETS], 1);
	assert_string_equal(reply_class_name(RC_WOULD_REFUSE), "would_refuse");
}

/* Quantiles interpolate inside a bucket as histogram_quantile() does. */
static void
test_quantile(void **state)
{
	uint64_t c[DOOR_BUCKETS + 1];

	(void)state;
	memset(c, 0, sizeof(c));
	assert_true(door_quantile_us(c, 0.5) < 0);
	c[2] = 10; /* 10 requests in (50, 100 us] */
	assert_true(door_quantile_us(c, 0.5) > 74.9 && door_quantile_us(c, 0.5) < 75.1);
	assert_true(door_quantile_us(c, 1.0) > 99.9 && door_quantile_us(c, 1.0) < 100.1);
	c[5] = 10; /* and 10 in (500, 1000] us */
	assert_true(door_quantile_us(c, 0.5) > 99.9 && door_quantile_us(c, 0.5) < 100.1);
	assert_true(door_quantile_us(c, 0.75) > 749.9 && door_quantile_us(c, 0.75) < 750.1);
	c[DOOR_BUCKETS] = 1000; /* most over 1 s: the last finite bound */
	assert_true(door_quantile_us(c, 0.99) == 1000000.0);
}

/* Sums over processes add every counter. */
static void
test_add(void **state)
{
	struct door_stats a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	b.decisions[2][RC_4XX] = 3;
	b.buckets[5] = 4;
	b.latency_sum_us = 9;
	b.latency_count = 4;
	door_stats_add(&a, &b);
	door_stats_add(&a, &b);
	assert_int_equal(a.decisions[2][RC_4XX], 6);
	assert_int_equal(a.buckets[5], 8);
	assert_int_equal(a.latency_sum_us, 18);
	assert_int_equal(a.latency_count, 8);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bucket_index), cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_note),	 cmocka_unit_test(test_quantile),
	    cmocka_unit_test(test_add),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
