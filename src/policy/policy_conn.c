/* policy_conn -- a policy connection on the worker loop; see policy_conn.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "policy_conn.h"
#include "policy_proto.h"
#include "decide/decide.h"
#include "decide/evqueue.h"
#include "decide/ledger.h"
#include "feedback/eventlog.h"
#include "quota/quota.h"
#include "util/clock.h"
#include "dns/dns_check.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "worker/worker.h"

struct policy_conn {
	struct policy_server *srv;
	struct policy_conn *next, *prev;
	struct event *ev;
	int fd;
	char *buf;
	size_t len, cap;
	char out[1024]; /* a reply that could not be written at once */
	size_t outlen, outoff;
	struct quota_conn qc; /* the transaction in progress, for its quota reservation */
	/* A request waiting for its DNS lookups (reading is paused meanwhile, so
	 * REQ's pointers into BUF stay valid). */
	struct policy_request req;
	struct facts f;
	struct dns_facts *df;
	struct dns_check *chk;
	size_t req_end;
	int64_t t0_us; /* mono_us() when the request was parsed, for the latency histogram */
};

static void conn_read_cb(evutil_socket_t fd, short what, void *arg);

/* Bad clients must not flood the log. */
static struct log_rl bad_input_rl = LOG_RL_INIT(10);

static void
conn_close(struct policy_conn *c)
{
	struct policy_server *srv = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
	srv->stats->open_connections = srv->nconns;
	quota_release(&c->qc);
	dns_check_cancel(c->chk);
	free(c->df);
	event_free(c->ev);
	close(c->fd);
	free(c->buf);
	free(c);
	if (srv->on_close)
		srv->on_close(srv);
}

/* Re-arm the read event with the idle timeout. */
static void
conn_want_read(struct policy_conn *c)
{
	struct timeval tv = {c->srv->conf->policy.idle_timeout, 0};

	event_del(c->ev);
	event_assign(c->ev, c->srv->base, c->fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	event_add(c->ev, &tv);
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg);

/* Send what is left of the pending reply; 0 when done, 1 when waiting, -1 on error. */
static int
conn_flush(struct policy_conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct timeval tv = {c->srv->conf->policy.idle_timeout, 0};
			event_del(c->ev);
			event_assign(c->ev, c->srv->base, c->fd, EV_WRITE, conn_write_cb, c);
			event_add(c->ev, &tv);
			return 1;
		}
		if (n <= 0)
			return -1;
		c->outoff += (size_t)n;
	}
	c->outlen = c->outoff = 0;
	return 0;
}

/* Decide the request in C->f (its DNS facts gathered) and format the reply. */
static void
conn_decide(struct policy_conn *c)
{
	struct policy_server *srv = c->srv;
	struct verdict v;

	c->f.dns = c->df;
	c->f.now_us = now_us(); /* after the lookups: quotas and rates count from now */
	c->f.now = c->f.now_us / 1000000;
	decide(srv->conf, srv->store, &c->f, &v);
	quota_decide(srv->conf, &c->f, &v, &c->qc);
	decide_log(&c->f, &v);
	if (v.sim_complaints && v.kind == VK_PASS)
		event_simulator_complaints(srv->conf, v.account, c->f.queue_id, v.sim_complaints);
	srv->stats->requests++;
	if (c->f.stage == STAGE_RCPT)
		srv->stats->rcpt_requests++;
	else if (c->f.stage == STAGE_EOM)
		srv->stats->eom_requests++;
	if (v.kind != VK_PASS)
		srv->stats->refusals++;
	if (v.would)
		srv->stats->would_refuse++;
	if (v.rule && strcmp(v.rule, "store_error") == 0)
		srv->stats->store_errors++;
	door_stats_note(&srv->stats->door, &v, (uint64_t)(mono_us() - c->t0_us));
	/* Never write here: the worker's ledger thread commits (see worker.c). */
	ledger_note(srv->ledger, &c->f, &v);
	evqueue_note(srv->events, srv->conf, &c->f, &v);
	c->outlen = policy_reply_format(&v, c->out, sizeof(c->out));
	c->outoff = 0;
}

static void conn_dns_done(void *arg);

/*
 * Answer one complete request held in BUF[0..LEN): 0 answered, 1 waiting for
 * its DNS lookups (conn_dns_done() answers it), -1 to close the connection.
 */
static int
conn_answer(struct policy_conn *c, char *buf, size_t len)
{
	struct policy_server *srv = c->srv;
	const char *why;

	if (policy_request_parse(buf, len, &c->req, &why) < 0) {
		srv->stats->bad_requests++;
		if (log_allow(&bad_input_rl))
			log_warnx("policy: closing connection: malformed request: %s", why);
		return -1;
	}
	c->t0_us = mono_us();
	policy_request_facts(&c->req, &c->f);
	c->f.now = time(NULL);
	if (srv->resolver) {
		if (c->df == NULL) /* one per connection, reused by each request */
			c->df = xmalloc(sizeof(*c->df));
		if (dns_check_start(srv->resolver, srv->conf, &c->f, c->df, conn_dns_done, c,
				    &c->chk)) {
			event_del(c->ev); /* read nothing more until this one is answered */
			return 1;
		}
	}
	conn_decide(c);
	return 0;
}

/* The reply for the request of END bytes is formatted: drop it from the buffer, send. */
static int
conn_replied(struct policy_conn *c, size_t end)
{
	memmove(c->buf, c->buf + end, c->len - end);
	c->len -= end;
	if (c->srv->on_request)
		c->srv->on_request(c->srv);
	return conn_flush(c);
}

/* Answer every complete request in the input buffer; -1 closes the connection. */
static int
conn_process(struct policy_conn *c)
{
	size_t end;

	while (c->outlen == 0 && c->chk == NULL && (end = policy_request_end(c->buf, c->len)) > 0) {
		int r = conn_answer(c, c->buf, end);
		if (r < 0)
			return -1;
		if (r > 0) {
			c->req_end = end;
			return 0;
		}
		if ((r = conn_replied(c, end)) != 0)
			return r < 0 ? -1 : 0;
	}
	if (c->chk)
		return 0;
	if (c->len >= (size_t)c->srv->conf->policy.max_request_size) {
		c->srv->stats->bad_requests++;
		if (log_allow(&bad_input_rl))
			log_warnx("policy: closing connection: request larger than %lld bytes",
				  (long long)c->srv->conf->policy.max_request_size);
		return -1;
	}
	if (c->srv->draining && c->len == 0)
		return -1; /* nothing in flight: done */
	return 0;
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct policy_conn *c = arg;

	if ((what & EV_TIMEOUT) || conn_flush(c) < 0) {
		conn_close(c);
		return;
	}
	if (c->outlen == 0) {
		conn_want_read(c);
		if (conn_process(c) < 0)
			conn_close(c);
	}
}

/* The DNS lookups of the waiting request are in (or timed out): answer it, go on. */
static void
conn_dns_done(void *arg)
{
	struct policy_conn *c = arg;
	int r;

	c->chk = NULL;
	conn_decide(c);
	if ((r = conn_replied(c, c->req_end)) < 0) {
		conn_close(c);
		return;
	}
	if (r > 0)
		return; /* conn_write_cb takes over */
	conn_want_read(c);
	if (conn_process(c) < 0)
		conn_close(c);
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct policy_conn *c = arg;
	size_t max = (size_t)c->srv->conf->policy.max_request_size;
	ssize_t n;

	if (what & EV_TIMEOUT) {
		conn_close(c);
		return;
	}
	if (c->cap - c->len < 4096) {
		c->cap = c->cap ? c->cap * 2 : 8192;
		if (c->cap > max + 4096)
			c->cap = max + 4096;
		c->buf = xrealloc(c->buf, c->cap);
	}
	n = read(fd, c->buf + c->len, c->cap - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (n < 0)
			log_debug("policy: read: %s", strerror(errno));
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	if (conn_process(c) < 0)
		conn_close(c);
}

void
policy_conn_open(struct policy_server *srv, int fd)
{
	struct policy_conn *c = xcalloc(1, sizeof(*c));

	c->srv = srv;
	c->fd = fd;
	c->ev = event_new(srv->base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	srv->stats->connections++;
	srv->stats->open_connections = srv->nconns;
	conn_want_read(c);
}

void
policy_conn_drain(struct policy_server *srv)
{
	struct policy_conn *c = srv->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->len == 0 && c->outlen == 0)
			conn_close(c);
	}
}

void
policy_conn_close_all(struct policy_server *srv)
{
	while (srv->conns)
		conn_close(srv->conns);
}
