/*
 * ctl_explain -- `outpostctl explain ACCOUNT RECIPIENT`: would a message from
 * ACCOUNT (as its SASL login) to RECIPIENT be accepted now, and if not, which
 * rule stops it?  Runs the daemon's own decide() on the store and the quota
 * step on the shared quota table, read-only: it consumes nothing and creates
 * nothing.  The DNS checks (blocklists, bounce prevention) run too, now and
 * synchronously under the same dns.timeout as the milter's, against
 * dns.servers and without a cache (--no-dns: skipped).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "decide/decide.h"
#include "dns/dns_check.h"
#include "quota/quota.h"
#include "util/text.h"

static const char *const kind_names[] = {"accept", "tempfail", "reject", "hold"};

static void
explain_print(struct ctl *ctl, const char *account, const char *rcpt, const struct verdict *v)
{
	int kind = v->would ? v->would : v->kind;
	char reply[600];

	snprintf(reply, sizeof(reply), "%s%s%s%s%s", v->code, v->code[0] ? " " : "", v->dsn,
		 v->dsn[0] ? " " : "", v->text);
	if (ctl->json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s*, s:s*, s:b}", "account", account,
				      "recipient", rcpt, "identified_as", v->account, "verdict",
				      v->kind == VK_PASS ? "accept" : kind_names[v->kind], "rule",
				      v->rule, "reply", kind != VK_PASS ? reply : NULL,
				      "monitor_only", v->would != 0);
		ctl_json_print(o);
		json_decref(o);
		return;
	}
	printf("message from %s to <%s>\n", account, rcpt);
	printf("  account:  %s\n",
	       v->account[0] ? v->account : "(none: no identity source matched)");
	if (kind == VK_PASS) {
		printf("  verdict:  accept (no rule refuses it)\n");
		return;
	}
	printf("  rule:     %s\n", v->rule ? v->rule : "-");
	printf("  verdict:  %s%s\n", kind_names[kind],
	       v->would ? " -- but monitor mode lets it through (logged as would_refuse)" : "");
	printf("  reply:    %s\n", v->kind == VK_HOLD ? "accepted into the hold queue" : reply);
}

/*
 * F's DNS facts into DF, as the milter gathers them; NULL when nothing is
 * asked or c-ares can't start (then the DNS steps pass, as in the daemon).
 */
static const struct dns_facts *
explain_dns(struct ctl *ctl, const struct facts *f, struct dns_facts *df)
{
	struct dns_resolver *r;
	char err[512];

	if (dns_check_plan(ctl->conf, f, df) == 0)
		return NULL;
	if ((r = dns_resolver_create(ctl->conf, NULL, NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "outpostctl: DNS checks skipped: %s\n", err);
		return NULL;
	}
	dns_check_run(r, ctl->conf, f, df);
	dns_resolver_destroy(r);
	return df;
}

static int
cmd_explain(struct ctl *ctl, int argc, char **argv)
{
	const char *sender = "", *client = "";
	int no_dns = 0;
	const struct ctl_opt opts[] = {{"--sender", 1, &sender, NULL},
				       {"--client", 1, &client, NULL},
				       {"--no-dns", 0, NULL, &no_dns},
				       {NULL, 0, NULL, NULL}};
	struct dns_facts df;
	struct facts f = {0};
	struct verdict v;
	char *pos[2];
	int npos, rc;

	if ((rc = ctl_opts(ctl, argc, argv, opts, pos, &npos, 2, "explain", "")) != EXIT_OK)
		return rc;
	if (npos != 2)
		return ctl_usage("explain", "");
	if ((rc = ctl_store(ctl)) != EXIT_OK)
		return rc;
	f.stage = STAGE_RCPT;
	f.door = ctl->conf->quota.front_door;
	f.queue_id = f.instance = "";
	f.sasl_username = pos[0];
	f.sender = sender;
	f.recipient = pos[1];
	f.client_address = client;
	f.now = ctl->now;
	if (!no_dns)
		f.dns = explain_dns(ctl, &f, &df);
	decide(ctl->conf, ctl->st, &f, &v);
	if (v.rule && strcmp(v.rule, "store_error") == 0)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	ctl_quota(ctl);
	quota_decide(ctl->conf, &f, &v, NULL); /* checks, reserves nothing */
	explain_print(ctl, pos[0], pos[1], &v);
	return v.kind == VK_PASS ? EXIT_OK : EXIT_ABSENT;
}

const struct ctl_cmd ctl_explain_cmds[] = {
    {"explain", "", cmd_explain,
     "ACCOUNT RECIPIENT [--sender ADDRESS] [--client IP] [--no-dns] [--json]",
     "would a message from ACCOUNT (as its SASL login) to RECIPIENT be accepted now, and if "
     "not, which rule stops it (blocklists and bounce prevention included: DNS is asked now, "
     "within dns.timeout, unless --no-dns)?  Read-only; exit 1 if it would be refused"},
    {NULL, NULL, NULL, NULL, NULL},
};
