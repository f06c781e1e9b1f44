/*
 * resolver -- c-ares (1.18) queries, on a libevent loop or waited for.
 *
 * A resolver owns one c-ares channel pointed at dns.servers (a list of
 * IP:PORT; empty: the system's resolv.conf).  Created with an event_base it
 * is asynchronous: c-ares sockets become events on that loop and one timer
 * drives c-ares's retransmissions, so a slow or dead server never blocks the
 * loop.  Created without one it is synchronous: dns_resolver_wait() polls
 * until every query is answered or a deadline passes.  A channel is used by
 * one thread at a time: the policy worker has one per process, the milter
 * one per connection, outpostctl one.
 *
 * Queries go through the cache given at creation (may be NULL; the host's
 * shared dns_cache in outpostd) first; a cached answer is delivered before
 * dns_resolver_query() returns, without c-ares and without an allocation.
 * Replies are handed over boiled down (answer.h), as the cache keeps them.  Every
 * callback is called exactly once: with the answer, a failure, or
 * ARES_ECANCELLED / ARES_EDESTRUCTION when the resolver gives up or is
 * destroyed.
 */
#ifndef OUTPOST_RESOLVER_H
#define OUTPOST_RESOLVER_H

#include <stdint.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "dns/dns_cache.h"

struct dns_resolver;

struct dns_result {
	int status; /* ARES_SUCCESS, ARES_ENODATA (no record of the type), ARES_ENOTFOUND
		       (NXDOMAIN), or a failure (timeout, SERVFAIL/REFUSED as
		       ARES_ECONNREFUSED, an unreadable reply as ARES_EBADRESP, ...) */
	const struct dns_answer *answer; /* what the reply says (answer.h); status repeated */
	int cached;			 /* answered from the cache */
	int64_t expires; /* an answer: until when it holds (dns_now_ms() clock, the TTL capped
			    as the cache keeps it); 0 for a failure or an answer not kept */
};

typedef void (*dns_result_fn)(void *arg, const struct dns_result *res);

/* Process-wide counters (atomic), for logs and status. */
struct dns_stats {
	uint64_t queries;    /* asked of a server */
	uint64_t cache_hits; /* answered from the cache */
	uint64_t failures;   /* timeouts, SERVFAIL/REFUSED, unreachable servers */
};
extern struct dns_stats dns_stats;

/*
 * A resolver for CONF's dns.* settings, on BASE (NULL: synchronous), using
 * CACHE (NULL: none).  NULL on failure, with the reason in ERR.
 */
struct dns_resolver *dns_resolver_create(const struct conf *conf, struct event_base *base,
					 struct dns_cache *cache, char *err, size_t errlen);
/* Cancel what is outstanding (callbacks get ARES_EDESTRUCTION) and free. */
void dns_resolver_destroy(struct dns_resolver *r);

/* Ask for the TYPE (ns_t_a, ns_t_aaaa, ns_t_mx) records of NAME; FN(ARG, result) once. */
void dns_resolver_query(struct dns_resolver *r, const char *name, int type, dns_result_fn fn,
			void *arg);

/*
 * Synchronous resolvers: process answers until no query is outstanding or
 * DEADLINE_MS (dns_now_ms() clock) has passed; then cancel what is left.
 */
void dns_resolver_wait(struct dns_resolver *r, int64_t deadline_ms);

/*
 * Conclusions drawn from several answers (dns_check's verdict on a recipient
 * domain) are kept in the same cache under a type of their own (a private-use
 * type number that no query asks for): get one (1 and *OUT, or 0; never a
 * query), or keep one until EXPIRES_MS (dns_now_ms() clock).  No-ops without
 * a cache.
 */
#define DNS_T_DOMAIN_VERDICT 65280
int dns_resolver_cache_get(struct dns_resolver *r, int type, const char *name,
			   struct dns_answer *out);
void dns_resolver_cache_put(struct dns_resolver *r, int type, const char *name,
			    const struct dns_answer *a, int64_t expires_ms);

/* The loop an asynchronous resolver runs on (NULL: synchronous). */
struct event_base *dns_resolver_base(const struct dns_resolver *r);

/* Milliseconds on the monotonic clock. */
int64_t dns_now_ms(void);

/* A failure status as an operator reads it ("SERVFAIL or REFUSED ..."). */
const char *dns_status_text(int status);
/* 1 for an answer (SUCCESS, NODATA, NXDOMAIN), 0 for a failure. */
int dns_status_is_answer(int status);

#endif
