/*
 * worker -- one policy worker process: an event loop serving many persistent
 * policy connections on the listening sockets the master opened.
 *
 * worker_main() runs in the child after fork: it opens the store, serves
 * until told to stop (SIGTERM: stop accepting, finish requests in flight,
 * exit 0) or until it has served policy.max_requests (then it retires the
 * same way and the master starts a fresh one).  It never returns.
 */
#ifndef OUTPOST_WORKER_H
#define OUTPOST_WORKER_H

#include <stdint.h>

#include "conf/conf.h"
#include "decide/door_stats.h"
#include "dns/dns_health.h"

/* Live counters of one worker, in memory shared with the master (status). */
struct worker_stats {
	uint64_t connections;
	uint64_t requests;
	uint64_t refusals;
	uint64_t would_refuse;
	uint64_t bad_requests;
	uint64_t store_errors;
	uint64_t rcpt_requests; /* requests at RCPT ... */
	uint64_t eom_requests;	/* ... and at END-OF-MESSAGE: 0 of these means a wiring mistake */
	uint32_t open_connections;
	struct dns_health dns;	    /* blocklist answers, for status (dns_health.h) */
	struct door_stats door;	    /* decisions by rule and reply class, latency (front doors) */
	int64_t feedback_lag_bytes; /* feedback: bytes of the log not read yet; -1: no log open */
};

struct worker_args {
	const struct conf *conf;
	const int *listen_fds;
	int nlisten;
	int slot;
	struct worker_stats *stats;
};

void worker_main(const struct worker_args *args) __attribute__((noreturn));

#endif
