/*
 * decide -- the one ordered set of checks behind both front doors.
 *
 * decide() reads the store (one read snapshot) and never writes it, never
 * blocks and never does I/O other than that: writes it asks for (an account
 * to auto-create, a message to record) are flagged in the verdict for the
 * ledger.  The checks, first terminal verdict wins:
 *   1. identify the account (accounts.identity);
 *   2. account state: paused -> accounts.paused_action; review -> pass;
 *      unknown -> accounts.unknown; no account -> accounts.unmatched;
 *   3. suppression of the recipient (account list, then the global one);
 *   4. blocklists: a listing on a configured DNSBL -> the list's action;
 *      a failed lookup -> dns.fail (decide_dns.c); at STAGE_EOH (the
 *      milter's end of headers) steps 1-2 and then the from_domain lists only;
 *   5. the recipient domain can't receive mail -> reject (decide_dns.c);
 *   6. pass -- after which the front door runs the quota step (quota.h) on
 *      the account's limits decide() read into the verdict.
 * Steps 4-5 read facts.dns, which the front door filled before the call
 * (dns/dns_check.h): decide() itself never waits for DNS.  They apply to mail
 * of an account only (inbound and local mail is Postfix's own business).
 * In monitor mode (global or per account) a refusal is logged as would_refuse
 * and the verdict becomes a pass.  A store failure gives store.fallback.
 */
#ifndef OUTPOST_DECIDE_H
#define OUTPOST_DECIDE_H

#include "conf/conf.h"
#include "decide/facts.h"
#include "store/store.h"

/* Counters a process keeps about its decisions (updated atomically: the milter is threaded). */
struct decide_stats {
	uint64_t requests;
	uint64_t refused[VK_HOLD + 1];
	uint64_t would_refuse;
	uint64_t store_errors;
};
extern struct decide_stats decide_stats;

void decide(const struct conf *conf, struct store *st, const struct facts *f, struct verdict *v);

/* Steps 4-5: apply F->dns (if any) to V, which is a pass so far. */
void decide_dns(const struct conf *conf, const struct facts *f, struct verdict *v);

/*
 * Fill V as a refusal: KIND, the RULE that fired, the reply CODE and enhanced
 * DSN code, and the text (control characters replaced: nothing a client
 * supplied can break the reply line).  Shared by every step of decide().
 */
void verdict_set(struct verdict *v, int kind, const char *rule, const char *code, const char *dsn,
		 const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Log VERDICT once as a key=value line (only refusals and would-refuse). */
void decide_log(const struct facts *f, const struct verdict *v);

#endif
