/* account_view -- accounts as JSON and operator state changes; see account_view.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "account_view.h"
#include "account/account.h"
#include "account/identity.h"
#include "feedback/reputation.h"
#include "quota/quota.h"
#include "util/text.h"

static int
setting_to_json(const char *key, const char *value, void *arg)
{
	json_object_set_new(arg, key, json_string(value));
	return 0;
}

static int
history_to_json(const struct history_rec *h, void *arg)
{
	char when[32];

	json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:s, s:s}", "time",
					     text_time_format(h->when, when, sizeof(when)), "from",
					     account_state_name(h->from), "to",
					     account_state_name(h->to), "by", h->by, "reason",
					     h->reason));
	return 0;
}

static int
mapping_to_json(const char *spec, const char *account, void *arg)
{
	json_array_append_new(arg, json_string(spec));
	return 0;
}

static int
limit_one(const char *key, const char *value, void *arg)
{
	quota_limits_set(arg, key, value); /* values were checked when set */
	return 0;
}

static json_t *
limit_json(int64_t limit, uint64_t used)
{
	return json_pack("{s:o, s:I}", "limit", limit ? json_integer(limit) : json_null(), "used",
			 (json_int_t)used);
}

/* Limits in effect and usage now: the account's settings over limits.* of the config. */
static json_t *
quota_json(struct store_txn *txn, const struct conf *conf, const char *name,
	   const struct account_rec *rec, int64_t now)
{
	struct quota_limits l;
	struct quota_usage u;
	char key[QSLOT_KEY_MAX], rate[48] = "";
	static const char units[] = "smhd";

	quota_limits_default(conf, &l);
	account_setting_scan(txn, name, limit_one, &l);
	snprintf(key, sizeof(key), "a:%s", name);
	quota_usage(key, &l, now, &u);
	if (l.rate_n)
		snprintf(rate, sizeof(rate), "%lld/%c", (long long)l.rate_n,
			 units[l.rate_per == 1	    ? 0
			       : l.rate_per == 60   ? 1
			       : l.rate_per == 3600 ? 2
						    : 3]);
	return json_pack(
	    "{s:o, s:I, s:o, s:f, s:o, s:o, s:o, s:I, s:I}", "max_rate",
	    rate[0] ? json_string(rate) : json_null(), "max_rate_burst", (json_int_t)l.burst,
	    "rate_available", u.rate_available >= 0 ? json_integer(u.rate_available) : json_null(),
	    "rate_factor", rec->state == AS_REVIEW ? conf->limits.review_rate_factor : 1.0, "daily",
	    limit_json(l.daily, u.day), "hourly", limit_json(l.hourly, u.hour), "monthly",
	    limit_json(l.monthly, u.month), "in_flight", (json_int_t)u.reserved, "total",
	    (json_int_t)u.total);
}

json_t *
account_view_json(struct store_txn *txn, const struct conf *conf, const char *name,
		  const struct account_rec *rec, int64_t now)
{
	json_t *settings = json_object(), *history = json_array(), *maps = json_array(), *o, *rep;
	char since[32], created[32];

	account_setting_scan(txn, name, setting_to_json, settings);
	account_history_scan(txn, name, history_to_json, history);
	identity_scan(txn, name, mapping_to_json, maps);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "account", name, "state",
		      account_state_name(rec->state), "reason", rec->reason, "by", rec->by, "since",
		      text_time_format(rec->since, since, sizeof(since)), "created",
		      text_time_format(rec->created, created, sizeof(created)), "settings",
		      settings, "mappings", maps, "history", history);
	json_object_set_new(o, "quota", quota_json(txn, conf, name, rec, now));
	if ((rep = account_view_reputation_read(txn, conf, name, now)) != NULL)
		json_object_set_new(o, "reputation", rep);
	return o;
}

json_t *
account_view_summary(struct store_txn *txn, const struct conf *conf, const char *name,
		     const struct account_rec *rec, int64_t now, int rates)
{
	char since[32];
	json_t *o, *rep;

	text_time_format(rec->since, since, sizeof(since));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "account", name, "state",
		      account_state_name(rec->state), "reason", rec->reason, "by", rec->by, "since",
		      since);
	if (rates && (rep = account_view_reputation_read(txn, conf, name, now)) != NULL)
		json_object_set_new(o, "reputation", rep);
	return o;
}

/* "over the last 10,001 eligible emails spanning 39.6 days" */
static void
evidence(const struct rate_window *w, char *buf, size_t len)
{
	char e[32];

	snprintf(buf, len, "over the last %s eligible email%s spanning %.1f days%s",
		 rate_group_digits(w->eligible, e, sizeof(e)), w->eligible == 1 ? "" : "s",
		 w->span_days, w->judged ? "" : " (below the minimum volume: not judged)");
}

json_t *
account_view_reputation(const struct rate_window *w, const struct rate_limits *lim, int have_fresh,
			const struct window_rec *fresh)
{
	char start[32], since[32], ev[160];

	evidence(w, ev, sizeof(ev));
	return json_pack(
	    "{s:{s:I, s:I, s:I, s:I, s:I, s:s, s:f, s:s*}, s:f, s:f, s:b, s:s, "
	    "s:{s:I, s:I, s:I, s:f, s:f, s:f, s:f}}",
	    "window", "eligible", (json_int_t)w->eligible, "delivered", (json_int_t)w->delivered,
	    "hard_bounces", (json_int_t)w->hard, "soft_bounces", (json_int_t)w->soft, "complaints",
	    (json_int_t)w->complaints, "start", text_time_format(w->start, start, sizeof(start)),
	    "span_days", w->span_days, "fresh_since",
	    have_fresh ? text_time_format(fresh->since, since, sizeof(since)) : NULL, "bounce_rate",
	    w->bounce_rate, "complaint_rate", w->complaint_rate, "judged", w->judged, "evidence",
	    ev, "thresholds", "min_volume", (json_int_t)lim->min_volume, "window_messages",
	    (json_int_t)lim->window_messages, "window_days", (json_int_t)lim->window_days,
	    "bounce_review", lim->bounce_review, "bounce_pause", lim->bounce_pause,
	    "complaint_review", lim->complaint_review, "complaint_pause", lim->complaint_pause);
}

json_t *
account_view_reputation_read(struct store_txn *txn, const struct conf *conf, const char *name,
			     int64_t now)
{
	struct rate_limits lim;
	struct rate_window w;
	struct window_rec fresh;
	int rc = reputation_limits(txn, conf, name, &lim), have_fresh;

	if (rc == STORE_OK)
		rc = reputation_window(txn, name, now, &lim, &w);
	if (rc != STORE_OK)
		return NULL;
	rc = reputation_fresh_get(txn, name, &fresh);
	if (rc == STORE_ERR)
		return NULL;
	have_fresh = rc == STORE_OK;
	return account_view_reputation(&w, &lim, have_fresh, &fresh);
}

struct state_op {
	const char *name, *by, *reason;
	int state;
	int64_t now;
	int unchanged, from;
};

static int
state_txn(struct store_txn *txn, void *arg)
{
	struct state_op *op = arg;
	struct account_rec rec;
	int rc = account_get(txn, op->name, &rec);

	if (rc != STORE_OK)
		return rc;
	/* A resume starts a fresh reputation window: the old bounces don't pause it again. */
	if (op->state == AS_ACTIVE &&
	    (rc = reputation_fresh_start(txn, op->name, op->now)) != STORE_OK)
		return rc;
	op->from = rec.state;
	if (rec.state == op->state) {
		op->unchanged = 1;
		return STORE_OK;
	}
	return account_set_state(txn, op->name, op->state, op->by, op->reason, op->now);
}

int
account_change_state(struct store *st, const char *name, int state, const char *by,
		     const char *reason, int64_t now, int *unchanged_r, int *from_r)
{
	struct state_op op = {name, by, reason, state, now, 0, 0};
	int rc = store_write(st, state_txn, &op);

	*unchanged_r = op.unchanged;
	if (from_r)
		*from_r = op.from;
	return rc;
}
