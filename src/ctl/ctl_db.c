/*
 * ctl_db -- `outpostctl db backup PATH` and `outpostctl db check`.
 *
 * backup copies the store online (LMDB's compacting copy of one read
 * snapshot: consistent while the daemon keeps writing), then checks the
 * copy.  check walks every record of every database and decodes it with the
 * record layouts the daemon uses; records that don't decode, settings with a
 * value outpostctl would refuse, and history, settings or mappings of
 * accounts that don't exist are problems (exit 4).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl.h"
#include "store/changes.h"
#include "account/account.h"
#include "feedback/expire.h"
#include "store/records.h"
#include "store/sfilter.h"
#include "store/store.h"
#include "util/text.h"

#define MAX_SHOWN 20 /* problems printed; all are counted */

struct check {
	struct store_txn *txn;
	enum store_db db;
	uint64_t records[DB_COUNT], bad[DB_COUNT];
	json_t *problems;
};

static void problem(struct check *c, const struct store_val *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Note a problem with record KEY of the database being checked. */
static void
problem(struct check *c, const struct store_val *key, const char *fmt, ...)
{
	va_list ap;
	char k[160], msg[320];
	size_t n = key->len < sizeof(k) - 1 ? key->len : sizeof(k) - 1;

	/* Keys hold NULs between their parts: show them as '/'. */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = ((const unsigned char *)key->data)[i];
		k[i] = ch == 0 ? '/' : (ch < 0x20 || ch > 0x7e) ? '?' : (char)ch;
	}
	k[n] = '\0';
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->bad[c->db]++;
	if (json_array_size(c->problems) < MAX_SHOWN)
		json_array_append_new(c->problems,
				      json_pack("{s:s, s:s, s:s}", "db", store_db_name(c->db),
						"key", k, "problem", msg));
}

/* The account name a key of DB_ACCTSET or DB_HISTORY starts with must exist. */
static void
check_owner(struct check *c, const struct store_val *key)
{
	char name[ACCOUNT_NAME_MAX];
	size_t n = strnlen(key->data, key->len);
	struct account_rec rec;

	if (n == key->len || n >= sizeof(name)) {
		problem(c, key, "%s", "key without an account name");
		return;
	}
	memcpy(name, key->data, n);
	name[n] = '\0';
	if (account_get(c->txn, name, &rec) == STORE_NOTFOUND)
		problem(c, key, "left over from account %s, which does not exist", name);
}

static void
check_setting(struct check *c, const struct store_val *key, const struct store_val *val)
{
	size_t n = strnlen(key->data, key->len);
	char setting[64], value[REASON_MAX + 1], err[256];

	check_owner(c, key);
	if (n == key->len || key->len - n - 1 >= sizeof(setting) || val->len >= sizeof(value))
		return;
	memcpy(setting, (const char *)key->data + n + 1, key->len - n - 1);
	setting[key->len - n - 1] = '\0';
	memcpy(value, val->data, val->len);
	value[val->len] = '\0';
	if (account_setting_check(setting, value, err, sizeof(err)) < 0)
		problem(c, key, "%s", err);
}

/* A suppression entry the filter says is absent would never be enforced. */
static void
check_filtered(struct check *c, const struct store_val *key)
{
	const char *target = memchr(key->data, '\0', key->len);

	if (target == NULL)
		return;
	target++;
	if (sfilter_maybe(c->txn, target, key->len - (size_t)(target - (const char *)key->data)) ==
	    0)
		problem(c, key, "%s",
			"missing from the suppression filter (written around Outpost?): not "
			"enforced until `outpostctl db filter --rebuild`");
}

/* An identity mapping must name an account that exists; 1 if its value is no name at all. */
static int
check_mapping(struct check *c, const struct store_val *key, const struct store_val *val)
{
	char name[ACCOUNT_NAME_MAX];
	struct account_rec rec;

	if (val->len == 0 || val->len >= sizeof(name))
		return 1;
	memcpy(name, val->data, val->len);
	name[val->len] = '\0';
	if (account_get(c->txn, name, &rec) == STORE_NOTFOUND)
		problem(c, key, "mapped to account %s, which does not exist", name);
	return 0;
}

static int
check_one(const struct store_val *key, const struct store_val *val, void *arg)
{
	struct check *c = arg;
	union {
		struct suppress_rec s;
		struct account_rec a;
		struct history_rec h;
		struct message_rec m;
		struct stats_rec st;
	} u;
	int bad = 0;

	c->records[c->db]++;
	switch (c->db) {
	case DB_SUPPRESS:
		bad = rec_suppress_decode(val->data, val->len, &u.s) < 0;
		check_filtered(c, key);
		break;
	case DB_ACCOUNT:
		bad = rec_account_decode(val->data, val->len, &u.a) < 0;
		break;
	case DB_HISTORY:
		if ((bad = rec_history_decode(val->data, val->len, &u.h) < 0) == 0)
			check_owner(c, key);
		break;
	case DB_MESSAGE:
		bad = rec_message_decode(val->data, val->len, &u.m) < 0;
		break;
	case DB_STATS:
		bad = rec_stats_decode(val->data, val->len, &u.st) < 0;
		break;
	case DB_ACCTSET:
		check_setting(c, key, val);
		break;
	case DB_IDENTITY:
		bad = check_mapping(c, key, val);
		break;
	case DB_OUTBOX: {
		struct change ch;
		if ((bad = change_decode(val->data, val->len, &ch) < 0) == 0)
			change_free(&ch);
		break;
	}
	default: /* DB_META, DB_RESULT, DB_REPL: opaque here */
		break;
	}
	if (bad)
		problem(c, key, "%s",
			"record does not decode (damaged, or written by a newer version)");
	return 0;
}

/* Check every database of ST; the report as JSON. */
static json_t *
check_store(struct store *st, int *problems)
{
	struct check c = {.problems = json_array()};
	json_t *dbs = json_object();
	uint64_t total_bad = 0;

	if (store_read_begin(st, &c.txn) != STORE_OK) {
		json_decref(c.problems);
		json_decref(dbs);
		return NULL;
	}
	for (c.db = 0; c.db < DB_COUNT; c.db++)
		if (store_scan(c.txn, c.db, "", 0, NULL, 0, check_one, &c) == STORE_ERR)
			problem(&c, &(struct store_val){"", 0}, "cannot read: %s", store_error(st));
	store_read_end(c.txn);
	for (int i = 0; i < DB_COUNT; i++) {
		json_object_set_new(dbs, store_db_name(i),
				    json_pack("{s:I, s:I}", "records", (json_int_t)c.records[i],
					      "problems", (json_int_t)c.bad[i]));
		total_bad += c.bad[i];
	}
	*problems = total_bad > 0;
	return json_pack("{s:s, s:b, s:I, s:o, s:o}", "store", store_path(st), "ok", total_bad == 0,
			 "problems_total", (json_int_t)total_bad, "databases", dbs, "problems",
			 c.problems);
}

static void
check_print(json_t *o)
{
	const char *name;
	json_t *v;
	size_t i;

	printf("store %s: %s\n", json_string_value(json_object_get(o, "store")),
	       json_is_true(json_object_get(o, "ok")) ? "ok" : "PROBLEMS");
	json_object_foreach(json_object_get(o, "databases"), name, v)
	    printf("  %-9s %10lld records  %lld problems\n", name,
		   (long long)json_integer_value(json_object_get(v, "records")),
		   (long long)json_integer_value(json_object_get(v, "problems")));
	json_array_foreach(json_object_get(o, "problems"), i, v)
	    printf("  %s %s: %s\n", json_string_value(json_object_get(v, "db")),
		   json_string_value(json_object_get(v, "key")),
		   json_string_value(json_object_get(v, "problem")));
	if (json_integer_value(json_object_get(o, "problems_total")) > MAX_SHOWN)
		printf("  (first %d shown)\n", MAX_SHOWN);
}

/* Check ST and print the report; EXIT_OK, or EXIT_BADINPUT when something is wrong. */
static int
check_report(struct ctl *ctl, struct store *st)
{
	int problems = 0;
	json_t *o = check_store(st, &problems);

	if (o == NULL)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(st));
	if (ctl->json)
		ctl_json_print(o);
	else
		check_print(o);
	json_decref(o);
	return problems ? EXIT_BADINPUT : EXIT_OK;
}

static int
cmd_check(struct ctl *ctl, int argc, char **argv)
{
	const struct ctl_opt opts[] = {{NULL, 0, NULL, NULL}};
	char *pos[1];
	int npos, rc;

	if ((rc = ctl_opts(ctl, argc, argv, opts, pos, &npos, 0, "db", "check")) != EXIT_OK)
		return rc;
	if ((rc = ctl_store(ctl)) != EXIT_OK)
		return rc;
	return check_report(ctl, ctl->st);
}

static int
cmd_backup(struct ctl *ctl, int argc, char **argv)
{
	const struct ctl_opt opts[] = {{NULL, 0, NULL, NULL}};
	struct store_opts so = {ctl->conf->store.map_size, 126, 1, 0};
	struct store *copy;
	struct stat sb;
	char *pos[1], err[512], file[4096];
	int npos, rc;

	if ((rc = ctl_opts(ctl, argc, argv, opts, pos, &npos, 1, "db", "backup")) != EXIT_OK)
		return rc;
	if (npos != 1)
		return ctl_usage("db", "backup");
	if ((rc = ctl_store(ctl)) != EXIT_OK)
		return rc;
	if (store_backup(ctl->st, pos[0]) != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "backup: %s", store_error(ctl->st));
	snprintf(file, sizeof(file), "%s/data.mdb", pos[0]);
	if (stat(file, &sb) < 0)
		return ctl_err(EXIT_UNAVAILABLE, "backup: %s: missing after the copy", file);
	if (!ctl->json)
		printf("backup of %s written to %s (%lld bytes, compacted); checking the copy\n",
		       store_path(ctl->st), pos[0], (long long)sb.st_size);
	if ((copy = store_open(pos[0], &so, err, sizeof(err))) == NULL)
		return ctl_err(EXIT_UNAVAILABLE, "backup: the copy does not open: %s", err);
	rc = check_report(ctl, copy);
	store_close(copy);
	return rc;
}

static int
cmd_expire(struct ctl *ctl, int argc, char **argv)
{
	const char *older = NULL;
	const struct ctl_opt opts[] = {{"--older-than", 1, &older, NULL}, {NULL, 0, NULL, NULL}};
	int64_t age = ctl->conf->feedback.retention;
	struct expire_stats es;
	char *pos[1];
	int npos, rc;

	if ((rc = ctl_opts(ctl, argc, argv, opts, pos, &npos, 0, "db", "expire")) != EXIT_OK)
		return rc;
	if (older && (text_duration_parse(older, &age) < 0 || age < 3600))
		return ctl_err(EXIT_BADINPUT,
			       "--older-than '%s': expected a duration of 1h or more", older);
	if ((rc = ctl_store(ctl)) != EXIT_OK)
		return rc;
	if (expire_run(ctl->st, ctl->now - age, &es) != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "expire: %s", store_error(ctl->st));
	if (ctl->json) {
		json_t *o = json_pack("{s:I, s:I, s:I, s:b}", "older_than_seconds", (json_int_t)age,
				      "messages", (json_int_t)es.messages, "results",
				      (json_int_t)es.results, "filter_rebuilt", es.filter_rebuilt);
		ctl_json_print(o);
		json_decref(o);
	} else
		printf("expired %llu message records and %llu result entries older than %s\n",
		       (unsigned long long)es.messages, (unsigned long long)es.results,
		       older ? older : "feedback.retention");
	if (!ctl->json && es.filter_rebuilt)
		printf("rebuilt the suppression filter over %llu entries\n",
		       (unsigned long long)es.filter_entries);
	return EXIT_OK;
}

static int
filter_rebuild_cb(struct store_txn *txn, void *arg)
{
	(void)arg;
	return sfilter_build(txn);
}

static int
cmd_filter(struct ctl *ctl, int argc, char **argv)
{
	int rebuild = 0, npos, rc, have;
	const struct ctl_opt opts[] = {{"--rebuild", 0, NULL, &rebuild}, {NULL, 0, NULL, NULL}};
	struct sfilter_info info = {0};
	struct store_txn *txn;
	char *pos[1];

	if ((rc = ctl_opts(ctl, argc, argv, opts, pos, &npos, 0, "db", "filter")) != EXIT_OK)
		return rc;
	if ((rc = ctl_store(ctl)) != EXIT_OK)
		return rc;
	if (rebuild && store_write(ctl->st, filter_rebuild_cb, NULL) != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "filter: %s", store_error(ctl->st));
	if (store_read_begin(ctl->st, &txn) != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	rc = sfilter_info(txn, &info);
	store_read_end(txn);
	if (rc == STORE_ERR)
		return ctl_err(EXIT_UNAVAILABLE, "filter: %s", store_error(ctl->st));
	have = rc == STORE_OK;
	if (ctl->json) {
		json_t *o = json_pack("{s:b, s:b, s:I, s:I, s:I, s:I, s:b}", "present", have,
				      "rebuilt", rebuild, "blocks", (json_int_t)info.nblocks,
				      "built_entries", (json_int_t)info.built_entries, "deletes",
				      (json_int_t)info.deletes, "entries", (json_int_t)info.entries,
				      "stale", !have || sfilter_stale(&info));
		ctl_json_print(o);
		json_decref(o);
	} else if (!have) {
		printf("suppression filter: none (every lookup searches the list)\n");
	} else {
		printf(
		    "suppression filter: %u blocks (%u KB), built over %llu entries, %llu deletes "
		    "since; the list holds %llu%s%s\n",
		    info.nblocks, info.nblocks * 4, (unsigned long long)info.built_entries,
		    (unsigned long long)info.deletes, (unsigned long long)info.entries,
		    sfilter_stale(&info) ? "; stale: rebuilt at the next hourly expiry" : "",
		    rebuild ? "; rebuilt now" : "");
	}
	return EXIT_OK;
}

const struct ctl_cmd ctl_db_cmds[] = {
    {"db", "backup", cmd_backup, "PATH [--json]",
     "online, consistent, compacted copy of the store into the new directory PATH, then "
     "checked; restore: stop outpostd, put PATH's data.mdb in store.path"},
    {"db", "expire", cmd_expire, "[--older-than 30d] [--json]",
     "delete message records and delivery-result dedup entries older than feedback.retention, "
     "and rebuild the suppression filter if deletes made it stale (the feedback process does "
     "this every hour)"},
    {"db", "filter", cmd_filter, "[--rebuild] [--json]",
     "show the suppression list's Bloom filter (size, entries, deletes since it was built); "
     "--rebuild builds it afresh now"},
    {"db", "check", cmd_check, "[--json]",
     "decode every record of every database; exit 4 if any is damaged or left over"},
    {NULL, NULL, NULL, NULL, NULL},
};
