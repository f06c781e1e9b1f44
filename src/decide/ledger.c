/* ledger -- batched writes asked for by decisions; see ledger.h. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "account/account.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xalloc.h"

struct ledger_item {
	int kind; /* 0 auto-create, 1 message */
	char key[ACCOUNT_NAME_MAX];
	struct message_rec msg;
};

struct ledger {
	pthread_mutex_t lock;	    /* guards items/n: the milter notes from many threads */
	pthread_mutex_t flush_lock; /* one flush at a time */
	struct store *st;
	struct ledger_item *items; /* being filled */
	struct ledger_item *batch; /* being written, outside LOCK */
	size_t n, nbatch, max;
	uint64_t failures;
	uint64_t dropped; /* notes beyond max_pending */
};

struct ledger *
ledger_create(struct store *st, size_t max_pending)
{
	struct ledger *l = xcalloc(1, sizeof(*l));

	pthread_mutex_init(&l->lock, NULL);
	pthread_mutex_init(&l->flush_lock, NULL);
	l->st = st;
	l->max = max_pending;
	l->items = xcalloc(max_pending, sizeof(*l->items));
	l->batch = xcalloc(max_pending, sizeof(*l->batch));
	return l;
}

void
ledger_destroy(struct ledger *l)
{
	if (l == NULL)
		return;
	pthread_mutex_destroy(&l->lock);
	pthread_mutex_destroy(&l->flush_lock);
	free(l->items);
	free(l->batch);
	free(l);
}

size_t
ledger_pending(const struct ledger *l)
{
	return __atomic_load_n(&l->n, __ATOMIC_RELAXED);
}

int
ledger_note(struct ledger *l, const struct facts *f, const struct verdict *v)
{
	const char *key;
	int full;

	if (!v->account_new && !v->record)
		return 0;
	pthread_mutex_lock(&l->lock);
	if (v->account_new && l->n < l->max) {
		struct ledger_item *it = &l->items[l->n++];
		it->kind = 0;
		text_copy(it->key, sizeof(it->key), v->account);
		it->msg.when = f->now;
	}
	key = f->queue_id && *f->queue_id ? f->queue_id : f->instance;
	if (v->record && key && *key && l->n < l->max) {
		struct ledger_item *it = &l->items[l->n++];
		it->kind = 1;
		text_copy(it->key, sizeof(it->key), key);
		it->msg.when = f->now;
		it->msg.recipients = f->recipient_count;
		it->msg.door = (uint8_t)f->door;
		it->msg.flags = v->kind == VK_HOLD ? MSG_HELD : 0;
		text_copy(it->msg.account, sizeof(it->msg.account), v->account);
	}
	full = l->n >= l->max;
	if (full)
		l->dropped++;
	pthread_mutex_unlock(&l->lock);
	if (full && (l->dropped & (l->dropped - 1)) == 0) /* 1st, 2nd, 4th, 8th ... */
		log_warnx(
		    "ledger: %zu writes pending, %llu notes dropped (the store is slow to commit)",
		    l->max, (unsigned long long)l->dropped);
	return full;
}

/* Write one queued item; existing records are left as they are. */
static int
ledger_apply(struct store_txn *txn, const struct ledger_item *it)
{
	struct account_rec acct;
	struct store_val v;
	uint8_t buf[RECORD_MAX];
	size_t n;
	int rc;

	if (it->kind == 0) {
		rc = account_get(txn, it->key, &acct);
		if (rc != STORE_NOTFOUND)
			return rc == STORE_ERR ? rc : STORE_OK;
		return account_create(txn, it->key, "auto-create", "first message seen",
				      it->msg.when);
	}
	rc = store_get(txn, DB_MESSAGE, it->key, strlen(it->key), &v);
	if (rc != STORE_NOTFOUND)
		return rc == STORE_ERR ? rc : STORE_OK;
	if ((n = rec_message_encode(&it->msg, buf, sizeof(buf))) == 0)
		return STORE_OK;
	return store_put(txn, DB_MESSAGE, it->key, strlen(it->key), buf, n);
}

static int
ledger_apply_all(struct store_txn *txn, void *arg)
{
	struct ledger *l = arg;

	for (size_t i = 0; i < l->nbatch; i++) {
		int rc = ledger_apply(txn, &l->batch[i]);
		if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

/*
 * Swap the queue out under the lock and write it outside, so that notes from
 * other threads never wait for a commit; on failure the batch goes back in
 * front of what was noted meanwhile (as much as fits).
 */
int
ledger_flush(struct ledger *l)
{
	struct ledger_item *tmp;
	int rc = 0;

	pthread_mutex_lock(&l->flush_lock);
	pthread_mutex_lock(&l->lock);
	tmp = l->batch;
	l->batch = l->items;
	l->items = tmp;
	l->nbatch = l->n;
	l->n = 0;
	pthread_mutex_unlock(&l->lock);
	if (l->nbatch > 0 && store_write(l->st, ledger_apply_all, l) != STORE_OK) {
		rc = -1;
		pthread_mutex_lock(&l->lock);
		size_t keep = l->nbatch + l->n > l->max ? l->max - l->nbatch : l->n;
		memmove(l->batch + l->nbatch, l->items, keep * sizeof(*l->items));
		tmp = l->items;
		l->items = l->batch;
		l->batch = tmp;
		l->failures++;
		l->n = l->nbatch + keep;
		pthread_mutex_unlock(&l->lock);
	}
	pthread_mutex_unlock(&l->flush_lock);
	if (rc < 0)
		log_warnx("ledger: pending writes kept: %s", store_error(l->st));
	return rc;
}
