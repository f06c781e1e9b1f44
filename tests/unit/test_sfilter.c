/* test_sfilter -- the suppression list's Bloom filter (store/sfilter.h) in a real store. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/sfilter.h"
#include "store/store.h"
#include "suppress/suppress.h"
#include "unit.h"

#define NOW 1795525500
#define LISTED 20000

static void
addr(char *buf, size_t len, const char *kind, int i)
{
	snprintf(buf, len, "%s%d.x%d@dom%d.test", kind, i, i * 7919 % 1000, i % 97);
}

struct fill {
	int from, to;
	const char *scope;
};

static int
fill_cb(struct store_txn *txn, void *arg)
{
	const struct fill *f = arg;
	struct suppress_rec rec = {.reason = SR_BOUNCE, .created = NOW};
	char a[128];

	for (int i = f->from; i < f->to; i++) {
		addr(a, sizeof(a), "listed", i);
		if (suppress_put(txn, f->scope, a, &rec) != STORE_OK)
			return STORE_ERR;
	}
	return STORE_OK;
}

static int
drop_cb(struct store_txn *txn, void *arg)
{
	const struct fill *f = arg;
	char a[128];

	for (int i = f->from; i < f->to; i++) {
		addr(a, sizeof(a), "listed", i);
		if (suppress_del(txn, f->scope, a) != STORE_OK)
			return STORE_ERR;
	}
	return STORE_OK;
}

static int
build_cb(struct store_txn *txn, void *arg)
{
	(void)arg;
	return sfilter_build(txn);
}

/* How many of KIND from..to the filter lets through (answers "maybe" for). */
static int
maybes(struct store *st, const char *kind, int from, int to)
{
	struct store_txn *txn;
	char a[128];
	int n = 0;

	assert_int_equal(store_read_begin(st, &txn), STORE_OK);
	for (int i = from; i < to; i++) {
		addr(a, sizeof(a), kind, i);
		int m = sfilter_maybe(txn, a, strlen(a));
		assert_int_not_equal(m, -1); /* the filter is there */
		n += m;
	}
	store_read_end(txn);
	return n;
}

static struct sfilter_info
info_of(struct store *st)
{
	struct store_txn *txn;
	struct sfilter_info info;

	assert_int_equal(store_read_begin(st, &txn), STORE_OK);
	assert_int_equal(sfilter_info(txn, &info), STORE_OK);
	store_read_end(txn);
	return info;
}

/* A new store has the filter, empty: everything is ruled out. */
static void
new_store_has_an_empty_filter(void **state)
{
	struct unit_fx *fx = *state;
	struct sfilter_info info = info_of(fx->st);

	assert_int_equal(info.nblocks, SFL_BLOCKS_MIN);
	assert_int_equal(info.entries, 0);
	assert_int_equal(maybes(fx->st, "listed", 0, 1000), 0);
}

/* Never a false negative, in any scope; few false positives; sized up when rebuilt. */
static void
every_entry_passes_and_few_others_do(void **state)
{
	struct unit_fx *fx = *state;
	struct fill global = {0, LISTED / 2, ""}, acct = {LISTED / 2, LISTED, "acct1"};
	struct sfilter_info info;
	int fp_small, fp_sized;

	assert_int_equal(store_write(fx->st, fill_cb, &global), STORE_OK);
	assert_int_equal(store_write(fx->st, fill_cb, &acct), STORE_OK);
	assert_int_equal(maybes(fx->st, "listed", 0, LISTED), LISTED);
	fp_small = maybes(fx->st, "other", 0, LISTED);
	info = info_of(fx->st);
	assert_int_equal(info.entries, LISTED);
	assert_true(sfilter_stale(&info)); /* 16 KB for 20,000 entries: too small */

	assert_int_equal(store_write(fx->st, build_cb, NULL), STORE_OK);
	info = info_of(fx->st);
	assert_false(sfilter_stale(&info));
	assert_true(info.nblocks > SFL_BLOCKS_MIN);
	assert_int_equal(info.built_entries, LISTED);
	assert_int_equal(maybes(fx->st, "listed", 0, LISTED), LISTED);
	fp_sized = maybes(fx->st, "other", 0, LISTED);
	print_message("false positives: %d of %d at %u blocks, %d at %u blocks\n", fp_small, LISTED,
		      SFL_BLOCKS_MIN, fp_sized, info.nblocks);
	assert_true(fp_sized < LISTED / 100); /* sized at 16 bits an entry: well under 1 % */
	assert_true(fp_sized < fp_small);
}

/* Deletes are counted; the rebuild forgets what was deleted. */
static void
deletes_make_it_stale_and_a_rebuild_forgets_them(void **state)
{
	struct unit_fx *fx = *state;
	struct fill all = {0, 4000, ""}, gone = {0, 3000, ""};
	struct sfilter_info info;

	assert_int_equal(store_write(fx->st, fill_cb, &all), STORE_OK);
	assert_int_equal(store_write(fx->st, build_cb, NULL), STORE_OK);
	assert_int_equal(store_write(fx->st, drop_cb, &gone), STORE_OK);
	info = info_of(fx->st);
	assert_int_equal(info.deletes, 3000);
	assert_int_equal(info.entries, 1000);
	assert_true(sfilter_stale(&info));
	assert_int_equal(maybes(fx->st, "listed", 0, 3000), 3000); /* bits stay until... */

	assert_int_equal(store_write(fx->st, build_cb, NULL), STORE_OK);
	info = info_of(fx->st);
	assert_int_equal(info.deletes, 0);
	assert_true(maybes(fx->st, "listed", 0, 3000) < 30); /* ... the rebuild */
	assert_int_equal(maybes(fx->st, "listed", 3000, 4000), 1000);
}

/* suppress_check() still finds every kind of entry through the filter. */
static void
checks_find_entries_through_the_filter(void **state)
{
	struct unit_fx *fx = *state;
	struct fill acct = {0, 500, "acct1"};
	struct store_txn *txn;
	struct suppress_hit hit;
	char a[128];

	assert_int_equal(store_write(fx->st, fill_cb, &acct), STORE_OK);
	assert_int_equal(store_read_begin(fx->st, &txn), STORE_OK);
	for (int i = 0; i < 500; i++) {
		addr(a, sizeof(a), "listed", i);
		assert_int_equal(suppress_check(txn, "acct1", a, 1, NOW, &hit), STORE_OK);
		assert_string_equal(hit.scope, "acct1");
		assert_int_equal(suppress_check(txn, "acct2", a, 1, NOW, &hit), STORE_NOTFOUND);
	}
	store_read_end(txn);
}

/* Building it raises the schema: an older outpostd (which would skip the bits) refuses to write. */
static void
the_store_needs_the_new_schema(void **state)
{
	struct unit_fx *fx = *state;
	struct store_txn *txn;
	struct store_val v;

	assert_int_equal(store_read_begin(fx->st, &txn), STORE_OK);
	assert_int_equal(store_get(txn, DB_META, "version", 7, &v), STORE_OK);
	assert_int_equal(v.len, 1);
	assert_int_equal(*(const uint8_t *)v.data, 2);
	store_read_end(txn);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(new_store_has_an_empty_filter, unit_store_setup,
					    unit_store_teardown),
	    cmocka_unit_test_setup_teardown(every_entry_passes_and_few_others_do, unit_store_setup,
					    unit_store_teardown),
	    cmocka_unit_test_setup_teardown(deletes_make_it_stale_and_a_rebuild_forgets_them,
					    unit_store_setup, unit_store_teardown),
	    cmocka_unit_test_setup_teardown(checks_find_entries_through_the_filter,
					    unit_store_setup, unit_store_teardown),
	    cmocka_unit_test_setup_teardown(the_store_needs_the_new_schema, unit_store_setup,
					    unit_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
