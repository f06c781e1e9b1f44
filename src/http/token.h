/*
 * token -- API tokens for the HTTP API: created and revoked by outpostctl,
 * checked by the http process.
 *
 * A token is "opk_" followed by 64 hex digits of 32 bytes from getrandom().
 * Only its SHA-256 is stored (DB_TOKEN, keyed by the hash), so the store never
 * holds a usable token; with 256 random bits a plain hash needs no salt and no
 * slow KDF (nothing can be guessed).  A lookup is one LMDB get by hash.  A
 * token has a NAME (unique, for list and revoke), a scope (read or write) and
 * optionally an account it is bound to.
 *
 * Functions run inside a store transaction the caller owns and return the
 * store's codes.
 */
#ifndef OUTPOST_TOKEN_H
#define OUTPOST_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "store/records.h"
#include "store/store.h"

#define TOKEN_PREFIX "opk_"
#define TOKEN_TEXT_LEN (4 + 2 * TOKEN_HASH_LEN) /* without the NUL */

/* A valid token name: 1..63 of [A-Za-z0-9._@+-]. */
int token_name_valid(const char *name);
const char *token_scope_name(int scope);
int token_scope_parse(const char *name); /* -1 if unknown */

/* Make a new random token into TEXT (TOKEN_TEXT_LEN + 1 bytes); -1 if getrandom fails. */
int token_generate(char *text, size_t len);

/* Store REC under TEXT's hash.  STORE_NOTFOUND is never returned; the caller checks the
 * name is free with token_find_name(). */
int token_put(struct store_txn *txn, const char *text, const struct token_rec *rec);
/* The record of the token TEXT (as presented by a client): STORE_OK or STORE_NOTFOUND. */
int token_lookup(struct store_txn *txn, const char *text, struct token_rec *rec);
/* The token called NAME: STORE_OK or STORE_NOTFOUND. */
int token_find_name(struct store_txn *txn, const char *name, struct token_rec *rec);
/* Delete the token called NAME: STORE_OK or STORE_NOTFOUND. */
int token_revoke(struct store_txn *txn, const char *name);

typedef int (*token_scan_fn)(const struct token_rec *rec, void *arg);
int token_scan(struct store_txn *txn, token_scan_fn fn, void *arg);

#endif
