/*
 * lease -- daily, hourly and monthly quotas that hold across the fleet: each
 * node may send, per account, only what it leased from Redis.
 *
 * Redis keeps, per account and count limit, a hash of node -> "ALLOWANCE:MS":
 * PREFIX:lease:ACCOUNT (the rolling 24 h), PREFIX:lease-hourly:ACCOUNT (the
 * rolling hour), PREFIX:lease-monthly:MONTH:ACCOUNT (the calendar month,
 * MONTH = year * 12 + month - 1: a new month starts from nothing).  A node's
 * allowance is the most its own count of that limit (committed + reserved,
 * in the shared quota table) may reach.  A Lua
 * script changes one node's allowance atomically and never lets the sum over
 * the nodes exceed the limit, so the nodes' counts together never exceed it
 * either: 0 over-admission while connected.  The cluster process
 *   - grants: an account that runs low (half a batch left) or is short asks
 *     through the quota table's queue (qtable_fleet_ask); the script raises the
 *     allowance by up to a batch (limit / (4 * nodes), at least 1) of what
 *     nobody holds;
 *   - returns: an allowance is lowered in the table *before* Redis is told, so
 *     a node never admits what Redis no longer counts for it; an idle account
 *     gives back its spare when the fleet has none left;
 *   - renews every allowance it holds (renew_ms below).
 * The decision path never waits: beyond its allowance a connected node
 * tempfails with the quota text and asks.  Cut off from Redis (no heartbeat
 * for 3 heartbeat intervals, or the cluster process gone), it keeps its
 * allowance and beyond it admits up to limit / nodes seen
 * (cluster.partition_quota = share: at most that many over the limit per node
 * cut off) or nothing (tempfail: 0 over).  An allowance not renewed in time
 * (max_age_ms below) lapses on the node; Redis forgets it after forget_ms,
 * when everything admitted under it has left every window.
 */
#ifndef OUTPOST_LEASE_H
#define OUTPOST_LEASE_H

#include <stddef.h>
#include <stdint.h>

#include "quota/qtable.h"

/* Per lease kind (enum qfleet_kind). */
struct lease_kind {
	const char *key;    /* the Redis key's middle part: "lease", "lease-hourly", ... */
	int64_t max_age_ms; /* the node stops using an allowance older than this */
	int64_t forget_ms;  /* Redis drops an allowance not renewed for this long */
	int64_t renew_ms;   /* held allowances are renewed this often */
};
extern const struct lease_kind lease_kinds[QF_KINDS];

struct conf;
struct lease;
struct redisContext;

struct lease *lease_create(const struct conf *conf);
void lease_destroy(struct lease *l);

/*
 * While connected: handle the accounts that asked, and (FULL) look at every
 * slot for allowances to renew or give back.  NODES: nodes seen (0: unknown).
 * The number of allowances changed, or -1 when the connection failed (ERR).
 */
int lease_round(struct lease *l, struct redisContext *c, int full, uint32_t nodes, char *err,
		size_t errlen);

/* Figures for `cluster status`: grants made, accounts holding an allowance. */
void lease_figures(const struct lease *l, uint64_t *grants, uint64_t *held);

#endif
