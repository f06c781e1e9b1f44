/* test_milter -- the milter's pure parts: the Feedback-ID template. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "milter/milter.h"

static const struct {
	const char *tmpl, *account, *want;
} cases[] = {
    {"%a:outpost", "acct1", "acct1:outpost"},
    {"%a:outpost", "user@app.example", "user@app.example:outpost"},
    {"c1:%a:transactional:outpost", "t9", "c1:t9:transactional:outpost"},
    {"%h:outpost", "acct1", "952f5d39856ba621:outpost"},
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
		milter_feedback_id(cases[i].tmpl, cases[i].account, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}
}

static void
test_feedback_id_truncates(void **state)
{
	char buf[8];

	(void)state;
	milter_feedback_id("%a:outpost", "averylongaccountname", buf, sizeof(buf));
	assert_string_equal(buf, "averylo");
	milter_feedback_id("%h", "acct1", buf, sizeof(buf));
	assert_int_equal(strlen(buf), 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_feedback_id),
	    cmocka_unit_test(test_feedback_id_truncates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
