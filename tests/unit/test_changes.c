/* test_changes -- grouping change records (changes.h), applying a snapshot's records
 * (apply.h), publishing what a store held before it joined a fleet. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/apply.h"
#include "store/changes.h"
#include "store/records.h"
#include "store/store.h"
#include "unit.h"

#define MIB (1024 * 1024)
#define KEY "\0a@x.test" /* DB_SUPPRESS key: global scope '\0' target */
#define KLEN 9

/* Records emitted by a group, kept decodable. */
struct emitted {
	int n;
	uint8_t *rec[8];
	size_t len[8];
};

static int
keep(const void *rec, size_t len, void *arg)
{
	struct emitted *e = arg;

	assert_true(e->n < 8);
	e->rec[e->n] = malloc(len);
	memcpy(e->rec[e->n], rec, len);
	e->len[e->n++] = len;
	return 0;
}

/* Operations of one version share a record, up to MAX_OPS; a new version starts another. */
static void
test_group(void **state)
{
	struct emitted e = {0};
	struct change_group *g = change_group_create(2, 0, keep, &e);
	struct change_op put = {.db = 'S',
				.op = 'P',
				.key = (const uint8_t *)"k",
				.klen = 1,
				.val = (const uint8_t *)"v",
				.vlen = 1};
	struct change_op del = {.db = 'S',
				.op = 'D',
				.key = (const uint8_t *)"k",
				.klen = 1,
				.seen_clock = 5,
				.seen_node = "b"};
	const uint32_t want_ops[] = {2, 1, 1};
	struct change c;

	(void)state;
	assert_int_equal(change_group_add(g, 10, "a", &put), 0);
	assert_int_equal(change_group_add(g, 10, "a", &put), 0);
	assert_int_equal(change_group_add(g, 10, "a", &put), 0);
	assert_int_equal(change_group_add(g, 20, "a", &del), 0);
	assert_int_equal(change_group_flush(g), 0);
	change_group_destroy(g);
	assert_int_equal(e.n, 3);
	for (int i = 0; i < e.n; i++) {
		assert_int_equal(change_decode(e.rec[i], e.len[i], &c), 0);
		assert_int_equal(c.nops, want_ops[i]);
		assert_int_equal(c.seq, 0);
		assert_int_equal(c.clock, i < 2 ? 10 : 20);
		if (i == 2) {
			assert_int_equal(c.ops[0].op, 'D');
			assert_int_equal(c.ops[0].seen_clock, 5);
			assert_string_equal(c.ops[0].seen_node, "b");
		}
		change_free(&c);
		free(e.rec[i]);
	}
}

/* One DB_SUPPRESS operation as a record of version (CLOCK, NODE), seq SEQ. */
static void
one_op(struct change *c, struct change_op *op, char what, int64_t clock, const char *node,
       int64_t seq, const uint8_t *val, size_t vlen)
{
	memset(c, 0, sizeof(*c));
	memset(op, 0, sizeof(*op));
	*op = (struct change_op){.db = 'S',
				 .op = (uint8_t)what,
				 .key = (const uint8_t *)KEY,
				 .klen = KLEN,
				 .val = val,
				 .vlen = vlen};
	snprintf(c->node, sizeof(c->node), "%s", node);
	c->seq = seq;
	c->clock = c->ts = clock;
	c->nops = 1;
	c->ops = op;
}

struct steps {
	uint8_t val[128];
	size_t vlen;
	int snapshot_first;
};

/* A snapshot's put then tombstone; then a stream put older than the tombstone. */
static int
steps_txn(struct store_txn *txn, void *arg)
{
	struct steps *s = arg;
	struct apply_stats st = {0};
	struct change c;
	struct change_op op;

	store_txn_nocapture(txn);
	one_op(&c, &op, 'P', 100, "a", 0, s->val, s->vlen);
	assert_int_equal(apply_snapshot_change(txn, &c, &st), STORE_OK);
	one_op(&c, &op, 'D', 300, "a", 0, NULL, 0);
	op.seen_clock = 100;
	snprintf(op.seen_node, sizeof(op.seen_node), "a");
	assert_int_equal(apply_snapshot_change(txn, &c, &st), STORE_OK);
	/* A put B made at 50, arriving late by the stream: older than the remove and than
	 * the entry the remove saw, so not a concurrent add: the tombstone keeps it out. */
	one_op(&c, &op, 'P', 50, "b", 50, s->val, s->vlen);
	assert_int_equal(apply_change(txn, &c, &st), STORE_OK);
	assert_int_equal(st.records, 3);
	assert_int_equal(st.lost, 1);
	return STORE_OK;
}

/* A tombstone from a snapshot keeps an older put out, as one from the stream does. */
static void
test_snapshot_tombstone(void **state)
{
	struct unit_fx *fx = *state;
	struct suppress_rec rec = {.reason = 1, .created = 1, .updated = 1};
	struct steps s = {0};
	struct store_txn *txn;
	struct store_val v;

	s.vlen = rec_suppress_encode(&rec, s.val, sizeof(s.val));
	assert_int_equal(store_write(fx->st, steps_txn, &s), STORE_OK);
	assert_int_equal(store_read_begin(fx->st, &txn), STORE_OK);
	assert_int_equal(store_get(txn, DB_SUPPRESS, KEY, KLEN, &v), STORE_NOTFOUND);
	store_read_end(txn);
}

static int
plain_put(struct store_txn *txn, void *arg)
{
	const struct steps *s = arg;

	return store_put(txn, DB_SUPPRESS, KEY, KLEN, s->val, s->vlen);
}

static int
count_one(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct change *c = arg;

	(void)k;
	assert_int_equal(change_decode(v->data, v->len, c), 0);
	return 0;
}

/* An entry written before the store had a node name is published once, with its own time. */
static void
test_publish_existing(void **state)
{
	struct unit_fx *fx = *state;
	struct suppress_rec rec = {.reason = 1, .created = 1000, .updated = 2000};
	struct steps s = {0};
	struct store_txn *txn;
	struct change c = {0};
	struct change_ver ver;
	uint64_t n;

	s.vlen = rec_suppress_encode(&rec, s.val, sizeof(s.val));
	assert_int_equal(store_write(fx->st, plain_put, &s), STORE_OK);
	assert_int_equal(change_publish_existing(fx->st, "n1", &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_read_begin(fx->st, &txn), STORE_OK);
	store_scan(txn, DB_OUTBOX, NULL, 0, NULL, 0, count_one, &c);
	assert_int_equal(c.nops, 1);
	assert_int_equal(c.clock, 2000 * 1000000LL);
	assert_true(c.seq > c.clock);
	assert_string_equal(c.node, "n1");
	assert_int_equal(change_ver_get(txn, DB_SUPPRESS, KEY, KLEN, &ver), STORE_OK);
	assert_int_equal(ver.clock, 2000 * 1000000LL);
	change_free(&c);
	store_read_end(txn);
	assert_int_equal(change_publish_existing(fx->st, "n1", &n), STORE_OK);
	assert_int_equal(n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_group),
	    cmocka_unit_test_setup_teardown(test_snapshot_tombstone, unit_store_setup,
					    unit_store_teardown),
	    cmocka_unit_test_setup_teardown(test_publish_existing, unit_store_setup,
					    unit_store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
