/* test_dsn -- the MIME machinery (mime.h), DSN parsing and VERP decoding (dsn.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "feedback/arf.h"
#include "feedback/dsn.h"
#include "feedback/mime.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define VERP "bounces+acct1=bob=example.org@bounce.platform.test"

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

/* Parse fixture NAME with envelope recipient ENV into R. */
static enum dsn_status
parse_fixture(const char *name, const char *env, struct dsn_report *r)
{
	size_t len;
	char *buf = fixture("dsn", name, &len);
	enum dsn_status st = dsn_parse(buf, len, env, "+=", r);

	free(buf);
	return st;
}

/* Parse a C string (copied to an exact-size buffer). */
static enum dsn_status
parse_text(const char *text, const char *env, struct dsn_report *r)
{
	size_t len = strlen(text);
	char *buf = malloc(len ? len : 1);
	enum dsn_status st;

	memcpy(buf, text, len);
	st = dsn_parse(buf, len, env, NULL, r);
	free(buf);
	return st;
}

static const char *
orig_x(const struct mime_orig *o, const char *name)
{
	for (size_t i = 0; i < o->nx; i++)
		if (strcasecmp(o->x[i].name, name) == 0)
			return o->x[i].value;
	return NULL;
}

/* ---- header fields ------------------------------------------------------ */

static void
test_fields_folding(void **state)
{
	const char *in = "Subject: one\r\n two\r\n\tthree  \r\n"
			 "X-Empty:\r\n"
			 "X-Next-Line:\n\tvalue\n"
			 "Name : obsolete\n"
			 "  \tcontinued\n"
			 "\n"
			 "Body: not a field\n";
	struct mime_fields f;
	size_t end;

	(void)state;
	mime_fields_init(&f);
	end = mime_fields_parse(&f, in, strlen(in));
	assert_int_equal(end, strstr(in, "Body:") - in);
	assert_int_equal(f.n, 4);
	assert_string_equal(mime_fields_get(&f, "subject"), "one two three");
	assert_string_equal(mime_fields_get(&f, "X-EMPTY"), "");
	assert_string_equal(mime_fields_get(&f, "x-next-line"), "value");
	assert_string_equal(mime_fields_get(&f, "Name"), "obsolete continued");
	assert_null(mime_fields_get(&f, "Body"));
	mime_fields_deinit(&f);
}

static void
test_fields_repeat_and_stop(void **state)
{
	const char *in = " orphan continuation\nReceived: a\nReceived: b\nTo: x\n"
			 "This line is no field\nReceived: c\n";
	struct mime_fields f;
	size_t pos = 0, end;
	const char *v;
	int n = 0;

	(void)state;
	mime_fields_init(&f);
	end = mime_fields_parse(&f, in, strlen(in));
	assert_int_equal(end, strstr(in, "This line") - in);
	while ((v = mime_fields_next(&f, "received", &pos)) != NULL)
		assert_string_equal(v, n++ == 0 ? "a" : "b");
	assert_int_equal(n, 2);
	mime_fields_deinit(&f);
}

/* A block that ends without a newline, in a buffer that is not NUL-terminated. */
static void
test_fields_unterminated(void **state)
{
	const char text[] = "From: a@b\nSubject: cut her";
	char *buf = malloc(sizeof(text) - 1);
	struct mime_fields f;

	(void)state;
	memcpy(buf, text, sizeof(text) - 1);
	mime_fields_init(&f);
	assert_int_equal(mime_fields_parse(&f, buf, sizeof(text) - 1), sizeof(text) - 1);
	assert_string_equal(mime_fields_get(&f, "Subject"), "cut her");
	mime_fields_deinit(&f);
	free(buf);
}

static void
test_fields_limits(void **state)
{
	size_t len = 2 * MIME_MAX_VALUE + 64, nlines = MIME_MAX_FIELDS + 10;
	char *buf = malloc(len), *many = malloc(nlines * 6);
	struct mime_fields f;
	const char *v;

	(void)state;
	memcpy(buf, "X-Long: ", 8);
	memset(buf + 8, 'a', len - 8);
	mime_fields_init(&f);
	mime_fields_parse(&f, buf, len);
	assert_non_null(v = mime_fields_get(&f, "X-Long"));
	assert_int_equal(strlen(v), MIME_MAX_VALUE - 1); /* the leading blank was trimmed */
	assert_true(f.flags & MIME_F_LONG_VALUE);
	mime_fields_deinit(&f);

	for (size_t i = 0; i < nlines; i++)
		memcpy(many + 6 * i, "A: b\r\n", 6);
	mime_fields_init(&f);
	mime_fields_parse(&f, many, nlines * 6);
	assert_int_equal(f.n, MIME_MAX_FIELDS);
	assert_true(f.flags & MIME_F_FIELDS);
	mime_fields_deinit(&f);
	free(buf);
	free(many);
}

/* ---- structured values -------------------------------------------------- */

static const struct {
	const char *value, *name;
	int ret;
	const char *want;
} param_cases[] = {
    {"multipart/report; report-type=delivery-status; boundary=\"a b;c\"", "boundary", 0, "a b;c"},
    {"multipart/report; Report-Type=delivery-status;\tboundary=\"x\"", "report-type", 0,
     "delivery-status"},
    {"multipart/mixed; BOUNDARY=simple-token", "boundary", 0, "simple-token"},
    {"multipart/mixed;boundary=\"esc\\\"aped\"", "boundary", 0, "esc\"aped"},
    {"multipart/mixed; boundary = \"spaced\" ; x=y", "boundary", 0, "spaced"},
    {"multipart/mixed; flag; boundary=after-flag", "boundary", 0, "after-flag"},
    {"multipart/mixed; xboundary=no", "boundary", -1, ""},
    {"multipart/mixed; boundary=\"unterminated", "boundary", 0, "unterminated"},
    {"multipart/mixed", "boundary", -1, ""},
    {"text/plain; charset=", "charset", 0, ""},
};

static void
test_param_table(void **state)
{
	char out[64];

	(void)state;
	for (size_t i = 0; i < N(param_cases); i++) {
		int ret = mime_param(param_cases[i].value, param_cases[i].name, out, sizeof(out));
		if (ret != param_cases[i].ret || strcmp(out, param_cases[i].want) != 0)
			fail_msg("case %zu (%s): got %d \"%s\"", i, param_cases[i].value, ret, out);
	}
	assert_int_equal(mime_param(NULL, "boundary", out, sizeof(out)), -1);
	assert_int_equal(mime_param("a/b; boundary=0123456789", "boundary", out, 5), 0);
	assert_string_equal(out, "0123");
}

static const struct {
	const char *value;
	int ret;
	const char *want;
} type_cases[] = {
    {"Multipart/Report; report-type=x", 0, "multipart/report"},
    {"  message/delivery-status", 0, "message/delivery-status"},
    {"text/RFC822-Headers;charset=x", 0, "text/rfc822-headers"},
    {"text", -1, "text/plain"},
    {"/plain", -1, "text/plain"},
    {"text/", -1, "text/plain"},
    {"", -1, "text/plain"},
    {NULL, -1, "text/plain"},
};

static void
test_type_table(void **state)
{
	char out[MIME_TYPE_MAX];

	(void)state;
	for (size_t i = 0; i < N(type_cases); i++) {
		int ret = mime_type(type_cases[i].value, out, sizeof(out));
		if (ret != type_cases[i].ret || strcmp(out, type_cases[i].want) != 0)
			fail_msg("case %zu: got %d \"%s\"", i, ret, out);
	}
}

/* ---- transfer decodings --------------------------------------------------- */

static const struct {
	const char *in, *want;
	int bad;
} b64_cases[] = {
    {"aGVsbG8=", "hello", 0}, {"aGVs\r\nbG8g\nd29y bGQ=", "hello world", 0},
    {"YQ==", "a", 0},	      {"YWI=", "ab", 0},
    {"YWJj", "abc", 0},	      {"", "", 0},
    {"YW!Jj", "abc", 1},      {"YWJj====junk", "abc", 0},
};

static void
test_base64_table(void **state)
{
	char out[64];

	(void)state;
	for (size_t i = 0; i < N(b64_cases); i++) {
		int bad = -1;
		size_t n = mime_base64_decode(b64_cases[i].in, strlen(b64_cases[i].in), out, &bad);
		if (n != strlen(b64_cases[i].want) || memcmp(out, b64_cases[i].want, n) != 0 ||
		    bad != b64_cases[i].bad)
			fail_msg("case %zu: got %zu bytes \"%.*s\" bad=%d", i, n, (int)n, out, bad);
	}
}

static const struct {
	const char *in, *want;
	int bad;
} qp_cases[] = {
    {"a=3Db", "a=b", 0},
    {"soft=\r\nbreak", "softbreak", 0},
    {"soft=\nbreak", "softbreak", 0},
    {"pad=  \nbreak", "padbreak", 0},
    {"trailing   \r\nx", "trailing\r\nx", 0},
    {"kept=20\nx", "kept \nx", 0},
    {"tab\t=\nx", "tab\tx", 0},
    {"lower=e9", "lower\xe9", 0},
    {"bad=ZZ", "bad=ZZ", 1},
    {"end=", "end", 0},
    {"end=4", "end=4", 1},
    {"a b", "a b", 0},
    {"last  ", "last", 0},
};

static void
test_qp_table(void **state)
{
	char out[64];

	(void)state;
	for (size_t i = 0; i < N(qp_cases); i++) {
		int bad = -1;
		size_t n = mime_qp_decode(qp_cases[i].in, strlen(qp_cases[i].in), out, &bad);
		if (n != strlen(qp_cases[i].want) || memcmp(out, qp_cases[i].want, n) != 0 ||
		    bad != qp_cases[i].bad)
			fail_msg("case %zu: got %zu bytes \"%.*s\" bad=%d", i, n, (int)n, out, bad);
	}
}

/* ---- messages ------------------------------------------------------------- */

/* The body of part I as a NUL-terminated copy (static buffer). */
static const char *
body_of(const struct mime *m, size_t i)
{
	static char buf[4096];
	const struct mime_part *p = mime_part(m, i);
	size_t n = p->body_len < sizeof(buf) - 1 ? p->body_len : sizeof(buf) - 1;

	memcpy(buf, p->body, n);
	buf[n] = '\0';
	return buf;
}

static void
test_multipart_split(void **state)
{
	const char *in = "From sender@example.org Mon Nov 24 13:00:00 2025\n"
			 "Content-Type: multipart/mixed; boundary=\"b\"\n\n"
			 "preamble\n--b\n\nfirst\n--bb\nnot a delimiter\n"
			 "--b  \r\nContent-Type: text/plain\r\n\r\nsecond\r\n"
			 "--b\n--b--\nepilogue\n--b\nignored\n";
	struct mime *m = mime_parse(in, strlen(in));

	(void)state;
	assert_int_equal(mime_nparts(m), 4);
	assert_string_equal(mime_part(m, 0)->type, "multipart/mixed");
	assert_string_equal(body_of(m, 1), "first\n--bb\nnot a delimiter");
	assert_string_equal(body_of(m, 2), "second");
	assert_string_equal(body_of(m, 3), "");
	assert_int_equal(mime_part(m, 2)->parent, 0);
	assert_int_equal(mime_part(m, 2)->depth, 1);
	assert_int_equal(mime_flags(m), 0);
	assert_null(mime_part(m, 4));
	mime_destroy(m);
}

static void
test_multipart_broken(void **state)
{
	const char *noboundary =
	    "Content-Type: multipart/report; report-type=delivery-status\n\nx\n";
	const char *nodelim = "Content-Type: multipart/mixed; boundary=q\n\nno parts here\n";
	const char *digest = "Content-Type: multipart/digest; boundary=d\n\n--d\n\n"
			     "Message-ID: <x@y>\n\nbody\n--d--\n";
	struct mime *m;

	(void)state;
	m = mime_parse(noboundary, strlen(noboundary));
	assert_int_equal(mime_nparts(m), 1);
	assert_true(mime_flags(m) & MIME_F_NO_BOUNDARY);
	mime_destroy(m);
	m = mime_parse(nodelim, strlen(nodelim));
	assert_int_equal(mime_nparts(m), 1);
	assert_true(mime_flags(m) & MIME_F_NO_DELIMITER);
	mime_destroy(m);
	/* In a digest, parts are messages by default. */
	m = mime_parse(digest, strlen(digest));
	assert_int_equal(mime_nparts(m), 3);
	assert_string_equal(mime_part(m, 1)->type, "message/rfc822");
	assert_int_equal(mime_embedded(m, 1), 2);
	assert_int_equal(mime_part(m, 2)->msg_level, 1);
	assert_string_equal(mime_fields_get(&mime_part(m, 2)->headers, "Message-ID"), "<x@y>");
	mime_destroy(m);
	m = mime_parse(NULL, 0);
	assert_int_equal(mime_nparts(m), 1);
	assert_string_equal(mime_part(m, 0)->type, "text/plain");
	mime_destroy(m);
}

/* Nesting deeper than MIME_MAX_DEPTH is cut, not followed. */
static void
test_depth_limit(void **state)
{
	char buf[4096];
	size_t n = 0;
	struct mime *m;

	(void)state;
	for (int i = 0; i < 10; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "Content-Type: multipart/mixed; boundary=l%d\n\n--l%d\n", i,
				      i);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\ndeep\n");
	m = mime_parse(buf, n);
	assert_int_equal(mime_nparts(m), MIME_MAX_DEPTH + 1);
	assert_true(mime_flags(m) & MIME_F_DEPTH);
	assert_true(mime_flags(m) & MIME_F_UNTERMINATED);
	mime_destroy(m);
}

static void
test_part_limit(void **state)
{
	char buf[8192];
	size_t n =
	    (size_t)snprintf(buf, sizeof(buf), "Content-Type: multipart/mixed; boundary=p\n\n");
	struct mime *m;

	(void)state;
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "--p\n\npart %d\n", i);
	m = mime_parse(buf, n);
	assert_int_equal(mime_nparts(m), MIME_MAX_PARTS);
	assert_true(mime_flags(m) & MIME_F_PARTS);
	mime_destroy(m);
}

/* The quoted-printable text part of the Microsoft NDR decodes, soft breaks and all. */
static void
test_mime_qp_part(void **state)
{
	size_t len;
	char *buf = fixture("dsn", "microsoft-5.5.0.eml", &len);
	struct mime *m = mime_parse(buf, len);
	int i = mime_find(m, "text/plain", 0);
	const char *text;

	(void)state;
	assert_true(i > 0);
	assert_int_equal(mime_part(m, (size_t)i)->depth, 2);
	text = body_of(m, (size_t)i);
	assert_non_null(strstr(text, "Sender Address: bounces+acct3=someone=outlook.com@bounce"));
	assert_non_null(strstr(text, "Try one or more of the following:"));
	assert_non_null(strstr(text, "(S2017062302) [DM6PR01MB1234"));
	assert_string_equal(mime_fields_get(&mime_part(m, 0)->headers, "Message-ID"),
			    "<d7b1a2c3-0000-4e5f-8a9b-c0d1e2f3a4b5@DM6PR01MB1234.namprd01.prod."
			    "outlook.com>");
	mime_destroy(m);
	free(buf);
}

/* ---- DSN: the fixtures, one line each ------------------------------------- */

static const struct {
	const char *file, *env;
	enum dsn_status status;
	int heuristic;
	size_t nrcpts;
	const char *rcpt; /* the first recipient */
	enum dsn_action action;
	const char *code, *reply, *diag_has;
	const char *message_id, *account; /* of the returned message */
} dsn_cases[] = {
    {"postfix-user-unknown.eml", VERP, DSN_OK, 0, 1, "bob@example.org", DSN_ACTION_FAILED, "5.1.1",
     "550", "User unknown in virtual mailbox table", "<deals-20251124-0001@shop.example>", "acct1"},
    {"postfix-multi-rcpt-headers.eml", "bounces@bounce.platform.test", DSN_OK, 0, 3,
     "alice@example.net", DSN_ACTION_FAILED, "5.1.1", "550", "Recipient address rejected",
     "<q4-report-1@tenant2.test>", "acct2"},
    {"postfix-delayed.eml", NULL, DSN_OK, 0, 1, "slow@slow.example", DSN_ACTION_DELAYED, "4.4.1",
     "", "Connection timed out", "<deals-20251124-0007@shop.example>", "acct1"},
    {"postfix-success.eml", NULL, DSN_OK, 0, 2, "gina@example.org", DSN_ACTION_DELIVERED, "2.0.0",
     "250", "queued as 4XyZ1Q2r3s", "<contract-3@tenant1.test>", "acct1"},
    {"gmail-5.1.1.eml", "bounces+acct2=jane.doe=gmail.com@bounce.platform.test", DSN_OK, 0, 1,
     "jane.doe@gmail.com", DSN_ACTION_FAILED, "5.1.1", "550",
     "550-5.1.1 The email account that you tried to reach does not exist.",
     "<promo-5512@tenant2.test>", "acct2"},
    {"microsoft-5.5.0.eml", "bounces+acct3=someone=outlook.com@bounce.platform.test", DSN_OK, 0, 1,
     "someone@outlook.com", DSN_ACTION_FAILED, "5.5.0", "550", "mailbox unavailable (S2017062302)",
     "<inv-778@billing.tenant3.test>", "acct3"},
    {"gateway-base64.eml", "bounces+acct6=ivan=corp.example@bounce.platform.test", DSN_OK, 0, 1,
     "ivan@corp.example", DSN_ACTION_FAILED, "5.7.1", "550", "rejected as spam",
     "<sale-1@tenant6.test>", "acct6"},
    {"wrapped-unterminated.eml", "bounces+acct1=kim=example.edu@bounce.platform.test", DSN_OK, 0, 1,
     "kim@example.edu", DSN_ACTION_FAILED, "5.2.1", "550", "is disabled",
     "<deals-20251124-0042@shop.example>", "acct1"},
    {"global-utf8.eml", NULL, DSN_OK, 0, 1, "jos\xc3\xa9@exemple.fr", DSN_ACTION_FAILED, "5.1.1",
     "550", "Unknown user", "<bonjour-1@boutique.example>", "acct7"},
    {"qmail-plain.eml", "bounces@bounce.platform.test", DSN_OK, 1, 2, "carl@qmail.example",
     DSN_ACTION_FAILED, "5.1.1", "", "no mailbox here by that name", "<hello-1@tenant4.test>",
     "acct4"},
    {"exim-plain.eml", NULL, DSN_OK, 1, 2, "erin@exim.example", DSN_ACTION_FAILED, "5.1.1", "550",
     "550 5.1.1 <erin@exim.example>: Recipient address rejected", "<news-9@tenant5.test>", "acct5"},
    {"yahoo-plain-554.eml", "bounces+acct1=nobody.here=yahoo.com@bounce.platform.test", DSN_OK, 1,
     1, "nobody.here@yahoo.com", DSN_ACTION_FAILED, "", "554", "delivery error: dd",
     "<deals-20251124-0099@shop.example>", "acct1"},
    {"not-a-bounce.eml", VERP, DSN_NOT_DSN, 0, 0, NULL, 0, NULL, NULL, NULL, NULL, NULL},
    {"no-recipient.eml", NULL, DSN_MALFORMED, 0, 0, NULL, 0, NULL, NULL, NULL, NULL, NULL},
};

static void
test_dsn_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(dsn_cases); i++) {
		struct dsn_report r;
		enum dsn_status st = parse_fixture(dsn_cases[i].file, dsn_cases[i].env, &r);
		const struct dsn_rcpt *rc = r.nrcpts ? &r.rcpts[0] : NULL;
		const char *acct = orig_x(&r.orig, "X-Outpost-Account");

		if (st != dsn_cases[i].status || r.status != st)
			fail_msg("%s: status %d (%s)", dsn_cases[i].file, st, r.why ? r.why : "-");
		if (r.heuristic != dsn_cases[i].heuristic || r.nrcpts != dsn_cases[i].nrcpts)
			fail_msg("%s: heuristic %d, %zu recipients", dsn_cases[i].file, r.heuristic,
				 r.nrcpts);
		if (st != DSN_OK) {
			assert_non_null(r.why);
			dsn_report_deinit(&r);
			continue;
		}
		if (strcmp(rc->final_rcpt, dsn_cases[i].rcpt) != 0 ||
		    rc->action != dsn_cases[i].action ||
		    strcmp(rc->status, dsn_cases[i].code) != 0 ||
		    strcmp(rc->reply_code, dsn_cases[i].reply) != 0 ||
		    strstr(rc->diag, dsn_cases[i].diag_has) == NULL)
			fail_msg("%s: rcpt <%s> %s %s %s \"%s\"", dsn_cases[i].file, rc->final_rcpt,
				 dsn_action_name(rc->action), rc->status, rc->reply_code, rc->diag);
		if (!r.orig.found || strcmp(r.orig.message_id, dsn_cases[i].message_id) != 0 ||
		    acct == NULL || strcmp(acct, dsn_cases[i].account) != 0)
			fail_msg("%s: original %d %s %s", dsn_cases[i].file, r.orig.found,
				 r.orig.message_id, acct ? acct : "-");
		assert_int_equal(r.cut, 0);
		dsn_report_deinit(&r);
	}
}

/* ---- DSN: the details ------------------------------------------------------- */

static void
test_dsn_postfix(void **state)
{
	struct dsn_report r;
	const struct dsn_rcpt *rc;

	(void)state;
	assert_int_equal(parse_fixture("postfix-user-unknown.eml", VERP, &r), DSN_OK);
	assert_null(r.why);
	assert_string_equal(r.reporting_mta, "out1.platform.test");
	assert_string_equal(r.queue_id, "C3CD21F3E90");
	assert_string_equal(r.sender, VERP);
	assert_string_equal(r.arrival_date, "Mon, 24 Nov 2025 13:05:00 +0000 (UTC)");
	assert_string_equal(r.envelope_id, "");
	rc = &r.rcpts[0];
	assert_string_equal(rc->final_type, "rfc822");
	assert_string_equal(rc->orig_rcpt, "bob@example.org");
	assert_string_equal(rc->remote_mta, "mx1.example.org");
	assert_string_equal(rc->diag_type, "smtp");
	assert_string_equal(rc->diag, "550 5.1.1 <bob@example.org>: Recipient address rejected: "
				      "User unknown in virtual mailbox table");
	assert_int_equal(r.verp, 1);
	assert_string_equal(r.verp_account, "acct1");
	assert_string_equal(r.verp_rcpt, "bob@example.org");
	assert_int_equal(r.orig.headers_only, 0);
	assert_string_equal(r.orig.feedback_id, "camp42:acct1:newsletter:outpost");
	assert_string_equal(r.orig.from, "Shop <news@shop.example>");
	assert_string_equal(r.orig.to, "bob@example.org");
	assert_string_equal(r.orig.subject, "Your weekly deals");
	assert_string_equal(r.orig.return_path, "<" VERP ">");
	assert_int_equal(r.orig.nx, 2);
	assert_string_equal(orig_x(&r.orig, "X-Outpost-Message"), "9f3b2c7d");
	dsn_report_deinit(&r);
}

static void
test_dsn_multi_recipient(void **state)
{
	static const struct {
		const char *rcpt, *orig, *status, *reply, *diag_type, *diag;
	} want[] = {
	    {"alice@example.net", "alice@example.net", "5.1.1", "550", "smtp",
	     "550 5.1.1 <alice@example.net>: Recipient address rejected: User unknown"},
	    {"carol@nxdomain.example", "Carol.Alias@tenant2.test", "5.4.4", "", "x-postfix",
	     "Host or domain name not found. Name service error for name=nxdomain.example "
	     "type=MX: Host not found"},
	    {"dave@example.com", "dave@example.com", "5.2.2", "552", "smtp",
	     "552 5.2.2 Mailbox full"},
	};
	struct dsn_report r;

	(void)state;
	assert_int_equal(parse_fixture("postfix-multi-rcpt-headers.eml", NULL, &r), DSN_OK);
	assert_int_equal(r.nrcpts, N(want));
	for (size_t i = 0; i < N(want); i++) {
		const struct dsn_rcpt *rc = &r.rcpts[i];
		assert_string_equal(rc->final_rcpt, want[i].rcpt);
		assert_string_equal(rc->orig_rcpt, want[i].orig);
		assert_string_equal(rc->status, want[i].status);
		assert_string_equal(rc->reply_code, want[i].reply);
		assert_string_equal(rc->diag_type, want[i].diag_type);
		assert_string_equal(rc->diag, want[i].diag);
		assert_int_equal(rc->action, DSN_ACTION_FAILED);
	}
	assert_string_equal(r.envelope_id, "env-7f3e-acct2");
	assert_string_equal(r.queue_id, "8A0B53E1A2");
	assert_int_equal(r.verp, 0);
	assert_int_equal(r.orig.headers_only, 1);
	assert_string_equal(
	    r.orig.to, "alice@example.net, Carol <Carol.Alias@tenant2.test>, dave@example.com");
	assert_string_equal(r.orig.feedback_id, "q4:acct2:report:outpost");
	dsn_report_deinit(&r);
}

static void
test_dsn_delayed_and_success(void **state)
{
	struct dsn_report r;

	(void)state;
	assert_int_equal(parse_fixture("postfix-delayed.eml", NULL, &r), DSN_OK);
	assert_string_equal(r.rcpts[0].diag_type, "x-postfix");
	assert_string_equal(r.rcpts[0].diag,
			    "connect to mx.slow.example[203.0.113.9]:25: Connection timed out");
	assert_string_equal(r.rcpts[0].retry_until, "Sat, 29 Nov 2025 14:05:00 +0000 (UTC)");
	dsn_report_deinit(&r);

	assert_int_equal(parse_fixture("postfix-success.eml", NULL, &r), DSN_OK);
	assert_int_equal(r.nrcpts, 2);
	assert_int_equal(r.rcpts[1].action, DSN_ACTION_RELAYED);
	assert_string_equal(r.rcpts[1].reply_code, "250");
	assert_string_equal(r.rcpts[1].status, "2.0.0");
	dsn_report_deinit(&r);
}

static void
test_dsn_gmail_folded(void **state)
{
	struct dsn_report r;
	const struct dsn_rcpt *rc;

	(void)state;
	assert_int_equal(parse_fixture("gmail-5.1.1.eml", NULL, &r), DSN_OK);
	rc = &r.rcpts[0];
	assert_string_equal(r.reporting_mta, "googlemail.com");
	assert_string_equal(rc->remote_mta, "gmail-smtp-in.l.google.com. (2a00:1450:400c:c0b::1b, "
					    "the server for the domain gmail.com.)");
	assert_non_null(strstr(rc->diag, "reach does not exist. Please try 550-5.1.1 double-"));
	assert_non_null(strstr(rc->diag, "go to 550 5.1.1  https://support.google.com/"));
	assert_string_equal(rc->last_attempt, "Mon, 24 Nov 2025 05:10:12 -0800 (PST)");
	assert_string_equal(r.orig.to, "Jane Doe <jane.doe@gmail.com>");
	dsn_report_deinit(&r);
}

static void
test_dsn_plain_text(void **state)
{
	struct dsn_report r;

	(void)state;
	/* qmail: a local and a remote failure, the copy's headers after the marker. */
	assert_int_equal(parse_fixture("qmail-plain.eml", NULL, &r), DSN_OK);
	assert_int_equal(r.heuristic, 1);
	assert_non_null(r.why);
	assert_string_equal(r.rcpts[1].final_rcpt, "dana@remote.example");
	assert_string_equal(r.rcpts[1].status, "5.7.1");
	assert_string_equal(r.rcpts[1].reply_code, "550");
	assert_string_equal(r.rcpts[1].diag,
			    "Remote host said: 550 5.7.1 <dana@remote.example>... Relaying denied");
	assert_int_equal(r.orig.headers_only, 1);
	assert_string_equal(r.orig.return_path, "<bounces@bounce.platform.test>");
	dsn_report_deinit(&r);

	/* Exim: bare address lines; a 4xx in a failure notice is still a failure. */
	assert_int_equal(parse_fixture("exim-plain.eml", NULL, &r), DSN_OK);
	assert_string_equal(r.rcpts[1].final_rcpt, "frank@exim.example");
	assert_string_equal(r.rcpts[1].status, "4.2.2");
	assert_string_equal(r.rcpts[1].reply_code, "452");
	assert_int_equal(r.rcpts[1].action, DSN_ACTION_FAILED);
	assert_string_equal(r.orig.subject, "News");
	dsn_report_deinit(&r);
}

static const struct {
	const char *text, *env;
	enum dsn_status status;
	size_t nrcpts;
	const char *rcpt, *code;
	enum dsn_action action;
} plain_cases[] = {
    /* An SMTP reply without a phrase: the VERP address is the recipient. */
    {"Subject: Returned mail\n\nRemote said: 550 5.1.1 mailbox unavailable\n", VERP, DSN_OK, 1,
     "bob@example.org", "5.1.1", DSN_ACTION_FAILED},
    {"Subject: Delay\n\n451 4.7.1 Greylisted, try later\n", VERP, DSN_OK, 1, "bob@example.org",
     "4.7.1", DSN_ACTION_DELAYED},
    /* ... and without VERP there is no recipient: malformed. */
    {"Subject: Returned mail\n\nRemote said: 550 5.1.1 mailbox unavailable\n", NULL, DSN_MALFORMED,
     0, NULL, NULL, 0},
    /* A bare code alone is not enough: version numbers look the same. */
    {"Subject: Release\n\nWe shipped 5.1.1 today.\n", VERP, DSN_NOT_DSN, 0, NULL, NULL, 0},
    /* A phrase with an address inline and a bare code. */
    {"Subject: x\n\nYour message could not be delivered to <zed@example.com> (5.2.1 disabled)\n",
     NULL, DSN_OK, 1, "zed@example.com", "5.2.1", DSN_ACTION_FAILED},
    /* Sender addresses and Message-IDs after the phrase are not recipients. */
    {"Subject: x\n\nThe following address(es) failed:\n"
     ">>> MAIL FROM:<me@platform.test>\n<<< 250 ok\n>>> RCPT TO:<amy@example.com>\n"
     "<<< 550 5.1.1 no such user\nMessage-ID: <abc@platform.test>\n",
     NULL, DSN_OK, 1, "amy@example.com", "5.1.1", DSN_ACTION_FAILED},
    /* A delay warning without codes takes the phrase's action. */
    {"Subject: Warning\n\nThis message has not yet been delivered to:\n\n  lee@example.com\n", NULL,
     DSN_OK, 1, "lee@example.com", "", DSN_ACTION_DELAYED},
};

static void
test_dsn_plain_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(plain_cases); i++) {
		struct dsn_report r;
		enum dsn_status st = parse_text(plain_cases[i].text, plain_cases[i].env, &r);

		if (st != plain_cases[i].status || r.nrcpts != plain_cases[i].nrcpts)
			fail_msg("case %zu: status %d (%s), %zu recipients", i, st,
				 r.why ? r.why : "-", r.nrcpts);
		if (r.nrcpts && (strcmp(r.rcpts[0].final_rcpt, plain_cases[i].rcpt) != 0 ||
				 strcmp(r.rcpts[0].status, plain_cases[i].code) != 0 ||
				 r.rcpts[0].action != plain_cases[i].action || !r.heuristic))
			fail_msg("case %zu: <%s> %s %s", i, r.rcpts[0].final_rcpt,
				 r.rcpts[0].status, dsn_action_name(r.rcpts[0].action));
		dsn_report_deinit(&r);
	}
}

static void
test_dsn_not_and_malformed(void **state)
{
	struct dsn_report r;
	size_t len;
	char *arf = fixture("arf", "yahoo-cfl.eml", &len);

	(void)state;
	assert_int_equal(dsn_parse(arf, len, NULL, NULL, &r), DSN_NOT_DSN);
	assert_non_null(strstr(r.why, "complaint"));
	dsn_report_deinit(&r);
	free(arf);
	assert_int_equal(dsn_parse(NULL, 0, NULL, NULL, &r), DSN_NOT_DSN);
	assert_string_equal(r.why, "empty message");
	dsn_report_deinit(&r);
	assert_int_equal(parse_text("Content-Type: multipart/report; report-type=delivery-status"
				    "\n\nbody\n",
				    NULL, &r),
			 DSN_MALFORMED);
	assert_non_null(strstr(r.why, "boundary"));
	dsn_report_deinit(&r);
	assert_int_equal(parse_text("Content-Type: multipart/report; report-type=delivery-status;"
				    " boundary=z\n\n--z\n\nhello\n--z--\n",
				    NULL, &r),
			 DSN_MALFORMED);
	assert_non_null(strstr(r.why, "status part"));
	dsn_report_deinit(&r);
}

/* More recipients than DSN_MAX_RCPTS: the first ones are kept and the report says it was cut. */
static void
test_dsn_many_recipients(void **state)
{
	size_t cap = 64 * (DSN_MAX_RCPTS + 10) + 256, n;
	char *buf = malloc(cap);
	struct dsn_report r;

	(void)state;
	n = (size_t)snprintf(buf, cap,
			     "Content-Type: multipart/report; boundary=m\n\n--m\n"
			     "Content-Type: message/delivery-status\n\n"
			     "Reporting-MTA: dns; x\n");
	for (int i = 0; i < DSN_MAX_RCPTS + 10; i++)
		n += (size_t)snprintf(buf + n, cap - n,
				      "\nFinal-Recipient: rfc822; u%d@x\nAction: failed\n", i);
	assert_int_equal(dsn_parse(buf, n, NULL, NULL, &r), DSN_OK);
	assert_int_equal(r.nrcpts, DSN_MAX_RCPTS);
	assert_int_equal(r.cut, 1);
	assert_string_equal(r.rcpts[DSN_MAX_RCPTS - 1].final_rcpt, "u255@x");
	assert_string_equal(r.rcpts[0].status, "");
	dsn_report_deinit(&r);
	free(buf);
}

/*
 * Bounce text with one very long line of addresses stays linear (the '>' and
 * the sender tags are searched once per line, not once per '<'): the first
 * HEUR_MAX_RCPTS (32) are kept, and nothing after a sender tag on the same
 * line is a recipient.
 */
static void
test_dsn_long_line(void **state)
{
	size_t cap = 48 * 1024, n;
	char *buf = malloc(cap);
	struct dsn_report r;

	(void)state;
	n = (size_t)snprintf(buf, cap, "Subject: x\n\ncould not be delivered to: From: <s@x> ");
	for (int i = 0; n + 32 < cap - 64; i++)
		n += (size_t)snprintf(buf + n, cap - n, "<<u%d@x.example> ", i);
	n += (size_t)snprintf(buf + n, cap - n, "\n<<<<<<<<real@x.example>\n550 5.1.1\n");
	assert_int_equal(dsn_parse(buf, n, NULL, NULL, &r), DSN_OK);
	assert_int_equal(r.nrcpts, 1);
	assert_string_equal(r.rcpts[0].final_rcpt, "real@x.example");
	dsn_report_deinit(&r);

	n = (size_t)snprintf(buf, cap, "Subject: x\n\ncould not be delivered to: ");
	for (int i = 0; n + 32 < cap - 64; i++)
		n += (size_t)snprintf(buf + n, cap - n, "<<u%d@x.example> ", i);
	assert_int_equal(dsn_parse(buf, n, NULL, NULL, &r), DSN_OK);
	assert_int_equal(r.nrcpts, 32);
	assert_string_equal(r.rcpts[31].final_rcpt, "u31@x.example");
	dsn_report_deinit(&r);
	free(buf);
}

/* Every prefix of every fixture parses without reading past its end. */
static void
test_dsn_truncated_fixtures(void **state)
{
	static const char *const files[] = {"postfix-user-unknown.eml", "gmail-5.1.1.eml",
					    "microsoft-5.5.0.eml", "gateway-base64.eml",
					    "exim-plain.eml"};

	(void)state;
	for (size_t i = 0; i < N(files); i++) {
		size_t len;
		char *full = fixture("dsn", files[i], &len);
		for (size_t cut = 0; cut <= len; cut += 7) {
			char *buf = malloc(cut ? cut : 1);
			struct dsn_report r;
			memcpy(buf, full, cut);
			dsn_parse(buf, cut, VERP, NULL, &r);
			assert_true(r.status != DSN_OK || r.nrcpts > 0);
			dsn_report_deinit(&r);
			free(buf);
		}
		free(full);
	}
}

/* ---- VERP ------------------------------------------------------------------ */

static const struct {
	const char *addr, *delims;
	int ret;
	const char *account, *rcpt;
} verp_cases[] = {
    {"bounces+acct1=user=example.com@bounce.platform.test", "+=", 0, "acct1", "user@example.com"},
    {"<bounces+acct1=user=example.com@bounce.platform.test>", NULL, 0, "acct1", "user@example.com"},
    {" bounces+acct1=first.last=sub.example.com@b.test ", "+=", 0, "acct1",
     "first.last@sub.example.com"},
    /* The local part may hold '=' itself: the domain starts after the last one. */
    {"bounces+acct1=a=b=example.com@b.test", "+=", 0, "acct1", "a=b@example.com"},
    /* ... and '+': the prefix ends at the first. */
    {"bounces+acct1=user+tag=example.com@b.test", "+=", 0, "acct1", "user+tag@example.com"},
    /* Plain Postfix VERP: no account. */
    {"owner-list+user=example.com@origin.test", "+=", 0, "", "user@example.com"},
    {"bounces-acct9.user.example.org@b.test", "-.", 0, "acct9", "user.example@org"},
    {"bounces-acct9=user=example.org@b.test", "-", 0, "acct9", "user@example.org"},
    {"bounces@bounce.platform.test", "+=", -1, "", ""},
    {"bounces+acct1@bounce.platform.test", "+=", -1, "", ""},
    {"+acct1=user=example.com@b.test", "+=", -1, "", ""},
    {"bounces+=user=example.com@b.test", "+=", -1, "", ""},
    {"bounces+acct1==example.com@b.test", "+=", -1, "", ""},
    {"bounces+acct1=user=@b.test", "+=", -1, "", ""},
    {"bounces+acct1=us@er=example.com@b.test", "+=", -1, "", ""},
    {"bounces+acct1=user=example.com@b.test@c.test", "+=", -1, "", ""}, /* found by fuzz_dsn */
    {"b@x+acct1=user=example.com@b.test", "+=", -1, "", ""},
    {"bounces+acct1=user=example.com", "+=", -1, "", ""},
    {"", "+=", -1, "", ""},
};

static void
test_verp_table(void **state)
{
	char account[32], rcpt[64];

	(void)state;
	for (size_t i = 0; i < N(verp_cases); i++) {
		int ret = verp_decode(verp_cases[i].addr, verp_cases[i].delims, account,
				      sizeof(account), rcpt, sizeof(rcpt));
		if (ret != verp_cases[i].ret || strcmp(account, verp_cases[i].account) != 0 ||
		    strcmp(rcpt, verp_cases[i].rcpt) != 0)
			fail_msg("case %zu (%s): got %d \"%s\" \"%s\"", i, verp_cases[i].addr, ret,
				 account, rcpt);
	}
	assert_int_equal(verp_decode(NULL, NULL, account, sizeof(account), rcpt, sizeof(rcpt)), -1);
	/* Too long for the buffers: refused, not cut. */
	assert_int_equal(verp_decode("b+acct1=someone.with.a.long.name=example.com@b.test", NULL,
				     account, sizeof(account), rcpt, 16),
			 -1);
	assert_string_equal(rcpt, "");
	assert_int_equal(verp_decode("b+a-very-long-account-name=u=example.com@b.test", NULL,
				     account, 8, rcpt, sizeof(rcpt)),
			 -1);
	assert_string_equal(account, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fields_folding),
	    cmocka_unit_test(test_fields_repeat_and_stop),
	    cmocka_unit_test(test_fields_unterminated),
	    cmocka_unit_test(test_fields_limits),
	    cmocka_unit_test(test_param_table),
	    cmocka_unit_test(test_type_table),
	    cmocka_unit_test(test_base64_table),
	    cmocka_unit_test(test_qp_table),
	    cmocka_unit_test(test_multipart_split),
	    cmocka_unit_test(test_multipart_broken),
	    cmocka_unit_test(test_depth_limit),
	    cmocka_unit_test(test_part_limit),
	    cmocka_unit_test(test_mime_qp_part),
	    cmocka_unit_test(test_dsn_fixtures),
	    cmocka_unit_test(test_dsn_postfix),
	    cmocka_unit_test(test_dsn_multi_recipient),
	    cmocka_unit_test(test_dsn_delayed_and_success),
	    cmocka_unit_test(test_dsn_gmail_folded),
	    cmocka_unit_test(test_dsn_plain_text),
	    cmocka_unit_test(test_dsn_plain_table),
	    cmocka_unit_test(test_dsn_not_and_malformed),
	    cmocka_unit_test(test_dsn_many_recipients),
	    cmocka_unit_test(test_dsn_long_line),
	    cmocka_unit_test(test_dsn_truncated_fixtures),
	    cmocka_unit_test(test_verp_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
