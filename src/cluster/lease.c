/* lease -- the fleet's daily quotas leased from Redis; see lease.h. */
#include "config.h"

#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "lease.h"
#include "quota/quota.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xalloc.h"

#define ASK_BATCH 64

/*
 * KEYS[1] the account's lease hash; ARGV node, floor, target, limit, forget_ms.
 * The node's allowance becomes TARGET, or what the other nodes leave of LIMIT
 * if that is less, but never less than FLOOR (what the node may already have
 * admitted).  Entries not renewed for FORGET_MS (or unreadable) are dropped.
 * Returns {allowance, units of the limit nobody holds}.
 */
static const char lease_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local node, floor = ARGV[1], tonumber(ARGV[2])\n"
    "local target, limit, forget = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "local h = redis.call('HGETALL', KEYS[1])\n"
    "local others = 0\n"
    "for i = 1, #h, 2 do\n"
    "  if h[i] ~= node then\n"
    "    local a, ms = string.match(h[i + 1], '^(%d+):(%d+)$')\n"
    "    if a == nil or now - tonumber(ms) > forget then\n"
    "      redis.call('HDEL', KEYS[1], h[i])\n"
    "    else\n"
    "      others = others + tonumber(a)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local allow = limit - others\n"
    "if allow > target then allow = target end\n"
    "if allow < floor then allow = floor end\n"
    "redis.call('HSET', KEYS[1], node, allow .. ':' .. now)\n"
    "redis.call('PEXPIRE', KEYS[1], forget)\n"
    "return {allow, limit - others - allow}\n";

const struct lease_kind lease_kinds[QF_KINDS] = {
    /* A day's counts leave the window a day (+ a bucket) after they were admitted. */
    [QF_DAY] = {"lease", 86400LL * 1000, (2 * 86400LL + 600) * 1000, 3600LL * 1000},
    [QF_HOUR] = {"lease-hourly", 3600LL * 1000, (2 * 3600LL + 600) * 1000, 600LL * 1000},
    /* The key names the month: last month's hash just expires. */
    [QF_MONTH] = {"lease-monthly", 86400LL * 1000, 35 * 86400LL * 1000, 3600LL * 1000},
    /* Per mille of the rate: nothing admitted stays counted, so it may be forgotten soon. */
    [QF_RATE] = {"lease-rate", 3600LL * 1000, (3600LL + 600) * 1000, 600LL * 1000},
};

struct lease {
	const struct conf *conf;
	uint32_t ask_pos;
	int64_t last_full_ms;
	uint64_t grants, held;
};

struct lease *
lease_create(const struct conf *conf)
{
	struct lease *l = xcalloc(1, sizeof(*l));

	l->conf = conf;
	return l;
}

void
lease_destroy(struct lease *l)
{
	free(l);
}

void
lease_figures(const struct lease *l, uint64_t *grants, uint64_t *held)
{
	*grants = l->grants;
	*held = l->held;
}

/* What one slot needs from Redis, read under its lock. */
struct want {
	char account[QSLOT_KEY_MAX];
	enum qfleet_kind kind;
	uint64_t used, floor, target;
	int64_t limit;
};

/* Lease KIND of S lapsed at NOW_MS (too old, or granted for another month)? */
static int
lapsed(const struct qfleet *f, enum qfleet_kind kind, int64_t now_ms)
{
	return f->ms == 0 || now_ms - f->ms >= lease_kinds[kind].max_age_ms ||
	       (kind == QF_MONTH &&
		quota_month_index(f->ms / 1000) != quota_month_index(now_ms / 1000));
}

/*
 * The rate lease of slot S (locked): asked (refused for want of a share) ->
 * a batch more; idle for 5 heartbeats while the fleet has no share left ->
 * give it all back (lowered here first); else renew in time.  1 with W
 * filled when Redis must be asked.
 */
static int
rate_want(struct lease *l, struct qslot *s, uint32_t nodes, int64_t now_ms, int full,
	  struct want *w)
{
	struct qfleet *f = &s->fleet[QF_RATE];
	int64_t age = now_ms - f->ms;
	int asked = f->ask != f->seen, idle;
	uint64_t batch = QF_RATE_ALL / (4 * (nodes ? nodes : 1));

	if (s->total != f->used) {
		f->used = s->total;
		f->active_ms = now_ms;
	}
	idle = now_ms - f->active_ms >= 5 * l->conf->cluster.heartbeat_interval;

	if (lapsed(f, QF_RATE, now_ms))
		f->allow = 0;
	if (!asked && !full)
		return 0;
	if (asked)
		w->target = f->allow + (batch ? batch : 1);
	else if (idle && f->room <= 0 && f->allow > 0)
		w->target = 0;
	else if (age >= lease_kinds[QF_RATE].renew_ms)
		w->target = f->allow;
	else
		return 0;
	if (w->target > QF_RATE_ALL)
		w->target = QF_RATE_ALL;
	if (f->allow > w->target)
		f->allow = w->target;
	w->floor = f->allow;
	w->used = s->total;
	w->limit = QF_RATE_ALL;
	w->kind = QF_RATE;
	f->seen = f->ask;
	f->batch = batch;
	text_copy(w->account, sizeof(w->account), s->key + 2);
	return 1;
}

/*
 * Decide what lease KIND of slot S needs (locked by the caller) at NOW_MS: 1
 * with W filled when Redis must be asked, 0 when nothing.  An allowance to be
 * lowered is lowered here, in the table, before Redis hears of it.
 */
static int
slot_want(struct lease *l, struct qslot *s, enum qfleet_kind kind, uint32_t nodes, int64_t now_ms,
	  int full, struct want *w)
{
	struct qfleet *f = &s->fleet[kind];
	int64_t age = now_ms - f->ms;
	uint64_t used, cur, spare, batch;
	int asked, demand;

	if (strncmp(s->key, "a:", 2) != 0 || f->limit <= 0)
		return 0;
	if (kind == QF_RATE)
		return rate_want(l, s, nodes, now_ms, full, w);
	used = quota_slot_used(s, kind, now_ms / 1000);
	if (lapsed(f, kind, now_ms))
		f->allow = 0; /* lapsed on this node (quota.c): start again from nothing */
	cur = f->allow;
	asked = f->ask != f->seen;
	demand = asked || used > f->used;
	spare = cur > used ? cur - used : 0;
	batch = (uint64_t)f->limit / (4 * (nodes ? nodes : 1));
	if (batch < 1)
		batch = 1;
	if (!asked && !full)
		return 0;
	/* Nothing asked: renew in time; an idle spare is looked at every 5 heartbeats and
	 * given back once the fleet has no room left. */
	if (!demand && age < lease_kinds[kind].renew_ms &&
	    (spare == 0 || (f->room > 0 && age < 5 * l->conf->cluster.heartbeat_interval)))
		return 0;
	w->target = used + (demand ? batch : f->room > 0 ? (spare < batch ? spare : batch) : 0);
	if (cur > w->target)
		f->allow = cur = w->target;
	w->floor = cur > used ? cur : used;
	if (w->target < w->floor)
		w->target = w->floor;
	w->used = used;
	w->limit = f->limit;
	w->kind = kind;
	f->seen = f->ask;
	f->batch = batch;
	text_copy(w->account, sizeof(w->account), s->key + 2);
	return 1;
}

/* The Redis key of W's lease at NOW_MS. */
static void
want_key(const struct lease *l, const struct want *w, int64_t now_ms, char *key, size_t len)
{
	if (w->kind == QF_MONTH)
		snprintf(key, len, "%s:%s:%lld:%s", l->conf->cluster.key_prefix,
			 lease_kinds[w->kind].key, (long long)quota_month_index(now_ms / 1000),
			 w->account);
	else
		snprintf(key, len, "%s:%s:%s", l->conf->cluster.key_prefix,
			 lease_kinds[w->kind].key, w->account);
}

/* Run the lease script for W at SENT_MS: 0 with *ALLOW and *ROOM, or -1 (ERR). */
static int
lease_eval(struct lease *l, redisContext *c, const struct want *w, int64_t sent_ms,
	   long long *allow, long long *room, char *err, size_t errlen)
{
	char key[QSLOT_KEY_MAX + 300], floor[24], target[24], limit[24], forget[24];
	const char *argv[10] = {"EVAL", lease_lua, "1",	  key,	 l->conf->cluster.node,
				floor,	target,	   limit, forget};
	redisReply *r;
	int ok;

	want_key(l, w, sent_ms, key, sizeof(key));
	snprintf(floor, sizeof(floor), "%llu", (unsigned long long)w->floor);
	snprintf(target, sizeof(target), "%llu", (unsigned long long)w->target);
	snprintf(limit, sizeof(limit), "%lld", (long long)w->limit);
	snprintf(forget, sizeof(forget), "%lld", (long long)lease_kinds[w->kind].forget_ms);
	r = redisCommandArgv(c, 9, argv, NULL);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "quota lease: %s",
			 r		? r->str
			 : c->errstr[0] ? c->errstr
					: "no reply");
		if (r)
			freeReplyObject(r);
		return -1;
	}
	ok = r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	     r->element[0]->type == REDIS_REPLY_INTEGER &&
	     r->element[1]->type == REDIS_REPLY_INTEGER && r->element[0]->integer >= 0;
	if (ok) {
		*allow = r->element[0]->integer;
		*room = r->element[1]->integer;
	} else
		snprintf(err, errlen, "quota lease: unexpected reply (type %d)", r->type);
	freeReplyObject(r);
	return ok ? 0 : -1;
}

/*
 * Ask Redis for lease KIND of slot INDEX; 1 changed, 0 nothing to do, -1
 * connection failed.
 */
static int
slot_lease(struct lease *l, redisContext *c, uint32_t index, enum qfleet_kind kind, uint32_t nodes,
	   int full, char *err, size_t errlen)
{
	static const char *const names[QF_KINDS] = {"daily", "hourly", "monthly", "rate"};
	struct qslot *s = qslot_at(quota_table, index);
	int64_t sent_ms = now_us() / 1000;
	long long allow, room;
	struct qfleet *f;
	struct want w;
	int ok;

	if (s == NULL || __atomic_load_n(&s->keyhash, __ATOMIC_ACQUIRE) == 0)
		return 0;
	f = &s->fleet[kind];
	qslot_lock(quota_table, s);
	ok = slot_want(l, s, kind, nodes, sent_ms, full, &w);
	qslot_unlock(s);
	if (!ok)
		return 0;
	if (lease_eval(l, c, &w, sent_ms, &allow, &room, err, errlen) < 0)
		return -1;
	qslot_lock(quota_table, s);
	/* Never below what the table allows (the script's floor): only this process lowers it. */
	if ((uint64_t)allow >= f->allow)
		f->allow = (uint64_t)allow;
	f->ms = sent_ms;
	f->room = room;
	f->used = w.used;
	qslot_unlock(s);
	log_debug("cluster: lease %s %s: allowance %lld (used %llu, asked %llu), %lld free in "
		  "the fleet",
		  names[kind], w.account, allow, (unsigned long long)w.used,
		  (unsigned long long)w.target, room);
	l->grants++;
	return 1;
}

int
lease_round(struct lease *l, struct redisContext *c, int full, uint32_t nodes, char *err,
	    size_t errlen)
{
	uint32_t idx[ASK_BATCH];
	int n, rc, changed = 0;

	if (quota_table == NULL)
		return 0;
	n = qtable_fleet_asks(quota_table, &l->ask_pos, idx, ASK_BATCH);
	if (n < 0)
		full = 1; /* fell behind the queue: look at every slot */
	for (int i = 0; i < n; i++) {
		rc = slot_lease(l, c, idx[i] / QF_KINDS, idx[i] % QF_KINDS, nodes, 0, err, errlen);
		if (rc < 0)
			return -1;
		changed += rc;
	}
	if (!full)
		return changed;
	l->held = 0;
	for (uint32_t i = 0; i < qtable_slots(quota_table); i++) {
		struct qslot *s = qslot_at(quota_table, i);
		int held = 0;
		if (__atomic_load_n(&s->keyhash, __ATOMIC_ACQUIRE) == 0 || s->key[0] != 'a')
			continue;
		for (int k = 0; k < QF_KINDS; k++) {
			if (__atomic_load_n(&s->fleet[k].limit, __ATOMIC_RELAXED) <= 0)
				continue;
			held |= __atomic_load_n(&s->fleet[k].ms, __ATOMIC_RELAXED) != 0;
			if ((rc = slot_lease(l, c, i, k, nodes, 1, err, errlen)) < 0)
				return -1;
			changed += rc;
		}
		l->held += held;
	}
	return changed;
}
