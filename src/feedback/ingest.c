/* ingest -- Postfix log lines to counters and suppressions; see ingest.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "account/account.h"
#include "account/identity.h"
#include "feedback/maillog.h"
#include "store/records.h"
#include "suppress/suppress.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xalloc.h"

#define QMAP_BUCKETS 4096
#define PENDING_MAX 2048
#define NOTE_MAX 200

/* What the log told us so far about one queue id. */
struct qent {
	struct qent *next;
	char qid[64];
	int64_t first_seen; /* time of its first line: tells a reused short id apart */
	char sasl[128];
	char sender[ADDRESS_MAX];
	char client[64];
	char account[ACCOUNT_NAME_MAX]; /* resolved, or "" */
	int resolved;
};

struct pending {
	char key[512];
	size_t klen;
	char account[ACCOUNT_NAME_MAX];
	char rcpt[ADDRESS_MAX];
	int field; /* enum stats_field */
	int cls;
	int64_t when;
	char note[NOTE_MAX];
};

struct ingest {
	const struct conf *conf;
	struct store *st;
	const struct classify_rules *rules;
	struct qent *map[QMAP_BUCKETS];
	struct pending *pend;
	size_t npend;
	char (*touched)[ACCOUNT_NAME_MAX]; /* accounts with new results, for the rate checks */
	size_t ntouched, cap_touched;
	struct ingest_stats stats;
};

static unsigned
qhash(const char *s)
{
	unsigned h = 5381;

	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h % QMAP_BUCKETS;
}

static struct qent *
qmap_get(struct ingest *ing, const char *qid, int64_t when, int create)
{
	struct qent **head = &ing->map[qhash(qid)], *e;

	for (e = *head; e; e = e->next)
		if (strcmp(e->qid, qid) == 0)
			return e;
	if (!create)
		return NULL;
	e = xcalloc(1, sizeof(*e));
	text_copy(e->qid, sizeof(e->qid), qid);
	e->first_seen = when;
	e->next = *head;
	*head = e;
	return e;
}

/* `removed`: the queue id's story is over (short ids are reused later). */
static void
qmap_drop(struct ingest *ing, const char *qid)
{
	struct qent **p = &ing->map[qhash(qid)];

	for (; *p; p = &(*p)->next)
		if (strcmp((*p)->qid, qid) == 0) {
			struct qent *e = *p;
			*p = e->next;
			free(e);
			return;
		}
}

struct ingest *
ingest_create(const struct conf *conf, struct store *st, const struct classify_rules *rules)
{
	struct ingest *ing = xcalloc(1, sizeof(*ing));

	ing->conf = conf;
	ing->st = st;
	ing->rules = rules;
	ing->pend = xcalloc(PENDING_MAX, sizeof(*ing->pend));
	return ing;
}

void
ingest_destroy(struct ingest *ing)
{
	if (ing == NULL)
		return;
	for (int i = 0; i < QMAP_BUCKETS; i++)
		while (ing->map[i]) {
			struct qent *e = ing->map[i];
			ing->map[i] = e->next;
			free(e);
		}
	free(ing->pend);
	free(ing->touched);
	free(ing);
}

const struct ingest_stats *
ingest_get_stats(const struct ingest *ing)
{
	return &ing->stats;
}

/* The account of queue id E: what a front door recorded, else identity from the log. */
static int
resolve(struct ingest *ing, struct qent *e)
{
	struct identity_in in = {e->sasl, e->sender, e->client};
	struct identity_out out;
	struct account_rec acct;
	struct message_rec m;
	struct store_txn *txn;
	struct store_val v;
	int rc;

	if (e->resolved)
		return STORE_OK;
	if (store_read_begin(ing->st, &txn) != STORE_OK)
		return STORE_ERR;
	rc = store_get(txn, DB_MESSAGE, e->qid, strlen(e->qid), &v);
	if (rc == STORE_OK && rec_message_decode(v.data, v.len, &m) == 0 && m.account[0]) {
		text_copy(e->account, sizeof(e->account), m.account);
	} else if (rc != STORE_ERR &&
		   (rc = identity_resolve(txn, ing->conf, &in, &out)) == STORE_OK &&
		   out.how != IDH_NONE) {
		/* A login seen only in the log must name an existing account: no auto-create. */
		if (out.how == IDH_MAPPING || account_get(txn, out.account, &acct) == STORE_OK)
			text_copy(e->account, sizeof(e->account), out.account);
	}
	store_read_end(txn);
	if (rc == STORE_ERR)
		return STORE_ERR;
	e->resolved = 1;
	return STORE_OK;
}

/* DB_RESULT key: qid \0 recipient \0 be64 first_seen. */
static size_t
result_key(char *key, size_t len, const struct qent *e, const char *rcpt)
{
	size_t q = strlen(e->qid) + 1, r = strlen(rcpt) + 1;

	if (q + r + 8 > len || q + r + 8 > 511)
		return 0;
	memcpy(key, e->qid, q);
	memcpy(key + q, rcpt, r);
	for (int i = 0; i < 8; i++)
		key[q + r + i] = (char)((uint64_t)e->first_seen >> (56 - 8 * i));
	return q + r + 8;
}

/* What a DELIVERY line counts as: an enum stats_field, or -1 for nothing. */
static int
delivery_field(struct ingest *ing, const struct maillog_rec *r, int *cls)
{
	*cls = BC_OTHER;
	switch (r->status) {
	case MAILLOG_ST_SENT:
		return SF_DELIVERED;
	case MAILLOG_ST_DEFERRED:
	case MAILLOG_ST_SOFTBOUNCE:
		return SF_DEFERRED;
	case MAILLOG_ST_BOUNCED:
		*cls = classify_text(ing->rules, r->dsn, r->text, NULL);
		switch (classify_kind(*cls)) {
		case BK_HARD:
			return SF_HARD;
		case BK_BLOCK:
			return SF_BLOCK;
		default:
			return SF_SOFT;
		}
	default:
		return -1; /* address probes, expired (per message, no recipient) */
	}
}

static int
on_delivery(struct ingest *ing, const struct maillog_rec *r)
{
	struct qent *e = qmap_get(ing, r->queue_id, r->time, 1);
	struct pending *p;
	char rcpt[ADDRESS_MAX];
	int field, cls;

	if ((field = delivery_field(ing, r, &cls)) < 0 || r->to == NULL ||
	    suppress_normalise(r->to, rcpt, sizeof(rcpt)) < 0)
		return 0;
	ing->stats.results++;
	if (resolve(ing, e) != STORE_OK)
		return -1;
	if (e->account[0] == '\0') {
		ing->stats.unattributed++;
		return 0;
	}
	if (ing->npend == PENDING_MAX && ingest_flush(ing) < 0)
		return -1;
	p = &ing->pend[ing->npend];
	if ((p->klen = result_key(p->key, sizeof(p->key), e, rcpt)) == 0)
		return 0;
	/* A deferral is not final: each attempt counts, told apart by its own time. */
	if (field == SF_DEFERRED && p->klen + 9 <= 511) {
		p->key[p->klen++] = 'd';
		for (int i = 0; i < 8; i++)
			p->key[p->klen++] = (char)((uint64_t)r->time >> (56 - 8 * i));
	}
	text_copy(p->account, sizeof(p->account), e->account);
	text_copy(p->rcpt, sizeof(p->rcpt), rcpt);
	p->field = field;
	p->cls = cls;
	p->when = r->time;
	snprintf(p->note, sizeof(p->note), "%s %s: %s", classify_name(cls), r->dsn ? r->dsn : "-",
		 r->text ? r->text : "");
	ing->npend++;
	return 0;
}

int
ingest_line(struct ingest *ing, const char *line, size_t len, int64_t now)
{
	struct maillog_rec *r = xmalloc(sizeof(*r));
	struct qent *e;
	int kind, rc = 0;

	ing->stats.lines++;
	kind = maillog_parse(line, len, now, r);
	if (kind == MAILLOG_MALFORMED)
		ing->stats.malformed++;
	else if (kind == MAILLOG_IGNORED || r->queue_id == NULL)
		ing->stats.ignored++;
	else if (kind == MAILLOG_SMTPD_CLIENT) {
		e = qmap_get(ing, r->queue_id, r->time, 1);
		text_copy(e->sasl, sizeof(e->sasl), r->sasl_username ? r->sasl_username : "");
		text_copy(e->client, sizeof(e->client), r->client_addr ? r->client_addr : "");
	} else if (kind == MAILLOG_QMGR_FROM || kind == MAILLOG_PICKUP) {
		/* qmgr's sender is qualified (pickup logs "root", qmgr "root@domain"). */
		e = qmap_get(ing, r->queue_id, r->time, 1);
		if (r->from && (kind == MAILLOG_QMGR_FROM || !e->sender[0]))
			text_copy(e->sender, sizeof(e->sender), r->from);
	} else if (kind == MAILLOG_DELIVERY) {
		rc = on_delivery(ing, r);
	} else if (kind == MAILLOG_QMGR_REMOVED) {
		qmap_drop(ing, r->queue_id);
	} else {
		ing->stats.ignored++;
	}
	free(r);
	return rc;
}

/* Add one to the FIELD counter of ACCOUNT's hour holding WHEN. */
static int
stats_add(struct store_txn *txn, const char *account, int64_t when, int field)
{
	uint8_t key[ACCOUNT_NAME_MAX + 5], buf[64];
	size_t al = strlen(account), n;
	uint32_t hour = (uint32_t)(when / 3600);
	struct stats_rec rec = {{0}};
	struct store_val v;
	int rc;

	memcpy(key, account, al + 1);
	for (int i = 0; i < 4; i++)
		key[al + 1 + i] = (uint8_t)(hour >> (24 - 8 * i));
	rc = store_get(txn, DB_STATS, key, al + 5, &v);
	if (rc == STORE_ERR)
		return rc;
	if (rc == STORE_OK && rec_stats_decode(v.data, v.len, &rec) < 0)
		memset(&rec, 0, sizeof(rec));
	rec.n[field]++;
	if ((n = rec_stats_encode(&rec, buf, sizeof(buf))) == 0)
		return STORE_ERR;
	return store_put(txn, DB_STATS, key, al + 5, buf, n);
}

struct flush_ctx {
	struct ingest *ing;
	struct ingest_stats delta;
	const char *meta_key; /* with its value, written in the same transaction */
	const void *meta_val;
	size_t meta_len;
};

static int
flush_one(struct store_txn *txn, struct flush_ctx *fc, const struct pending *p)
{
	uint8_t rec[16] = {1, (uint8_t)p->field, (uint8_t)p->cls};
	struct suppress_rec s = {.reason = SR_BOUNCE, .created = p->when, .updated = p->when};
	struct store_val v;
	int rc;

	if (p->klen) {
		rc = store_get(txn, DB_RESULT, p->key, p->klen, &v);
		if (rc == STORE_OK) {
			fc->delta.duplicates++;
			return STORE_OK;
		}
		if (rc == STORE_ERR ||
		    store_put(txn, DB_RESULT, p->key, p->klen, rec, 3) != STORE_OK)
			return STORE_ERR;
	}
	if (stats_add(txn, p->account, p->when, p->field) != STORE_OK)
		return STORE_ERR;
	fc->delta.counted[p->field]++;
	if (p->field != SF_HARD)
		return STORE_OK;
	text_copy(s.note, sizeof(s.note), p->note);
	fc->delta.suppressed++;
	return suppress_put(txn, p->account, p->rcpt, &s);
}

static int
flush_all(struct store_txn *txn, void *arg)
{
	struct flush_ctx *fc = arg;

	memset(&fc->delta, 0, sizeof(fc->delta));
	for (size_t i = 0; i < fc->ing->npend; i++)
		if (flush_one(txn, fc, &fc->ing->pend[i]) != STORE_OK)
			return STORE_ERR;
	if (fc->meta_key)
		return store_put(txn, DB_META, fc->meta_key, strlen(fc->meta_key), fc->meta_val,
				 fc->meta_len);
	return STORE_OK;
}

static void
touch(struct ingest *ing, const char *account)
{
	for (size_t i = ing->ntouched; i-- > 0;)
		if (strcmp(ing->touched[i], account) == 0)
			return;
	if (ing->ntouched == ing->cap_touched) {
		ing->cap_touched = ing->cap_touched ? ing->cap_touched * 2 : 16;
		ing->touched = xrealloc(ing->touched, ing->cap_touched * sizeof(*ing->touched));
	}
	text_copy(ing->touched[ing->ntouched++], ACCOUNT_NAME_MAX, account);
}

void
ingest_touched(const struct ingest *ing, void (*fn)(const char *account, void *arg), void *arg)
{
	for (size_t i = 0; i < ing->ntouched; i++)
		fn(ing->touched[i], arg);
}

void
ingest_touched_clear(struct ingest *ing)
{
	ing->ntouched = 0;
}

static int
commit(struct ingest *ing, struct flush_ctx *fc)
{
	if (store_write(ing->st, flush_all, fc) != STORE_OK) {
		log_warnx("ingest: %s", store_error(ing->st));
		return -1;
	}
	for (int i = 0; i < SF_COUNT; i++)
		ing->stats.counted[i] += fc->delta.counted[i];
	ing->stats.duplicates += fc->delta.duplicates;
	ing->stats.suppressed += fc->delta.suppressed;
	for (size_t i = 0; i < ing->npend; i++)
		if (i == 0 || strcmp(ing->pend[i].account, ing->pend[i - 1].account) != 0)
			touch(ing, ing->pend[i].account);
	ing->npend = 0;
	return 0;
}

int
ingest_flush(struct ingest *ing)
{
	struct flush_ctx fc = {.ing = ing};

	return ing->npend ? commit(ing, &fc) : 0;
}

int
ingest_commit(struct ingest *ing, const char *key, const void *val, size_t vlen)
{
	struct flush_ctx fc = {.ing = ing, .meta_key = key, .meta_val = val, .meta_len = vlen};

	return commit(ing, &fc);
}
