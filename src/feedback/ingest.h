/*
 * ingest -- delivery results from the Postfix log into the store.
 *
 * Lines go in one at a time (maillog.c parses them); a queue id is tied to
 * its account by what the policy service or milter recorded for it
 * (DB_MESSAGE), else by the smtpd `sasl_username=` line, else by the qmgr
 * `from=` sender through the identity mappings.  Every final result of a
 * recipient (sent, bounced) is counted once per account and hour (DB_STATS),
 * classified by the rule table; a hard bounce (an address class) puts the
 * recipient on the account's suppression list with reason bounce.  Each
 * deferral counts as a delay.  Each result is remembered (DB_RESULT, keyed by
 * queue id, recipient and the message's first log time), so reading the
 * same lines again counts nothing twice, and a reused short queue id is a new
 * message.  Writes are batched: ingest_flush() commits what is pending.
 */
#ifndef OUTPOST_INGEST_H
#define OUTPOST_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "feedback/classify.h"
#include "store/store.h"

struct ingest_stats {
	uint64_t lines, ignored, malformed;
	uint64_t results;      /* final results and deferrals seen */
	uint64_t counted[6];   /* by enum stats_field, new ones only */
	uint64_t duplicates;   /* already counted by an earlier read */
	uint64_t unattributed; /* no account for the queue id */
	uint64_t suppressed;   /* hard bounces put on a suppression list */
};

struct ingest;

struct ingest *ingest_create(const struct conf *conf, struct store *st,
			     const struct classify_rules *rules);
void ingest_destroy(struct ingest *ing);
/* Take one log line (without or with its newline).  0, or -1 on a store failure. */
int ingest_line(struct ingest *ing, const char *line, size_t len, int64_t now);
/* Commit what is pending.  0, or -1 on a store failure (logged). */
int ingest_flush(struct ingest *ing);
/*
 * Commit what is pending and, in the same transaction, DB_META KEY = VAL (the
 * log follower's position: a crash then never counts a line twice nor skips
 * one).  Written even with nothing pending.  0, or -1 on a store failure (logged).
 */
int ingest_commit(struct ingest *ing, const char *key, const void *val, size_t vlen);
/* Call FN for each account that got results since the last ingest_touched_clear(). */
void ingest_touched(const struct ingest *ing, void (*fn)(const char *account, void *arg),
		    void *arg);
void ingest_touched_clear(struct ingest *ing);
const struct ingest_stats *ingest_get_stats(const struct ingest *ing);

#endif
