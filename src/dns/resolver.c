/* resolver -- c-ares on a libevent loop, or polled with a deadline; see resolver.h. */
#include "config.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "resolver.h"
#include "dns/dns_health.h"
#include "util/xalloc.h"

/* Count in this process and in its slot's shared dns_health (for /metrics and status). */
#define STAT_ADD(f, h) \
	(__atomic_fetch_add(&dns_stats.f, 1, __ATOMIC_RELAXED), dns_health_resolver(h))

struct dns_stats dns_stats;

struct sock_ev {
	ares_socket_t fd;
	struct event *ev;
};

struct dns_resolver {
	ares_channel ch;
	struct event_base *base; /* NULL: synchronous */
	struct event *timer;
	struct sock_ev *socks;
	size_t nsocks;
	struct dns_cache *cache;
	int64_t max_ttl, negative_ttl;
	unsigned pending; /* queries asked of c-ares and not called back yet */
};

/* One query in flight: whom to tell, and what to cache. */
struct rq {
	struct dns_resolver *r;
	dns_result_fn fn;
	void *arg;
	int type;
	char name[];
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_status;

static void
lib_init(void)
{
	lib_status = ares_library_init(ARES_LIB_INIT_ALL);
}

struct event_base *
dns_resolver_base(const struct dns_resolver *r)
{
	return r->base;
}

int64_t
dns_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
dns_status_is_answer(int status)
{
	return status == ARES_SUCCESS || status == ARES_ENODATA || status == ARES_ENOTFOUND;
}

const char *
dns_status_text(int status)
{
	switch (status) {
	case ARES_ECONNREFUSED:
	case ARES_ESERVFAIL:
	case ARES_EREFUSED:
		/* c-ares 1.18 reports SERVFAIL/REFUSED from every server this way. */
		return "SERVFAIL or REFUSED (or no DNS server reachable)";
	case ARES_ETIMEOUT:
		return "DNS server did not answer";
	case ARES_ECANCELLED:
		return "no answer within dns.timeout";
	default:
		return ares_strerror(status);
	}
}

/* Re-arm the one timer to c-ares's next retransmission. */
static void
timer_arm(struct dns_resolver *r)
{
	struct timeval tv;

	if (r->base == NULL)
		return;
	if (ares_timeout(r->ch, NULL, &tv))
		evtimer_add(r->timer, &tv);
	else
		evtimer_del(r->timer);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_resolver *r = arg;

	(void)fd;
	(void)what;
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	timer_arm(r);
}

static void
sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_resolver *r = arg;

	ares_process_fd(r->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	timer_arm(r);
}

/* c-ares opens, watches or closes a socket: mirror it as an event. */
static void
sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_resolver *r = data;
	short what = (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0) | EV_PERSIST);
	size_t i;

	for (i = 0; i < r->nsocks && r->socks[i].fd != fd; i++)
		;
	if (i < r->nsocks)
		event_free(r->socks[i].ev);
	if (!readable && !writable) {
		if (i < r->nsocks)
			r->socks[i] = r->socks[--r->nsocks];
		return;
	}
	if (i == r->nsocks) {
		r->socks = xrealloc(r->socks, (r->nsocks + 1) * sizeof(*r->socks));
		r->nsocks++;
	}
	r->socks[i].fd = fd;
	r->socks[i].ev = event_new(r->base, fd, what, sock_cb, r);
	event_add(r->socks[i].ev, NULL);
}

/* "a,b" from the dns.servers list. */
static char *
servers_csv(const struct conf_strlist *l)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < l->n; i++)
		len += strlen(l->v[i]) + 1;
	s = xcalloc(1, len);
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			strcat(s, ",");
		strcat(s, l->v[i]);
	}
	return s;
}

struct dns_resolver *
dns_resolver_create(const struct conf *conf, struct event_base *base, struct dns_cache *cache,
		    char *err, size_t errlen)
{
	struct dns_resolver *r = xcalloc(1, sizeof(*r));
	struct ares_options o;
	int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS, rc;
	char *csv = NULL;

	pthread_once(&lib_once, lib_init);
	if (lib_status != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(lib_status));
		goto fail;
	}
	memset(&o, 0, sizeof(o));
	/* Two tries (t, then 2t) fit in the deadline; the deadline itself is the caller's. */
	o.timeout = (int)(conf->dns.timeout_ms / 3 > 100 ? conf->dns.timeout_ms / 3 : 100);
	o.tries = 2;
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	if (base) {
		o.sock_state_cb = sock_state_cb;
		o.sock_state_cb_data = r;
		mask |= ARES_OPT_SOCK_STATE_CB;
	}
	if ((rc = ares_init_options(&r->ch, &o, mask)) != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		goto fail;
	}
	if (conf->dns.servers.n > 0) {
		csv = servers_csv(&conf->dns.servers);
		if ((rc = ares_set_servers_ports_csv(r->ch, csv)) != ARES_SUCCESS) {
			snprintf(err, errlen, "dns.servers '%s': %s", csv, ares_strerror(rc));
			ares_destroy(r->ch);
			goto fail;
		}
		free(csv);
	}
	r->base = base;
	r->timer = base ? evtimer_new(base, timer_cb, r) : NULL;
	r->cache = cache;
	r->max_ttl = conf->dns.max_ttl;
	r->negative_ttl = conf->dns.negative_ttl;
	return r;
fail:
	free(csv);
	free(r);
	return NULL;
}

void
dns_resolver_destroy(struct dns_resolver *r)
{
	if (r == NULL)
		return;
	ares_destroy(r->ch); /* callbacks: ARES_EDESTRUCTION; sockets: closed via sock_state_cb */
	for (size_t i = 0; i < r->nsocks; i++)
		event_free(r->socks[i].ev);
	free(r->socks);
	if (r->timer)
		event_free(r->timer);
	free(r);
}

/* The TTL to cache answer A (from message ABUF) for: positive capped by max_ttl, negative fixed. */
static uint32_t
cache_ttl(const struct dns_resolver *r, const struct dns_answer *a, const unsigned char *abuf,
	  int alen)
{
	int64_t ttl;

	if (a->status != ARES_SUCCESS)
		return (uint32_t)r->negative_ttl;
	ttl = dns_answer_min_ttl(abuf, alen);
	if (ttl < 0)
		return (uint32_t)r->negative_ttl;
	return (uint32_t)(ttl > r->max_ttl ? r->max_ttl : ttl);
}

static void
ares_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct rq *q = arg;
	struct dns_answer a;
	struct dns_result res = {0, &a, 0, 0};
	uint32_t ttl;
	int64_t now;

	(void)timeouts;
	q->r->pending--;
	dns_answer_parse(q->type, status, abuf, alen, &a);
	res.status = a.status;
	if (!dns_status_is_answer(a.status)) {
		if (status != ARES_ECANCELLED && status != ARES_EDESTRUCTION)
			STAT_ADD(failures, DNS_HEALTH_FAILURE);
	} else if ((ttl = cache_ttl(q->r, &a, abuf, alen)) > 0) {
		now = dns_now_ms();
		res.expires = now + (int64_t)ttl * 1000;
		if (q->r->cache)
			dns_cache_put(q->r->cache, q->type, q->name, &a, ttl, now);
	}
	q->fn(q->arg, &res);
	free(q);
}

void
dns_resolver_query(struct dns_resolver *r, const char *name, int type, dns_result_fn fn, void *arg)
{
	struct dns_answer a;
	struct dns_result res = {0, &a, 1, 0};
	struct rq *q;
	size_t n;

	if (r->cache && dns_cache_get_until(r->cache, type, name, dns_now_ms(), &a, &res.expires)) {
		STAT_ADD(cache_hits, DNS_HEALTH_CACHE_HIT);
		res.status = a.status;
		fn(arg, &res);
		return;
	}
	n = strlen(name) + 1;
	q = xmalloc(sizeof(*q) + n);
	q->r = r;
	q->fn = fn;
	q->arg = arg;
	q->type = type;
	memcpy(q->name, name, n);
	STAT_ADD(queries, DNS_HEALTH_QUERY);
	r->pending++;
	ares_query(r->ch, name, ns_c_in, type, ares_cb, q);
	timer_arm(r);
}

int
dns_resolver_cache_get(struct dns_resolver *r, int type, const char *name, struct dns_answer *out)
{
	if (r->cache == NULL || !dns_cache_get(r->cache, type, name, dns_now_ms(), out))
		return 0;
	STAT_ADD(cache_hits, DNS_HEALTH_CACHE_HIT);
	return 1;
}

void
dns_resolver_cache_put(struct dns_resolver *r, int type, const char *name,
		       const struct dns_answer *a, int64_t expires_ms)
{
	int64_t now = dns_now_ms();

	if (r->cache && expires_ms - now >= 1000)
		dns_cache_put(r->cache, type, name, a, (uint32_t)((expires_ms - now) / 1000), now);
}

void
dns_resolver_wait(struct dns_resolver *r, int64_t deadline_ms)
{
	for (;;) {
		ares_socket_t s[ARES_GETSOCK_MAXNUM];
		struct pollfd p[ARES_GETSOCK_MAXNUM];
		struct timeval max, tv, *tvp;
		int bits = ares_getsock(r->ch, s, ARES_GETSOCK_MAXNUM), n = 0, rc;
		int64_t left = deadline_ms - dns_now_ms();

		for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			/* c-ares's ARES_GETSOCK_WRITABLE shifts a signed 1 by up to 31. */
			unsigned ub = (unsigned)bits;
			short ev = (short)((ub & (1u << i) ? POLLIN : 0) |
					   (ub & (1u << (i + ARES_GETSOCK_MAXNUM)) ? POLLOUT : 0));
			if (ev) {
				p[n].fd = s[i];
				p[n].events = ev;
				p[n].revents = 0;
				n++;
			}
		}
		max.tv_sec = left > 0 ? left / 1000 : 0;
		max.tv_usec = left > 0 ? (left % 1000) * 1000 : 0;
		if (r->pending == 0)
			return;
		tvp = ares_timeout(r->ch, &max, &tv);
		if (left <= 0 || tvp == NULL) {
			ares_cancel(r->ch); /* callbacks fire now, with ARES_ECANCELLED */
			return;
		}
		rc = poll(p, (nfds_t)n, (int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000));
		if (rc < 0 && errno != EINTR) {
			ares_cancel(r->ch);
			return;
		}
		if (rc <= 0) {
			ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (int i = 0; i < n; i++)
			if (p[i].revents)
				ares_process_fd(
				    r->ch,
				    (p[i].revents & (POLLIN | POLLERR | POLLHUP)) ? p[i].fd
										  : ARES_SOCKET_BAD,
				    (p[i].revents & POLLOUT) ? p[i].fd : ARES_SOCKET_BAD);
	}
}
