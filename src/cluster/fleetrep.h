/*
 * fleetrep -- reputation counters merged across the fleet (the cluster
 * process's side; feedback/reputation.h has the store's).
 *
 * Redis keeps, per account, the hash PREFIX:rep:ACCOUNT: "NODE/HOUR" ->
 * "D,H,S,B,F,C", that node's absolute counters of that hour (delivered, hard,
 * soft, block, deferred, complaint; HOUR = epoch seconds / 3600).  An account
 * the feedback process marked dirty is published: one Lua script HSETs this
 * node's buckets of the window (absolute totals: a re-push changes nothing),
 * drops the fields older than feedback.window_days, sets the key's expiry to
 * the window's length plus an hour, and returns the other nodes' fields; when
 * this node's fields changed, the account is added to the zset PREFIX:rep:changed
 * with the next number of PREFIX:rep:seq.  Every heartbeat each cluster process
 * reads the zset past the last number it saw and marks those accounts dirty,
 * so every node fetches (and judges) an account again after any node's change.  They
 * are summed per hour into DB_META "fleetrep:ACCOUNT" and the account is
 * marked for judging ("fleet").  Disconnected, a dirty account is marked
 * "local" at once: the feedback process judges it on this host's counters.
 */
#ifndef OUTPOST_FLEETREP_H
#define OUTPOST_FLEETREP_H

#include <stddef.h>

struct conf;
struct store;
struct redisContext;

/* Publish and fetch the dirty accounts (C NULL: disconnected, judge them locally).
 * How many accounts were handled, or -1 when the connection failed (ERR). */
int fleetrep_round(const struct conf *conf, struct store *st, struct redisContext *c, char *err,
		   size_t errlen);

/* Mark dirty the accounts another node changed in Redis since *LAST (the zset
 * PREFIX:rep:changed, scored by the sequence PREFIX:rep:seq), *LAST moved on.  How many,
 * or -1 when the connection failed (ERR). */
int fleetrep_follow(const struct conf *conf, struct store *st, struct redisContext *c,
		    uint64_t *last, char *err, size_t errlen);

#endif
