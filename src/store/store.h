/*
 * store -- the one LMDB environment that holds all of Outpost's state.
 *
 * Named databases (enum store_db) hold fixed binary records, each starting
 * with a version byte; their layouts are in records.h.  Every process opens
 * the environment itself, after fork.  Readers never block.  Writers run a
 * callback inside one write transaction: store_write() grows the map and
 * re-runs the callback when LMDB reports MAP_FULL, so callbacks must do
 * nothing but reads and writes of the store (no I/O, no logging, no DNS).
 *
 * Return values: STORE_OK (0), STORE_NOTFOUND (1), STORE_ERR (-1; the reason
 * is in store_error()).  A callback may return any other value to abort the
 * transaction; store_write() then returns that value.
 */
#ifndef OUTPOST_STORE_H
#define OUTPOST_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_OK 0
#define STORE_NOTFOUND 1
#define STORE_ERR (-1)

enum store_db {
	DB_META,     /* schema version, small singletons */
	DB_SUPPRESS, /* scope \0 target -> suppress record */
	DB_ACCOUNT,  /* name -> account record */
	DB_ACCTSET,  /* name \0 setting -> value text */
	DB_HISTORY,  /* name \0 be64 time_us -> state change record */
	DB_IDENTITY, /* "type:value" -> account name */
	DB_MESSAGE,  /* queue id -> message record */
	DB_RESULT,   /* queue id \0 recipient \0 be64 message time -> final result (dedup) */
	DB_STATS,    /* account \0 be32 hour -> delivery counters of that hour */
	DB_TOKEN,    /* SHA-256 of an API token (32 bytes) -> token record */
	DB_OUTBOX,   /* be64 seq -> change record not yet in the fleet's log (changes.h) */
	DB_REPL,     /* wire code + key -> version of a replicated record (changes.h) */
	DB_SFILTER,  /* the suppression list's Bloom filter (sfilter.h), kept by store_put() */
	DB_COUNT
};

struct store;
struct store_txn;

struct store_opts {
	int64_t map_size; /* initial map size in bytes */
	int max_readers;
	int readonly;
	int create; /* create the directory if missing */
};

/* Open (and create) the environment in DIR.  NULL on failure, with ERR filled. */
struct store *store_open(const char *dir, const struct store_opts *opts, char *err, size_t errlen);
void store_close(struct store *st);
/* Text of the last error on this handle. */
const char *store_error(const struct store *st);
const char *store_path(const struct store *st);

/* A read snapshot; cheap (recycled).  Thread-safe. */
int store_read_begin(struct store *st, struct store_txn **txn_r);
void store_read_end(struct store_txn *txn);

typedef int (*store_write_fn)(struct store_txn *txn, void *arg);
/* Run FN in a write transaction and commit it (durable on return). */
int store_write(struct store *st, store_write_fn fn, void *arg);
/*
 * Change capture (changes.h): with a node name, puts and deletes of the
 * replicated databases are recorded in DB_OUTBOX, in the same transaction.
 * store_open() turns it on when the store carries a node name.
 */
const char *store_capture_node(const struct store *st); /* NULL: capture off */
/* In a write callback: record nothing of this transaction (applying others' changes). */
void store_txn_nocapture(struct store_txn *txn);

/* Flush to disk (after a batch written with STORE_NOSYNC, see store_set_nosync). */
int store_sync(struct store *st);
/* Turn per-commit fsync off (bulk import) or back on. */
void store_set_nosync(struct store *st, int on);

struct store_val {
	const void *data;
	size_t len;
};

int store_get(struct store_txn *txn, enum store_db db, const void *key, size_t klen,
	      struct store_val *val_r);
int store_put(struct store_txn *txn, enum store_db db, const void *key, size_t klen,
	      const void *val, size_t vlen);
/* STORE_NOTFOUND when the key was absent. */
int store_del(struct store_txn *txn, enum store_db db, const void *key, size_t klen);

/*
 * Call FN for each record whose key starts with PREFIX, in key order,
 * beginning at START if given (a key >= START; START must carry the prefix).
 * FN returns 0 to go on, non-zero to stop; that value is returned.
 */
typedef int (*store_scan_fn)(const struct store_val *key, const struct store_val *val, void *arg);
int store_scan(struct store_txn *txn, enum store_db db, const void *prefix, size_t plen,
	       const void *start, size_t slen, store_scan_fn fn, void *arg);

/* In a transaction: the number of records in DB. */
int store_entries(struct store_txn *txn, enum store_db db, uint64_t *n_r);
/* In a write transaction: delete every record of DB. */
int store_drop(struct store_txn *txn, enum store_db db);
/* In a write transaction: mark the store as needing this code (older code refuses to write). */
int store_schema_raise(struct store_txn *txn);

struct store_stat {
	uint64_t entries;
	uint64_t map_size;
	uint64_t used_bytes;
};
int store_db_stat(struct store *st, enum store_db db, struct store_stat *stat_r);
/* Name of DB ("suppress", "account", ...). */
const char *store_db_name(enum store_db db);

/*
 * A consistent, compacted copy of the whole environment into DIR (created,
 * mode 0700; it must not exist yet), taken from one read snapshot while
 * writers go on.  STORE_ERR with the reason in store_error().
 */
int store_backup(struct store *st, const char *dir);

#endif
