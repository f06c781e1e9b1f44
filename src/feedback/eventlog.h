/*
 * eventlog -- Outpost's events out: one JSON object a line in the event log
 * (feedback.event_log), and the hook command (feedback.hook) for the events
 * an operator wants to be woken up by.
 *
 * The line is exactly the CONTRACTS.md schema, keys in this order:
 *   ts        RFC 3339 UTC with milliseconds, "2024-11-05T14:03:07.123Z"
 *   type      send, refusal, delivery, bounce, complaint, delay, state,
 *             suppress, listing, delisting
 *   account, recipient, queue_id   null when not known
 *   node      this host's name
 * then only the fields the event has: class, dsn, reason, from, to, rate
 * (percent), window (an object: eligible, delivered, hard_bounces,
 * complaints, span_days); listing and delisting: address (ours), list (its
 * name), zone, code (the answers, "127.0.0.2 127.0.0.4"; of a delisting: the
 * listing that ended) and meaning ("SBL, XBL").
 *
 * Who writes: the feedback process (delivery, bounce, complaint, delay,
 * suppress, state from the log), outpostctl (the same from `ingest dsn|arf`
 * and `event ...`, and the state changes they cause), and the front door
 * that counts quotas (the simulator's complaint at END-OF-MESSAGE).  Each
 * process appends with O_APPEND, one write(2) a line, so lines of different
 * processes never interleave.  Rotation: a writer looks at the path at most
 * once a second and reopens it when the file was renamed or removed
 * (logrotate's create mode works; copytruncate works too, O_APPEND writes
 * at the new end).
 *
 * Hooks run for state, listing and delisting events (event_hooked()), see
 * hook.h.  event_emit() is thread-safe (the milter is threaded).
 */
#ifndef OUTPOST_EVENTLOG_H
#define OUTPOST_EVENTLOG_H

#include <jansson.h>
#include <stdint.h>

#include "conf/conf.h"

struct outpost_event {
	const char *type;
	int64_t ts_ms;				    /* 0: now */
	const char *account, *recipient, *queue_id; /* NULL or "": null */
	const char *cls, *dsn, *reason, *from, *to; /* NULL: left out */
	int has_rate;
	double rate;	/* percent */
	int recipients; /* send: the message's recipients; 0: left out */
	json_t *window; /* borrowed; NULL: left out */
	const char *address, *list, *zone, *code, *meaning; /* listing, delisting; NULL: left out */
};

/* The event as a JSON object (the caller owns it); NODE NULL: this host's name. */
json_t *event_json(const struct outpost_event *ev, const char *node);
/* This host's name, as events carry it. */
const char *event_node(void);
/* Types a hook hears: state, listing, delisting. */
int event_hooked(const char *type);

/* An event log file; NULL path or "" gives NULL (off): every function takes NULL. */
struct eventlog *eventlog_open(const char *path);
void eventlog_close(struct eventlog *el);
/* Append LINE (no newline in it) plus '\n'; reopens a rotated file first.  0 or -1 (logged). */
int eventlog_write(struct eventlog *el, const char *line);

/*
 * Write EV to CONF's event log (opened on first use, and again when the path
 * changes) and hand it to the hook if its type is hooked: through the runner
 * set with event_set_hook_runner(), else detached (hook_detached()).
 */
void event_emit(const struct conf *conf, const struct outpost_event *ev);
/* An operator's state change of ACCOUNT (outpostctl, the HTTP API), as a state event. */
void event_state_change(const struct conf *conf, const char *account, int from, int to,
			const char *reason);
/* The mailbox simulator: N complaint events for ACCOUNT's message QUEUE_ID (END-OF-MESSAGE). */
void event_simulator_complaints(const struct conf *conf, const char *account, const char *queue_id,
				unsigned n);
typedef void (*event_hook_fn)(const char *type, const char *account, const char *json, void *arg);
void event_set_hook_runner(event_hook_fn fn, void *arg);

#endif
