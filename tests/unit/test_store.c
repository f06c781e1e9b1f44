/* test_store -- the LMDB store (store.h) and its record layouts (records.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/records.h"
#include "store/store.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MIB (1024 * 1024)

/* ---- write callbacks driven by a table of operations --------------------- */

struct op {
	enum { OP_PUT, OP_DEL } what;
	enum store_db db;
	const char *key;
	size_t klen; /* 0: strlen(key) */
	const char *val;
	int want; /* the call's expected result */
};

struct ops {
	const struct op *v;
	size_t n;
	int ret; /* what the callback returns at the end */
};

static int
run_ops(struct store_txn *txn, void *arg)
{
	const struct ops *ops = arg;

	for (size_t i = 0; i < ops->n; i++) {
		const struct op *o = &ops->v[i];
		size_t kl = o->klen ? o->klen : strlen(o->key);
		int rc = o->what == OP_PUT
			     ? store_put(txn, o->db, o->key, kl, o->val, strlen(o->val) + 1)
			     : store_del(txn, o->db, o->key, kl);
		if (rc != o->want)
			fail_msg("op %zu on '%s': %d, want %d", i, o->key, rc, o->want);
	}
	return ops->ret;
}

/* Read KEY from DB: the stored string, or NULL when absent. */
static char *
get_str(struct store *st, enum store_db db, const char *key, size_t klen)
{
	struct store_txn *txn;
	struct store_val v;
	char *out = NULL;
	int rc;

	assert_int_equal(store_read_begin(st, &txn), STORE_OK);
	rc = store_get(txn, db, key, klen ? klen : strlen(key), &v);
	if (rc == STORE_OK) {
		out = malloc(v.len);
		memcpy(out, v.data, v.len);
	} else {
		assert_int_equal(rc, STORE_NOTFOUND);
	}
	store_read_end(txn);
	return out;
}

static void
assert_value(struct store *st, enum store_db db, const char *key, const char *want)
{
	char *got = get_str(st, db, key, 0);

	if (want == NULL && got != NULL)
		fail_msg("'%s' is there ('%s'), should be absent", key, got);
	if (want != NULL && (got == NULL || strcmp(got, want) != 0))
		fail_msg("'%s': got '%s', want '%s'", key, got ? got : "(absent)", want);
	free(got);
}

/* ---- open / create -------------------------------------------------------- */

static void
test_open_create(void **state)
{
	struct unit_fx *fx = *state;
	char want[4200], err[512];
	struct store_opts ro = {.map_size = MIB, .max_readers = 126, .readonly = 1};
	struct store_stat stat;
	struct store *st2;

	snprintf(want, sizeof(want), "%s/db", fx->dir);
	assert_string_equal(store_path(fx->st), want);
	snprintf(want, sizeof(want), "%s/db/data.mdb", fx->dir);
	assert_int_equal(access(want, F_OK), 0);
	/* The meta database holds the schema version record. */
	assert_int_equal(store_db_stat(fx->st, DB_META, &stat), STORE_OK);
	assert_int_equal(stat.entries, 1);
	assert_int_equal(stat.map_size, 16 * MIB);
	assert_int_equal(store_db_stat(fx->st, DB_SUPPRESS, &stat), STORE_OK);
	assert_int_equal(stat.entries, 0);

	/* A directory that is not a store cannot be opened read-only. */
	snprintf(want, sizeof(want), "%s/nothing", fx->dir);
	st2 = store_open(want, &ro, err, sizeof(err));
	assert_null(st2);
	assert_non_null(strstr(err, want));
	/* Without create, a missing directory is an error too. */
	struct store_opts rw = {.map_size = MIB, .max_readers = 126};
	err[0] = '\0';
	assert_null(store_open(want, &rw, err, sizeof(err)));
	assert_true(strncmp(err, want, strlen(want)) == 0);
	store_close(NULL);
}

static void
test_put_get_del(void **state)
{
	struct unit_fx *fx = *state;
	static const struct op ops1[] = {
	    {OP_PUT, DB_ACCOUNT, "alice", 0, "A1", STORE_OK},
	    {OP_PUT, DB_ACCOUNT, "bob", 0, "B1", STORE_OK},
	    {OP_PUT, DB_ACCTSET, "alice", 0, "other db", STORE_OK},
	    {OP_PUT, DB_ACCOUNT, "alice", 0, "A2", STORE_OK}, /* overwrite */
	    {OP_PUT, DB_ACCOUNT, "carol", 0, "C1", STORE_OK},
	    {OP_DEL, DB_ACCOUNT, "carol", 0, NULL, STORE_OK}, /* deleted in the same txn */
	    {OP_DEL, DB_ACCOUNT, "dave", 0, NULL, STORE_NOTFOUND},
	};
	struct ops o1 = {ops1, N(ops1), STORE_OK};

	assert_int_equal(store_write(fx->st, run_ops, &o1), STORE_OK);
	assert_value(fx->st, DB_ACCOUNT, "alice", "A2");
	assert_value(fx->st, DB_ACCOUNT, "bob", "B1");
	assert_value(fx->st, DB_ACCTSET, "alice", "other db");
	assert_value(fx->st, DB_ACCOUNT, "carol", NULL);
	assert_value(fx->st, DB_HISTORY, "alice", NULL); /* databases are separate */

	static const struct op ops2[] = {
	    {OP_DEL, DB_ACCOUNT, "bob", 0, NULL, STORE_OK},
	    {OP_DEL, DB_ACCOUNT, "bob", 0, NULL, STORE_NOTFOUND},
	};
	struct ops o2 = {ops2, N(ops2), STORE_OK};
	assert_int_equal(store_write(fx->st, run_ops, &o2), STORE_OK);
	assert_value(fx->st, DB_ACCOUNT, "bob", NULL);
	assert_value(fx->st, DB_ACCOUNT, "alice", "A2");
}

/* Keys are 1..511 bytes: outside that, put fails and get/del find nothing. */
static void
test_key_limits(void **state)
{
	struct unit_fx *fx = *state;
	static char k511[512], k512[513];
	struct store_txn *txn;
	struct store_val v;

	memset(k511, 'k', 511);
	memset(k512, 'k', 512);
	const struct op ops[] = {
	    {OP_PUT, DB_META, k511, 511, "max", STORE_OK},
	    {OP_PUT, DB_META, k512, 512, "too long", STORE_ERR},
	    {OP_DEL, DB_META, k512, 512, NULL, STORE_NOTFOUND},
	};
	struct ops o = {ops, N(ops), STORE_OK};
	assert_int_equal(store_write(fx->st, run_ops, &o), STORE_OK);
	assert_value(fx->st, DB_META, k511, "max");
	assert_int_equal(store_read_begin(fx->st, &txn), STORE_OK);
	assert_int_equal(store_get(txn, DB_META, k512, 512, &v), STORE_NOTFOUND);
	assert_int_equal(store_get(txn, DB_META, "", 0, &v), STORE_NOTFOUND);
	store_read_end(txn);
}

/* A callback's non-zero return aborts everything it wrote and is passed back. */
static void
test_write_abort(void **state)
{
	struct unit_fx *fx = *state;
	static const struct op ops[] = {
	    {OP_PUT, DB_ACCOUNT, "ghost", 0, "G", STORE_OK},
	};
	struct ops o = {ops, N(ops), 7};

	assert_int_equal(store_write(fx->st, run_ops, &o), 7);
	assert_value(fx->st, DB_ACCOUNT, "ghost", NULL);
	o.ret = STORE_NOTFOUND;
	assert_int_equal(store_write(fx->st, run_ops, &o), STORE_NOTFOUND);
	assert_value(fx->st, DB_ACCOUNT, "ghost", NULL);
}

/* A read snapshot does not see a later write; a new one does. */
static void
test_read_snapshot(void **state)
{
	struct unit_fx *fx = *state;
	static const struct op ops[] = {{OP_PUT, DB_MESSAGE, "Q1", 0, "v", STORE_OK}};
	struct ops o = {ops, N(ops), STORE_OK};
	struct store_txn *old;
	struct store_val v;

	assert_int_equal(store_read_begin(fx->st, &old), STORE_OK);
	assert_int_equal(store_write(fx->st, run_ops, &o), STORE_OK);
	assert_int_equal(store_get(old, DB_MESSAGE, "Q1", 2, &v), STORE_NOTFOUND);
	store_read_end(old);
	assert_value(fx->st, DB_MESSAGE, "Q1", "v");
	/* Recycled read handles keep working, beyond the free list's size. */
	struct store_txn *many[40];
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < N(many); i++)
			assert_int_equal(store_read_begin(fx->st, &many[i]), STORE_OK);
		for (size_t i = 0; i < N(many); i++) {
			assert_int_equal(store_get(many[i], DB_MESSAGE, "Q1", 2, &v), STORE_OK);
			assert_int_equal(v.len, 2);
			store_read_end(many[i]);
		}
	}
	store_read_end(NULL);
}

/* Data survives closing and reopening; read-only handles refuse writes. */
static void
test_reopen_readonly(void **state)
{
	struct unit_fx *fx = *state;
	static const struct op ops[] = {{OP_PUT, DB_IDENTITY, "sasl:alice", 0, "acme", STORE_OK}};
	struct ops o = {ops, N(ops), STORE_OK};
	struct store_opts ro = {.map_size = MIB, .max_readers = 126, .readonly = 1};
	char path[4200], err[512];
	struct store *st;

	assert_int_equal(store_write(fx->st, run_ops, &o), STORE_OK);
	store_close(fx->st);
	fx->st = NULL;
	snprintf(path, sizeof(path), "%s/db", fx->dir);
	st = store_open(path, &ro, err, sizeof(err));
	if (st == NULL)
		fail_msg("read-only open: %s", err);
	assert_value(st, DB_IDENTITY, "sasl:alice", "acme");
	assert_int_equal(store_write(st, run_ops, &o), STORE_ERR);
	char want[4300];
	snprintf(want, sizeof(want), "%s: store opened read-only", path);
	assert_string_equal(store_error(st), want);
	store_close(st);
	fx->st = unit_store_open(fx->dir, MIB);
	assert_value(fx->st, DB_IDENTITY, "sasl:alice", "acme");
}

/* ---- scan -------------------------------------------------------------- */

struct seen {
	char keys[16][32];
	size_t n;
	size_t stop_after; /* 0: never */
};

static int
collect(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct seen *s = arg;
	size_t i;

	(void)v;
	assert_true(s->n < N(s->keys));
	/* Keys contain NULs: store them with '|' in their place. */
	for (i = 0; i < k->len && i + 1 < sizeof(s->keys[0]); i++)
		s->keys[s->n][i] = ((const char *)k->data)[i] ? ((const char *)k->data)[i] : '|';
	s->keys[s->n][i] = '\0';
	s->n++;
	return s->stop_after && s->n >= s->stop_after ? 42 : 0;
}

static int
put_scan_keys(struct store_txn *txn, void *arg)
{
	static const char *const keys[] = {"b|w", "a|y", "ab|z", "a|x", "a", "a|", "c"};

	(void)arg;
	for (size_t i = 0; i < N(keys); i++) {
		char k[16];
		size_t n = strlen(keys[i]);
		for (size_t j = 0; j < n; j++)
			k[j] = keys[i][j] == '|' ? '\0' : keys[i][j];
		if (store_put(txn, DB_SUPPRESS, k, n, "v", 1) != STORE_OK)
			return STORE_ERR;
	}
	return STORE_OK;
}

static const struct {
	const char *what;
	const char *prefix;
	size_t plen;
	const char *start;
	size_t slen;
	size_t stop_after;
	int want_rc;
	const char *want; /* keys seen, comma-separated, '|' for NUL */
} scan_cases[] = {
    {"everything", "", 0, NULL, 0, 0, 0, "a,a|,a|x,a|y,ab|z,b|w,c"},
    {"prefix a\\0", "a\0", 2, NULL, 0, 0, 0, "a|,a|x,a|y"},
    {"prefix a", "a", 1, NULL, 0, 0, 0, "a,a|,a|x,a|y,ab|z"},
    {"prefix with start", "a\0", 2, "a\0y", 3, 0, 0, "a|y"},
    {"start between keys", "a\0", 2, "a\0xx", 4, 0, 0, "a|y"},
    {"start past the prefix", "a\0", 2, "a\0zz", 4, 0, 0, ""},
    {"no such prefix", "zz", 2, NULL, 0, 0, 0, ""},
    {"prefix before everything", "0", 1, NULL, 0, 0, 0, ""},
    {"stopped by the callback", "", 0, NULL, 0, 2, 42, "a,a|"},
};

static void
test_scan_table(void **state)
{
	struct unit_fx *fx = *state;
	struct store_txn *txn;

	assert_int_equal(store_write(fx->st, put_scan_keys, NULL), STORE_OK);
	assert_int_equal(store_read_begin(fx->st, &txn), STORE_OK);
	for (size_t i = 0; i < N(scan_cases); i++) {
		struct seen s = {.stop_after = scan_cases[i].stop_after};
		char got[256] = "";
		int rc = store_scan(txn, DB_SUPPRESS, scan_cases[i].prefix, scan_cases[i].plen,
				    scan_cases[i].start, scan_cases[i].slen, collect, &s);
		for (size_t j = 0; j < s.n; j++) {
			if (j)
				strcat(got, ",");
			strcat(got, s.keys[j]);
		}
		if (rc != scan_cases[i].want_rc || strcmp(got, scan_cases[i].want) != 0)
			fail_msg("%s: rc %d '%s', want %d '%s'", scan_cases[i].what, rc, got,
				 scan_cases[i].want_rc, scan_cases[i].want);
	}
	/* Another database is empty. */
	struct seen s = {0};
	assert_int_equal(store_scan(txn, DB_ACCOUNT, "", 0, NULL, 0, collect, &s), 0);
	assert_int_equal(s.n, 0);
	store_read_end(txn);
}

/* ---- map growth ------------------------------------------------------------ */

#define CHUNK (64 * 1024)
#define PER_WRITE 16 /* 1 MiB per store_write */
#define WRITES 20

struct fill {
	int round;
	int calls; /* how often the callback ran (retries included) */
};

static void
fill_value(uint8_t *buf, int round, int i)
{
	for (size_t j = 0; j < CHUNK; j++)
		buf[j] = (uint8_t)(round * 31 + i * 7 + j);
}

static int
fill_round(struct store_txn *txn, void *arg)
{
	struct fill *f = arg;
	static uint8_t buf[CHUNK];

	f->calls++;
	for (int i = 0; i < PER_WRITE; i++) {
		char key[32];
		int rc;
		snprintf(key, sizeof(key), "r%02d-%02d", f->round, i);
		fill_value(buf, f->round, i);
		if ((rc = store_put(txn, DB_MESSAGE, key, strlen(key), buf, CHUNK)) != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

static void
test_map_full_growth(void **state)
{
	struct unit_fx *fx = *state;
	struct store_stat stat;
	struct store_txn *txn;
	static uint8_t want[CHUNK];
	int calls = 0;

	/* Reopen the same directory with a 1 MiB map. */
	store_close(fx->st);
	unit_rmtree(fx->dir);
	fx->dir = unit_tmpdir();
	fx->st = unit_store_open(fx->dir, MIB);
	assert_int_equal(store_db_stat(fx->st, DB_MESSAGE, &stat), STORE_OK);
	assert_int_equal(stat.map_size, MIB);

	for (int r = 0; r < WRITES; r++) {
		struct fill f = {r, 0};
		int rc = store_write(fx->st, fill_round, &f);
		if (rc != STORE_OK)
			fail_msg("write %d: %d (%s)", r, rc, store_error(fx->st));
		calls += f.calls;
	}
	assert_true(calls > WRITES); /* at least one MAP_FULL was retried */

	assert_int_equal(store_db_stat(fx->st, DB_MESSAGE, &stat), STORE_OK);
	assert_int_equal(stat.entries, WRITES * PER_WRITE);
	assert_true(stat.map_size >= (uint64_t)WRITES * PER_WRITE * CHUNK);
	assert_true(stat.map_size > MIB);
	assert_true(stat.used_bytes >= (uint64_t)WRITES * PER_WRITE * CHUNK);

	assert_int_equal(store_read_begin(fx->st, &txn), STORE_OK);
	for (int r = 0; r < WRITES; r++)
		for (int i = 0; i < PER_WRITE; i++) {
			char key[32];
			struct store_val v;
			snprintf(key, sizeof(key), "r%02d-%02d", r, i);
			assert_int_equal(store_get(txn, DB_MESSAGE, key, strlen(key), &v),
					 STORE_OK);
			assert_int_equal(v.len, CHUNK);
			fill_value(want, r, i);
			if (memcmp(v.data, want, CHUNK) != 0)
				fail_msg("%s: data differs", key);
		}
	store_read_end(txn);

	/* The grown map persists: a reopen with 1 MiB asked for still reads it all. */
	store_close(fx->st);
	fx->st = unit_store_open(fx->dir, MIB);
	assert_int_equal(store_db_stat(fx->st, DB_MESSAGE, &stat), STORE_OK);
	assert_int_equal(stat.entries, WRITES * PER_WRITE);
	assert_true(stat.map_size >= (uint64_t)WRITES * PER_WRITE * CHUNK);
}

/* ---- records ---------------------------------------------------------------- */

/* Every shorter prefix of an encoded record must be refused. */
#define CHECK_TRUNCATED(decode, buf, n, type)                                                      \
	do {                                                                                       \
		for (size_t cut = 0; cut < (n); cut++) {                                           \
			type tmp;                                                                  \
			if (decode((buf), cut, &tmp) != -1)                                        \
				fail_msg(#decode ": %zu of %zu bytes accepted", cut, (size_t)(n)); \
		}                                                                                  \
	} while (0)

/* A version byte other than 1 must be refused. */
#define CHECK_VERSIONS(decode, buf, n, type)                                       \
	do {                                                                       \
		static const uint8_t bad[] = {0, 2, 0xff};                         \
		for (size_t b = 0; b < sizeof(bad); b++) {                         \
			type tmp;                                                  \
			uint8_t copy[RECORD_MAX];                                  \
			memcpy(copy, (buf), (n));                                  \
			copy[0] = bad[b];                                          \
			if (decode(copy, (n), &tmp) != -1)                         \
				fail_msg(#decode ": version %u accepted", bad[b]); \
		}                                                                  \
	} while (0)

static void
test_rec_suppress(void **state)
{
	struct suppress_rec in = {.reason = SR_COMPLAINT,
				  .created = 1795525500,
				  .updated = -1,
				  .expires = INT64_MAX},
			    out;
	uint8_t buf[RECORD_MAX];
	size_t n;

	(void)state;
	snprintf(in.note, sizeof(in.note), "fbl report from example.net");
	n = rec_suppress_encode(&in, buf, sizeof(buf));
	assert_int_equal(n, 1 + 1 + 8 * 3 + strlen(in.note) + 1);
	assert_int_equal(buf[0], 1);
	memset(&out, 0x55, sizeof(out));
	assert_int_equal(rec_suppress_decode(buf, n, &out), 0);
	assert_int_equal(out.reason, SR_COMPLAINT);
	assert_int_equal(out.created, 1795525500);
	assert_int_equal(out.updated, -1);
	assert_int_equal(out.expires, INT64_MAX);
	assert_string_equal(out.note, in.note);
	/* Integers are little-endian on disk. */
	assert_int_equal(buf[2], 1795525500 & 0xff);
	assert_int_equal(buf[3], (1795525500 >> 8) & 0xff);
	CHECK_TRUNCATED(rec_suppress_decode, buf, n, struct suppress_rec);
	CHECK_VERSIONS(rec_suppress_decode, buf, n, struct suppress_rec);
	/* Too small a buffer: nothing encoded. */
	assert_int_equal(rec_suppress_encode(&in, buf, n - 1), 0);
	assert_int_equal(rec_suppress_encode(&in, buf, n), n);

	/* The longest note round-trips. */
	memset(in.note, 'n', sizeof(in.note) - 1);
	in.note[sizeof(in.note) - 1] = '\0';
	n = rec_suppress_encode(&in, buf, sizeof(buf));
	assert_int_not_equal(n, 0);
	assert_int_equal(rec_suppress_decode(buf, n, &out), 0);
	assert_string_equal(out.note, in.note);
}

static void
test_rec_account(void **state)
{
	struct account_rec in = {.state = AS_PAUSED, .created = 1000, .since = 2000}, out;
	uint8_t buf[RECORD_MAX];
	size_t n;

	(void)state;
	snprintf(in.reason, sizeof(in.reason), "bounce rate 12%% over 1h");
	snprintf(in.by, sizeof(in.by), "rule:bounce-rate");
	n = rec_account_encode(&in, buf, sizeof(buf));
	assert_int_equal(n, 1 + 1 + 16 + strlen(in.reason) + 1 + strlen(in.by) + 1);
	assert_int_equal(rec_account_decode(buf, n, &out), 0);
	assert_int_equal(out.state, AS_PAUSED);
	assert_int_equal(out.created, 1000);
	assert_int_equal(out.since, 2000);
	assert_string_equal(out.reason, "bounce rate 12% over 1h");
	assert_string_equal(out.by, "rule:bounce-rate");
	CHECK_TRUNCATED(rec_account_decode, buf, n, struct account_rec);
	CHECK_VERSIONS(rec_account_decode, buf, n, struct account_rec);
	/* An unknown state is refused. */
	buf[1] = AS_PAUSED + 1;
	assert_int_equal(rec_account_decode(buf, n, &out), -1);
	assert_int_equal(rec_account_encode(&in, buf, 10), 0);
}

static void
test_rec_history(void **state)
{
	struct history_rec in = {.from = AS_ACTIVE, .to = AS_REVIEW, .when = 1795525500}, out;
	uint8_t buf[RECORD_MAX];
	size_t n;

	(void)state;
	snprintf(in.by, sizeof(in.by), "operator:root");
	n = rec_history_encode(&in, buf, sizeof(buf));
	assert_int_equal(n, 1 + 2 + 8 + strlen(in.by) + 1 + 1);
	assert_int_equal(rec_history_decode(buf, n, &out), 0);
	assert_int_equal(out.from, AS_ACTIVE);
	assert_int_equal(out.to, AS_REVIEW);
	assert_int_equal(out.when, 1795525500);
	assert_string_equal(out.by, "operator:root");
	assert_string_equal(out.reason, "");
	CHECK_TRUNCATED(rec_history_decode, buf, n, struct history_rec);
	CHECK_VERSIONS(rec_history_decode, buf, n, struct history_rec);
}

static void
test_rec_message(void **state)
{
	struct message_rec in = {.when = 1795525500,
				 .recipients = 0xfffffffe,
				 .door = DOOR_MILTER,
				 .flags = MSG_HELD},
			   out;
	uint8_t buf[RECORD_MAX];
	size_t n;

	(void)state;
	snprintf(in.account, sizeof(in.account), "acme");
	n = rec_message_encode(&in, buf, sizeof(buf));
	assert_int_equal(n, 1 + 8 + 4 + 1 + 1 + 5);
	assert_int_equal(rec_message_decode(buf, n, &out), 0);
	assert_int_equal(out.when, 1795525500);
	assert_int_equal(out.recipients, 0xfffffffe);
	assert_int_equal(out.door, DOOR_MILTER);
	assert_int_equal(out.flags, MSG_HELD);
	assert_string_equal(out.account, "acme");
	CHECK_TRUNCATED(rec_message_decode, buf, n, struct message_rec);
	CHECK_VERSIONS(rec_message_decode, buf, n, struct message_rec);
	assert_int_equal(rec_message_decode(NULL, 0, &out), -1);
}

static void
test_rec_names(void **state)
{
	static const struct {
		int v;
		const char *name;
	} reasons[] = {{SR_BOUNCE, "bounce"},
		       {SR_COMPLAINT, "complaint"},
		       {SR_MANUAL, "manual"},
		       {SR_UNSUBSCRIBE, "unsubscribe"}},
	  states[] = {{AS_ACTIVE, "active"}, {AS_REVIEW, "review"}, {AS_PAUSED, "paused"}};

	(void)state;
	for (size_t i = 0; i < N(reasons); i++) {
		assert_string_equal(suppress_reason_name(reasons[i].v), reasons[i].name);
		assert_int_equal(suppress_reason_parse(reasons[i].name), reasons[i].v);
	}
	assert_string_equal(suppress_reason_name(0), "unknown");
	assert_string_equal(suppress_reason_name(5), "unknown");
	assert_int_equal(suppress_reason_parse("Bounce"), -1);
	assert_int_equal(suppress_reason_parse(""), -1);
	for (size_t i = 0; i < N(states); i++) {
		assert_string_equal(account_state_name(states[i].v), states[i].name);
		assert_int_equal(account_state_parse(states[i].name), states[i].v);
	}
	assert_string_equal(account_state_name(3), "unknown");
	assert_string_equal(account_state_name(-1), "unknown");
	assert_int_equal(account_state_parse("suspended"), -1);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, unit_store_setup, unit_store_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_open_create),
	    T(test_put_get_del),
	    T(test_key_limits),
	    T(test_write_abort),
	    T(test_read_snapshot),
	    T(test_reopen_readonly),
	    T(test_scan_table),
	    T(test_map_full_growth),
	    cmocka_unit_test(test_rec_suppress),
	    cmocka_unit_test(test_rec_account),
	    cmocka_unit_test(test_rec_history),
	    cmocka_unit_test(test_rec_message),
	    cmocka_unit_test(test_rec_names),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
