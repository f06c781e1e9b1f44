/* ctl_suppress -- outpostctl suppress add|remove|show|list|import|export. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "account/account.h"
#include "store/sfilter.h"
#include "suppress/suppress.h"
#include "suppress/suppress_io.h"
#include "suppress/suppress_view.h"
#include "util/text.h"
#include "util/xalloc.h"

#define IMPORT_BATCH 50000

/* Check an --account value; "" means global. */
static int
scope_arg(const char *account, const char **scope)
{
	*scope = "";
	if (account == NULL)
		return EXIT_OK;
	if (!account_name_valid(account))
		return ctl_err(EXIT_BADINPUT, "'%s' is not a valid account name", account);
	*scope = account;
	return EXIT_OK;
}

static void
entry_print(struct ctl *ctl, const char *scope, const char *target, const struct suppress_rec *r)
{
	char c[32], e[32];

	if (ctl->json) {
		json_t *o = suppress_entry_json(scope, target, r);
		ctl_json_print(o);
		json_decref(o);
		return;
	}
	printf("%-40s %-16s %-11s since %s%s%s%s%s\n", target, scope[0] ? scope : "(global)",
	       suppress_reason_name(r->reason), ctl_time(r->created, c, sizeof(c)),
	       r->expires ? " expires " : "", r->expires ? ctl_time(r->expires, e, sizeof(e)) : "",
	       r->note[0] ? " note: " : "", r->note);
}

struct put_arg {
	const char *scope, *target;
	struct suppress_rec rec;
};

static int
put_one(struct store_txn *txn, void *arg)
{
	struct put_arg *p = arg;

	return suppress_put(txn, p->scope, p->target, &p->rec);
}

static int
cmd_add(struct ctl *ctl, int argc, char **argv)
{
	const char *account = NULL, *reason = "manual", *expires = NULL, *note = "";
	const struct ctl_opt opts[] = {{"--account", 1, &account, NULL},
				       {"--reason", 1, &reason, NULL},
				       {"--expires", 1, &expires, NULL},
				       {"--note", 1, &note, NULL},
				       {NULL, 0, NULL, NULL}};
	char target[ADDRESS_MAX], *pos[1];
	struct put_arg p = {0};
	int npos, rc;

	if ((rc = ctl_opts(ctl, argc, argv, opts, pos, &npos, 1, "suppress", "add")) != EXIT_OK)
		return rc;
	if (npos != 1)
		return ctl_usage("suppress", "add");
	if (suppress_normalise(pos[0], target, sizeof(target)) < 0)
		return ctl_err(EXIT_BADINPUT, "'%s' is not an address or @domain", pos[0]);
	if ((rc = scope_arg(account, &p.scope)) != EXIT_OK)
		return rc;
	if ((p.rec.reason = (uint8_t)suppress_reason_parse(reason)) == (uint8_t)-1)
		return ctl_err(EXIT_BADINPUT,
			       "reason '%s' is not one of bounce, complaint, manual, unsubscribe",
			       reason);
	if (expires && text_expiry_parse(expires, ctl->now, &p.rec.expires) < 0)
		return ctl_err(EXIT_BADINPUT,
			       "--expires '%s': expected a duration (30d) or RFC 3339 time",
			       expires);
	if (text_copy(p.rec.note, sizeof(p.rec.note), note) < 0)
		return ctl_err(EXIT_BADINPUT, "--note is longer than %d bytes", REASON_MAX - 1);
	p.target = target;
	p.rec.created = p.rec.updated = ctl->now;
	if ((rc = ctl_store(ctl)) != EXIT_OK)
		return rc;
	if (store_write(ctl->st, put_one, &p) != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	if (!ctl->json)
		printf("suppressed %s %s%s\n", target, p.scope[0] ? "for account " : "globally",
		       p.scope);
	return EXIT_OK;
}

static int
del_one(struct store_txn *txn, void *arg)
{
	struct put_arg *p = arg;

	return suppress_del(txn, p->scope, p->target);
}

static int
cmd_remove(struct ctl *ctl, int argc, char **argv)
{
	const char *account = NULL;
	const struct ctl_opt opts[] = {{"--account", 1, &account, NULL}, {NULL, 0, NULL, NULL}};
	char target[ADDRESS_MAX], *pos[1];
	struct put_arg p = {0};
	int npos, rc;

	if ((rc = ctl_opts(ctl, argc, argv, opts, pos, &npos, 1, "suppress", "remove")) != EXIT_OK)
		return rc;
	if (npos != 1)
		return ctl_usage("suppress", "remove");
	if (suppress_normalise(pos[0], target, sizeof(target)) < 0)
		return ctl_err(EXIT_BADINPUT, "'%s' is not an address or @domain", pos[0]);
	if ((rc = scope_arg(account, &p.scope)) != EXIT_OK || (rc = ctl_store(ctl)) != EXIT_OK)
		return rc;
	p.target = target;
	rc = store_write(ctl->st, del_one, &p);
	if (rc == STORE_NOTFOUND)
		return ctl_err(EXIT_ABSENT, "%s is not on the %s%s list", target,
			       p.scope[0] ? "account " : "global", p.scope);
	if (rc != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	if (!ctl->json)
		printf("removed %s from the %s%s list\n", target,
		       p.scope[0] ? "account " : "global", p.scope);
	return EXIT_OK;
}

struct show_arg {
	struct ctl *ctl;
	const char *target;
	int found;
};

static int
show_match(const char *scope, const char *target, const struct suppress_rec *rec, void *arg)
{
	struct show_arg *s = arg;

	if (strcmp(target, s->target) == 0) {
		entry_print(s->ctl, scope, target, rec);
		s->found++;
	}
	return 0;
}

static int
cmd_show(struct ctl *ctl, int argc, char **argv)
{
	const char *account = NULL, *scope;
	const struct ctl_opt opts[] = {{"--account", 1, &account, NULL}, {NULL, 0, NULL, NULL}};
	char target[ADDRESS_MAX], *pos[1];
	struct show_arg s = {ctl, target, 0};
	struct suppress_rec rec;
	struct store_txn *txn;
	int npos, rc;

	if ((rc = ctl_opts(ctl, argc, argv, opts, pos, &npos, 1, "suppress", "show")) != EXIT_OK)
		return rc;
	if (npos != 1)
		return ctl_usage("suppress", "show");
	if (suppress_normalise(pos[0], target, sizeof(target)) < 0)
		return ctl_err(EXIT_BADINPUT, "'%s' is not an address or @domain", pos[0]);
	if ((rc = scope_arg(account, &scope)) != EXIT_OK || (rc = ctl_store(ctl)) != EXIT_OK)
		return rc;
	if (store_read_begin(ctl->st, &txn) != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	if (account) {
		rc = suppress_get(txn, scope, target, &rec);
		if (rc == STORE_OK) {
			entry_print(ctl, scope, target, &rec);
			s.found = 1;
		}
	} else {
		rc = suppress_find(txn, target, show_match, &s);
	}
	store_read_end(txn);
	if (rc == STORE_ERR)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	if (!s.found)
		return ctl_err(EXIT_ABSENT, "%s is not suppressed%s%s", target,
			       account ? " for account " : "", account ? account : "");
	return EXIT_OK;
}

struct list_arg {
	struct ctl *ctl;
	int reason;
	long limit, n;
	int global_only;
	FILE *out;
	enum sio_format fmt;
	int export;
	int tty;
};

static int
list_one(const char *scope, const char *target, const struct suppress_rec *rec, void *arg)
{
	struct list_arg *l = arg;

	if (l->global_only && scope[0])
		return 0;
	if (l->reason > 0 && rec->reason != l->reason)
		return 0;
	if (l->export) {
		struct sio_entry e = {.reason = rec->reason, .expires = rec->expires};
		text_copy(e.scope, sizeof(e.scope), scope);
		text_copy(e.target, sizeof(e.target), target);
		sio_write(l->out, l->fmt, &e);
		if (l->tty && ++l->n % 100000 == 0)
			fprintf(stderr, "\rexported %ld entries", l->n);
		return 0;
	}
	entry_print(l->ctl, scope, target, rec);
	return l->limit > 0 && ++l->n >= l->limit;
}

/* Shared by list and export: walk a scope (or all) with filters. */
static int
walk(struct ctl *ctl, const char *account, struct list_arg *l)
{
	struct store_txn *txn;
	const char *scope = NULL;
	int rc;

	if (account && l->global_only)
		return ctl_err(EXIT_USAGE, "--account and --global exclude each other");
	if (account && (rc = scope_arg(account, &scope)) != EXIT_OK)
		return rc;
	if (l->global_only)
		scope = "";
	if ((rc = ctl_store(ctl)) != EXIT_OK)
		return rc;
	if (store_read_begin(ctl->st, &txn) != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	rc = suppress_scan(txn, scope, list_one, l);
	store_read_end(txn);
	if (rc == STORE_ERR)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	return EXIT_OK;
}

static int
cmd_list(struct ctl *ctl, int argc, char **argv)
{
	const char *account = NULL, *reason = NULL, *limit = NULL;
	struct list_arg l = {.ctl = ctl, .out = stdout};
	const struct ctl_opt opts[] = {{"--account", 1, &account, NULL},
				       {"--global", 0, NULL, &l.global_only},
				       {"--reason", 1, &reason, NULL},
				       {"--limit", 1, &limit, NULL},
				       {NULL, 0, NULL, NULL}};
	char *pos[1];
	int npos, rc;

	if ((rc = ctl_opts(ctl, argc, argv, opts, pos, &npos, 0, "suppress", "list")) != EXIT_OK)
		return rc;
	if (reason && (l.reason = suppress_reason_parse(reason)) < 0)
		return ctl_err(EXIT_BADINPUT,
			       "reason '%s' is not one of bounce, complaint, "
			       "manual, unsubscribe",
			       reason);
	if (limit) {
		char *end;
		l.limit = strtol(limit, &end, 10);
		if (*end || l.limit <= 0)
			return ctl_err(EXIT_BADINPUT, "--limit must be a positive number");
	}
	return walk(ctl, account, &l);
}

static int
format_arg(const char *fmt, const char *file, enum sio_format *out)
{
	size_t n = file ? strlen(file) : 0;

	if (fmt == NULL)
		*out = n > 5 && (strcmp(file + n - 5, "jsonl") == 0 ||
				 strcmp(file + n - 5, ".json") == 0)
			   ? SIO_JSONL
			   : SIO_CSV;
	else if (strcmp(fmt, "csv") == 0)
		*out = SIO_CSV;
	else if (strcmp(fmt, "jsonl") == 0 || strcmp(fmt, "json") == 0)
		*out = SIO_JSONL;
	else
		return ctl_err(EXIT_USAGE, "--format must be csv or jsonl");
	return EXIT_OK;
}

struct import_batch {
	struct sio_entry *e;
	size_t n;
	int64_t now;
};

static int
import_write(struct store_txn *txn, void *arg)
{
	struct import_batch *b = arg;

	return suppress_put_batch(txn, b->e, b->n, b->now);
}

static int
import_flush(struct ctl *ctl, struct import_batch *b)
{
	if (b->n == 0)
		return EXIT_OK;
	if (store_write(ctl->st, import_write, b) != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	b->n = 0;
	return EXIT_OK;
}

/* Read FP to the end; bad lines are reported (file:line:) and skipped. */
static int
import_stream(struct ctl *ctl, FILE *fp, const char *name, enum sio_format fmt,
	      const char *def_scope, unsigned long *ok_r, unsigned long *bad_r)
{
	struct import_batch b = {xcalloc(IMPORT_BATCH, sizeof(struct sio_entry)), 0, ctl->now};
	unsigned long lineno = 0, start;
	char *buf = NULL, err[256];
	size_t cap = 0;
	ssize_t len;
	int rc = EXIT_OK, tty = isatty(2);

	while (rc == EXIT_OK &&
	       (start = lineno + 1, (len = sio_read_record(fp, fmt, &buf, &cap, &lineno)) >= 0)) {
		struct sio_entry *e = &b.e[b.n];
		int r = sio_parse_line(fmt, buf, (size_t)len, ctl->now, e, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "%s:%lu: %s (line skipped)\n", name, start, err);
			(*bad_r)++;
			continue;
		}
		if (r == 0)
			continue;
		if (e->scope[0] == '\0')
			text_copy(e->scope, sizeof(e->scope), def_scope);
		(*ok_r)++;
		if (++b.n == IMPORT_BATCH) {
			rc = import_flush(ctl, &b);
			if (tty)
				fprintf(stderr, "\rimported %lu entries", *ok_r);
		}
	}
	if (rc == EXIT_OK)
		rc = import_flush(ctl, &b);
	if (tty && *ok_r >= IMPORT_BATCH)
		fputc('\n', stderr);
	free(buf);
	free(b.e);
	return rc;
}

static int
cmd_import(struct ctl *ctl, int argc, char **argv)
{
	const char *fmtname = NULL, *account = NULL, *scope;
	const struct ctl_opt opts[] = {{"--format", 1, &fmtname, NULL},
				       {"--account", 1, &account, NULL},
				       {NULL, 0, NULL, NULL}};
	unsigned long ok = 0, bad = 0;
	uint64_t entries = 0;
	enum sio_format fmt;
	char *pos[1];
	FILE *fp;
	int npos, rc, rebuilt = 0;

	if ((rc = ctl_opts(ctl, argc, argv, opts, pos, &npos, 1, "suppress", "import")) != EXIT_OK)
		return rc;
	if (npos != 1)
		return ctl_usage("suppress", "import");
	if ((rc = format_arg(fmtname, pos[0], &fmt)) != EXIT_OK ||
	    (rc = scope_arg(account, &scope)) != EXIT_OK)
		return rc;
	fp = strcmp(pos[0], "-") == 0 ? stdin : fopen(pos[0], "r");
	if (fp == NULL)
		return ctl_err(EXIT_BADINPUT, "%s:0: cannot open: %s", pos[0], strerror(errno));
	if ((rc = ctl_store(ctl)) == EXIT_OK) {
		store_set_nosync(ctl->st, 1);
		rc =
		    import_stream(ctl, fp, fp == stdin ? "<stdin>" : pos[0], fmt, scope, &ok, &bad);
		store_set_nosync(ctl->st, 0);
		if (store_sync(ctl->st) != STORE_OK && rc == EXIT_OK)
			rc = ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
		if (ok > 0 && sfilter_refresh(ctl->st, &rebuilt, &entries) != STORE_OK &&
		    rc == EXIT_OK)
			rc = ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	}
	if (fp != stdin)
		fclose(fp);
	if (ctl->json) {
		json_t *o =
		    json_pack("{s:I, s:I}", "imported", (json_int_t)ok, "skipped", (json_int_t)bad);
		ctl_json_print(o);
		json_decref(o);
	} else {
		printf("imported %lu entries, skipped %lu bad lines\n", ok, bad);
		if (rebuilt)
			printf("rebuilt the suppression filter over %llu entries\n",
			       (unsigned long long)entries);
	}
	if (rc == EXIT_OK && bad > 0)
		rc = EXIT_BADINPUT;
	return rc;
}

static int
cmd_export(struct ctl *ctl, int argc, char **argv)
{
	const char *fmtname = NULL, *account = NULL;
	struct list_arg l = {.ctl = ctl, .export = 1, .tty = isatty(2)};
	const struct ctl_opt opts[] = {{"--format", 1, &fmtname, NULL},
				       {"--account", 1, &account, NULL},
				       {"--global", 0, NULL, &l.global_only},
				       {NULL, 0, NULL, NULL}};
	char *pos[1];
	int npos, rc;

	if ((rc = ctl_opts(ctl, argc, argv, opts, pos, &npos, 1, "suppress", "export")) != EXIT_OK)
		return rc;
	if ((rc = format_arg(fmtname, npos ? pos[0] : NULL, &l.fmt)) != EXIT_OK)
		return rc;
	l.out = npos == 0 || strcmp(pos[0], "-") == 0 ? stdout : fopen(pos[0], "w");
	if (l.out == NULL)
		return ctl_err(EXIT_BADINPUT, "%s: cannot create: %s", pos[0], strerror(errno));
	sio_write_header(l.out, l.fmt);
	rc = walk(ctl, account, &l);
	if (l.tty && l.n >= 100000)
		fputc('\n', stderr);
	if (l.out != stdout && fclose(l.out) != 0 && rc == EXIT_OK)
		rc = ctl_err(EXIT_UNAVAILABLE, "%s: write failed: %s", pos[0], strerror(errno));
	return rc;
}

const struct ctl_cmd ctl_suppress_cmds[] = {
    {"suppress", "add", cmd_add,
     "ADDRESS|@DOMAIN [--account A] [--reason bounce|complaint|manual|unsubscribe] "
     "[--expires 30d|RFC3339] [--note TEXT]",
     "suppress an address or a whole domain, for one account or (without --account) "
     "globally"},
    {"suppress", "remove", cmd_remove, "ADDRESS|@DOMAIN [--account A]",
     "remove an entry; exit 1 if it was not there"},
    {"suppress", "show", cmd_show, "ADDRESS|@DOMAIN [--account A] [--json]",
     "show the entry in every scope that holds it (or in one account's); exit 1 if none"},
    {"suppress", "list", cmd_list, "[--account A | --global] [--reason R] [--limit N] [--json]",
     "list entries (JSON lines with --json)"},
    {"suppress", "import", cmd_import, "FILE|- [--format csv|jsonl] [--account A]",
     "bulk import: CSV address,reason[,account[,expires]] or JSON lines (--account: the "
     "scope of rows without one); bad lines are reported as file:line: and skipped, and "
     "the exit code is then 4"},
    {"suppress", "export", cmd_export, "[FILE|-] [--format csv|jsonl] [--account A | --global]",
     "write entries in the import format"},
    {NULL, NULL, NULL, NULL, NULL},
};
