/*
 * policy_bench -- a load generator for Postfix policy servers.
 *
 * T threads, each one epoll loop, share C persistent connections.  Every
 * connection is lock-step like Postfix's smtpd: send one RCPT request (the 29
 * attributes Postfix 3.7 sends, REFERENCE §1.2), wait for its reply, send the
 * next.  A run ends after -d seconds or -n requests, whichever comes first
 * (with neither, after 10 s), and prints per server one "result" line
 * (requests/s, latency percentiles in µs) and one "replies" line (counts by
 * action class).  Each reply must start with "action=" and end the exchange;
 * a connection the server closes is reopened and its request resent (Postfix
 * does that too), anything else is an error and the exit code is 1.
 *
 * Given two servers, the run alternates between them in slices of -i seconds
 * (new connections each slice) until each had -d seconds: on a shared or
 * small machine both then see the same background load, and the ratio of the
 * two is worth more than either figure alone.
 *
 * The workload, defined here once so the seeding script and the generator
 * agree (-E prints the suppression list this file assumes):
 *   - accounts acct0 .. acct(A-1), the SASL login of each request;
 *   - suppression entry K (0 <= K < N) is userK@dom(K%100).test; it is global
 *     when K % 10 == 0, else scoped to account acct((K/10) % A);
 *   - a fraction -f of requests hit an entry: a random K, sent by the account
 *     that owns it (any account for a global one); the rest go to
 *     rcptR@dom(R%100).test, which no entry matches.
 * -W is the warm-up pass: request i is sent by acct(i % A), A requests in all,
 * none suppressed -- with auto_create on, it creates every account.
 *
 * Lean on purpose (on a small machine it competes with the server for CPU):
 * no allocation and no stdio after the connections are open; the latency
 * histogram is log-linear (0.2 % precision) and per thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define REQ_MAX 2048
#define REPLY_MAX 4096

enum rclass { RC_DUNNO, RC_DEFER, RC_REJECT, RC_HOLD, RC_OK, RC_OTHER, RC_NCLASS };
static const char *const rclass_name[RC_NCLASS] = {"dunno", "defer", "reject",
						   "hold",  "ok",    "other"};

#define MAX_TARGETS 2

/* A server under test, and what was measured against it over all its slices. */
struct target {
	struct sockaddr_in addr;
	const char *spec, *label;
	int slices;
	uint64_t active_ns; /* time it was driven, summed over its slices */
	uint64_t done, errors, reconnects, sum_ns, max_ns;
	uint64_t classes[RC_NCLASS];
	uint64_t hist[H_BUCKETS];
};

static struct target targets[MAX_TARGETS];
static int ntargets;
static struct target *cur; /* the one the running slice drives */

static struct bench_opt opt = BENCH_OPT_DEFAULTS; /* -n: requests */
static int nlabels;

static _Atomic uint64_t issued; /* requests handed out, for -n and -W */
static uint64_t start_ns, deadline_ns;
static pthread_barrier_t barrier;

struct conn {
	int fd;
	int waiting; /* a request is in flight */
	uint64_t sent_ns;
	size_t rlen, woff, wlen;
	uint32_t id, seq;
	int retries;	 /* reconnects since the last reply */
	int parked;	 /* -R: idle until due_ns */
	uint64_t due_ns; /* -R: when its next request is scheduled (0: not yet) */
	char rbuf[REPLY_MAX];
	char wbuf[REQ_MAX];
};

struct worker {
	pthread_t tid;
	int ep, nconns, open;
	int tfd; /* -R: a timerfd armed for the earliest parked connection */
	struct conn *conns;
	uint64_t rng;
	uint64_t done, errors, reconnects, last_ns, sum_ns, max_ns;
	uint64_t classes[RC_NCLASS];
	uint64_t hist[H_BUCKETS];
};

/* ---- the request ------------------------------------------------------ */

static void
put_x(struct out *o, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = "0123456789abcdef"[v & 15];
	while ((v >>= 4) != 0);
	while (n)
		*o->p++ = tmp[--n];
}

/* Account and recipient for one request: the workload described at the top. */
static void
pick(struct worker *w, struct conn *c, uint64_t seq, uint64_t *acct, int *hit, uint64_t *k)
{
	uint64_t r = rng_next(&w->rng);

	(void)c;
	if (opt.warmup) {
		*acct = seq % opt.accounts;
		*hit = 0;
		*k = r % MISS_SPACE;
		return;
	}
	*hit =
	    opt.suppressed > 0 && (double)(r >> 11) * (1.0 / 9007199254740992.0) < opt.hit_fraction;
	r = rng_next(&w->rng);
	if (*hit) {
		*k = r % opt.suppressed;
		if (*k % GLOBAL_EVERY != 0) {
			*acct = (*k / GLOBAL_EVERY) % opt.accounts;
			return;
		}
		r = rng_next(&w->rng);
	} else {
		*k = r % MISS_SPACE;
		r = rng_next(&w->rng);
	}
	*acct = r % opt.accounts;
}

/* Write one RCPT-stage request, attributes in the order Postfix 3.7 sends them. */
static size_t
request_build(struct worker *w, struct conn *c, uint64_t seq)
{
	struct out o = {c->wbuf};
	uint64_t acct, k, host;
	int hit;

	pick(w, c, seq, &acct, &hit, &k);
	host = acct % 250 + 1;
	c->seq++;
	PUTS(&o, "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
		 "helo_name=client-");
	put_u(&o, host);
	PUTS(&o, ".example.net\nqueue_id=\nsender=noreply@acct");
	put_u(&o, acct);
	PUTS(&o, ".example\nrecipient=");
	if (hit)
		PUTS(&o, "user");
	else
		PUTS(&o, "rcpt");
	put_u(&o, k);
	PUTS(&o, "@dom");
	put_u(&o, k % DOMAINS);
	PUTS(&o, ".test\nrecipient_count=0\nclient_address=203.0.113.");
	put_u(&o, host);
	PUTS(&o, "\nclient_name=client-");
	put_u(&o, host);
	PUTS(&o, ".example.net\nreverse_client_name=client-");
	put_u(&o, host);
	PUTS(&o, ".example.net\ninstance=");
	put_x(&o, 0x1000 + c->id);
	PUTS(&o, ".6650a1b2.");
	put_x(&o, (seq * 7919) % 1000000);
	PUTS(&o, ".");
	put_x(&o, c->seq);
	PUTS(&o, "\nsasl_method=PLAIN\nsasl_username=acct");
	put_u(&o, acct);
	PUTS(&o, "\nsasl_sender=\nsize=");
	put_u(&o, 2000 + k % 60000);
	PUTS(&o, "\nccert_subject=\nccert_issuer=\nccert_fingerprint=\n"
		 "ccert_pubkey_fingerprint=\nencryption_protocol=TLSv1.3\n"
		 "encryption_cipher=TLS_AES_256_GCM_SHA384\nencryption_keysize=256\n"
		 "etrn_domain=\nstress=\nclient_port=");
	put_u(&o, 1024 + (seq + c->id) % 64000);
	PUTS(&o, "\npolicy_context=\nserver_address=192.0.2.10\nserver_port=587\n\n");
	return (size_t)(o.p - c->wbuf);
}

/* ---- one connection --------------------------------------------------- */

static int
conn_open(struct worker *w, struct conn *c)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	int on = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&cur->addr, sizeof(cur->addr)) < 0 ||
	    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0 ||
	    epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		fprintf(stderr, "policy_bench: connect to %s: %s\n", cur->spec, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return -1;
	}
	w->open++;
	return 0;
}

static void
conn_close(struct worker *w, struct conn *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->waiting = 0;
	w->open--;
}

static void
conn_error(struct worker *w, struct conn *c, const char *what)
{
	static atomic_int reported;

	w->errors++;
	if (atomic_fetch_add(&reported, 1) < 5)
		fprintf(stderr, "policy_bench: connection %u: %s\n", c->id, what);
	conn_close(w, c);
}

static int conn_flush(struct worker *w, struct conn *c);

/*
 * The server closed the connection (a worker retiring after max_requests
 * does that): reconnect and resend the request in flight, as Postfix does.
 * Its latency includes the reconnect.  Three in a row without a reply is an error.
 */
static void
conn_reconnect(struct worker *w, struct conn *c, const char *what)
{
	int waiting = c->waiting;

	conn_close(w, c);
	if (++c->retries > 3 || conn_open(w, c) < 0) {
		c->waiting = waiting;
		conn_error(w, c, what);
		return;
	}
	w->reconnects++;
	c->rlen = 0;
	c->waiting = waiting;
	c->woff = 0;
	if (waiting && conn_flush(w, c) < 0)
		conn_reconnect(w, c, what);
}

/* Push the pending request out; -1 on error. */
static int
conn_flush(struct worker *w, struct conn *c)
{
	return bench_flush(w->ep, c->fd, c, c->wbuf, &c->woff, c->wlen);
}

/* Start the next request, or close the connection when the run is over. */
static void
conn_next(struct worker *w, struct conn *c, uint64_t now)
{
	uint64_t seq, limit = opt.max, due = now;

	if (now >= deadline_ns || atomic_load_explicit(&stop_now, memory_order_relaxed)) {
		conn_close(w, c);
		return;
	}
	if (opt.rate > 0 && !c->parked) {
		due = pace_due(&c->due_ns, c->id, start_ns, opt.rate, opt.conc);
		if (due >= deadline_ns) {
			conn_close(w, c);
			return;
		}
		if (due > now) {
			c->parked = 1; /* the timer sends it (pace_wake) */
			return;
		}
	} else if (opt.rate > 0) {
		due = c->due_ns; /* woken: the latency counts from the schedule */
	}
	c->parked = 0;
	seq = atomic_fetch_add_explicit(&issued, 1, memory_order_relaxed);
	if (limit && seq >= limit) {
		conn_close(w, c);
		return;
	}
	c->wlen = request_build(w, c, seq);
	c->woff = 0;
	c->waiting = 1;
	c->sent_ns = due; /* open loop: a late send is queueing, and counts */
	if (conn_flush(w, c) < 0)
		conn_reconnect(w, c, "send failed");
}

/* -R: send what is due, then arm the timer for the earliest parked connection. */
static void
pace_wake(struct worker *w, uint64_t now)
{
	uint64_t next = 0;

	for (int i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];
		if (c->fd < 0 || !c->parked)
			continue;
		if (c->due_ns <= now)
			conn_next(w, c, now);
		else if (next == 0 || c->due_ns < next)
			next = c->due_ns;
	}
	if (next == 0)
		return;
	bench_pace_arm(w->tfd, next);
}

static enum rclass
classify(const char *a, const char *end)
{
	size_t n = 0;

	while (a + n < end && a[n] != ' ' && a[n] != '\t' && a[n] != '\n')
		n++;
	if (n == 5 && strncasecmp(a, "DUNNO", 5) == 0)
		return RC_DUNNO;
	if ((n == 3 && a[0] == '4') || (n >= 5 && strncasecmp(a, "DEFER", 5) == 0))
		return RC_DEFER;
	if ((n == 3 && a[0] == '5') || (n == 6 && strncasecmp(a, "REJECT", 6) == 0))
		return RC_REJECT;
	if (n == 4 && strncasecmp(a, "HOLD", 4) == 0)
		return RC_HOLD;
	if (n == 2 && strncasecmp(a, "OK", 2) == 0)
		return RC_OK;
	return RC_OTHER;
}

/* A complete reply is in rbuf[0..end): check it, count it, time it. */
static int
reply_take(struct worker *w, struct conn *c, size_t end, uint64_t now)
{
	uint64_t ns = now - c->sent_ns;

	if (end < 9 || memcmp(c->rbuf, "action=", 7) != 0) {
		conn_error(w, c, "reply does not start with action=");
		return -1;
	}
	if (end != c->rlen) {
		conn_error(w, c, "bytes after the reply (Postfix would reconnect)");
		return -1;
	}
	w->classes[classify(c->rbuf + 7, c->rbuf + end)]++;
	w->hist[hist_bucket(ns)]++;
	w->sum_ns += ns;
	if (ns > w->max_ns)
		w->max_ns = ns;
	w->done++;
	w->last_ns = now;
	c->rlen = 0;
	c->waiting = 0;
	c->retries = 0;
	return 0;
}

static void
conn_readable(struct worker *w, struct conn *c, uint64_t now)
{
	ssize_t n;
	char *end;

	n = read(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_reconnect(w, c, n == 0 ? "closed by the server" : "read failed");
		return;
	}
	if (!c->waiting) {
		conn_error(w, c, "unsolicited bytes from the server");
		return;
	}
	c->rlen += (size_t)n;
	end = memmem(c->rbuf, c->rlen, "\n\n", 2);
	if (end == NULL) {
		if (c->rlen == sizeof(c->rbuf))
			conn_error(w, c, "reply too long");
		return;
	}
	if (reply_take(w, c, (size_t)(end + 2 - c->rbuf), now) == 0)
		conn_next(w, c, now);
}

/* ---- threads ---------------------------------------------------------- */

/* Close connections whose reply is overdue (counted as errors). */
static void
reap_overdue(struct worker *w, uint64_t now)
{
	for (int i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];
		if (c->fd >= 0 && c->waiting && now - c->sent_ns > REPLY_TIMEOUT_NS)
			conn_error(w, c, "no reply within 5 s");
	}
}

static void
worker_loop(struct worker *w)
{
	struct epoll_event evs[64];
	uint64_t now = start_ns, last_reap = start_ns;

	for (int i = 0; i < w->nconns; i++)
		conn_next(w, &w->conns[i], now);
	if (opt.rate > 0)
		pace_wake(w, now);
	while (w->open > 0) {
		int n = epoll_wait(w->ep, evs, 64, 50);
		now = now_ns();
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c == NULL) { /* the pacing timer: pace_wake() below */
				uint64_t ticks;
				ssize_t got = read(w->tfd, &ticks, sizeof(ticks));
				(void)got;
				continue;
			}
			if (c->fd < 0)
				continue;
			if (evs[i].events & EPOLLOUT) {
				struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
				epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
				if (conn_flush(w, c) < 0) {
					conn_reconnect(w, c, "send failed");
					continue;
				}
			}
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				conn_readable(w, c, now);
		}
		if (opt.rate > 0)
			pace_wake(w, now);
		if (n <= 0 || now - last_reap > 100000000ull) {
			last_reap = now;
			reap_overdue(w, now);
			/* Past the deadline, idle connections close; in-flight ones get their
			 * reply. */
			for (int i = 0; i < w->nconns; i++) {
				struct conn *c = &w->conns[i];
				if (c->fd >= 0 && !c->waiting &&
				    (now >= deadline_ns || atomic_load(&stop_now)))
					conn_close(w, c);
				if (c->fd >= 0 && now >= deadline_ns + DRAIN_NS)
					conn_error(w, c, "still waiting at the end of the drain");
			}
		}
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	int ok = 1;

	for (int i = 0; i < w->nconns; i++)
		if (ok && conn_open(w, &w->conns[i]) < 0)
			ok = 0;
	if (!ok)
		atomic_store(&stop_now, 1);
	pthread_barrier_wait(&barrier); /* everyone connected */
	pthread_barrier_wait(&barrier); /* start_ns and deadline_ns are set */
	if (!atomic_load(&stop_now))
		worker_loop(w);
	for (int i = 0; i < w->nconns; i++)
		conn_close(w, &w->conns[i]);
	return NULL;
}

/* ---- the report ------------------------------------------------------- */

/* Add what the threads of the slice just run measured to the current target. */
static void
slice_merge(struct worker *ws, int nt)
{
	struct target *tg = cur;
	uint64_t last = start_ns;

	for (int t = 0; t < nt; t++) {
		struct worker *w = &ws[t];
		tg->done += w->done;
		tg->errors += w->errors;
		tg->reconnects += w->reconnects;
		tg->sum_ns += w->sum_ns;
		if (w->max_ns > tg->max_ns)
			tg->max_ns = w->max_ns;
		if (w->last_ns > last)
			last = w->last_ns;
		for (int i = 0; i < RC_NCLASS; i++)
			tg->classes[i] += w->classes[i];
		for (unsigned b = 0; b < H_BUCKETS; b++)
			tg->hist[b] += w->hist[b];
	}
	tg->active_ns += last - start_ns;
	tg->slices++;
}

/* The two lines for one target; 0 if it answered everything. */
static int
report(const struct target *tg)
{
	double secs = (double)tg->active_ns / 1e9;
	uint64_t n = tg->done;

	printf("result label=%s target=%s conc=%d threads=%d seconds=%.2f slices=%d "
	       "requests=%llu errors=%llu reconnects=%llu rps=%.0f p50_us=%.1f p99_us=%.1f "
	       "p999_us=%.1f max_us=%.1f mean_us=%.1f\n",
	       tg->label, tg->spec, opt.conc, opt.threads, secs, tg->slices, (unsigned long long)n,
	       (unsigned long long)tg->errors, (unsigned long long)tg->reconnects,
	       secs > 0 ? (double)n / secs : 0.0, percentile_us(tg->hist, n, 0.50),
	       percentile_us(tg->hist, n, 0.99), percentile_us(tg->hist, n, 0.999),
	       (double)tg->max_ns / 1000.0, n ? (double)tg->sum_ns / (double)n / 1000.0 : 0.0);
	printf("replies label=%s conc=%d", tg->label, opt.conc);
	for (int i = 0; i < RC_NCLASS; i++)
		printf(" %s=%llu", rclass_name[i], (unsigned long long)tg->classes[i]);
	printf("\n");
	return tg->errors == 0 && n > 0 ? 0 : 1;
}

/* ---- main ------------------------------------------------------------- */

/* -E: the suppression list as `outpostctl suppress import` CSV. */
static void
emit_csv(void)
{
	static const char *const reasons[] = {"bounce", "complaint", "manual", "unsubscribe"};

	for (uint64_t k = 0; k < opt.suppressed; k++) {
		printf("user%llu@dom%llu.test,%s,", (unsigned long long)k,
		       (unsigned long long)(k % DOMAINS), reasons[(k / GLOBAL_EVERY) % 4]);
		if (k % GLOBAL_EVERY != 0)
			printf("acct%llu", (unsigned long long)((k / GLOBAL_EVERY) % opt.accounts));
		putchar('\n');
	}
}

static void
usage(void)
{
	fprintf(
	    stderr,
	    "usage: policy_bench -s HOST:PORT [-L LABEL] [-s HOST:PORT -L LABEL] [-c CONNS]\n"
	    "                    [-t THREADS] [-d SECONDS] [-i SLICE] [-n REQUESTS] [-A ACCOUNTS]\n"
	    "                    [-N SUPPRESSED] [-f HIT_FRACTION] [-W] [-S SEED] [-R RATE]\n"
	    "       policy_bench -E [-A ACCOUNTS] [-N SUPPRESSED]   (print the suppression CSV)\n"
	    "  -s  the server (twice: two servers, driven in alternate slices; -L names each)\n"
	    "  -c  persistent connections, each lock-step (default 1)\n"
	    "  -t  threads, each an epoll loop (default 1; at most -c)\n"
	    "  -d  seconds per server (default 10); -i  slice length with two servers (default 1)\n"
	    "  -n  stop after this many requests (one server only)\n"
	    "  -A  accounts acct0..acctA-1 (default 10000)\n"
	    "  -N  suppression entries the store holds (default 1000000)\n"
	    "  -f  fraction of requests whose recipient is suppressed (default 0.10)\n"
	    "  -W  warm-up: one request per account, in order (creates them all)\n"
	    "  -R  requests per second in all, spread evenly over the connections, open loop:\n"
	    "      each request has its time and its latency counts from it, so a late\n"
	    "      reply delays the next send and the queueing shows (default 0: closed\n"
	    "      loop, each connection as fast as the server answers)\n");
	exit(2);
}

/* Add the server SPEC (-s HOST:PORT) to the targets. */
static void
parse_target(const char *spec)
{
	struct target *tg = &targets[ntargets];

	if (ntargets == MAX_TARGETS || bench_parse_addr("policy_bench", spec, &tg->addr) < 0)
		usage();
	tg->spec = spec;
	ntargets++;
}

/* Drive TG for SECS seconds (or until -n is used up) with fresh connections. */
static int
run_slice(struct target *tg, double secs, struct conn *conns, int nslice)
{
	static struct worker ws[MAX_THREADS];
	int nt = opt.threads, per = opt.conc / nt, extra = opt.conc % nt, next = 0;

	cur = tg;
	memset(ws, 0, sizeof(ws));
	pthread_barrier_init(&barrier, NULL, (unsigned)nt + 1);
	for (int t = 0; t < nt; t++) {
		struct worker *w = &ws[t];
		w->nconns = per + (t < extra);
		w->conns = conns + next;
		for (int i = 0; i < w->nconns; i++) {
			w->conns[i].fd = -1;
			w->conns[i].retries = 0;
			w->conns[i].parked = 0;
			w->conns[i].due_ns = 0;
			w->conns[i].id = (uint32_t)(next + i);
		}
		next += w->nconns;
		w->rng = (opt.seed + 1) * 0x9E3779B97F4A7C15ull +
			 (uint64_t)(nslice * MAX_THREADS + t + 1) * 0xBF58476D1CE4E5B9ull;
		if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
		    bench_pace_timer(w->ep, opt.rate, &w->tfd) < 0 ||
		    pthread_create(&w->tid, NULL, worker_main, w) != 0) {
			perror("policy_bench");
			exit(1);
		}
	}
	pthread_barrier_wait(&barrier);
	start_ns = now_ns();
	deadline_ns = start_ns + (uint64_t)(secs * 1e9);
	pthread_barrier_wait(&barrier);
	for (int t = 0; t < nt; t++) {
		pthread_join(ws[t].tid, NULL);
		close(ws[t].ep);
		if (ws[t].tfd >= 0)
			close(ws[t].tfd);
	}
	pthread_barrier_destroy(&barrier);
	if (atomic_load(&stop_now) && ws[0].done == 0)
		return -1;
	slice_merge(ws, nt);
	return 0;
}

int
main(int argc, char **argv)
{
	struct conn *conns;
	double left;
	int ch, emit = 0, rc = 0, nslice = 0;

	while ((ch = getopt(argc, argv, "s:c:t:d:i:n:A:N:f:WEL:S:R:")) != -1) {
		switch (ch) {
		case 's':
			parse_target(optarg);
			break;
		case 'E':
			emit = 1;
			break;
		case 'L':
			if (nlabels == MAX_TARGETS)
				usage();
			targets[nlabels++].label = optarg;
			break;
		default:
			if (!bench_opt_take(&opt, ch, optarg))
				usage();
		}
	}
	if (opt.accounts == 0)
		usage();
	if (emit) {
		emit_csv();
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (bench_opt_finish(&opt, ntargets) < 0)
		usage();
	for (int i = 0; i < ntargets; i++)
		if (targets[i].label == NULL)
			targets[i].label = "-";
	bench_signals();

	if ((conns = calloc((size_t)opt.conc, sizeof(*conns))) == NULL) {
		perror("policy_bench");
		return 1;
	}
	/* Slices alternate between the targets, so both see the same machine. */
	for (left = opt.seconds; left > 1e-9 && !atomic_load(&stop_now); left -= opt.slice)
		for (int t = 0; t < ntargets; t++)
			if (run_slice(&targets[t], left < opt.slice ? left : opt.slice, conns,
				      nslice++) < 0)
				return 1;
	for (int t = 0; t < ntargets; t++)
		rc |= report(&targets[t]);
	return rc;
}
