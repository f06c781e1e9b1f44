/* changes -- change capture, change records and versions; see changes.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changes.h"
#include "records.h"
#include "util/clock.h"
#include "util/text.h"
#include "util/xalloc.h"

static const struct {
	enum store_db db;
	uint8_t code;
	const char *name;
} codes[] = {
    {DB_SUPPRESS, 'S', "suppress"}, {DB_ACCOUNT, 'A', "account"},   {DB_ACCTSET, 'T', "setting"},
    {DB_HISTORY, 'H', "history"},   {DB_IDENTITY, 'I', "identity"},
};
#define NCODES (sizeof(codes) / sizeof(codes[0]))

uint8_t
change_db_code(enum store_db db)
{
	for (size_t i = 0; i < NCODES; i++)
		if (codes[i].db == db)
			return codes[i].code;
	return 0;
}

enum store_db
change_db_of(uint8_t code)
{
	for (size_t i = 0; i < NCODES; i++)
		if (codes[i].code == code)
			return codes[i].db;
	return DB_COUNT;
}

const char *
change_op_type(uint8_t code, uint8_t op, char *buf, size_t len)
{
	const char *name = "?";

	for (size_t i = 0; i < NCODES; i++)
		if (codes[i].code == code)
			name = codes[i].name;
	snprintf(buf, len, "%s.%s", name, op == 'D' ? "del" : "put");
	return buf;
}

/* A growing byte buffer; the encoders below append little-endian integers and strings. */
struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void
bytes_add(struct bytes *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 256;
		b->p = xrealloc(b->p, b->cap);
	}
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void
bytes_int(struct bytes *b, uint64_t v, int n)
{
	uint8_t tmp[8];

	for (int i = 0; i < n; i++)
		tmp[i] = (uint8_t)(v >> (8 * i));
	bytes_add(b, tmp, (size_t)n);
}

static void
bytes_str(struct bytes *b, const char *s)
{
	bytes_add(b, s, strlen(s) + 1);
}

/* A cursor for decoding. */
struct rd {
	const uint8_t *p;
	size_t len, off;
	int bad;
};

static uint64_t
rd_int(struct rd *r, int n)
{
	uint64_t v = 0;

	if (r->off + (size_t)n > r->len) {
		r->bad = 1;
		return 0;
	}
	for (int i = 0; i < n; i++)
		v |= (uint64_t)r->p[r->off + (size_t)i] << (8 * i);
	r->off += (size_t)n;
	return v;
}

static const uint8_t *
rd_bytes(struct rd *r, size_t n)
{
	const uint8_t *p = r->p + r->off;

	if (r->off + n > r->len) {
		r->bad = 1;
		return NULL;
	}
	r->off += n;
	return p;
}

static void
rd_str(struct rd *r, char *dst, size_t dstlen)
{
	const uint8_t *nul = r->off < r->len ? memchr(r->p + r->off, 0, r->len - r->off) : NULL;

	if (nul == NULL || (size_t)(nul - (r->p + r->off)) >= dstlen) {
		r->bad = 1;
		dst[0] = '\0';
		return;
	}
	memcpy(dst, r->p + r->off, (size_t)(nul - (r->p + r->off)) + 1);
	r->off = (size_t)(nul - r->p) + 1;
}

int
change_decode(const void *data, size_t len, struct change *c)
{
	struct rd r = {data, len, 0, 0};

	memset(c, 0, sizeof(*c));
	if (rd_int(&r, 1) != CHANGE_VERSION)
		return -1;
	rd_str(&r, c->node, sizeof(c->node));
	c->seq = (int64_t)rd_int(&r, 8);
	c->clock = (int64_t)rd_int(&r, 8);
	c->ts = (int64_t)rd_int(&r, 8);
	c->nops = (uint32_t)rd_int(&r, 4);
	if (r.bad || c->node[0] == '\0' || c->nops > CHANGE_MAX_OPS || c->clock <= 0)
		return -1;
	c->ops = xcalloc(c->nops ? c->nops : 1, sizeof(*c->ops));
	for (uint32_t i = 0; i < c->nops && !r.bad; i++) {
		struct change_op *op = &c->ops[i];
		op->db = (uint8_t)rd_int(&r, 1);
		op->op = (uint8_t)rd_int(&r, 1);
		op->klen = (size_t)rd_int(&r, 2);
		op->key = rd_bytes(&r, op->klen);
		op->vlen = (size_t)rd_int(&r, 4);
		op->val = rd_bytes(&r, op->vlen);
		if (op->op == 'D') {
			op->seen_clock = (int64_t)rd_int(&r, 8);
			rd_str(&r, op->seen_node, sizeof(op->seen_node));
		}
		if (change_db_of(op->db) == DB_COUNT || (op->op != 'P' && op->op != 'D') ||
		    op->klen == 0 || op->klen > 510)
			r.bad = 1;
	}
	if (r.bad || r.off != len) {
		change_free(c);
		return -1;
	}
	return 0;
}

void
change_free(struct change *c)
{
	free(c->ops);
	c->ops = NULL;
}

int
change_ver_cmp(int64_t a_clock, const char *a_node, int64_t b_clock, const char *b_node)
{
	if (a_clock != b_clock)
		return a_clock < b_clock ? -1 : 1;
	return strcmp(a_node, b_node);
}

/* DB_REPL key: wire code + record key; 0 if too long to keep a version for. */
static size_t
ver_key(uint8_t *buf, enum store_db db, const void *key, size_t klen)
{
	if (klen + 1 > 511)
		return 0;
	buf[0] = change_db_code(db);
	memcpy(buf + 1, key, klen);
	return klen + 1;
}

int
change_ver_get(struct store_txn *txn, enum store_db db, const void *key, size_t klen,
	       struct change_ver *v)
{
	uint8_t k[512];
	size_t kl = ver_key(k, db, key, klen);
	struct store_val val;
	struct rd r;
	int rc;

	memset(v, 0, sizeof(*v));
	if (kl == 0 || (rc = store_get(txn, DB_REPL, k, kl, &val)) == STORE_NOTFOUND)
		return STORE_OK;
	if (rc != STORE_OK)
		return rc;
	r = (struct rd){val.data, val.len, 0, 0};
	if (rd_int(&r, 1) != 1)
		return STORE_OK; /* unreadable: as if never written */
	v->clock = (int64_t)rd_int(&r, 8);
	v->deleted = (int)rd_int(&r, 1);
	rd_str(&r, v->node, sizeof(v->node));
	v->seen_clock = (int64_t)rd_int(&r, 8);
	rd_str(&r, v->seen_node, sizeof(v->seen_node));
	if (r.bad)
		memset(v, 0, sizeof(*v));
	return STORE_OK;
}

int
change_ver_put(struct store_txn *txn, enum store_db db, const void *key, size_t klen,
	       const struct change_ver *v)
{
	uint8_t k[512];
	size_t kl = ver_key(k, db, key, klen);
	struct bytes b = {0};
	int rc;

	if (kl == 0)
		return STORE_OK;
	bytes_int(&b, 1, 1);
	bytes_int(&b, (uint64_t)v->clock, 8);
	bytes_int(&b, (uint64_t)(v->deleted != 0), 1);
	bytes_str(&b, v->node);
	bytes_int(&b, (uint64_t)v->seen_clock, 8);
	bytes_str(&b, v->seen_node);
	rc = store_put(txn, DB_REPL, k, kl, b.p, b.len);
	free(b.p);
	return rc;
}

static int64_t
clock_get(struct store_txn *txn)
{
	struct store_val v;
	struct rd r;

	if (store_get(txn, DB_META, CHANGE_CLOCK_KEY, strlen(CHANGE_CLOCK_KEY), &v) != STORE_OK)
		return 0;
	r = (struct rd){v.data, v.len, 0, 0};
	return (int64_t)rd_int(&r, 8);
}

static int
clock_put(struct store_txn *txn, int64_t clock)
{
	uint8_t buf[8];

	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)((uint64_t)clock >> (8 * i));
	return store_put(txn, DB_META, CHANGE_CLOCK_KEY, strlen(CHANGE_CLOCK_KEY), buf, 8);
}

int
change_clock_witness(struct store_txn *txn, int64_t clock)
{
	return clock > clock_get(txn) ? clock_put(txn, clock) : STORE_OK;
}

struct mark_arg {
	const char *node;
};

static int
mark_txn(struct store_txn *txn, void *arg)
{
	const struct mark_arg *m = arg;
	int rc;

	if (m->node == NULL) {
		rc = store_del(txn, DB_META, CHANGE_NODE_KEY, strlen(CHANGE_NODE_KEY));
		if (rc == STORE_OK || rc == STORE_NOTFOUND) /* joining again: publish again */
			rc = store_del(txn, DB_META, CHANGE_PUBLISHED_KEY,
				       strlen(CHANGE_PUBLISHED_KEY));
		return rc == STORE_NOTFOUND ? STORE_OK : rc;
	}
	return store_put(txn, DB_META, CHANGE_NODE_KEY, strlen(CHANGE_NODE_KEY), m->node,
			 strlen(m->node));
}

int
change_mark_node(struct store *st, const char *node)
{
	struct mark_arg m = {node};
	struct store_txn *txn;
	struct store_val v;
	int same;

	if (store_read_begin(st, &txn) != STORE_OK)
		return STORE_ERR;
	if (store_get(txn, DB_META, CHANGE_NODE_KEY, strlen(CHANGE_NODE_KEY), &v) == STORE_OK)
		same = node && v.len == strlen(node) && memcmp(v.data, node, v.len) == 0;
	else
		same = node == NULL;
	store_read_end(txn);
	return same ? STORE_OK : store_write(st, mark_txn, &m);
}

/* ---- the capture buffer of one write transaction ---- */

struct change_buf {
	char node[CHANGE_NODE_MAX];
	int64_t clock; /* this transaction's timestamp; 0 until the first operation */
	int64_t ts;
	struct bytes ops; /* encoded operations, back to back */
	size_t *starts;	  /* offset of each operation in OPS */
	size_t nops, cap;
};

struct change_buf *
change_buf_create(const char *node)
{
	struct change_buf *b = xcalloc(1, sizeof(*b));

	text_copy(b->node, sizeof(b->node), node);
	return b;
}

void
change_buf_destroy(struct change_buf *b)
{
	if (b == NULL)
		return;
	free(b->ops.p);
	free(b->starts);
	free(b);
}

/* The transaction's timestamp: later than the wall clock and than all this node has seen. */
static void
buf_clock(struct change_buf *b, struct store_txn *txn)
{
	int64_t last = clock_get(txn), now = now_us();

	if (b->clock)
		return;
	b->ts = now;
	b->clock = now > last ? now : last + 1;
}

int
change_buf_add(struct change_buf *b, struct store_txn *txn, enum store_db db, const void *key,
	       size_t klen, const void *val, size_t vlen)
{
	struct change_ver old, v = {0};
	int rc;

	buf_clock(b, txn);
	if ((rc = change_ver_get(txn, db, key, klen, &old)) != STORE_OK)
		return rc;
	if (b->nops == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->starts = xrealloc(b->starts, b->cap * sizeof(*b->starts));
	}
	b->starts[b->nops++] = b->ops.len;
	bytes_int(&b->ops, change_db_code(db), 1);
	bytes_int(&b->ops, val ? 'P' : 'D', 1);
	bytes_int(&b->ops, klen, 2);
	bytes_add(&b->ops, key, klen);
	bytes_int(&b->ops, val ? vlen : 0, 4);
	bytes_add(&b->ops, val, val ? vlen : 0);
	v.clock = b->clock;
	text_copy(v.node, sizeof(v.node), b->node);
	if (val == NULL) { /* what the delete saw: the entry's version (none if deleted already) */
		v.deleted = 1;
		v.seen_clock = old.deleted ? 0 : old.clock;
		text_copy(v.seen_node, sizeof(v.seen_node), old.deleted ? "" : old.node);
		bytes_int(&b->ops, (uint64_t)v.seen_clock, 8);
		bytes_str(&b->ops, v.seen_node);
	}
	return change_ver_put(txn, db, key, klen, &v);
}

int
change_buf_flush(struct change_buf *b, struct store_txn *txn)
{
	int64_t seq = b->clock;
	int rc = STORE_OK;

	for (size_t first = 0; first < b->nops && rc == STORE_OK; first += CHANGE_MAX_OPS, seq++) {
		size_t n = b->nops - first < CHANGE_MAX_OPS ? b->nops - first : CHANGE_MAX_OPS;
		size_t end = first + n < b->nops ? b->starts[first + n] : b->ops.len;
		struct bytes rec = {0};
		uint8_t key[8];
		bytes_int(&rec, CHANGE_VERSION, 1);
		bytes_str(&rec, b->node);
		bytes_int(&rec, (uint64_t)seq, 8);
		bytes_int(&rec, (uint64_t)b->clock, 8);
		bytes_int(&rec, (uint64_t)b->ts, 8);
		bytes_int(&rec, n, 4);
		bytes_add(&rec, b->ops.p + b->starts[first], end - b->starts[first]);
		for (int i = 0; i < 8; i++)
			key[i] = (uint8_t)((uint64_t)seq >> (56 - 8 * i));
		rc = store_put(txn, DB_OUTBOX, key, 8, rec.p, rec.len);
		free(rec.p);
	}
	return rc == STORE_OK && b->nops ? clock_put(txn, seq - 1) : rc;
}

/* ---- grouping operations of one version into records (snapshots, publishing) ---- */

struct change_group {
	char node[CHANGE_NODE_MAX];
	int64_t clock, seq;
	int seq_step;
	size_t max_ops, nops;
	struct bytes ops;
	change_emit_fn emit;
	void *arg;
};

struct change_group *
change_group_create(size_t max_ops, int64_t first_seq, change_emit_fn emit, void *arg)
{
	struct change_group *g = xcalloc(1, sizeof(*g));

	g->max_ops = max_ops > CHANGE_MAX_OPS ? CHANGE_MAX_OPS : max_ops;
	g->seq = first_seq;
	g->seq_step = first_seq != 0;
	g->emit = emit;
	g->arg = arg;
	return g;
}

void
change_group_destroy(struct change_group *g)
{
	if (g == NULL)
		return;
	free(g->ops.p);
	free(g);
}

int
change_group_flush(struct change_group *g)
{
	struct bytes rec = {0};
	int rc;

	if (g->nops == 0)
		return 0;
	bytes_int(&rec, CHANGE_VERSION, 1);
	bytes_str(&rec, g->node);
	bytes_int(&rec, (uint64_t)g->seq, 8);
	bytes_int(&rec, (uint64_t)g->clock, 8);
	bytes_int(&rec, (uint64_t)g->clock, 8);
	bytes_int(&rec, g->nops, 4);
	bytes_add(&rec, g->ops.p, g->ops.len);
	rc = g->emit(rec.p, rec.len, g->arg);
	free(rec.p);
	g->seq += g->seq_step;
	g->nops = 0;
	g->ops.len = 0;
	return rc;
}

int
change_group_add(struct change_group *g, int64_t clock, const char *node,
		 const struct change_op *op)
{
	int rc;

	if (g->nops && (g->clock != clock || strcmp(g->node, node) != 0 || g->nops == g->max_ops))
		if ((rc = change_group_flush(g)) != 0)
			return rc;
	g->clock = clock;
	text_copy(g->node, sizeof(g->node), node);
	bytes_int(&g->ops, op->db, 1);
	bytes_int(&g->ops, op->op, 1);
	bytes_int(&g->ops, op->klen, 2);
	bytes_add(&g->ops, op->key, op->klen);
	bytes_int(&g->ops, op->op == 'P' ? op->vlen : 0, 4);
	if (op->op == 'P')
		bytes_add(&g->ops, op->val, op->vlen);
	else {
		bytes_int(&g->ops, (uint64_t)op->seen_clock, 8);
		bytes_str(&g->ops, op->seen_node);
	}
	g->nops++;
	return 0;
}

/* ---- publishing what a store held before it joined a fleet ---- */

struct publish {
	struct store_txn *txn;
	struct change_group *g;
	const char *node;
	enum store_db db;
	uint64_t n;
	int rc;
};

/* The entry's own time in microseconds (1: unknown, older than anything the fleet wrote). */
static int64_t
own_clock(enum store_db db, const struct store_val *k, const struct store_val *v)
{
	struct suppress_rec s;
	struct account_rec a;
	struct history_rec h;
	int64_t t = 0;

	if (db == DB_SUPPRESS && rec_suppress_decode(v->data, v->len, &s) == 0)
		t = s.updated > s.created ? s.updated : s.created;
	else if (db == DB_ACCOUNT && rec_account_decode(v->data, v->len, &a) == 0)
		t = a.since > a.created ? a.since : a.created;
	else if (db == DB_HISTORY && rec_history_decode(v->data, v->len, &h) == 0)
		t = h.when;
	(void)k;
	return t > 0 ? t * 1000000 : 1;
}

static int
publish_outbox(const void *rec, size_t len, void *arg)
{
	struct publish *p = arg;
	struct change c;
	uint8_t key[8];

	if (change_decode(rec, len, &c) < 0)
		return STORE_ERR;
	for (int i = 0; i < 8; i++)
		key[i] = (uint8_t)((uint64_t)c.seq >> (56 - 8 * i));
	change_free(&c);
	return store_put(p->txn, DB_OUTBOX, key, 8, rec, len);
}

/* One entry of a replicated database: published (and versioned) if it has no version. */
static int
publish_one(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct publish *p = arg;
	struct change_ver old, ver = {0};
	struct change_op op = {.db = change_db_code(p->db),
			       .op = 'P',
			       .key = k->data,
			       .klen = k->len,
			       .val = v->data,
			       .vlen = v->len};

	if (k->len == 0 || k->len > 510)
		return 0;
	if ((p->rc = change_ver_get(p->txn, p->db, k->data, k->len, &old)) != STORE_OK)
		return 1;
	if (old.clock != 0)
		return 0;
	ver.clock = own_clock(p->db, k, v);
	text_copy(ver.node, sizeof(ver.node), p->node);
	if ((p->rc = change_group_add(p->g, ver.clock, p->node, &op)) != STORE_OK ||
	    (p->rc = change_ver_put(p->txn, p->db, k->data, k->len, &ver)) != STORE_OK)
		return 1;
	p->n++;
	return 0;
}

static int
publish_txn(struct store_txn *txn, void *arg)
{
	struct publish *p = arg;
	int64_t seq = clock_get(txn), now = now_us();

	store_txn_nocapture(txn);
	seq = now > seq ? now : seq + 1;
	p->txn = txn;
	p->n = 0; /* the store runs this again after growing a full map */
	p->rc = STORE_OK;
	p->g = change_group_create(CHANGE_MAX_OPS, seq, publish_outbox, p);
	for (size_t i = 0; i < NCODES && p->rc == STORE_OK; i++) {
		p->db = codes[i].db;
		store_scan(txn, p->db, NULL, 0, NULL, 0, publish_one, p);
	}
	if (p->rc == STORE_OK)
		p->rc = change_group_flush(p->g);
	seq = p->g->seq;
	change_group_destroy(p->g);
	if (p->rc == STORE_OK && p->n)
		p->rc = clock_put(txn, seq);
	if (p->rc != STORE_OK)
		return p->rc;
	return store_put(txn, DB_META, CHANGE_PUBLISHED_KEY, strlen(CHANGE_PUBLISHED_KEY), "1", 1);
}

int
change_publish_existing(struct store *st, const char *node, uint64_t *n_r)
{
	struct publish p = {.node = node};
	struct store_txn *txn;
	struct store_val v;
	int done;

	*n_r = 0;
	if (store_read_begin(st, &txn) != STORE_OK)
		return STORE_ERR;
	done = store_get(txn, DB_META, CHANGE_PUBLISHED_KEY, strlen(CHANGE_PUBLISHED_KEY), &v) ==
	       STORE_OK;
	store_read_end(txn);
	if (done)
		return STORE_OK;
	if (store_write(st, publish_txn, &p) != STORE_OK)
		return STORE_ERR;
	*n_r = p.n;
	return STORE_OK;
}
