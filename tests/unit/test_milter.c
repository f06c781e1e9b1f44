/* test_milter -- the milter's pure parts: the Feedback-ID template. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "milter/milter.h"
#include "util/siphash.h"

static const uint8_t key[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

/* The SipHash-2-4 paper's test vectors (key 00..0f). */
static void
test_siphash_vectors(void **state)
{
	uint8_t msg[15];

	(void)state;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	assert_true(siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL);
	assert_true(siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
}

static const struct {
	const char *tmpl, *account, *want;
} cases[] = {
    {"%a:outpost", "acct1", "acct1:outpost"},
    {"%a:outpost", "user@app.example", "user@app.example:outpost"},
    {"c1:%a:transactional:outpost", "t9", "c1:t9:transactional:outpost"},
    {"%h:outpost", "acct1", NULL}, /* checked against siphash24() below */
    {"100%%:%a", "x", "100%:x"},
    {"%q%a", "x", "?x"},
    {"tail%", "x", "tail%"},
    {"a\tb:%a", "x", "a?b:x"},
    {"", "x", ""},
};

static void
test_feedback_id(void **state)
{
	char buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char want[64];
		milter_feedback_id(cases[i].tmpl, cases[i].account, key, buf, sizeof(buf));
		if (cases[i].want == NULL)
			snprintf(want, sizeof(want), "%016llx:outpost",
				 (unsigned long long)siphash24(key, "acct1", 5));
		assert_string_equal(buf, cases[i].want ? cases[i].want : want);
	}
	/* Another key, another tag: outsiders can't compute it. */
	uint8_t other[16] = {1};
	char a[32], b[32];
	milter_feedback_id("%h", "acct1", key, a, sizeof(a));
	milter_feedback_id("%h", "acct1", other, b, sizeof(b));
	assert_string_not_equal(a, b);
}

static void
test_feedback_id_truncates(void **state)
{
	char buf[8];

	(void)state;
	milter_feedback_id("%a:outpost", "averylongaccountname", key, buf, sizeof(buf));
	assert_string_equal(buf, "averylo");
	milter_feedback_id("%h", "acct1", key, buf, sizeof(buf));
	assert_int_equal(strlen(buf), 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_siphash_vectors),
	    cmocka_unit_test(test_feedback_id),
	    cmocka_unit_test(test_feedback_id_truncates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
