/* fleetrep -- publish this node's reputation counters, fetch the fleet's; see fleetrep.h. */
#include "config.h"

#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/conf.h"
#include "feedback/reputation.h"
#include "fleetrep.h"
#include "redis_conn.h"
#include "store/store.h"
#include "util/log.h"
#include "util/xalloc.h"

#define DIRTY_BATCH 64
#define STAMP_MAX 32
#define FIELD_MAX 96
#define RECENT_MAX_STR "100000" /* accounts the zset of changes keeps */
#define RECENT_BATCH "256"

/*
 * KEYS[1] the account's hash, KEYS[2] the zset of changed accounts, KEYS[3] its sequence;
 * ARGV account, node, cutoff hour, ttl ms, then HOUR VALUE pairs: this node's buckets.  When
 * one of them changed, the account goes to the zset with the next sequence number (so the
 * other nodes fetch it again; an unchanged re-push tells nobody).  Returns the other nodes'
 * fields as HOUR VALUE pairs.
 */
static const char rep_lua[] =
    "local account, node, cutoff, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]\n"
    "local changed = false\n"
    "for i = 5, #ARGV, 2 do\n"
    "  local f = node .. '/' .. ARGV[i]\n"
    "  if redis.call('HGET', KEYS[1], f) ~= ARGV[i + 1] then\n"
    "    redis.call('HSET', KEYS[1], f, ARGV[i + 1])\n"
    "    changed = true\n"
    "  end\n"
    "end\n"
    "local h = redis.call('HGETALL', KEYS[1])\n"
    "local out = {}\n"
    "for i = 1, #h, 2 do\n"
    "  local n, hr = string.match(h[i], '^(.*)/(%d+)$')\n"
    "  if n == nil or tonumber(hr) < cutoff then\n"
    "    redis.call('HDEL', KEYS[1], h[i])\n"
    "  elseif n ~= node then\n"
    "    out[#out + 1] = hr\n"
    "    out[#out + 1] = h[i + 1]\n"
    "  end\n"
    "end\n"
    "if #h > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end\n"
    "if changed then\n"
    "  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), account)\n"
    "  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -" RECENT_MAX_STR " - 1)\n"
    "end\n"
    "return out\n";

/* One dirty account: what this host counted, what the others did. */
struct account_round {
	char account[ACCOUNT_NAME_MAX];
	char stamp[STAMP_MAX]; /* the dirty mark as read: cleared only if still that */
	uint32_t first;	       /* the window's first hour */
	struct rate_bucket *mine, *others;
	size_t nmine, nothers;
	int local; /* not fetched: judge on this host's counters */
};

/* This host's buckets of the account and its dirty mark. */
static int
local_read(struct store *st, struct account_round *a)
{
	struct store_txn *txn;
	int rc;

	if (store_read_begin(st, &txn) != STORE_OK)
		return STORE_ERR;
	rc = reputation_mark_get(txn, RM_DIRTY, a->account, a->stamp, sizeof(a->stamp));
	if (rc != STORE_ERR)
		rc = reputation_buckets(txn, a->account, a->first, &a->mine, &a->nmine);
	store_read_end(txn);
	return rc == STORE_ERR ? rc : STORE_OK;
}

static int
hour_cmp(const void *x, const void *y)
{
	const struct rate_bucket *a = x, *b = y;

	return a->hour < b->hour ? -1 : a->hour > b->hour;
}

/* "D,H,S,B,F,C" into C; -1 when malformed. */
static int
counts_parse(const char *s, struct stats_rec *c)
{
	char *end;

	for (int f = 0; f < SF_COUNT; f++) {
		unsigned long v = strtoul(s, &end, 10);
		if (end == s || (*end != (f + 1 < SF_COUNT ? ',' : '\0')) || v > UINT32_MAX)
			return -1;
		c->n[f] = (uint32_t)v;
		s = end + 1;
	}
	return 0;
}

/* The script's HOUR VALUE pairs R, summed per hour into A->others (ascending). */
static void
others_parse(const redisReply *r, struct account_round *a)
{
	size_t n = 0;

	a->others = xmalloc((r->elements / 2 + 1) * sizeof(*a->others));
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		struct rate_bucket b;
		if (r->element[i]->type != REDIS_REPLY_STRING ||
		    r->element[i + 1]->type != REDIS_REPLY_STRING ||
		    counts_parse(r->element[i + 1]->str, &b.c) < 0)
			continue;
		b.hour = (uint32_t)strtoul(r->element[i]->str, NULL, 10);
		a->others[n++] = b;
	}
	qsort(a->others, n, sizeof(*a->others), hour_cmp);
	a->nothers = 0;
	for (size_t i = 0; i < n; i++) {
		struct rate_bucket *last = a->nothers ? &a->others[a->nothers - 1] : NULL;
		if (last && last->hour == a->others[i].hour)
			for (int f = 0; f < SF_COUNT; f++)
				last->c.n[f] += a->others[i].c.n[f];
		else
			a->others[a->nothers++] = a->others[i];
	}
}

/* The script's arguments: EVAL, script, 3, keys, account, node, cutoff, ttl, HOUR VALUE pairs. */
static const char **
eval_args(const struct conf *conf, struct account_round *a, char (*fixed)[512], char *fields,
	  size_t *argc_r)
{
	const char **argv = xmalloc((11 + 2 * a->nmine) * sizeof(*argv));
	const char *prefix = conf->cluster.key_prefix;

	snprintf(fixed[0], 512, "%s:rep:%s", prefix, a->account);
	snprintf(fixed[1], 512, "%s:rep:changed", prefix);
	snprintf(fixed[2], 512, "%s:rep:seq", prefix);
	snprintf(fixed[3], 512, "%u", a->first);
	snprintf(fixed[4], 512, "%lld",
		 (long long)(conf->feedback.window_days * 86400 + 3600) * 1000);
	argv[0] = "EVAL", argv[1] = rep_lua, argv[2] = "3";
	argv[3] = fixed[0], argv[4] = fixed[1], argv[5] = fixed[2];
	argv[6] = a->account, argv[7] = conf->cluster.node, argv[8] = fixed[3], argv[9] = fixed[4];
	for (size_t i = 0; i < a->nmine; i++) {
		char *h = fields + i * 2 * FIELD_MAX, *v = h + FIELD_MAX;
		const uint32_t *n = a->mine[i].c.n;
		snprintf(h, FIELD_MAX, "%u", a->mine[i].hour);
		snprintf(v, FIELD_MAX, "%u,%u,%u,%u,%u,%u", n[0], n[1], n[2], n[3], n[4], n[5]);
		argv[10 + 2 * i] = h;
		argv[11 + 2 * i] = v;
	}
	*argc_r = 10 + 2 * a->nmine;
	return argv;
}

/* Publish A's buckets and fetch the others'; -1 when the connection failed (ERR). */
static int
publish(const struct conf *conf, redisContext *c, struct account_round *a, char *err, size_t errlen)
{
	char fixed[5][512], *fields = xmalloc(a->nmine * 2 * FIELD_MAX + 1);
	size_t argc;
	const char **argv = eval_args(conf, a, fixed, fields, &argc);
	redisReply *r = redisCommandArgv(c, (int)argc, argv, NULL);
	int rc = -1;

	if (redis_reply_error(c, r, "reputation", err, errlen) < 0)
		goto out;
	if (r->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "reputation: unexpected reply (type %d)", r->type);
		freeReplyObject(r);
		goto out;
	}
	others_parse(r, a);
	freeReplyObject(r);
	rc = 0;
out:
	free(argv);
	free(fields);
	return rc;
}

/* Store what was fetched, ask the feedback process to judge, clear the dirty mark if unchanged. */
static int
result_txn(struct store_txn *txn, void *arg)
{
	struct account_round *a = arg;
	char now[STAMP_MAX];
	int rc;

	if (!a->local &&
	    (rc = reputation_fleet_put(txn, a->account, a->others, a->nothers)) != STORE_OK)
		return rc;
	if ((rc = reputation_mark_set(txn, RM_JUDGE, a->account, a->local ? "local" : "fleet")) !=
	    STORE_OK)
		return rc;
	if ((rc = reputation_mark_get(txn, RM_DIRTY, a->account, now, sizeof(now))) == STORE_ERR)
		return rc;
	if (rc == STORE_OK && strcmp(now, a->stamp) == 0)
		return reputation_mark_del(txn, RM_DIRTY, a->account);
	return STORE_OK;
}

/* One dirty account: 0 done, -1 connection failed. */
static int
account_round(const struct conf *conf, struct store *st, redisContext *c, const char *account,
	      char *err, size_t errlen)
{
	struct account_round *a = xcalloc(1, sizeof(*a));
	int64_t first = (int64_t)time(NULL) / 3600 - conf->feedback.window_days * 24 + 1;
	int rc = 0;

	snprintf(a->account, sizeof(a->account), "%s", account);
	a->first = (uint32_t)(first > 0 ? first : 0);
	a->local = c == NULL;
	if (local_read(st, a) != STORE_OK)
		fatalx("cluster: %s", store_error(st));
	if (c && (rc = publish(conf, c, a, err, errlen)) < 0)
		goto out;
	if (store_write(st, result_txn, a) != STORE_OK)
		fatalx("cluster: %s", store_error(st));
	log_debug("cluster: reputation %s: %zu hours published, %zu hours of other nodes%s",
		  account, a->nmine, a->nothers, a->local ? " (disconnected: judged locally)" : "");
out:
	free(a->mine);
	free(a->others);
	free(a);
	return rc;
}

int
fleetrep_round(const struct conf *conf, struct store *st, struct redisContext *c, char *err,
	       size_t errlen)
{
	char(*names)[ACCOUNT_NAME_MAX] = xmalloc(DIRTY_BATCH * sizeof(*names));
	struct store_txn *txn;
	int n;

	if (store_read_begin(st, &txn) != STORE_OK)
		fatalx("cluster: %s", store_error(st));
	n = reputation_mark_list(txn, RM_DIRTY, names, DIRTY_BATCH);
	store_read_end(txn);
	if (n < 0)
		fatalx("cluster: %s", store_error(st));
	for (int i = 0; i < n; i++)
		if (account_round(conf, st, c, names[i], err, errlen) < 0) {
			n = -1;
			break;
		}
	free(names);
	return n < 0 ? -1 : n;
}

struct changed {
	const redisReply *r;
	uint64_t last;
};

/* Mark every account of the ZRANGEBYSCORE reply dirty: fetched again, judged again. */
static int
changed_txn(struct store_txn *txn, void *arg)
{
	struct changed *ch = arg;
	const redisReply *r = ch->r;
	int rc;

	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		if (r->element[i]->type != REDIS_REPLY_STRING ||
		    r->element[i + 1]->type != REDIS_REPLY_STRING ||
		    strlen(r->element[i]->str) >= ACCOUNT_NAME_MAX)
			continue;
		if ((rc = reputation_mark_set(txn, RM_DIRTY, r->element[i]->str, "fleet")) !=
		    STORE_OK)
			return rc;
		uint64_t seq = strtoull(r->element[i + 1]->str, NULL, 10);
		if (seq > ch->last)
			ch->last = seq;
	}
	return STORE_OK;
}

int
fleetrep_follow(const struct conf *conf, struct store *st, struct redisContext *c, uint64_t *last,
		char *err, size_t errlen)
{
	char key[512], min[32];
	const char *argv[8] = {"ZRANGEBYSCORE", key,	 min, "+inf",
			       "WITHSCORES",	"LIMIT", "0", RECENT_BATCH};
	struct changed ch = {NULL, *last};
	redisReply *r;
	int n;

	snprintf(key, sizeof(key), "%s:rep:changed", conf->cluster.key_prefix);
	snprintf(min, sizeof(min), "(%llu", (unsigned long long)*last);
	r = redisCommandArgv(c, 8, argv, NULL);
	if (redis_reply_error(c, r, "reputation changes", err, errlen) < 0)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "reputation changes: unexpected reply (type %d)", r->type);
		freeReplyObject(r);
		return -1;
	}
	ch.r = r;
	if (r->elements && store_write(st, changed_txn, &ch) != STORE_OK)
		fatalx("cluster: %s", store_error(st));
	n = (int)(r->elements / 2);
	freeReplyObject(r);
	*last = ch.last;
	return n;
}
