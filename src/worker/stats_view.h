/*
 * stats_view -- the live view of every child's shared counters, summed per
 * front door: what /metrics prints and `outpostctl status` shows.
 *
 * The master and the http process both hold the array of slots' struct
 * worker_stats and the kind of each slot ("policy", "milter",
 * "milter-non-smtpd", "feedback", ...).  stats_view_sum() reads them with
 * relaxed loads; both milter kinds are the one "milter" door.  Counters of a
 * slot start again at 0 when its process is replaced (a retired policy worker):
 * a Prometheus counter reset.
 */
#ifndef OUTPOST_STATS_VIEW_H
#define OUTPOST_STATS_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "decide/door_stats.h"
#include "worker/worker.h"

enum { VIEW_POLICY = 0, VIEW_MILTER, VIEW_DOORS };

struct stats_view {
	struct door_stats door[VIEW_DOORS];
	uint64_t store_errors[VIEW_DOORS];
	uint64_t dns_queries, dns_cache_hits, dns_failures; /* every process's resolvers */
	int64_t feedback_lag_bytes;			    /* -1: no log followed */
};

/* The name of door D ("policy", "milter"). */
const char *stats_view_door_name(int d);
/* Sum the N slots ALL (of kinds KINDS) into V. */
void stats_view_sum(const struct worker_stats *all, const char *const *kinds, size_t n,
		    struct stats_view *v);
/*
 * V as a JSON object (json_t *) for status: per door the non-zero decisions
 * {rule: {class: n}}, latency {count, sum_seconds, p50_ms, p99_ms}; dns
 * {queries, cache_hits, failures, cache_hit_ratio}; feedback_lag_bytes.
 */
void *stats_view_json(const struct stats_view *v);

#endif
