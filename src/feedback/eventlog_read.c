/* eventlog_read -- the newest events of an event log, read backwards; see eventlog_read.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eventlog_read.h"
#include "util/text.h"
#include "util/xalloc.h"

#define CHUNK (64 << 10)
#define TS_LEN 24 /* "2024-11-05T14:03:07.123Z" */
#define TS_AT 7	  /* after {"ts":" */

static const char *const types[] = {"send",  "refusal", "delivery", "bounce",  "complaint",
				    "delay", "state",	"suppress", "listing", "delisting"};

int
event_type_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(name, types[i]) == 0)
			return (int)i;
	return -1;
}

struct reader {
	const struct eventlog_filter *f;
	char since[TS_LEN + 1], stop[TS_LEN + 1]; /* "" when no SINCE */
	char account_pat[160];			  /* "account":"NAME" */
	json_t *newest_first;
	int done;
};

/* The line's "type" value is one F asks for (cheap: before any parsing). */
static int
type_wanted(const struct reader *rd, const char *line, size_t len)
{
	const char *p = memmem(line, len, "\"type\":\"", 8), *q;
	char name[16];

	if (rd->f->types == 0)
		return 1;
	if (p == NULL)
		return 0;
	p += 8;
	q = memchr(p, '"', len - (size_t)(p - line));
	if (q == NULL || (size_t)(q - p) >= sizeof(name))
		return 0;
	memcpy(name, p, (size_t)(q - p));
	name[q - p] = '\0';
	return event_type_parse(name) >= 0 && (rd->f->types >> event_type_parse(name) & 1);
}

/* The parsed event passes F exactly (the cheap checks may let a near miss through). */
static int
event_wanted(const struct reader *rd, json_t *o)
{
	const char *type = json_string_value(json_object_get(o, "type"));
	const char *acct = json_string_value(json_object_get(o, "account"));
	int t = type ? event_type_parse(type) : -1;

	if (!json_is_object(o) || type == NULL)
		return 0;
	if (rd->f->types && (t < 0 || !(rd->f->types >> t & 1)))
		return 0;
	return rd->f->account == NULL || (acct && strcmp(acct, rd->f->account) == 0);
}

/* One complete line, newest first: stop before SINCE, filter, keep. */
static void
reader_line(struct reader *rd, const char *line, size_t len)
{
	json_t *o;

	if (len < TS_AT + TS_LEN || memcmp(line, "{\"ts\":\"", TS_AT) != 0)
		return;
	if (rd->since[0] && memcmp(line + TS_AT, rd->stop, TS_LEN) < 0) {
		rd->done = 1;
		return;
	}
	if (rd->since[0] && memcmp(line + TS_AT, rd->since, TS_LEN) < 0)
		return;
	if (rd->f->account && memmem(line, len, rd->account_pat, strlen(rd->account_pat)) == NULL)
		return;
	if (!type_wanted(rd, line, len) || (o = json_loadb(line, len, 0, NULL)) == NULL)
		return;
	if (event_wanted(rd, o))
		json_array_append(rd->newest_first, o);
	json_decref(o);
	if (json_array_size(rd->newest_first) >= rd->f->limit)
		rd->done = 1;
}

/*
 * Read FD backwards in CHUNKs.  BUF holds the chunk just read, followed by
 * the TAIL bytes after it whose line began in that chunk or earlier.  Bytes
 * after the file's last newline, and lines longer than EVENTLOG_LINE_MAX,
 * are skipped (SKIP: the pending text is not a line to keep).
 */
static int
reader_run(struct reader *rd, int fd, off_t size, int *truncated_r)
{
	char *buf = xmalloc(CHUNK + EVENTLOG_LINE_MAX);
	off_t pos = size;
	size_t tail = 0;
	int skip = 1, rc = 0;

	while (pos > 0 && !rd->done) {
		size_t n = pos < CHUNK ? (size_t)pos : CHUNK, left;
		char *s, *q = buf + CHUNK + tail;
		ssize_t got;

		if ((size_t)(size - pos) >= rd->f->scan_max)
			break;
		left = rd->f->scan_max - (size_t)(size - pos);
		n = n < left ? n : left;
		s = buf + CHUNK - n;
		pos -= (off_t)n;
		if ((got = pread(fd, s, n, pos)) != (ssize_t)n) {
			rc = got < 0 ? -1 : 0; /* short: truncated meanwhile (copytruncate) */
			pos = 0;
			skip = 1;
			break;
		}
		for (char *p = q - 1; p >= s && !rd->done; p--) {
			if (*p != '\n')
				continue;
			if (!skip)
				reader_line(rd, p + 1, (size_t)(q - p - 1));
			skip = 0;
			q = p;
		}
		tail = (size_t)(q - s);
		if (tail > EVENTLOG_LINE_MAX) {
			tail = 0;
			skip = 1;
		} else {
			memmove(buf + CHUNK, s, tail);
		}
	}
	if (rc == 0 && pos == 0 && !rd->done && !skip && tail > 0)
		reader_line(rd, buf + CHUNK, tail); /* the file's first line */
	*truncated_r = rc == 0 && pos > 0 && !rd->done;
	free(buf);
	return rc;
}

/* The array, oldest first. */
static json_t *
reversed(json_t *a)
{
	json_t *r = json_array();

	for (size_t i = json_array_size(a); i > 0; i--)
		json_array_append(r, json_array_get(a, i - 1));
	return r;
}

int
eventlog_recent(const char *path, const struct eventlog_filter *f, json_t **events_r,
		int *truncated_r)
{
	struct reader rd = {.f = f};
	struct stat st;
	int fd, rc = -1, saved;

	*events_r = NULL;
	*truncated_r = 0;
	if (f->since_ms > 0) {
		text_time_format_ms(f->since_ms, rd.since, sizeof(rd.since));
		text_time_format_ms(
		    f->since_ms > EVENTLOG_SLACK_MS ? f->since_ms - EVENTLOG_SLACK_MS : 1, rd.stop,
		    sizeof(rd.stop));
	}
	if (f->account)
		snprintf(rd.account_pat, sizeof(rd.account_pat), "\"account\":\"%s\"", f->account);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			return -1;
		*events_r = json_array();
		return 0;
	}
	rd.newest_first = json_array();
	if (fstat(fd, &st) == 0)
		rc = reader_run(&rd, fd, st.st_size, truncated_r);
	saved = errno;
	close(fd);
	if (rc == 0)
		*events_r = reversed(rd.newest_first);
	json_decref(rd.newest_first);
	errno = saved;
	return rc;
}
