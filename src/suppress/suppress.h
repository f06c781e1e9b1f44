/*
 * suppress -- the suppression list: who must not be mailed, per account or
 * for everyone.
 *
 * An entry is (scope, target): scope "" is the global list, otherwise an
 * account name; target is an address or a whole domain written "@domain".
 * Normalisation (documented in README): surrounding <> and spaces are removed,
 * the whole address is lower-cased (domains are case-insensitive, and local
 * parts are treated case-insensitively, as every large mailbox provider does),
 * a trailing dot on the domain is dropped.  With fold_plus, a lookup of
 * "user+tag@d" also matches an entry for "user@d".  A domain entry matches
 * that exact domain, not its subdomains.  Expired entries never match.
 *
 * All functions work inside a store transaction the caller owns.
 */
#ifndef OUTPOST_SUPPRESS_H
#define OUTPOST_SUPPRESS_H

#include <stdint.h>

#include "store/records.h"
#include "store/store.h"

/* Normalise IN into OUT (ADDRESS_MAX).  0 on success, -1 if IN is not an address or @domain. */
int suppress_normalise(const char *in, char *out, size_t outlen);

struct suppress_hit {
	char scope[ACCOUNT_NAME_MAX]; /* "" for the global list */
	char target[ADDRESS_MAX];
	struct suppress_rec rec;
};

/*
 * Is normalised RECIPIENT suppressed for ACCOUNT (NULL: global list only)?
 * The account's list is checked before the global one.  STORE_OK with HIT
 * filled, STORE_NOTFOUND, or STORE_ERR.
 */
int suppress_check(struct store_txn *txn, const char *account, const char *recipient, int fold_plus,
		   int64_t now, struct suppress_hit *hit);

int suppress_get(struct store_txn *txn, const char *scope, const char *target,
		 struct suppress_rec *rec);
/* Add or refresh an entry; an existing entry keeps its first-seen time. */
int suppress_put(struct store_txn *txn, const char *scope, const char *target,
		 const struct suppress_rec *rec);
int suppress_del(struct store_txn *txn, const char *scope, const char *target);

/* FN is called for each entry of SCOPE (NULL: every scope), in key order; non-zero stops. */
typedef int (*suppress_scan_fn)(const char *scope, const char *target,
				const struct suppress_rec *rec, void *arg);
int suppress_scan(struct store_txn *txn, const char *scope, suppress_scan_fn fn, void *arg);
/* FN for TARGET's entry in every scope that holds it (one seek per scope). */
int suppress_find(struct store_txn *txn, const char *target, suppress_scan_fn fn, void *arg);
/* The same, starting just after the entry (AFTER_SCOPE, AFTER_TARGET) in key order: a
 * cursor that neither skips nor repeats when entries are added meanwhile. */
int suppress_scan_after(struct store_txn *txn, const char *scope, const char *after_scope,
			const char *after_target, suppress_scan_fn fn, void *arg);

#endif
