/*
 * quota -- sending quotas and rates, checked at RCPT and committed at
 * END-OF-MESSAGE, exact on one host.
 *
 * Three scopes, each with the same kinds of limit: the account (its own
 * settings, else limits.* in the config), each sender domain
 * (limits.domain_*) and the whole host (limits.host_*).  Kinds:
 *   rate     recipients per second/minute/hour with a burst (GCRA); an account
 *            under review gets limits.review_rate_factor of it;
 *   daily    recipients in the rolling 24 hours (288 buckets of 5 minutes);
 *   hourly   recipients in the rolling hour (288 buckets of 12.5 s);
 *   monthly  recipients in the calendar month (UTC).
 * The unit is the recipient everywhere.
 *
 * A recipient accepted at RCPT is reserved (counted against every limit of
 * its scopes, so concurrent transactions can't overshoot); at END-OF-MESSAGE
 * the message's recipient count is committed and the reservation dropped; a
 * transaction that ends otherwise (RSET, a new transaction on the connection,
 * disconnect, a rejection by a later rule) releases it, and the rate units it
 * took are given back.  Reservations a process could not release (killed)
 * lapse after 15 minutes.  So a refused, aborted or tempfailed transaction
 * consumes nothing and nothing is admitted over a limit: over-admission is 0
 * on one host.  Only one front door counts (quota.front_door), so a message
 * that passes both the policy service and the milter is counted once.
 */
#ifndef OUTPOST_QUOTA_H
#define OUTPOST_QUOTA_H

#include <stdint.h>

#include "conf/conf.h"
#include "decide/facts.h"
#include "quota/limits.h"
#include "quota/qtable.h"

#define QUOTA_SCOPES 3

/*
 * What a front door keeps per connection: the transaction it last saw.  When
 * the next one starts, or the connection closes, the last one's reservation
 * is released unless END-OF-MESSAGE (on any connection) committed it.
 */
struct quota_conn {
	char instance[QTXN_ID_MAX];
	int held;      /* this connection reserved something under INSTANCE */
	uint32_t hint; /* where INSTANCE's entry is in the table (qtxn_get) */
};

/* Usage of one scope, for `account show` and explain. */
struct quota_usage {
	uint64_t day, hour, month, reserved, total;
	int64_t rate_available; /* recipients the rate allows at once now; -1: no rate */
};

/* The table of this process (the master opens it before the children fork); NULL: no quotas. */
extern struct qtable *quota_table;

/* Open the table under the store directory (path STORE/quota.tab). */
int quota_open(const struct conf *conf, int create, char *err, size_t errlen);

/* Read one account setting (max-rate, daily-quota, ...) into L; -1 on a bad value. */
int quota_limits_set(struct quota_limits *l, const char *key, const char *value);
/* The config's defaults for accounts. */
void quota_limits_default(const struct conf *conf, struct quota_limits *l);

/*
 * The quota step of the decision path, after decide() passed: at RCPT admit
 * one recipient, reserved under the transaction's id (QC NULL: only check, as
 * explain does), at END-OF-MESSAGE commit the message's recipients.  Turns V
 * into a tempfail naming the limit, or into would_refuse in monitor mode.
 */
void quota_decide(const struct conf *conf, const struct facts *f, struct verdict *v,
		  struct quota_conn *qc);
/* The connection closes, or its transaction ended: release what was not committed. */
void quota_release(struct quota_conn *qc);

/*
 * Slot S (locked by the caller): recipients committed at NOW in the window of
 * lease KIND (the rolling 24 h, the rolling hour, the calendar month), plus
 * those reserved.
 */
uint64_t quota_slot_used(struct qslot *s, enum qfleet_kind kind, int64_t now);
/* Year * 12 + month (0-based) of NOW (UTC). */
int64_t quota_month_index(int64_t now);
/* Usage of scope KEY ("a:ACCOUNT", "d:DOMAIN", "h:") at NOW; -1 if never used. */
int quota_usage(const char *key, const struct quota_limits *l, int64_t now, struct quota_usage *u);

#endif
