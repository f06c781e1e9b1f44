/*
 * milter -- the second front door: Outpost as a libmilter filter, for
 * Sendmail, Postfix smtpd_milters and Postfix non_smtpd_milters.
 *
 * milter_main() runs in a child of the master (forked before any thread
 * exists; it opens its own store).  It never returns.  Callbacks translate
 * the milter protocol into struct facts and run the same decide() as the
 * policy service:
 *   MAIL   account identified ({auth_authen}, sender, client address);
 *          a paused account is refused here (tempfail by default);
 *   RCPT   a suppressed recipient is refused, that recipient only;
 *   MAIL, RCPT  blocklists and bounce prevention: the same DNS checks as the
 *          policy service, run synchronously under dns.timeout (milter_dns.c);
 *   EOH    the from_domain blocklists, about the first From: header's domain
 *          (from_header.h), for the whole message; headers are negotiated
 *          only when such a list is configured (without a reply per header,
 *          SMFIP_NR_HDR, when the MTA offers it);
 *   EOM    Feedback-ID header added, the message recorded (queue id `i`).
 * In non-SMTP mode (milter.non_smtpd_listen, for Postfix non_smtpd_milters,
 * where a RCPT refusal is a configuration error) nothing is refused:
 * suppressed recipients are removed at EOM with smfi_delrcpt, and a message
 * with none left (or of a paused account) is quarantined (hold queue).
 * SIGUSR1 reloads the configuration (libmilter owns SIGHUP: it means stop);
 * SIGTERM stops.
 */
#ifndef OUTPOST_MILTER_H
#define OUTPOST_MILTER_H

#include <stdint.h>

#include "conf/conf.h"

struct worker_stats;
struct store;
struct ledger;

struct milter_args {
	const struct conf *conf;
	int non_smtpd; /* serve milter.non_smtpd_listen in non-SMTP mode */
	struct worker_stats *stats;
};

void milter_main(const struct milter_args *args) __attribute__((noreturn));

/* Internal to the milter (milter_cb.c <-> milter_main.c). */
struct smfiDesc;
extern struct smfiDesc milter_desc;
struct evqueue;
void milter_cb_init(const struct milter_args *args, struct store *st, struct ledger *ledger,
		    struct evqueue *events, const uint8_t key[16]);
const struct conf *milter_conf(void);
/* DNS facts (milter_dns.c): the process's cache; F's facts into DF, or NULL if none apply. */
struct dns_resolver;
struct dns_facts;
struct facts;
struct dns_health;
void milter_dns_init(const struct conf *conf, struct dns_health *health);
const struct dns_facts *milter_dns_gather(struct dns_resolver **res_r, const struct conf *conf,
					  const struct facts *f, struct dns_facts *df);
/* Swap in a new configuration (the reload thread). */
void milter_cb_set_conf(const struct conf *conf);
/*
 * "%a:outpost" with ACCOUNT: the Feedback-ID value, or "" when the template is
 * empty.  %h is SipHash-2-4 of the account name under KEY (16 hex digits): the
 * store keeps the key (DB_META "feedback_key", made at the first start), so
 * Outpost can map a hash back to its account and nobody else can.
 */
void milter_feedback_id(const char *tmpl, const char *account, const uint8_t key[16], char *buf,
			size_t len);

#endif
