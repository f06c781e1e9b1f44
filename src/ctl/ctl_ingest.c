/*
 * ctl_ingest -- `outpostctl ingest log [FILE|-]` (delivery results from a
 * Postfix log into the store) and `outpostctl account stats ACCOUNT`.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "account/account.h"
#include "feedback/classify.h"
#include "feedback/ingest.h"
#include "store/records.h"

static void
ingest_report(struct ctl *ctl, const struct ingest_stats *s)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "lines", (json_int_t)s->lines,
			      "ignored", (json_int_t)s->ignored, "malformed",
			      (json_int_t)s->malformed, "results", (json_int_t)s->results,
			      "duplicates", (json_int_t)s->duplicates, "unattributed",
			      (json_int_t)s->unattributed, "suppressed", (json_int_t)s->suppressed);

	for (int i = 0; i < SF_COUNT; i++)
		json_object_set_new(o, stats_field_name(i),
				    json_integer((json_int_t)s->counted[i]));
	if (ctl->json) {
		ctl_json_print(o);
	} else {
		printf("%llu lines (%llu malformed, skipped); %llu delivery results: ",
		       (unsigned long long)s->lines, (unsigned long long)s->malformed,
		       (unsigned long long)s->results);
		for (int i = 0; i < SF_COUNT; i++)
			printf("%s%s %llu", i ? ", " : "", stats_field_name(i),
			       (unsigned long long)s->counted[i]);
		printf("; %llu already counted, %llu with no account; %llu addresses suppressed\n",
		       (unsigned long long)s->duplicates, (unsigned long long)s->unattributed,
		       (unsigned long long)s->suppressed);
	}
	json_decref(o);
}

static int
cmd_ingest_log(struct ctl *ctl, int argc, char **argv)
{
	struct classify_rules *rules;
	struct ingest *ing;
	char *pos[1], *line = NULL, err[512];
	size_t cap = 0;
	ssize_t n;
	FILE *fp;
	int npos, rc;

	if ((rc = ctl_opts(ctl, argc, argv, NULL, pos, &npos, 1, "ingest", "log")) != EXIT_OK)
		return rc;
	if ((rules = classify_load(ctl->conf->feedback.rules, err, sizeof(err))) == NULL)
		return ctl_err(EXIT_BADINPUT, "%s", err);
	fp = npos == 0 || strcmp(pos[0], "-") == 0 ? stdin : fopen(pos[0], "r");
	if (fp == NULL) {
		classify_free(rules);
		return ctl_err(EXIT_BADINPUT, "%s:0: cannot open: %s", pos[0], strerror(errno));
	}
	if ((rc = ctl_store(ctl)) == EXIT_OK) {
		ing = ingest_create(ctl->conf, ctl->st, rules);
		while (rc == EXIT_OK && (n = getline(&line, &cap, fp)) >= 0)
			if (ingest_line(ing, line, (size_t)n, ctl->now) < 0)
				rc = ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
		if (rc == EXIT_OK && ingest_flush(ing) < 0)
			rc = ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
		ingest_report(ctl, ingest_get_stats(ing));
		ingest_destroy(ing);
	}
	free(line);
	if (fp != stdin)
		fclose(fp);
	classify_free(rules);
	return rc;
}

struct sum_ctx {
	uint32_t since_hour[3];
	struct stats_rec sum[3];
};

static int
sum_hour(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct sum_ctx *s = arg;
	const uint8_t *p = (const uint8_t *)k->data + k->len - 4;
	uint32_t hour = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	struct stats_rec r;

	if (k->len < 5 || rec_stats_decode(v->data, v->len, &r) < 0)
		return 0;
	for (int w = 0; w < 3; w++)
		if (hour >= s->since_hour[w])
			for (int i = 0; i < SF_COUNT; i++)
				s->sum[w].n[i] += r.n[i];
	return 0;
}

/* Bounce rate = hard / eligible (delivered + hard + soft), in percent; -1 with no eligible mail. */
static double
bounce_rate(const struct stats_rec *r)
{
	uint64_t eligible = (uint64_t)r->n[SF_DELIVERED] + r->n[SF_HARD] + r->n[SF_SOFT];

	return eligible ? 100.0 * r->n[SF_HARD] / (double)eligible : -1;
}

static const char *const wname[3] = {"24h", "7d", "30d"};
static const int whours[3] = {24, 24 * 7, 24 * 30};

/* The windows as JSON, and as text lines unless --json. */
static json_t *
stats_windows(struct ctl *ctl, const char *name, const struct sum_ctx *s)
{
	json_t *windows = json_object();

	for (int w = 0; w < 3; w++) {
		json_t *win = json_object();
		double br = bounce_rate(&s->sum[w]);
		for (int i = 0; i < SF_COUNT; i++)
			json_object_set_new(win, stats_field_name(i), json_integer(s->sum[w].n[i]));
		json_object_set_new(win, "bounce_rate", br < 0 ? json_null() : json_real(br));
		json_object_set_new(windows, wname[w], win);
		if (ctl->json)
			continue;
		printf("%s %-4s", w ? "        " : name, wname[w]);
		for (int i = 0; i < SF_COUNT; i++)
			printf(" %s=%u", stats_field_name(i), s->sum[w].n[i]);
		if (br >= 0)
			printf(" bounce_rate=%.2f%%", br);
		printf("\n");
	}
	return windows;
}

static int
cmd_account_stats(struct ctl *ctl, int argc, char **argv)
{
	struct sum_ctx s;
	struct account_rec acct;
	struct store_txn *txn;
	char *pos[1];
	int npos, rc;
	json_t *o;

	if ((rc = ctl_opts(ctl, argc, argv, NULL, pos, &npos, 1, "account", "stats")) != EXIT_OK)
		return rc;
	if (npos != 1)
		return ctl_usage("account", "stats");
	if ((rc = ctl_store(ctl)) != EXIT_OK)
		return rc;
	memset(&s, 0, sizeof(s));
	for (int w = 0; w < 3; w++)
		s.since_hour[w] = (uint32_t)(ctl->now / 3600) - (uint32_t)whours[w] + 1;
	if (store_read_begin(ctl->st, &txn) != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	rc = account_get(txn, pos[0], &acct);
	if (rc == STORE_OK)
		rc = store_scan(txn, DB_STATS, pos[0], strlen(pos[0]) + 1, NULL, 0, sum_hour, &s);
	store_read_end(txn);
	if (rc == STORE_NOTFOUND)
		return ctl_err(EXIT_ABSENT, "no account %s", pos[0]);
	if (rc != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	o = json_pack("{s:s, s:s, s:o}", "account", pos[0], "state", account_state_name(acct.state),
		      "windows", stats_windows(ctl, pos[0], &s));
	if (ctl->json)
		ctl_json_print(o);
	else
		printf("state: %s\n", account_state_name(acct.state));
	json_decref(o);
	return EXIT_OK;
}

const struct ctl_cmd ctl_ingest_cmds[] = {
    {"ingest", "log", cmd_ingest_log, "[FILE|-] [--json]",
     "count delivery results from a Postfix log (syslog or maillog_file): each recipient's "
     "final result once per account, hard bounces suppressed for the account; reading the same "
     "lines again counts nothing twice"},
    {"account", "stats", cmd_account_stats, "NAME [--json]",
     "delivered, hard/soft bounces, blocks, deferrals over 24 h, 7 d and 30 d, with the bounce "
     "rate (hard / (delivered + hard + soft))"},
    {NULL, NULL, NULL, NULL, NULL},
};
