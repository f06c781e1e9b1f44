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
/* ACCOUNT's window and rates at NOW under LIM. */
int reputation_window(struct store_txn *txn, const char *account, int64_t now,
		      const struct rate_limits *lim, struct rate_window *w);
/* The fresh-window start of ACCOUNT; STORE_NOTFOUND if it never had one. */
int reputation_fresh_get(struct store_txn *txn, const char *account, struct window_rec *r);
/* Start ACCOUNT's window afresh at NOW (an operator resumed it): what was counted so
 * far no longer counts. */
int reputation_fresh_start(struct store_txn *txn, const char *account, int64_t now);

struct reputation_verdict {
	int from, to; /* to: -1 when the rates call for no change */
	int cause;    /* enum rate_cause */
	int applied;  /* the state was changed (0 with auto-enforce=off) */
	struct rate_window w;
	struct rate_limits lim;
	char by[BY_MAX];
	char reason[REASON_MAX];
};
/* Judge ACCOUNT at NOW and move it unless its auto-enforce setting is off (run in a write
 * transaction; the caller logs V after the commit). */
int reputation_enforce(struct store_txn *txn, const struct conf *conf, const char *account,
		       int64_t now, struct reputation_verdict *v);

/* Write the state change V of ACCOUNT as a state event (event log, hook). */
void reputation_event(const struct conf *conf, const char *account,
		      const struct reputation_verdict *v);

#endif
