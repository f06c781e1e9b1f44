/*
 * account -- sending accounts: their state (active, review, paused), the
 * history of every state change, and per-account settings.
 *
 * Names are 1..127 bytes of [A-Za-z0-9._@+-] (a SASL login is a valid name).
 * Every state change records who made it ("operator:USER", "rule:NAME",
 * "auto-create") and why.  Settings are a small key=value table per account
 * (account_settings[] lists the keys `outpostctl account set` accepts); the
 * decision path reads them directly, so a change applies to the next request.
 * All functions run inside a store transaction the caller owns.
 */
#ifndef OUTPOST_ACCOUNT_H
#define OUTPOST_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "store/records.h"
#include "store/store.h"

int account_name_valid(const char *name);

int account_get(struct store_txn *txn, const char *name, struct account_rec *rec);
/* Create (or overwrite) NAME as an active account; callers check existence first. */
int account_create(struct store_txn *txn, const char *name, const char *by, const char *reason,
		   int64_t now);
/* Move NAME to STATE, recording a history entry.  STORE_NOTFOUND if there is no such account. */
int account_set_state(struct store_txn *txn, const char *name, int state, const char *by,
		      const char *reason, int64_t now);
/* Delete the account with its settings, history and identity mappings. */
int account_delete(struct store_txn *txn, const char *name);

typedef int (*account_scan_fn)(const char *name, const struct account_rec *rec, void *arg);
int account_scan(struct store_txn *txn, account_scan_fn fn, void *arg);

typedef int (*history_scan_fn)(const struct history_rec *rec, void *arg);
int account_history_scan(struct store_txn *txn, const char *name, history_scan_fn fn, void *arg);

/* Per-account settings. */
struct account_setting {
	const char *name;
	const char *values; /* "enforce|monitor" style choice list, or NULL */
	const char *help;
	/* A check of the value beyond a choice list: 0 ok, -1 with a reason in ERR. */
	int (*check)(const char *value, char *err, size_t errlen);
};
extern const struct account_setting account_settings[];
const struct account_setting *account_setting_find(const char *name);
/* Check VALUE for setting NAME; 0 ok, -1 with a reason in ERR. */
int account_setting_check(const char *name, const char *value, char *err, size_t errlen);
int account_setting_get(struct store_txn *txn, const char *name, const char *key, char *buf,
			size_t len);
/* VALUE NULL deletes the setting (back to the default). */
int account_setting_put(struct store_txn *txn, const char *name, const char *key,
			const char *value);
typedef int (*setting_scan_fn)(const char *key, const char *value, void *arg);
int account_setting_scan(struct store_txn *txn, const char *name, setting_scan_fn fn, void *arg);

#endif
