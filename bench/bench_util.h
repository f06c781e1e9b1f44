/*
 * bench_util -- what the load generators (policy_bench, milter_bench) share:
 * the clock, the random numbers, the log-linear latency histogram, request
 * writing with memcpy and integer formatting, the server address and the -R
 * pacing timer.  The hot helpers are static inline here, so the generators
 * stay as lean as when each had its own copy; the rest is in bench_util.c.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define MAX_CONNS 4096
#define MAX_THREADS 64
#define REPLY_TIMEOUT_NS (5 * 1000000000ull) /* a reply later than this is an error */
#define DRAIN_NS (10 * 1000000000ull)	     /* after the deadline, wait this long at most */

/* The workload's shape (policy_bench.c describes it). */
#define DOMAINS 100
#define GLOBAL_EVERY 10
#define MISS_SPACE 10000000u

/* Latency histogram: exact below 1024 ns, then 512 sub-buckets per power of two. */
#define H_SUB 512
#define H_EXACT 1024
#define H_BUCKETS (H_EXACT + (64 - 10) * H_SUB)

/* Monotonic time in ns. */
static inline uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: fast, good enough to pick accounts and recipients. */
static inline uint64_t
rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

/* The histogram bucket of a latency of NS ns. */
static inline unsigned
hist_bucket(uint64_t ns)
{
	int m;

	if (ns < H_EXACT)
		return (unsigned)ns;
	m = 63 - __builtin_clzll(ns); /* 2^m <= ns < 2^(m+1), m >= 10 */
	return H_EXACT + (unsigned)(m - 10) * H_SUB + (unsigned)((ns >> (m - 9)) - H_SUB);
}

/* A request or packet being written. */
struct out {
	char *p;
};

/* Append N bytes. */
static inline void
put(struct out *o, const char *s, size_t n)
{
	memcpy(o->p, s, n);
	o->p += n;
}

#define PUTS(o, lit) put((o), (lit), sizeof(lit) - 1)

/* Append V in decimal. */
static inline void
put_u(struct out *o, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n)
		*o->p++ = tmp[--n];
}

/* -R: when a connection's next request (message) is due; *DUE_NS 0: its first. */
static inline uint64_t
pace_due(uint64_t *due_ns, uint32_t id, uint64_t start, double rate, int conc)
{
	double gap = 1e9 / rate;

	if (*due_ns == 0)
		*due_ns = start + (uint64_t)((double)id * gap);
	else
		*due_ns += (uint64_t)(gap * conc);
	return *due_ns;
}

/* The options both generators take (-c -t -d -i -n -A -N -f -W -S -R). */
struct bench_opt {
	int conc, threads, warmup;
	double seconds, slice, hit_fraction;
	double rate;  /* -R: requests (messages) per second in all, 0: closed loop */
	uint64_t max; /* -n: requests (messages) in all, 0: no limit */
	uint64_t accounts, suppressed, seed;
};

#define BENCH_OPT_DEFAULTS                                                        \
	{                                                                         \
		.conc = 1, .threads = 1, .hit_fraction = 0.10, .accounts = 10000, \
		.suppressed = 1000000, .seed = 1                                  \
	}

/* Set when the run must stop: SIGINT, SIGTERM or a fatal error. */
extern atomic_int stop_now;

/* Take option CH with ARG into O; 0 if CH is not one of the shared options. */
int bench_opt_take(struct bench_opt *o, int ch, const char *arg);

/* Check the options against NTARGETS servers and settle the defaults; -1 if they do not fit. */
int bench_opt_finish(struct bench_opt *o, int ntargets);

/* SIGINT and SIGTERM set stop_now; SIGPIPE is ignored. */
void bench_signals(void);

/* Latency at quantile Q (0..1) in µs from the histogram HIST of TOTAL values. */
double percentile_us(const uint64_t *hist, uint64_t total, double q);

/* Parse HOST:PORT (IPv4) into ADDR; -1 if it has no port, exits if HOST is bad. */
int bench_parse_addr(const char *prog, const char *spec, struct sockaddr_in *addr);

/* -R: a pacing timer in epoll set EP (data.ptr NULL) in *TFD; none (-1) if RATE <= 0. */
int bench_pace_timer(int ep, double rate, int *tfd);

/* Send BUF[*OFF..LEN) on FD; on EAGAIN wait for EPOLLOUT too (epoll set EP, data.ptr PTR); -1 on
 * error. */
int bench_flush(int ep, int fd, void *ptr, const char *buf, size_t *off, size_t len);

/* -R: arm TFD for the absolute monotonic time NEXT (ns). */
void bench_pace_arm(int tfd, uint64_t next);

#endif
