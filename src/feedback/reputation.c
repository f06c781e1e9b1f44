/* reputation -- windows, thresholds and automatic state changes in the store; see reputation.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reputation.h"
#include "account/account.h"
#include "feedback/eventlog.h"
#include "util/text.h"
#include "util/xalloc.h"

#define WINDOW_PREFIX "window:"
#define FLEET_PREFIX "fleetrep:"
#define FLEET_VERSION 1

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
reputation_buckets(struct store_txn *txn, const char *account, uint32_t first,
		   struct rate_bucket **b_r, size_t *n_r)
{
	uint8_t start[ACCOUNT_NAME_MAX + 5];
	struct buckets bs = {NULL, 0, 0, 0};
	int rc;

	bs.klen = stats_key(start, account, first);
	rc = store_scan(txn, DB_STATS, account, strlen(account) + 1, start, bs.klen, bucket_one,
			&bs);
	*b_r = bs.b;
	*n_r = bs.n;
	return rc == STORE_ERR ? rc : STORE_OK;
}

/* The other nodes' buckets of ACCOUNT; none (*N_R 0) when the fleet never told us. */
static int
fleet_get(struct store_txn *txn, const char *account, struct rate_bucket **b_r, size_t *n_r)
{
	char key[ACCOUNT_NAME_MAX + 16];
	struct store_val v;
	int rc;

	*b_r = NULL;
	*n_r = 0;
	snprintf(key, sizeof(key), "%s%s", FLEET_PREFIX, account);
	if ((rc = store_get(txn, DB_META, key, strlen(key), &v)) != STORE_OK)
		return rc == STORE_ERR ? rc : STORE_OK;
	if (v.len < 1 || ((const uint8_t *)v.data)[0] != FLEET_VERSION ||
	    (v.len - 1) % sizeof(struct rate_bucket) != 0)
		return STORE_OK;
	*n_r = (v.len - 1) / sizeof(struct rate_bucket);
	*b_r = xmalloc(*n_r ? *n_r * sizeof(struct rate_bucket) : 1);
	memcpy(*b_r, (const uint8_t *)v.data + 1, *n_r * sizeof(struct rate_bucket));
	return STORE_OK;
}

int
reputation_fleet_put(struct store_txn *txn, const char *account, const struct rate_bucket *b,
		     size_t n)
{
	char key[ACCOUNT_NAME_MAX + 16];
	size_t len = 1 + n * sizeof(*b);
	uint8_t *buf = xmalloc(len);
	int rc;

	snprintf(key, sizeof(key), "%s%s", FLEET_PREFIX, account);
	buf[0] = FLEET_VERSION;
	memcpy(buf + 1, b, n * sizeof(*b));
	rc = store_put(txn, DB_META, key, strlen(key), buf, len);
	free(buf);
	return rc;
}

/* A[0..NA-1] and the others' O[0..NO-1] summed per hour (both ascending); the others'
 * counts of hour SKIP (the fresh window's first hour) are left out.  The result is malloc'd. */
static struct rate_bucket *
merge(const struct rate_bucket *a, size_t na, const struct rate_bucket *o, size_t no, int64_t skip,
      size_t *n_r)
{
	struct rate_bucket *m = xmalloc((na + no + 1) * sizeof(*m));
	size_t i = 0, j = 0, n = 0;

	while (i < na || j < no) {
		if (j < no && (int64_t)o[j].hour == skip) {
			j++;
			continue;
		}
		if (j == no || (i < na && a[i].hour < o[j].hour))
			m[n++] = a[i++];
		else if (i == na || o[j].hour < a[i].hour)
			m[n++] = o[j++];
		else {
			m[n] = a[i++];
			for (int f = 0; f < SF_COUNT; f++)
				m[n].c.n[f] += o[j].c.n[f];
			j++, n++;
		}
	}
	*n_r = n;
	return m;
}

/* ACCOUNT's window, over the fleet's counters unless LOCAL. */
static int
window_of(struct store_txn *txn, const char *account, int64_t now, const struct rate_limits *lim,
	  int local, struct rate_window *w)
{
	int64_t first = now / 3600 - lim->window_days * 24 + 1;
	struct rate_bucket *b = NULL, *o = NULL, *m = NULL;
	size_t nb = 0, no = 0, nm = 0;
	struct window_rec fresh;
	int rc, have_fresh;

	if ((rc = reputation_fresh_get(txn, account, &fresh)) == STORE_ERR)
		return rc;
	have_fresh = rc == STORE_OK;
	rc = reputation_buckets(txn, account, (uint32_t)(first > 0 ? first : 0), &b, &nb);
	if (rc == STORE_OK && !local)
		rc = fleet_get(txn, account, &o, &no);
	if (rc == STORE_OK) {
		m = merge(b, nb, o, no, have_fresh ? fresh.since / 3600 : -1, &nm);
		rate_window_compute(m, nm, now, lim, have_fresh ? &fresh : NULL, w);
	}
	free(b);
	free(o);
	free(m);
	return rc;
}

int
reputation_window(struct store_txn *txn, const char *account, int64_t now,
		  const struct rate_limits *lim, struct rate_window *w)
{
	return window_of(txn, account, now, lim, 0, w);
}

int
reputation_window_local(struct store_txn *txn, const char *account, int64_t now,
			const struct rate_limits *lim, struct rate_window *w)
{
	return window_of(txn, account, now, lim, 1, w);
}

static const char *const mark_prefix[] = {"fleetdirty:", "fleetjudge:"};

/* DB_META key of ACCOUNT's MARK; its length, 0 if too long. */
static size_t
mark_key(char *key, size_t len, int mark, const char *account)
{
	int n = snprintf(key, len, "%s%s", mark_prefix[mark], account);

	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

int
reputation_mark_set(struct store_txn *txn, int mark, const char *account, const char *val)
{
	char key[ACCOUNT_NAME_MAX + 16];
	size_t kl = mark_key(key, sizeof(key), mark, account);

	return kl ? store_put(txn, DB_META, key, kl, val, strlen(val)) : STORE_ERR;
}

int
reputation_mark_get(struct store_txn *txn, int mark, const char *account, char *val, size_t len)
{
	char key[ACCOUNT_NAME_MAX + 16];
	size_t kl = mark_key(key, sizeof(key), mark, account);
	struct store_val v;
	int rc;

	val[0] = '\0';
	if (kl == 0)
		return STORE_NOTFOUND;
	if ((rc = store_get(txn, DB_META, key, kl, &v)) == STORE_OK && v.len < len) {
		memcpy(val, v.data, v.len);
		val[v.len] = '\0';
	}
	return rc;
}

int
reputation_mark_del(struct store_txn *txn, int mark, const char *account)
{
	char key[ACCOUNT_NAME_MAX + 16];
	size_t kl = mark_key(key, sizeof(key), mark, account);
	int rc = kl ? store_del(txn, DB_META, key, kl) : STORE_NOTFOUND;

	return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

struct marks {
	char (*names)[ACCOUNT_NAME_MAX];
	int n, max;
	size_t plen;
};

static int
mark_one(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct marks *ms = arg;
	size_t len = k->len - ms->plen;

	if (len == 0 || len >= ACCOUNT_NAME_MAX)
		return 0;
	memcpy(ms->names[ms->n], (const char *)k->data + ms->plen, len);
	ms->names[ms->n][len] = '\0';
	return ++ms->n == ms->max;
}

int
reputation_mark_list(struct store_txn *txn, int mark, char (*names)[ACCOUNT_NAME_MAX], int max)
{
	struct marks ms = {names, 0, max, strlen(mark_prefix[mark])};

	if (store_scan(txn, DB_META, mark_prefix[mark], ms.plen, NULL, 0, mark_one, &ms) ==
	    STORE_ERR)
		return -1;
	return ms.n;
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
reputation_judge(struct store_txn *txn, const struct conf *conf, const char *account, int64_t now,
		 int flags, struct reputation_verdict *v)
{
	struct account_rec acct;
	int rc;

	memset(v, 0, sizeof(*v));
	v->to = -1;
	if ((rc = account_get(txn, account, &acct)) != STORE_OK)
		return rc;
	v->from = acct.state;
	v->since = acct.since;
	if ((rc = reputation_limits(txn, conf, account, &v->lim)) != STORE_OK ||
	    (rc = window_of(txn, account, now, &v->lim, flags & REP_LOCAL, &v->w)) != STORE_OK)
		return rc;
	v->to = rate_verdict(&v->w, &v->lim, acct.state, &v->cause);
	if (v->to < 0)
		return STORE_OK;
	text_copy(v->by, sizeof(v->by),
		  v->cause == RC_COMPLAINT ? "rule:complaint-rate" : "rule:bounce-rate");
	rate_reason(&v->w, &v->lim, v->cause, v->to, v->reason, sizeof(v->reason));
	v->enforce = auto_enforce(txn, account);
	if (!v->enforce || (flags & REP_NOAPPLY))
		return STORE_OK;
	v->applied = 1;
	return account_set_state(txn, account, v->to, v->by, v->reason, now);
}

int
reputation_enforce(struct store_txn *txn, const struct conf *conf, const char *account, int64_t now,
		   struct reputation_verdict *v)
{
	return reputation_judge(txn, conf, account, now, 0, v);
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
