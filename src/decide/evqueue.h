/*
 * evqueue -- the front doors' events (refusal, send), written to the event
 * log off the request path.
 *
 * The policy workers and the milter decide in microseconds and must never
 * wait on a file.  evqueue_note() copies what the verdict says into a bounded
 * queue (nothing at all when feedback.event_log is off); the same thread that
 * flushes the ledger calls evqueue_flush() every 100 ms and appends the lines
 * with event_emit().  A full queue drops the event and counts it (logged,
 * rate-limited): the event log is an audit trail, not a source of truth.
 *
 * What is written:
 *   refusal  every refusal (tempfail, reject, hold) of a message, with the
 *            rule in `class`, the enhanced status in `dsn`, the reply text in
 *            `reason`; one per refused recipient at RCPT;
 *   send     every message accepted at END-OF-MESSAGE for an account, by the
 *            front door that counts (quota.front_door), once per message,
 *            with `recipients` (the count Postfix accepted): the policy
 *            service's END-OF-MESSAGE request carries no recipient list.
 */
#ifndef OUTPOST_EVQUEUE_H
#define OUTPOST_EVQUEUE_H

#include <stddef.h>

#include "conf/conf.h"
#include "decide/facts.h"

struct evqueue;

struct evqueue *evqueue_create(size_t max);
void evqueue_destroy(struct evqueue *q);
/* Queue the event verdict V of F makes, if any (thread-safe). */
void evqueue_note(struct evqueue *q, const struct conf *conf, const struct facts *f,
		  const struct verdict *v);
/* Append what is queued to CONF's event log (one thread at a time). */
void evqueue_flush(struct evqueue *q, const struct conf *conf);

#endif
