/*
 * test_quota -- the quota step with an injected clock: bursts, refills,
 * window roll-over, the clock going backwards, reservations that lapse,
 * refunds, month boundaries.  The real shared table in a temporary file.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit.h"
#include "conf/conf.h"
#include "quota/quota.h"

#define T0 1795000200LL /* 2026-11-18T11:10:00Z, a multiple of 300 */
#define SEC 1000000LL

struct fx {
	char *dir;
	struct conf *conf;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char err[512], db[4096], *path;

	fx->dir = unit_tmpdir();
	path = unit_write_conf(fx->dir, "store = { path = \"db\"; };\n"
					"quota = { table_size = 1024; };\n");
	fx->conf = conf_load(path, err, sizeof(err));
	if (fx->conf == NULL)
		fail_msg("conf_load: %s", err);
	free(path);
	snprintf(db, sizeof(db), "%s/db", fx->dir);
	mkdir(db, 0700);
	if (quota_open(fx->conf, 1, err, sizeof(err)) < 0)
		fail_msg("quota_open: %s", err);
	qtable_new_generation(quota_table);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	qtable_close(quota_table);
	quota_table = NULL;
	conf_free(fx->conf);
	unit_rmtree(fx->dir);
	free(fx);
	return 0;
}

/* One RCPT of ACCOUNT at NOW_US in transaction HOLD; returns the verdict kind. */
static int
rcpt_at(struct fx *fx, const struct quota_limits *l, struct quota_conn *hold, const char *inst,
	int64_t now_us, struct verdict *v)
{
	struct facts f = {.stage = STAGE_RCPT,
			  .door = DOOR_POLICY,
			  .instance = inst,
			  .sender = "s@app.test",
			  .recipient = "r@dest.test"};

	memset(v, 0, sizeof(*v));
	strcpy(v->account, "acme");
	v->quota = 1;
	v->limits = *l;
	f.now_us = now_us;
	f.now = now_us / SEC;
	quota_decide(fx->conf, &f, v, hold);
	return v->kind;
}

static void
eom_at(struct fx *fx, const struct quota_limits *l, struct quota_conn *hold, const char *inst,
       unsigned count, int64_t now_us)
{
	struct facts f = {.stage = STAGE_EOM,
			  .door = DOOR_POLICY,
			  .instance = inst,
			  .sender = "s@app.test",
			  .recipient_count = count};
	struct verdict v = {.quota = 1, .limits = *l};

	strcpy(v.account, "acme");
	f.now_us = now_us;
	f.now = now_us / SEC;
	quota_decide(fx->conf, &f, &v, hold);
	assert_int_equal(v.kind, VK_PASS);
}

/* A whole message of N recipients at NOW_US; returns how many were admitted. */
static int
send_at(struct fx *fx, const struct quota_limits *l, int n, int64_t now_us)
{
	struct quota_conn hold = {0};
	struct verdict v;
	static int seq;
	char inst[32];
	int ok = 0;

	snprintf(inst, sizeof(inst), "i%d", ++seq);
	for (int i = 0; i < n; i++)
		ok += rcpt_at(fx, l, &hold, inst, now_us, &v) == VK_PASS;
	if (ok)
		eom_at(fx, l, &hold, inst, (unsigned)ok, now_us);
	else
		quota_release(&hold);
	return ok;
}

static void
test_burst_then_refill(void **state)
{
	struct fx *fx = *state;
	struct quota_limits l = {.rate_n = 10, .rate_per = 1, .burst = 5};
	struct verdict v;
	struct quota_conn h = {0};

	assert_int_equal(send_at(fx, &l, 7, T0 * SEC), 5);
	assert_int_equal(rcpt_at(fx, &l, &h, "x", T0 * SEC + 50000, &v), VK_TEMPFAIL);
	assert_string_equal(v.rule, "max_rate");
	assert_string_equal(v.code, "450");
	quota_release(&h);
	/* One unit every 100 ms. */
	assert_int_equal(send_at(fx, &l, 2, T0 * SEC + 100000), 1);
	assert_int_equal(send_at(fx, &l, 5, T0 * SEC + 400000), 3);
	/* After a quiet second the whole burst again, not more. */
	assert_int_equal(send_at(fx, &l, 9, (T0 + 10) * SEC), 5);
}

static void
test_daily_window_rolls_over(void **state)
{
	struct fx *fx = *state;
	struct quota_limits l = {.daily = 3};
	struct verdict v;
	struct quota_conn h = {0};

	assert_int_equal(send_at(fx, &l, 3, (T0 + 10) * SEC), 3);
	assert_int_equal(rcpt_at(fx, &l, &h, "y", (T0 + 3600) * SEC, &v), VK_TEMPFAIL);
	assert_string_equal(v.rule, "daily_quota");
	assert_string_equal(v.dsn, "4.5.3");
	assert_non_null(strstr(v.text, "3 recipients per 24 h"));
	/* The clock going back an hour frees nothing. */
	assert_int_equal(send_at(fx, &l, 1, (T0 - 3600) * SEC), 0);
	/* Still counted at the end of the bucket's slice + 24 h - 1 s, free after. */
	assert_int_equal(send_at(fx, &l, 1, (T0 + 300 + 86400 - 1) * SEC), 0);
	assert_int_equal(send_at(fx, &l, 4, (T0 + 300 + 86400) * SEC), 3);
	quota_release(&h);
}

static void
test_reservations_bound_concurrency_and_lapse(void **state)
{
	struct fx *fx = *state;
	struct quota_limits l = {.daily = 2};
	struct quota_conn a = {0}, b = {0};
	struct verdict v;

	/* Transaction A holds both places; B can't get one while A is in flight. */
	assert_int_equal(rcpt_at(fx, &l, &a, "a", T0 * SEC, &v), VK_PASS);
	assert_int_equal(rcpt_at(fx, &l, &a, "a", T0 * SEC, &v), VK_PASS);
	assert_int_equal(rcpt_at(fx, &l, &b, "b", T0 * SEC, &v), VK_TEMPFAIL);
	assert_non_null(strstr(v.text, "retry in a few minutes"));
	/* A's process dies (nothing releases it): the places lapse after 15 minutes. */
	memset(&a, 0, sizeof(a));
	assert_int_equal(rcpt_at(fx, &l, &b, "b", (T0 + 14 * 60) * SEC, &v), VK_TEMPFAIL);
	assert_int_equal(rcpt_at(fx, &l, &b, "b", (T0 + 16 * 60) * SEC, &v), VK_PASS);
	quota_release(&b);
	/* Released places are free at once. */
	assert_int_equal(send_at(fx, &l, 3, (T0 + 16 * 60) * SEC), 2);
}

static void
test_eom_on_another_connection(void **state)
{
	struct fx *fx = *state;
	struct quota_limits l = {.daily = 4};
	struct quota_conn rc = {0}, ec = {0};
	struct quota_usage u;
	struct verdict v;

	/* Postfix's RCPT and END-OF-MESSAGE requests may come on two connections. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(rcpt_at(fx, &l, &rc, "t1", T0 * SEC, &v), VK_PASS);
	eom_at(fx, &l, &ec, "t1", 3, T0 * SEC);
	assert_int_equal(quota_usage("a:acme", &l, T0, &u), 0);
	assert_int_equal(u.day, 3);
	assert_int_equal(u.reserved, 0); /* the reservation went with the commit */
	/* The RCPT connection's next transaction releases nothing more. */
	assert_int_equal(rcpt_at(fx, &l, &rc, "t2", T0 * SEC, &v), VK_PASS);
	assert_int_equal(rcpt_at(fx, &l, &rc, "t2", T0 * SEC, &v), VK_TEMPFAIL);
	quota_release(&rc);
	quota_release(&ec);
	assert_int_equal(quota_usage("a:acme", &l, T0, &u), 0);
	assert_int_equal(u.reserved, 0);
	assert_int_equal(u.day, 3);
}

/* More transactions than the table holds, one after another: freed entries are reused. */
static void
test_transaction_churn(void **state)
{
	struct fx *fx = *state;
	struct quota_limits l = {.daily = 1000000};
	struct quota_conn rc = {0}, ec = {0};
	struct quota_usage u;
	struct verdict v;
	char inst[32];

	for (int i = 0; i < 3 * QTXN_MAX; i++) {
		snprintf(inst, sizeof(inst), "churn.%d", i);
		assert_int_equal(rcpt_at(fx, &l, &rc, inst, T0 * SEC, &v), VK_PASS);
		if (i % 2)
			eom_at(fx, &l, &ec, inst, 1, T0 * SEC); /* sent */
		/* else: aborted, released when the connection's next one starts */
	}
	quota_release(&rc);
	assert_int_equal(quota_usage("a:acme", &l, T0, &u), 0);
	assert_int_equal(u.day, (uint64_t)(3 * QTXN_MAX / 2));
	assert_int_equal(u.reserved, 0);
	/* Many in flight at once (one connection each), then all released. */
	struct quota_conn *many = calloc(QTXN_MAX / 2, sizeof(*many));
	for (int i = 0; i < QTXN_MAX / 2; i++) {
		snprintf(inst, sizeof(inst), "many.%d", i);
		assert_int_equal(rcpt_at(fx, &l, &many[i], inst, T0 * SEC, &v), VK_PASS);
	}
	assert_int_equal(quota_usage("a:acme", &l, T0, &u), 0);
	assert_int_equal(u.reserved, (uint64_t)(QTXN_MAX / 2));
	for (int i = 0; i < QTXN_MAX / 2; i++)
		quota_release(&many[i]);
	free(many);
	assert_int_equal(quota_usage("a:acme", &l, T0, &u), 0);
	assert_int_equal(u.reserved, 0);
}

static void
test_release_refunds_rate(void **state)
{
	struct fx *fx = *state;
	struct quota_limits l = {.rate_n = 1, .rate_per = 60, .burst = 1};
	struct quota_conn h = {0};
	struct verdict v;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(rcpt_at(fx, &l, &h, "r", T0 * SEC, &v), VK_PASS);
		quota_release(&h); /* rejected later, RSET: the unit comes back */
	}
	assert_int_equal(send_at(fx, &l, 2, T0 * SEC), 1);
	assert_int_equal(send_at(fx, &l, 1, (T0 + 59) * SEC), 0);
	assert_int_equal(send_at(fx, &l, 1, (T0 + 60) * SEC), 1);
}

static void
test_commit_counts_what_postfix_accepted(void **state)
{
	struct fx *fx = *state;
	struct quota_limits l = {.daily = 10};
	struct quota_conn h = {0};
	struct quota_usage u;
	struct verdict v;

	/* 3 reserved, Postfix accepted 2 (another restriction rejected one). */
	for (int i = 0; i < 3; i++)
		assert_int_equal(rcpt_at(fx, &l, &h, "c", T0 * SEC, &v), VK_PASS);
	eom_at(fx, &l, &h, "c", 2, T0 * SEC);
	assert_int_equal(quota_usage("a:acme", &l, T0, &u), 0);
	assert_int_equal(u.day, 2);
	assert_int_equal(u.reserved, 0);
	/* END-OF-MESSAGE without RCPT checks (a wiring without them) still counts. */
	memset(&h, 0, sizeof(h));
	eom_at(fx, &l, &h, "d", 5, T0 * SEC);
	assert_int_equal(quota_usage("a:acme", &l, T0, &u), 0);
	assert_int_equal(u.day, 7);
	assert_int_equal(u.total, 7);
}

static void
test_month_boundary(void **state)
{
	struct fx *fx = *state;
	struct quota_limits l = {.monthly = 2};
	int64_t dec1 = 1796083200LL; /* 2026-12-01T00:00:00Z */
	struct quota_conn h = {0};
	struct verdict v;

	assert_int_equal(send_at(fx, &l, 2, (dec1 - 3 * 86400) * SEC), 2);
	assert_int_equal(rcpt_at(fx, &l, &h, "m", (dec1 - 86400) * SEC, &v), VK_TEMPFAIL);
	assert_non_null(strstr(v.text, "retry after 2026-12-01 00:00 UTC"));
	assert_int_equal(rcpt_at(fx, &l, &h, "m", (dec1 - 1) * SEC, &v), VK_TEMPFAIL);
	assert_non_null(strstr(v.text, "retry in 1 s"));
	quota_release(&h);
	assert_int_equal(send_at(fx, &l, 3, dec1 * SEC), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_burst_then_refill, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_daily_window_rolls_over, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reservations_bound_concurrency_and_lapse, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_eom_on_another_connection, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transaction_churn, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_release_refunds_rate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commit_counts_what_postfix_accepted, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_month_boundary, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
