/*
 * milter_dns -- the milter's DNS facts: the same dns_check as the policy
 * service, run synchronously (libmilter gives each callback a thread of its
 * own; waiting at most dns.timeout is what the callback may do).  Each
 * milter connection has its own c-ares channel (a channel must not be used by
 * two threads at once), created on first use; all share the host's cache
 * (dns_cache.h) with the policy workers.
 * Non-SMTP mode asks nothing: it never refuses a recipient.
 */
#include "config.h"

#include "milter.h"
#include "dns/dns_check.h"
#include "dns/dns_health.h"
#include "util/log.h"

static struct log_rl init_rl = LOG_RL_INIT(1);

void
milter_dns_init(const struct conf *conf, struct dns_health *health)
{
	(void)conf;
	dns_health_attach(health);
}

const struct dns_facts *
milter_dns_gather(struct dns_resolver **res_r, const struct conf *conf, const struct facts *f,
		  struct dns_facts *df)
{
	char err[512];

	if (dns_check_plan(conf, f, df) == 0)
		return NULL;
	if (*res_r == NULL &&
	    (*res_r = dns_resolver_create(conf, NULL, dns_host_cache, err, sizeof(err))) == NULL) {
		if (log_allow(&init_rl))
			log_warnx("milter: DNS checks skipped (fail-open): %s", err);
		return NULL;
	}
	dns_check_run(*res_r, conf, f, df);
	return df;
}
