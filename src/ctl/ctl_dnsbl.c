/*
 * ctl_dnsbl -- `outpostctl dnsbl check ADDRESS|DOMAIN`: ask every configured
 * blocklist now (through dns.servers, with dns.timeout, no cache) and print
 * what each answered: listed (with the meanings of its codes), not listed,
 * failed (with why: "answers 127.255.255.254: you are querying through a
 * public or open resolver"), or not asked (the list asks about the other
 * kind).  An address is asked of the client lists, a domain of the
 * sender_domain lists.  Exit 0 not listed, 1 listed, 3 a lookup failed.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "dns/dns_check.h"

static const char *
state_text(int state)
{
	static const char *const t[] = {"not listed", "LISTED", "lookup failed", "not asked"};

	return state >= 0 && state <= DNSBL_SKIPPED ? t[state] : "?";
}

static void
print_result(struct ctl *ctl, const char *what, const struct dns_list_result *r)
{
	const struct dnsbl_list *l = r->list;

	if (ctl->json) {
		json_t *o =
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s*}", "list", l->name, "zone",
			      l->zone, "query", dnsbl_query_name(l->query), "asked", what, "result",
			      dnsbl_state_name(r->state), "action", dnsbl_action_name(l->action),
			      "detail", r->detail[0] ? r->detail : NULL);
		ctl_json_print(o);
		json_decref(o);
		return;
	}
	printf("%-24s %-14s %s%s%s\n", l->name, state_text(r->state),
	       r->state == DNSBL_SKIPPED ? "asks about " : "",
	       r->state == DNSBL_SKIPPED
		   ? (l->query == DNSBL_Q_CLIENT ? "client addresses" : "domains")
		   : r->detail,
	       r->state == DNSBL_LISTED ? (l->action == DNSBL_A_REJECT	   ? " -> reject"
					   : l->action == DNSBL_A_TEMPFAIL ? " -> tempfail"
					   : l->action == DNSBL_A_REVIEW   ? " -> review"
									   : " -> log")
					: "");
}

static int
cmd_check(struct ctl *ctl, int argc, char **argv)
{
	const struct ctl_opt opts[] = {{NULL, 0, NULL, NULL}};
	struct dns_resolver *r;
	struct dns_facts df;
	char *pos[1], err[512];
	int npos, rc, listed = 0, failed = 0;

	if ((rc = ctl_opts(ctl, argc, argv, opts, pos, &npos, 1, "dnsbl", "check")) != EXIT_OK)
		return rc;
	if (npos != 1)
		return ctl_usage("dnsbl", "check");
	if (dnsbl_name_addr(pos[0], "x", err, sizeof(err)) < 0 && !dnsbl_domain_ok(pos[0]))
		return ctl_err(EXIT_BADINPUT, "dnsbl check: '%s' is not an IP address or a domain",
			       pos[0]);
	if (ctl->conf->dnsbl.n == 0) {
		fprintf(stderr, "outpostctl: no blocklists configured (dnsbl in %s)\n",
			ctl->conf->file);
		return EXIT_OK;
	}
	if ((r = dns_resolver_create(ctl->conf, NULL, NULL, err, sizeof(err))) == NULL)
		return ctl_err(EXIT_UNAVAILABLE, "%s", err);
	dns_check_lists(r, ctl->conf, pos[0], &df);
	dns_resolver_destroy(r);
	for (size_t i = 0; i < df.nlists; i++) {
		print_result(ctl, pos[0], &df.lists[i]);
		listed |= df.lists[i].state == DNSBL_LISTED;
		failed |= df.lists[i].state == DNSBL_FAILED;
	}
	return listed ? EXIT_ABSENT : failed ? EXIT_UNAVAILABLE : EXIT_OK;
}

const struct ctl_cmd ctl_dnsbl_cmds[] = {
    {"dnsbl", "check", cmd_check, "ADDRESS|DOMAIN [--json]",
     "ask every configured blocklist about ADDRESS (client lists) or DOMAIN (sender_domain "
     "lists) now and print each answer; exit 1 if listed, 3 if a lookup failed"},
    {NULL, NULL, NULL, NULL, NULL},
};
