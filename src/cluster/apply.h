/*
 * apply -- apply a change record from the fleet's log to the local store.
 *
 * The conflict rule, per replicated key (a suppression entry, an account, a
 * setting, a history entry, an identity mapping), with versions (clock, node)
 * compared by clock, then node name (changes.h):
 *
 *   - last writer wins: a put or delete applies only if its version is later
 *     than the version the key has here.  Deletes leave a tombstone version,
 *     so an older put arriving later does not bring an entry back.
 *   - suppression entries: an add wins over a concurrent remove.  A remove
 *     carries the version of the entry it removed ("seen"); it applies only
 *     if the entry here is that version or an older one.  An add applies over
 *     a tombstone if it is later than the tombstone, or later than the entry
 *     the remove had seen (the remove did not know about it).
 *   - accounts: an auto-created account record (a worker's first message of a
 *     new SASL login) never overrides an existing account record, and any other
 *     write overrides an auto-created one, whatever the clocks say.
 *   - history entries are never overwritten: one landing on a key that holds
 *     another entry moves to the next free microsecond.
 *   - a record whose (node, seq) was applied before is skipped whole, so a
 *     change pushed twice (a crash between XADD and the outbox delete) is
 *     applied once.
 *
 * Every node applies the same records in the stream's order with the same
 * rule, so all converge.  The caller owns the transaction and has turned
 * capture off (store_txn_nocapture), so applied changes are not sent again.
 */
#ifndef OUTPOST_APPLY_H
#define OUTPOST_APPLY_H

#include <stdint.h>

#include "store/changes.h"
#include "store/store.h"

struct apply_stats {
	uint64_t records;    /* records applied */
	uint64_t duplicates; /* records skipped: applied before */
	uint64_t ops;	     /* operations applied */
	uint64_t lost;	     /* operations that lost to the conflict rule */
};

/* Apply C in TXN.  STORE_OK (STATS updated) or STORE_ERR. */
int apply_change(struct store_txn *txn, const struct change *c, struct apply_stats *stats);

/*
 * Apply C, a record of a snapshot (cluster/snapshot.h), in TXN: the same rule per
 * operation, without the (node, seq) check (a snapshot record's seq is 0; the
 * snapshot's "seen" positions are set with apply_seen_raise once it is loaded).
 */
int apply_snapshot_change(struct store_txn *txn, const struct change *c, struct apply_stats *stats);

/* The last seq of NODE applied here (0: none). */
int64_t apply_seen(struct store_txn *txn, const char *node);
/* Raise the last seq of NODE applied here to SEQ if it is lower. */
int apply_seen_raise(struct store_txn *txn, const char *node, int64_t seq);

#endif
