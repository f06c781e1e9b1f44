/*
 * dnsbl -- what to ask a DNS blocklist and what its answer means.
 *
 * Pure: no sockets, no clock.  A list (struct dnsbl_list, built by the config
 * loader from a `dnsbl` entry) names a zone, what is asked (the client
 * address, the envelope sender's domain or the From: header's domain) and
 * which answers count as listed: a table of codes ("127.0.0.2" = "SBL",
 * ranges allowed) or a table of bits of the last octet (SURBL/URIBL style).
 * With neither, any 127.0.0.2-127.0.0.254 answer is "listed" (RFC 5782).
 *
 * Errors are never listings: any 127.255.255.0/24 answer (Spamhaus: typo in
 * the zone, public resolver, rate limit, bad DQS key), 127.0.1.255 (DBL: IP
 * queried), 127.0.0.1 from a bitmask list (URIBL: query refused) and any
 * answer outside 127.0.0.0/8 (a resolver that rewrites NXDOMAIN) make the
 * lookup "failed", with a reason an operator can act on.
 */
#ifndef OUTPOST_DNSBL_H
#define OUTPOST_DNSBL_H

#include <stddef.h>
#include <stdint.h>

#define DNSBL_NAME_MAX 256 /* a query name: 253 characters and a NUL, rounded */

/* What a list is asked about; FROM_DOMAIN: the From: header's domain (the milter only). */
enum dnsbl_query { DNSBL_Q_CLIENT, DNSBL_Q_SENDER_DOMAIN, DNSBL_Q_FROM_DOMAIN };
/* What a list's hit does; the values are conf.h's ACT_* plus review and log. */
enum dnsbl_action { DNSBL_A_TEMPFAIL, DNSBL_A_REJECT, DNSBL_A_REVIEW, DNSBL_A_LOG };

/* One row of a code table: answers FIRST..LAST (host order) mean MEANING. */
struct dnsbl_code {
	uint32_t first, last;
	char *meaning;
};

struct dnsbl_list {
	char *name; /* shown in replies and logs; default: the zone */
	char *zone;
	int query;  /* enum dnsbl_query */
	int action; /* enum dnsbl_action */
	int skip_authenticated;
	int bitmask; /* codes[] are bits of the last octet, not addresses */
	struct dnsbl_code *codes;
	size_t ncodes;
};

/* The result of asking one list. */
enum dnsbl_state { DNSBL_NOT_LISTED, DNSBL_LISTED, DNSBL_FAILED, DNSBL_SKIPPED };

/*
 * Build the query name for address ADDR (IPv4 reversed octets; IPv6 32
 * reversed nibbles; an IPv4-mapped IPv6 address as IPv4) under ZONE.
 * 0 on success, -1 if ADDR is not an IP address or the name is too long.
 */
int dnsbl_name_addr(const char *addr, const char *zone, char *out, size_t len);
/* Build DOMAIN.ZONE (DOMAIN lower-cased; -1 if it is not a host name). */
int dnsbl_name_domain(const char *domain, const char *zone, char *out, size_t len);
/* 1 if S is a plausible host name: LDH labels of 1-63, at most 253 chars, a dot inside. */
int dnsbl_domain_ok(const char *s);

/*
 * Interpret the A records ADDRS[0..N) (host order) a list answered.  Returns
 * DNSBL_LISTED (DETAIL: the meanings, "SBL, XBL"), DNSBL_NOT_LISTED (no
 * configured code matched) or DNSBL_FAILED (DETAIL: why, for the operator).
 */
int dnsbl_interpret(const struct dnsbl_list *l, const uint32_t *addrs, size_t n, char *detail,
		    size_t len);

/*
 * Parse a code table entry: "127.0.0.2=SBL", "127.0.0.4-127.0.0.7=XBL" or
 * "127.0.0.10-11=PBL"; for a bitmask list "2=black" (a power of two, 1-128).
 * Fills C (MEANING is a heap string); -1 on bad syntax.
 */
int dnsbl_code_parse(const char *s, int bitmask, struct dnsbl_code *c);

/* "client" / "sender_domain" / "from_domain", "tempfail" / "reject" / "review" / "log". */
const char *dnsbl_query_name(int query);
const char *dnsbl_action_name(int action);
const char *dnsbl_state_name(int state);

#endif
