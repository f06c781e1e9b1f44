/* worker -- a policy worker process; see worker.h. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "worker.h"
#include "decide/evqueue.h"
#include "decide/ledger.h"
#include "dns/dns_cache.h"
#include "dns/resolver.h"
#include "policy/policy_conn.h"
#include "store/store.h"
#include "util/log.h"
#include "util/xalloc.h"

#define LEDGER_MAX 8192 /* notes between two flushes; beyond, they are dropped and logged */
#define EVENTS_MAX 8192 /* events between two flushes, likewise */
#define LEDGER_FLUSH_MS 100
#define ACCEPT_BATCH 1 /* one per wake-up: connections spread over the workers */
#define ACCEPT_PAUSE_MS 200

struct worker {
	struct policy_server srv;
	const struct worker_args *args;
	struct event **lev;
	struct event *ev_term, *ev_int, *ev_drain, *ev_resume;
	pthread_t flusher;
	volatile int stop_flusher;
	int64_t served;
};

/* Stop listening; exit once no connection is left (or at the drain deadline). */
static void
worker_drain(struct worker *w, const char *why)
{
	struct timeval tv = {w->srv.conf->policy.drain_timeout, 0};

	if (w->srv.draining)
		return;
	log_info("draining (%s): %u connections open", why, w->srv.nconns);
	w->srv.draining = 1;
	for (int i = 0; i < w->args->nlisten; i++)
		event_del(w->lev[i]);
	policy_conn_drain(&w->srv);
	if (w->srv.nconns == 0)
		event_base_loopexit(w->srv.base, NULL);
	else
		event_add(w->ev_drain, &tv);
}

static void
on_request(struct policy_server *srv)
{
	struct worker *w = (struct worker *)srv;
	int64_t max = srv->conf->policy.max_requests;

	if (max > 0 && ++w->served >= max)
		worker_drain(w, "request limit reached");
}

static void
on_close(struct policy_server *srv)
{
	if (srv->draining && srv->nconns == 0)
		event_base_loopexit(srv->base, NULL);
}

static struct log_rl accept_rl = LOG_RL_INIT(1);

/* Out of descriptors: stop accepting for a moment instead of spinning on a readable listener. */
static void
accept_pause(struct worker *w)
{
	struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};

	for (int i = 0; i < w->args->nlisten; i++)
		event_del(w->lev[i]);
	event_add(w->ev_resume, &tv);
}

static void
accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	if (w->srv.draining)
		return;
	for (int i = 0; i < w->args->nlisten; i++)
		event_add(w->lev[i], NULL);
}

static void
accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < ACCEPT_BATCH && !w->srv.draining; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				if (log_allow(&accept_rl))
					log_warn("accept (pausing %d ms)", ACCEPT_PAUSE_MS);
				accept_pause(w);
			} else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED &&
				   log_allow(&accept_rl)) {
				log_warn("accept");
			}
			return;
		}
		if (w->srv.nconns >= (unsigned)w->srv.conf->policy.max_connections) {
			if (log_allow(&accept_rl))
				log_warnx("policy: %u connections open (policy.max_connections), "
					  "refusing more",
					  w->srv.nconns);
			close(fd);
			continue;
		}
		policy_conn_open(&w->srv, fd);
	}
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	worker_drain(arg, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void
drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	log_warnx("drain timeout: closing %u connections with requests in flight", w->srv.nconns);
	policy_conn_close_all(&w->srv);
	event_base_loopexit(w->srv.base, NULL);
}

/*
 * The ledger is written by a thread of its own, every LEDGER_FLUSH_MS: a
 * commit may wait for LMDB's write lock (an import in progress), and the
 * request path must never wait for anything.
 */
static void *
flush_thread(void *arg)
{
	struct worker *w = arg;
	struct timespec ts = {0, LEDGER_FLUSH_MS * 1000000L};

	while (!w->stop_flusher) {
		nanosleep(&ts, NULL);
		ledger_flush(w->srv.ledger);
		evqueue_flush(w->srv.events, w->srv.conf);
	}
	return NULL;
}

/*
 * The worker's resolver on its loop, when a DNS check is configured.  Without
 * one (c-ares can't start) the checks are skipped, fail-open, and said so.
 */
static void
worker_dns_setup(struct worker *w)
{
	const struct conf *conf = w->srv.conf;
	char err[512];

	if (conf->dnsbl.n == 0 && !conf->dns.bounce_prevention)
		return;
	dns_health_attach(&w->srv.stats->dns);
	w->srv.resolver = dns_resolver_create(conf, w->srv.base, dns_host_cache, err, sizeof(err));
	if (w->srv.resolver == NULL)
		log_warnx("worker: DNS checks disabled (fail-open): %s", err);
}

static void
worker_setup(struct worker *w)
{
	const struct conf *conf = w->srv.conf;
	struct store_opts so = {conf->store.map_size, conf->store.max_readers, 0, 1};
	char err[512];

	w->srv.store = store_open(conf->store.path, &so, err, sizeof(err));
	if (w->srv.store == NULL)
		fatalx("worker: %s", err);
	w->srv.ledger = ledger_create(w->srv.store, LEDGER_MAX);
	w->srv.events = evqueue_create(EVENTS_MAX);
	w->srv.base = event_base_new();
	if (w->srv.base == NULL)
		fatalx("worker: cannot create event base");
	worker_dns_setup(w);
	w->lev = xcalloc((size_t)w->args->nlisten, sizeof(*w->lev));
	for (int i = 0; i < w->args->nlisten; i++) {
		w->lev[i] = event_new(w->srv.base, w->args->listen_fds[i], EV_READ | EV_PERSIST,
				      accept_cb, w);
		event_add(w->lev[i], NULL);
	}
	w->ev_term = evsignal_new(w->srv.base, SIGTERM, signal_cb, w);
	w->ev_int = evsignal_new(w->srv.base, SIGINT, signal_cb, w);
	w->ev_drain = evtimer_new(w->srv.base, drain_timeout_cb, w);
	w->ev_resume = evtimer_new(w->srv.base, accept_resume_cb, w);
	event_add(w->ev_term, NULL);
	event_add(w->ev_int, NULL);
}

void
worker_main(const struct worker_args *args)
{
	struct worker w = {0};
	char name[32];

	snprintf(name, sizeof(name), "policy/%d", args->slot);
	log_procname(name);
	prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the master */
	signal(SIGHUP, SIG_IGN);	  /* reload is the master's business */
	signal(SIGPIPE, SIG_IGN);
	w.args = args;
	w.srv.conf = args->conf;
	w.srv.stats = args->stats;
	w.srv.on_request = on_request;
	w.srv.on_close = on_close;
	worker_setup(&w);
	if (getppid() == 1)
		exit(0); /* the master died before we set PDEATHSIG */
	if (pthread_create(&w.flusher, NULL, flush_thread, &w) != 0)
		fatalx("worker: cannot start the ledger thread");
	event_base_dispatch(w.srv.base);
	w.stop_flusher = 1;
	pthread_join(w.flusher, NULL);
	ledger_flush(w.srv.ledger);
	evqueue_flush(w.srv.events, w.srv.conf);
	ledger_destroy(w.srv.ledger);
	dns_resolver_destroy(w.srv.resolver);
	store_close(w.srv.store);
	exit(0);
}
