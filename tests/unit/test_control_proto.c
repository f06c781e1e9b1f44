/* test_control_proto -- the master's control command parser, table-driven. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "master/control_proto.h"

static const struct {
	const char *in;
	size_t len; /* 0: strlen(in) */
	enum control_cmd want;
} cases[] = {
    {"status\n", 0, CONTROL_STATUS},
    {"status", 0, CONTROL_STATUS}, /* the peer closed without a newline */
    {"status\r\n", 0, CONTROL_STATUS},
    {"reload\n", 0, CONTROL_RELOAD},
    {"reload\nstatus\n", 0, CONTROL_RELOAD}, /* one command per connection: the first */
    {"", 0, CONTROL_BAD},
    {"\n", 0, CONTROL_BAD},
    {"statu", 0, CONTROL_BAD},
    {"statuses\n", 0, CONTROL_BAD},
    {"STATUS\n", 0, CONTROL_BAD},
    {" status\n", 0, CONTROL_BAD},
    {"status \n", 0, CONTROL_BAD},
    {"status\rjunk\n", 0, CONTROL_BAD},
    {"status\0\n", 8, CONTROL_BAD}, /* a NUL is not the end of the line */
    {"stop\n", 0, CONTROL_BAD},
};

/* Every case parses as the table says. */
static void
test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		enum control_cmd got = control_parse(cases[i].in, len);
		if (got != cases[i].want)
			fail_msg("case %zu: got %s, want %s", i, control_cmd_name(got),
				 control_cmd_name(cases[i].want));
	}
}

/* Each command's name parses back to it; the bad one is "unknown". */
static void
test_names(void **state)
{
	(void)state;
	assert_int_equal(control_parse("status", 6), CONTROL_STATUS);
	assert_string_equal(control_cmd_name(CONTROL_RELOAD), "reload");
	assert_string_equal(control_cmd_name(CONTROL_BAD), "unknown");
	assert_int_equal(control_parse("unknown", 7), CONTROL_BAD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_table),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
