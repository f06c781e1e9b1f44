/* snapshot -- the replicated state as of a stream id, in Redis; see snapshot.h. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "cluster.h"
#include "redis_conn.h"
#include "snapshot.h"
#include "store/changes.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xalloc.h"

#define ID_MAX 48
#define SEEN_PREFIX "cluster_seen:"

/* The current snapshot as its manifest says. */
struct current {
	long long gen; /* 0: none */
	char id[ID_MAX];
	int64_t created_ms, chunks, records, xlen_after;
	char checksum[32];
	char seen[16384];
};

int
snapshot_id_cmp(const char *a, const char *b)
{
	unsigned long long am = 0, as = 0, bm = 0, bs = 0;

	sscanf(a, "%llu-%llu", &am, &as);
	sscanf(b, "%llu-%llu", &bm, &bs);
	if (am != bm)
		return am < bm ? -1 : 1;
	return as < bs ? -1 : as > bs;
}

/* FNV-1a 64: the manifest's checksum of the records in order. */
static uint64_t
fnv(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

#define FNV_START 14695981039346656037ULL

/* Run a command: its reply, or NULL (WHY) when the connection failed or Redis said ERR. */
static redisReply *
cmd(const struct snapshot_ctx *x, const char *what, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(x->rc, fmt, ap);
	va_end(ap);
	return redis_reply_error(x->rc, r, what, why, whylen) < 0 ? NULL : r;
}

/* cluster.key_prefix: every key below starts with it. */
static const char *
prefix(const struct snapshot_ctx *x)
{
	return x->conf->cluster.key_prefix;
}

/* One field of an HGETALL-like reply copied into BUF. */
static void
hash_field(const redisReply *h, const char *name, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2)
		if (h->element[i]->type == REDIS_REPLY_STRING &&
		    h->element[i + 1]->type == REDIS_REPLY_STRING &&
		    strcmp(h->element[i]->str, name) == 0)
			text_copy(buf, len, h->element[i + 1]->str);
}

/* Read the current snapshot's manifest into C (C->gen 0: none).  -1: connection failed. */
static int
current_read(const struct snapshot_ctx *x, struct current *c, char *why, size_t whylen)
{
	char buf[64];
	redisReply *r;

	memset(c, 0, sizeof(*c));
	if ((r = cmd(x, "GET snapshot", why, whylen, "GET %s:snapshot", prefix(x))) == NULL)
		return -1;
	if (r->type == REDIS_REPLY_STRING)
		c->gen = strtoll(r->str, NULL, 10);
	freeReplyObject(r);
	if (c->gen <= 0)
		return c->gen = 0;
	if ((r = cmd(x, "HGETALL manifest", why, whylen, "HGETALL %s:snapshot:%lld", prefix(x),
		     c->gen)) == NULL)
		return -1;
	hash_field(r, "id", c->id, sizeof(c->id));
	hash_field(r, "checksum", c->checksum, sizeof(c->checksum));
	hash_field(r, "seen", c->seen, sizeof(c->seen));
	hash_field(r, "created_ms", buf, sizeof(buf));
	c->created_ms = strtoll(buf, NULL, 10);
	hash_field(r, "chunks", buf, sizeof(buf));
	c->chunks = strtoll(buf, NULL, 10);
	hash_field(r, "records", buf, sizeof(buf));
	c->records = strtoll(buf, NULL, 10);
	hash_field(r, "xlen_after", buf, sizeof(buf));
	c->xlen_after = strtoll(buf, NULL, 10);
	freeReplyObject(r);
	if (c->id[0] == '\0')
		c->gen = 0; /* switched to but gone: as if none */
	return 0;
}

/* The stream's first entry id into ID ("" when empty).  -1: connection failed. */
static int
first_id(const struct snapshot_ctx *x, char *id, size_t len, char *why, size_t whylen)
{
	redisReply *r = cmd(x, "XRANGE", why, whylen, "XRANGE %s - + COUNT 1", x->stream);

	if (r == NULL)
		return -1;
	id[0] = '\0';
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2 &&
	    r->element[0]->element[0]->type == REDIS_REPLY_STRING)
		text_copy(id, len, r->element[0]->element[0]->str);
	freeReplyObject(r);
	return 0;
}

/* ---- writing ---- */

struct writer {
	const struct snapshot_ctx *x;
	struct store_txn *txn;
	struct change_group *g;
	long long gen;
	char **recs;
	size_t *lens;
	size_t n, bytes; /* records and bytes in the chunk being filled */
	int64_t chunks, records, ops, ttl_ms;
	uint64_t sum;
	enum store_db db;
	int failed; /* Redis failed: WHY says why */
	char why[512];
};

/* RPUSH the filled chunk (with an expiry until the switch). */
static int
chunk_push(struct writer *w)
{
	const char **argv = xcalloc(w->n + 2, sizeof(*argv));
	size_t *lens = xcalloc(w->n + 2, sizeof(*lens));
	char key[400];
	redisReply *r;

	if (w->n == 0)
		goto out;
	snprintf(key, sizeof(key), "%s:snapshot:%lld:%lld", prefix(w->x), w->gen,
		 (long long)w->chunks);
	argv[0] = "RPUSH";
	argv[1] = key;
	lens[0] = 5;
	lens[1] = strlen(key);
	for (size_t i = 0; i < w->n; i++) {
		argv[i + 2] = w->recs[i];
		lens[i + 2] = w->lens[i];
	}
	r = redisCommandArgv(w->x->rc, (int)w->n + 2, argv, lens);
	if (redis_reply_error(w->x->rc, r, "RPUSH snapshot", w->why, sizeof(w->why)) < 0)
		w->failed = 1;
	else
		freeReplyObject(r);
	if (!w->failed && (r = cmd(w->x, "PEXPIRE", w->why, sizeof(w->why), "PEXPIRE %s %lld", key,
				   (long long)w->ttl_ms)) == NULL)
		w->failed = 1;
	else if (!w->failed)
		freeReplyObject(r);
	w->chunks++;
out:
	for (size_t i = 0; i < w->n; i++)
		free(w->recs[i]);
	w->n = w->bytes = 0;
	free(argv);
	free(lens);
	return w->failed ? -1 : 0;
}

/* change_group's emit: one record into the chunk. */
static int
writer_emit(const void *rec, size_t len, void *arg)
{
	struct writer *w = arg;

	w->recs[w->n] = xmalloc(len);
	memcpy(w->recs[w->n], rec, len);
	w->lens[w->n++] = len;
	w->bytes += len;
	w->sum = fnv(w->sum, rec, len);
	w->records++;
	return w->n == SNAPSHOT_CHUNK || w->bytes >= SNAPSHOT_CHUNK_BYTES ? chunk_push(w) : 0;
}

/* A record of a replicated database, with its version (clock 1: none kept here). */
static int
put_one(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct writer *w = arg;
	struct change_ver ver;
	struct change_op op = {.db = change_db_code(w->db),
			       .op = 'P',
			       .key = k->data,
			       .klen = k->len,
			       .val = v->data,
			       .vlen = v->len};

	if (k->len == 0 || k->len > 510 ||
	    change_ver_get(w->txn, w->db, k->data, k->len, &ver) != 0)
		return 0;
	if (ver.clock == 0) {
		ver.clock = 1;
		text_copy(ver.node, sizeof(ver.node), w->x->conf->cluster.node);
	}
	w->ops++;
	return change_group_add(w->g, ver.clock, ver.node, &op);
}

/* A version in DB_REPL: a tombstone goes in as a delete. */
static int
tombstone_one(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct writer *w = arg;
	const uint8_t *key = k->data;
	enum store_db db;
	struct change_ver ver;
	struct change_op op = {0};

	if (k->len < 2 || (db = change_db_of(key[0])) == DB_COUNT ||
	    change_ver_get(w->txn, db, key + 1, k->len - 1, &ver) != 0 || !ver.deleted ||
	    ver.clock == 0)
		return 0;
	op = (struct change_op){key[0], 'D', key + 1, k->len - 1, NULL, 0, ver.seen_clock, ""};
	text_copy(op.seen_node, sizeof(op.seen_node), ver.seen_node);
	w->ops++;
	(void)v;
	return change_group_add(w->g, ver.clock, ver.node, &op);
}

/* Everything replicated, then the tombstones: 0, -1 (Redis failed), -2 (the store did). */
static int
writer_scan(struct writer *w)
{
	static const enum store_db dbs[] = {DB_ACCOUNT, DB_ACCTSET, DB_IDENTITY, DB_SUPPRESS,
					    DB_HISTORY};
	int rc = 0;

	w->g = change_group_create(SNAPSHOT_RECORD_OPS, 0, writer_emit, w);
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]) && rc == 0; i++) {
		w->db = dbs[i];
		rc = store_scan(w->txn, w->db, NULL, 0, NULL, 0, put_one, w);
	}
	if (rc == 0)
		rc = store_scan(w->txn, DB_REPL, NULL, 0, NULL, 0, tombstone_one, w);
	if (rc == 0)
		rc = change_group_flush(w->g);
	if (rc == 0)
		rc = chunk_push(w);
	change_group_destroy(w->g);
	if (rc != 0 && !w->failed) { /* the store, not Redis */
		snprintf(w->why, sizeof(w->why), "reading the store: %s", store_error(w->x->st));
		return -2;
	}
	return rc == 0 ? 0 : -1;
}

/* DB_META "cluster_seen:NODE" -> {NODE: seq}. */
static int
seen_one(const struct store_val *k, const struct store_val *v, void *arg)
{
	json_t *o = arg;
	char node[CHANGE_NODE_MAX];
	size_t pl = strlen(SEEN_PREFIX);
	int64_t seq = 0;

	if (k->len <= pl || k->len - pl >= sizeof(node) || v->len != 8)
		return 0;
	memcpy(node, (const char *)k->data + pl, k->len - pl);
	node[k->len - pl] = '\0';
	for (int i = 0; i < 8; i++)
		seq |= (int64_t)((const uint8_t *)v->data)[i] << (8 * i);
	json_object_set_new(o, node, json_integer((json_int_t)seq));
	return 0;
}

/* A string value of DB_META into BUF ("" when absent). */
static void
meta_get(struct store_txn *txn, const char *key, char *buf, size_t len)
{
	struct store_val v;

	buf[0] = '\0';
	if (store_get(txn, DB_META, key, strlen(key), &v) == STORE_OK && v.len < len) {
		memcpy(buf, v.data, v.len);
		buf[v.len] = '\0';
	}
}

/* HSET the manifest of W as of ID with SEEN. */
static int
manifest_write(struct writer *w, const char *id, const char *seen)
{
	char key[400], sum[32];
	redisReply *r;

	snprintf(key, sizeof(key), "%s:snapshot:%lld", prefix(w->x), w->gen);
	snprintf(sum, sizeof(sum), "%016" PRIx64, w->sum);
	r = cmd(w->x, "HSET manifest", w->why, sizeof(w->why),
		"HSET %s id %s records %lld ops %lld chunks %lld checksum %s generation %lld "
		"node %s created_ms %lld seen %s",
		key, id, (long long)w->records, (long long)w->ops, (long long)w->chunks, sum,
		w->gen, w->x->conf->cluster.node, (long long)(now_us() / 1000), seen);
	if (r == NULL)
		return -1;
	freeReplyObject(r);
	if ((r = cmd(w->x, "PEXPIRE", w->why, sizeof(w->why), "PEXPIRE %s %lld", key,
		     (long long)w->ttl_ms)) == NULL)
		return -1;
	freeReplyObject(r);
	return 0;
}

/* Write generation W->gen from a read transaction: ID_R is the stream id it is as of. */
static int
snapshot_write(struct writer *w, char *id_r, size_t idlen)
{
	json_t *seen = json_object();
	char *s;
	int rc;

	if (store_read_begin(w->x->st, &w->txn) != STORE_OK) {
		snprintf(w->why, sizeof(w->why), "%s", store_error(w->x->st));
		json_decref(seen);
		return -2;
	}
	meta_get(w->txn, CLUSTER_LAST_ID_KEY, id_r, idlen);
	store_scan(w->txn, DB_META, SEEN_PREFIX, strlen(SEEN_PREFIX), NULL, 0, seen_one, seen);
	rc = id_r[0] ? writer_scan(w) : -2;
	store_read_end(w->txn);
	s = json_dumps(seen, JSON_COMPACT);
	json_decref(seen);
	if (rc == 0)
		rc = manifest_write(w, id_r, s);
	free(s);
	return rc;
}

/* Make W's generation current (the lock must still be ours), persist it, and let OLD
 * expire after the lock's time (a node loading it meanwhile finishes). */
static int
snapshot_switch(struct writer *w, const struct current *old)
{
	redisReply *r;
	int ours;

	if ((r = cmd(w->x, "GET lock", w->why, sizeof(w->why), "GET %s:snapshot:lock",
		     prefix(w->x))) == NULL)
		return -1;
	ours = r->type == REDIS_REPLY_STRING && strcmp(r->str, w->x->conf->cluster.node) == 0;
	freeReplyObject(r);
	if (!ours) {
		log_warnx("cluster: snapshot %lld took longer than its lock: not used", w->gen);
		return 1;
	}
	redisAppendCommand(w->x->rc, "SET %s:snapshot %lld", prefix(w->x), w->gen);
	redisAppendCommand(w->x->rc, "PERSIST %s:snapshot:%lld", prefix(w->x), w->gen);
	for (int64_t i = 0; i < w->chunks; i++)
		redisAppendCommand(w->x->rc, "PERSIST %s:snapshot:%lld:%lld", prefix(w->x), w->gen,
				   (long long)i);
	if (old->gen) /* a node loading it meanwhile has the lock's time to finish */
		redisAppendCommand(w->x->rc, "PEXPIRE %s:snapshot:%lld %lld", prefix(w->x),
				   old->gen, (long long)w->ttl_ms);
	for (int64_t i = 0; old->gen && i < old->chunks; i++)
		redisAppendCommand(w->x->rc, "PEXPIRE %s:snapshot:%lld:%lld %lld", prefix(w->x),
				   old->gen, (long long)i, (long long)w->ttl_ms);
	for (int64_t i = 0; i < 2 + w->chunks + (old->gen ? 1 + old->chunks : 0); i++) {
		if (redisGetReply(w->x->rc, (void **)&r) != REDIS_OK ||
		    redis_reply_error(w->x->rc, r, "switch snapshot", w->why, sizeof(w->why)) < 0)
			return -1;
		freeReplyObject(r);
	}
	return 0;
}

/* The older of ID and every live node's applied id (a node at 0-0 bootstraps: not counted). */
static void
trim_point(const struct snapshot_ctx *x, const char *id, char *min, size_t len)
{
	size_t i;
	json_t *n;

	text_copy(min, len, id);
	json_array_foreach(x->nodes, i, n)
	{
		const char *a = json_string_value(json_object_get(n, "applied_id"));
		if (a && strcmp(a, "0-0") != 0 && snapshot_id_cmp(a, min) < 0)
			text_copy(min, len, a);
	}
}

/* Note XLEN after the trim in the manifest: what stream_max is measured from. */
static int
xlen_note(const struct snapshot_ctx *x, struct writer *w)
{
	redisReply *r = cmd(x, "XLEN", w->why, sizeof(w->why), "XLEN %s", x->stream);
	long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;

	if (r == NULL)
		return -1;
	freeReplyObject(r);
	if ((r = cmd(x, "HSET manifest", w->why, sizeof(w->why),
		     "HSET %s:snapshot:%lld xlen_after %lld", prefix(x), w->gen, n)) == NULL)
		return -1;
	freeReplyObject(r);
	return 0;
}

/* XTRIM to the trim point; logs what was done.  -1: connection failed. */
static int
stream_trim(const struct snapshot_ctx *x, struct writer *w, const char *id, int64_t ms)
{
	char min[ID_MAX];
	redisReply *r;
	long long n = 0;

	trim_point(x, id, min, sizeof(min));
	r = redisCommand(x->rc, "XTRIM %s MINID %s", x->stream, min);
	if (r == NULL)
		return redis_reply_error(x->rc, r, "XTRIM", w->why, sizeof(w->why));
	if (r->type == REDIS_REPLY_ERROR) /* MINID needs Redis 6.2: say so, keep going */
		log_warnx("cluster: %s not trimmed: XTRIM: %s", x->stream, r->str);
	if (r->type == REDIS_REPLY_INTEGER)
		n = r->integer;
	freeReplyObject(r);
	if (xlen_note(x, w) < 0)
		return -1;
	log_info("cluster: snapshot %lld as of %s: %lld records (%lld operations, %lld chunks) "
		 "in %lld ms; %s trimmed to %s (%lld entries removed)",
		 w->gen, id, (long long)w->records, (long long)w->ops, (long long)w->chunks,
		 (long long)ms, x->stream, min, n);
	return 0;
}

/* Take the lock, write, switch, trim, release.  -1: connection failed (WHY). */
static int
snapshot_make(const struct snapshot_ctx *x, const struct current *old, char *why, size_t whylen)
{
	struct writer w = {.x = x, .sum = FNV_START};
	int64_t ttl = x->conf->cluster.timeout * 30, start = now_us() / 1000;
	char id[ID_MAX];
	redisReply *r;
	int rc = -1;

	w.ttl_ms = ttl < 60000 ? 60000 : ttl;
	if ((r = cmd(x, "SET lock", why, whylen, "SET %s:snapshot:lock %s NX PX %lld", prefix(x),
		     x->conf->cluster.node, (long long)w.ttl_ms)) == NULL)
		return -1;
	rc = r->type == REDIS_REPLY_STATUS ? 0 : 1; /* nil: another node writes one */
	freeReplyObject(r);
	if (rc != 0)
		return 0;
	if ((r = cmd(x, "INCR gen", why, whylen, "INCR %s:snapshot:gen", prefix(x))) == NULL)
		return -1;
	w.gen = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
	freeReplyObject(r);
	w.recs = xcalloc(SNAPSHOT_CHUNK, sizeof(*w.recs));
	w.lens = xcalloc(SNAPSHOT_CHUNK, sizeof(*w.lens));
	rc = w.gen > 0 ? snapshot_write(&w, id, sizeof(id)) : -2;
	if (rc == 0 && (rc = snapshot_switch(&w, old)) == 0)
		rc = stream_trim(x, &w, id, now_us() / 1000 - start);
	for (size_t i = 0; i < w.n; i++)
		free(w.recs[i]);
	free(w.recs);
	free(w.lens);
	if (rc == -1 || w.failed) {
		text_copy(why, whylen, w.why);
		return -1;
	}
	if (rc == 1)
		return 0; /* the lock is another node's now */
	if (rc == -2)
		log_warnx("cluster: no snapshot written: %s", w.why[0] ? w.why : "no position yet");
	if ((r = cmd(x, "DEL lock", why, whylen, "DEL %s:snapshot:lock", prefix(x))) == NULL)
		return -1;
	freeReplyObject(r);
	return 0;
}

/* Is a snapshot due?  More than stream_max entries added since the last one (XLEN now
 * against XLEN after its trim), or the last one (else the first entry) too old. */
static int
snapshot_due(const struct snapshot_ctx *x, const struct current *c, long long xlen,
	     const char *first)
{
	int64_t now = now_us() / 1000;
	int64_t base = c->gen ? c->created_ms : strtoll(first, NULL, 10);
	int64_t gap = 10 * x->conf->cluster.heartbeat_interval;

	if (strcmp(x->last_id, "0-0") == 0 || (c->gen && snapshot_id_cmp(x->last_id, c->id) <= 0))
		return 0; /* nothing newer than the current snapshot here */
	if (xlen - c->xlen_after > x->conf->cluster.stream_max &&
	    (c->gen == 0 || now - c->created_ms >= gap))
		return 1;
	return (c->gen || first[0]) && now - base >= x->conf->cluster.snapshot_interval * 1000;
}

int
snapshot_round(const struct snapshot_ctx *x, char *why, size_t whylen)
{
	struct current c;
	char first[ID_MAX];
	long long xlen = 0;
	redisReply *r;

	if ((r = cmd(x, "XLEN", why, whylen, "XLEN %s", x->stream)) == NULL)
		return -1;
	if (r->type == REDIS_REPLY_INTEGER)
		xlen = r->integer;
	freeReplyObject(r);
	first[0] = '\0'; /* the stream's first entry matters only without a snapshot */
	if (current_read(x, &c, why, whylen) < 0 ||
	    (c.gen == 0 && first_id(x, first, sizeof(first), why, whylen) < 0))
		return -1;
	if (!snapshot_due(x, &c, xlen, first))
		return 0;
	return snapshot_make(x, &c, why, whylen);
}

/* ---- loading ---- */

struct loader {
	const struct snapshot_ctx *x;
	const struct current *c;
	redisReply *chunk;
	int last;
	struct apply_stats stats, txn_stats; /* TXN_STATS: the transaction being written */
	uint64_t bad, txn_bad;
	char info[256];
};

/* The snapshot's "seen" positions: a later duplicate of an applied record is skipped. */
static int
seen_apply(struct store_txn *txn, const char *seen)
{
	json_t *o = json_loads(seen, 0, NULL), *v;
	const char *node;
	int rc = STORE_OK;

	json_object_foreach(o, node, v)
	{
		/* The clock passes every seq too: this node's next record must be news. */
		if (rc == STORE_OK && json_is_integer(v) &&
		    (rc = apply_seen_raise(txn, node, (int64_t)json_integer_value(v))) == STORE_OK)
			rc = change_clock_witness(txn, (int64_t)json_integer_value(v));
	}
	json_decref(o);
	return rc;
}

/* Apply one chunk; in the last one, the position, the seen positions and what happened. */
static int
load_txn(struct store_txn *txn, void *arg)
{
	struct loader *l = arg;
	const char *id = l->c->id;
	int rc;

	store_txn_nocapture(txn);
	memset(&l->txn_stats, 0, sizeof(l->txn_stats)); /* the store may run this again */
	l->txn_bad = 0;
	for (size_t i = 0; l->chunk && i < l->chunk->elements; i++) {
		const redisReply *e = l->chunk->element[i];
		struct change c;
		if (e->type != REDIS_REPLY_STRING || change_decode(e->str, e->len, &c) < 0) {
			l->txn_bad++;
			continue;
		}
		rc = apply_snapshot_change(txn, &c, &l->txn_stats);
		change_free(&c);
		if (rc != STORE_OK)
			return rc;
	}
	if (!l->last)
		return STORE_OK;
	if ((rc = seen_apply(txn, l->c->seen)) != STORE_OK ||
	    (rc = store_put(txn, DB_META, SNAPSHOT_BOOT_KEY, strlen(SNAPSHOT_BOOT_KEY), l->info,
			    strlen(l->info))) != STORE_OK)
		return rc;
	return store_put(txn, DB_META, CLUSTER_LAST_ID_KEY, strlen(CLUSTER_LAST_ID_KEY), id,
			 strlen(id));
}

/* Chunk I of the current snapshot, its records added to the checksum and count. */
static redisReply *
chunk_read(const struct snapshot_ctx *x, const struct current *c, long long i, uint64_t *sum,
	   int64_t *n, char *why, size_t whylen)
{
	redisReply *r = cmd(x, "LRANGE snapshot", why, whylen, "LRANGE %s:snapshot:%lld:%lld 0 -1",
			    prefix(x), c->gen, i);

	if (r == NULL)
		return NULL;
	for (size_t j = 0; r->type == REDIS_REPLY_ARRAY && j < r->elements; j++)
		if (r->element[j]->type == REDIS_REPLY_STRING) {
			*sum = fnv(*sum, r->element[j]->str, r->element[j]->len);
			(*n)++;
		}
	return r;
}

/* Count a committed transaction's figures. */
static void
stats_add(struct apply_stats *to, const struct apply_stats *s)
{
	to->records += s->records;
	to->duplicates += s->duplicates;
	to->ops += s->ops;
	to->lost += s->lost;
}

/* Load snapshot C chunk by chunk.  1 loaded, 2 not (it does not match), -1 connection. */
static int
load(const struct snapshot_ctx *x, const struct current *c, struct loader *l, char *why,
     size_t whylen)
{
	uint64_t sum = FNV_START;
	int64_t n = 0;
	char hex[32];

	snprintf(l->info, sizeof(l->info), "bootstrapped from snapshot %s (%lld records)", c->id,
		 (long long)c->records);
	for (long long i = 0; i < c->chunks || (i == 0 && c->chunks == 0); i++) {
		l->chunk = c->chunks ? chunk_read(x, c, i, &sum, &n, why, whylen) : NULL;
		if (c->chunks && l->chunk == NULL)
			return -1;
		l->last = i + 1 >= c->chunks;
		snprintf(hex, sizeof(hex), "%016" PRIx64, sum);
		if (l->last && (n != c->records || strcmp(hex, c->checksum) != 0)) {
			log_warnx(
			    "cluster: snapshot %lld as read does not match its manifest (%lld "
			    "of %lld records, checksum %s, not %s): trying again later",
			    c->gen, (long long)n, (long long)c->records, hex, c->checksum);
			if (l->chunk)
				freeReplyObject(l->chunk);
			return 2;
		}
		if (store_write(x->st, load_txn, l) != STORE_OK)
			fatalx("cluster: loading the snapshot: %s", store_error(x->st));
		stats_add(&l->stats, &l->txn_stats);
		l->bad += l->txn_bad;
		if (l->chunk)
			freeReplyObject(l->chunk);
	}
	return 1;
}

int
snapshot_bootstrap(const struct snapshot_ctx *x, char *last_id, size_t idlen, char *info,
		   size_t infolen, char *why, size_t whylen)
{
	struct loader l = {.x = x};
	struct current c;
	char first[ID_MAX];
	int64_t start = now_us();
	int fresh = strcmp(last_id, "0-0") == 0, rc;

	if (first_id(x, first, sizeof(first), why, whylen) < 0 ||
	    current_read(x, &c, why, whylen) < 0)
		return -1;
	if (!(fresh && c.gen) && !(first[0] && !fresh && snapshot_id_cmp(last_id, first) < 0))
		return 0;
	if (c.gen == 0) {
		log_warnx("cluster: position %s is older than %s's first entry %s and there is no "
			  "snapshot: changes in between are missed",
			  last_id, x->stream, first);
		return 0;
	}
	log_info("cluster: %s: loading snapshot %lld as of %s (%lld records)",
		 fresh ? "no position in the change log"
		       : "position older than the change log's first entry",
		 c.gen, c.id, (long long)c.records);
	l.c = &c;
	if ((rc = load(x, &c, &l, why, whylen)) != 1)
		return rc;
	text_copy(last_id, idlen, c.id);
	text_copy(info, infolen, l.info);
	log_info("cluster: %s in %lld ms: %llu records applied (%llu operations, %llu lost to "
		 "newer, %llu unreadable); following %s from %s",
		 l.info, (long long)((now_us() - start) / 1000),
		 (unsigned long long)l.stats.records, (unsigned long long)l.stats.ops,
		 (unsigned long long)l.stats.lost, (unsigned long long)l.bad, x->stream, c.id);
	return 1;
}
