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
 *
 * Every source of delivery results ends in ingest_result(): the log lines
 * above, asynchronous DSNs and ARF complaints (`outpostctl ingest dsn|arf`)
 * and an operator's `outpostctl event ...`.  So all are counted, deduplicated,
 * suppressed and noted (ingest_set_notify: the event log) the same way.
 *
 * `status=expired` (qmgr: the message's queue lifetime ran out) makes every
 * recipient of that queue id still deferred -- a deferral in DB_RESULT and no
 * final result -- a final soft failure (SF_SOFT, eligible), once; it is found
 * in the store, so an expiry days after the deferrals counts across restarts.
 *
 * Dedup: a result with a key counts once per key.  A bounce with a queue id
 * also leaves a marker (queue id, recipient, 'F'), so a bounce that Postfix
 * logged and then returned as a DSN (or a DSN piped twice under other
 * keys) counts once; the cost: a reused short queue id bouncing to the same
 * recipient again is not counted a second time.
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
	uint64_t suppressed;   /* hard bounces and complaints put on a suppression list */
	uint64_t expired;      /* deferred recipients made final by status=expired */
};

/* One delivery result from any source: the log, a DSN, an ARF report, an operator. */
struct ingest_result {
	int field;	       /* enum stats_field */
	int cls;	       /* enum bounce_class (BC_OTHER for a complaint) */
	const char *cls_name;  /* for the note; NULL: classify_name(cls) */
	int suppress;	       /* enum suppress_reason for the account's list; 0: none */
	const char *account;   /* the account it belongs to */
	const char *recipient; /* normalised; NULL or "": counted, never suppressed */
	const char *queue_id;  /* the original message's, or NULL */
	const char *dsn;       /* "5.1.1", or NULL */
	const char *text;      /* diagnostic or reason, or NULL */
	int64_t when;
	const void *key; /* dedup key in DB_RESULT (at most 500 bytes); NULL: none */
	size_t klen;
	int marker; /* also dedup on queue id + recipient (see above) */
};

/* What a new (not duplicate) result was, after its commit: for the event log. */
struct ingest_note {
	const char *type;			    /* "delivery", "bounce", "complaint", "delay" */
	const char *account, *recipient, *queue_id; /* "" when unknown */
	const char *cls, *dsn, *text;
	int field;    /* enum stats_field */
	int suppress; /* enum suppress_reason of the suppression made, 0: none */
	int expired;  /* a deferral made final by status=expired */
	int64_t when;
};
typedef void (*ingest_note_fn)(const struct ingest_note *n, void *arg);

struct ingest;

struct ingest *ingest_create(const struct conf *conf, struct store *st,
			     const struct classify_rules *rules);
void ingest_destroy(struct ingest *ing);
/* Take one log line (without or with its newline).  0, or -1 on a store failure. */
int ingest_line(struct ingest *ing, const char *line, size_t len, int64_t now);
/*
 * Queue one result (copied).  0; -1 on a store failure (a full batch is
 * flushed first); 1 when R is unusable (no account, a key too long).
 */
int ingest_result(struct ingest *ing, const struct ingest_result *r);
/* FN is called after each commit for every new result (duplicates are not). */
void ingest_set_notify(struct ingest *ing, ingest_note_fn fn, void *arg);
/* Write note N as events (event log): the result, and a suppress event if it suppressed. */
void ingest_note_emit(const struct conf *conf, const struct ingest_note *n);
/* The event type of a stats field: "delivery", "bounce", "complaint", "delay". */
const char *ingest_type_name(int field);
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
