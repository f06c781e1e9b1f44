/*
 * log -- the one logging API of Outpost.
 *
 * Messages go to stderr (foreground) or syslog (daemon mode, facility mail by
 * default).  log_warn() appends strerror(errno), log_warnx() does not.
 * fatal() and fatalx() log and exit(1): for a broken environment at start.
 * log_bug() logs and aborts: for a broken invariant in our own code.
 * Never call these from a signal handler or inside an LMDB write transaction.
 */
#ifndef OUTPOST_LOG_H
#define OUTPOST_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Start logging as IDENT; to stderr when FOREGROUND, else to syslog FACILITY. */
void log_init(const char *ident, int foreground, int facility);
/* Change the process tag shown in each line (e.g. "worker", "master"). */
void log_procname(const char *name);
void log_verbose(int level);
int log_facility_parse(const char *name);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define log_bug(...) log_bug_at(__FILE__, __LINE__, __VA_ARGS__)
void log_bug_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

/*
 * A rate limit for messages one client can cause: at most BURST a second.
 * log_allow() returns 1 when this message may be logged; the number of
 * messages held back is reported with the next one allowed.
 */
struct log_rl {
	long second;
	unsigned count, burst;
	unsigned long suppressed;
};
#define LOG_RL_INIT(burst)       \
	{                        \
		0, 0, (burst), 0 \
	}
int log_allow(struct log_rl *rl);

/*
 * Copy at most DSTLEN-1 bytes of client-supplied SRC into DST, escaping
 * control characters, backslash and double quote, so a log line never carries
 * raw client bytes.  Returns DST.
 */
char *log_escape(char *dst, size_t dstlen, const char *src);

#endif
