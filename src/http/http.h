/*
 * http -- the http process: one libevent evhttp server on the listeners the
 * master opened (http.listen), serving
 *   /healthz       no token; 200 when the store opens, else 503
 *   /metrics       Prometheus text format; open to loopback clients when
 *                  http.metrics_open, otherwise a token is needed
 *   /v1/...        the JSON API (http_api.c), Authorization: Bearer TOKEN
 *   /              the dashboard's files from http.web_root, and Chart.js
 *                  (http.chartjs) as /js/chart.js
 * Errors are application/problem+json (RFC 9457).  Bodies are capped at
 * 1 MiB, 64 MiB for POST /v1/suppression/import (413 beyond).
 *
 * http_main() runs in the child after fork: it opens the store itself,
 * serves until SIGTERM (then exits 0) and never returns.  A reload restarts
 * it with the new configuration (the master keeps the sockets).  It reads
 * the other children's counters for /metrics from the memory they share
 * with the master.
 */
#ifndef OUTPOST_HTTP_H
#define OUTPOST_HTTP_H

#include <stddef.h>

#include "conf/conf.h"

struct worker_stats;

struct http_args {
	const struct conf *conf;
	const int *listen_fds;
	int nlisten;
	struct worker_stats *stats;	/* this process's counters */
	const struct worker_stats *all; /* every slot's, for /metrics */
	const char *const *kinds;	/* the kind of each slot ("policy", "milter", ...) */
	size_t nall;
};

void http_main(const struct http_args *args) __attribute__((noreturn));

#endif
