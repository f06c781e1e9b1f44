/* test_reputation -- the fleet's counters merged into an account's window, and the marks
 * the feedback and cluster processes pass each other (feedback/reputation.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "feedback/reputation.h"
#include "store/records.h"
#include "store/store.h"
#include "unit.h"

#define MIB (1024 * 1024)
#define NOW (int64_t)(500000 * 3600 + 1800) /* half past hour 500000 */
#define H 500000u

static const struct rate_limits lim = {10000, 90, 1, 0, 50, 0, 0};

/* This host's counters of ACCOUNT's HOUR: D delivered, B hard bounces. */
static int
local_put(struct store_txn *txn, const char *account, uint32_t hour, uint32_t d, uint32_t b)
{
	struct stats_rec c = {{0}};
	uint8_t key[64], buf[64];
	size_t al = strlen(account), n;

	c.n[SF_DELIVERED] = d;
	c.n[SF_HARD] = b;
	memcpy(key, account, al + 1);
	for (int i = 0; i < 4; i++)
		key[al + 1 + i] = (uint8_t)(hour >> (24 - 8 * i));
	n = rec_stats_encode(&c, buf, sizeof(buf));
	return store_put(txn, DB_STATS, key, al + 5, buf, n);
}

/* Local: H-1 10/0, H 5/5.  The others: H-2 20/0, H 0/10. */
static int
fill_txn(struct store_txn *txn, void *arg)
{
	struct rate_bucket o[2] = {{H - 2, {{0}}}, {H, {{0}}}};

	o[0].c.n[SF_DELIVERED] = 20;
	o[1].c.n[SF_HARD] = 10;
	assert_int_equal(local_put(txn, "acme", H - 1, 10, 0), STORE_OK);
	assert_int_equal(local_put(txn, "acme", H, 5, 5), STORE_OK);
	return reputation_fleet_put(txn, "acme", o, 2);
}

struct windows {
	struct rate_window fleet, local;
};

static int
windows_txn(struct store_txn *txn, void *arg)
{
	struct windows *w = arg;

	assert_int_equal(reputation_window(txn, "acme", NOW, &lim, &w->fleet), STORE_OK);
	return reputation_window_local(txn, "acme", NOW, &lim, &w->local);
}

static void
test_merged_window(void **state)
{
	struct unit_fx *fx = *state;
	struct windows w;

	assert_int_equal(store_write(fx->st, fill_txn, NULL), STORE_OK);
	assert_int_equal(store_write(fx->st, windows_txn, &w), STORE_OK);
	assert_int_equal(w.local.eligible, 20);
	assert_int_equal(w.local.hard, 5);
	assert_int_equal(w.fleet.eligible, 50);
	assert_int_equal(w.fleet.hard, 15);
	assert_int_equal(w.fleet.start, (int64_t)(H - 2) * 3600);
	assert_true(w.fleet.bounce_rate > 29.9 && w.fleet.bounce_rate < 30.1);
}

static int
fresh_txn(struct store_txn *txn, void *arg)
{
	return reputation_fresh_start(txn, "acme", NOW);
}

/* A resume at hour H: what came before no longer counts, here or on the other nodes; their
 * counters of hour H itself are left out too (an hour is the fleet's granularity). */
static void
test_fresh_hour_leaves_out_the_others(void **state)
{
	struct unit_fx *fx = *state;
	struct windows w;

	assert_int_equal(store_write(fx->st, fill_txn, NULL), STORE_OK);
	assert_int_equal(store_write(fx->st, fresh_txn, NULL), STORE_OK);
	assert_int_equal(store_write(fx->st, windows_txn, &w), STORE_OK);
	assert_int_equal(w.fleet.eligible, 0);
	assert_int_equal(w.local.eligible, 0);
}

static int
marks_txn(struct store_txn *txn, void *arg)
{
	char names[4][ACCOUNT_NAME_MAX], val[16];

	assert_int_equal(reputation_mark_set(txn, RM_DIRTY, "b", "2"), STORE_OK);
	assert_int_equal(reputation_mark_set(txn, RM_DIRTY, "a", "1"), STORE_OK);
	assert_int_equal(reputation_mark_set(txn, RM_JUDGE, "c", "local"), STORE_OK);
	assert_int_equal(reputation_mark_list(txn, RM_DIRTY, names, 4), 2);
	assert_string_equal(names[0], "a");
	assert_string_equal(names[1], "b");
	assert_int_equal(reputation_mark_list(txn, RM_DIRTY, names, 1), 1);
	assert_int_equal(reputation_mark_get(txn, RM_JUDGE, "c", val, sizeof(val)), STORE_OK);
	assert_string_equal(val, "local");
	assert_int_equal(reputation_mark_del(txn, RM_DIRTY, "a"), STORE_OK);
	assert_int_equal(reputation_mark_del(txn, RM_DIRTY, "a"), STORE_OK);
	assert_int_equal(reputation_mark_get(txn, RM_DIRTY, "a", val, sizeof(val)), STORE_NOTFOUND);
	assert_int_equal(reputation_mark_list(txn, RM_DIRTY, names, 4), 1);
	return STORE_OK;
}

static void
test_marks(void **state)
{
	struct unit_fx *fx = *state;

	assert_int_equal(store_write(fx->st, marks_txn, NULL), STORE_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_merged_window, unit_store_setup,
					    unit_store_teardown),
	    cmocka_unit_test_setup_teardown(test_fresh_hour_leaves_out_the_others, unit_store_setup,
					    unit_store_teardown),
	    cmocka_unit_test_setup_teardown(test_marks, unit_store_setup, unit_store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
