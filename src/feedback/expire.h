/*
 * expire -- records that only matter for a while, dropped when they are
 * older than feedback.retention (30 days by default): message records (queue
 * id -> account, written by the front doors at END-OF-MESSAGE, read when a
 * log line, DSN or complaint arrives) and the dedup entries of delivery
 * results.  Without it the store grows with every message sent.
 *
 * The feedback process runs it once an hour; `outpostctl db expire` on
 * demand.  Deletions go in batches of 10,000 per write transaction, so the
 * policy workers' and the milter's writes never wait long.  Kept: account
 * state, history, settings, suppression entries (those expire by their own
 * expiry time), hourly counters (the reputation window reads them), and the
 * bounce markers that carry no time.
 *
 * It also rebuilds the suppression filter (store/sfilter.h) when deletes or
 * growth have made it stale: one write transaction over the whole list
 * (about a second for a million entries).
 */
#ifndef OUTPOST_EXPIRE_H
#define OUTPOST_EXPIRE_H

#include <stdint.h>

#include "store/store.h"

struct expire_stats {
	uint64_t messages, results; /* records deleted */
	int filter_rebuilt;	    /* the suppression filter was rebuilt ... */
	uint64_t filter_entries;    /* ... over this many entries */
};

/* Delete message records and result entries from before BEFORE (epoch seconds). */
int expire_run(struct store *st, int64_t before, struct expire_stats *out);

#endif
