/* test_milter -- the milter's pure parts: the Feedback-ID template, the From: header's domain. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "milter/from_header.h"
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

/* From: header values (as libmilter hands them: unfolded or not) and the domain wanted. */
static const struct {
	const char *value, *want; /* want NULL: no domain */
} from_cases[] = {
    {"user@Example.TEST", "example.test"},
    {"<user@example.test>", "example.test"},
    {"John Smith <john@Mail.Example.test>", "mail.example.test"},
    {"\"Smith, John\" <john@example.test>", "example.test"},
    {"\"a@quoted.test\" <john@real.test>", "real.test"},
    {"\"<x@fake.test>\" <john@real.test>", "real.test"},
    {"\"quoted \\\" <x@fake.test>\" <john@real.test>", "real.test"},
    {"john@example.test (John Smith)", "example.test"},
    {"(comment <x@fake.test>) john@real.test", "real.test"},
    {"John (nested (c) x@fake.test) <john@real.test>", "real.test"},
    {"john@example.test (unterminated comment", "example.test"},
    {"John\r\n Smith\r\n\t<john@folded.test>", "folded.test"},
    {"John Smith\n <john\n @example.test>", "example.test"},
    {"first@one.test, second@two.test", "one.test"},
    {"A <a@one.test>, B <b@two.test>", "one.test"},
    {"Team: a@group.test, b@other.test;", "group.test"},
    {"undisclosed-recipients:;, real@after.test", "after.test"},
    {"Team:; B <b@after.test>", "after.test"},
    {"<@route.test,@hop.test:user@dest.test>", "dest.test"},
    {"user@example.test.", "example.test"},
    {"=?UTF-8?B?SsO2cmc=?= <j@utf.test>", "utf.test"},
    {"Re: Foo <x@colon.test>", "colon.test"},
    {"\"local@part\"@quoted-local.test", "quoted-local.test"},
    {"a@b@c.test", "c.test"},
    {"john @ Example . test", "example.test"},
    {"john@example.test(comment)", "example.test"},
    /* No domain: skipped. */
    {"", NULL},
    {"   ", NULL},
    {"<>", NULL},
    {"John Smith", NULL},
    {"John <john>", NULL},
    {"john@localhost", NULL},
    {"user@[192.0.2.1]", NULL},
    {"user@[IPv6:2001:db8::1]", NULL},
    {"Team:;", NULL},
    {"user@exa mple.test", NULL},
    {"user@bad_char!.test", NULL},
    {"user@-dash.test", NULL},
    {"user@", NULL},
    {"\"unterminated <x@fake.test>", NULL},
    {"nodomain, second@two.test", NULL}, /* the first mailbox decides */
    {"x@a.test\x01", NULL},
};

static void
test_from_domain(void **state)
{
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(from_cases) / sizeof(from_cases[0]); i++) {
		int rc = from_header_domain(from_cases[i].value, strlen(from_cases[i].value), out,
					    sizeof(out));
		if (from_cases[i].want == NULL && (rc != -1 || out[0] != '\0'))
			fail_msg("case %zu '%s': got '%s', want none", i, from_cases[i].value, out);
		if (from_cases[i].want && (rc != 0 || strcmp(out, from_cases[i].want) != 0))
			fail_msg("case %zu '%s': got %d '%s', want '%s'", i, from_cases[i].value,
				 rc, out, from_cases[i].want);
	}
}

/* Bytes, not strings: a NUL, no terminator, a long header, a small output buffer. */
static void
test_from_domain_bytes(void **state)
{
	static char big[8192];
	char out[256], small[8];

	(void)state;
	assert_int_equal(from_header_domain("a@evil.test\0x.test", 18, out, sizeof(out)), -1);
	assert_int_equal(from_header_domain("a@ok.testXXXX", 9, out, sizeof(out)), 0);
	assert_string_equal(out, "ok.test");
	assert_int_equal(from_header_domain("a@long.example.test", 19, small, sizeof(small)), -1);
	assert_string_equal(small, "");
	memset(big, 'a', sizeof(big));
	memcpy(big + sizeof(big) - 10, "@big.test", 9);
	assert_int_equal(from_header_domain(big, sizeof(big) - 1, out, sizeof(out)), -1);
	/* Long white space (folding) before a short mailbox is no long mailbox. */
	memset(big, ' ', sizeof(big) - 20);
	assert_int_equal(from_header_domain(big, sizeof(big) - 1, out, sizeof(out)), 0);
	assert_string_equal(out, "big.test");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_siphash_vectors),	  cmocka_unit_test(test_feedback_id),
	    cmocka_unit_test(test_feedback_id_truncates), cmocka_unit_test(test_from_domain),
	    cmocka_unit_test(test_from_domain_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
