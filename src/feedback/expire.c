/* expire -- drop records that only matter for a while; see expire.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "expire.h"
#include "store/sfilter.h"
#include "store/records.h"
#include "util/xalloc.h"

#define BATCH 10000 /* deletions per write transaction: writers wait microseconds at a time */
#define KEY_MAX 512

struct batch {
	enum store_db db;
	int64_t before;
	size_t n;
	uint16_t len[BATCH];
	char (*key)[KEY_MAX];
	char next[KEY_MAX]; /* where the next scan starts */
	size_t nextlen;
	int more;
};

/* The time a record is about, or -1 when it has none (kept). */
static int64_t
record_time(enum store_db db, const struct store_val *k, const struct store_val *v)
{
	struct message_rec m;
	const unsigned char *p = k->data;
	int64_t t = 0;
	int nuls = 0;

	if (db == DB_MESSAGE)
		return rec_message_decode(v->data, v->len, &m) == 0 ? m.when : -1;
	/* DB_RESULT: qid \0 recipient \0 be64 first_seen (markers end in 'F': no time). */
	if (k->len < 10)
		return -1;
	for (size_t i = 0; i + 8 < k->len; i++)
		nuls += p[i] == 0;
	if (nuls != 2 || p[k->len - 9] != 0)
		return -1;
	for (size_t i = k->len - 8; i < k->len; i++)
		t = (int64_t)((uint64_t)t << 8 | p[i]);
	return t;
}

static int
collect(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct batch *b = arg;
	int64_t t = record_time(b->db, k, v);

	if (k->len >= KEY_MAX)
		return 0;
	if (b->n == BATCH) {
		memcpy(b->next, k->data, k->len);
		b->nextlen = k->len;
		b->more = 1;
		return 1;
	}
	if (t >= 0 && t < b->before) {
		memcpy(b->key[b->n], k->data, k->len);
		b->len[b->n++] = (uint16_t)k->len;
	}
	return 0;
}

static int
delete_batch(struct store_txn *txn, void *arg)
{
	struct batch *b = arg;

	for (size_t i = 0; i < b->n; i++)
		if (store_del(txn, b->db, b->key[i], b->len[i]) == STORE_ERR)
			return STORE_ERR;
	return STORE_OK;
}

/* Delete the records of DB older than BEFORE; the number deleted, or -1. */
static int64_t
expire_db(struct store *st, enum store_db db, int64_t before)
{
	struct batch *b = xcalloc(1, sizeof(*b));
	struct store_txn *txn;
	int64_t deleted = 0;
	int rc;

	b->db = db;
	b->before = before;
	b->key = xcalloc(BATCH, KEY_MAX);
	do {
		b->n = 0;
		b->more = 0;
		if (store_read_begin(st, &txn) != STORE_OK)
			goto fail;
		rc =
		    store_scan(txn, db, "", 0, b->nextlen ? b->next : NULL, b->nextlen, collect, b);
		store_read_end(txn);
		if (rc == STORE_ERR || (b->n && store_write(st, delete_batch, b) != STORE_OK))
			goto fail;
		deleted += (int64_t)b->n;
	} while (b->more);
	free(b->key);
	free(b);
	return deleted;
fail:
	free(b->key);
	free(b);
	return -1;
}

int
expire_run(struct store *st, int64_t before, struct expire_stats *out)
{
	int64_t m = expire_db(st, DB_MESSAGE, before),
		r = m < 0 ? -1 : expire_db(st, DB_RESULT, before);

	memset(out, 0, sizeof(*out));
	if (m < 0 || r < 0)
		return STORE_ERR;
	out->messages = (uint64_t)m;
	out->results = (uint64_t)r;
	return sfilter_refresh(st, &out->filter_rebuilt, &out->filter_entries);
}
