/*
 * sfilter -- a Bloom filter over the suppression list's targets, kept in the
 * store beside the list (DB_SFILTER), so that the 9 recipients in 10 that are
 * on no list cost one cache line of a 4 KB block instead of B-tree descents
 * into a list of millions.
 *
 * It lives in the same LMDB environment, so every read snapshot sees a filter
 * that matches its list: store_put() on DB_SUPPRESS sets the target's bits in
 * the same write transaction, whoever writes (outpostctl, the feedback loop,
 * the HTTP API, the fleet's change log).  A delete leaves its bits (a Bloom
 * filter can't clear them): it only costs a lookup that finds nothing, until
 * sfilter_build() starts afresh.  A store without the filter (written before
 * it existed, opened read-only) answers "maybe" for everything.
 *
 * Layout: key "h" -> header; key be32 NBLOCKS be32 N -> block N (SFL_BLOCK
 * bytes, a page of its own).  A target hashes to one block, one 64-byte line
 * in it, and SFL_K bits in the line.
 * Building it also raises the store's schema version, so that an older
 * outpostd or outpostctl, which would add entries without their bits, refuses
 * to write to the store.
 */
#ifndef OUTPOST_SFILTER_H
#define OUTPOST_SFILTER_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define SFL_BLOCK 4080 /* with LMDB's 16-byte header: one 4 KB overflow page a block */
#define SFL_BLOCKS_MIN 4
#define SFL_BLOCKS_MAX 8192 /* 32 MB: 16 bits an entry for 16 million entries */

struct sfilter_info {
	uint32_t nblocks;
	uint64_t built_entries; /* DB_SUPPRESS entries when it was built */
	uint64_t deletes;	/* entries deleted since */
	uint64_t entries;	/* DB_SUPPRESS entries now */
};

/* 0: TARGET is on no list in this snapshot; 1: it may be; -1: no filter here (maybe). */
int sfilter_maybe(struct store_txn *txn, const char *target, size_t len);

/* In a write transaction: after a put of KEY (scope '\0' target) in DB_SUPPRESS. */
int sfilter_note_put(struct store_txn *txn, const void *key, size_t klen);
/* ... after a delete from DB_SUPPRESS. */
int sfilter_note_del(struct store_txn *txn);

/* Build the filter afresh over the whole list, sized for it. */
int sfilter_build(struct store_txn *txn);
/* STORE_OK with INFO filled, STORE_NOTFOUND when the store has no filter. */
int sfilter_info(struct store_txn *txn, struct sfilter_info *info);
/* Worth a rebuild: missing, too small for the list, or many deletes since. */
int sfilter_stale(const struct sfilter_info *info);
/*
 * Rebuild it in a write transaction of its own if it is stale: after a bulk
 * import, and hourly (expire.h).  *REBUILT says whether it did, *ENTRIES over
 * how many entries.
 */
int sfilter_refresh(struct store *st, int *rebuilt, uint64_t *entries);

#endif
