/* log -- stderr or syslog, printf-checked, see log.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_to_stderr = 1;
static int log_level = LOG_LVL_INFO;
static char log_proc[32] = "";
static char log_ident[32] = "outpost";

void
log_init(const char *ident, int foreground, int facility)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_to_stderr = foreground;
	if (!foreground)
		openlog(log_ident, LOG_PID | LOG_NDELAY, facility);
}

void
log_procname(const char *name)
{
	snprintf(log_proc, sizeof(log_proc), "%s", name);
}

void
log_verbose(int level)
{
	log_level = level;
}

/* Map a syslog facility name ("mail", "local0".."local7", "daemon") to its code, -1 if unknown. */
int
log_facility_parse(const char *name)
{
	static const struct {
		const char *name;
		int code;
	} tab[] = {
	    {"mail", LOG_MAIL},	    {"daemon", LOG_DAEMON}, {"user", LOG_USER},
	    {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
	    {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
	    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(tab[i].name, name) == 0)
			return tab[i].code;
	return -1;
}

static void
log_emit(int lvl, const char *fmt, va_list ap, const char *suffix)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	static const char *tag[] = {"error: ", "warning: ", "", "debug: "};
	char msg[4096];

	if (lvl > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_to_stderr) {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s[%ld]%s%s: %s%s%s%s\n", when, ts.tv_nsec / 1000000,
			log_ident, (long)getpid(), log_proc[0] ? " " : "", log_proc, tag[lvl], msg,
			suffix ? ": " : "", suffix ? suffix : "");
	} else {
		syslog(prio[lvl], "%s%s%s%s%s%s", log_proc, log_proc[0] ? ": " : "", tag[lvl], msg,
		       suffix ? ": " : "", suffix ? suffix : "");
	}
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_emit(LOG_LVL_WARN, fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LVL_WARN, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LVL_INFO, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LVL_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_emit(LOG_LVL_ERR, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LVL_ERR, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

void
log_bug_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	char where[128];

	snprintf(where, sizeof(where), "bug at %s:%d", file, line);
	va_start(ap, fmt);
	log_emit(LOG_LVL_ERR, fmt, ap, where);
	va_end(ap);
	abort();
}

int
log_allow(struct log_rl *rl)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ts.tv_sec != rl->second) {
		if (rl->suppressed)
			log_warnx("%lu similar messages were not logged", rl->suppressed);
		rl->second = ts.tv_sec;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count < rl->burst) {
		rl->count++;
		return 1;
	}
	rl->suppressed++;
	return 0;
}

char *
log_escape(char *dst, size_t dstlen, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; src && *src && o + 5 < dstlen; src++) {
		unsigned char c = (unsigned char)*src;
		if (c < 0x20 || c == 0x7f) {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		} else if (c == '\\' || c == '"') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else {
			dst[o++] = (char)c;
		}
	}
	if (src && *src && o + 4 <= dstlen) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	if (dstlen)
		dst[o < dstlen ? o : dstlen - 1] = '\0';
	return dst;
}
