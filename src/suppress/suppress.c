/* suppress -- normalisation and lookup of suppression entries; see suppress.h. */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "suppress.h"
#include "store/sfilter.h"
#include "util/text.h"

int
suppress_normalise(const char *in, char *out, size_t outlen)
{
	size_t n;
	const char *at;

	n = strlen(in);
	/* Peel spaces, one pair of <> and trailing dots until nothing changes, so that
	 * normalising twice gives the same result as normalising once. */
	for (size_t before = n + 1; n != before;) {
		before = n;
		while (n > 0 && isspace((unsigned char)*in)) {
			in++;
			n--;
		}
		while (n > 0 && (in[n - 1] == '.' || isspace((unsigned char)in[n - 1])))
			n--;
		if (n >= 2 && in[0] == '<' && in[n - 1] == '>') {
			in++;
			n -= 2;
		}
	}
	if (n == 0 || n >= outlen || n >= ADDRESS_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)in[i] < 0x21 && in[i] != ' ')
			return -1;
	memcpy(out, in, n);
	out[n] = '\0';
	at = strrchr(out, '@');
	/* A domain must be there, without spaces or empty labels. */
	if (at == NULL || at[1] == '\0' || strchr(at, ' ') || at[1] == '.' || strstr(at, ".."))
		return -1;
	text_lower(out);
	return 0;
}

/*
 * DB_META "suppress_domains" exists once any "@domain" entry was ever added:
 * until then a lookup skips the domain probes (two B-tree descents of four).
 * It is never cleared, which is only ever conservative.
 */
#define DOMAINS_FLAG "suppress_domains"

static int
domains_in_use(struct store_txn *txn)
{
	struct store_val v;

	return store_get(txn, DB_META, DOMAINS_FLAG, strlen(DOMAINS_FLAG), &v) != STORE_NOTFOUND;
}

/* Build the key SCOPE '\0' TARGET; returns its length, 0 if too long. */
static size_t
suppress_key(char *key, size_t len, const char *scope, const char *target)
{
	size_t s = strlen(scope), t = strlen(target);

	if (s + 1 + t > len || s + 1 + t > 511)
		return 0;
	memcpy(key, scope, s);
	key[s] = '\0';
	memcpy(key + s + 1, target, t);
	return s + 1 + t;
}

int
suppress_get(struct store_txn *txn, const char *scope, const char *target, struct suppress_rec *rec)
{
	char key[512];
	size_t klen = suppress_key(key, sizeof(key), scope, target);
	struct store_val v;
	int rc;

	if (klen == 0)
		return STORE_NOTFOUND;
	if ((rc = store_get(txn, DB_SUPPRESS, key, klen, &v)) != STORE_OK)
		return rc;
	if (rec_suppress_decode(v.data, v.len, rec) < 0)
		return STORE_NOTFOUND; /* an unreadable record is treated as absent */
	return STORE_OK;
}

/* Check one scope for TARGET; fills HIT when it is there and not expired. */
static int
check_one(struct store_txn *txn, const char *scope, const char *target, int64_t now,
	  struct suppress_hit *hit)
{
	int rc = suppress_get(txn, scope, target, &hit->rec);

	if (rc != STORE_OK)
		return rc;
	if (hit->rec.expires != 0 && hit->rec.expires <= now)
		return STORE_NOTFOUND;
	text_copy(hit->scope, sizeof(hit->scope), scope);
	text_copy(hit->target, sizeof(hit->target), target);
	return STORE_OK;
}

/* The candidates to look up for RECIPIENT: itself, its plus-folded form, its domain. */
static int
candidates(const char *recipient, int fold_plus, char cand[3][ADDRESS_MAX])
{
	const char *at = strrchr(recipient, '@');
	const char *plus;
	int n = 0;

	text_copy(cand[n++], ADDRESS_MAX, recipient);
	if (at == NULL)
		return n;
	plus = memchr(recipient, '+', (size_t)(at - recipient));
	if (fold_plus && plus != NULL && plus != recipient) {
		size_t l = (size_t)(plus - recipient);
		memcpy(cand[n], recipient, l);
		text_copy(cand[n] + l, ADDRESS_MAX - l, at);
		n++;
	}
	if (at != recipient)
		text_copy(cand[n++], ADDRESS_MAX, at);
	return n;
}

int
suppress_check(struct store_txn *txn, const char *account, const char *recipient, int fold_plus,
	       int64_t now, struct suppress_hit *hit)
{
	char cand[3][ADDRESS_MAX];
	int n = candidates(recipient, fold_plus, cand), maybe[3];
	const char *scopes[2] = {account, ""};

	if (n > 1 && cand[n - 1][0] == '@' && !domains_in_use(txn))
		n--;
	/* The filter rules out most candidates without a descent into the list. */
	for (int i = 0; i < n; i++)
		maybe[i] = sfilter_maybe(txn, cand[i], strlen(cand[i])) != 0;

	for (int s = account && *account ? 0 : 1; s < 2; s++)
		for (int i = 0; i < n; i++) {
			if (!maybe[i])
				continue;
			int rc = check_one(txn, scopes[s], cand[i], now, hit);
			if (rc != STORE_NOTFOUND)
				return rc;
		}
	return STORE_NOTFOUND;
}

int
suppress_put(struct store_txn *txn, const char *scope, const char *target,
	     const struct suppress_rec *rec)
{
	char key[512];
	uint8_t buf[RECORD_MAX];
	size_t klen = suppress_key(key, sizeof(key), scope, target), vlen;
	struct suppress_rec merged = *rec, old;

	if (klen == 0)
		return STORE_ERR;
	if (suppress_get(txn, scope, target, &old) == STORE_OK && old.created != 0 &&
	    old.created < merged.created)
		merged.created = old.created;
	if ((vlen = rec_suppress_encode(&merged, buf, sizeof(buf))) == 0)
		return STORE_ERR;
	if (target[0] == '@' && !domains_in_use(txn) &&
	    store_put(txn, DB_META, DOMAINS_FLAG, strlen(DOMAINS_FLAG), "1", 1) != STORE_OK)
		return STORE_ERR;
	return store_put(txn, DB_SUPPRESS, key, klen, buf, vlen);
}

int
suppress_del(struct store_txn *txn, const char *scope, const char *target)
{
	char key[512];
	size_t klen = suppress_key(key, sizeof(key), scope, target);

	return klen ? store_del(txn, DB_SUPPRESS, key, klen) : STORE_NOTFOUND;
}

struct scan_ctx {
	suppress_scan_fn fn;
	void *arg;
};

static int
scan_one(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct scan_ctx *ctx = arg;
	const char *nul = memchr(k->data, '\0', k->len);
	char scope[ACCOUNT_NAME_MAX], target[ADDRESS_MAX];
	struct suppress_rec rec;
	size_t slen, tlen;

	if (nul == NULL || rec_suppress_decode(v->data, v->len, &rec) < 0)
		return 0; /* skip what we can't read */
	slen = (size_t)(nul - (const char *)k->data);
	tlen = k->len - slen - 1;
	if (slen >= sizeof(scope) || tlen >= sizeof(target))
		return 0;
	memcpy(scope, k->data, slen);
	scope[slen] = '\0';
	memcpy(target, nul + 1, tlen);
	target[tlen] = '\0';
	return ctx->fn(scope, target, &rec, ctx->arg);
}

int
suppress_scan(struct store_txn *txn, const char *scope, suppress_scan_fn fn, void *arg)
{
	struct scan_ctx ctx = {fn, arg};
	char prefix[ACCOUNT_NAME_MAX + 1];
	size_t plen = 0;

	if (scope != NULL) {
		plen = strlen(scope) + 1;
		if (plen > sizeof(prefix))
			return STORE_NOTFOUND;
		memcpy(prefix, scope, plen);
	}
	return store_scan(txn, DB_SUPPRESS, prefix, plen, NULL, 0, scan_one, &ctx);
}

struct after_ctx {
	struct scan_ctx inner;
	const char *scope, *target;
};

/* Skip the cursor's own entry: the scan starts at it (a key >= it). */
static int
after_one(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct after_ctx *a = arg;
	size_t sl = strlen(a->scope), tl = strlen(a->target);

	if (k->len == sl + 1 + tl && memcmp(k->data, a->scope, sl + 1) == 0 &&
	    memcmp((const char *)k->data + sl + 1, a->target, tl) == 0)
		return 0;
	return scan_one(k, v, &a->inner);
}

int
suppress_scan_after(struct store_txn *txn, const char *scope, const char *after_scope,
		    const char *after_target, suppress_scan_fn fn, void *arg)
{
	struct after_ctx a = {{fn, arg}, after_scope, after_target};
	char prefix[ACCOUNT_NAME_MAX + 1], start[512];
	size_t plen = 0, slen = suppress_key(start, sizeof(start), after_scope, after_target);

	if (scope != NULL) {
		plen = strlen(scope) + 1;
		if (plen > sizeof(prefix) || strcmp(scope, after_scope) != 0)
			return STORE_NOTFOUND;
		memcpy(prefix, scope, plen);
	}
	if (slen == 0)
		return STORE_NOTFOUND;
	return store_scan(txn, DB_SUPPRESS, prefix, plen, start, slen, after_one, &a);
}

struct first_key {
	char scope[ACCOUNT_NAME_MAX];
	int found;
};

static int
first_scope(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct first_key *f = arg;
	const char *nul = memchr(k->data, '\0', k->len);
	size_t sl = nul ? (size_t)(nul - (const char *)k->data) : 0;

	if (nul == NULL || sl >= sizeof(f->scope))
		return 0; /* not a key of ours: look further */
	memcpy(f->scope, k->data, sl);
	f->scope[sl] = '\0';
	f->found = 1;
	return 1;
}

int
suppress_find(struct store_txn *txn, const char *target, suppress_scan_fn fn, void *arg)
{
	struct first_key f = {"", 0};
	struct suppress_rec rec;
	char start[ACCOUNT_NAME_MAX + 1];
	size_t slen = 0;
	int rc;

	/* Skip from scope to scope: one seek each, however long each list is. */
	for (;;) {
		f.found = 0;
		rc = store_scan(txn, DB_SUPPRESS, NULL, 0, slen ? start : NULL, slen, first_scope,
				&f);
		if (rc == STORE_ERR)
			return rc;
		if (!f.found)
			return STORE_OK;
		rc = suppress_get(txn, f.scope, target, &rec);
		if (rc == STORE_ERR)
			return rc;
		if (rc == STORE_OK && (rc = fn(f.scope, target, &rec, arg)) != 0)
			return rc;
		slen = strlen(f.scope);
		memcpy(start, f.scope, slen);
		start[slen++] = '\1'; /* just past every key of this scope */
	}
}
