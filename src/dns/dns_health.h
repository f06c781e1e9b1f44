/*
 * dns_health -- how each configured blocklist has been answering, for
 * `outpostctl status`.
 *
 * Every process that runs DNS checks (a policy worker, a milter) attaches the
 * struct dns_health of its slot in the memory it shares with the master;
 * dns_check.c notes each list's result there.  The master merges the slots
 * into the status answer: a list whose latest result (in any process) was a
 * failure is "broken", with the reason ("answers 127.255.255.254: you are
 * querying through a public or open resolver") and since when.  One writer
 * per slot except in the milter (threads): counters are atomic, a reason
 * string may be read while it is rewritten (status is advisory).
 */
#ifndef OUTPOST_DNS_HEALTH_H
#define OUTPOST_DNS_HEALTH_H

#include <stdint.h>

#define DNS_HEALTH_LISTS 16

struct dns_list_health {
	char name[64];	       /* the list's name when it was last noted */
	uint64_t lookups;      /* answered or failed */
	uint64_t listed;       /* answers that were listings */
	uint64_t failures;     /* failed lookups */
	int64_t last_ok;       /* time of the last answer that was not a failure */
	int64_t last_failure;  /* time of the last failure */
	int64_t failing_since; /* first failure of the current run of failures */
	char last_error[160];
};

struct dns_health {
	uint64_t checks, deadline_hits, domain_refusable;
	uint64_t queries, cache_hits, failures; /* the resolver's (resolver.h dns_stats) */
	struct dns_list_health lists[DNS_HEALTH_LISTS];
};

/* This process notes into H (NULL: nowhere). */
void dns_health_attach(struct dns_health *h);
/* List IDX (named NAME) answered STATE (enum dnsbl_state) at NOW, DETAIL for a failure. */
void dns_health_note(size_t idx, const char *name, int state, const char *detail, int64_t now);
/* Count a check, a deadline hit, a refusable recipient domain. */
void dns_health_count(int deadline_hit, int domain_refusable);

/* Count a resolver query asked of a server, a cache hit, a failed query (DNS_HEALTH_*). */
void dns_health_resolver(int what);
enum { DNS_HEALTH_QUERY, DNS_HEALTH_CACHE_HIT, DNS_HEALTH_FAILURE };

/*
 * Merge the N slots HS (NULL entries skipped) into a JSON array (json_t *),
 * one object per list of NAMES[0..NLISTS): name, state ("ok", "broken",
 * "unknown"), lookups, listed, failures, last_error, failing_since.
 */
void *dns_health_json(const struct dns_health *const *hs, size_t n, const char *const *names,
		      size_t nlists);

#endif
