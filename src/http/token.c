/* token -- API tokens stored as their SHA-256; see token.h. */
#include "config.h"

#include <string.h>
#include <sys/random.h>

#include "token.h"
#include "util/sha256.h"
#include "util/text.h"

int
token_name_valid(const char *name)
{
	return text_is_token(name, TOKEN_NAME_MAX - 1);
}

const char *
token_scope_name(int scope)
{
	return scope == TS_WRITE ? "write" : scope == TS_READ ? "read" : "?";
}

int
token_scope_parse(const char *name)
{
	if (strcmp(name, "read") == 0)
		return TS_READ;
	return strcmp(name, "write") == 0 ? TS_WRITE : -1;
}

int
token_generate(char *text, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t rnd[TOKEN_HASH_LEN];
	size_t off = 0;

	if (len < TOKEN_TEXT_LEN + 1)
		return -1;
	while (off < sizeof(rnd)) {
		ssize_t n = getrandom(rnd + off, sizeof(rnd) - off, 0);
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	memcpy(text, TOKEN_PREFIX, 4);
	for (size_t i = 0; i < sizeof(rnd); i++) {
		text[4 + 2 * i] = hex[rnd[i] >> 4];
		text[5 + 2 * i] = hex[rnd[i] & 15];
	}
	text[TOKEN_TEXT_LEN] = '\0';
	return 0;
}

int
token_put(struct store_txn *txn, const char *text, const struct token_rec *rec)
{
	uint8_t key[SHA256_LEN], buf[RECORD_MAX];
	size_t n = rec_token_encode(rec, buf, sizeof(buf));

	if (n == 0)
		return STORE_ERR;
	sha256(text, strlen(text), key);
	return store_put(txn, DB_TOKEN, key, sizeof(key), buf, n);
}

int
token_lookup(struct store_txn *txn, const char *text, struct token_rec *rec)
{
	uint8_t key[SHA256_LEN];
	struct store_val v;
	int rc;

	sha256(text, strlen(text), key);
	if ((rc = store_get(txn, DB_TOKEN, key, sizeof(key), &v)) != STORE_OK)
		return rc;
	return rec_token_decode(v.data, v.len, rec) == 0 ? STORE_OK : STORE_NOTFOUND;
}

struct by_name {
	const char *name;
	struct token_rec *rec;
	uint8_t key[SHA256_LEN];
};

static int
name_one(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct by_name *b = arg;

	if (k->len != SHA256_LEN || rec_token_decode(v->data, v->len, b->rec) < 0 ||
	    strcmp(b->rec->name, b->name) != 0)
		return 0;
	memcpy(b->key, k->data, SHA256_LEN);
	return 1;
}

/* Tokens are few (one per portal or tool): a scan by name is cheap. */
static int
find_name(struct store_txn *txn, struct by_name *b)
{
	int rc = store_scan(txn, DB_TOKEN, NULL, 0, NULL, 0, name_one, b);

	return rc == 1 ? STORE_OK : rc == STORE_ERR ? STORE_ERR : STORE_NOTFOUND;
}

int
token_find_name(struct store_txn *txn, const char *name, struct token_rec *rec)
{
	struct by_name b = {name, rec, {0}};

	return find_name(txn, &b);
}

int
token_revoke(struct store_txn *txn, const char *name)
{
	struct token_rec rec;
	struct by_name b = {name, &rec, {0}};
	int rc = find_name(txn, &b);

	return rc == STORE_OK ? store_del(txn, DB_TOKEN, b.key, sizeof(b.key)) : rc;
}

struct scan_ctx {
	token_scan_fn fn;
	void *arg;
};

static int
scan_one(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct scan_ctx *c = arg;
	struct token_rec rec;

	if (rec_token_decode(v->data, v->len, &rec) < 0)
		return 0;
	return c->fn(&rec, c->arg);
}

int
token_scan(struct store_txn *txn, token_scan_fn fn, void *arg)
{
	struct scan_ctx c = {fn, arg};

	return store_scan(txn, DB_TOKEN, NULL, 0, NULL, 0, scan_one, &c);
}
