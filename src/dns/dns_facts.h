/*
 * dns_facts -- what DNS said about one request, for decide().
 *
 * The front doors gather these (dns_check.h) before they call decide(), so
 * decide() itself never waits for the network: it reads this struct (through
 * facts.dns) and applies steps 4 and 5 of its ordered checks.  Pure data.
 */
#ifndef OUTPOST_DNS_FACTS_H
#define OUTPOST_DNS_FACTS_H

#include <stddef.h>

#include "dns/dnsbl.h"

#define DNS_FACTS_LISTS 16 /* at most this many dnsbl entries (checked by the config loader) */

/* Can the recipient's domain receive mail?  (REFERENCE 6.4, RFC 5321 5.1, RFC 7505) */
enum domain_state {
	DOMAIN_UNCHECKED = 0, /* not asked (bounce prevention off, no domain) */
	DOMAIN_OK,	      /* an MX host or the domain itself has an address */
	DOMAIN_TRANSIENT,     /* timeout, SERVFAIL, REFUSED: never a refusal */
	DOMAIN_NXDOMAIN,      /* the domain does not exist: 5.1.2 */
	DOMAIN_NULLMX,	      /* "MX 0 .": the domain accepts no mail: 5.1.10 */
	DOMAIN_NOMAIL,	      /* no MX and no A/AAAA: 5.1.2 */
	DOMAIN_BADMX,	      /* no MX host has an address: 5.4.4 */
};

struct dns_list_result {
	const struct dnsbl_list *list;
	int state;		    /* enum dnsbl_state */
	char asked[DNSBL_NAME_MAX]; /* the address or domain looked up */
	char detail[200];	    /* listed: the meanings; failed: why */
};

struct dns_facts {
	size_t nlists;
	struct dns_list_result lists[DNS_FACTS_LISTS];
	int domain_state; /* enum domain_state */
	char domain[DNSBL_NAME_MAX];
	char domain_detail[200]; /* transient: why */
};

const char *domain_state_name(int state);

#endif
