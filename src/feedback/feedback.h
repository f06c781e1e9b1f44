/*
 * feedback -- the feedback process: a child of the master that follows the
 * Postfix log (feedback.maillog) and turns delivery results into counters,
 * suppressions and automatic account state changes.
 *
 * Every poll_interval it reads the new complete lines (follow.c), feeds them
 * to ingest.c, and commits their counts together with its position in the
 * log (DB_META "maillog_pos") in one write transaction, at most 1024 lines at
 * a time: killed at any moment, it resumes after the last committed line, so
 * nothing is counted twice or skipped.  After each commit it judges every
 * account that got results (reputation.c) and logs each state change.
 * SIGTERM commits and exits 0; a store failure exits 1 (the master restarts
 * it with backoff, and it resumes at the stored position).  feedback_main()
 * runs in the child after fork and opens the store itself; it never returns.
 */
#ifndef OUTPOST_FEEDBACK_H
#define OUTPOST_FEEDBACK_H

#include "conf/conf.h"

struct worker_stats;

struct feedback_args {
	const struct conf *conf;
	struct worker_stats *stats; /* requests = log lines read */
};

void feedback_main(const struct feedback_args *args) __attribute__((noreturn));

#endif
