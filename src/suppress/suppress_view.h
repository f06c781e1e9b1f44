/*
 * suppress_view -- suppression entries as JSON and bulk writes: the one
 * implementation behind `outpostctl suppress show|list|import` and the HTTP
 * API's /v1/suppression paths.
 */
#ifndef OUTPOST_SUPPRESS_VIEW_H
#define OUTPOST_SUPPRESS_VIEW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "store/records.h"
#include "store/store.h"
#include "suppress/suppress_io.h"

/* One entry as `suppress show --json` prints it (a new reference). */
json_t *suppress_entry_json(const char *scope, const char *target, const struct suppress_rec *r);

/* Write entries E[0..N-1] (import) inside the caller's write transaction, first seen NOW. */
int suppress_put_batch(struct store_txn *txn, const struct sio_entry *e, size_t n, int64_t now);

#endif
