/* test_csv -- suppression entries as CSV and JSON lines (suppress_io.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cmocka.h>

#include "store/records.h"
#include "suppress/suppress_io.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define NOW 1795525500	 /* 2026-11-24T13:05:00Z */
#define Y2027 1798761600 /* 2027-01-01T00:00:00Z */
#define DAYS30 (30 * 86400)

struct pcase {
	const char *what;
	const char *line;
	int rc;
	/* rc 1: the entry */
	const char *target, *scope;
	int reason;
	int64_t expires;
	/* rc -1: the reason (exact, or a prefix when it ends in '*') */
	const char *err;
};

static void
run_cases(enum sio_format fmt, const struct pcase *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct pcase *c = &cases[i];
		struct sio_entry e;
		char err[512] = "";
		int rc;

		memset(&e, 0x5a, sizeof(e));
		rc = sio_parse_line(fmt, c->line, strlen(c->line), NOW, &e, err, sizeof(err));
		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d (%s)", c->what, rc, c->rc, err);
		if (rc == 1 &&
		    (strcmp(e.target, c->target) != 0 || strcmp(e.scope, c->scope) != 0 ||
		     e.reason != c->reason || e.expires != c->expires || e.created != 0))
			fail_msg("%s: got '%s' '%s' %d %lld, want '%s' '%s' %d %lld", c->what,
				 e.target, e.scope, e.reason, (long long)e.expires, c->target,
				 c->scope, c->reason, (long long)c->expires);
		if (rc == -1) {
			size_t wl = strlen(c->err);
			int prefix = wl > 0 && c->err[wl - 1] == '*';
			if (prefix ? strncmp(err, c->err, wl - 1) != 0 : strcmp(err, c->err) != 0)
				fail_msg("%s: error '%s', want '%s'", c->what, err, c->err);
		}
	}
}

/* ---- CSV ------------------------------------------------------------------- */

#define OK(what, line, target, scope, reason, expires)              \
	{                                                           \
		what, line, 1, target, scope, reason, expires, NULL \
	}
#define SKIP(what, line)                              \
	{                                             \
		what, line, 0, NULL, NULL, 0, 0, NULL \
	}
#define BAD(what, line, err)                          \
	{                                             \
		what, line, -1, NULL, NULL, 0, 0, err \
	}

static const struct pcase csv_cases[] = {
    SKIP("header", "address,reason,account,expires"),
    SKIP("short header", "address"),
    SKIP("header with CR", "address,reason\r"),
    SKIP("blank line", ""),
    SKIP("CR only", "\r"),
    OK("address only: reason manual, global", "bob@example.com", "bob@example.com", "", SR_MANUAL,
       0),
    OK("normalised", "<Bob@Example.COM.>,bounce", "bob@example.com", "", SR_BOUNCE, 0),
    OK("empty reason is manual", "bob@example.com,,acme", "bob@example.com", "acme", SR_MANUAL, 0),
    OK("all four fields", "bob@example.com,complaint,acme,2027-01-01T00:00:00Z", "bob@example.com",
       "acme", SR_COMPLAINT, Y2027),
    OK("expires with an offset", "bob@example.com,bounce,,2027-01-01T01:00:00+01:00",
       "bob@example.com", "", SR_BOUNCE, Y2027),
    OK("expires as a date", "bob@example.com,bounce,,2027-01-01", "bob@example.com", "", SR_BOUNCE,
       Y2027),
    OK("expires as a duration", "bob@example.com,unsubscribe,,30d", "bob@example.com", "",
       SR_UNSUBSCRIBE, NOW + DAYS30),
    OK("empty trailing fields", "bob@example.com,bounce,,", "bob@example.com", "", SR_BOUNCE, 0),
    OK("CRLF", "bob@example.com,bounce\r", "bob@example.com", "", SR_BOUNCE, 0),
    OK("CRLF after all fields", "bob@example.com,bounce,acme,30d\r", "bob@example.com", "acme",
       SR_BOUNCE, NOW + DAYS30),
    OK("quoted fields", "\"bob@example.com\",\"bounce\",\"acme\",\"30d\"", "bob@example.com",
       "acme", SR_BOUNCE, NOW + DAYS30),
    OK("quoted field then CR", "\"bob@example.com\"\r", "bob@example.com", "", SR_MANUAL, 0),
    OK("empty quoted field", "bob@example.com,\"\",acme", "bob@example.com", "acme", SR_MANUAL, 0),
    OK("quoted with \"\" and a comma", "\"\"\"a,b\"\"@example.com\",manual", "\"a,b\"@example.com",
       "", SR_MANUAL, 0),
    OK("quoted with only \"\"", "\"\"\"john\"\"@example.com\",bounce", "\"john\"@example.com", "",
       SR_BOUNCE, 0),
    OK("a quote inside an unquoted field is text", "a\"b@example.com,bounce", "a\"b@example.com",
       "", SR_BOUNCE, 0),
    OK("domain entry", "@Example.ORG,manual", "@example.org", "", SR_MANUAL, 0),
    OK("account with allowed punctuation", "bob@example.com,bounce,user@acme.example",
       "bob@example.com", "user@acme.example", SR_BOUNCE, 0),
    BAD("bad reason", "bob@example.com,spam",
	"reason 'spam' is not one of bounce, complaint, manual, unsubscribe"),
    BAD("reason is case-sensitive", "bob@example.com,Bounce",
	"reason 'Bounce' is not one of bounce, complaint, manual, unsubscribe"),
    BAD("bad address", "bob,bounce", "'bob' is not an address or @domain"),
    BAD("empty address", ",bounce", "'' is not an address or @domain"),
    BAD("address with a control character", "bo\tb@example.com,bounce",
	"'bo\tb@example.com' is not an address or @domain"),
    BAD("bad account", "bob@example.com,bounce,acme corp",
	"'acme corp' is not a valid account name"),
    BAD("account with a slash", "bob@example.com,bounce,acme/x",
	"'acme/x' is not a valid account name"),
    BAD("bad expires", "bob@example.com,bounce,acme,tomorrow",
	"expires 'tomorrow' is neither RFC 3339 nor a duration"),
    BAD("impossible date", "bob@example.com,bounce,acme,2027-02-30",
	"expires '2027-02-30' is neither RFC 3339 nor a duration"),
    BAD("negative duration", "bob@example.com,bounce,,-30d",
	"expires '-30d' is neither RFC 3339 nor a duration"),
    BAD("too many fields", "bob@example.com,bounce,acme,30d,extra", "more than 4 fields"),
    BAD("too many fields, last empty", "bob@example.com,bounce,acme,30d,", "more than 4 fields"),
    BAD("unterminated quote", "\"bob@example.com,bounce", "unterminated quoted field"),
    BAD("unterminated quote, last field", "bob@example.com,\"bounce", "unterminated quoted field"),
    BAD("text after a closing quote", "\"bob@example.com\"x,bounce", "text after a closing quote"),
};

static void
test_csv_table(void **state)
{
	(void)state;
	run_cases(SIO_CSV, csv_cases, N(csv_cases));
}

static void
test_csv_long_field(void **state)
{
	char line[700], err[256];
	struct sio_entry e;

	(void)state;
	memset(line, 'a', 600);
	strcpy(line + 600, "@x.org,bounce");
	assert_int_equal(sio_parse_line(SIO_CSV, line, strlen(line), NOW, &e, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "field 1 longer than 511 bytes");
	/* A NUL byte inside the line is refused, in either format. */
	assert_int_equal(sio_parse_line(SIO_CSV, "a@b.com\0,bounce", 15, NOW, &e, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "NUL byte in line");
	assert_int_equal(
	    sio_parse_line(SIO_JSONL, "{\"address\":\"a@b.com\0\"}", 22, NOW, &e, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "NUL byte in line");
	/* LEN is honoured: the line need not be NUL-terminated where it ends. */
	strcpy(line, "bob@example.com,bounce,acme,junk");
	assert_int_equal(sio_parse_line(SIO_CSV, line, 22, NOW, &e, err, sizeof(err)), 1);
	assert_string_equal(e.target, "bob@example.com");
	assert_int_equal(e.reason, SR_BOUNCE);
	assert_string_equal(e.scope, "");
}

/* ---- reading records --------------------------------------------------------- */

struct rec {
	const char *text;
	unsigned long lineno; /* after the read */
};

static void
read_all(const char *input, enum sio_format fmt, const struct rec *want, size_t nwant)
{
	FILE *fp = fmemopen((void *)input, strlen(input), "r");
	char *buf = NULL;
	size_t cap = 0, i = 0;
	unsigned long lineno = 0;
	ssize_t len;

	assert_non_null(fp);
	while ((len = sio_read_record(fp, fmt, &buf, &cap, &lineno)) >= 0) {
		if (i >= nwant)
			fail_msg("extra record '%s'", buf);
		if ((size_t)len != strlen(want[i].text) || strcmp(buf, want[i].text) != 0)
			fail_msg("record %zu: '%s' (%zd), want '%s'", i, buf, len, want[i].text);
		if (lineno != want[i].lineno)
			fail_msg("record %zu: line %lu, want %lu", i, lineno, want[i].lineno);
		i++;
	}
	assert_int_equal(i, nwant);
	/* EOF again is still EOF. */
	assert_int_equal(sio_read_record(fp, fmt, &buf, &cap, &lineno), -1);
	fclose(fp);
	free(buf);
}

static void
test_read_record_csv(void **state)
{
	static const struct rec want[] = {
	    {"address,reason,account,expires", 1}, {"\"multi\nline@example.com\",bounce", 3},
	    {"\"a,\"\"b\nc\"\"\n\",x,y", 6},	   {"", 7},
	    {"plain@example.com,manual\r", 8},	   {"last@example.com", 9},
	};

	(void)state;
	read_all("address,reason,account,expires\n"
		 "\"multi\nline@example.com\",bounce\n"
		 "\"a,\"\"b\nc\"\"\n\",x,y\n"
		 "\n"
		 "plain@example.com,manual\r\n"
		 "last@example.com",
		 SIO_CSV, want, N(want));
}

/* A record spanning lines is one record; its address then has a newline and is refused. */
static void
test_read_record_then_parse(void **state)
{
	const char *input = "\"bob@\nexample.com\",bounce\nok@example.com,bounce\n";
	FILE *fp = fmemopen((void *)input, strlen(input), "r");
	char *buf = NULL, err[256];
	size_t cap = 0;
	unsigned long lineno = 0;
	struct sio_entry e;
	ssize_t len;

	(void)state;
	len = sio_read_record(fp, SIO_CSV, &buf, &cap, &lineno);
	assert_int_equal(len, strlen("\"bob@\nexample.com\",bounce"));
	assert_int_equal(lineno, 2);
	assert_int_equal(sio_parse_line(SIO_CSV, buf, (size_t)len, NOW, &e, err, sizeof(err)), -1);
	len = sio_read_record(fp, SIO_CSV, &buf, &cap, &lineno);
	assert_int_equal(lineno, 3);
	assert_int_equal(sio_parse_line(SIO_CSV, buf, (size_t)len, NOW, &e, err, sizeof(err)), 1);
	assert_string_equal(e.target, "ok@example.com");
	fclose(fp);
	free(buf);
}

/* JSON lines never span lines, quotes or not; long lines grow the buffer. */
static void
test_read_record_jsonl(void **state)
{
	char *input, *longline;
	struct rec want[3];

	(void)state;
	longline = malloc(10001);
	memset(longline, 'x', 10000);
	longline[10000] = '\0';
	if (asprintf(&input, "{\"address\": \"a\n\"}\n%s\n", longline) < 0)
		fail();
	want[0] = (struct rec){"{\"address\": \"a", 1};
	want[1] = (struct rec){"\"}", 2};
	want[2] = (struct rec){longline, 3};
	read_all(input, SIO_JSONL, want, 3);
	free(input);
	free(longline);
}

static void
test_read_record_empty(void **state)
{
	(void)state;
	read_all("", SIO_CSV, NULL, 0);
	static const struct rec one[] = {{"", 1}};
	read_all("\n", SIO_CSV, one, 1);
}

/* ---- JSON lines -------------------------------------------------------------- */

static const struct pcase json_cases[] = {
    OK("all fields",
       "{\"address\":\"Bob@Example.com\",\"reason\":\"bounce\",\"account\":\"acme\","
       "\"expires\":\"2027-01-01T00:00:00Z\"}",
       "bob@example.com", "acme", SR_BOUNCE, Y2027),
    OK("address only", "{\"address\": \"bob@example.com\"}", "bob@example.com", "", SR_MANUAL, 0),
    OK("nulls are defaults",
       "{\"address\":\"bob@example.com\",\"reason\":null,\"account\":null,\"expires\":null}",
       "bob@example.com", "", SR_MANUAL, 0),
    OK("empty strings are defaults",
       "{\"address\":\"bob@example.com\",\"reason\":\"\",\"account\":\"\",\"expires\":\"\"}",
       "bob@example.com", "", SR_MANUAL, 0),
    OK("expires as a duration", "{\"address\":\"bob@example.com\",\"expires\":\"30d\"}",
       "bob@example.com", "", SR_MANUAL, NOW + DAYS30),
    OK("unknown fields ignored", "{\"address\":\"bob@example.com\",\"note\":1,\"created\":\"x\"}",
       "bob@example.com", "", SR_MANUAL, 0),
    OK("trailing CR and spaces", "{\"address\":\"@example.org\"}  \r", "@example.org", "",
       SR_MANUAL, 0),
    OK("escapes decoded", "{\"address\":\"\\u0042ob@example.com\",\"reason\":\"complaint\"}",
       "bob@example.com", "", SR_COMPLAINT, 0),
    SKIP("blank line", ""),
    SKIP("spaces only", "   \r"),
    BAD("missing address", "{\"reason\":\"bounce\"}", "field 'address' is missing"),
    BAD("null address", "{\"address\":null}", "field 'address' is missing"),
    BAD("address not a string", "{\"address\":5}", "field 'address' must be a string"),
    BAD("reason not a string", "{\"address\":\"bob@example.com\",\"reason\":1}",
	"field 'reason' must be a string"),
    BAD("account not a string", "{\"address\":\"bob@example.com\",\"account\":true}",
	"field 'account' must be a string"),
    BAD("expires not a string", "{\"address\":\"bob@example.com\",\"expires\":1798761600}",
	"field 'expires' must be a string"),
    BAD("an array", "[\"bob@example.com\"]", "not a JSON object"),
    BAD("bad JSON", "{\"address\": ", "column *"),
    BAD("trailing garbage", "{\"address\":\"bob@example.com\"} x", "column *"),
    BAD("bare string", "\"bob@example.com\"", "column *"),
    BAD("bad address", "{\"address\":\"bob\"}", "'bob' is not an address or @domain"),
    BAD("bad reason", "{\"address\":\"bob@example.com\",\"reason\":\"spam\"}",
	"reason 'spam' is not one of bounce, complaint, manual, unsubscribe"),
    BAD("bad account", "{\"address\":\"bob@example.com\",\"account\":\"a b\"}",
	"'a b' is not a valid account name"),
    BAD("bad expires", "{\"address\":\"bob@example.com\",\"expires\":\"soon\"}",
	"expires 'soon' is neither RFC 3339 nor a duration"),
};

static void
test_jsonl_table(void **state)
{
	(void)state;
	run_cases(SIO_JSONL, json_cases, N(json_cases));
}

/* ---- write -> parse ---------------------------------------------------------- */

static const struct sio_entry round_entries[] = {
    {"", "bob@example.com", SR_BOUNCE, 0, 0},
    {"acme", "\"a,b\"@example.com", SR_COMPLAINT, Y2027, 0},
    {"user@acme.example", "@example.org", SR_MANUAL, NOW + 1, 0},
    {"", "\"say \"\"hi\"\"\"@example.com", SR_UNSUBSCRIBE, 0, 0},
    {"x", "j\xc3\xbcrgen@example.de", SR_BOUNCE, 1, 0},
};

static char *
write_all(enum sio_format fmt)
{
	char *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);

	assert_non_null(fp);
	sio_write_header(fp, fmt);
	for (size_t i = 0; i < N(round_entries); i++)
		sio_write(fp, fmt, &round_entries[i]);
	fclose(fp);
	return out;
}

static void
parse_back(enum sio_format fmt, const char *text)
{
	FILE *fp = fmemopen((void *)text, strlen(text), "r");
	char *buf = NULL, err[256];
	size_t cap = 0, i = 0;
	unsigned long lineno = 0;
	ssize_t len;

	assert_non_null(fp);
	while ((len = sio_read_record(fp, fmt, &buf, &cap, &lineno)) >= 0) {
		struct sio_entry e;
		int rc = sio_parse_line(fmt, buf, (size_t)len, NOW, &e, err, sizeof(err));
		if (rc == 0)
			continue;
		if (rc != 1)
			fail_msg("line %lu '%s': %s", lineno, buf, err);
		assert_true(i < N(round_entries));
		assert_string_equal(e.target, round_entries[i].target);
		assert_string_equal(e.scope, round_entries[i].scope);
		assert_int_equal(e.reason, round_entries[i].reason);
		assert_int_equal(e.expires, round_entries[i].expires);
		i++;
	}
	assert_int_equal(i, N(round_entries));
	fclose(fp);
	free(buf);
}

static void
test_round_trip_csv(void **state)
{
	char *out = write_all(SIO_CSV);

	(void)state;
	assert_string_equal(out, "address,reason,account,expires\n"
				 "bob@example.com,bounce,,\n"
				 "\"\"\"a,b\"\"@example.com\",complaint,acme,2027-01-01T00:00:00Z\n"
				 "@example.org,manual,user@acme.example,2026-11-24T13:05:01Z\n"
				 "\"\"\"say \"\"\"\"hi\"\"\"\"\"\"@example.com\",unsubscribe,,\n"
				 "j\xc3\xbcrgen@example.de,bounce,x,1970-01-01T00:00:01Z\n");
	parse_back(SIO_CSV, out);
	free(out);
}

static void
test_round_trip_jsonl(void **state)
{
	char *out = write_all(SIO_JSONL);

	(void)state;
	assert_string_equal(
	    out,
	    "{\"address\":\"bob@example.com\",\"reason\":\"bounce\"}\n"
	    "{\"address\":\"\\\"a,b\\\"@example.com\",\"reason\":\"complaint\",\"account\":"
	    "\"acme\",\"expires\":\"2027-01-01T00:00:00Z\"}\n"
	    "{\"address\":\"@example.org\",\"reason\":\"manual\",\"account\":"
	    "\"user@acme.example\",\"expires\":\"2026-11-24T13:05:01Z\"}\n"
	    "{\"address\":\"\\\"say \\\"\\\"hi\\\"\\\"\\\"@example.com\",\"reason\":"
	    "\"unsubscribe\"}\n"
	    "{\"address\":\"j\xc3\xbcrgen@example.de\",\"reason\":\"bounce\",\"account\":\"x\","
	    "\"expires\":\"1970-01-01T00:00:01Z\"}\n");
	parse_back(SIO_JSONL, out);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csv_table),	      cmocka_unit_test(test_csv_long_field),
	    cmocka_unit_test(test_read_record_csv),   cmocka_unit_test(test_read_record_then_parse),
	    cmocka_unit_test(test_read_record_jsonl), cmocka_unit_test(test_read_record_empty),
	    cmocka_unit_test(test_jsonl_table),	      cmocka_unit_test(test_round_trip_csv),
	    cmocka_unit_test(test_round_trip_jsonl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
