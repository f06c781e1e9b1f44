/*
 * mx -- "can this domain receive mail?", the pure parts.
 *
 * c-ares returns MX records in answer order, not by preference, and a null MX
 * (RFC 7505, "MX 0 .") as a record with an empty host.  These helpers take an
 * ares_parse_mx_reply() list; the lookups themselves are in dns_check.c.
 */
#ifndef OUTPOST_MX_H
#define OUTPOST_MX_H

#include <ares.h>
#include <stddef.h>

#define MX_HOSTS_MAX 8 /* MX hosts whose addresses are looked up */
#define MX_HOST_LEN 256

/* 1 if the MX set is a null MX: any record with an empty host (as Postfix decides). */
int mx_is_null(const struct ares_mx_reply *mx);
/* Copy at most MAX distinct hosts of MX, lowest preference first, into HOSTS; returns how many. */
size_t mx_sorted_hosts(const struct ares_mx_reply *mx, char hosts[][MX_HOST_LEN], size_t max);

/* How one name's address lookups (A and AAAA) ended. */
enum addr_state { ADDR_PENDING = 0, ADDR_HAS, ADDR_NONE, ADDR_FAILED };
/*
 * The domain's state from the address results of its names (the MX hosts,
 * or the domain itself when it has no MX): any address -> DOMAIN_OK; else any
 * failure or pending lookup -> DOMAIN_TRANSIENT; else NONE_STATE.
 */
int mx_addr_verdict(const int *states, size_t n, int none_state);

#endif
