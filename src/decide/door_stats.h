/*
 * door_stats -- what one front door process decided and how fast: counters by
 * rule and reply class, and a latency histogram.
 *
 * A struct door_stats lives in the memory a child shares with the master
 * (struct worker_stats), so /metrics and `outpostctl status` read it while the
 * child writes it.  door_stats_note() is the one writer's call (the milter's
 * threads share one): relaxed atomic adds, no locks on the request path.  A
 * reader may see a histogram count one request ahead of its buckets; the
 * figures are for monitoring.
 *
 * Latency is measured by the front door from the request's arrival (after the
 * parse) to its reply, DNS waits included, in microseconds.  The buckets are
 * cumulative upper bounds DOOR_BUCKETS_US (Prometheus "le"), the last one +Inf.
 */
#ifndef OUTPOST_DOOR_STATS_H
#define OUTPOST_DOOR_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "decide/facts.h"

enum reply_class {
	RC_DUNNO = 0,	 /* a pass (DUNNO, milter continue) */
	RC_4XX,		 /* a tempfail */
	RC_5XX,		 /* a reject */
	RC_HOLD,	 /* the hold queue */
	RC_WOULD_REFUSE, /* monitor mode: a refusal not applied */
	RC_COUNT,
};

#define DOOR_RULES 15	/* rule table size (door_rule_name), "other" last */
#define DOOR_BUCKETS 15 /* finite bounds; one more bucket for +Inf */

struct door_stats {
	uint64_t decisions[DOOR_RULES][RC_COUNT];
	uint64_t buckets[DOOR_BUCKETS + 1]; /* not cumulative: [i] counts le[i-1] < x <= le[i] */
	uint64_t latency_sum_us;
	uint64_t latency_count;
};

/* Upper bounds of the finite buckets, in microseconds (25 us .. 1 s). */
extern const uint64_t door_bucket_us[DOOR_BUCKETS];

/* The rule name of index I ("none" for a pass, "other" for an unknown rule), NULL past the end. */
const char *door_rule_name(size_t i);
/* The index of RULE (NULL: "none"); unknown names map to "other". */
size_t door_rule_index(const char *rule);
/* "dunno", "4xx", "5xx", "hold", "would_refuse". */
const char *reply_class_name(int rc);
/* The reply class of verdict V. */
int reply_class_of(const struct verdict *v);
/* The bucket index of a latency of US microseconds (DOOR_BUCKETS: +Inf). */
size_t door_bucket_index(uint64_t us);

/* Count V and its latency US into S (atomic). */
void door_stats_note(struct door_stats *s, const struct verdict *v, uint64_t us);

/*
 * The latency under which fraction Q (0 < Q <= 1) of the COUNTS (DOOR_BUCKETS + 1
 * non-cumulative buckets) fell, in microseconds, interpolated linearly inside
 * the bucket as Prometheus' histogram_quantile() does; -1 with no counts, the
 * last finite bound when it falls in +Inf.
 */
double door_quantile_us(const uint64_t *counts, double q);

/* Add SRC into DST (a snapshot sum over processes, read with relaxed loads). */
void door_stats_add(struct door_stats *dst, const struct door_stats *src);

#endif
