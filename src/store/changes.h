/*
 * changes -- change capture: the store's own record of what this node changed,
 * for the fleet (the cluster process pushes it to Redis, see cluster/cluster.h).
 *
 * Replication hooks in below the store_* interface: when the store carries a
 * node name (DB_META "cluster_node", written by outpostd at start when the
 * config has a cluster section, and by outpostctl), every store_put() and
 * store_del() on a replicated database is captured, whoever the writer is
 * (outpostctl, the feedback process, a policy worker auto-creating an account,
 * the HTTP API).  Replicated: DB_SUPPRESS, DB_ACCOUNT, DB_ACCTSET, DB_HISTORY,
 * DB_IDENTITY.  Without the node name nothing is captured: one lookup at open.
 *
 * One write transaction's captured operations become one or more change
 * records in DB_OUTBOX, written in the same transaction as the change itself:
 * a change and its outbox entry commit together or not at all.  A record
 * holds at most CHANGE_MAX_OPS operations (a bulk import becomes several).
 *
 * Change record (DB_OUTBOX value, and the "rec" field of a stream entry):
 *   u8  version (1)
 *   str origin node
 *   i64 seq     per-node sequence, strictly increasing, unique
 *   i64 clock   the change's timestamp for the conflict rule (microseconds;
 *               a hybrid clock: wall clock, bumped past every timestamp this
 *               node has written or applied, so a later change always wins)
 *   i64 ts      wall clock in microseconds when the change was made
 *   u32 nops, then per operation:
 *     u8  db    wire code: 'S' suppress, 'A' account, 'T' account setting,
 *               'H' history, 'I' identity mapping
 *     u8  op    'P' put, 'D' delete
 *     u16 klen, key bytes; u32 vlen, value bytes (the record as stored)
 *     for 'D': i64 seen_clock, str seen_node: the version of the entry the
 *               deleter saw (what "a concurrent add" is measured against)
 * Integers little-endian; strings NUL-terminated.
 *
 * Versions (DB_REPL, key: wire code + record key): the (clock, node) of the
 * last write of each replicated key, with a tombstone flag for deletes; see
 * cluster/apply.h for the conflict rule that compares them.
 */
#ifndef OUTPOST_CHANGES_H
#define OUTPOST_CHANGES_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define CHANGE_VERSION 1
#define CHANGE_MAX_OPS 1000
#define CHANGE_NODE_MAX 64
#define CHANGE_NODE_KEY "cluster_node"
#define CHANGE_CLOCK_KEY "cluster_clock"
#define CHANGE_PUBLISHED_KEY "cluster_published"

/* A version: who wrote a key last, and when (CLOCK 0: never). */
struct change_ver {
	int64_t clock;
	char node[CHANGE_NODE_MAX];
	int deleted;	    /* a tombstone */
	int64_t seen_clock; /* tombstone: the version the deleter saw */
	char seen_node[CHANGE_NODE_MAX];
};

struct change_op {
	uint8_t db; /* wire code */
	uint8_t op; /* 'P' or 'D' */
	const uint8_t *key;
	size_t klen;
	const uint8_t *val;
	size_t vlen;
	int64_t seen_clock; /* 'D' */
	char seen_node[CHANGE_NODE_MAX];
};

/* A decoded record: OPS point into the buffer it was decoded from. */
struct change {
	char node[CHANGE_NODE_MAX];
	int64_t seq, clock, ts;
	uint32_t nops;
	struct change_op *ops;
};

/* Wire code of DB (0: not replicated) and back (DB_COUNT: unknown code). */
uint8_t change_db_code(enum store_db db);
enum store_db change_db_of(uint8_t code);
/* "suppress.put", "account.del", ... for logs and the stream's "type" field. */
const char *change_op_type(uint8_t code, uint8_t op, char *buf, size_t len);

/* Decode DATA into C (C->ops allocated; change_free() releases).  -1 if malformed. */
int change_decode(const void *data, size_t len, struct change *c);
void change_free(struct change *c);

/* Compare versions (clock, then node): <0, 0, >0. */
int change_ver_cmp(int64_t a_clock, const char *a_node, int64_t b_clock, const char *b_node);
/* Read the version of (DB, KEY); an absent one has clock 0.  STORE_OK or STORE_ERR. */
int change_ver_get(struct store_txn *txn, enum store_db db, const void *key, size_t klen,
		   struct change_ver *v);
int change_ver_put(struct store_txn *txn, enum store_db db, const void *key, size_t klen,
		   const struct change_ver *v);

/* The hybrid clock: raise it to at least CLOCK (an applied change's timestamp). */
int change_clock_witness(struct store_txn *txn, int64_t clock);

/* Set (NODE) or clear (NULL) the store's node name: capture on or off for every opener. */
int change_mark_node(struct store *st, const char *node);

/*
 * Grouping: operations of one version (CLOCK, NODE) become change records of at
 * most MAX_OPS operations, handed to EMIT (non-zero stops and is returned).
 * Records are numbered from FIRST_SEQ up, or all 0 when FIRST_SEQ is 0 (a
 * snapshot's records, which apply_snapshot_change takes without the seq check).
 * Each op is copied: its memory may go after change_group_add returns.
 */
typedef int (*change_emit_fn)(const void *rec, size_t len, void *arg);
struct change_group;
struct change_group *change_group_create(size_t max_ops, int64_t first_seq, change_emit_fn emit,
					 void *arg);
int change_group_add(struct change_group *g, int64_t clock, const char *node,
		     const struct change_op *op);
int change_group_flush(struct change_group *g);
void change_group_destroy(struct change_group *g);

/*
 * Publish, once, what the store held before it joined a fleet: every entry of a
 * replicated database without a version (written while capture was off) goes to
 * DB_OUTBOX with its own time as its clock (the record's updated/since/when; 1 when
 * it has none, older than anything the fleet wrote) and gets that version, so the
 * conflict rule decides against the fleet's data.  Then DB_META "cluster_published"
 * is set (cleared by change_mark_node(NULL)): later calls do nothing.  *N_R: how
 * many entries were published.  STORE_OK or STORE_ERR.
 */
int change_publish_existing(struct store *st, const char *node, uint64_t *n_r);

/* Internal to the store: the capture buffer of one write transaction. */
struct change_buf;
struct change_buf *change_buf_create(const char *node);
void change_buf_destroy(struct change_buf *b);
/* Record one put (VAL) or delete (VAL NULL) of a replicated DB; writes its version. */
int change_buf_add(struct change_buf *b, struct store_txn *txn, enum store_db db, const void *key,
		   size_t klen, const void *val, size_t vlen);
/* Write the buffered operations as change records into DB_OUTBOX. */
int change_buf_flush(struct change_buf *b, struct store_txn *txn);

#endif
