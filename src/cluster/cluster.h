/*
 * cluster -- the process that keeps this host's LMDB in step with the fleet
 * (started by the master only when cluster.redis is set).
 *
 * One Redis connection (hiredis, synchronous, in this process's own loop):
 *   push     DB_OUTBOX, in seq order, XADDed to the stream PREFIX:changes
 *            (pipelined); an entry leaves the outbox only after Redis acked it;
 *   follow   XREAD from the last applied stream id (every poll_interval when
 *            idle; no BLOCK, see follow() in cluster.c), kept in DB_META "cluster_last_id" and
 * written in the same transaction as the changes applied (cluster/apply.h has the rule); no
 * position yet (a new or wiped node): the whole stream is replayed, which is how a node bootstraps
 * -- the stream is never trimmed, it is the snapshot; announce every heartbeat_interval: HSET
 * PREFIX:node:NODE (with a TTL), SADD PREFIX:nodes, and the figures of every node seen, written to
 *            DB_META "cluster_status" for `outpostctl cluster status`.
 *   reputation  the accounts the feedback process marked are published and the other
 *            nodes' counters fetched (fleetrep.h); every heartbeat, the accounts other
 *            nodes changed are fetched again.
 * Connection lost, refused or denied: logged once per cause, the node goes on
 * from LMDB (the decision path never waits on this process), changes queue in
 * the outbox, and it reconnects with a backoff doubling from 100 ms to
 * cluster.reconnect_max.  The password is read from cluster.password_file at
 * each connection, never from the config line.
 */
#ifndef OUTPOST_CLUSTER_H
#define OUTPOST_CLUSTER_H

#include "conf/conf.h"

#define CLUSTER_STATUS_KEY "cluster_status"
#define CLUSTER_LAST_ID_KEY "cluster_last_id"

struct cluster_args {
	const struct conf *conf;
};

void cluster_main(const struct cluster_args *args) __attribute__((noreturn));

/* Mark the store with this node's name (capture on), or clear it when CONF has no cluster. */
int cluster_mark_store(const struct conf *conf, char *err, size_t errlen);

#endif
