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
	uint64_t used, floor, target;
	int64_t limit;
};

/*
 * Decide what slot S needs (locked by the caller) at NOW_MS: 1 with W filled
 * when Redis must be asked, 0 when nothing.  An allowance to be lowered is
 * lowered here, in the table, before Redis hears of it.
 */
static int
slot_want(struct lease *l, struct qslot *s, uint32_t nodes, int64_t now_ms, int full,
	  struct want *w)
{
	int64_t age = now_ms - s->fleet_ms;
	uint64_t used, cur, spare, batch;
	int asked, demand;

	if (strncmp(s->key, "a:", 2) != 0 || s->fleet_limit <= 0)
		return 0;
	used = quota_slot_day_used(s, now_ms / 1000);
	if (s->fleet_ms == 0 || age >= LEASE_MAX_AGE_MS)
		s->fleet_allow = 0; /* lapsed on this node (quota.c): start again from nothing */
	cur = s->fleet_allow;
	asked = s->fleet_ask != s->fleet_seen;
	demand = asked || used > s->fleet_used;
	spare = cur > used ? cur - used : 0;
	batch = (uint64_t)s->fleet_limit / (4 * (nodes ? nodes : 1));
	if (batch < 1)
		batch = 1;
	if (!asked && !full)
		return 0;
	/* Nothing asked: renew hourly; an idle spare is looked at every 5 heartbeats and
	 * given back once the fleet has no room left. */
	if (!demand && age < LEASE_RENEW_MS &&
	    (spare == 0 || (s->fleet_room > 0 && age < 5 * l->conf->cluster.heartbeat_interval)))
		return 0;
	w->target = used + (demand		? batch
			    : s->fleet_room > 0 ? (spare < batch ? spare : batch)
						: 0);
	if (cur > w->target)
		s->fleet_allow = cur = w->target;
	w->floor = cur > used ? cur : used;
	if (w->target < w->floor)
		w->target = w->floor;
	w->used = used;
	w->limit = s->fleet_limit;
	s->fleet_seen = s->fleet_ask;
	s->fleet_batch = batch;
	text_copy(w->account, sizeof(w->account), s->key + 2);
	return 1;
}

/* Ask Redis for slot S's allowance; 1 changed, 0 nothing to do, -1 connection failed. */
static int
slot_lease(struct lease *l, redisContext *c, uint32_t index, uint32_t nodes, int full, char *err,
	   size_t errlen)
{
	struct qslot *s = qslot_at(quota_table, index);
	char key[QSLOT_KEY_MAX + 300], floor[24], target[24], limit[24], forget[24];
	const char *argv[10] = {"EVAL", lease_lua, "1",	  key,	 l->conf->cluster.node,
				floor,	target,	   limit, forget};
	int64_t sent_ms = now_us() / 1000;
	struct want w;
	redisReply *r;
	int ok;

	if (s == NULL || __atomic_load_n(&s->keyhash, __ATOMIC_ACQUIRE) == 0)
		return 0;
	qslot_lock(quota_table, s);
	ok = slot_want(l, s, nodes, sent_ms, full, &w);
	qslot_unlock(s);
	if (!ok)
		return 0;
	snprintf(key, sizeof(key), "%s:lease:%s", l->conf->cluster.key_prefix, w.account);
	snprintf(floor, sizeof(floor), "%llu", (unsigned long long)w.floor);
	snprintf(target, sizeof(target), "%llu", (unsigned long long)w.target);
	snprintf(limit, sizeof(limit), "%lld", (long long)w.limit);
	snprintf(forget, sizeof(forget), "%lld", (long long)LEASE_FORGET_MS);
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
	if (!ok) {
		snprintf(err, errlen, "quota lease: unexpected reply (type %d)", r->type);
		freeReplyObject(r);
		return -1;
	}
	qslot_lock(quota_table, s);
	/* Never below what the table allows (the script's floor): only this process lowers it. */
	if ((uint64_t)r->element[0]->integer >= s->fleet_allow)
		s->fleet_allow = (uint64_t)r->element[0]->integer;
	s->fleet_ms = sent_ms;
	s->fleet_room = r->element[1]->integer;
	s->fleet_used = w.used;
	qslot_unlock(s);
	log_debug(
	    "cluster: lease %s: allowance %lld (used %llu, asked %llu), %lld free in the fleet",
	    w.account, r->element[0]->integer, (unsigned long long)w.used,
	    (unsigned long long)w.target, r->element[1]->integer);
	freeReplyObject(r);
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
		if ((rc = slot_lease(l, c, idx[i], nodes, 0, err, errlen)) < 0)
			return -1;
		changed += rc;
	}
	if (!full)
		return changed;
	l->held = 0;
	for (uint32_t i = 0; i < qtable_slots(quota_table); i++) {
		struct qslot *s = qslot_at(quota_table, i);
		if (__atomic_load_n(&s->keyhash, __ATOMIC_ACQUIRE) == 0 || s->key[0] != 'a' ||
		    __atomic_load_n(&s->fleet_limit, __ATOMIC_RELAXED) <= 0)
			continue;
		l->held += __atomic_load_n(&s->fleet_ms, __ATOMIC_RELAXED) != 0;
		if ((rc = slot_lease(l, c, i, nodes, 1, err, errlen)) < 0)
			return -1;
		changed += rc;
	}
	return changed;
}
