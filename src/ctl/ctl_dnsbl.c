/*
 * ctl_dnsbl -- `outpostctl dnsbl check ADDRESS|DOMAIN`: ask every configured
 * blocklist now (through dns.servers, with dns.timeout, no cache) and print
 * what each answered: listed (with the meanings of its codes), not listed,
 * failed (with why: "answers 127.255.255.254: you are querying through a
 * public or open resolver"), or not asked (the list asks about the other
 * kind).  An address is asked of the client lists, a domain of the
 * sender_domain and from_domain lists.  Exit 0 not listed, 1 listed, 3 a
 * lookup failed.
 *
 * `outpostctl dnsbl status`: what the feedback process's monitor of our own
 * sending addresses (dns.monitor_addresses, feedback/ipwatch.h) last heard
 * from each client list, and since when, read from the store.  Exit 1 if an
 * address is listed.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "dns/dns_check.h"
#include "feedback/ipwatch.h"

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

/* The monitor's record of (L, ADDRESS) into R; 0 if there is none yet. */
static int
watch_get(struct store_txn *txn, const struct dnsbl_list *l, const char *address,
	  struct dnsbl_watch_rec *r)
{
	char key[512];
	size_t klen = ipwatch_key(l->name, address, key, sizeof(key));
	struct store_val v;

	return klen > 0 && store_get(txn, DB_META, key, klen, &v) == STORE_OK &&
	       rec_dnsbl_watch_decode(v.data, v.len, r) == 0;
}

static const char *
watch_state(const struct dnsbl_watch_rec *r, int known)
{
	if (!known || r->state == DNSBL_FAILED)
		return known ? "failed" : "unknown";
	return r->state == DNSBL_LISTED ? "listed" : "not_listed";
}

static void
print_watch(struct ctl *ctl, const char *address, const struct dnsbl_list *l,
	    const struct dnsbl_watch_rec *r, int known)
{
	char since[40], checked[40], failing[40];
	const char *st = watch_state(r, known);

	ctl_time(known ? r->since : 0, since, sizeof(since));
	ctl_time(known ? r->checked : 0, checked, sizeof(checked));
	ctl_time(known ? r->failing_since : 0, failing, sizeof(failing));
	if (ctl->json) {
		json_t *o =
		    json_pack("{s:s, s:s, s:s, s:s, s:s*, s:s*, s:s*, s:s*, s:s*, s:s*}", "address",
			      address, "list", l->name, "zone", l->zone, "state", st, "since",
			      since[0] ? since : NULL, "checked", checked[0] ? checked : NULL,
			      "code", known && r->codes[0] ? r->codes : NULL, "meaning",
			      known && r->meaning[0] ? r->meaning : NULL, "error",
			      known && r->error[0] ? r->error : NULL, "failing_since",
			      failing[0] ? failing : NULL);
		ctl_json_print(o);
		json_decref(o);
		return;
	}
	printf("%-39s %-24s %-10s %-20s %s%s%s%s%s%s\n", address, l->name,
	       strcmp(st, "listed") == 0 ? "LISTED" : st, since[0] ? since : "-",
	       known && r->codes[0] ? r->codes : "", known && r->meaning[0] ? " (" : "",
	       known ? r->meaning : "", known && r->meaning[0] ? ")" : "",
	       failing[0] ? "  lookup failing since " : "", failing[0] ? failing : "");
	if (failing[0])
		printf("%-39s %-24s %-10s %-20s %s\n", "", "", "", "", r->error);
}

static int
cmd_status(struct ctl *ctl, int argc, char **argv)
{
	const struct ctl_opt opts[] = {{NULL, 0, NULL, NULL}};
	const struct conf_strlist *addrs = &ctl->conf->dns.monitor_addresses;
	struct store_txn *txn;
	char *pos[1];
	int npos, rc, listed = 0;

	if ((rc = ctl_opts(ctl, argc, argv, opts, pos, &npos, 0, "dnsbl", "status")) != EXIT_OK)
		return rc;
	if (!ipwatch_wanted(ctl->conf)) {
		fprintf(stderr,
			"outpostctl: nothing is watched (dns.monitor_addresses and a client "
			"list in dnsbl, in %s)\n",
			ctl->conf->file);
		return EXIT_OK;
	}
	if ((rc = ctl_store(ctl)) != EXIT_OK)
		return rc;
	if (store_read_begin(ctl->st, &txn) != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	if (!ctl->json)
		printf("%-39s %-24s %-10s %-20s %s\n", "ADDRESS", "LIST", "ANSWER", "SINCE",
		       "CODE (MEANING)");
	for (size_t a = 0; a < addrs->n; a++)
		for (size_t i = 0; i < ctl->conf->dnsbl.n; i++) {
			const struct dnsbl_list *l = &ctl->conf->dnsbl.v[i];
			struct dnsbl_watch_rec r;
			int known;
			if (l->query != DNSBL_Q_CLIENT)
				continue;
			known = watch_get(txn, l, addrs->v[a], &r);
			print_watch(ctl, addrs->v[a], l, &r, known);
			listed |= known && r.state == DNSBL_LISTED;
		}
	store_read_end(txn);
	return listed ? EXIT_ABSENT : EXIT_OK;
}

const struct ctl_cmd ctl_dnsbl_cmds[] = {
    {"dnsbl", "status", cmd_status, "[--json]",
     "what each client blocklist last answered about our own sending addresses "
     "(dns.monitor_addresses, checked by outpostd every dns.monitor_interval) and since when; "
     "exit 1 if one is listed"},
    {"dnsbl", "check", cmd_check, "ADDRESS|DOMAIN [--json]",
     "ask every configured blocklist about ADDRESS (client lists) or DOMAIN (sender_domain "
     "and from_domain lists) now and print each answer; exit 1 if listed, 3 if a lookup failed"},
    {NULL, NULL, NULL, NULL, NULL},
};
