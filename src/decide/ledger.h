/*
 * ledger -- the writes the decision path asks for, batched off the request
 * path.
 *
 * decide() never writes; the front door hands each verdict to ledger_note(),
 * which queues an account to auto-create or a message to record (queue id ->
 * account, recipients).  ledger_flush() writes the queue in one transaction,
 * outside the lock notes take; the policy worker and the milter call it from
 * a thread of their own every 100 ms (never on the request path) and before
 * they exit.  A note that finds the queue full is dropped and logged.  A crash loses at most one
 * batch of message records; an auto-created account lost that way is created again on its next
 * message. A message already recorded (the other front door saw it) is kept as it is, so a message
 * is counted once.
 */
#ifndef OUTPOST_LEDGER_H
#define OUTPOST_LEDGER_H

#include "decide/facts.h"
#include "store/store.h"

struct ledger;

struct ledger *ledger_create(struct store *st, size_t max_pending);
void ledger_destroy(struct ledger *l);
/* Queue what verdict V asks for; returns 1 when the queue is full and should be flushed. */
int ledger_note(struct ledger *l, const struct facts *f, const struct verdict *v);
/* Write the queue; 0 on success, -1 (logged) on a store failure (the queue is kept). */
int ledger_flush(struct ledger *l);
size_t ledger_pending(const struct ledger *l);

#endif
