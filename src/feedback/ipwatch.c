/* ipwatch -- our own sending addresses on the blocklists; see ipwatch.h. */
#include "config.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "ipwatch.h"
#include "dns/dnsbl.h"
#include "dns/resolver.h"
#include "feedback/eventlog.h"
#include "store/store.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xalloc.h"

#define KEY_MAX 512 /* prefix, list name, NUL, address */

/* What one (list, address) answered in this round. */
struct answer {
	const struct dnsbl_list *list;
	const char *address;
	int asked;
	int state; /* enum dnsbl_state */
	char codes[128];
	char detail[200];
	/* filled at the commit: the event to emit, with the listing it is about */
	const char *event;
	struct dnsbl_watch_rec prev, next;
	int had_prev;
};

/* One query in flight. */
struct wq {
	struct ipwatch *w;
	size_t idx;
};

struct ipwatch {
	const struct conf *conf;
	struct store *st;
	struct event_base *base;
	struct dns_resolver *r;
	struct event *ev_round;
	struct answer *ans; /* naddr * nlists */
	size_t nans;
	unsigned pending;
	int running;
};

int
ipwatch_wanted(const struct conf *conf)
{
	if (conf->dns.monitor_addresses.n == 0)
		return 0;
	for (size_t i = 0; i < conf->dnsbl.n; i++)
		if (conf->dnsbl.v[i].query == DNSBL_Q_CLIENT)
			return 1;
	return 0;
}

size_t
ipwatch_key(const char *list, const char *address, char *buf, size_t len)
{
	size_t p = strlen(DNSBL_WATCH_PREFIX), l = strlen(list), a = strlen(address);

	if (p + l + 1 + a > len)
		return 0;
	memcpy(buf, DNSBL_WATCH_PREFIX, p);
	memcpy(buf + p, list, l);
	buf[p + l] = '\0';
	memcpy(buf + p + l + 1, address, a);
	return p + l + 1 + a;
}

/* A failure: the last answer stays; the run of failures is noted. */
static const char *
judge_failed(struct dnsbl_watch_rec *next, const char *detail, int64_t now)
{
	if (next->failing_since == 0)
		next->failing_since = now;
	text_copy(next->error, sizeof(next->error), detail);
	return NULL;
}

const char *
ipwatch_judge(const struct dnsbl_watch_rec *prev, int state, const char *codes, const char *detail,
	      int64_t now, struct dnsbl_watch_rec *next)
{
	int was_listed = prev && prev->state == DNSBL_LISTED;

	if (prev)
		*next = *prev;
	else {
		memset(next, 0, sizeof(*next));
		next->state = DNSBL_FAILED; /* never answered */
		next->since = now;
	}
	next->checked = now;
	if (state == DNSBL_FAILED)
		return judge_failed(next, detail, now);
	next->failing_since = 0;
	next->error[0] = '\0';
	if (state == DNSBL_LISTED) {
		if (was_listed && strcmp(prev->codes, codes) == 0)
			return NULL;
		next->state = DNSBL_LISTED;
		next->since = now;
		text_copy(next->codes, sizeof(next->codes), codes);
		text_copy(next->meaning, sizeof(next->meaning), detail);
		return "listing";
	}
	if (next->state == DNSBL_NOT_LISTED)
		return NULL;
	next->state = DNSBL_NOT_LISTED;
	next->since = now;
	next->codes[0] = next->meaning[0] = '\0';
	return was_listed ? "delisting" : NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The answers, sorted (a server may rotate them): "127.0.0.2 127.0.0.4". */
static void
codes_format(const struct dns_answer *a, char *out, size_t len)
{
	uint32_t v[DNS_ANSWER_ADDRS];
	size_t n = a->n < DNS_ANSWER_ADDRS ? a->n : DNS_ANSWER_ADDRS, o = 0;

	memcpy(v, a->addr, n * sizeof(v[0]));
	qsort(v, n, sizeof(v[0]), cmp_u32);
	out[0] = '\0';
	for (size_t i = 0; i < n && o < len; i++) {
		struct in_addr ia = {htonl(v[i])};
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &ia, ip, sizeof(ip));
		o += (size_t)snprintf(out + o, len - o, "%s%s", i ? " " : "", ip);
	}
}

static void round_commit(struct ipwatch *w);

static void
query_cb(void *arg, const struct dns_result *res)
{
	struct wq *q = arg;
	struct ipwatch *w = q->w;
	struct answer *an = &w->ans[q->idx];
	const struct dns_answer *a = res->answer;

	free(q);
	if (res->status == ARES_EDESTRUCTION)
		return; /* the resolver is going away with us */
	if (!dns_status_is_answer(res->status)) {
		an->state = DNSBL_FAILED;
		text_copy(an->detail, sizeof(an->detail), dns_status_text(res->status));
	} else if (res->status != ARES_SUCCESS || a->n == 0) {
		an->state = DNSBL_NOT_LISTED;
	} else {
		an->state =
		    dnsbl_interpret(an->list, a->addr, a->n, an->detail, sizeof(an->detail));
		if (an->state == DNSBL_LISTED)
			codes_format(a, an->codes, sizeof(an->codes));
	}
	if (--w->pending == 0)
		round_commit(w);
}

/* The new record of every answer, in one transaction; the events are chosen here. */
static int
commit_txn(struct store_txn *txn, void *arg)
{
	struct ipwatch *w = arg;
	int64_t now = (int64_t)time(NULL);
	uint8_t buf[RECORD_MAX];

	for (size_t i = 0; i < w->nans; i++) {
		struct answer *an = &w->ans[i];
		char key[KEY_MAX];
		struct store_val v;
		size_t klen = ipwatch_key(an->list->name, an->address, key, sizeof(key)), n;
		int rc;
		if (!an->asked || klen == 0)
			continue;
		rc = store_get(txn, DB_META, key, klen, &v);
		if (rc == STORE_ERR)
			return rc;
		an->had_prev =
		    rc == STORE_OK && rec_dnsbl_watch_decode(v.data, v.len, &an->prev) == 0;
		an->event = ipwatch_judge(an->had_prev ? &an->prev : NULL, an->state, an->codes,
					  an->detail, now, &an->next);
		if ((n = rec_dnsbl_watch_encode(&an->next, buf, sizeof(buf))) == 0)
			continue;
		if ((rc = store_put(txn, DB_META, key, klen, buf, n)) != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

/* After the commit: log, and emit the events (which run the hook). */
static void
announce(const struct ipwatch *w, const struct answer *an)
{
	const struct dnsbl_watch_rec *about =
	    an->next.state == DNSBL_LISTED ? &an->next : &an->prev;
	struct outpost_event ev = {.type = an->event,
				   .address = an->address,
				   .list = an->list->name,
				   .zone = an->list->zone,
				   .code = about->codes,
				   .meaning = about->meaning};

	if (an->next.failing_since && !(an->had_prev && an->prev.failing_since))
		log_warnx("dnsbl monitor: %s (%s): lookup of %s failed: %s", an->list->name,
			  an->list->zone, an->address, an->next.error);
	if (an->event == NULL)
		return;
	if (an->next.state == DNSBL_LISTED)
		log_warnx("dnsbl monitor: our address %s is LISTED on %s (%s): %s", an->address,
			  an->list->name, about->codes, about->meaning);
	else
		log_info("dnsbl monitor: our address %s is no longer listed on %s", an->address,
			 an->list->name);
	event_emit(w->conf, &ev);
}

static void
round_commit(struct ipwatch *w)
{
	w->running = 0;
	if (store_write(w->st, commit_txn, w) != STORE_OK) {
		log_warnx("dnsbl monitor: %s", store_error(w->st));
		return;
	}
	for (size_t i = 0; i < w->nans; i++)
		if (w->ans[i].asked)
			announce(w, &w->ans[i]);
}

/* Ask every (client list, address) pair; the answers come back on the loop. */
static void
round_start(struct ipwatch *w)
{
	const struct conf *conf = w->conf;
	size_t i = 0;

	w->running = 1;
	w->pending = 1; /* held until every query is issued */
	for (size_t a = 0; a < conf->dns.monitor_addresses.n; a++)
		for (size_t l = 0; l < conf->dnsbl.n; l++, i++) {
			struct answer *an = &w->ans[i];
			char name[DNSBL_NAME_MAX];
			struct wq *q;
			memset(an, 0, sizeof(*an));
			an->list = &conf->dnsbl.v[l];
			an->address = conf->dns.monitor_addresses.v[a];
			if (an->list->query != DNSBL_Q_CLIENT ||
			    dnsbl_name_addr(an->address, an->list->zone, name, sizeof(name)) < 0)
				continue;
			an->asked = 1;
			q = xmalloc(sizeof(*q));
			q->w = w;
			q->idx = i;
			w->pending++;
			dns_resolver_query(w->r, name, ns_t_a, query_cb, q);
		}
	if (--w->pending == 0)
		round_commit(w);
}

static void
round_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ipwatch *w = arg;
	struct timeval tv = {(time_t)w->conf->dns.monitor_interval, 0};

	(void)fd;
	(void)what;
	if (!w->running)
		round_start(w);
	evtimer_add(w->ev_round, &tv);
}

struct ipwatch *
ipwatch_create(struct event_base *base, const struct conf *conf, struct store *st)
{
	struct ipwatch *w;
	struct timeval now = {0, 0};
	char err[512];

	if (!ipwatch_wanted(conf))
		return NULL;
	w = xcalloc(1, sizeof(*w));
	if ((w->r = dns_resolver_create(conf, base, NULL, err, sizeof(err))) == NULL) {
		log_warnx("dnsbl monitor: %s: not watching dns.monitor_addresses", err);
		free(w);
		return NULL;
	}
	w->conf = conf;
	w->st = st;
	w->base = base;
	w->nans = conf->dns.monitor_addresses.n * conf->dnsbl.n;
	w->ans = xcalloc(w->nans, sizeof(*w->ans));
	w->ev_round = evtimer_new(base, round_cb, w);
	evtimer_add(w->ev_round, &now);
	log_info("dnsbl monitor: %zu addresses, every %llds", conf->dns.monitor_addresses.n,
		 (long long)conf->dns.monitor_interval);
	return w;
}

void
ipwatch_destroy(struct ipwatch *w)
{
	if (w == NULL)
		return;
	dns_resolver_destroy(w->r); /* outstanding queries: ARES_EDESTRUCTION, freed */
	event_free(w->ev_round);
	free(w->ans);
	free(w);
}
