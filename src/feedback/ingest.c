/* ingest -- Postfix log lines to counters and suppressions; see ingest.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "account/account.h"
#include "account/identity.h"
#include "decide/simulator.h"
#include "feedback/eventlog.h"
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
	char qid[64];
	char dsn[16];
	char cls_name[32];
	int field; /* enum stats_field */
	int cls;
	int suppress;	    /* enum suppress_reason, 0: none */
	int marker;	    /* dedup on qid + rcpt too */
	int expire;	    /* status=expired of QID: its deferred recipients become final */
	int64_t first_seen; /* expire: the message's first log time (0: the newest seen) */
	int64_t when;
	int isnew; /* set by the flush: counted, not a duplicate */
	char note[NOTE_MAX];
};

/* A recipient an expiry made final, noted after the commit. */
struct xnote {
	size_t pend; /* index of the expiry in the batch */
	char rcpt[ADDRESS_MAX];
	int cls;
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
	struct xnote *xn; /* the batch's expired recipients */
	size_t nxn, cap_xn;
	ingest_note_fn note_fn;
	void *note_arg;
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
	free(ing->xn);
	free(ing);
}

void
ingest_set_notify(struct ingest *ing, ingest_note_fn fn, void *arg)
{
	ing->note_fn = fn;
	ing->note_arg = arg;
}

const char *
ingest_type_name(int field)
{
	switch (field) {
	case SF_DELIVERED:
		return "delivery";
	case SF_DEFERRED:
		return "delay";
	case SF_COMPLAINT:
		return "complaint";
	default:
		return "bounce";
	}
}

void
ingest_note_emit(const struct conf *conf, const struct ingest_note *n)
{
	struct outpost_event ev = {.type = n->type,
				   .ts_ms = n->when * 1000,
				   .account = n->account,
				   .recipient = n->recipient,
				   .queue_id = n->queue_id};

	if (n->field != SF_DELIVERED) {
		ev.cls = n->cls;
		ev.reason = n->text && *n->text ? n->text : NULL;
	}
	ev.dsn = n->dsn && *n->dsn ? n->dsn : NULL;
	event_emit(conf, &ev);
	if (n->suppress == 0)
		return;
	ev = (struct outpost_event){.type = "suppress",
				    .ts_ms = n->when * 1000,
				    .account = n->account,
				    .recipient = n->recipient,
				    .queue_id = n->queue_id,
				    .cls = n->cls,
				    .reason = suppress_reason_name(n->suppress)};
	event_emit(conf, &ev);
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
		return classify_stats_field(*cls);
	default:
		return -1; /* address probes, expired (per message, no recipient) */
	}
}

/* A free slot in the batch; NULL on a store failure. */
static struct pending *
pending_next(struct ingest *ing)
{
	if (ing->npend == PENDING_MAX && ingest_flush(ing) < 0)
		return NULL;
	memset(&ing->pend[ing->npend], 0, sizeof(ing->pend[0]));
	return &ing->pend[ing->npend];
}

int
ingest_result(struct ingest *ing, const struct ingest_result *r)
{
	struct pending *p;

	if (r->account == NULL || r->account[0] == '\0' || r->klen > 500 || r->field < 0 ||
	    r->field >= SF_COUNT)
		return 1;
	if ((p = pending_next(ing)) == NULL)
		return -1;
	if (r->klen)
		memcpy(p->key, r->key, r->klen);
	p->klen = r->klen;
	text_copy(p->account, sizeof(p->account), r->account);
	text_copy(p->rcpt, sizeof(p->rcpt), r->recipient ? r->recipient : "");
	text_copy(p->qid, sizeof(p->qid), r->queue_id ? r->queue_id : "");
	text_copy(p->dsn, sizeof(p->dsn), r->dsn ? r->dsn : "");
	text_copy(p->cls_name, sizeof(p->cls_name),
		  r->cls_name ? r->cls_name : classify_name(r->cls));
	p->field = r->field;
	p->cls = r->cls;
	p->suppress = p->rcpt[0] ? r->suppress : 0;
	p->marker = r->marker && p->qid[0] && p->rcpt[0];
	p->when = r->when;
	snprintf(p->note, sizeof(p->note), "%s", r->text ? r->text : "");
	ing->npend++;
	return 0;
}

static int
on_delivery(struct ingest *ing, const struct maillog_rec *r)
{
	struct qent *e = qmap_get(ing, r->queue_id, r->time, 1);
	struct ingest_result res = {0};
	char rcpt[ADDRESS_MAX], key[512], note[NOTE_MAX];
	int field, cls;
	size_t klen;

	if ((field = delivery_field(ing, r, &cls)) < 0 || r->to == NULL ||
	    simulator_address(ing->conf->simulator.domain, r->to) ||
	    suppress_normalise(r->to, rcpt, sizeof(rcpt)) < 0)
		return 0; /* the mailbox simulator never counts */
	ing->stats.results++;
	if (resolve(ing, e) != STORE_OK)
		return -1;
	if (e->account[0] == '\0') {
		ing->stats.unattributed++;
		return 0;
	}
	if ((klen = result_key(key, sizeof(key), e, rcpt)) == 0)
		return 0;
	/* A deferral is not final: each attempt counts, told apart by its own time. */
	if (field == SF_DEFERRED && klen + 9 <= 500) {
		key[klen++] = 'd';
		for (int i = 0; i < 8; i++)
			key[klen++] = (char)((uint64_t)r->time >> (56 - 8 * i));
	}
	snprintf(note, sizeof(note), "%s %s: %s", classify_name(cls), r->dsn ? r->dsn : "-",
		 r->text ? r->text : "");
	res.field = field;
	res.cls = cls;
	res.suppress = field == SF_HARD ? SR_BOUNCE : 0;
	res.account = e->account;
	res.recipient = rcpt;
	res.queue_id = e->qid;
	res.dsn = r->dsn;
	res.text = field == SF_HARD ? note : r->text;
	res.when = r->time;
	res.key = key;
	res.klen = klen;
	res.marker = field == SF_HARD || field == SF_SOFT || field == SF_BLOCK;
	return ingest_result(ing, &res) < 0 ? -1 : 0;
}

/* `status=expired`: queue the expiry; the flush finds the deferred recipients in the store. */
static int
on_expired(struct ingest *ing, const struct maillog_rec *r)
{
	struct qent *e = qmap_get(ing, r->queue_id, r->time, 1);
	struct pending *p;
	int fresh = e->sender[0] == '\0' && e->sasl[0] == '\0' && !e->resolved;

	if (fresh && r->from)
		text_copy(e->sender, sizeof(e->sender), r->from);
	if (resolve(ing, e) != STORE_OK)
		return -1;
	if (e->account[0] == '\0') {
		ing->stats.unattributed++;
		return 0;
	}
	if ((p = pending_next(ing)) == NULL)
		return -1;
	p->expire = 1;
	p->field = SF_SOFT;
	p->first_seen = fresh ? 0 : e->first_seen; /* a fresh entry: the log before us is gone */
	text_copy(p->account, sizeof(p->account), e->account);
	text_copy(p->qid, sizeof(p->qid), e->qid);
	text_copy(p->cls_name, sizeof(p->cls_name), "expired");
	text_copy(p->note, sizeof(p->note), "expired: the queue lifetime ran out");
	p->when = r->time;
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
	} else if (kind == MAILLOG_QMGR_EXPIRED) {
		rc = on_expired(ing, r);
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

/* DB_RESULT marker of a bounce: qid \0 recipient \0 'F'. */
static size_t
marker_key(char *key, size_t len, const char *qid, const char *rcpt)
{
	size_t q = strlen(qid) + 1, r = strlen(rcpt) + 1;

	if (q + r + 1 > len)
		return 0;
	memcpy(key, qid, q);
	memcpy(key + q, rcpt, r);
	key[q + r] = 'F';
	return q + r + 1;
}

/* Has KEY been counted?  Else remember it.  STORE_OK: new; STORE_NOTFOUND: seen. */
static int
dedup(struct store_txn *txn, const void *key, size_t klen, const uint8_t *rec)
{
	struct store_val v;
	int rc = store_get(txn, DB_RESULT, key, klen, &v);

	if (rc == STORE_OK)
		return STORE_NOTFOUND;
	if (rc == STORE_ERR)
		return rc;
	return store_put(txn, DB_RESULT, key, klen, rec, 3);
}

struct flush_ctx {
	struct ingest *ing;
	struct ingest_stats delta;
	const char *meta_key; /* with its value, written in the same transaction */
	const void *meta_val;
	size_t meta_len;
};

/* One DB_RESULT record of a queue id: qid \0 rcpt \0 (be64 first ['d' be64] | 'F'). */
struct xrec {
	char rcpt[ADDRESS_MAX];
	int64_t first;
	int kind; /* XR_* */
	int cls;
};
enum { XR_FINAL, XR_DEFERRAL, XR_MARKER };

struct xscan {
	size_t qlen;
	struct xrec *v;
	size_t n, cap;
};

#define XSCAN_MAX 4096 /* records of one queue id looked at */

static int
xscan_one(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct xscan *xs = arg;
	const char *key = k->data, *nul;
	size_t rest = k->len - xs->qlen, rl;
	struct xrec *x;

	if (xs->n >= XSCAN_MAX)
		return 1;
	if ((nul = memchr(key + xs->qlen, '\0', rest)) == NULL)
		return 0;
	rl = (size_t)(nul - (key + xs->qlen));
	rest -= rl + 1;
	if (rl >= ADDRESS_MAX || (rest != 8 && rest != 17 && rest != 1))
		return 0;
	if (xs->n == xs->cap) {
		xs->cap = xs->cap ? xs->cap * 2 : 16;
		xs->v = xrealloc(xs->v, xs->cap * sizeof(*xs->v));
	}
	x = &xs->v[xs->n++];
	memcpy(x->rcpt, key + xs->qlen, rl);
	x->rcpt[rl] = '\0';
	x->kind = rest == 8 ? XR_FINAL : rest == 17 ? XR_DEFERRAL : XR_MARKER;
	x->first = 0;
	for (int i = 0; rest >= 8 && i < 8; i++)
		x->first = (int64_t)((uint64_t)x->first << 8 | (uint8_t)nul[1 + i]);
	x->cls = v->len >= 3 ? ((const uint8_t *)v->data)[2] : BC_OTHER;
	return 0;
}

/* Is there a record of KIND for RCPT (at FIRST, unless a marker)? */
static int
xscan_has(const struct xscan *xs, const char *rcpt, int64_t first, int kind)
{
	for (size_t i = 0; i < xs->n; i++)
		if (xs->v[i].kind == kind && (kind == XR_MARKER || xs->v[i].first == first) &&
		    strcmp(xs->v[i].rcpt, rcpt) == 0)
			return 1;
	return 0;
}

/* The message the expiry is about: FIRST if it has deferrals, else the newest with some. */
static int64_t
xscan_message(const struct xscan *xs, int64_t first)
{
	int64_t newest = 0;

	for (size_t i = 0; i < xs->n; i++) {
		if (xs->v[i].kind != XR_DEFERRAL)
			continue;
		if (first && xs->v[i].first == first)
			return first;
		if (xs->v[i].first > newest)
			newest = xs->v[i].first;
	}
	return newest;
}

static void
xnote_add(struct ingest *ing, size_t pend, const char *rcpt, int cls)
{
	if (ing->nxn == ing->cap_xn) {
		ing->cap_xn = ing->cap_xn ? ing->cap_xn * 2 : 16;
		ing->xn = xrealloc(ing->xn, ing->cap_xn * sizeof(*ing->xn));
	}
	ing->xn[ing->nxn].pend = pend;
	ing->xn[ing->nxn].cls = cls;
	text_copy(ing->xn[ing->nxn++].rcpt, ADDRESS_MAX, rcpt);
}

/* Expiry of P->qid: each recipient still deferred becomes a final soft failure, once. */
static int
flush_expire(struct store_txn *txn, struct flush_ctx *fc, const struct pending *p, size_t idx)
{
	struct xscan xs = {strlen(p->qid) + 1, NULL, 0, 0};
	int64_t first;
	char key[512];
	int rc;

	rc = store_scan(txn, DB_RESULT, p->qid, xs.qlen, NULL, 0, xscan_one, &xs);
	first = xscan_message(&xs, p->first_seen);
	for (size_t i = 0; rc != STORE_ERR && i < xs.n; i++) {
		struct xrec *x = &xs.v[i];
		uint8_t rec[3] = {1, SF_SOFT, (uint8_t)x->cls};
		size_t q = xs.qlen, r = strlen(x->rcpt) + 1;
		if (x->kind != XR_DEFERRAL || x->first != first ||
		    xscan_has(&xs, x->rcpt, first, XR_FINAL) ||
		    xscan_has(&xs, x->rcpt, 0, XR_MARKER) || q + r + 8 > sizeof(key))
			continue;
		memcpy(key, p->qid, q);
		memcpy(key + q, x->rcpt, r);
		for (int b = 0; b < 8; b++)
			key[q + r + b] = (char)((uint64_t)first >> (56 - 8 * b));
		x->kind = XR_FINAL; /* several deferrals of one recipient: made final once */
		if ((rc = store_put(txn, DB_RESULT, key, q + r + 8, rec, 3)) != STORE_OK ||
		    (rc = stats_add(txn, p->account, p->when, SF_SOFT)) != STORE_OK)
			break;
		fc->delta.counted[SF_SOFT]++;
		fc->delta.expired++;
		xnote_add(fc->ing, idx, x->rcpt, x->cls);
	}
	free(xs.v);
	return rc == STORE_ERR ? rc : STORE_OK;
}

static int
flush_one(struct store_txn *txn, struct flush_ctx *fc, struct pending *p, size_t idx)
{
	uint8_t rec[16] = {1, (uint8_t)p->field, (uint8_t)p->cls};
	struct suppress_rec s = {
	    .reason = (uint8_t)p->suppress, .created = p->when, .updated = p->when};
	char mkey[512];
	size_t mlen;
	int rc = STORE_OK;

	p->isnew = 0;
	if (p->expire)
		return flush_expire(txn, fc, p, idx);
	if (p->klen)
		rc = dedup(txn, p->key, p->klen, rec);
	if (rc == STORE_OK && p->marker &&
	    (mlen = marker_key(mkey, sizeof(mkey), p->qid, p->rcpt)) > 0)
		rc = dedup(txn, mkey, mlen, rec);
	if (rc == STORE_NOTFOUND) {
		fc->delta.duplicates++;
		return STORE_OK;
	}
	if (rc != STORE_OK || stats_add(txn, p->account, p->when, p->field) != STORE_OK)
		return STORE_ERR;
	fc->delta.counted[p->field]++;
	p->isnew = 1;
	if (p->suppress == 0)
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
	fc->ing->nxn = 0; /* the callback runs again after MAP_FULL */
	for (size_t i = 0; i < fc->ing->npend; i++)
		if (flush_one(txn, fc, &fc->ing->pend[i], i) != STORE_OK)
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

/* Tell the notify callback about the batch's new results. */
static void
notify_all(struct ingest *ing)
{
	struct ingest_note n;

	for (size_t i = 0; i < ing->npend; i++) {
		const struct pending *p = &ing->pend[i];
		if (!p->isnew)
			continue;
		n = (struct ingest_note){ingest_type_name(p->field),
					 p->account,
					 p->rcpt,
					 p->qid,
					 p->cls_name,
					 p->dsn,
					 p->note,
					 p->field,
					 p->suppress,
					 0,
					 p->when};
		ing->note_fn(&n, ing->note_arg);
	}
	for (size_t i = 0; i < ing->nxn; i++) {
		const struct pending *p = &ing->pend[ing->xn[i].pend];
		n = (struct ingest_note){"bounce",  p->account, ing->xn[i].rcpt, p->qid,
					 "expired", "",		p->note,	 SF_SOFT,
					 0,	    1,		p->when};
		ing->note_fn(&n, ing->note_arg);
	}
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
	ing->stats.expired += fc->delta.expired;
	if (ing->note_fn)
		notify_all(ing);
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
