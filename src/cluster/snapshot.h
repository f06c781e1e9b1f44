/*
 * snapshot -- the fleet's replicated state as of one id of the change log, kept
 * in Redis, so the log can be trimmed and a new or wiped node need not replay it.
 *
 * Keys (PREFIX is cluster.key_prefix):
 *   PREFIX:snapshot         the generation of the current snapshot (a string)
 *   PREFIX:snapshot:G       its manifest, a hash: id (the stream id it is as of),
 *                           records, ops, chunks, checksum (FNV-1a 64 of the records
 *                           in order, hex), generation, node, created_ms, clock (the
 *                           highest hybrid clock), seen (JSON: node -> last seq applied)
 *   PREFIX:snapshot:G:I     chunk I, a list of up to SNAPSHOT_CHUNK change records (or
 *                           SNAPSHOT_CHUNK_BYTES, one LMDB transaction when loaded) in
 *                           the stream's record format (changes.h), seq 0: one version
 *                           (clock, node) per record, deletes are tombstones
 *   PREFIX:snapshot:lock    SET NX PX: the node writing a snapshot
 *   PREFIX:snapshot:gen     INCR: the next generation
 *
 * A snapshot is due when the stream has more than cluster.stream_max entries (at
 * most once per 10 heartbeats), or when the last snapshot (or, without one, the
 * stream's first entry) is older than cluster.snapshot_interval -- and only when
 * this node has applied something the current snapshot does not have.  The
 * elected node writes chunks and manifest with an expiry (a crashed writer
 * leaves nothing behind), switches PREFIX:snapshot only once the manifest is
 * complete, makes the new keys persistent, deletes the older snapshot, and trims
 * the stream (XTRIM MINID) to the older of the snapshot's id and the applied id
 * of every node whose heartbeat has not expired.
 */
#ifndef OUTPOST_SNAPSHOT_H
#define OUTPOST_SNAPSHOT_H

#include <hiredis.h>
#include <jansson.h>
#include <stddef.h>

#include "conf/conf.h"
#include "store/store.h"

#define SNAPSHOT_CHUNK 4096		  /* records per chunk, at most */
#define SNAPSHOT_CHUNK_BYTES (512 * 1024) /* a chunk is closed when it holds this much */
#define SNAPSHOT_RECORD_OPS 256		  /* operations per record */
#define SNAPSHOT_BOOT_KEY "cluster_bootstrap"

/* What a round needs from the cluster process. */
struct snapshot_ctx {
	const struct conf *conf;
	struct store *st;
	redisContext *rc;
	const char *stream;  /* PREFIX:changes */
	const char *last_id; /* this node's last applied id */
	json_t *nodes;	     /* the nodes' heartbeats (array of objects with "applied_id") */
};

/* Write a snapshot and trim the stream when due: 0 (done, or nothing to do), -1 when the
 * connection failed (WHY). */
int snapshot_round(const struct snapshot_ctx *x, char *why, size_t whylen);

/*
 * Bootstrap when this node has no position (and a snapshot exists) or its position is
 * older than the stream's first entry: load the current snapshot in write transactions
 * of one chunk each, the position (LAST_ID, ID_LEN bytes) set to the snapshot's id in
 * the last.  1 loaded (INFO says what), 0 nothing to do, 2 needed but not done (the
 * snapshot does not match its manifest: call again later), -1 the connection failed (WHY).
 */
int snapshot_bootstrap(const struct snapshot_ctx *x, char *last_id, size_t idlen, char *info,
		       size_t infolen, char *why, size_t whylen);

/* Compare stream ids "MS-SEQ": <0, 0, >0. */
int snapshot_id_cmp(const char *a, const char *b);

#endif
