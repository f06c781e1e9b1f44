/* test_arf -- RFC 5965 feedback report parsing (arf.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "feedback/arf.h"
#include "feedback/dsn.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Read tests/fixtures/DIR/NAME into a buffer of exactly its size (no NUL: overreads show). */
static char *
fixture(const char *dir, const char *name, size_t *len_r)
{
	char path[1024];
	FILE *fp;
	char *buf;
	long len;

	snprintf(path, sizeof(path), "%s/tests/fixtures/%s/%s", TEST_SRCDIR, dir, name);
	if ((fp = fopen(path, "rb")) == NULL)
		fail_msg("cannot open %s", path);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	buf = malloc(len > 0 ? (size_t)len : 1);
	assert_non_null(buf);
	if (fread(buf, 1, (size_t)len, fp) != (size_t)len)
		fail_msg("cannot read %s", path);
	fclose(fp);
	*len_r = (size_t)len;
	return buf;
}

/* The report is big (fixed arrays): keep it off the stack. */
static struct arf_report *
parse_fixture(const char *dir, const char *name)
{
	struct arf_report *r = malloc(sizeof(*r));
	size_t len;
	char *buf = fixture(dir, name, &len);

	arf_parse(buf, len, r);
	free(buf);
	return r;
}

static struct arf_report *
parse_text(const char *text)
{
	struct arf_report *r = malloc(sizeof(*r));
	size_t len = strlen(text);
	char *buf = malloc(len ? len : 1);

	memcpy(buf, text, len);
	arf_parse(buf, len, r);
	free(buf);
	return r;
}

static const char *
orig_x(const struct mime_orig *o, const char *name)
{
	for (size_t i = 0; i < o->nx; i++)
		if (strcasecmp(o->x[i].name, name) == 0)
			return o->x[i].value;
	return NULL;
}

/* ---- the fixtures, one line each -------------------------------------------- */

static const struct {
	const char *file;
	enum arf_status status;
	enum arf_type type;
	const char *user_agent;
	size_t nrcpts;
	const char *rcpt; /* the first */
	int redacted;
	const char *redacted_why;
	int orig_found;
	const char *message_id, *account;
} arf_cases[] = {
    {"rfc5965-example.eml", ARF_OK, ARF_TYPE_ABUSE, "SomeGenerator/1.0", 1, "user@example.com", 0,
     NULL, 1, "8787KJKJ3K4J3K4J3K4J3.mail@example.net", NULL},
    {"yahoo-cfl.eml", ARF_OK, ARF_TYPE_ABUSE, "Yahoo!-Mail-Feedback/2.0", 1, "someone@yahoo.com", 0,
     NULL, 1, "<deals-20251124-0123@shop.example>", "acct1"},
    {"aol-redacted.eml", ARF_OK, ARF_TYPE_ABUSE, "AOL SComp", 0, NULL, 1,
     "no Original-Rcpt-To and To: is redacted", 1, "<deals-20251124-0200@shop.example>", "acct1"},
    {"microsoft-jmrp.eml", ARF_OK, ARF_TYPE_ABUSE, "Microsoft JMRP/1.0", 0, NULL, 1,
     "Original-Rcpt-To is redacted", 1, "<inv-812@billing.tenant3.test>", "acct3"},
    {"headers-only.eml", ARF_OK, ARF_TYPE_FRAUD, "ISP-FBL/3.2", 2, "anna@isp.example", 0, NULL, 1,
     "<prize-9@tenant2.test>", "acct2"},
    {"no-original.eml", ARF_OK, ARF_TYPE_NOT_SPAM, "ISP-FBL/3.2", 1, "carla@isp.example", 0, NULL,
     0, "", NULL},
    {"no-feedback-type.eml", ARF_MALFORMED, 0, NULL, 0, NULL, 0, NULL, 0, NULL, NULL},
    {"missing-report-part.eml", ARF_MALFORMED, 0, NULL, 0, NULL, 0, NULL, 0, NULL, NULL},
    {"forwarded-spam.eml", ARF_NOT_ARF, 0, NULL, 0, NULL, 0, NULL, 0, NULL, NULL},
};

static void
test_arf_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(arf_cases); i++) {
		struct arf_report *r = parse_fixture("arf", arf_cases[i].file);
		const char *acct = orig_x(&r->orig, "X-Outpost-Account");

		if (r->status != arf_cases[i].status)
			fail_msg("%s: status %d (%s)", arf_cases[i].file, r->status,
				 r->why ? r->why : "-");
		if (r->status != ARF_OK) {
			assert_non_null(r->why);
			free(r);
			continue;
		}
		assert_null(r->why);
		if (r->type != arf_cases[i].type ||
		    strcmp(r->user_agent, arf_cases[i].user_agent) != 0 ||
		    r->nrcpts != arf_cases[i].nrcpts ||
		    (r->nrcpts && strcmp(r->rcpts[0], arf_cases[i].rcpt) != 0))
			fail_msg("%s: %s %s, %zu recipients (%s)", arf_cases[i].file,
				 arf_type_name(r->type), r->user_agent, r->nrcpts,
				 r->nrcpts ? r->rcpts[0] : "-");
		if (r->redacted != arf_cases[i].redacted ||
		    (arf_cases[i].redacted_why &&
		     strcmp(r->redacted_why, arf_cases[i].redacted_why) != 0))
			fail_msg("%s: redacted %d (%s)", arf_cases[i].file, r->redacted,
				 r->redacted_why ? r->redacted_why : "-");
		if (r->orig.found != arf_cases[i].orig_found ||
		    strcmp(r->orig.message_id, arf_cases[i].message_id) != 0 ||
		    (arf_cases[i].account == NULL) != (acct == NULL) ||
		    (acct && strcmp(acct, arf_cases[i].account) != 0))
			fail_msg("%s: original %d %s %s", arf_cases[i].file, r->orig.found,
				 r->orig.message_id, acct ? acct : "-");
		assert_int_equal(r->cut, 0);
		free(r);
	}
}

/* ---- the details --------------------------------------------------------------- */

static void
test_arf_rfc5965(void **state)
{
	struct arf_report *r = parse_fixture("arf", "rfc5965-example.eml");

	(void)state;
	assert_string_equal(r->feedback_type, "abuse");
	assert_string_equal(r->version, "1");
	assert_string_equal(r->mail_from, "somespammer@example.net");
	assert_string_equal(r->arrival_date, "Thu, 8 Mar 2005 14:00:00 EDT");
	assert_string_equal(r->reporting_mta, "mail.example.com");
	assert_string_equal(r->source_ip, "192.0.2.1");
	assert_int_equal(r->nauth, 1);
	assert_string_equal(r->auth_results[0],
			    "mail.example.com; spf=fail smtp.mail=somespammer@example.com");
	assert_int_equal(r->ndomains, 1);
	assert_string_equal(r->reported_domain[0], "example.net");
	assert_int_equal(r->nuris, 2);
	assert_string_equal(r->reported_uri[0], "http://example.net/earn_money.html");
	assert_string_equal(r->reported_uri[1], "mailto:user@example.com");
	/* "<Undisclosed Recipients>" is not a redaction. */
	assert_string_equal(r->orig.to, "<Undisclosed Recipients>");
	assert_int_equal(r->orig.headers_only, 0);
	assert_string_equal(r->orig.subject, "Earn money");
	free(r);
}

static void
test_arf_yahoo(void **state)
{
	struct arf_report *r = parse_fixture("arf", "yahoo-cfl.eml");
	char account[64], rcpt[320];

	(void)state;
	assert_string_equal(r->version, "0.1");
	assert_string_equal(r->arrival_date, "Mon, 24 Nov 2025 13:05:00 +0000"); /* Received-Date */
	assert_string_equal(r->mail_from, "bounces+acct1=someone=yahoo.com@bounce.platform.test");
	assert_string_equal(r->auth_results[0], "mta1001.mail.gq1.yahoo.com  from=shop.example; "
						"domainkeys=neutral (no sig);  from=shop.example; "
						"dkim=pass (ok)");
	assert_string_equal(r->orig.feedback_id, "camp42:acct1:newsletter:outpost");
	assert_string_equal(r->orig.from, "Shop <news@shop.example>");
	/* The reported message's Return-Path is the VERP address: account and recipient. */
	assert_int_equal(
	    verp_decode(r->orig.return_path, "+=", account, sizeof(account), rcpt, sizeof(rcpt)),
	    0);
	assert_string_equal(account, "acct1");
	assert_string_equal(rcpt, "someone@yahoo.com");
	free(r);
}

static void
test_arf_redacted_reports(void **state)
{
	struct arf_report *r;
	char account[64], rcpt[320];

	(void)state;
	/* AOL style: no Original-Rcpt-To, To: redacted; VERP in Return-Path still ties it. */
	r = parse_fixture("arf", "aol-redacted.eml");
	assert_string_equal(r->orig.to, "redacted@aol.com");
	assert_string_equal(r->source_ip, "203.0.113.25");
	assert_int_equal(
	    verp_decode(r->orig.return_path, NULL, account, sizeof(account), rcpt, sizeof(rcpt)),
	    0);
	assert_string_equal(rcpt, "user123@aol.com");
	free(r);

	/* JMRP style, CRLF: Original-Rcpt-To and To: masked with x's. */
	r = parse_fixture("arf", "microsoft-jmrp.eml");
	assert_string_equal(r->orig.to, "<xxxxxxx@outlook.com>");
	assert_string_equal(r->orig.feedback_id, "inv:acct3:billing:outpost");
	assert_int_equal(
	    verp_decode(r->mail_from, NULL, account, sizeof(account), rcpt, sizeof(rcpt)), 0);
	assert_string_equal(account, "acct3");
	assert_string_equal(rcpt, "someone@outlook.com");
	free(r);
}

static void
test_arf_headers_only(void **state)
{
	struct arf_report *r = parse_fixture("arf", "headers-only.eml");

	(void)state;
	assert_string_equal(r->rcpts[1], "ben@isp.example");
	assert_string_equal(r->envelope_id, "env-1a2b-acct2");
	assert_string_equal(r->mail_from, "bounces@bounce.platform.test");
	assert_string_equal(r->incidents, "3");
	assert_string_equal(r->reporting_mta, "fbl.isp.example");
	assert_string_equal(r->auth_results[0], "mx.isp.example; dkim=pass header.d=tenant2.test; "
						"spf=pass smtp.mailfrom=bounce.platform.test");
	assert_int_equal(r->nuris, 2);
	assert_int_equal(r->orig.headers_only, 1);
	assert_int_equal(r->orig.nx, 2);
	assert_string_equal(orig_x(&r->orig, "X-Outpost-Campaign"), "prize-nov");
	assert_string_equal(r->orig.date, "Tue, 25 Nov 2025 11:57:59 +0100");
	free(r);
}

static void
test_arf_not_arf(void **state)
{
	struct arf_report *r;

	(void)state;
	r = parse_fixture("dsn", "postfix-user-unknown.eml");
	assert_int_equal(r->status, ARF_NOT_ARF);
	assert_non_null(strstr(r->why, "bounce"));
	free(r);
	r = parse_fixture("dsn", "not-a-bounce.eml");
	assert_int_equal(r->status, ARF_NOT_ARF);
	free(r);
	r = parse_text("");
	assert_int_equal(r->status, ARF_NOT_ARF);
	assert_string_equal(r->why, "empty message");
	free(r);
	r = parse_text("Content-Type: multipart/report; report-type=feedback-report\n\nx\n");
	assert_int_equal(r->status, ARF_MALFORMED);
	assert_non_null(strstr(r->why, "boundary"));
	free(r);
}

/* ---- feedback types --------------------------------------------------------------- */

static const struct {
	const char *written;
	enum arf_type type;
	const char *stored;
} type_cases[] = {
    {"abuse", ARF_TYPE_ABUSE, "abuse"},
    {"Fraud", ARF_TYPE_FRAUD, "fraud"},
    {"virus", ARF_TYPE_VIRUS, "virus"},
    {"other", ARF_TYPE_OTHER, "other"},
    {"not-spam", ARF_TYPE_NOT_SPAM, "not-spam"},
    {"auth-failure", ARF_TYPE_AUTH_FAILURE, "auth-failure"},
    {"ABUSE  ", ARF_TYPE_ABUSE, "abuse"},
    {"opt-out", ARF_TYPE_UNKNOWN, "opt-out"},
};

static void
test_arf_type_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(type_cases); i++) {
		char msg[512];
		struct arf_report *r;

		snprintf(msg, sizeof(msg),
			 "Content-Type: multipart/report; report-type=feedback-report; boundary=t\n"
			 "\n--t\nContent-Type: message/feedback-report\n\n"
			 "Feedback-Type: %s\nUser-Agent: t/1\nVersion: 1\n--t--\n",
			 type_cases[i].written);
		r = parse_text(msg);
		if (r->status != ARF_OK || r->type != type_cases[i].type ||
		    strcmp(r->feedback_type, type_cases[i].stored) != 0)
			fail_msg("case %zu: %d %s \"%s\"", i, r->status, arf_type_name(r->type),
				 r->feedback_type);
		assert_int_equal(r->redacted, 1); /* no Original-Rcpt-To */
		assert_string_equal(r->redacted_why, "no Original-Rcpt-To");
		free(r);
	}
	assert_string_equal(arf_type_name(ARF_TYPE_NOT_SPAM), "not-spam");
	assert_string_equal(arf_type_name(ARF_TYPE_UNKNOWN), "unknown");
}

/* A Feedback-Type of white space only is no Feedback-Type (found by fuzz_arf). */
static void
test_arf_blank_type(void **state)
{
	struct arf_report *r;

	(void)state;
	r = parse_text("Content-Type: multipart/report; report-type=feedback-report; boundary=t\n"
		       "\n--t\nContent-Type: message/feedback-report\n\n"
		       "Feedback-Type: \v\nUser-Agent: t/1\nVersion: 1\n--t--\n");
	assert_int_equal(r->status, ARF_MALFORMED);
	assert_string_equal(r->why, "feedback report without a Feedback-Type");
	free(r);
}

static const struct {
	const char *value;
	int redacted;
} redacted_cases[] = {
    {"redacted", 1},
    {"redacted@aol.com", 1},
    {"[REDACTED]", 1},
    {"xxxxxxx@outlook.com", 1},
    {"<XXXX@example.com>", 1},
    {"Someone <****@example.com>", 1},
    {"###@example.com", 1},
    {"xx@example.com", 0},
    {"alex@example.com", 0},
    {"max@example.com", 0},
    {"<Undisclosed Recipients>", 0},
    {"undisclosed-recipients:;", 0},
    {"", 0},
};

static void
test_arf_redacted_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(redacted_cases); i++)
		if (arf_redacted(redacted_cases[i].value) != redacted_cases[i].redacted)
			fail_msg("case %zu (%s)", i, redacted_cases[i].value);
}

/* Recipient fields beyond ARF_MAX_RCPTS are dropped and flagged; duplicates are not kept. */
static void
test_arf_many_recipients(void **state)
{
	char msg[4096];
	size_t n;
	struct arf_report *r;

	(void)state;
	n = (size_t)snprintf(msg, sizeof(msg),
			     "Content-Type: multipart/report; report-type=feedback-report; "
			     "boundary=t\n\n--t\nContent-Type: message/feedback-report\n\n"
			     "Feedback-Type: abuse\nOriginal-Rcpt-To: u0@x\n");
	for (int i = 0; i < ARF_MAX_RCPTS + 4; i++)
		n += (size_t)snprintf(msg + n, sizeof(msg) - n, "Original-Rcpt-To: <u%d@x>\n", i);
	snprintf(msg + n, sizeof(msg) - n, "--t--\n");
	r = parse_text(msg);
	assert_int_equal(r->status, ARF_OK);
	assert_int_equal(r->nrcpts, ARF_MAX_RCPTS);
	assert_string_equal(r->rcpts[ARF_MAX_RCPTS - 1], "u15@x");
	assert_int_equal(r->cut, 1);
	assert_int_equal(r->redacted, 0);
	free(r);
}

/* Every prefix of every fixture parses without reading past its end. */
static void
test_arf_truncated_fixtures(void **state)
{
	static const char *const files[] = {"yahoo-cfl.eml", "microsoft-jmrp.eml",
					    "headers-only.eml", "rfc5965-example.eml"};

	(void)state;
	for (size_t i = 0; i < N(files); i++) {
		size_t len;
		char *full = fixture("arf", files[i], &len);
		struct arf_report *r = malloc(sizeof(*r));
		for (size_t cut = 0; cut <= len; cut += 5) {
			char *buf = malloc(cut ? cut : 1);
			memcpy(buf, full, cut);
			arf_parse(buf, cut, r);
			assert_true(r->status != ARF_OK || r->feedback_type[0] != '\0');
			free(buf);
		}
		free(r);
		free(full);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_arf_fixtures),
	    cmocka_unit_test(test_arf_rfc5965),
	    cmocka_unit_test(test_arf_yahoo),
	    cmocka_unit_test(test_arf_redacted_reports),
	    cmocka_unit_test(test_arf_headers_only),
	    cmocka_unit_test(test_arf_not_arf),
	    cmocka_unit_test(test_arf_type_table),
	    cmocka_unit_test(test_arf_blank_type),
	    cmocka_unit_test(test_arf_redacted_table),
	    cmocka_unit_test(test_arf_many_recipients),
	    cmocka_unit_test(test_arf_truncated_fixtures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
