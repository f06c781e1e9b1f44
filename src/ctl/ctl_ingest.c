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
#include "account/account_view.h"
#include "feedback/classify.h"
#include "feedback/ingest.h"
#include "feedback/reputation.h"
#include "util/text.h"
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

/* A new result: to the event log. */
static void
on_note(const struct ingest_note *n, void *arg)
{
	ingest_note_emit(arg, n);
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
		if (ctl->conf->feedback.event_log[0])
			ingest_set_notify(ing, on_note, (void *)ctl->conf);
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

static void
reputation_print(const struct rate_window *w, const struct rate_limits *lim)
{
	char e[32], d[32], n[32], m[32];

	printf("window:  %s eligible (%s delivered, %llu hard, %llu soft, %llu complaints) "
	       "spanning %.1f days; at most the last %s within %lld days\n",
	       rate_group_digits(w->eligible, e, sizeof(e)),
	       rate_group_digits(w->delivered, d, sizeof(d)), (unsigned long long)w->hard,
	       (unsigned long long)w->soft, (unsigned long long)w->complaints, w->span_days,
	       rate_group_digits((uint64_t)lim->window_messages, n, sizeof(n)),
	       (long long)lim->window_days);
	printf("bounce rate:    %6.2f%%  (review at %g%%, pause at %g%%)\n", w->bounce_rate,
	       lim->bounce_review, lim->bounce_pause);
	printf("complaint rate: %6.2f%%  (review at %g%%, pause at %g%%)\n", w->complaint_rate,
	       lim->complaint_review, lim->complaint_pause);
	if (!w->judged)
		printf("not judged yet: %s eligible, the minimum volume is %s\n", e,
		       rate_group_digits((uint64_t)lim->min_volume, m, sizeof(m)));
}

struct stats_read {
	const struct conf *conf;
	const char *name;
	int64_t now;
	struct sum_ctx *s;
	struct account_rec acct;
	struct rate_limits lim;
	struct rate_window w;
	struct window_rec fresh;
	int have_fresh;
};

static int
stats_read(struct store_txn *txn, struct stats_read *r)
{
	int rc = account_get(txn, r->name, &r->acct);

	if (rc == STORE_OK)
		rc = store_scan(txn, DB_STATS, r->name, strlen(r->name) + 1, NULL, 0, sum_hour,
				r->s);
	if (rc == STORE_OK)
		rc = reputation_limits(txn, r->conf, r->name, &r->lim);
	if (rc == STORE_OK)
		rc = reputation_window(txn, r->name, r->now, &r->lim, &r->w);
	if (rc == STORE_OK) {
		rc = reputation_fresh_get(txn, r->name, &r->fresh);
		r->have_fresh = rc == STORE_OK;
		rc = rc == STORE_ERR ? rc : STORE_OK;
	}
	return rc;
}

static int
cmd_account_stats(struct ctl *ctl, int argc, char **argv)
{
	struct sum_ctx s;
	struct stats_read r = {.conf = ctl->conf, .now = ctl->now, .s = &s};
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
	r.name = pos[0];
	rc = stats_read(txn, &r);
	store_read_end(txn);
	if (rc == STORE_NOTFOUND)
		return ctl_err(EXIT_ABSENT, "no account %s", pos[0]);
	if (rc != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	o = json_pack("{s:s, s:s, s:s, s:o, s:o}", "account", pos[0], "state",
		      account_state_name(r.acct.state), "reason", r.acct.reason, "windows",
		      stats_windows(ctl, pos[0], &s), "reputation",
		      account_view_reputation(&r.w, &r.lim, r.have_fresh, &r.fresh));
	if (ctl->json) {
		ctl_json_print(o);
	} else {
		reputation_print(&r.w, &r.lim);
		printf("state: %s%s%s\n", account_state_name(r.acct.state),
		       r.acct.reason[0] ? " -- " : "", r.acct.reason);
	}
	json_decref(o);
	return EXIT_OK;
}

const struct ctl_cmd ctl_ingest_cmds[] = {
    {"ingest", "log", cmd_ingest_log, "[FILE|-] [--json]",
     "count delivery results from a Postfix log (syslog or maillog_file): each recipient's "
     "final result once per account, hard bounces suppressed for the account; reading the same "
     "lines again counts nothing twice"},
    {"account", "stats", cmd_account_stats, "NAME [--json]",
     "delivered, hard/soft bounces, blocks, deferrals over 24 h, 7 d and 30 d; the reputation "
     "window (last feedback.window_messages eligible recipients within feedback.window_days), "
     "its bounce rate (hard / (delivered + hard + soft)) and complaint rate (complaints / "
     "delivered), the thresholds in effect and the state"},
    {NULL, NULL, NULL, NULL, NULL},
};
