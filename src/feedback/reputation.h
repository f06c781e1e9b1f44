/*
 * reputation -- the store side of the reputation loop: an account's window
 * and rates (rate.c does the arithmetic), the thresholds in effect (the
 * feedback.* config, overridden per account by `outpostctl account set
 * ACCOUNT bounce-pause=...`), the fresh window an operator's resume starts,
 * and the automatic state change: active -> review -> paused, never back.
 *
 * Every function runs inside a store transaction the caller owns; none logs.
 * Return values are the store's (STORE_OK, STORE_NOTFOUND, STORE_ERR).
 */
#ifndef OUTPOST_REPUTATION_H
#define OUTPOST_REPUTATION_H

#include <stdint.h>

#include "conf/conf.h"
#include "feedback/rate.h"
#include "store/records.h"
#include "store/store.h"

/* The limits for ACCOUNT: CONF's feedback.*, overridden by the account's settings. */
int reputation_limits(struct store_txn *txn, const struct conf *conf, const char *account,
		      struct rate_limits *lim);
/* ACCOUNT's window and rates at NOW under LIM: this host's counters merged, hour by hour,
 * with the other nodes' (reputation_fleet_put) when there are any. */
int reputation_window(struct store_txn *txn, const char *account, int64_t now,
		      const struct rate_limits *lim, struct rate_window *w);
/* The same over this host's counters only. */
int reputation_window_local(struct store_txn *txn, const char *account, int64_t now,
			    const struct rate_limits *lim, struct rate_window *w);

/*
 * The fleet (cluster/fleetrep.h).  DB_META, never replicated:
 *   "fleetrep:ACCOUNT"    the other nodes' hourly counters, summed per hour, as the cluster
 *                         process last fetched them from Redis;
 *   "fleetdirty:ACCOUNT"  this host counted new results (feedback) -> the cluster process
 *                         publishes its counters and fetches the others';
 *   "fleetjudge:ACCOUNT"  "fleet" (fetched) or "local" (Redis out of reach) -> the feedback
 *                         process judges the account.
 */
enum reputation_mark { RM_DIRTY, RM_JUDGE };
/* Replace ACCOUNT's other-node buckets B[0..N-1] (ascending hours). */
int reputation_fleet_put(struct store_txn *txn, const char *account, const struct rate_bucket *b,
			 size_t n);
/* This host's buckets of ACCOUNT from hour FIRST on (ascending); *B_R is the caller's to free. */
int reputation_buckets(struct store_txn *txn, const char *account, uint32_t first,
		       struct rate_bucket **b_r, size_t *n_r);
int reputation_mark_set(struct store_txn *txn, int mark, const char *account, const char *val);
/* ACCOUNT's mark, VAL ("" if none) filled; STORE_NOTFOUND when not marked. */
int reputation_mark_get(struct store_txn *txn, int mark, const char *account, char *val,
			size_t len);
int reputation_mark_del(struct store_txn *txn, int mark, const char *account);
/* Up to MAX accounts marked MARK into NAMES (ACCOUNT_NAME_MAX each); how many, or -1. */
int reputation_mark_list(struct store_txn *txn, int mark, char (*names)[ACCOUNT_NAME_MAX], int max);
/* The fresh-window start of ACCOUNT; STORE_NOTFOUND if it never had one. */
int reputation_fresh_get(struct store_txn *txn, const char *account, struct window_rec *r);
/* Start ACCOUNT's window afresh at NOW (an operator resumed it): what was counted so
 * far no longer counts. */
int reputation_fresh_start(struct store_txn *txn, const char *account, int64_t now);

struct reputation_verdict {
	int from, to;  /* to: -1 when the rates call for no change */
	int cause;     /* enum rate_cause */
	int applied;   /* the state was changed (0 with auto-enforce=off) */
	int enforce;   /* the account's auto-enforce is on */
	int64_t since; /* the account's last state change (the from-state's start) */
	struct rate_window w;
	struct rate_limits lim;
	char by[BY_MAX];
	char reason[REASON_MAX];
};
/* Judge ACCOUNT at NOW and move it unless its auto-enforce setting is off (run in a write
 * transaction; the caller logs V after the commit). */
int reputation_enforce(struct store_txn *txn, const struct conf *conf, const char *account,
		       int64_t now, struct reputation_verdict *v);
enum { REP_LOCAL = 1, REP_NOAPPLY = 2 };
/* reputation_enforce() with FLAGS: REP_LOCAL judges this host's counters only; REP_NOAPPLY
 * fills V without changing the state (V->applied stays 0). */
int reputation_judge(struct store_txn *txn, const struct conf *conf, const char *account,
		     int64_t now, int flags, struct reputation_verdict *v);

/* Write the state change V of ACCOUNT as a state event (event log, hook). */
void reputation_event(const struct conf *conf, const char *account,
		      const struct reputation_verdict *v);

#endif
