/* evqueue -- refusal and send events off the request path; see evqueue.h. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "evqueue.h"
#include "feedback/eventlog.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xalloc.h"

struct evq_item {
	int send; /* 1 send, 0 refusal */
	int64_t ts_ms;
	unsigned recipients;
	char account[ACCOUNT_NAME_MAX];
	char recipient[ADDRESS_MAX];
	char queue_id[64];
	char rule[32];
	char dsn[8];
	char text[256];
};

struct evqueue {
	pthread_mutex_t lock;
	struct evq_item *items, *batch;
	size_t n, max;
	uint64_t dropped;
};

static struct log_rl drop_rl = LOG_RL_INIT(1);

struct evqueue *
evqueue_create(size_t max)
{
	struct evqueue *q = xcalloc(1, sizeof(*q));

	pthread_mutex_init(&q->lock, NULL);
	q->max = max;
	return q; /* the arrays are made on first use: most hosts log no events */
}

void
evqueue_destroy(struct evqueue *q)
{
	if (q == NULL)
		return;
	pthread_mutex_destroy(&q->lock);
	free(q->items);
	free(q->batch);
	free(q);
}

/* What V says is worth an event: 1 refusal, 2 send, 0 nothing. */
static int
event_kind(const struct conf *conf, const struct facts *f, const struct verdict *v)
{
	if (v->kind != VK_PASS)
		return 1;
	if (f->stage == STAGE_EOM && v->account[0] && !v->would && !v->simulator &&
	    f->door == conf->quota.front_door)
		return 2;
	return 0;
}

void
evqueue_note(struct evqueue *q, const struct conf *conf, const struct facts *f,
	     const struct verdict *v)
{
	struct evq_item *it;
	int kind;

	if (q == NULL || conf->feedback.event_log[0] == '\0' ||
	    (kind = event_kind(conf, f, v)) == 0)
		return;
	pthread_mutex_lock(&q->lock);
	if (q->items == NULL) {
		q->items = xcalloc(q->max, sizeof(*q->items));
		q->batch = xcalloc(q->max, sizeof(*q->batch));
	}
	if (q->n == q->max) {
		q->dropped++;
		pthread_mutex_unlock(&q->lock);
		if (log_allow(&drop_rl))
			log_warnx("event log: %llu events dropped (the queue of %zu is full)",
				  (unsigned long long)q->dropped, q->max);
		return;
	}
	it = &q->items[q->n++];
	memset(it, 0, sizeof(*it));
	it->send = kind == 2;
	it->ts_ms = f->now_us ? f->now_us / 1000 : f->now * 1000;
	it->recipients = f->recipient_count;
	text_copy(it->account, sizeof(it->account), v->account);
	text_copy(it->recipient, sizeof(it->recipient), f->recipient ? f->recipient : "");
	text_copy(it->queue_id, sizeof(it->queue_id), f->queue_id ? f->queue_id : "");
	text_copy(it->rule, sizeof(it->rule), v->rule ? v->rule : "");
	text_copy(it->dsn, sizeof(it->dsn), v->dsn);
	text_copy(it->text, sizeof(it->text), v->text);
	pthread_mutex_unlock(&q->lock);
}

void
evqueue_flush(struct evqueue *q, const struct conf *conf)
{
	struct evq_item *tmp;
	size_t n;

	if (q == NULL || q->items == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	tmp = q->batch;
	q->batch = q->items;
	q->items = tmp;
	n = q->n;
	q->n = 0;
	pthread_mutex_unlock(&q->lock);
	for (size_t i = 0; i < n; i++) {
		const struct evq_item *it = &q->batch[i];
		struct outpost_event ev = {.type = it->send ? "send" : "refusal",
					   .ts_ms = it->ts_ms,
					   .account = it->account,
					   .recipient = it->recipient,
					   .queue_id = it->queue_id,
					   .cls = it->send ? NULL : it->rule,
					   .dsn = it->send ? NULL : it->dsn,
					   .reason = it->send ? NULL : it->text,
					   .recipients = it->send ? (int)it->recipients : 0};
		event_emit(conf, &ev);
	}
}
