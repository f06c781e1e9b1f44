/*
 * answer -- what the checks read of a DNS reply, in a compact fixed-size form.
 *
 * A reply to an A, AAAA or MX query is boiled down once, when it arrives,
 * to what dns_check needs: the A addresses (a blocklist's codes), whether
 * there is any AAAA address, the MX hosts by preference (or "null MX").  That
 * form has no pointers and a fixed size, so the host's shared cache
 * (dns_cache.h) stores it as it is, and a cache hit is a copy: no c-ares, no
 * allocation, no parsing.
 *
 * Pure: c-ares's parsers and mx.c, no sockets, no clock.
 */
#ifndef OUTPOST_DNS_ANSWER_H
#define OUTPOST_DNS_ANSWER_H

#include <stdint.h>

#define DNS_ANSWER_ADDRS 8	 /* A records kept (ZEN answers one per sub-list: 4 at most) */
#define DNS_ANSWER_HOSTS 232	 /* bytes for the MX host names */
#define DNS_ANSWER_NULLMX 0x1	 /* MX: the domain publishes "MX 0 ." (RFC 7505) */
#define DNS_ANSWER_TRUNCATED 0x2 /* more records than fit: n and the list are a prefix */

struct dns_answer {
	int32_t status; /* ARES_SUCCESS, ARES_ENODATA, ARES_ENOTFOUND; or a failure (never
			   cached): timeout, SERVFAIL/REFUSED as ARES_ECONNREFUSED,
			   ARES_EBADRESP for a reply we can't read */
	uint16_t n;	/* A: addresses in addr[]; AAAA: addresses (counted only); MX: hosts */
	uint16_t flags; /* DNS_ANSWER_* */
	uint32_t addr[DNS_ANSWER_ADDRS]; /* A: the addresses, host byte order */
	char hosts[DNS_ANSWER_HOSTS];	 /* MX: N names, lowest preference first, each NUL-ended */
};

/*
 * Boil the reply ABUF[0..ALEN) to a TYPE (ns_t_a, ns_t_aaaa, ns_t_mx) query
 * with c-ares status STATUS down into *OUT.  A NOERROR reply without a record
 * of the type (only a CNAME, say) becomes ARES_ENODATA; one that can't be
 * parsed ARES_EBADRESP.
 */
void dns_answer_parse(int type, int status, const unsigned char *abuf, int alen,
		      struct dns_answer *out);

/* The I-th MX host of A (I < A->n). */
const char *dns_answer_host(const struct dns_answer *a, unsigned i);

/*
 * The smallest TTL of the answer-section records of message ABUF[0..ALEN);
 * -1 if the message is malformed or has no answer.
 */
int64_t dns_answer_min_ttl(const unsigned char *abuf, int alen);

#endif
