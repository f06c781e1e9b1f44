/*
 * dns_check -- gather the DNS facts of one request: every configured
 * blocklist that applies and the recipient domain's MX, all in parallel,
 * under one deadline (dns.timeout).
 *
 * The policy worker starts a check on its loop and gets a callback; the
 * connection waits, the loop keeps serving the others.  The milter and
 * outpostctl run the same check synchronously.  Whatever has not answered at
 * the deadline is "lookup failed" (a list) or "transient" (the domain).
 * A failed list lookup is logged (rate-limited) and noted in the process's
 * dns_health; what it does to the mail (dns.fail) is decide()'s business.
 *
 * The recipient domain's state, once concluded from complete answers, is
 * cached as one entry (DNS_T_DOMAIN_VERDICT) until the first of those
 * answers expires: a warm request asks the cache once for the domain instead
 * of MX, A and AAAA, and allocates only the check itself.
 */
#ifndef OUTPOST_DNS_CHECK_H
#define OUTPOST_DNS_CHECK_H

#include "conf/conf.h"
#include "decide/facts.h"
#include "dns/dns_facts.h"
#include "dns/resolver.h"

struct dns_check;

/*
 * Which lookups F needs under CONF, written into DF (pure): the lists that
 * apply, with what they are asked, and the recipient domain.  Returns the
 * number of lookups to start (0: nothing to ask).
 */
int dns_check_plan(const struct conf *conf, const struct facts *f, struct dns_facts *df);

/*
 * Asynchronous (R created on an event_base): plan and start the lookups into
 * DF.  0: DF is complete already (nothing to ask, or every answer cached) and
 * DONE is not called.  1: DONE(ARG) will be called from the loop within
 * dns.timeout; until then DF must stay put, and dns_check_cancel(*CHK_R)
 * stops it (DONE is then never called).
 */
int dns_check_start(struct dns_resolver *r, const struct conf *conf, const struct facts *f,
		    struct dns_facts *df, void (*done)(void *arg), void *arg,
		    struct dns_check **chk_r);
void dns_check_cancel(struct dns_check *chk);

/* Synchronous (R created without a base): the same, waiting at most dns.timeout. */
void dns_check_run(struct dns_resolver *r, const struct conf *conf, const struct facts *f,
		   struct dns_facts *df);

/*
 * outpostctl: ask every configured list about WHAT (an IP address: the
 * client lists; a domain: the sender_domain and from_domain lists),
 * synchronously.
 */
void dns_check_lists(struct dns_resolver *r, const struct conf *conf, const char *what,
		     struct dns_facts *df);

#endif
