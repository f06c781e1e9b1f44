/* test_policy_proto -- the policy protocol parser and reply formatter (policy_proto.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/policy_proto.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- policy_request_end ------------------------------------------------- */

static const struct {
	const char *in;
	size_t len; /* 0: strlen(in) */
	size_t want;
} end_cases[] = {
    {"", 0, 0},
    {"request=smtpd_access_policy", 0, 0},
    {"request=smtpd_access_policy\n", 0, 0},
    {"request=smtpd_access_policy\nsender=a@b", 0, 0},
    {"request=smtpd_access_policy\n\n", 0, 29},
    {"request=smtpd_access_policy\r\n\r\n", 0, 31},
    {"a=b\n\r", 0, 0},	      /* a lone CR is not yet an empty line */
    {"a=b\n\r\n", 0, 6},      /* "\r\n" is an empty line */
    {"\n", 0, 1},	      /* an empty request is complete (parse refuses it) */
    {"a=b\n\nc=d\n\n", 0, 5}, /* only the first request */
    {"a=b\nc=\n\n", 0, 8},    /* an empty value is not an empty line */
    {"a=b\n\n", 4, 0},	      /* LEN is honoured: the blank line is beyond it */
};

static void
test_request_end_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(end_cases); i++) {
		size_t len = end_cases[i].len ? end_cases[i].len : strlen(end_cases[i].in);
		size_t got = policy_request_end(end_cases[i].in, len);
		if (got != end_cases[i].want)
			fail_msg("case %zu (%s): got %zu, want %zu", i, end_cases[i].in, got,
				 end_cases[i].want);
	}
}

/* Fed one byte at a time, a request is incomplete until its very last byte. */
static void
test_request_end_incremental(void **state)
{
	const char *req = "request=smtpd_access_policy\nprotocol_state=RCPT\n"
			  "sender=a@example.org\n\nrequest=smtpd_access_policy\n";
	size_t full = strlen("request=smtpd_access_policy\nprotocol_state=RCPT\n"
			     "sender=a@example.org\n\n");

	(void)state;
	for (size_t len = 0; len < full; len++)
		assert_int_equal(policy_request_end(req, len), 0);
	for (size_t len = full; len <= strlen(req); len++)
		assert_int_equal(policy_request_end(req, len), full);
}

/* ---- policy_request_parse ----------------------------------------------- */

/* Parse TEXT (a C string, copied) into REQ; returns the parser's result. */
static int
parse(const char *text, size_t len, char **buf_r, struct policy_request *req, const char **why)
{
	*buf_r = malloc(len + 1);
	assert_non_null(*buf_r);
	memcpy(*buf_r, text, len);
	(*buf_r)[len] = '\0';
	return policy_request_parse(*buf_r, len, req, why);
}

/* Every attribute of struct policy_request with the test's own offset table. */
static const struct {
	const char *name;
	size_t off;
} all_attrs[] = {
/* clang-format off */
#define A(n) {#n, offsetof(struct policy_request, n)}
    /* clang-format on */
    A(request),
    A(protocol_state),
    A(protocol_name),
    A(helo_name),
    A(queue_id),
    A(sender),
    A(recipient),
    A(recipient_count),
    A(client_address),
    A(client_name),
    A(reverse_client_name),
    A(instance),
    A(sasl_method),
    A(sasl_username),
    A(sasl_sender),
    A(size),
    A(ccert_subject),
    A(ccert_issuer),
    A(ccert_fingerprint),
    A(ccert_pubkey_fingerprint),
    A(encryption_protocol),
    A(encryption_cipher),
    A(encryption_keysize),
    A(etrn_domain),
    A(stress),
    A(client_port),
    A(policy_context),
    A(server_address),
    A(server_port),
    A(compatibility_level),
    A(mail_version),
    A(tls_sni),
#undef A
};

static const char *
field(const struct policy_request *req, size_t off)
{
	return *(const char *const *)((const char *)req + off);
}

static void
test_parse_all_attributes(void **state)
{
	char text[8192] = "", *buf;
	struct policy_request req;
	const char *why = NULL;

	(void)state;
	/* Each attribute gets the value "v-NAME"; request must be the real word. */
	for (size_t i = 0; i < N(all_attrs); i++) {
		char line[128];
		if (strcmp(all_attrs[i].name, "request") == 0)
			snprintf(line, sizeof(line), "request=smtpd_access_policy\n");
		else
			snprintf(line, sizeof(line), "%s=v-%s\n", all_attrs[i].name,
				 all_attrs[i].name);
		strcat(text, line);
	}
	strcat(text, "\n");
	assert_int_equal(parse(text, strlen(text), &buf, &req, &why), 0);
	assert_int_equal(req.nattrs, N(all_attrs));
	for (size_t i = 0; i < N(all_attrs); i++) {
		char want[128];
		const char *got = field(&req, all_attrs[i].off);
		if (strcmp(all_attrs[i].name, "request") == 0)
			snprintf(want, sizeof(want), "smtpd_access_policy");
		else
			snprintf(want, sizeof(want), "v-%s", all_attrs[i].name);
		if (got == NULL || strcmp(got, want) != 0)
			fail_msg("attribute %s: got '%s', want '%s'", all_attrs[i].name,
				 got ? got : "(null)", want);
		/* Pointers go into the caller's buffer: parsing is in place. */
		assert_true(got >= buf && got < buf + strlen(text));
	}
	free(buf);
}

/* A request with no attributes but request= leaves every other field NULL. */
static void
test_parse_minimal_leaves_null(void **state)
{
	const char *text = "request=smtpd_access_policy\n\n";
	struct policy_request req;
	const char *why = NULL;
	char *buf;

	(void)state;
	assert_int_equal(parse(text, strlen(text), &buf, &req, &why), 0);
	assert_int_equal(req.nattrs, 1);
	for (size_t i = 0; i < N(all_attrs); i++)
		if (strcmp(all_attrs[i].name, "request") != 0)
			assert_null(field(&req, all_attrs[i].off));
	free(buf);
}

/* Good requests: one attribute checked for its value after parsing. */
static const struct {
	const char *what;
	const char *in;
	const char *attr;
	const char *want;
	unsigned nattrs;
} good_cases[] = {
    {"unknown attribute ignored", "request=smtpd_access_policy\nfoo_bar=1\nsender=s@x\n\n",
     "sender", "s@x", 3},
    {"repeated keeps last", "request=smtpd_access_policy\nsender=a@x\nsender=b@x\n\n", "sender",
     "b@x", 3},
    {"value containing '='", "request=smtpd_access_policy\nsender=SRS0=ab=cd=x.org=u@y\n\n",
     "sender", "SRS0=ab=cd=x.org=u@y", 2},
    {"value starting with '='", "request=smtpd_access_policy\nhelo_name==x\n\n", "helo_name", "=x",
     2},
    {"value with spaces", "request=smtpd_access_policy\nsender= a b@x \n\n", "sender", " a b@x ",
     2},
    {"value in UTF-8",
     "request=smtpd_access_policy\nrecipient=j\xc3\xbcrgen@b\xc3\xbc\x63her.de\n\n", "recipient",
     "j\xc3\xbcrgen@b\xc3\xbc\x63her.de", 2},
    {"empty value", "request=smtpd_access_policy\nsasl_username=\n\n", "sasl_username", "", 2},
    {"trailing CR dropped", "request=smtpd_access_policy\r\nsender=a@x\r\n\r\n", "sender", "a@x",
     2},
    {"trailing CR on request", "request=smtpd_access_policy\r\n\n", "request",
     "smtpd_access_policy", 1},
    {"only the last CR goes", "request=smtpd_access_policy\nsender=a\r\r\n\n", "sender", "a\r", 2},
    {"request not first", "sender=a@x\nrequest=smtpd_access_policy\n\n", "sender", "a@x", 2},
    {"name is case-sensitive", "request=smtpd_access_policy\nSENDER=a@x\n\n", "sender", NULL, 2},
};

static void
test_parse_good_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(good_cases); i++) {
		struct policy_request req;
		const char *why = NULL, *got = NULL;
		char *buf;
		int rc = parse(good_cases[i].in, strlen(good_cases[i].in), &buf, &req, &why);

		if (rc != 0)
			fail_msg("%s: refused (%s)", good_cases[i].what, why ? why : "?");
		for (size_t a = 0; a < N(all_attrs); a++)
			if (strcmp(all_attrs[a].name, good_cases[i].attr) == 0)
				got = field(&req, all_attrs[a].off);
		if (good_cases[i].want == NULL ? got != NULL
					       : got == NULL || strcmp(got, good_cases[i].want))
			fail_msg("%s: %s='%s', want '%s'", good_cases[i].what, good_cases[i].attr,
				 got ? got : "(null)",
				 good_cases[i].want ? good_cases[i].want : "(null)");
		if (req.nattrs != good_cases[i].nattrs)
			fail_msg("%s: nattrs %u, want %u", good_cases[i].what, req.nattrs,
				 good_cases[i].nattrs);
		assert_string_equal(req.request, "smtpd_access_policy");
		free(buf);
	}
}

/* Bad requests and the reason given. */
static const struct {
	const char *what;
	const char *in;
	size_t len; /* 0: strlen */
	const char *why;
} bad_cases[] = {
#define WITH_NUL(s) s, sizeof(s) - 1
    {"NUL byte", WITH_NUL("request=smtpd_access_policy\nsender=a\0b\n\n"), "NUL byte in request"},
    {"NUL byte in a name", WITH_NUL("request=smtpd_access_policy\n\0=x\n\n"),
     "NUL byte in request"},
    {"NUL byte after the end", WITH_NUL("request=smtpd_access_policy\n\n\0"),
     "NUL byte in request"},
#undef WITH_NUL
    {"line without '='", "request=smtpd_access_policy\nsender\n\n", 0, "line without '='"},
    {"empty name", "request=smtpd_access_policy\n=value\n\n", 0, "attribute with an empty name"},
    {"missing request", "protocol_state=RCPT\nsender=a@x\n\n", 0, "no request=smtpd_access_policy"},
    {"wrong request", "request=junk\n\n", 0, "no request=smtpd_access_policy"},
    {"request with a space", "request=smtpd_access_policy \n\n", 0,
     "no request=smtpd_access_policy"},
    {"empty request", "\n", 0, "empty request"},
    {"empty request with CR", "\r\n", 0, "empty request"},
    {"last line cut short", "request=smtpd_access_policy\nsender=a@x", 0,
     "request not terminated by an empty line"},
    {"no newline at all", "request=smtpd_access_policy", 0,
     "request not terminated by an empty line"},
};

static void
test_parse_bad_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(bad_cases); i++) {
		size_t len = bad_cases[i].len ? bad_cases[i].len : strlen(bad_cases[i].in);
		struct policy_request req;
		const char *why = NULL;
		char *buf;
		int rc = parse(bad_cases[i].in, len, &buf, &req, &why);

		if (rc != -1)
			fail_msg("%s: accepted", bad_cases[i].what);
		if (why == NULL || strcmp(why, bad_cases[i].why) != 0)
			fail_msg("%s: why '%s', want '%s'", bad_cases[i].what, why ? why : "(null)",
				 bad_cases[i].why);
		free(buf);
	}
}

/* A parse resets REQ: nothing of an earlier request survives. */
static void
test_parse_resets_request(void **state)
{
	const char *one = "request=smtpd_access_policy\nsender=a@x\nrecipient=r@x\n\n";
	const char *two = "request=smtpd_access_policy\nsender=b@x\n\n";
	struct policy_request req;
	const char *why = NULL;
	char *b1, *b2;

	(void)state;
	assert_int_equal(parse(one, strlen(one), &b1, &req, &why), 0);
	assert_string_equal(req.recipient, "r@x");
	assert_int_equal(parse(two, strlen(two), &b2, &req, &why), 0);
	assert_string_equal(req.sender, "b@x");
	assert_null(req.recipient);
	assert_int_equal(req.nattrs, 2);
	free(b1);
	free(b2);
}

/* ---- policy_request_facts ----------------------------------------------- */

static const struct {
	const char *state; /* NULL: attribute absent */
	int stage;
} stage_cases[] = {
    {"RCPT", STAGE_RCPT},     {"END-OF-MESSAGE", STAGE_EOM},
    {"DATA", STAGE_DATA},     {"MAIL", STAGE_MAIL},
    {"CONNECT", STAGE_OTHER}, {"EHLO", STAGE_OTHER},
    {"HELO", STAGE_OTHER},    {"VRFY", STAGE_OTHER},
    {"ETRN", STAGE_OTHER},    {"rcpt", STAGE_OTHER},
    {"", STAGE_OTHER},	      {NULL, STAGE_OTHER},
};

static void
test_facts_stage_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(stage_cases); i++) {
		struct policy_request req;
		struct facts f;

		memset(&req, 0, sizeof(req));
		req.request = "smtpd_access_policy";
		req.protocol_state = stage_cases[i].state;
		policy_request_facts(&req, &f);
		if (f.stage != stage_cases[i].stage)
			fail_msg("protocol_state=%s: stage %d, want %d",
				 stage_cases[i].state ? stage_cases[i].state : "(absent)", f.stage,
				 stage_cases[i].stage);
		assert_int_equal(f.door, DOOR_POLICY);
	}
}

static void
test_facts_fields(void **state)
{
	const char *text = "request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\n"
			   "queue_id=4Q1abc\ninstance=1a2b.65f0c3d1.9c4e2.0\nsender=s@x.org\n"
			   "recipient=r@y.org\nsasl_username=alice\nclient_address=192.0.2.7\n"
			   "recipient_count=3\n\n";
	struct policy_request req;
	const char *why = NULL;
	struct facts f;
	char *buf;

	(void)state;
	assert_int_equal(parse(text, strlen(text), &buf, &req, &why), 0);
	memset(&f, 0xa5, sizeof(f));
	policy_request_facts(&req, &f);
	assert_int_equal(f.stage, STAGE_EOM);
	assert_int_equal(f.door, DOOR_POLICY);
	assert_string_equal(f.queue_id, "4Q1abc");
	assert_string_equal(f.instance, "1a2b.65f0c3d1.9c4e2.0");
	assert_string_equal(f.sender, "s@x.org");
	assert_string_equal(f.recipient, "r@y.org");
	assert_string_equal(f.sasl_username, "alice");
	assert_string_equal(f.client_address, "192.0.2.7");
	assert_int_equal(f.recipient_count, 3);
	assert_int_equal(f.now, 0); /* the clock is the caller's */
	free(buf);
}

/* Absent attributes become "" (recipient: NULL), never dangling. */
static void
test_facts_absent(void **state)
{
	const char *text = "request=smtpd_access_policy\nprotocol_state=RCPT\nrecipient=\n\n";
	struct policy_request req;
	const char *why = NULL;
	struct facts f;
	char *buf;

	(void)state;
	assert_int_equal(parse(text, strlen(text), &buf, &req, &why), 0);
	policy_request_facts(&req, &f);
	assert_int_equal(f.stage, STAGE_RCPT);
	assert_string_equal(f.queue_id, "");
	assert_string_equal(f.instance, "");
	assert_string_equal(f.sender, "");
	assert_null(f.recipient);
	assert_string_equal(f.sasl_username, "");
	assert_string_equal(f.client_address, "");
	assert_int_equal(f.recipient_count, 0);
	free(buf);
}

/* ---- policy_reply_format ------------------------------------------------ */

/* A reply Postfix will read as intended: "action=VALUE\n\n", no CR, one line,
 * and VALUE is never all digits (a bare "550" would mean permit). */
static void
assert_reply_well_formed(const char *buf, size_t n, size_t buflen)
{
	const char *value = buf + 7;
	size_t vlen;

	assert_true(n < buflen);
	assert_int_equal(strlen(buf), n);
	assert_true(n >= 9);
	assert_memory_equal(buf, "action=", 7);
	assert_memory_equal(buf + n - 2, "\n\n", 2);
	assert_null(strchr(buf, '\r'));
	vlen = (size_t)(strchr(buf, '\n') - value);
	assert_int_equal(vlen, n - 9); /* the only newlines are the final two */
	assert_true(vlen > 0);
	assert_true(strspn(value, "0123456789") < vlen);
	if (value[0] >= '0' && value[0] <= '9') {
		/* "NNN X.Y.Z text": three digits, a space, then more. */
		assert_int_equal(strspn(value, "0123456789"), 3);
		assert_int_equal(value[3], ' ');
		assert_true(vlen > 4);
	}
}

static struct verdict
mkverdict(int kind, int would, const char *rule, const char *code, const char *dsn,
	  const char *text)
{
	struct verdict v;

	memset(&v, 0, sizeof(v));
	v.kind = kind;
	v.would = would;
	v.rule = rule;
	snprintf(v.code, sizeof(v.code), "%s", code);
	snprintf(v.dsn, sizeof(v.dsn), "%s", dsn);
	snprintf(v.text, sizeof(v.text), "%s", text);
	return v;
}

static const struct {
	const char *what;
	int kind, would;
	const char *rule, *code, *dsn, *text;
	const char *want;
} reply_cases[] = {
    {"pass", VK_PASS, 0, NULL, "", "", "", "action=DUNNO\n\n"},
    {"pass keeps no text", VK_PASS, 0, NULL, "", "", "ignored", "action=DUNNO\n\n"},
    {"monitor: would reject", VK_PASS, VK_REJECT, "suppressed", "550", "5.7.1",
     "<r@x> is on the global suppression list", "action=DUNNO\n\n"},
    {"monitor: would tempfail", VK_PASS, VK_TEMPFAIL, "paused", "450", "4.7.1", "paused",
     "action=DUNNO\n\n"},
    {"tempfail 450", VK_TEMPFAIL, 0, "paused", "450", "4.7.1",
     "Sending paused for account acme since 2026-01-02T03:04:05Z: abuse",
     "action=450 4.7.1 Sending paused for account acme since 2026-01-02T03:04:05Z: abuse\n\n"},
    {"tempfail 451", VK_TEMPFAIL, 0, "store_error", "451", "4.3.0",
     "Sending policy temporarily unavailable, try again later",
     "action=451 4.3.0 Sending policy temporarily unavailable, try again later\n\n"},
    {"reject 550", VK_REJECT, 0, "suppressed", "550", "5.7.1",
     "<r@x.org> is on the global suppression list (bounce since 2026-01-02); not sent",
     "action=550 5.7.1 <r@x.org> is on the global suppression list (bounce since 2026-01-02); "
     "not sent\n\n"},
    {"reject 554", VK_REJECT, 0, "unknown_account", "554", "5.7.1",
     "Sending account is not provisioned",
     "action=554 5.7.1 Sending account is not provisioned\n\n"},
    {"reject with empty text", VK_REJECT, 0, "x", "550", "5.7.1", "", "action=550 5.7.1 \n\n"},
    {"hold", VK_HOLD, 0, "paused", "", "", "Sending paused for account acme",
     "action=HOLD Sending paused for account acme\n\n"},
};

static void
test_reply_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(reply_cases); i++) {
		struct verdict v =
		    mkverdict(reply_cases[i].kind, reply_cases[i].would, reply_cases[i].rule,
			      reply_cases[i].code, reply_cases[i].dsn, reply_cases[i].text);
		char buf[1024];
		size_t n;

		memset(buf, 'Z', sizeof(buf));
		n = policy_reply_format(&v, buf, sizeof(buf));
		if (n != strlen(reply_cases[i].want) || strcmp(buf, reply_cases[i].want) != 0)
			fail_msg("%s: got '%s' (%zu), want '%s'", reply_cases[i].what, buf, n,
				 reply_cases[i].want);
		assert_reply_well_formed(buf, n, sizeof(buf));
	}
}

/* The longest text a verdict can hold fits the reply buffer the connection uses. */
static void
test_reply_longest_text(void **state)
{
	struct verdict v = mkverdict(VK_REJECT, 0, "suppressed", "550", "5.7.1", "");
	char buf[1024], want[1024];
	size_t n;

	(void)state;
	memset(v.text, 'x', sizeof(v.text) - 1);
	v.text[sizeof(v.text) - 1] = '\0';
	n = policy_reply_format(&v, buf, sizeof(buf));
	snprintf(want, sizeof(want), "action=550 5.7.1 %s\n\n", v.text);
	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
	assert_reply_well_formed(buf, n, sizeof(buf));
}

/* Too small a buffer: never a truncated line; the code and DSN are kept. */
static void
test_reply_small_buffer(void **state)
{
	struct verdict v = mkverdict(VK_REJECT, 0, "suppressed", "550", "5.7.1",
				     "a long explanation that does not fit in the buffer at all");
	char buf[40];
	size_t n;

	(void)state;
	n = policy_reply_format(&v, buf, sizeof(buf));
	assert_string_equal(buf, "action=550 5.7.1 suppressed\n\n");
	assert_int_equal(n, strlen("action=550 5.7.1 suppressed\n\n"));
	assert_reply_well_formed(buf, n, sizeof(buf));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_end_table),
	    cmocka_unit_test(test_request_end_incremental),
	    cmocka_unit_test(test_parse_all_attributes),
	    cmocka_unit_test(test_parse_minimal_leaves_null),
	    cmocka_unit_test(test_parse_good_table),
	    cmocka_unit_test(test_parse_bad_table),
	    cmocka_unit_test(test_parse_resets_request),
	    cmocka_unit_test(test_facts_stage_table),
	    cmocka_unit_test(test_facts_fields),
	    cmocka_unit_test(test_facts_absent),
	    cmocka_unit_test(test_reply_table),
	    cmocka_unit_test(test_reply_longest_text),
	    cmocka_unit_test(test_reply_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
