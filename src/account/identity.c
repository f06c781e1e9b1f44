/*
 * identity -- ordered identity sources and the mapping table; see identity.h.
 *
 * CIDR keys are "cidr:" + family byte (4 or 6) + prefix byte + network bytes,
 * so a lookup tries each prefix length in use, longest first; the lengths in
 * use are kept as a bitmap in DB_META ("cidr_prefixes") rebuilt on each
 * map/unmap of a network.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "account/account.h"
#include "suppress/suppress.h"
#include "util/addr.h"
#include "util/text.h"
#include "util/xalloc.h"

#define CIDR_BITMAP "cidr_prefixes"
#define CIDR_BITS (33 + 129)

static size_t
cidr_key(const struct ipnet *net, char *key, size_t len)
{
	size_t bytes = net->family == AF_INET ? 4 : 16;

	if (len < 7 + bytes)
		return 0;
	memcpy(key, "cidr:", 5);
	key[5] = net->family == AF_INET ? 4 : 6;
	key[6] = (char)net->prefix;
	memcpy(key + 7, net->bytes, bytes);
	return 7 + bytes;
}

size_t
identity_key(const char *spec, char *key, size_t keylen, char *err, size_t errlen)
{
	const char *colon = strchr(spec, ':');
	char norm[ADDRESS_MAX];
	struct ipnet net;
	size_t n;

	if (colon == NULL) {
		snprintf(err, errlen,
			 "'%s': expected sasl:LOGIN, sender:ADDRESS, domain:DOMAIN "
			 "or cidr:NETWORK",
			 spec);
		return 0;
	}
	n = (size_t)(colon - spec);
	if (n == 4 && strncmp(spec, "cidr", 4) == 0) {
		if (addr_net_parse(colon + 1, &net) < 0) {
			snprintf(err, errlen, "'%s': not an IP network", colon + 1);
			return 0;
		}
		return cidr_key(&net, key, keylen);
	}
	if (n == 4 && strncmp(spec, "sasl", 4) == 0) {
		if (!text_is_token(colon + 1, ADDRESS_MAX - 1)) {
			snprintf(err, errlen, "'%s': not a valid login", colon + 1);
			return 0;
		}
		text_copy(norm, sizeof(norm), colon + 1);
	} else if (n == 6 && strncmp(spec, "sender", 6) == 0) {
		if (suppress_normalise(colon + 1, norm, sizeof(norm)) < 0 || norm[0] == '@') {
			snprintf(err, errlen, "'%s': not an address", colon + 1);
			return 0;
		}
	} else if (n == 6 && strncmp(spec, "domain", 6) == 0) {
		char tmp[ADDRESS_MAX + 1];
		snprintf(tmp, sizeof(tmp), "@%s", colon[1] == '@' ? colon + 2 : colon + 1);
		/* "domain:a@b" would never match: lookups use the part after the last '@'. */
		if (suppress_normalise(tmp, norm, sizeof(norm)) < 0 || strchr(norm + 1, '@')) {
			snprintf(err, errlen, "'%s': not a domain", colon + 1);
			return 0;
		}
		memmove(norm, norm + 1, strlen(norm));
	} else {
		snprintf(err, errlen, "'%.*s': unknown kind (sasl, sender, domain, cidr)", (int)n,
			 spec);
		return 0;
	}
	if ((size_t)snprintf(key, keylen, "%.*s:%s", (int)n, spec, norm) >= keylen) {
		snprintf(err, errlen, "'%s': too long", spec);
		return 0;
	}
	return strlen(key);
}

void
identity_spec(const void *key, size_t klen, char *spec, size_t speclen)
{
	const char *k = key;

	if (klen >= 7 && memcmp(k, "cidr:", 5) == 0) {
		struct ipnet net = {.family = k[5] == 4 ? AF_INET : AF_INET6,
				    .prefix = (uint8_t)k[6]};
		char buf[INET6_ADDRSTRLEN + 8];
		memcpy(net.bytes, k + 7, klen - 7 > 16 ? 16 : klen - 7);
		snprintf(spec, speclen, "cidr:%s", addr_net_format(&net, buf, sizeof(buf)));
		return;
	}
	snprintf(spec, speclen, "%.*s", (int)klen, k);
}

int
identity_get(struct store_txn *txn, const char *key, size_t klen, char *account, size_t len)
{
	struct store_val v;
	int rc = store_get(txn, DB_IDENTITY, key, klen, &v);

	if (rc != STORE_OK)
		return rc;
	if (v.len == 0 || v.len >= len)
		return STORE_ERR;
	memcpy(account, v.data, v.len);
	account[v.len] = '\0';
	return STORE_OK;
}

static int
set_bit(const struct store_val *k, const struct store_val *v, void *arg)
{
	uint8_t *bits = arg;
	const uint8_t *key = k->data;
	int idx;

	if (k->len < 7)
		return 0;
	idx = key[5] == 4 ? key[6] : 33 + key[6];
	if (idx < CIDR_BITS)
		bits[idx] = 1;
	return 0;
}

/* Rebuild the bitmap of prefix lengths in use. */
static int
cidr_bitmap_rebuild(struct store_txn *txn)
{
	uint8_t bits[CIDR_BITS] = {0};
	int rc = store_scan(txn, DB_IDENTITY, "cidr:", 5, NULL, 0, set_bit, bits);

	if (rc != STORE_OK)
		return rc;
	return store_put(txn, DB_META, CIDR_BITMAP, strlen(CIDR_BITMAP), bits, sizeof(bits));
}

int
identity_map(struct store_txn *txn, const char *key, size_t klen, const char *account)
{
	int rc = store_put(txn, DB_IDENTITY, key, klen, account, strlen(account));

	if (rc == STORE_OK && klen > 5 && memcmp(key, "cidr:", 5) == 0)
		rc = cidr_bitmap_rebuild(txn);
	return rc;
}

int
identity_unmap(struct store_txn *txn, const char *key, size_t klen)
{
	int rc = store_del(txn, DB_IDENTITY, key, klen);

	if (rc == STORE_OK && klen > 5 && memcmp(key, "cidr:", 5) == 0)
		rc = cidr_bitmap_rebuild(txn);
	return rc;
}

/* Longest-prefix match of CLIENT over the networks mapped. */
static int
resolve_cidr(struct store_txn *txn, const char *client, char *account, size_t len)
{
	struct store_val bm;
	struct ipnet ip;
	const uint8_t *bits;
	int rc, base, maxp;

	if (client == NULL || addr_ip_parse(client, &ip) < 0)
		return STORE_NOTFOUND;
	rc = store_get(txn, DB_META, CIDR_BITMAP, strlen(CIDR_BITMAP), &bm);
	if (rc != STORE_OK || bm.len != CIDR_BITS)
		return rc == STORE_ERR ? rc : STORE_NOTFOUND;
	bits = bm.data;
	base = ip.family == AF_INET ? 0 : 33;
	maxp = ip.family == AF_INET ? 32 : 128;
	for (int p = maxp; p >= 0; p--) {
		struct ipnet net = ip;
		char key[32];
		size_t kl;
		if (!bits[base + p])
			continue;
		addr_net_mask(&net, p);
		kl = cidr_key(&net, key, sizeof(key));
		rc = identity_get(txn, key, kl, account, len);
		if (rc != STORE_NOTFOUND)
			return rc;
	}
	return STORE_NOTFOUND;
}

/* Look up the mapping "KIND:VALUE". */
static int
resolve_mapping(struct store_txn *txn, const char *kind, const char *value, char *account,
		size_t len)
{
	char key[ADDRESS_MAX + 16];

	if (value == NULL || *value == '\0')
		return STORE_NOTFOUND;
	if ((size_t)snprintf(key, sizeof(key), "%s:%s", kind, value) >= sizeof(key))
		return STORE_NOTFOUND;
	return identity_get(txn, key, strlen(key), account, len);
}

/* Try one source; STORE_OK fills OUT. */
static int
resolve_source(struct store_txn *txn, int src, const struct identity_in *in,
	       struct identity_out *out)
{
	char norm[ADDRESS_MAX];
	const char *at;
	int rc;

	switch (src) {
	case ID_SASL:
		if (in->sasl_username == NULL || *in->sasl_username == '\0')
			return STORE_NOTFOUND;
		rc = resolve_mapping(txn, "sasl", in->sasl_username, out->account,
				     sizeof(out->account));
		if (rc != STORE_NOTFOUND)
			return rc;
		if (!account_name_valid(in->sasl_username))
			return STORE_NOTFOUND;
		text_copy(out->account, sizeof(out->account), in->sasl_username);
		out->how = IDH_LOGIN;
		return STORE_OK;
	case ID_SENDER:
	case ID_SENDER_DOMAIN:
		if (in->sender == NULL || suppress_normalise(in->sender, norm, sizeof(norm)) < 0)
			return STORE_NOTFOUND;
		at = strrchr(norm, '@');
		if (src == ID_SENDER)
			return resolve_mapping(txn, "sender", norm, out->account,
					       sizeof(out->account));
		return resolve_mapping(txn, "domain", at + 1, out->account, sizeof(out->account));
	case ID_CLIENT_ADDRESS:
		return resolve_cidr(txn, in->client_address, out->account, sizeof(out->account));
	}
	return STORE_NOTFOUND;
}

int
identity_resolve(struct store_txn *txn, const struct conf *conf, const struct identity_in *in,
		 struct identity_out *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < conf->accounts.nidentity; i++) {
		int src = conf->accounts.identity[i];
		int rc = resolve_source(txn, src, in, out);
		if (rc == STORE_ERR)
			return rc;
		if (rc == STORE_OK) {
			if (out->how == IDH_NONE)
				out->how = IDH_MAPPING;
			out->source = src;
			return STORE_OK;
		}
	}
	out->how = IDH_NONE;
	return STORE_OK;
}

struct id_scan {
	const char *account;
	identity_scan_fn fn;
	void *arg;
};

static int
identity_scan_one(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct id_scan *s = arg;
	char spec[ADDRESS_MAX + 16], account[ACCOUNT_NAME_MAX];

	if (v->len == 0 || v->len >= sizeof(account))
		return 0;
	memcpy(account, v->data, v->len);
	account[v->len] = '\0';
	if (s->account && strcmp(s->account, account) != 0)
		return 0;
	identity_spec(k->data, k->len, spec, sizeof(spec));
	return s->fn(spec, account, s->arg);
}

int
identity_scan(struct store_txn *txn, const char *account, identity_scan_fn fn, void *arg)
{
	struct id_scan s = {account, fn, arg};

	return store_scan(txn, DB_IDENTITY, "", 0, NULL, 0, identity_scan_one, &s);
}

struct unmap_key {
	char key[ADDRESS_MAX + 16];
	size_t len;
};

struct unmap_ctx {
	const char *account;
	struct unmap_key *keys;
	size_t n;
};

static int
collect_account_key(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct unmap_ctx *u = arg;

	if (v->len != strlen(u->account) || memcmp(v->data, u->account, v->len) != 0 ||
	    k->len > sizeof(u->keys[0].key))
		return 0;
	u->keys = xrealloc(u->keys, (u->n + 1) * sizeof(*u->keys));
	memcpy(u->keys[u->n].key, k->data, k->len);
	u->keys[u->n++].len = k->len;
	return 0;
}

int
identity_unmap_account(struct store_txn *txn, const char *account)
{
	struct unmap_ctx u = {account, NULL, 0};
	int rc = store_scan(txn, DB_IDENTITY, "", 0, NULL, 0, collect_account_key, &u);

	for (size_t i = 0; rc == STORE_OK && i < u.n; i++)
		rc = identity_unmap(txn, u.keys[i].key, u.keys[i].len);
	free(u.keys);
	return rc;
}
