/*
 * eventlog_read -- the newest events of an event log (eventlog.h), for the
 * HTTP API's GET /v1/events: the current file read from its end backwards
 * in fixed chunks, so memory stays bounded whatever the file's size.
 *
 * The log is in time order up to the few milliseconds between a writer
 * stamping an event and its write(2); the reader therefore stops EVENTLOG_SLACK_MS
 * before SINCE, not at it.  It reads at most SCAN_MAX bytes from the end and
 * says so (*TRUNCATED_R) when older matching events may lie before that.
 * Lines longer than EVENTLOG_LINE_MAX, not JSON objects, or cut short (a
 * writer's line still being written at the end) are skipped.  Rotated
 * files are not read: only the path as it is now.
 */
#ifndef OUTPOST_EVENTLOG_READ_H
#define OUTPOST_EVENTLOG_READ_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define EVENTLOG_LINE_MAX (64 << 10)
#define EVENTLOG_SLACK_MS 60000

struct eventlog_filter {
	const char *account; /* NULL: every account (and events without one) */
	unsigned types;	     /* a bit per event_type_parse() index; 0: every type */
	int64_t since_ms;    /* 0: no lower bound */
	size_t limit;	     /* events at most (> 0) */
	size_t scan_max;     /* bytes read from the end at most */
};

/* The index of the event type NAME (CONTRACTS.md's list: send .. delisting), or -1. */
int event_type_parse(const char *name);

/*
 * The newest LIMIT events of the log at PATH that pass F, oldest first, into
 * *EVENTS_R (a new JSON array).  A missing file has no events.  0 ok; -1 when
 * the file cannot be read (errno set, nothing returned).
 */
int eventlog_recent(const char *path, const struct eventlog_filter *f, json_t **events_r,
		    int *truncated_r);

#endif
