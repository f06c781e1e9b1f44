/*
 * store -- LMDB environment, transactions, map growth; see store.h.
 *
 * The environment is opened with MDB_NOTLS so read transactions belong to
 * the txn handle rather than the thread (libmilter moves callbacks between
 * threads), and recycled read handles are kept on a small free list.
 */
#include "config.h"

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "changes.h"
#include "sfilter.h"
#include "store.h"
#include "util/xalloc.h"

/* 2: DB_SFILTER, which every writer of DB_SUPPRESS must keep (sfilter.h). */
#define STORE_SCHEMA_VERSION 2
#define FREE_TXNS 16
#define STORE_FULL_BYTES (256 * 1024) /* less free than this: a short write means full */

static const char *const db_names[DB_COUNT] = {
    "meta",   "suppress", "account", "acctset", "history", "identity", "message",
    "result", "stats",	  "token",   "outbox",	"repl",	   "sfilter",
};
/* Databases added after the first release: an old store opened read-only may lack them. */
#define DB_FIRST_OPTIONAL DB_OUTBOX

struct store_txn {
	struct store *st;
	MDB_txn *txn;
	int failed_rc; /* the LMDB code of a failed put/del, so store_write() can grow on MAP_FULL
			*/
	int nocapture;
	struct change_buf *cap; /* this write transaction's captured changes */
};

struct store {
	MDB_env *env;
	MDB_dbi dbi[DB_COUNT];
	char *path;
	int readonly;
	int absent[DB_COUNT]; /* optional database missing from a read-only store */
	char *node;	      /* change capture on: this node's name */
	pthread_mutex_t lock; /* guards free[] and err */
	struct store_txn *free[FREE_TXNS];
	int nfree;
	char err[256];
};

/* LMDB reports a short write as EIO: on a full file system, say so. */
static const char *
store_strerror(const struct store *st, int rc)
{
	struct statvfs sv;

	if (rc == EIO && statvfs(st->path, &sv) == 0 &&
	    (uint64_t)sv.f_bavail * sv.f_frsize < STORE_FULL_BYTES)
		return "No space left on device (the store's file system is full)";
	return mdb_strerror(rc);
}

static int
store_fail(struct store *st, const char *what, int rc)
{
	pthread_mutex_lock(&st->lock);
	snprintf(st->err, sizeof(st->err), "%s: %s: %s", st->path, what, store_strerror(st, rc));
	pthread_mutex_unlock(&st->lock);
	return STORE_ERR;
}

const char *
store_error(const struct store *st)
{
	return st->err;
}

const char *
store_path(const struct store *st)
{
	return st->path;
}

/* Make the files root created take the directory's owner, so the daemon is never locked out. */
static void
store_fix_owner(const char *dir)
{
	struct stat sb;
	char file[4096];

	if (geteuid() != 0 || stat(dir, &sb) < 0 || sb.st_uid == 0)
		return;
	for (int i = 0; i < 2; i++) {
		snprintf(file, sizeof(file), "%s/%s", dir, i ? "lock.mdb" : "data.mdb");
		if (chown(file, sb.st_uid, sb.st_gid) < 0 && errno != ENOENT)
			continue;
		chmod(file, 0660);
	}
}

/* Turn change capture on if the store carries a node name (changes.h). */
static void
store_capture_load(struct store *st, MDB_txn *txn)
{
	MDB_val k = {strlen(CHANGE_NODE_KEY), CHANGE_NODE_KEY}, v;

	if (mdb_get(txn, st->dbi[DB_META], &k, &v) == 0 && v.mv_size > 0 &&
	    v.mv_size < CHANGE_NODE_MAX)
		st->node = xstrndup(v.mv_data, v.mv_size);
}

const char *
store_capture_node(const struct store *st)
{
	return st->node;
}

void
store_txn_nocapture(struct store_txn *t)
{
	t->nocapture = 1;
}

/* Adopt a map size another process grew to. */
static int
store_adopt_mapsize(struct store *st)
{
	return mdb_env_set_mapsize(st->env, 0);
}

/* Open all named databases, creating them (and the version record) if writable. */
static int
store_open_dbs(struct store *st, char *err, size_t errlen)
{
	MDB_txn *txn;
	int rc;

	rc = mdb_txn_begin(st->env, NULL, st->readonly ? MDB_RDONLY : 0, &txn);
	if (rc == MDB_MAP_RESIZED && store_adopt_mapsize(st) == 0) /* grown since our open */
		rc = mdb_txn_begin(st->env, NULL, st->readonly ? MDB_RDONLY : 0, &txn);
	if (rc != 0)
		goto fail;
	for (int i = 0; i < DB_COUNT; i++) {
		rc = mdb_dbi_open(txn, db_names[i], st->readonly ? 0 : MDB_CREATE, &st->dbi[i]);
		if (rc == MDB_NOTFOUND && st->readonly && i >= DB_FIRST_OPTIONAL) {
			st->absent[i] = 1;
			continue;
		}
		if (rc == MDB_NOTFOUND && st->readonly) {
			mdb_txn_abort(txn);
			snprintf(err, errlen, "%s: not an Outpost store (no '%s' database)",
				 st->path, db_names[i]);
			return -1;
		}
		if (rc != 0) {
			mdb_txn_abort(txn);
			goto fail;
		}
	}
	if (!st->readonly) {
		MDB_val k = {7, "version"}, v;
		uint8_t ver = STORE_SCHEMA_VERSION;
		if (mdb_get(txn, st->dbi[DB_META], &k, &v) == MDB_NOTFOUND) {
			v.mv_size = 1;
			v.mv_data = &ver;
			mdb_put(txn, st->dbi[DB_META], &k, &v, 0);
		} else if (v.mv_size != 1 || *(uint8_t *)v.mv_data > STORE_SCHEMA_VERSION) {
			mdb_txn_abort(txn);
			snprintf(err, errlen, "%s: store written by a newer Outpost (schema %d)",
				 st->path, v.mv_size ? *(uint8_t *)v.mv_data : -1);
			return -1;
		}
	}
	store_capture_load(st, txn);
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", st->path, mdb_strerror(rc));
	return -1;
}

static int
sfilter_present(struct store *st)
{
	struct store_txn *t;
	struct sfilter_info info;
	int rc;

	if (store_read_begin(st, &t) != STORE_OK)
		return 0;
	rc = sfilter_info(t, &info);
	store_read_end(t);
	return rc == STORE_OK;
}

/* A store from before the filter (or a new one) gets it on its first writable open. */
static int
sfilter_build_missing(struct store_txn *txn, void *arg)
{
	struct sfilter_info info;
	int rc = sfilter_info(txn, &info);

	(void)arg;
	return rc == STORE_NOTFOUND ? sfilter_build(txn) : rc;
}

struct store *
store_open(const char *dir, const struct store_opts *opts, char *err, size_t errlen)
{
	struct store *st = xcalloc(1, sizeof(*st));
	unsigned flags = MDB_NOTLS | (opts->readonly ? MDB_RDONLY : 0);
	int rc, dead;

	st->path = xstrdup(dir);
	st->readonly = opts->readonly;
	pthread_mutex_init(&st->lock, NULL);
	if (opts->create && mkdir(dir, 02770) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create store directory: %s", dir,
			 strerror(errno));
		goto fail;
	}
	if ((rc = mdb_env_create(&st->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(st->env, DB_COUNT + 4)) != 0 ||
	    (rc = mdb_env_set_maxreaders(st->env, (unsigned)opts->max_readers)) != 0 ||
	    (rc = mdb_env_set_mapsize(st->env, (size_t)opts->map_size)) != 0) {
		snprintf(err, errlen, "%s: %s", dir, mdb_strerror(rc));
		goto fail;
	}
	if ((rc = mdb_env_open(st->env, dir, flags, 0660)) != 0) {
		snprintf(err, errlen, "%s: cannot open store: %s", dir, mdb_strerror(rc));
		goto fail;
	}
	store_fix_owner(dir);
	mdb_reader_check(st->env, &dead); /* clear slots of processes that died */
	if (store_open_dbs(st, err, errlen) < 0)
		goto fail;
	if (!st->readonly && !sfilter_present(st) &&
	    store_write(st, sfilter_build_missing, NULL) != STORE_OK) {
		snprintf(err, errlen, "%s", st->err);
		goto fail;
	}
	return st;
fail:
	store_close(st);
	return NULL;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < st->nfree; i++) {
		mdb_txn_abort(st->free[i]->txn);
		free(st->free[i]);
	}
	if (st->env)
		mdb_env_close(st->env);
	pthread_mutex_destroy(&st->lock);
	free(st->node);
	free(st->path);
	free(st);
}

/*
 * Begin a read transaction; adopt a map another process grew, and free the
 * slots of readers that died (kill -9) when the reader table is full.
 */
static int
store_read_txn(struct store *st, MDB_txn **txn_r)
{
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn_r), dead = 0;

	if (rc == MDB_MAP_RESIZED && store_adopt_mapsize(st) == 0)
		rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn_r);
	if (rc == MDB_READERS_FULL && mdb_reader_check(st->env, &dead) == 0 && dead > 0)
		rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn_r);
	return rc;
}

int
store_read_begin(struct store *st, struct store_txn **txn_r)
{
	struct store_txn *t = NULL;
	int rc;

	pthread_mutex_lock(&st->lock);
	if (st->nfree > 0)
		t = st->free[--st->nfree];
	pthread_mutex_unlock(&st->lock);
	if (t != NULL) {
		rc = mdb_txn_renew(t->txn);
		if (rc == 0) {
			*txn_r = t;
			return STORE_OK;
		}
		mdb_txn_abort(t->txn);
	} else {
		t = xcalloc(1, sizeof(*t));
		t->st = st;
	}
	rc = store_read_txn(st, &t->txn);
	if (rc != 0) {
		free(t);
		return store_fail(st, "read transaction", rc);
	}
	*txn_r = t;
	return STORE_OK;
}

void
store_read_end(struct store_txn *t)
{
	struct store *st;

	if (t == NULL)
		return;
	st = t->st;
	mdb_txn_reset(t->txn);
	pthread_mutex_lock(&st->lock);
	if (st->nfree < FREE_TXNS) {
		st->free[st->nfree++] = t;
		t = NULL;
	}
	pthread_mutex_unlock(&st->lock);
	if (t != NULL) {
		mdb_txn_abort(t->txn);
		free(t);
	}
}

/* Double the map after MAP_FULL; no transaction of ours may be active. */
static int
store_grow(struct store *st)
{
	MDB_envinfo info;

	mdb_env_info(st->env, &info);
	return mdb_env_set_mapsize(st->env, info.me_mapsize * 2);
}

int
store_write(struct store *st, store_write_fn fn, void *arg)
{
	struct store_txn t = {st, NULL, 0, 0, NULL};
	int rc, r;

	if (st->readonly) {
		snprintf(st->err, sizeof(st->err), "%s: store opened read-only", st->path);
		return STORE_ERR;
	}
	for (int attempt = 0; attempt < 32; attempt++) {
		rc = mdb_txn_begin(st->env, NULL, 0, &t.txn);
		if (rc == MDB_MAP_RESIZED && store_adopt_mapsize(st) == 0)
			rc = mdb_txn_begin(st->env, NULL, 0, &t.txn);
		if (rc != 0)
			return store_fail(st, "write transaction", rc);
		r = fn(&t, arg);
		if (r == STORE_OK && t.cap != NULL)
			r = change_buf_flush(t.cap, &t);
		change_buf_destroy(t.cap);
		t.cap = NULL;
		t.nocapture = 0;
		if (r == STORE_OK)
			rc = mdb_txn_commit(t.txn);
		else {
			rc = t.failed_rc;
			mdb_txn_abort(t.txn);
			if (rc != MDB_MAP_FULL)
				return r;
		}
		if (rc == 0)
			return STORE_OK;
		if (rc != MDB_MAP_FULL || store_grow(st) != 0)
			return store_fail(st, "commit", rc);
		t.failed_rc = 0;
	}
	return store_fail(st, "commit", MDB_MAP_FULL);
}

int
store_sync(struct store *st)
{
	int rc = mdb_env_sync(st->env, 1);

	return rc ? store_fail(st, "sync", rc) : STORE_OK;
}

void
store_set_nosync(struct store *st, int on)
{
	mdb_env_set_flags(st->env, MDB_NOSYNC, on);
}

int
store_get(struct store_txn *t, enum store_db db, const void *key, size_t klen,
	  struct store_val *val_r)
{
	MDB_val k = {klen, (void *)key}, v;
	int rc;

	if (klen == 0 || klen > 511 || t->st->absent[db])
		return STORE_NOTFOUND;
	rc = mdb_get(t->txn, t->st->dbi[db], &k, &v);
	if (rc == MDB_NOTFOUND)
		return STORE_NOTFOUND;
	if (rc != 0)
		return store_fail(t->st, "get", rc);
	val_r->data = v.mv_data;
	val_r->len = v.mv_size;
	return STORE_OK;
}

/* Record a put (VAL) or delete of a replicated database when capture is on. */
static int
store_capture(struct store_txn *t, enum store_db db, const void *key, size_t klen, const void *val,
	      size_t vlen)
{
	if (t->st->node == NULL || t->nocapture || change_db_code(db) == 0)
		return STORE_OK;
	if (t->cap == NULL)
		t->cap = change_buf_create(t->st->node);
	return change_buf_add(t->cap, t, db, key, klen, val, vlen);
}

int
store_put(struct store_txn *t, enum store_db db, const void *key, size_t klen, const void *val,
	  size_t vlen)
{
	MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
	int rc;

	if (klen == 0 || klen > 511) {
		snprintf(t->st->err, sizeof(t->st->err), "key of %zu bytes out of range", klen);
		return STORE_ERR;
	}
	rc = mdb_put(t->txn, t->st->dbi[db], &k, &v, 0);
	if (rc != 0) {
		t->failed_rc = rc;
		return store_fail(t->st, "put", rc);
	}
	if (db == DB_SUPPRESS && (rc = sfilter_note_put(t, key, klen)) != STORE_OK)
		return rc;
	return store_capture(t, db, key, klen, val, vlen);
}

int
store_del(struct store_txn *t, enum store_db db, const void *key, size_t klen)
{
	MDB_val k = {klen, (void *)key};
	int rc;

	if (klen == 0 || klen > 511)
		return STORE_NOTFOUND;
	rc = mdb_del(t->txn, t->st->dbi[db], &k, NULL);
	if (rc == MDB_NOTFOUND)
		return STORE_NOTFOUND;
	if (rc != 0) {
		t->failed_rc = rc;
		return store_fail(t->st, "delete", rc);
	}
	if (db == DB_SUPPRESS && (rc = sfilter_note_del(t)) != STORE_OK)
		return rc;
	return store_capture(t, db, key, klen, NULL, 0);
}

int
store_entries(struct store_txn *t, enum store_db db, uint64_t *n_r)
{
	MDB_stat ms;
	int rc;

	*n_r = 0;
	if (t->st->absent[db])
		return STORE_OK;
	if ((rc = mdb_stat(t->txn, t->st->dbi[db], &ms)) != 0)
		return store_fail(t->st, "stat", rc);
	*n_r = ms.ms_entries;
	return STORE_OK;
}

int
store_drop(struct store_txn *t, enum store_db db)
{
	int rc = mdb_drop(t->txn, t->st->dbi[db], 0);

	if (rc != 0) {
		t->failed_rc = rc;
		return store_fail(t->st, "drop", rc);
	}
	return STORE_OK;
}

int
store_schema_raise(struct store_txn *t)
{
	MDB_val k = {7, "version"}, v;
	uint8_t ver = STORE_SCHEMA_VERSION;
	int rc = mdb_get(t->txn, t->st->dbi[DB_META], &k, &v);

	if (rc == 0 && v.mv_size == 1 && *(uint8_t *)v.mv_data >= ver)
		return STORE_OK;
	v.mv_size = 1;
	v.mv_data = &ver;
	if ((rc = mdb_put(t->txn, t->st->dbi[DB_META], &k, &v, 0)) != 0) {
		t->failed_rc = rc;
		return store_fail(t->st, "put", rc);
	}
	return STORE_OK;
}

int
store_scan(struct store_txn *t, enum store_db db, const void *prefix, size_t plen,
	   const void *start, size_t slen, store_scan_fn fn, void *arg)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, r = 0;

	if (t->st->absent[db])
		return 0;
	if ((rc = mdb_cursor_open(t->txn, t->st->dbi[db], &cur)) != 0)
		return store_fail(t->st, "cursor", rc);
	k.mv_data = (void *)(slen ? start : prefix);
	k.mv_size = slen ? slen : plen;
	rc = k.mv_size ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
		       : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0) {
		if (plen && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0))
			break; /* (memcmp must not see a NULL prefix, even of length 0) */
		struct store_val kv = {k.mv_data, k.mv_size}, vv = {v.mv_data, v.mv_size};
		if ((r = fn(&kv, &vv, arg)) != 0)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND && r == 0)
		return store_fail(t->st, "scan", rc);
	return r;
}

int
store_db_stat(struct store *st, enum store_db db, struct store_stat *stat_r)
{
	struct store_txn *t;
	MDB_stat ms;
	MDB_envinfo info;
	int rc;

	if (store_read_begin(st, &t) != STORE_OK)
		return STORE_ERR;
	memset(&ms, 0, sizeof(ms));
	rc = st->absent[db] ? 0 : mdb_stat(t->txn, st->dbi[db], &ms);
	mdb_env_info(st->env, &info);
	store_read_end(t);
	if (rc != 0)
		return store_fail(st, "stat", rc);
	stat_r->entries = ms.ms_entries;
	stat_r->map_size = info.me_mapsize;
	stat_r->used_bytes = (uint64_t)(info.me_last_pgno + 1) * ms.ms_psize;
	return STORE_OK;
}

int
store_backup(struct store *st, const char *dir)
{
	int rc;

	if (mkdir(dir, 0700) < 0) {
		snprintf(st->err, sizeof(st->err), "%s: %s", dir, strerror(errno));
		return STORE_ERR;
	}
	if ((rc = mdb_env_copy2(st->env, dir, MDB_CP_COMPACT)) != 0) {
		store_fail(st, "backup", rc);
		return STORE_ERR;
	}
	return STORE_OK;
}

const char *
store_db_name(enum store_db db)
{
	return db < DB_COUNT ? db_names[db] : "?";
}
