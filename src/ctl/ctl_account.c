/* ctl_account -- outpostctl account add|show|list|set|pause|resume|review|delete|map|unmap. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "quota/quota.h"
#include "account/account.h"
#include "account/account_view.h"
#include "account/identity.h"
#include "feedback/eventlog.h"
#include "feedback/reputation.h"
#include "util/text.h"

#define MAX_SPECS 64

/* One positional NAME, validated. */
static int
name_arg(struct ctl *ctl, int argc, char **argv, const struct ctl_opt *opts, const char *verb,
	 char **name, char **rest, int *nrest, int maxrest)
{
	char *pos[MAX_SPECS + 1];
	int npos, rc;

	if ((rc = ctl_opts(ctl, argc, argv, opts, pos, &npos, maxrest + 1, "account", verb)) !=
	    EXIT_OK)
		return rc;
	if (npos < 1 || (maxrest == 0 && npos != 1))
		return ctl_usage("account", verb);
	if (!account_name_valid(pos[0]))
		return ctl_err(EXIT_BADINPUT,
			       "'%s' is not a valid account name (1-127 of A-Z a-z 0-9 . _ @ + -)",
			       pos[0]);
	*name = pos[0];
	for (int i = 1; i < npos; i++)
		rest[i - 1] = pos[i];
	if (nrest)
		*nrest = npos - 1;
	return ctl_store(ctl);
}

struct acct_op {
	const char *name;
	int state;
	const char *by, *reason;
	int64_t now;
	int exists;    /* add: the account was already there */
	int unchanged; /* pause/review/resume: already in that state */
	int from;      /* pause/review/resume: the state before */
};

static int
add_txn(struct store_txn *txn, void *arg)
{
	struct acct_op *op = arg;
	struct account_rec rec;
	int rc = account_get(txn, op->name, &rec);

	if (rc != STORE_NOTFOUND) {
		op->exists = rc == STORE_OK;
		return rc == STORE_OK ? STORE_NOTFOUND : rc;
	}
	return account_create(txn, op->name, op->by, op->reason, op->now);
}

static int
cmd_add(struct ctl *ctl, int argc, char **argv)
{
	const char *reason = "created by operator";
	const struct ctl_opt opts[] = {{"--reason", 1, &reason, NULL}, {NULL, 0, NULL, NULL}};
	struct acct_op op = {.by = ctl->by, .now = ctl->now};
	char *name;
	int rc;

	if ((rc = name_arg(ctl, argc, argv, opts, "add", &name, NULL, NULL, 0)) != EXIT_OK)
		return rc;
	op.name = name;
	op.reason = reason;
	rc = store_write(ctl->st, add_txn, &op);
	if (op.exists)
		return ctl_err(EXIT_BADINPUT, "account %s already exists", name);
	if (rc != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	if (!ctl->json)
		printf("account %s created (active)\n", name);
	return EXIT_OK;
}

static void
quota_line(const char *what, json_t *q, const char *span)
{
	json_t *lim = json_object_get(json_object_get(q, what), "limit");
	json_int_t used = json_integer_value(json_object_get(json_object_get(q, what), "used"));

	if (json_is_integer(lim))
		printf("  %-8s %lld of %lld recipients %s\n", what, (long long)used,
		       (long long)json_integer_value(lim), span);
	else
		printf("  %-8s %lld recipients %s (no limit)\n", what, (long long)used, span);
}

static void
quota_print_human(json_t *q)
{
	json_t *rate = json_object_get(q, "max_rate");

	printf("quota:\n");
	quota_line("daily", q, "in the last 24 h");
	quota_line("hourly", q, "in the last hour");
	quota_line("monthly", q, "this calendar month (UTC)");
	if (json_is_string(rate))
		printf("  rate     %s, burst %lld, %lld available now%s\n", json_string_value(rate),
		       (long long)json_integer_value(json_object_get(q, "max_rate_burst")),
		       (long long)json_integer_value(json_object_get(q, "rate_available")),
		       json_real_value(json_object_get(q, "rate_factor")) < 1.0
			   ? " (reduced: account under review)"
			   : "");
	else
		printf("  rate     no limit\n");
	printf("  in flight %lld reserved, %lld sent in all\n",
	       (long long)json_integer_value(json_object_get(q, "in_flight")),
	       (long long)json_integer_value(json_object_get(q, "total")));
}

static void
account_print_human(json_t *o)
{
	json_t *v;
	size_t i;
	const char *k;

	printf("account:  %s\nstate:    %s since %s\nreason:   %s\nby:       %s\ncreated:  %s\n",
	       json_string_value(json_object_get(o, "account")),
	       json_string_value(json_object_get(o, "state")),
	       json_string_value(json_object_get(o, "since")),
	       json_string_value(json_object_get(o, "reason")),
	       json_string_value(json_object_get(o, "by")),
	       json_string_value(json_object_get(o, "created")));
	printf("settings:%s\n",
	       json_object_size(json_object_get(o, "settings")) ? "" : " (defaults)");
	json_object_foreach(json_object_get(o, "settings"), k, v)
	    printf("  %s=%s\n", k, json_string_value(v));
	printf("mappings:%s\n", json_array_size(json_object_get(o, "mappings")) ? "" : " (none)");
	json_array_foreach(json_object_get(o, "mappings"), i, v)
	    printf("  %s\n", json_string_value(v));
	printf("history:\n");
	json_array_foreach(json_object_get(o, "history"), i, v)
	    printf("  %s  %-7s -> %-7s %-24s %s\n", json_string_value(json_object_get(v, "time")),
		   json_string_value(json_object_get(v, "from")),
		   json_string_value(json_object_get(v, "to")),
		   json_string_value(json_object_get(v, "by")),
		   json_string_value(json_object_get(v, "reason")));
	if (json_object_get(o, "quota"))
		quota_print_human(json_object_get(o, "quota"));
}

static int
cmd_show(struct ctl *ctl, int argc, char **argv)
{
	struct account_rec rec;
	struct store_txn *txn;
	json_t *o = NULL;
	char *name;
	int rc;

	if ((rc = name_arg(ctl, argc, argv, NULL, "show", &name, NULL, NULL, 0)) != EXIT_OK)
		return rc;
	if (store_read_begin(ctl->st, &txn) != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	ctl_quota(ctl);
	rc = account_get(txn, name, &rec);
	if (rc == STORE_OK)
		o = account_view_json(txn, ctl->conf, name, &rec, ctl->now);
	store_read_end(txn);
	if (rc == STORE_NOTFOUND)
		return ctl_err(EXIT_ABSENT, "no account %s", name);
	if (rc != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	if (ctl->json)
		ctl_json_print(o);
	else
		account_print_human(o);
	json_decref(o);
	return EXIT_OK;
}

struct list_arg {
	struct ctl *ctl;
	int state;
};

static int
list_one(const char *name, const struct account_rec *rec, void *arg)
{
	struct list_arg *l = arg;
	char since[32];

	if (l->state >= 0 && rec->state != l->state)
		return 0;
	text_time_format(rec->since, since, sizeof(since));
	if (l->ctl->json) {
		json_t *o = account_view_summary(NULL, l->ctl->conf, name, rec, l->ctl->now, 0);
		ctl_json_print(o);
		json_decref(o);
	} else {
		printf("%-32s %-7s %s  %s\n", name, account_state_name(rec->state), since,
		       rec->reason);
	}
	return 0;
}

static int
cmd_list(struct ctl *ctl, int argc, char **argv)
{
	const char *state = NULL;
	const struct ctl_opt opts[] = {{"--state", 1, &state, NULL}, {NULL, 0, NULL, NULL}};
	struct list_arg l = {ctl, -1};
	struct store_txn *txn;
	char *pos[1];
	int npos, rc;

	if ((rc = ctl_opts(ctl, argc, argv, opts, pos, &npos, 0, "account", "list")) != EXIT_OK)
		return rc;
	if (state && (l.state = account_state_parse(state)) < 0)
		return ctl_err(EXIT_BADINPUT, "--state must be active, review or paused");
	if ((rc = ctl_store(ctl)) != EXIT_OK)
		return rc;
	if (store_read_begin(ctl->st, &txn) != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	rc = account_scan(txn, list_one, &l);
	store_read_end(txn);
	return rc == STORE_ERR ? ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st)) : EXIT_OK;
}

/* pause, resume and review: a state change with a reason. */
static int
change_state(struct ctl *ctl, int argc, char **argv, const char *verb, int state,
	     int reason_required)
{
	const char *reason = NULL;
	int release = 0;
	const struct ctl_opt opts[] = {{"--reason", 1, &reason, NULL},
				       {state == AS_ACTIVE ? "--release" : NULL, 0, NULL, &release},
				       {NULL, 0, NULL, NULL}};
	char *name;
	int rc, unchanged, from;

	if ((rc = name_arg(ctl, argc, argv, opts, verb, &name, NULL, NULL, 0)) != EXIT_OK)
		return rc;
	if ((reason == NULL || reason[0] == '\0') && reason_required)
		return ctl_err(EXIT_USAGE, "account %s: --reason TEXT is required", verb);
	if (reason && strlen(reason) >= REASON_MAX)
		return ctl_err(EXIT_BADINPUT, "--reason is longer than %d bytes", REASON_MAX - 1);
	if (reason == NULL)
		reason = "resumed by operator";
	rc = account_change_state(ctl->st, name, state, ctl->by, reason, ctl->now, &unchanged,
				  &from);
	if (rc == STORE_NOTFOUND)
		return ctl_err(EXIT_ABSENT, "no account %s", name);
	if (rc != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	if (!unchanged)
		event_state_change(ctl->conf, name, from, state, reason);
	if (!ctl->json)
		printf("account %s %s %s\n", name, unchanged ? "is already" : "is now",
		       account_state_name(state));
	return release ? ctl_release_held(ctl, name) : EXIT_OK;
}

static int
cmd_pause(struct ctl *ctl, int argc, char **argv)
{
	return change_state(ctl, argc, argv, "pause", AS_PAUSED, 1);
}

static int
cmd_resume(struct ctl *ctl, int argc, char **argv)
{
	return change_state(ctl, argc, argv, "resume", AS_ACTIVE, 0);
}

static int
cmd_review(struct ctl *ctl, int argc, char **argv)
{
	return change_state(ctl, argc, argv, "review", AS_REVIEW, 1);
}

static int
delete_txn(struct store_txn *txn, void *arg)
{
	struct acct_op *op = arg;

	return account_delete(txn, op->name);
}

static int
cmd_delete(struct ctl *ctl, int argc, char **argv)
{
	struct acct_op op = {0};
	char *name;
	int rc;

	if ((rc = name_arg(ctl, argc, argv, NULL, "delete", &name, NULL, NULL, 0)) != EXIT_OK)
		return rc;
	op.name = name;
	rc = store_write(ctl->st, delete_txn, &op);
	if (rc == STORE_NOTFOUND)
		return ctl_err(EXIT_ABSENT, "no account %s", name);
	if (rc != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	if (!ctl->json)
		printf("account %s deleted (its suppression entries are kept)\n", name);
	return EXIT_OK;
}

struct set_op {
	const char *name;
	char *kv[MAX_SPECS];
	int n;
};

static int
set_txn(struct store_txn *txn, void *arg)
{
	struct set_op *op = arg;
	struct account_rec rec;
	int rc = account_get(txn, op->name, &rec);

	for (int i = 0; rc == STORE_OK && i < op->n; i++) {
		char *eq = strchr(op->kv[i], '=');
		const char *value = strcmp(eq + 1, "default") != 0 ? eq + 1 : NULL;
		*eq = '\0';
		rc = account_setting_put(txn, op->name, op->kv[i], value);
		*eq = '=';
	}
	return rc;
}

static int
cmd_set(struct ctl *ctl, int argc, char **argv)
{
	struct set_op op;
	char err[256], *name;
	int rc;

	if ((rc = name_arg(ctl, argc, argv, NULL, "set", &name, op.kv, &op.n, MAX_SPECS)) !=
	    EXIT_OK)
		return rc;
	if (op.n == 0)
		return ctl_usage("account", "set");
	for (int i = 0; i < op.n; i++) {
		char *eq = strchr(op.kv[i], '=');
		if (eq == NULL)
			return ctl_err(EXIT_USAGE, "account set: expected KEY=VALUE, not '%s'",
				       op.kv[i]);
		*eq = '\0';
		if (eq[1] == '\0') {
			*eq = '=';
			return ctl_err(EXIT_BADINPUT,
				       "account set: %s: empty value (use %.*s=default "
				       "to reset)",
				       op.kv[i], (int)(eq - op.kv[i]), op.kv[i]);
		}
		rc = strcmp(eq + 1, "default") == 0
			 ? (account_setting_find(op.kv[i]) ? 0 : -1)
			 : account_setting_check(op.kv[i], eq + 1, err, sizeof(err));
		if (rc < 0 && account_setting_find(op.kv[i]) == NULL)
			snprintf(err, sizeof(err), "unknown setting '%s'", op.kv[i]);
		*eq = '=';
		if (rc < 0)
			return ctl_err(EXIT_BADINPUT, "account set: %s", err);
	}
	op.name = name;
	rc = store_write(ctl->st, set_txn, &op);
	if (rc == STORE_NOTFOUND)
		return ctl_err(EXIT_ABSENT, "no account %s", name);
	if (rc != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	if (!ctl->json)
		printf("account %s updated\n", name);
	return EXIT_OK;
}

struct map_op {
	const char *name;
	char keys[MAX_SPECS][ADDRESS_MAX + 16];
	size_t lens[MAX_SPECS];
	int n, unmap, missing;
};

/* Unmap one spec: absent, or (with NAME) owned by another account, counts as missing. */
static int
unmap_one(struct store_txn *txn, struct map_op *op, int i)
{
	char owner[ACCOUNT_NAME_MAX];
	int rc = identity_get(txn, op->keys[i], op->lens[i], owner, sizeof(owner));

	if (rc == STORE_OK && op->name[0] && strcmp(owner, op->name) != 0)
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK)
		rc = identity_unmap(txn, op->keys[i], op->lens[i]);
	if (rc == STORE_NOTFOUND)
		op->missing = i + 1;
	return rc;
}

static int
map_txn(struct store_txn *txn, void *arg)
{
	struct map_op *op = arg;
	struct account_rec rec;
	int rc = op->unmap && !op->name[0] ? STORE_OK : account_get(txn, op->name, &rec);

	for (int i = 0; rc == STORE_OK && i < op->n; i++)
		rc = op->unmap ? unmap_one(txn, op, i)
			       : identity_map(txn, op->keys[i], op->lens[i], op->name);
	return rc;
}

/* map NAME SPEC... and unmap [NAME] SPEC... */
static int
map_common(struct ctl *ctl, int argc, char **argv, int unmap)
{
	const char *verb = unmap ? "unmap" : "map";
	struct map_op op = {.unmap = unmap};
	char *pos[MAX_SPECS + 1], err[256];
	int npos, rc, first;

	if ((rc = ctl_opts(ctl, argc, argv, NULL, pos, &npos, MAX_SPECS + 1, "account", verb)) !=
	    EXIT_OK)
		return rc;
	first = unmap && npos > 0 && strchr(pos[0], ':') ? 0 : 1;
	if (npos <= first)
		return ctl_usage("account", verb);
	if (first && !account_name_valid(pos[0]))
		return ctl_err(EXIT_BADINPUT, "'%s' is not a valid account name", pos[0]);
	op.name = first ? pos[0] : "";
	for (int i = first; i < npos; i++) {
		op.lens[op.n] =
		    identity_key(pos[i], op.keys[op.n], sizeof(op.keys[0]), err, sizeof(err));
		if (op.lens[op.n++] == 0)
			return ctl_err(EXIT_BADINPUT, "account %s: %s", verb, err);
	}
	if ((rc = ctl_store(ctl)) != EXIT_OK)
		return rc;
	rc = store_write(ctl->st, map_txn, &op);
	if (rc == STORE_NOTFOUND && op.missing)
		return ctl_err(EXIT_ABSENT, "no mapping %s%s%s", pos[first + op.missing - 1],
			       op.name[0] ? " for account " : "", op.name);
	if (rc == STORE_NOTFOUND)
		return ctl_err(EXIT_ABSENT, "no account %s", op.name);
	if (rc != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	if (!ctl->json)
		printf("%d mapping%s %s\n", op.n, op.n == 1 ? "" : "s",
		       unmap ? "removed" : "added");
	return EXIT_OK;
}

static int
cmd_map(struct ctl *ctl, int argc, char **argv)
{
	return map_common(ctl, argc, argv, 0);
}

static int
cmd_unmap(struct ctl *ctl, int argc, char **argv)
{
	return map_common(ctl, argc, argv, 1);
}

const struct ctl_cmd ctl_account_cmds[] = {
    {"account", "add", cmd_add, "NAME [--reason TEXT]",
     "create an active account (exit 4 if it exists)"},
    {"account", "show", cmd_show, "NAME [--json]",
     "state, reason, settings, identity mappings and state history; exit 1 if absent"},
    {"account", "list", cmd_list, "[--state active|review|paused] [--json]",
     "one line (or JSON object) per account"},
    {"account", "set", cmd_set, "NAME KEY=VALUE... (KEY=default resets)",
     "settings: mode=enforce|monitor|default, auto-enforce=on|off, note=TEXT, min-volume=N, "
     "bounce-review=PCT, bounce-pause=PCT, complaint-review=PCT, complaint-pause=PCT "
     "(percent as plain numbers: 0.1 is 0.1 %), max-rate=N/s|N/m|N/h, max-rate-burst=N, "
     "daily-quota=N, hourly-quota=N, monthly-quota=N (recipients; none: no limit); effective "
     "on the next request"},
    {"account", "pause", cmd_pause, "NAME --reason TEXT",
     "stop the account's mail: tempfailed (or as accounts.paused_action says) until resumed"},
    {"account", "resume", cmd_resume, "NAME [--reason TEXT] [--release]",
     "make the account active again and start a fresh reputation window; --release also "
     "releases the messages "
     "accounts.paused_action = hold parked in Postfix's hold queue (postsuper -H)"},
    {"account", "review", cmd_review, "NAME --reason TEXT",
     "put the account under review: mail flows, the state is marked"},
    {"account", "delete", cmd_delete, "NAME",
     "delete the account, its settings, history and mappings"},
    {"account", "map", cmd_map, "NAME sasl:LOGIN|sender:ADDRESS|domain:DOMAIN|cidr:NETWORK...",
     "tie logins, sender addresses, sender domains or client networks to the account"},
    {"account", "unmap", cmd_unmap,
     "[NAME] sasl:LOGIN|sender:ADDRESS|domain:DOMAIN|cidr:NETWORK...",
     "remove mappings; exit 1 if one was not there"},
    {NULL, NULL, NULL, NULL, NULL},
};
