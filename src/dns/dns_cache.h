/*
 * dns_cache -- the answers of recent DNS queries, kept for their TTL, shared
 * by every process of the host.
 *
 * c-ares 1.18 has no cache.  This one is a fixed-size table in shared memory
 * (an anonymous MAP_SHARED mapping) that the master creates before it forks
 * the policy workers and the milter, so a name one worker looked up is a
 * cache hit in every other process, and a restarted worker finds the cache
 * warm.  Keys are (query type, lower-cased name); a value is the compact
 * answer of answer.h, copied in and out: a hit asks c-ares nothing and
 * allocates nothing.
 *
 * A positive answer lives for its smallest record TTL, capped by dns.max_ttl;
 * NXDOMAIN and NODATA live dns.negative_ttl (c-ares can't read the SOA of a
 * negative answer).  Failures (timeouts, SERVFAIL, REFUSED) are never cached.
 *
 * Layout: buckets of DNS_CACHE_WAYS entries, each bucket under one
 * process-shared robust mutex, held for the copy of one entry (well under a
 * microsecond).  A name hashes to one bucket; when the bucket is full, a new
 * answer replaces an expired entry, else the one that expires first.  So the
 * table never grows: dns.cache_size entries (rounded up to a power of two),
 * about 550 bytes of shared memory each, allocated at start.
 *
 * Crashes: a process killed while it holds a bucket's lock leaves the lock
 * "owner died"; the next process to take it empties that bucket (it may hold
 * a half-written entry) and carries on.  The cache lives as long as the
 * master: a restart of outpostd starts it empty.
 */
#ifndef OUTPOST_DNS_CACHE_H
#define OUTPOST_DNS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "dns/answer.h"

#define DNS_CACHE_WAYS 4       /* entries per bucket */
#define DNS_CACHE_NAME_MAX 256 /* names this long or longer are not cached */

struct dns_cache;

/*
 * The host's cache, made by the master before it forks (NULL in outpostctl
 * and until then).  The children inherit the mapping with this pointer.
 */
extern struct dns_cache *dns_host_cache;

/*
 * A cache of at least MAX entries in fresh shared memory; NULL (errno set)
 * if the memory can't be had.  Share it by forking after this call.
 */
struct dns_cache *dns_cache_create(size_t max);
/* Unmap (in the process that calls it; other processes keep their mapping). */
void dns_cache_destroy(struct dns_cache *c);
/* Entries the table holds at most. */
size_t dns_cache_capacity(const struct dns_cache *c);

/*
 * Store answer A to (TYPE, NAME) for TTL seconds from NOW (milliseconds,
 * CLOCK_MONOTONIC: the same clock in every process of the host).  TTL 0, a
 * failure status, or a name of DNS_CACHE_NAME_MAX or more store nothing.
 */
void dns_cache_put(struct dns_cache *c, int type, const char *name, const struct dns_answer *a,
		   uint32_t ttl, int64_t now);
/* Look (TYPE, NAME) up at NOW: 1 and the answer in *OUT, or 0 if absent or expired. */
int dns_cache_get(struct dns_cache *c, int type, const char *name, int64_t now,
		  struct dns_answer *out);
/* The same, and when the entry expires (milliseconds, NOW's clock) in *EXPIRES_R. */
int dns_cache_get_until(struct dns_cache *c, int type, const char *name, int64_t now,
			struct dns_answer *out, int64_t *expires_r);
/*
 * Entries held now (over the whole host: a scan, for tests and status), and
 * lookups answered and missed by this process since it started.
 */
void dns_cache_counts(struct dns_cache *c, size_t *entries, uint64_t *hits, uint64_t *misses);

#endif
