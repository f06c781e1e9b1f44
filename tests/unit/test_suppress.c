/* test_suppress -- normalisation, lookup order and storage of suppressions (suppress.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"
#include "suppress/suppress.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define NOW 1795525500

/* ---- normalisation ------------------------------------------------------- */

static const struct {
	const char *in;
	const char *want; /* NULL: refused */
} norm_cases[] = {
    {"user@example.com", "user@example.com"},
    {"User@Example.COM", "user@example.com"},
    {"<user@example.com>", "user@example.com"},
    {"<User@EXAMPLE.com>", "user@example.com"},
    {"  user@example.com  ", "user@example.com"},
    {"\t<user@example.com>\r\n", "user@example.com"},
    {"user@example.com.", "user@example.com"},
    {"<user@example.com.>", "user@example.com"},
    {"@example.com", "@example.com"},
    {"@Example.COM.", "@example.com"},
    {"<@example.com>", "@example.com"},
    {"user+tag@example.com", "user+tag@example.com"},
    {"\"john doe\"@example.com", "\"john doe\"@example.com"}, /* a quoted local part */
    {"j\xc3\xbcrgen@example.de", "j\xc3\xbcrgen@example.de"}, /* UTF-8 is kept */
    {"user@example.com..", "user@example.com"},		      /* every trailing dot */
    {"<user@example.com> .", "user@example.com"},	      /* peeled until nothing changes */
    {"<<user@example.com>>", "user@example.com"},
    {"", NULL},
    {"   ", NULL},
    {"<>", NULL},
    {"< >", NULL},
    {"@", NULL},
    {"user", NULL},
    {"userexample.com", NULL},
    {"user@", NULL},
    {"user@.", NULL},
    {"<user@>", NULL},
    {"user@.example.com", NULL},
    {"@.example.com", NULL},
    {"user@exa mple.com", NULL},
    {"user@example.com >", NULL},
    {"us\ter@example.com", NULL},
    {"user@example.com\x01", NULL},
    {"user\x1b@example.com", NULL},
    {"user\r@example.com", NULL},
    {"user@exam\nple.com", NULL},
    {"user@exa..mple.com", NULL}, /* an empty label */
};

static void
test_normalise_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(norm_cases); i++) {
		char out[ADDRESS_MAX] = "untouched";
		int rc = suppress_normalise(norm_cases[i].in, out, sizeof(out));

		if (norm_cases[i].want == NULL) {
			if (rc != -1)
				fail_msg("'%s': accepted as '%s'", norm_cases[i].in, out);
		} else if (rc != 0 || strcmp(out, norm_cases[i].want) != 0) {
			fail_msg("'%s': rc %d '%s', want '%s'", norm_cases[i].in, rc, out,
				 norm_cases[i].want);
		}
	}
}

static void
test_normalise_lengths(void **state)
{
	char in[ADDRESS_MAX + 8], out[ADDRESS_MAX], small[8];
	const char *dom = "@example.com";

	(void)state;
	/* ADDRESS_MAX - 1 bytes fit, ADDRESS_MAX do not. */
	memset(in, 'a', ADDRESS_MAX - 1 - strlen(dom));
	strcpy(in + ADDRESS_MAX - 1 - strlen(dom), dom);
	assert_int_equal(strlen(in), ADDRESS_MAX - 1);
	assert_int_equal(suppress_normalise(in, out, sizeof(out)), 0);
	assert_string_equal(out, in);
	memset(in, 'a', ADDRESS_MAX - strlen(dom));
	strcpy(in + ADDRESS_MAX - strlen(dom), dom);
	assert_int_equal(suppress_normalise(in, out, sizeof(out)), -1);
	/* The caller's buffer size is honoured. */
	assert_int_equal(suppress_normalise("a@b.com", small, sizeof(small)), 0);
	assert_string_equal(small, "a@b.com");
	assert_int_equal(suppress_normalise("ab@c.com", small, sizeof(small)), -1);
}

/* Normalising a normalised address changes nothing. */
static void
test_normalise_idempotent(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(norm_cases); i++) {
		char once[ADDRESS_MAX], twice[ADDRESS_MAX];

		if (suppress_normalise(norm_cases[i].in, once, sizeof(once)) < 0)
			continue;
		assert_int_equal(suppress_normalise(once, twice, sizeof(twice)), 0);
		assert_string_equal(once, twice);
	}
}

/* ---- storage helpers ----------------------------------------------------- */

struct entry {
	const char *scope;
	const char *target;
	int reason;
	int64_t created;
	int64_t expires;
	const char *note;
};

struct entries {
	const struct entry *v;
	size_t n;
};

static int
put_entries(struct store_txn *txn, void *arg)
{
	const struct entries *e = arg;

	for (size_t i = 0; i < e->n; i++) {
		struct suppress_rec rec = {.reason = (uint8_t)e->v[i].reason,
					   .created = e->v[i].created,
					   .updated = e->v[i].created,
					   .expires = e->v[i].expires};
		int rc;
		snprintf(rec.note, sizeof(rec.note), "%s", e->v[i].note ? e->v[i].note : "");
		if ((rc = suppress_put(txn, e->v[i].scope, e->v[i].target, &rec)) != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

static void
put_all(struct store *st, const struct entry *v, size_t n)
{
	struct entries e = {v, n};

	assert_int_equal(store_write(st, put_entries, &e), STORE_OK);
}

/* ---- check order --------------------------------------------------------- */

static const struct entry order_entries[] = {
    {"", "bob@example.com", SR_BOUNCE, 100, 0, NULL},
    {"acme", "bob@example.com", SR_COMPLAINT, 200, 0, NULL},
    {"acme", "carol@example.com", SR_UNSUBSCRIBE, 300, 0, NULL},
    {"other", "dave@example.com", SR_MANUAL, 400, 0, NULL},
    {"", "@blocked.example", SR_MANUAL, 500, 0, NULL},
    {"", "erin@example.com", SR_BOUNCE, 600, 0, NULL},
    {"", "frank@example.com", SR_BOUNCE, 700, 0, NULL},
    {"", "frank+x@example.com", SR_COMPLAINT, 800, 0, NULL},
    {"acme", "@example.org", SR_MANUAL, 900, 0, NULL},
    {"", "gina@example.org", SR_BOUNCE, 1000, 0, NULL},
    {"", "hank@example.com", SR_BOUNCE, 1100, NOW - 1, NULL},
    {"", "hank2@example.com", SR_BOUNCE, 1200, NOW, NULL},
    {"", "hank3@example.com", SR_BOUNCE, 1300, NOW + 1, NULL},
    {"acme", "ivy@example.com", SR_COMPLAINT, 1400, NOW - 60, NULL},
    {"", "ivy@example.com", SR_BOUNCE, 1500, 0, NULL},
    {"acme", "@expired.example", SR_MANUAL, 1600, 1, NULL},
    {"", "jo@plus.example", SR_BOUNCE, 1700, 0, NULL},
    {"", "@domainonly.example", SR_MANUAL, 1800, 0, NULL},
};

static const struct {
	const char *what;
	const char *account;
	const char *rcpt;
	int fold_plus;
	int want_rc;
	const char *scope, *target; /* the hit */
	int reason;
	int64_t created;
} order_cases[] = {
    {"account list before global", "acme", "bob@example.com", 0, STORE_OK, "acme",
     "bob@example.com", SR_COMPLAINT, 200},
    {"NULL account: global only", NULL, "bob@example.com", 0, STORE_OK, "", "bob@example.com",
     SR_BOUNCE, 100},
    {"empty account: global only", "", "bob@example.com", 0, STORE_OK, "", "bob@example.com",
     SR_BOUNCE, 100},
    {"another account falls to global", "other", "bob@example.com", 0, STORE_OK, "",
     "bob@example.com", SR_BOUNCE, 100},
    {"account entry", "acme", "carol@example.com", 0, STORE_OK, "acme", "carol@example.com",
     SR_UNSUBSCRIBE, 300},
    {"account entry invisible globally", NULL, "carol@example.com", 0, STORE_NOTFOUND, NULL, NULL,
     0, 0},
    {"account entry invisible to others", "other", "carol@example.com", 0, STORE_NOTFOUND, NULL,
     NULL, 0, 0},
    {"global domain entry", "acme", "x@blocked.example", 0, STORE_OK, "", "@blocked.example",
     SR_MANUAL, 500},
    {"global domain entry, no account", NULL, "y@blocked.example", 0, STORE_OK, "",
     "@blocked.example", SR_MANUAL, 500},
    {"domain entry: not subdomains", NULL, "x@sub.blocked.example", 0, STORE_NOTFOUND, NULL, NULL,
     0, 0},
    {"domain entry: not parents", NULL, "x@example", 0, STORE_NOTFOUND, NULL, NULL, 0, 0},
    {"account domain entry before global address", "acme", "gina@example.org", 0, STORE_OK, "acme",
     "@example.org", SR_MANUAL, 900},
    {"global address without the account", NULL, "gina@example.org", 0, STORE_OK, "",
     "gina@example.org", SR_BOUNCE, 1000},
    {"fold_plus on", NULL, "erin+news@example.com", 1, STORE_OK, "", "erin@example.com", SR_BOUNCE,
     600},
    {"fold_plus off", NULL, "erin+news@example.com", 0, STORE_NOTFOUND, NULL, NULL, 0, 0},
    {"fold_plus: several plus signs", NULL, "erin+a+b@example.com", 1, STORE_OK, "",
     "erin@example.com", SR_BOUNCE, 600},
    {"fold_plus: exact first", NULL, "frank+x@example.com", 1, STORE_OK, "", "frank+x@example.com",
     SR_COMPLAINT, 800},
    {"fold_plus: other tag", NULL, "frank+y@example.com", 1, STORE_OK, "", "frank@example.com",
     SR_BOUNCE, 700},
    {"fold_plus: no tag to fold", NULL, "+jo@plus.example", 1, STORE_NOTFOUND, NULL, NULL, 0, 0},
    {"fold_plus on, exact match", NULL, "jo@plus.example", 1, STORE_OK, "", "jo@plus.example",
     SR_BOUNCE, 1700},
    {"fold_plus is not reversed", NULL, "jo+x@plus.example", 0, STORE_NOTFOUND, NULL, NULL, 0, 0},
    {"expired entry doesn't match", NULL, "hank@example.com", 0, STORE_NOTFOUND, NULL, NULL, 0, 0},
    {"expiring now doesn't match", NULL, "hank2@example.com", 0, STORE_NOTFOUND, NULL, NULL, 0, 0},
    {"not yet expired matches", NULL, "hank3@example.com", 0, STORE_OK, "", "hank3@example.com",
     SR_BOUNCE, 1300},
    {"expired account entry falls to global", "acme", "ivy@example.com", 0, STORE_OK, "",
     "ivy@example.com", SR_BOUNCE, 1500},
    {"expired account domain entry", "acme", "z@expired.example", 0, STORE_NOTFOUND, NULL, NULL, 0,
     0},
    {"domain-only lookup target", NULL, "@domainonly.example", 0, STORE_OK, "",
     "@domainonly.example", SR_MANUAL, 1800},
    {"unknown address", "acme", "nobody@example.net", 1, STORE_NOTFOUND, NULL, NULL, 0, 0},
};

static void
test_check_order_table(void **state)
{
	struct unit_fx *fx = *state;
	struct store_txn *txn;

	put_all(fx->st, order_entries, N(order_entries));
	assert_int_equal(store_read_begin(fx->st, &txn), STORE_OK);
	for (size_t i = 0; i < N(order_cases); i++) {
		struct suppress_hit hit;
		int rc;

		memset(&hit, 0, sizeof(hit));
		rc = suppress_check(txn, order_cases[i].account, order_cases[i].rcpt,
				    order_cases[i].fold_plus, NOW, &hit);
		if (rc != order_cases[i].want_rc)
			fail_msg("%s: rc %d, want %d (hit %s/%s)", order_cases[i].what, rc,
				 order_cases[i].want_rc, hit.scope, hit.target);
		if (rc != STORE_OK)
			continue;
		if (strcmp(hit.scope, order_cases[i].scope) != 0 ||
		    strcmp(hit.target, order_cases[i].target) != 0 ||
		    hit.rec.reason != order_cases[i].reason ||
		    hit.rec.created != order_cases[i].created)
			fail_msg("%s: hit '%s' '%s' %d %lld, want '%s' '%s' %d %lld",
				 order_cases[i].what, hit.scope, hit.target, hit.rec.reason,
				 (long long)hit.rec.created, order_cases[i].scope,
				 order_cases[i].target, order_cases[i].reason,
				 (long long)order_cases[i].created);
	}
	store_read_end(txn);
}

/* ---- put / get / del ----------------------------------------------------- */

static int
put_one(struct store_txn *txn, void *arg)
{
	return suppress_put(txn, "acme", "kim@example.com", arg);
}

static void
get_one(struct store *st, const char *scope, const char *target, int want_rc,
	struct suppress_rec *rec)
{
	struct store_txn *txn;

	assert_int_equal(store_read_begin(st, &txn), STORE_OK);
	assert_int_equal(suppress_get(txn, scope, target, rec), want_rc);
	store_read_end(txn);
}

static void
test_put_keeps_first_created(void **state)
{
	struct unit_fx *fx = *state;
	struct suppress_rec r = {
	    .reason = SR_BOUNCE, .created = 1000, .updated = 1000, .note = "first"};
	struct suppress_rec got;

	assert_int_equal(store_write(fx->st, put_one, &r), STORE_OK);
	get_one(fx->st, "acme", "kim@example.com", STORE_OK, &got);
	assert_int_equal(got.created, 1000);

	/* A refresh: new reason, note, updated and expiry; the first-seen time stays. */
	r = (struct suppress_rec){.reason = SR_COMPLAINT,
				  .created = 2000,
				  .updated = 2000,
				  .expires = 9000,
				  .note = "second"};
	assert_int_equal(store_write(fx->st, put_one, &r), STORE_OK);
	get_one(fx->st, "acme", "kim@example.com", STORE_OK, &got);
	assert_int_equal(got.created, 1000);
	assert_int_equal(got.updated, 2000);
	assert_int_equal(got.reason, SR_COMPLAINT);
	assert_int_equal(got.expires, 9000);
	assert_string_equal(got.note, "second");

	/* An older first-seen time (an import of history) wins. */
	r.created = 500;
	assert_int_equal(store_write(fx->st, put_one, &r), STORE_OK);
	get_one(fx->st, "acme", "kim@example.com", STORE_OK, &got);
	assert_int_equal(got.created, 500);

	/* The same target in another scope is a separate entry. */
	get_one(fx->st, "", "kim@example.com", STORE_NOTFOUND, &got);
}

static int
del_one(struct store_txn *txn, void *arg)
{
	const struct entry *e = arg;

	return suppress_del(txn, e->scope, e->target);
}

static void
test_del(void **state)
{
	struct unit_fx *fx = *state;
	static const struct entry v[] = {
	    {"", "lee@example.com", SR_BOUNCE, 1, 0, NULL},
	    {"acme", "lee@example.com", SR_BOUNCE, 2, 0, NULL},
	};
	struct entry target = {"", "lee@example.com", 0, 0, 0, NULL};
	struct suppress_rec got;

	put_all(fx->st, v, N(v));
	assert_int_equal(store_write(fx->st, del_one, &target), STORE_OK);
	get_one(fx->st, "", "lee@example.com", STORE_NOTFOUND, &got);
	get_one(fx->st, "acme", "lee@example.com", STORE_OK, &got);
	assert_int_equal(got.created, 2);
	assert_int_equal(store_write(fx->st, del_one, &target), STORE_NOTFOUND);
	target.scope = "acme";
	assert_int_equal(store_write(fx->st, del_one, &target), STORE_OK);
	get_one(fx->st, "acme", "lee@example.com", STORE_NOTFOUND, &got);
}

/* ---- scan ---------------------------------------------------------------- */

struct seen {
	char list[1024];
	int stop_after;
	int n;
};

static int
collect(const char *scope, const char *target, const struct suppress_rec *rec, void *arg)
{
	struct seen *s = arg;
	char item[512];

	snprintf(item, sizeof(item), "%s%s/%s/%s", s->n ? "," : "", scope, target,
		 suppress_reason_name(rec->reason));
	strcat(s->list, item);
	s->n++;
	return s->stop_after && s->n >= s->stop_after ? 9 : 0;
}

static void
test_scan(void **state)
{
	struct unit_fx *fx = *state;
	static const struct entry v[] = {
	    {"acme", "b@x.org", SR_BOUNCE, 1, 0, NULL},
	    {"", "z@x.org", SR_MANUAL, 1, 0, NULL},
	    {"acme2", "c@x.org", SR_MANUAL, 1, 0, NULL},
	    {"acme", "@y.org", SR_COMPLAINT, 1, 0, NULL},
	    {"", "a@x.org", SR_UNSUBSCRIBE, 1, 0, NULL},
	    {"acm", "d@x.org", SR_BOUNCE, 1, 0, NULL},
	};
	static const struct {
		const char *scope;
		int stop_after;
		int want_rc;
		const char *want;
	} cases[] = {
	    {"acme", 0, 0, "acme/@y.org/complaint,acme/b@x.org/bounce"},
	    {"", 0, 0, "/a@x.org/unsubscribe,/z@x.org/manual"},
	    {"acm", 0, 0, "acm/d@x.org/bounce"},
	    {"nobody", 0, 0, ""},
	    {NULL, 0, 0,
	     "/a@x.org/unsubscribe,/z@x.org/manual,acm/d@x.org/bounce,acme/@y.org/complaint,"
	     "acme/b@x.org/bounce,acme2/c@x.org/manual"},
	    {NULL, 3, 9, "/a@x.org/unsubscribe,/z@x.org/manual,acm/d@x.org/bounce"},
	};
	struct store_txn *txn;

	put_all(fx->st, v, N(v));
	assert_int_equal(store_read_begin(fx->st, &txn), STORE_OK);
	for (size_t i = 0; i < N(cases); i++) {
		struct seen s = {.stop_after = cases[i].stop_after};
		int rc = suppress_scan(txn, cases[i].scope, collect, &s);
		if (rc != cases[i].want_rc || strcmp(s.list, cases[i].want) != 0)
			fail_msg("scope %s: rc %d '%s', want %d '%s'",
				 cases[i].scope ? cases[i].scope : "(all)", rc, s.list,
				 cases[i].want_rc, cases[i].want);
	}
	store_read_end(txn);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, unit_store_setup, unit_store_teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalise_table),
	    cmocka_unit_test(test_normalise_lengths),
	    cmocka_unit_test(test_normalise_idempotent),
	    T(test_check_order_table),
	    T(test_put_keeps_first_created),
	    T(test_del),
	    T(test_scan),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
