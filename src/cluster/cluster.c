/* cluster -- push the outbox, follow the fleet's change log, heartbeat; see cluster.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "fleetrep.h"
#include "cluster.h"
#include "lease.h"
#include "redis_addr.h"
#include "redis_conn.h"
#include "snapshot.h"
#include "quota/quota.h"
#include "store/changes.h"
#include "store/sfilter.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xalloc.h"

#define PUSH_BATCH 256
#define READ_BATCH 256
#define ID_MAX 48
#define BACKOFF_MIN_MS 100

struct outbox_batch {
	uint8_t keys[PUSH_BATCH][8];
	void *vals[PUSH_BATCH];
	size_t lens[PUSH_BATCH];
	int n, acked;
};

struct cluster {
	const struct conf *conf;
	struct store *st;
	struct redis_addr addr;
	redisContext *rc;
	char stream[300], nodes_key[300], node_key[400];
	char last_id[ID_MAX], head_id[ID_MAX];
	char error[512]; /* why we are not connected ("" when connected) */
	char boot[256];	 /* "bootstrapped from snapshot ID (N records)", or "" */
	int64_t since;	 /* connected or disconnected since (epoch seconds) */
	long backoff_ms;
	int64_t next_try_ms, next_heartbeat_ms;
	int64_t last_beat_ms; /* the last heartbeat Redis took */
	int check_position;   /* is our position still in the stream?  see snapshot_heartbeat */
	json_t *nodes;
	struct lease *lease;
	uint64_t pushed, records, duplicates, lost, bad;
	uint64_t rep_seen;	      /* the last reputation change read (fleetrep.h) */
	struct outbox_batch *pending; /* XADDed, not yet held by cluster.wait_replicas replicas */
	int64_t pending_since_ms;
	int64_t last_delay_us;
};

static volatile sig_atomic_t stopping;
static struct log_rl wait_rl = LOG_RL_INIT(60);

static void
on_stop(int sig)
{
	stopping = 1;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the store side ---- */

int
cluster_mark_store(const struct conf *conf, char *err, size_t errlen)
{
	struct store_opts so = {conf->store.map_size, conf->store.max_readers, 0, 1};
	struct store *st = store_open(conf->store.path, &so, err, errlen);
	int rc;

	if (st == NULL)
		return -1;
	rc = change_mark_node(st, conf->cluster.redis[0] ? conf->cluster.node : NULL);
	if (rc != STORE_OK)
		snprintf(err, errlen, "%s", store_error(st));
	store_close(st);
	return rc == STORE_OK ? 0 : -1;
}

static uint64_t
outbox_size(struct cluster *cl)
{
	struct store_stat s;

	return store_db_stat(cl->st, DB_OUTBOX, &s) == STORE_OK ? s.entries : 0;
}

static int
status_txn(struct store_txn *txn, void *arg)
{
	const char *s = arg;

	return store_put(txn, DB_META, CLUSTER_STATUS_KEY, strlen(CLUSTER_STATUS_KEY), s,
			 strlen(s));
}

/* Milliseconds of a stream id "MS-SEQ". */
static int64_t
id_ms(const char *id)
{
	return strtoll(id, NULL, 10);
}

/* What `outpostctl cluster status` shows, written to DB_META. */
static void
status_write(struct cluster *cl)
{
	uint64_t grants, held;
	int64_t lag = 0;
	json_t *o;
	char *s;

	if (cl->head_id[0] && strcmp(cl->head_id, cl->last_id) != 0)
		lag = id_ms(cl->head_id) - id_ms(cl->last_id);
	o = json_pack("{s:s, s:s, s:b, s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I, "
		      "s:o}",
		      "node", cl->conf->cluster.node, "redis", cl->conf->cluster.redis, "connected",
		      cl->rc != NULL, "since", (json_int_t)cl->since, "error", cl->error,
		      "last_applied_id", cl->last_id, "head_id", cl->head_id, "lag_ms",
		      (json_int_t)(lag > 0 ? lag : 0), "pushed", (json_int_t)cl->pushed, "applied",
		      (json_int_t)cl->records, "duplicates", (json_int_t)cl->duplicates, "lost",
		      (json_int_t)cl->lost, "bad_entries", (json_int_t)cl->bad, "last_delay_ms",
		      (double)cl->last_delay_us / 1000.0, "updated_ms",
		      (json_int_t)(now_us() / 1000), "nodes",
		      cl->nodes ? json_incref(cl->nodes) : json_array());
	lease_figures(cl->lease, &grants, &held);
	json_object_set_new(
	    o, "quota_partition",
	    json_string(cl->conf->cluster.partition_quota == PQ_SHARE ? "share" : "tempfail"));
	json_object_set_new(o, "bootstrap", json_string(cl->boot));
	json_object_set_new(o, "lease_grants", json_integer((json_int_t)grants));
	json_object_set_new(o, "lease_accounts", json_integer((json_int_t)held));
	json_object_set_new(o, "awaiting_replicas",
			    json_integer(cl->pending ? (json_int_t)cl->pending->acked : 0));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (store_write(cl->st, status_txn, s) != STORE_OK)
		log_warnx("cluster: %s", store_error(cl->st));
	free(s);
}

static void
last_id_load(struct cluster *cl)
{
	struct store_txn *txn;
	struct store_val v;

	text_copy(cl->last_id, sizeof(cl->last_id), "0-0");
	if (store_read_begin(cl->st, &txn) != STORE_OK)
		fatalx("cluster: %s", store_error(cl->st));
	if (store_get(txn, DB_META, CLUSTER_LAST_ID_KEY, strlen(CLUSTER_LAST_ID_KEY), &v) ==
		STORE_OK &&
	    v.len > 0 && v.len < sizeof(cl->last_id)) {
		memcpy(cl->last_id, v.data, v.len);
		cl->last_id[v.len] = '\0';
	}
	if (store_get(txn, DB_META, SNAPSHOT_BOOT_KEY, strlen(SNAPSHOT_BOOT_KEY), &v) == STORE_OK &&
	    v.len < sizeof(cl->boot)) {
		memcpy(cl->boot, v.data, v.len);
		cl->boot[v.len] = '\0';
	}
	store_read_end(txn);
	if (strcmp(cl->last_id, "0-0") == 0)
		log_info("cluster: no position in the change log yet: loading the snapshot, or "
			 "replaying the log from the start when there is none");
}

/* Tell the decision path (the quota table) whether leases can be had, and how many nodes share. */
static void
fleet_publish(struct cluster *cl, int connected)
{
	size_t n = cl->nodes ? json_array_size(cl->nodes) : 0;

	if (quota_table)
		qtable_fleet_set(
		    quota_table,
		    connected ? now_us() / 1000 + 3 * cl->conf->cluster.heartbeat_interval : 0,
		    (uint32_t)(n ? n : 1));
}

static void
batch_free(struct outbox_batch *b)
{
	if (b == NULL)
		return;
	for (int i = 0; i < b->n; i++)
		free(b->vals[i]);
	free(b);
}

/* Not connected (any more): say so once per cause, try again after the backoff. */
static void
disconnected(struct cluster *cl, const char *why)
{
	int was_up = cl->rc != NULL;

	if (cl->rc) {
		redisFree(cl->rc);
		cl->rc = NULL;
	}
	batch_free(cl->pending); /* still in the outbox: pushed again on the next connection */
	cl->pending = NULL;
	fleet_publish(cl, 0);
	if (was_up || strcmp(cl->error, why) != 0 || cl->since == 0)
		log_warnx("cluster: disconnected from %s: %s; enforcing from the local store, "
			  "changes wait in the outbox",
			  cl->conf->cluster.redis, why);
	if (was_up || cl->since == 0)
		cl->since = time(NULL);
	text_copy(cl->error, sizeof(cl->error), why);
	cl->backoff_ms = cl->backoff_ms ? cl->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (cl->backoff_ms > cl->conf->cluster.reconnect_max)
		cl->backoff_ms = (long)cl->conf->cluster.reconnect_max;
	cl->next_try_ms = mono_ms() + cl->backoff_ms;
	status_write(cl);
}

static void
try_connect(struct cluster *cl)
{
	char err[512];

	if ((cl->rc = redis_conn_open(cl->conf, &cl->addr, err, sizeof(err))) == NULL) {
		disconnected(cl, err);
		return;
	}
	log_info("cluster: connected to %s as node %s (%llu changes in the outbox)",
		 cl->conf->cluster.redis, cl->conf->cluster.node,
		 (unsigned long long)outbox_size(cl));
	cl->error[0] = '\0';
	cl->since = time(NULL);
	cl->backoff_ms = 0;
	cl->next_heartbeat_ms = 0;
	cl->check_position = 1;
}

/* ---- push: outbox -> XADD ---- */

static int
outbox_collect(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct outbox_batch *b = arg;

	if (k->len != 8)
		return 0;
	memcpy(b->keys[b->n], k->data, 8);
	b->vals[b->n] = xmalloc(v->len);
	memcpy(b->vals[b->n], v->data, v->len);
	b->lens[b->n] = v->len;
	return ++b->n == PUSH_BATCH;
}

static int
outbox_delete(struct store_txn *txn, void *arg)
{
	struct outbox_batch *b = arg;

	for (int i = 0; i < b->acked; i++)
		if (store_del(txn, DB_OUTBOX, b->keys[i], 8) == STORE_ERR)
			return STORE_ERR;
	return STORE_OK;
}

/* XADD one record (already checked by change_decode) with readable fields beside it. */
static void
append_xadd(struct cluster *cl, const void *rec, size_t len, const struct change *c)
{
	char seq[32], ts[32], type[64];
	const char *argv[13] = {"XADD", cl->stream, "*",    "node", c->node, "seq", seq,
				"ts",	ts,	    "type", type,   "rec",   rec};
	size_t lens[13];

	snprintf(seq, sizeof(seq), "%lld", (long long)c->seq);
	snprintf(ts, sizeof(ts), "%lld", (long long)c->ts);
	change_op_type(c->nops ? c->ops[0].db : 0, c->nops ? c->ops[0].op : 0, type, sizeof(type));
	for (int i = 0; i < 12; i++)
		lens[i] = strlen(argv[i]);
	lens[12] = len;
	redisAppendCommandArgv(cl->rc, 13, argv, lens);
}

/*
 * Do cluster.wait_replicas replicas hold everything this connection wrote?
 * 1 yes (or none asked for), 0 not yet (WAIT waits at most a poll interval),
 * -1 the connection failed.
 */
static int
replicas_hold(struct cluster *cl)
{
	char n[16], ms[24], why[512];
	const char *argv[3] = {"WAIT", n, ms};
	redisReply *r;
	int ok;

	if (cl->conf->cluster.wait_replicas == 0)
		return 1;
	snprintf(n, sizeof(n), "%d", cl->conf->cluster.wait_replicas);
	snprintf(ms, sizeof(ms), "%lld", (long long)cl->conf->cluster.poll_interval);
	r = redisCommandArgv(cl->rc, 3, argv, NULL);
	if (redis_reply_error(cl->rc, r, "WAIT", why, sizeof(why)) < 0 || r == NULL ||
	    r->type != REDIS_REPLY_INTEGER) {
		if (r)
			snprintf(why, sizeof(why), "WAIT: unexpected reply type %d", r->type);
		freeReplyObject(r);
		disconnected(cl, why);
		return -1;
	}
	ok = r->integer >= cl->conf->cluster.wait_replicas;
	freeReplyObject(r);
	return ok;
}

/* The entries of B, held where they must be: out of the outbox. */
static void
batch_done(struct cluster *cl, struct outbox_batch *b)
{
	if (b->acked && store_write(cl->st, outbox_delete, b) != STORE_OK)
		fatalx("cluster: %s", store_error(cl->st));
	cl->pushed += (uint64_t)b->acked;
	batch_free(b);
}

/* Entries XADDed earlier: done once the replicas hold them.  1 done, 0 not yet, -1 failed. */
static int
pending_check(struct cluster *cl)
{
	int rc = replicas_hold(cl);

	if (rc <= 0) {
		if (rc == 0 && mono_ms() - cl->pending_since_ms > cl->conf->cluster.timeout &&
		    log_allow(&wait_rl))
			log_warnx(
			    "cluster: %d changes not yet on %d replica(s) after %lld ms: kept "
			    "in the outbox",
			    cl->pending->acked, cl->conf->cluster.wait_replicas,
			    (long long)(mono_ms() - cl->pending_since_ms));
		return rc;
	}
	batch_done(cl, cl->pending);
	cl->pending = NULL;
	return 1;
}

/* Read the XADD replies of B's SENT entries: 0, or -1 (disconnected). */
static int
xadd_replies(struct cluster *cl, struct outbox_batch *b, int sent)
{
	for (int i = 0; i < sent; i++) {
		redisReply *r = NULL;
		if (redisGetReply(cl->rc, (void **)&r) != REDIS_OK || r == NULL ||
		    r->type != REDIS_REPLY_STRING) {
			char why[512];
			if (redis_reply_error(cl->rc, r, "XADD", why, sizeof(why)) == 0 && r) {
				snprintf(why, sizeof(why), "XADD: unexpected reply type %d",
					 r->type);
				freeReplyObject(r);
			}
			disconnected(cl, why);
			return -1;
		}
		freeReplyObject(r);
		b->acked++;
	}
	return 0;
}

/*
 * Push up to PUSH_BATCH outbox entries: how many, or -1 on error.  An entry
 * leaves the outbox once Redis (and cluster.wait_replicas replicas) hold it;
 * until then nothing more is pushed.
 */
static int
push_some(struct cluster *cl)
{
	struct outbox_batch *b;
	struct store_txn *txn;
	int rc, sent = 0;

	if (cl->pending && (rc = pending_check(cl)) <= 0)
		return rc;
	b = xcalloc(1, sizeof(*b));
	if (store_read_begin(cl->st, &txn) != STORE_OK) {
		batch_free(b);
		return 0;
	}
	store_scan(txn, DB_OUTBOX, NULL, 0, NULL, 0, outbox_collect, b);
	store_read_end(txn);
	for (int i = 0; i < b->n; i++) {
		struct change c;
		if (change_decode(b->vals[i], b->lens[i], &c) < 0) {
			log_bug("cluster: unreadable outbox entry %d", i);
			continue;
		}
		append_xadd(cl, b->vals[i], b->lens[i], &c);
		change_free(&c);
		sent++;
	}
	rc = xadd_replies(cl, b, sent);
	if (rc == 0 && b->acked && (rc = replicas_hold(cl)) == 0) {
		cl->pending = b; /* Redis has them, the replicas not yet */
		cl->pending_since_ms = mono_ms();
		return b->acked;
	}
	if (rc < 0 && cl->conf->cluster.wait_replicas > 0) {
		batch_free(b); /* unconfirmed: kept in the outbox, pushed again (applied once) */
		return -1;
	}
	sent = b->acked;
	batch_done(cl, b); /* on an error, what the primary acknowledged is pushed all the same */
	return rc < 0 ? -1 : sent;
}

/* ---- follow: XREAD -> apply ---- */

struct apply_batch {
	redisReply *entries; /* the stream's array of [id, [field, value...]] */
	char last_id[ID_MAX];
	struct apply_stats stats;
	uint64_t bad;
	int64_t newest_ts; /* wall clock of the newest change applied from another node */
	const char *self;
};

static const redisReply *
entry_field(const redisReply *fields, const char *name)
{
	if (fields->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < fields->elements; i += 2)
		if (fields->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(fields->element[i]->str, name) == 0 &&
		    fields->element[i + 1]->type == REDIS_REPLY_STRING)
			return fields->element[i + 1];
	return NULL;
}

static int
apply_txn(struct store_txn *txn, void *arg)
{
	struct apply_batch *a = arg;
	int rc;

	store_txn_nocapture(txn);
	memset(&a->stats, 0, sizeof(a->stats));
	a->bad = 0;
	a->newest_ts = 0;
	for (size_t i = 0; i < a->entries->elements; i++) {
		const redisReply *e = a->entries->element[i], *rec;
		struct change c;
		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING)
			continue; /* counted by the caller's check */
		text_copy(a->last_id, sizeof(a->last_id), e->element[0]->str);
		if ((rec = entry_field(e->element[1], "rec")) == NULL ||
		    change_decode(rec->str, rec->len, &c) < 0) {
			a->bad++;
			continue;
		}
		rc = apply_change(txn, &c, &a->stats);
		if (strcmp(c.node, a->self) != 0 && c.ts > a->newest_ts)
			a->newest_ts = c.ts;
		change_free(&c);
		if (rc != STORE_OK)
			return rc;
	}
	return store_put(txn, DB_META, CLUSTER_LAST_ID_KEY, strlen(CLUSTER_LAST_ID_KEY), a->last_id,
			 strlen(a->last_id));
}

/* The entries of an XREAD reply, or NULL (with WHY) when its shape is wrong. */
static redisReply *
xread_entries(redisReply *r, char *why, size_t whylen)
{
	redisReply *s;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
	    (s = r->element[0])->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
	    s->element[1]->type != REDIS_REPLY_ARRAY) {
		snprintf(why, whylen, "XREAD: unexpected reply (type %d)", r->type);
		return NULL;
	}
	for (size_t i = 0; i < s->element[1]->elements; i++) {
		redisReply *e = s->element[1]->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING ||
		    strlen(e->element[0]->str) >= ID_MAX) {
			snprintf(why, whylen, "XREAD: malformed stream entry");
			return NULL;
		}
	}
	return s->element[1];
}

/*
 * Read and apply the entries after the last applied one: how many, or -1 when
 * the connection failed.  No BLOCK: Redis times a blocked read out only at its
 * own cron tick (100 ms at the default hz), and the outbox must be looked at
 * meanwhile; the loop sleeps poll_interval when there was nothing to do.
 */
static int
follow(struct cluster *cl)
{
	char count[16], why[512];
	const char *argv[6] = {"XREAD", "COUNT", count, "STREAMS", cl->stream, cl->last_id};
	struct apply_batch a = {.self = cl->conf->cluster.node};
	redisReply *r;
	int n;

	snprintf(count, sizeof(count), "%d", READ_BATCH);
	r = redisCommandArgv(cl->rc, 6, argv, NULL);
	if (redis_reply_error(cl->rc, r, "XREAD", why, sizeof(why)) < 0) {
		disconnected(cl, why);
		return -1;
	}
	if (r->type == REDIS_REPLY_NIL) {
		freeReplyObject(r);
		return 0;
	}
	if ((a.entries = xread_entries(r, why, sizeof(why))) == NULL) {
		freeReplyObject(r);
		disconnected(cl, why);
		return -1;
	}
	text_copy(a.last_id, sizeof(a.last_id), cl->last_id);
	n = (int)a.entries->elements;
	if (n > 0 && store_write(cl->st, apply_txn, &a) != STORE_OK)
		fatalx("cluster: applying changes: %s", store_error(cl->st));
	freeReplyObject(r);
	text_copy(cl->last_id, sizeof(cl->last_id), a.last_id);
	cl->records += a.stats.records;
	cl->duplicates += a.stats.duplicates;
	cl->lost += a.stats.lost;
	cl->bad += a.bad;
	if (a.newest_ts)
		cl->last_delay_us = now_us() - a.newest_ts;
	if (a.bad)
		log_warnx("cluster: %llu unreadable entries in %s skipped (up to %s)",
			  (unsigned long long)a.bad, cl->stream, a.last_id);
	if (a.stats.records)
		log_debug("cluster: applied %llu changes (%llu operations, %llu lost to newer), up "
			  "to %s",
			  (unsigned long long)a.stats.records, (unsigned long long)a.stats.ops,
			  (unsigned long long)a.stats.lost, a.last_id);
	return n;
}

/* ---- heartbeat ---- */

/* The hash of every node in SMEMBERS reply M, with its heartbeat; NULL (WHY filled) on a failure.
 */
static json_t *
nodes_read(struct cluster *cl, const redisReply *m, char *why, size_t whylen)
{
	json_t *arr = json_array();

	for (size_t i = 0; m->type == REDIS_REPLY_ARRAY && i < m->elements; i++) {
		char key[400];
		redisReply *h;
		if (m->element[i]->type != REDIS_REPLY_STRING)
			continue;
		snprintf(key, sizeof(key), "%s:node:%s", cl->conf->cluster.key_prefix,
			 m->element[i]->str);
		h = redisCommand(cl->rc, "HGETALL %s", key);
		if (redis_reply_error(cl->rc, h, "HGETALL", why, whylen) < 0) {
			json_decref(arr); /* a partial list would shrink each node's share */
			return NULL;
		}
		if (h->type == REDIS_REPLY_ARRAY && h->elements >= 2) {
			json_t *o = json_pack("{s:s}", "node", m->element[i]->str);
			for (size_t j = 0; j + 1 < h->elements; j += 2)
				if (h->element[j]->type == REDIS_REPLY_STRING &&
				    h->element[j + 1]->type == REDIS_REPLY_STRING)
					json_object_set_new(o, h->element[j]->str,
							    json_string(h->element[j + 1]->str));
			json_array_append_new(arr, o);
		}
		freeReplyObject(h);
	}
	return arr;
}

/* Announce this node, read the others and the stream's head; -1 when the connection failed. */
static int
heartbeat(struct cluster *cl)
{
	char ms[32], outbox[32], ttl[32], why[512];
	const char *node = cl->conf->cluster.node;
	redisReply *r[4] = {NULL};
	int rc = 0;

	snprintf(ms, sizeof(ms), "%lld", (long long)(now_us() / 1000));
	snprintf(outbox, sizeof(outbox), "%llu", (unsigned long long)outbox_size(cl));
	snprintf(ttl, sizeof(ttl), "%lld", (long long)cl->conf->cluster.heartbeat_interval * 10);
	redisAppendCommand(cl->rc, "HSET %s heartbeat_ms %s applied_id %s outbox %s", cl->node_key,
			   ms, cl->last_id, outbox);
	redisAppendCommand(cl->rc, "PEXPIRE %s %s", cl->node_key, ttl);
	redisAppendCommand(cl->rc, "SADD %s %s", cl->nodes_key, node);
	redisAppendCommand(cl->rc, "XREVRANGE %s + - COUNT 1", cl->stream);
	for (int i = 0; i < 4 && rc == 0; i++)
		if (redisGetReply(cl->rc, (void **)&r[i]) != REDIS_OK ||
		    redis_reply_error(cl->rc, r[i], "heartbeat", why, sizeof(why)) < 0) {
			r[i] = NULL;
			rc = -1;
		}
	if (rc == 0 && r[3]->type == REDIS_REPLY_ARRAY && r[3]->elements == 1 &&
	    r[3]->element[0]->type == REDIS_REPLY_ARRAY && r[3]->element[0]->elements == 2 &&
	    r[3]->element[0]->element[0]->type == REDIS_REPLY_STRING)
		text_copy(cl->head_id, sizeof(cl->head_id), r[3]->element[0]->element[0]->str);
	for (int i = 0; i < 4; i++)
		if (r[i])
			freeReplyObject(r[i]);
	if (rc == 0) {
		redisReply *m = redisCommand(cl->rc, "SMEMBERS %s", cl->nodes_key);
		if (redis_reply_error(cl->rc, m, "SMEMBERS", why, sizeof(why)) < 0)
			rc = -1;
		else {
			json_t *nodes = nodes_read(cl, m, why, sizeof(why));
			freeReplyObject(m);
			if (nodes == NULL)
				rc = -1;
			else {
				json_decref(cl->nodes);
				cl->nodes = nodes;
			}
		}
	}
	if (rc < 0) {
		disconnected(cl, why);
		return -1;
	}
	fleet_publish(cl, 1);
	status_write(cl);
	return 0;
}

/* ---- the loop ---- */

/* Data this store held before it joined goes to the outbox, once (changes.h). */
static void
publish_existing(struct cluster *cl)
{
	uint64_t n;

	if (change_publish_existing(cl->st, cl->conf->cluster.node, &n) != STORE_OK)
		fatalx("cluster: publishing the store's existing data: %s", store_error(cl->st));
	if (n)
		log_info("cluster: %llu entries this store held before it joined the fleet are "
			 "published (with their own timestamps)",
			 (unsigned long long)n);
}

/*
 * At each heartbeat: bootstrap from the snapshot if needed, write one if due.  The
 * stream is trimmed past a node only once its heartbeat expired (10 intervals), so
 * the position is checked after each connect and after a gap of 5 intervals.
 */
static int
snapshot_heartbeat(struct cluster *cl)
{
	struct snapshot_ctx x = {cl->conf, cl->st, cl->rc, cl->stream, cl->last_id, cl->nodes};
	int64_t now = mono_ms();
	char why[512];
	int rc = 0;

	if (cl->last_beat_ms && now - cl->last_beat_ms > 5 * cl->conf->cluster.heartbeat_interval)
		cl->check_position = 1;
	cl->last_beat_ms = now;
	if (cl->check_position)
		rc = snapshot_bootstrap(&x, cl->last_id, sizeof(cl->last_id), cl->boot,
					sizeof(cl->boot), why, sizeof(why));
	if (rc == 0 || rc == 1)
		cl->check_position = 0;
	if (rc >= 0)
		rc = snapshot_round(&x, why, sizeof(why));
	if (rc < 0) {
		disconnected(cl, why);
		return -1;
	}
	return 0;
}

static void
cluster_setup(struct cluster *cl, const struct conf *conf)
{
	struct store_opts so = {conf->store.map_size, conf->store.max_readers, 0, 1};
	struct sigaction sa = {.sa_handler = on_stop};
	char err[512];

	cl->conf = conf;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN); /* reload: the master restarts us */
	signal(SIGUSR1, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (redis_addr_parse(conf->cluster.redis, &cl->addr, err, sizeof(err)) < 0)
		fatalx("cluster.redis: %s", err);
	if ((cl->st = store_open(conf->store.path, &so, err, sizeof(err))) == NULL)
		fatalx("cluster: %s", err);
	snprintf(cl->stream, sizeof(cl->stream), "%s:changes", conf->cluster.key_prefix);
	snprintf(cl->nodes_key, sizeof(cl->nodes_key), "%s:nodes", conf->cluster.key_prefix);
	snprintf(cl->node_key, sizeof(cl->node_key), "%s:node:%s", conf->cluster.key_prefix,
		 conf->cluster.node);
	last_id_load(cl);
	publish_existing(cl);
	cl->lease = lease_create(conf);
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* A bootstrap or another node's import can outgrow the suppression filter: resize it. */
static void
filter_refresh(struct cluster *cl)
{
	uint64_t entries;
	int rebuilt;

	if (sfilter_refresh(cl->st, &rebuilt, &entries) != STORE_OK)
		log_warnx("cluster: suppression filter: %s", store_error(cl->st));
	else if (rebuilt)
		log_info("cluster: suppression filter rebuilt over %llu entries",
			 (unsigned long long)entries);
}

/* One round while connected: push, announce when due, follow; idle: wait poll_interval. */
static void
round_connected(struct cluster *cl)
{
	char why[512];
	int pushed, read, leased, rep, full = 0;

	if ((pushed = push_some(cl)) < 0)
		return;
	if (mono_ms() >= cl->next_heartbeat_ms) {
		cl->next_heartbeat_ms = mono_ms() + cl->conf->cluster.heartbeat_interval;
		if (heartbeat(cl) < 0 || snapshot_heartbeat(cl) < 0)
			return;
		filter_refresh(cl);
		if (fleetrep_follow(cl->conf, cl->st, cl->rc, &cl->rep_seen, why, sizeof(why)) <
		    0) {
			disconnected(cl, why);
			return;
		}
		full = 1;
	}
	if ((leased = lease_round(cl->lease, cl->rc, full,
				  (uint32_t)(cl->nodes ? json_array_size(cl->nodes) : 0), why,
				  sizeof(why))) < 0) {
		disconnected(cl, why);
		return;
	}
	if ((rep = fleetrep_round(cl->conf, cl->st, cl->rc, why, sizeof(why))) < 0) {
		disconnected(cl, why);
		return;
	}
	if ((read = follow(cl)) == 0 && pushed == 0 && leased == 0 && rep == 0)
		sleep_ms(cl->conf->cluster.poll_interval);
}

/* One round while disconnected: retry when the backoff is over, keep the status fresh. */
static void
round_disconnected(struct cluster *cl)
{
	int64_t now = mono_ms(), wait;

	fleetrep_round(cl->conf, cl->st, NULL, NULL, 0); /* judged on local counters meanwhile */
	if (now >= cl->next_try_ms) {
		try_connect(cl);
		return;
	}
	if (now >= cl->next_heartbeat_ms) {
		cl->next_heartbeat_ms = now + cl->conf->cluster.heartbeat_interval;
		status_write(cl);
	}
	wait = cl->next_try_ms - now;
	sleep_ms(wait > 100 ? 100 : wait);
}

void
cluster_main(const struct cluster_args *args)
{
	struct cluster *cl = xcalloc(1, sizeof(*cl));

	log_procname("cluster");
	prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the master */
	cluster_setup(cl, args->conf);
	if (getppid() == 1)
		exit(0);
	try_connect(cl);
	while (!stopping) {
		if (cl->rc)
			round_connected(cl);
		else
			round_disconnected(cl);
	}
	if (cl->rc)
		redisFree(cl->rc);
	cl->rc = NULL;
	fleet_publish(cl, 0);
	text_copy(cl->error, sizeof(cl->error), "outpostd stopped");
	status_write(cl);
	lease_destroy(cl->lease);
	json_decref(cl->nodes);
	store_close(cl->st);
	free(cl);
	exit(0);
}
