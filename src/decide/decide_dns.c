/*
 * decide_dns -- steps 4 and 5 of decide(): blocklists and the recipient
 * domain, from the DNS facts the front door gathered (no I/O here).
 *
 * Blocklists, in configuration order (the From: header's domain lists at
 * STAGE_EOH, the milter's end of headers; the others at MAIL and RCPT): the
 * first listing whose action refuses (tempfail 450 4.7.1, reject 554 5.7.1)
 * wins; review and log never refuse (dns_check.c logs them).  If no list
 * refused and one failed, dns.fail decides: open passes, closed tempfails
 * (451 4.4.3).  Then the recipient domain: NXDOMAIN 550 5.1.2, null MX
 * 556 5.1.10, no MX and no address 550 5.1.2, no MX host with an address
 * 550 5.4.4; a transient failure always passes.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "decide.h"
#include "dns/dns_facts.h"
#include "util/text.h"

/* Step 4; 1 if a list refused. */
static int
check_lists(const struct conf *conf, const struct dns_facts *d, struct verdict *v)
{
	const struct dns_list_result *failed = NULL;

	for (size_t i = 0; i < d->nlists; i++) {
		const struct dns_list_result *r = &d->lists[i];
		const char *what = r->list->query == DNSBL_Q_CLIENT	   ? "Client address"
				   : r->list->query == DNSBL_Q_FROM_DOMAIN ? "From domain"
									   : "Sender domain";
		if (r->state == DNSBL_FAILED && failed == NULL)
			failed = r;
		if (r->state != DNSBL_LISTED || r->list->action >= DNSBL_A_REVIEW)
			continue;
		if (r->list->action == DNSBL_A_TEMPFAIL)
			verdict_set(v, VK_TEMPFAIL, "dnsbl", "450", "4.7.1",
				    "%s %s is listed on %s (%s)", what, r->asked, r->list->name,
				    r->detail);
		else
			verdict_set(v, VK_REJECT, "dnsbl", "554", "5.7.1",
				    "%s %s is listed on %s (%s)", what, r->asked, r->list->name,
				    r->detail);
		return 1;
	}
	if (failed && conf->dns.fail == DNS_FAIL_CLOSED) {
		verdict_set(v, VK_TEMPFAIL, "dnsbl_failed", "451", "4.4.3",
			    "Blocklist %s could not be checked, try again later",
			    failed->list->name);
		return 1;
	}
	return 0;
}

/* Step 5. */
static void
check_domain(const struct dns_facts *d, const struct facts *f, struct verdict *v)
{
	const char *rcpt = f->recipient ? f->recipient : "";

	switch (d->domain_state) {
	case DOMAIN_NXDOMAIN:
		verdict_set(v, VK_REJECT, "recipient_domain", "550", "5.1.2",
			    "<%s>: recipient domain %s does not exist; not sent", rcpt, d->domain);
		break;
	case DOMAIN_NULLMX:
		verdict_set(v, VK_REJECT, "recipient_domain", "556", "5.1.10",
			    "<%s>: recipient domain %s does not accept mail (null MX); not sent",
			    rcpt, d->domain);
		break;
	case DOMAIN_NOMAIL:
		verdict_set(v, VK_REJECT, "recipient_domain", "550", "5.1.2",
			    "<%s>: recipient domain %s has no MX and no address; not sent", rcpt,
			    d->domain);
		break;
	case DOMAIN_BADMX:
		verdict_set(
		    v, VK_REJECT, "recipient_domain", "550", "5.4.4",
		    "<%s>: no mail exchanger of recipient domain %s has an address; not sent", rcpt,
		    d->domain);
		break;
	}
}

void
decide_dns(const struct conf *conf, const struct facts *f, struct verdict *v)
{
	if (f->dns == NULL)
		return;
	if (!check_lists(conf, f->dns, v) && f->stage == STAGE_RCPT)
		check_domain(f->dns, f, v);
}
