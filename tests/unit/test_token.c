/* test_token -- SHA-256 (FIPS 180-4 vectors) and API tokens stored as their hash (http/token.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/token.h"
#include "util/sha256.h"
#include "unit.h"

static void
hex(const uint8_t *d, char *out)
{
	for (int i = 0; i < SHA256_LEN; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* The FIPS 180-4 examples, and lengths around the padding boundary (55, 56, 64 bytes). */
static void
test_sha256_vectors(void **state)
{
	static const struct {
		const char *in, *want;
	} v[] = {
	    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 55 */
	     "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
	    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 56 */
	     "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
	    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 64 */
	     "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
	};
	uint8_t d[SHA256_LEN];
	char got[2 * SHA256_LEN + 1];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		sha256(v[i].in, strlen(v[i].in), d);
		hex(d, got);
		assert_string_equal(got, v[i].want);
	}
}

static void
test_token_store(void **state)
{
	char *dir = unit_tmpdir(), a[TOKEN_TEXT_LEN + 1], b[TOKEN_TEXT_LEN + 1];
	struct store *st = unit_store_open(dir, 16 << 20);
	struct token_rec rec = {TS_WRITE, 1700000000, "portal", "acme"}, got;

	assert_int_equal(token_generate(a, sizeof(a)), 0);
	assert_int_equal(token_generate(b, sizeof(b)), 0);
	assert_int_equal(strlen(a), TOKEN_TEXT_LEN);
	assert_memory_equal(a, TOKEN_PREFIX, 4);
	assert_string_not_equal(a, b);
	assert_true(token_name_valid("portal") && !token_name_valid("a b") &&
		    !token_name_valid(""));
	assert_int_equal(token_scope_parse("read"), TS_READ);
	assert_int_equal(token_scope_parse("admin"), -1);
	{
		uint8_t buf[RECORD_MAX];
		size_t n = rec_token_encode(&rec, buf, sizeof(buf));
		assert_true(n > 0);
		assert_int_equal(rec_token_decode(buf, n, &got), 0);
		assert_string_equal(got.name, "portal");
		assert_string_equal(got.account, "acme");
		assert_int_equal(got.scope, TS_WRITE);
		buf[0] = 9; /* an unknown version */
		assert_int_equal(rec_token_decode(buf, n, &got), -1);
	}
	store_close(st);
	unit_rmtree(dir);
}

struct put_arg {
	const char *text;
	const struct token_rec *rec;
};

static int
put_txn(struct store_txn *txn, void *arg)
{
	struct put_arg *p = arg;

	return token_put(txn, p->text, p->rec);
}

static int
revoke_txn(struct store_txn *txn, void *arg)
{
	return token_revoke(txn, arg);
}

/* Lookup by the presented token, by name, revoke; the token's text is nowhere in the store. */
static void
test_token_lookup_revoke(void **state)
{
	char *dir = unit_tmpdir(), t[TOKEN_TEXT_LEN + 1];
	struct store *st = unit_store_open(dir, 16 << 20);
	struct token_rec rec = {TS_READ, 1700000000, "ro", ""}, got;
	struct put_arg p = {t, &rec};
	struct store_txn *txn;

	assert_int_equal(token_generate(t, sizeof(t)), 0);
	assert_int_equal(store_write(st, put_txn, &p), STORE_OK);
	assert_int_equal(store_read_begin(st, &txn), STORE_OK);
	assert_int_equal(token_lookup(txn, t, &got), STORE_OK);
	assert_string_equal(got.name, "ro");
	assert_int_equal(token_find_name(txn, "ro", &got), STORE_OK);
	t[10] ^= 1;
	assert_int_equal(token_lookup(txn, t, &got), STORE_NOTFOUND);
	t[10] ^= 1;
	store_read_end(txn);
	assert_int_equal(store_write(st, revoke_txn, "ro"), STORE_OK);
	assert_int_equal(store_write(st, revoke_txn, "ro"), STORE_NOTFOUND);
	assert_int_equal(store_read_begin(st, &txn), STORE_OK);
	assert_int_equal(token_lookup(txn, t, &got), STORE_NOTFOUND);
	store_read_end(txn);
	store_close(st);
	unit_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha256_vectors),
	    cmocka_unit_test(test_token_store),
	    cmocka_unit_test(test_token_lookup_revoke),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
