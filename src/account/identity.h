/*
 * identity -- which account a message belongs to.
 *
 * Sources are tried in the configured order (accounts.identity); the first
 * that matches wins:
 *   sasl            the SASL login: a mapping "sasl:LOGIN" if there is one,
 *                   else the account of the same name;
 *   sender          a mapping "sender:ADDRESS" (normalised like suppression);
 *   sender_domain   a mapping "domain:DOMAIN";
 *   client_address  a mapping "cidr:NETWORK", longest prefix first.
 * Mappings live in DB_IDENTITY, key "KIND:VALUE" -> account name.
 */
#ifndef OUTPOST_IDENTITY_H
#define OUTPOST_IDENTITY_H

#include "conf/conf.h"
#include "store/records.h"
#include "store/store.h"

struct identity_in {
	const char *sasl_username;
	const char *sender;
	const char *client_address;
};

enum identity_how {
	IDH_NONE = 0, /* nothing matched */
	IDH_LOGIN,    /* sasl login used as the account name (may not exist yet) */
	IDH_MAPPING,  /* a mapping named the account */
};

struct identity_out {
	int how;
	int source; /* enum id_source that matched */
	char account[ACCOUNT_NAME_MAX];
};

/* STORE_OK (OUT filled, how may be IDH_NONE) or STORE_ERR. */
int identity_resolve(struct store_txn *txn, const struct conf *conf, const struct identity_in *in,
		     struct identity_out *out);

/* Turn "sasl:LOGIN", "sender:ADDR", "domain:DOM" or "cidr:NET" into its store key.
 * Returns the key length, 0 with ERR filled when the spec is malformed. */
size_t identity_key(const char *spec, char *key, size_t keylen, char *err, size_t errlen);
/* Format a store key back into its "kind:value" spec. */
void identity_spec(const void *key, size_t klen, char *spec, size_t speclen);

int identity_map(struct store_txn *txn, const char *key, size_t klen, const char *account);
/* STORE_NOTFOUND if the mapping was not there. */
int identity_unmap(struct store_txn *txn, const char *key, size_t klen);
int identity_get(struct store_txn *txn, const char *key, size_t klen, char *account, size_t len);
int identity_unmap_account(struct store_txn *txn, const char *account);

/* FN for each mapping (of ACCOUNT if not NULL): its spec and its account. */
typedef int (*identity_scan_fn)(const char *spec, const char *account, void *arg);
int identity_scan(struct store_txn *txn, const char *account, identity_scan_fn fn, void *arg);

#endif
