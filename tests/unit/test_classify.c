/* test_classify -- the shipped rule table against real provider replies. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "feedback/classify.h"

static const struct {
	const char *status, *text, *want;
} replies[] = {
    /* Gmail */
    {"5.1.1",
     "550-5.1.1 The email account that you tried to reach does not exist. Please try "
     "double-checking "
     "the recipient's email address for typos or unnecessary spaces. "
     "https://support.google.com/mail/"
     "?p=NoSuchUser",
     "user-unknown"},
    {"4.2.2",
     "452-4.2.2 The recipient's inbox is out of storage space. Please direct the recipient to "
     "https://support.google.com/mail/?p=OverQuotaTemp",
     "mailbox-full"},
    {"5.7.26",
     "550-5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires "
     "all "
     "senders to authenticate with either SPF or DKIM.",
     "auth-failure"},
    {"4.7.28",
     "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your DKIM "
     "domain. To protect our users from spam, mail sent from your domain has been temporarily rate "
     "limited.",
     "rate-limited"},
    {"5.7.1",
     "550-5.7.1 [203.0.113.7] Our system has detected that this message is likely unsolicited "
     "mail. To "
     "reduce the amount of spam sent to Gmail, this message has been blocked.",
     "spam-block"},
    /* Microsoft */
    {"5.5.0", "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302).",
     "user-unknown"},
    {"5.4.1", "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)", "user-unknown"},
    {"5.7.1",
     "550 5.7.1 Unfortunately, messages from [203.0.113.7] weren't sent. Please contact your "
     "Internet service provider since part of their network is on our block list (S3150).",
     "reputation-block"},
    /* Yahoo */
    {"",
     "554 delivery error: dd This user doesn't have a yahoo.com account (user@yahoo.com) [0] - "
     "mta1.mail.bf1.yahoo.com",
     "user-unknown"},
    {"4.7.0",
     "421 4.7.0 [TSS04] Messages from 203.0.113.7 temporarily deferred due to unexpected volume or "
     "user complaints - 4.16.55.1",
     "rate-limited"},
    {"5.7.9", "554 5.7.9 Message not accepted for policy reasons.", "policy-block"},
    /* Generic and Postfix's own */
    {"5.2.2", "552 5.2.2 <user@example.com>: Mailbox full", "mailbox-full"},
    {"5.7.1",
     "554 5.7.1 Service unavailable; Client host [203.0.113.7] blocked using "
     "zen.spamhaus.org",
     "reputation-block"},
    {"5.7.1", "554 5.7.1 <user@example.com>: Relay access denied", "policy-block"},
    {"4.7.0", "421 4.7.0 Rate limited, try again later", "rate-limited"},
    {"5.1.2",
     "Host or domain name not found. Name service error for name=nx.example type=MX: "
     "Host not found",
     "domain-unknown"},
    {"5.1.10", "550 5.1.10 Recipient address rejected: domain has a null MX", "null-mx"},
    {"5.1.6", "550 5.1.6 Recipient no longer on server", "moved"},
    {"5.2.1", "550 5.2.1 The email account that you tried to reach is disabled.",
     "mailbox-disabled"},
    {"5.3.4", "552 5.3.4 Message size exceeds fixed limit", "message-too-big"},
    {"4.4.1", "connect to mx.example.com[192.0.2.1]:25: Connection timed out", "other"},
    {"5.0.0", "550 Unrouteable address", "user-unknown"},
    {"", "", "other"},
    {NULL, NULL, "other"},
};

static struct classify_rules *
shipped_rules(void)
{
	char path[4096], err[512];
	struct classify_rules *r;

	snprintf(path, sizeof(path), "%s/etc/outpost-bounce.rules", TEST_SRCDIR);
	r = classify_load(path, err, sizeof(err));
	if (r == NULL)
		fail_msg("%s", err);
	return r;
}

static void
test_real_replies(void **state)
{
	struct classify_rules *rules = shipped_rules();

	(void)state;
	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		unsigned line;
		int cls = classify_text(rules, replies[i].status, replies[i].text, &line);
		if (strcmp(classify_name(cls), replies[i].want) != 0)
			fail_msg("reply %zu (%s %.60s): got %s (rule line %u), want %s", i,
				 replies[i].status ? replies[i].status : "-",
				 replies[i].text ? replies[i].text : "-", classify_name(cls), line,
				 replies[i].want);
	}
	classify_free(rules);
}

static void
test_kinds(void **state)
{
	(void)state;
	assert_int_equal(classify_kind(BC_USER_UNKNOWN), BK_HARD);
	assert_int_equal(classify_kind(BC_DOMAIN_UNKNOWN), BK_HARD);
	assert_int_equal(classify_kind(BC_NULL_MX), BK_HARD);
	assert_int_equal(classify_kind(BC_MOVED), BK_HARD);
	assert_int_equal(classify_kind(BC_MAILBOX_FULL), BK_SOFT);
	assert_int_equal(classify_kind(BC_RATE_LIMITED), BK_SOFT);
	assert_int_equal(classify_kind(BC_SPAM_BLOCK), BK_BLOCK);
	assert_int_equal(classify_kind(BC_REPUTATION_BLOCK), BK_BLOCK);
	assert_int_equal(classify_kind(BC_POLICY_BLOCK), BK_BLOCK);
	assert_int_equal(classify_kind(BC_AUTH_FAILURE), BK_BLOCK);
	for (int c = 0; c < BC_COUNT; c++)
		assert_int_equal(classify_parse_name(classify_name(c)), c);
	assert_int_equal(classify_parse_name("nonsense"), -1);
}

static void
test_bad_rules(void **state)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
	    {"5.1.1\n", "t.rules:1: expected STATUS CLASS [REGEX]"},
	    {"# ok\n\n5.1 user-unknown\n", "t.rules:3: '5.1' is not a status pattern"},
	    {"3.1.1 user-unknown\n", "t.rules:1: '3.1.1' is not a status pattern"},
	    {"5.1.1 no-such-class\n", "t.rules:1: unknown class 'no-such-class'"},
	    {"* other (unclosed\n", "t.rules:1: bad regular expression"},
	};
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(classify_parse("t.rules", bad[i].text, err, sizeof(err)));
		if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
			fail_msg("case %zu: got '%s', want '%s...'", i, err, bad[i].err);
	}
}

static void
test_first_match_and_patterns(void **state)
{
	char err[256];
	struct classify_rules *r =
	    classify_parse("t", "5.7.* spam-block junk\n5.7.1 policy-block\n4.*.* rate-limited\n",
			   err, sizeof(err));
	unsigned line;

	(void)state;
	assert_non_null(r);
	assert_int_equal(classify_text(r, "5.7.1", "looks like JUNK", &line), BC_SPAM_BLOCK);
	assert_int_equal(line, 1);
	assert_int_equal(classify_text(r, "5.7.1", "denied", &line), BC_POLICY_BLOCK);
	assert_int_equal(line, 2);
	assert_int_equal(classify_text(r, "4.2.0", "x", &line), BC_RATE_LIMITED);
	assert_int_equal(classify_text(r, "5.1.1", "x", &line), BC_OTHER);
	assert_int_equal(line, 0);
	assert_int_equal(classify_text(r, "garbage", "junk", &line), BC_OTHER);
	classify_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_real_replies),
	    cmocka_unit_test(test_kinds),
	    cmocka_unit_test(test_bad_rules),
	    cmocka_unit_test(test_first_match_and_patterns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
