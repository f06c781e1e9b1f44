/* bench_util -- the cold half of what the load generators share (bench_util.h). */
#define _GNU_SOURCE
#include "bench_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

atomic_int stop_now;

/* Take option CH with ARG into O; 0 if CH is not one of the shared options. */
int
bench_opt_take(struct bench_opt *o, int ch, const char *arg)
{
	switch (ch) {
	case 'c':
		o->conc = atoi(arg);
		break;
	case 't':
		o->threads = atoi(arg);
		break;
	case 'd':
		o->seconds = atof(arg);
		break;
	case 'i':
		o->slice = atof(arg);
		break;
	case 'n':
		o->max = strtoull(arg, NULL, 10);
		break;
	case 'A':
		o->accounts = strtoull(arg, NULL, 10);
		break;
	case 'N':
		o->suppressed = strtoull(arg, NULL, 10);
		break;
	case 'f':
		o->hit_fraction = atof(arg);
		break;
	case 'W':
		o->warmup = 1;
		break;
	case 'S':
		o->seed = strtoull(arg, NULL, 10);
		break;
	case 'R':
		o->rate = atof(arg);
		break;
	default:
		return 0;
	}
	return 1;
}

/* Check the options (NTARGETS servers); then -W, -d, -i and -t get their defaults and bounds. */
int
bench_opt_finish(struct bench_opt *o, int ntargets)
{
	if (ntargets == 0 || o->accounts == 0 || o->conc < 1 || o->conc > MAX_CONNS ||
	    o->threads < 1 || o->threads > MAX_THREADS || o->seconds < 0 || o->slice < 0 ||
	    o->hit_fraction < 0 || o->hit_fraction > 1 || o->rate < 0 ||
	    (ntargets > 1 && (o->max || o->warmup)))
		return -1;
	if (o->warmup && o->max == 0)
		o->max = o->accounts;
	if (o->seconds == 0)
		o->seconds = o->max ? 3600 : 10; /* -n alone: still bounded */
	if (ntargets == 1)
		o->slice = o->seconds;
	else if (o->slice == 0)
		o->slice = 1;
	if (o->threads > o->conc)
		o->threads = o->conc;
	return 0;
}

/* SIGINT, SIGTERM: stop the run. */
static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_now, 1);
}

/* SIGINT and SIGTERM set stop_now; SIGPIPE is ignored. */
void
bench_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The smallest value that falls in bucket B. */
static uint64_t
hist_value(unsigned b)
{
	unsigned m;

	if (b < H_EXACT)
		return b;
	m = (b - H_EXACT) / H_SUB + 10;
	return ((uint64_t)((b - H_EXACT) % H_SUB) + H_SUB) << (m - 9);
}

/* Latency at quantile Q (0..1) in µs from the merged histogram. */
double
percentile_us(const uint64_t *hist, uint64_t total, double q)
{
	uint64_t want = (uint64_t)ceil(q * (double)total), seen = 0;

	if (want == 0)
		want = 1;
	for (unsigned b = 0; b < H_BUCKETS; b++) {
		seen += hist[b];
		if (seen >= want)
			return (double)hist_value(b) / 1000.0;
	}
	return 0;
}

/* HOST:PORT into ADDR; -1 without a colon or with a host too long, exit(2) on a bad host. */
int
bench_parse_addr(const char *prog, const char *spec, struct sockaddr_in *addr)
{
	char host[64];
	const char *colon = strrchr(spec, ':');

	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	addr->sin_family = AF_INET;
	addr->sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &addr->sin_addr) != 1) {
		fprintf(stderr, "%s: '%s' is not an IPv4 address\n", prog, host);
		exit(2);
	}
	return 0;
}

/* -R: the pacing timer, in epoll set EP with data.ptr NULL; without -R none (-1). */
int
bench_pace_timer(int ep, double rate, int *tfd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

	*tfd = -1;
	if (rate <= 0)
		return 0;
	if ((*tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
		return -1;
	return epoll_ctl(ep, EPOLL_CTL_ADD, *tfd, &ev);
}

/* -R: wake at NEXT (absolute, CLOCK_MONOTONIC ns). */
void
bench_pace_arm(int tfd, uint64_t next)
{
	struct itimerspec its = {{0, 0}, {0, 0}};

	its.it_value.tv_sec = (time_t)(next / 1000000000u);
	its.it_value.tv_nsec = (long)(next % 1000000000u);
	timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Push BUF[*OFF..LEN) out; when the socket is full, ask for EPOLLOUT as well.  -1 on error. */
int
bench_flush(int ep, int fd, void *ptr, const char *buf, size_t *off, size_t len)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ptr};

	while (*off < len) {
		ssize_t n = send(fd, buf + *off, len - *off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			ev.events = EPOLLIN | EPOLLOUT;
			return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
		}
		if (n <= 0)
			return -1;
		*off += (size_t)n;
	}
	return 0;
}
