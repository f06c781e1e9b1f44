/*
 * account_view -- an account as the operator sees it, in JSON, and the
 * operator's state changes: the one implementation behind `outpostctl
 * account show|list|pause|resume|review|stats` and the HTTP API's
 * /v1/accounts paths.
 *
 * The JSON functions run inside a read transaction the caller owns and
 * return new jansson references (json_t *).  Quota usage comes from the
 * shared quota table (quota.h): the caller opens it (outpostctl) or
 * inherited it (outpostd's children); without it usage is 0.
 */
#ifndef OUTPOST_ACCOUNT_VIEW_H
#define OUTPOST_ACCOUNT_VIEW_H

#include <jansson.h>
#include <stdint.h>

#include "conf/conf.h"
#include "feedback/rate.h"
#include "store/records.h"
#include "store/store.h"

/* Everything `account show --json` prints: state, reason, settings, mappings, history,
 * quota limits and usage, and the reputation window with both rates. */
json_t *account_view_json(struct store_txn *txn, const struct conf *conf, const char *name,
			  const struct account_rec *rec, int64_t now);
/* One line of `account list --json`; with RATES, the reputation object too (the API). */
json_t *account_view_summary(struct store_txn *txn, const struct conf *conf, const char *name,
			     const struct account_rec *rec, int64_t now, int rates);
/* The reputation window, its rates, the thresholds in effect and the evidence sentence
 * ("over the last N eligible emails spanning D days"). */
json_t *account_view_reputation(const struct rate_window *w, const struct rate_limits *lim,
				int have_fresh, const struct window_rec *fresh);
/* ACCOUNT's reputation at NOW, read from the store; NULL on a store error. */
json_t *account_view_reputation_read(struct store_txn *txn, const struct conf *conf,
				     const char *name, int64_t now);

/*
 * Move NAME to STATE (pause, review, resume) with REASON by BY, in its own write
 * transaction; a resume starts a fresh reputation window.  *UNCHANGED_R is set when the
 * account was already in STATE.  STORE_OK, STORE_NOTFOUND (no such account) or STORE_ERR.
 */
int account_change_state(struct store *st, const char *name, int state, const char *by,
			 const char *reason, int64_t now, int *unchanged_r, int *from_r);

#endif
