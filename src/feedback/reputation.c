/* reputation -- windows, thresholds and automatic state changes in the store; see reputation.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "reputation.h"
#include "account/account.h"
#include "feedback/eventlog.h"
#include "util/text.h"
#include "util/xalloc.h"

#define WINDOW_PREFIX "window:"

static void
setting_double(struct store_txn *txn, const char *account, const char *key, double *v)
{
	char buf[REASON_MAX], *end;
	double d;

	if (account_setting_get(txn, account, key, buf, sizeof(buf)) != STORE_OK)
		return;
	d = strtod(buf, &end);
	if (end != buf && *end == '\0' && d >= 0 && d <= 100)
		*v = d;
}

int
reputation_limits(struct store_txn *txn, const struct conf *conf, const char *account,
		  struct rate_limits *lim)
{
	char buf[REASON_MAX], *end;
	long long n;

	lim->window_messages = conf->feedback.window_messages;
	lim->window_days = conf->feedback.window_days;
	lim->min_volume = conf->feedback.min_volume;
	lim->bounce_review = conf->feedback.bounce_review;
	lim->bounce_pause = conf->feedback.bounce_pause;
	lim->complaint_review = conf->feedback.complaint_review;
	lim->complaint_pause = conf->feedback.complaint_pause;
	if (account_setting_get(txn, account, "min-volume", buf, sizeof(buf)) == STORE_OK &&
	    (n = strtoll(buf, &end, 10)) > 0 && *end == '\0')
		lim->min_volume = n;
	setting_double(txn, account, "bounce-review", &lim->bounce_review);
	setting_double(txn, account, "bounce-pause", &lim->bounce_pause);
	setting_double(txn, account, "complaint-review", &lim->complaint_review);
	setting_double(txn, account, "complaint-pause", &lim->complaint_pause);
	return STORE_OK;
}

/* DB_STATS key of ACCOUNT's HOUR; returns its length. */
static size_t
stats_key(uint8_t *key, const char *account, uint32_t hour)
{
	size_t al = strlen(account);

	memcpy(key, account, al + 1);
	for (int i = 0; i < 4; i++)
		key[al + 1 + i] = (uint8_t)(hour >> (24 - 8 * i));
	return al + 5;
}

struct buckets {
	struct rate_bucket *b;
	size_t n, cap, klen;
};

static int
bucket_one(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct buckets *bs = arg;
	const uint8_t *p = (const uint8_t *)k->data + bs->klen - 4;
	struct rate_bucket *b;

	if (k->len != bs->klen)
		return 0;
	if (bs->n == bs->cap) {
		bs->cap = bs->cap ? bs->cap * 2 : 64;
		bs->b = xrealloc(bs->b, bs->cap * sizeof(*bs->b));
	}
	b = &bs->b[bs->n];
	b->hour = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	if (rec_stats_decode(v->data, v->len, &b->c) == 0)
		bs->n++;
	return 0;
}

int
reputation_window(struct store_txn *txn, const char *account, int64_t now,
		  const struct rate_limits *lim, struct rate_window *w)
{
	uint8_t start[ACCOUNT_NAME_MAX + 5];
	int64_t first = now / 3600 - lim->window_days * 24 + 1;
	struct buckets bs = {NULL, 0, 0, 0};
	struct window_rec fresh;
	int rc, have_fresh;

	if ((rc = reputation_fresh_get(txn, account, &fresh)) == STORE_ERR)
		return rc;
	have_fresh = rc == STORE_OK;
	bs.klen = stats_key(start, account, (uint32_t)(first > 0 ? first : 0));
	rc = store_scan(txn, DB_STATS, account, strlen(account) + 1, start, bs.klen, bucket_one,
			&bs);
	if (rc != STORE_ERR)
		rate_window_compute(bs.b, bs.n, now, lim, have_fresh ? &fresh : NULL, w);
	free(bs.b);
	return rc == STORE_ERR ? rc : STORE_OK;
}

static size_t
window_key(char *key, size_t len, const char *account)
{
	int n = snprintf(key, len, "%s%s", WINDOW_PREFIX, account);

	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

int
reputation_fresh_get(struct store_txn *txn, const char *account, struct window_rec *r)
{
	char key[ACCOUNT_NAME_MAX + 16];
	size_t kl = window_key(key, sizeof(key), account);
	struct store_val v;
	int rc;

	if (kl == 0)
		return STORE_NOTFOUND;
	if ((rc = store_get(txn, DB_META, key, kl, &v)) != STORE_OK)
		return rc;
	return rec_window_decode(v.data, v.len, r) == 0 ? STORE_OK : STORE_NOTFOUND;
}

int
reputation_fresh_start(struct store_txn *txn, const char *account, int64_t now)
{
	char key[ACCOUNT_NAME_MAX + 16];
	uint8_t skey[ACCOUNT_NAME_MAX + 5], buf[64];
	struct window_rec r = {.since = now};
	size_t kl = window_key(key, sizeof(key), account), n;
	struct store_val v;
	int rc;

	if (kl == 0)
		return STORE_ERR;
	rc = store_get(txn, DB_STATS, skey, stats_key(skey, account, (uint32_t)(now / 3600)), &v);
	if (rc == STORE_ERR)
		return rc;
	if (rc == STORE_OK && rec_stats_decode(v.data, v.len, &r.base) < 0)
		memset(&r.base, 0, sizeof(r.base));
	if ((n = rec_window_encode(&r, buf, sizeof(buf))) == 0)
		return STORE_ERR;
	return store_put(txn, DB_META, key, kl, buf, n);
}

/* auto-enforce=off: rates as usual, no automatic state change. */
static int
auto_enforce(struct store_txn *txn, const char *account)
{
	char buf[16];

	return account_setting_get(txn, account, "auto-enforce", buf, sizeof(buf)) != STORE_OK ||
	       strcmp(buf, "off") != 0;
}

int
reputation_enforce(struct store_txn *txn, const struct conf *conf, const char *account, int64_t now,
		   struct reputation_verdict *v)
{
	struct account_rec acct;
	int rc;

	memset(v, 0, sizeof(*v));
	v->to = -1;
	if ((rc = account_get(txn, account, &acct)) != STORE_OK)
		return rc;
	v->from = acct.state;
	if ((rc = reputation_limits(txn, conf, account, &v->lim)) != STORE_OK ||
	    (rc = reputation_window(txn, account, now, &v->lim, &v->w)) != STORE_OK)
		return rc;
	v->to = rate_verdict(&v->w, &v->lim, acct.state, &v->cause);
	if (v->to < 0)
		return STORE_OK;
	text_copy(v->by, sizeof(v->by),
		  v->cause == RC_COMPLAINT ? "rule:complaint-rate" : "rule:bounce-rate");
	rate_reason(&v->w, &v->lim, v->cause, v->to, v->reason, sizeof(v->reason));
	if (!auto_enforce(txn, account))
		return STORE_OK;
	v->applied = 1;
	return account_set_state(txn, account, v->to, v->by, v->reason, now);
}

void
reputation_event(const struct conf *conf, const char *account, const struct reputation_verdict *v)
{
	json_t *w = json_pack("{s:I, s:I, s:I, s:I, s:f}", "eligible", (json_int_t)v->w.eligible,
			      "delivered", (json_int_t)v->w.delivered, "hard_bounces",
			      (json_int_t)v->w.hard, "complaints", (json_int_t)v->w.complaints,
			      "span_days", v->w.span_days);
	struct outpost_event ev = {
	    .type = "state",
	    .account = account,
	    .cls = v->cause == RC_COMPLAINT ? "complaint-rate" : "bounce-rate",
	    .reason = v->reason,
	    .from = account_state_name(v->from),
	    .to = account_state_name(v->to),
	    .has_rate = 1,
	    .rate = v->cause == RC_COMPLAINT ? v->w.complaint_rate : v->w.bounce_rate,
	    .window = w,
	};

	event_emit(conf, &ev);
	json_decref(w);
}
