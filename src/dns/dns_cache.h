/*
 * dns_cache -- the answers of recent DNS queries, kept for their TTL.
 *
 * c-ares 1.18 has no cache, so every process keeps one: a hash table keyed by
 * (query type, lower-cased name) holding the raw answer (status and message
 * bytes) until it expires.  A positive answer lives for its smallest record
 * TTL, capped by dns.max_ttl; NXDOMAIN and NODATA live dns.negative_ttl
 * (c-ares can't read the SOA of a negative answer).  Failures (timeouts,
 * SERVFAIL, REFUSED) are never cached.  When the table is full, expired
 * entries are dropped, then the oldest quarter.
 *
 * One cache per process, shared by every resolver in it (the milter's
 * threads too: all calls take a mutex).  It is not shared between processes:
 * each policy worker warms its own.
 */
#ifndef OUTPOST_DNS_CACHE_H
#define OUTPOST_DNS_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct dns_cache;

/* A cache of at most MAX entries. */
struct dns_cache *dns_cache_create(size_t max);
void dns_cache_destroy(struct dns_cache *c);

/*
 * Store the answer to (TYPE, NAME): STATUS is an ARES_* code (ARES_SUCCESS,
 * ARES_ENODATA, ARES_ENOTFOUND), ABUF[0..ALEN) the message (may be NULL), TTL
 * seconds from NOW (milliseconds, monotonic); TTL 0 stores nothing.
 */
void dns_cache_put(struct dns_cache *c, int type, const char *name, int status,
		   const unsigned char *abuf, int alen, uint32_t ttl, int64_t now);
/*
 * Look (TYPE, NAME) up at NOW (milliseconds): 1 and a heap copy of the answer in *ABUF_R
 * (free() it; NULL if none was stored) and *ALEN_R, *STATUS_R; 0 if absent or
 * expired.
 */
int dns_cache_get(struct dns_cache *c, int type, const char *name, int64_t now, int *status_r,
		  unsigned char **abuf_r, int *alen_r);
/* Entries held now, lookups answered and missed since creation. */
void dns_cache_counts(struct dns_cache *c, size_t *entries, uint64_t *hits, uint64_t *misses);

/*
 * The smallest TTL of the answer-section records of message ABUF[0..ALEN);
 * -1 if the message is malformed or has no answer.  Pure, for the cache and
 * its tests.
 */
int64_t dns_answer_min_ttl(const unsigned char *abuf, int alen);

#endif
