/* test_identity -- identity mappings and resolution (identity.h), accounts (account.h). */
#include "config.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "account/account.h"
#include "account/identity.h"
#include "conf/conf.h"
#include "store/store.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define NOW 1795525500

/* A conf with accounts.identity set to IDENTITY (a libconfig value), NULL: the default. */
static struct conf *
conf_with_identity(const char *dir, const char *identity)
{
	char text[512], err[512], *path;
	struct conf *c;

	snprintf(text, sizeof(text), "store = { path = \"db\"; };\n%s%s%s",
		 identity ? "accounts = { identity = " : "", identity ? identity : "",
		 identity ? "; };\n" : "");
	path = unit_write_conf(dir, text);
	c = conf_load(path, err, sizeof(err));
	if (c == NULL)
		fail_msg("conf_load: %s", err);
	free(path);
	return c;
}

/* ---- identity_key --------------------------------------------------------- */

static const struct {
	const char *spec;
	const char *key; /* printable keys; NULL for cidr (checked below) or errors */
	const char *err; /* NULL: accepted */
} key_cases[] = {
    {"sasl:alice", "sasl:alice", NULL},
    {"sasl:Alice@Example.com", "sasl:Alice@Example.com", NULL}, /* logins keep their case */
    {"sender:bob@example.com", "sender:bob@example.com", NULL},
    {"sender:<Bob@Example.COM>", "sender:bob@example.com", NULL},
    {"sender: bob@example.com. ", "sender:bob@example.com", NULL},
    {"domain:example.com", "domain:example.com", NULL},
    {"domain:Example.COM", "domain:example.com", NULL},
    {"domain:@example.com", "domain:example.com", NULL},
    {"domain:example.com.", "domain:example.com", NULL},
    {"alice", NULL, "'alice': expected sasl:LOGIN, sender:ADDRESS, domain:DOMAIN or cidr:NETWORK"},
    {"", NULL, "'': expected sasl:LOGIN, sender:ADDRESS, domain:DOMAIN or cidr:NETWORK"},
    {"sasl:", NULL, "'': not a valid login"},
    {"sasl:a b", NULL, "'a b': not a valid login"},
    {"sasl:a:b", NULL, "'a:b': not a valid login"},
    {"sender:bob", NULL, "'bob': not an address"},
    {"sender:", NULL, "'': not an address"},
    {"sender:@example.com", NULL, "'@example.com': not an address"},
    {"sender:bob@", NULL, "'bob@': not an address"},
    {"domain:", NULL, "'': not a domain"},
    {"domain:@", NULL, "'@': not a domain"},
    {"domain:exa mple.com", NULL, "'exa mple.com': not a domain"},
    {"domain:.example.com", NULL, "'.example.com': not a domain"},
    {"domain:bob@example.com", NULL, "'bob@example.com': not a domain"},
    {"cidr:", NULL, "'': not an IP network"},
    {"cidr:192.0.2.0/33", NULL, "'192.0.2.0/33': not an IP network"},
    {"cidr:mail.example.com", NULL, "'mail.example.com': not an IP network"},
    {"ip:192.0.2.1", NULL, "'ip': unknown kind (sasl, sender, domain, cidr)"},
    {"SASL:alice", NULL, "'SASL': unknown kind (sasl, sender, domain, cidr)"},
    {":alice", NULL, "'': unknown kind (sasl, sender, domain, cidr)"},
};

static void
test_key_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(key_cases); i++) {
		char key[600], err[256] = "";
		size_t n = identity_key(key_cases[i].spec, key, sizeof(key), err, sizeof(err));

		if (key_cases[i].err != NULL) {
			if (n != 0)
				fail_msg("'%s': accepted (%zu bytes)", key_cases[i].spec, n);
			if (strcmp(err, key_cases[i].err) != 0)
				fail_msg("'%s': error '%s', want '%s'", key_cases[i].spec, err,
					 key_cases[i].err);
			continue;
		}
		if (n != strlen(key_cases[i].key) || memcmp(key, key_cases[i].key, n) != 0)
			fail_msg("'%s': key '%.*s' (%zu), want '%s'", key_cases[i].spec, (int)n,
				 key, n, key_cases[i].key);
	}
}

static const struct {
	const char *spec;
	int family, prefix;
	uint8_t bytes[16];
	const char *back; /* identity_spec of the key */
} cidr_cases[] = {
    {"cidr:192.0.2.0/24", 4, 24, {192, 0, 2, 0}, "cidr:192.0.2.0/24"},
    {"cidr:192.0.2.77/24", 4, 24, {192, 0, 2, 0}, "cidr:192.0.2.0/24"},
    {"cidr:192.0.2.77", 4, 32, {192, 0, 2, 77}, "cidr:192.0.2.77/32"},
    {"cidr:0.0.0.0/0", 4, 0, {0}, "cidr:0.0.0.0/0"},
    {"cidr:::ffff:10.1.2.3", 4, 32, {10, 1, 2, 3}, "cidr:10.1.2.3/32"},
    {"cidr:2001:db8::/32", 6, 32, {0x20, 0x01, 0x0d, 0xb8}, "cidr:2001:db8::/32"},
    {"cidr:2001:db8:1:2::9/64",
     6,
     64,
     {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2},
     "cidr:2001:db8:1:2::/64"},
};

static void
test_key_cidr_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(cidr_cases); i++) {
		char key[64], err[256] = "", spec[128];
		size_t n = identity_key(cidr_cases[i].spec, key, sizeof(key), err, sizeof(err));
		size_t blen = cidr_cases[i].family == 4 ? 4 : 16;

		if (n != 7 + blen)
			fail_msg("'%s': %zu bytes (%s), want %zu", cidr_cases[i].spec, n, err,
				 7 + blen);
		assert_memory_equal(key, "cidr:", 5);
		assert_int_equal(key[5], cidr_cases[i].family);
		assert_int_equal(key[6], cidr_cases[i].prefix);
		assert_memory_equal(key + 7, cidr_cases[i].bytes, blen);
		identity_spec(key, n, spec, sizeof(spec));
		assert_string_equal(spec, cidr_cases[i].back);
	}
	/* A key buffer too small for the network is refused. */
	char tiny[8], err[64];
	assert_int_equal(identity_key("cidr:192.0.2.0/24", tiny, sizeof(tiny), err, sizeof(err)),
			 0);
}

static void
test_spec_plain(void **state)
{
	char spec[64];

	(void)state;
	identity_spec("sasl:alice", 10, spec, sizeof(spec));
	assert_string_equal(spec, "sasl:alice");
	identity_spec("domain:example.com", 18, spec, sizeof(spec));
	assert_string_equal(spec, "domain:example.com");
}

/* ---- mappings and resolution -------------------------------------------- */

static const struct {
	const char *spec;
	const char *account;
} mappings[] = {
    {"sasl:login1", "acme"},
    {"sender:news@acme.example", "acme"},
    {"domain:beta.example", "beta"},
    {"cidr:192.0.2.0/24", "net24"},
    {"cidr:192.0.2.128/25", "net25"},
    {"cidr:192.0.2.200/32", "host32"},
    {"cidr:10.0.0.0/8", "ten"},
    {"cidr:2001:db8::/32", "v6wide"},
    {"cidr:2001:db8:1::/48", "v6narrow"},
    {"cidr:2001:db8:1::7/128", "v6host"},
};

static int
map_all(struct store_txn *txn, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < N(mappings); i++) {
		char key[600], err[256];
		size_t n = identity_key(mappings[i].spec, key, sizeof(key), err, sizeof(err));
		int rc;
		if (n == 0)
			fail_msg("%s: %s", mappings[i].spec, err);
		if ((rc = identity_map(txn, key, n, mappings[i].account)) != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

struct spec_arg {
	const char *spec;
	int rc;
};

static int
unmap_spec(struct store_txn *txn, void *arg)
{
	struct spec_arg *a = arg;
	char key[600], err[256];
	size_t n = identity_key(a->spec, key, sizeof(key), err, sizeof(err));

	assert_int_not_equal(n, 0);
	a->rc = identity_unmap(txn, key, n);
	return a->rc == STORE_ERR ? STORE_ERR : STORE_OK;
}

static const struct {
	const char *what;
	const char *sasl, *sender, *client;
	int how, source;
	const char *account;
} resolve_cases[] = {
    {"sasl mapping", "login1", "", "", IDH_MAPPING, ID_SASL, "acme"},
    {"sasl login as the name", "alice", "", "", IDH_LOGIN, ID_SASL, "alice"},
    {"sasl login keeps its case", "Alice@Example.com", "", "", IDH_LOGIN, ID_SASL,
     "Alice@Example.com"},
    {"sasl beats sender", "alice", "news@acme.example", "192.0.2.5", IDH_LOGIN, ID_SASL, "alice"},
    {"invalid login falls through", "bad login", "news@acme.example", "", IDH_MAPPING, ID_SENDER,
     "acme"},
    {"sender mapping", "", "news@acme.example", "", IDH_MAPPING, ID_SENDER, "acme"},
    {"sender normalised", "", "<News@ACME.example>", "", IDH_MAPPING, ID_SENDER, "acme"},
    {"sender NULL", NULL, NULL, "", IDH_NONE, 0, ""},
    {"sender domain", "", "anyone@beta.example", "", IDH_MAPPING, ID_SENDER_DOMAIN, "beta"},
    {"sender domain, case", "", "anyone@BETA.Example", "", IDH_MAPPING, ID_SENDER_DOMAIN, "beta"},
    {"no subdomain match", "", "x@sub.beta.example", "", IDH_NONE, 0, ""},
    {"null sender", "", "", "", IDH_NONE, 0, ""},
    {"cidr /24", "", "", "192.0.2.5", IDH_MAPPING, ID_CLIENT_ADDRESS, "net24"},
    {"cidr /25 beats /24", "", "", "192.0.2.130", IDH_MAPPING, ID_CLIENT_ADDRESS, "net25"},
    {"cidr /32 beats /25", "", "", "192.0.2.200", IDH_MAPPING, ID_CLIENT_ADDRESS, "host32"},
    {"cidr /25 edge", "", "", "192.0.2.255", IDH_MAPPING, ID_CLIENT_ADDRESS, "net25"},
    {"cidr /24 edge", "", "", "192.0.2.127", IDH_MAPPING, ID_CLIENT_ADDRESS, "net24"},
    {"cidr v4-mapped client", "", "", "::ffff:192.0.2.200", IDH_MAPPING, ID_CLIENT_ADDRESS,
     "host32"},
    {"cidr /8", "", "", "10.200.1.1", IDH_MAPPING, ID_CLIENT_ADDRESS, "ten"},
    {"cidr no match", "", "", "192.0.3.1", IDH_NONE, 0, ""},
    {"cidr v6 /48 beats /32", "", "", "2001:db8:1::5", IDH_MAPPING, ID_CLIENT_ADDRESS, "v6narrow"},
    {"cidr v6 /128", "", "", "2001:db8:1::7", IDH_MAPPING, ID_CLIENT_ADDRESS, "v6host"},
    {"cidr v6 /32", "", "", "2001:db8:2::5", IDH_MAPPING, ID_CLIENT_ADDRESS, "v6wide"},
    {"cidr v6 no match", "", "", "2001:db9::1", IDH_NONE, 0, ""},
    {"cidr v4 network never matches v6", "", "", "::c000:205", IDH_NONE, 0, ""},
    {"client not an address", "", "", "unknown", IDH_NONE, 0, ""},
    {"nothing at all", "", "", "", IDH_NONE, 0, ""},
};

static void
check_resolve(struct store *st, const struct conf *c, const char *what, const char *sasl,
	      const char *sender, const char *client, int how, int source, const char *account)
{
	struct identity_in in = {sasl, sender, client};
	struct identity_out out;
	struct store_txn *txn;
	int rc;

	assert_int_equal(store_read_begin(st, &txn), STORE_OK);
	rc = identity_resolve(txn, c, &in, &out);
	store_read_end(txn);
	if (rc != STORE_OK)
		fail_msg("%s: rc %d", what, rc);
	if (out.how != how || (how != IDH_NONE && out.source != source) ||
	    strcmp(out.account, account) != 0)
		fail_msg("%s: how %d source %d '%s', want %d %d '%s'", what, out.how, out.source,
			 out.account, how, source, account);
}

static void
test_resolve_default_order(void **state)
{
	struct unit_fx *fx = *state;
	struct conf *c = conf_with_identity(fx->dir, NULL);

	assert_int_equal(store_write(fx->st, map_all, NULL), STORE_OK);
	for (size_t i = 0; i < N(resolve_cases); i++)
		check_resolve(fx->st, c, resolve_cases[i].what, resolve_cases[i].sasl,
			      resolve_cases[i].sender, resolve_cases[i].client,
			      resolve_cases[i].how, resolve_cases[i].source,
			      resolve_cases[i].account);
	conf_free(c);
}

/* The order of accounts.identity decides which source wins. */
static void
test_resolve_conf_order(void **state)
{
	struct unit_fx *fx = *state;
	static const struct {
		const char *identity;
		int how, source;
		const char *account;
	} cases[] = {
	    {"[\"sasl\", \"sender\", \"sender_domain\", \"client_address\"]", IDH_LOGIN, ID_SASL,
	     "alice"},
	    {"[\"client_address\", \"sender\", \"sasl\"]", IDH_MAPPING, ID_CLIENT_ADDRESS, "net24"},
	    {"[\"sender\", \"client_address\"]", IDH_MAPPING, ID_SENDER, "acme"},
	    {"[\"sender_domain\", \"sasl\"]", IDH_LOGIN, ID_SASL, "alice"},
	    {"\"client_address\"", IDH_MAPPING, ID_CLIENT_ADDRESS, "net24"},
	    {"[\"sender_domain\"]", IDH_NONE, 0, ""},
	};

	assert_int_equal(store_write(fx->st, map_all, NULL), STORE_OK);
	for (size_t i = 0; i < N(cases); i++) {
		struct conf *c = conf_with_identity(fx->dir, cases[i].identity);
		check_resolve(fx->st, c, cases[i].identity, "alice", "news@acme.example",
			      "192.0.2.5", cases[i].how, cases[i].source, cases[i].account);
		conf_free(c);
	}
}

static void
test_unmap(void **state)
{
	struct unit_fx *fx = *state;
	struct conf *c = conf_with_identity(fx->dir, "\"client_address\"");
	struct spec_arg a = {"cidr:192.0.2.200/32", 0};

	assert_int_equal(store_write(fx->st, map_all, NULL), STORE_OK);
	check_resolve(fx->st, c, "before", "", "", "192.0.2.200", IDH_MAPPING, ID_CLIENT_ADDRESS,
		      "host32");
	assert_int_equal(store_write(fx->st, unmap_spec, &a), STORE_OK);
	assert_int_equal(a.rc, STORE_OK);
	check_resolve(fx->st, c, "after /32", "", "", "192.0.2.200", IDH_MAPPING, ID_CLIENT_ADDRESS,
		      "net25");
	assert_int_equal(store_write(fx->st, unmap_spec, &a), STORE_OK);
	assert_int_equal(a.rc, STORE_NOTFOUND);

	/* Remove the remaining IPv4 networks: no prefix is left to try. */
	const char *v4[] = {"cidr:192.0.2.128/25", "cidr:192.0.2.0/24", "cidr:10.0.0.0/8"};
	for (size_t i = 0; i < N(v4); i++) {
		a.spec = v4[i];
		assert_int_equal(store_write(fx->st, unmap_spec, &a), STORE_OK);
		assert_int_equal(a.rc, STORE_OK);
	}
	check_resolve(fx->st, c, "no v4 left", "", "", "192.0.2.200", IDH_NONE, 0, "");
	check_resolve(fx->st, c, "v6 kept", "", "", "2001:db8::1", IDH_MAPPING, ID_CLIENT_ADDRESS,
		      "v6wide");
	conf_free(c);

	/* Unmapping a sasl mapping turns the login back into the name. */
	c = conf_with_identity(fx->dir, NULL);
	a.spec = "sasl:login1";
	assert_int_equal(store_write(fx->st, unmap_spec, &a), STORE_OK);
	assert_int_equal(a.rc, STORE_OK);
	check_resolve(fx->st, c, "sasl unmapped", "login1", "", "", IDH_LOGIN, ID_SASL, "login1");
	conf_free(c);
}

struct list {
	char text[2048];
};

static int
list_mapping(const char *spec, const char *account, void *arg)
{
	struct list *l = arg;

	if (l->text[0])
		strcat(l->text, ",");
	strcat(l->text, spec);
	strcat(l->text, "=");
	strcat(l->text, account);
	return 0;
}

static void
test_get_and_scan(void **state)
{
	struct unit_fx *fx = *state;
	struct store_txn *txn;
	struct list all = {""}, acme = {""}, none = {""};
	char account[ACCOUNT_NAME_MAX], small[4];

	assert_int_equal(store_write(fx->st, map_all, NULL), STORE_OK);
	assert_int_equal(store_read_begin(fx->st, &txn), STORE_OK);
	assert_int_equal(identity_get(txn, "sasl:login1", 11, account, sizeof(account)), STORE_OK);
	assert_string_equal(account, "acme");
	assert_int_equal(identity_get(txn, "sasl:login1", 11, small, sizeof(small)), STORE_ERR);
	assert_int_equal(identity_get(txn, "sasl:nobody", 11, account, sizeof(account)),
			 STORE_NOTFOUND);
	assert_int_equal(identity_scan(txn, "acme", list_mapping, &acme), 0);
	assert_string_equal(acme.text, "sasl:login1=acme,sender:news@acme.example=acme");
	assert_int_equal(identity_scan(txn, "nobody", list_mapping, &none), 0);
	assert_string_equal(none.text, "");
	assert_int_equal(identity_scan(txn, NULL, list_mapping, &all), 0);
	/* Keys sort by bytes: "cidr:" + family 4 before 6, then prefix. */
	assert_string_equal(all.text, "cidr:10.0.0.0/8=ten,"
				      "cidr:192.0.2.0/24=net24,"
				      "cidr:192.0.2.128/25=net25,"
				      "cidr:192.0.2.200/32=host32,"
				      "cidr:2001:db8::/32=v6wide,"
				      "cidr:2001:db8:1::/48=v6narrow,"
				      "cidr:2001:db8:1::7/128=v6host,"
				      "domain:beta.example=beta,"
				      "sasl:login1=acme,"
				      "sender:news@acme.example=acme");
	store_read_end(txn);
}

/* ---- accounts ------------------------------------------------------------- */

static void
test_account_name_valid(void **state)
{
	char name[ACCOUNT_NAME_MAX + 1];

	(void)state;
	assert_true(account_name_valid("acme"));
	assert_true(account_name_valid("user@example.com"));
	assert_true(account_name_valid("a.b-c_d+e"));
	memset(name, 'a', ACCOUNT_NAME_MAX - 1);
	name[ACCOUNT_NAME_MAX - 1] = '\0';
	assert_true(account_name_valid(name));
	name[ACCOUNT_NAME_MAX - 1] = 'a';
	name[ACCOUNT_NAME_MAX] = '\0';
	assert_false(account_name_valid(name));
	assert_false(account_name_valid(""));
	assert_false(account_name_valid("a b"));
	assert_false(account_name_valid("a/b"));
	assert_false(account_name_valid("a:b"));
	assert_false(account_name_valid("a\nb"));
}

struct acct_op {
	const char *name;
	int state; /* -1: create */
	const char *by, *reason;
	int64_t when;
	int want;
};

struct acct_ops {
	const struct acct_op *v;
	size_t n;
};

static int
run_acct_ops(struct store_txn *txn, void *arg)
{
	const struct acct_ops *ops = arg;

	for (size_t i = 0; i < ops->n; i++) {
		const struct acct_op *o = &ops->v[i];
		int rc = o->state < 0
			     ? account_create(txn, o->name, o->by, o->reason, o->when)
			     : account_set_state(txn, o->name, o->state, o->by, o->reason, o->when);
		if (rc != o->want)
			fail_msg("op %zu (%s): %d, want %d", i, o->name, rc, o->want);
	}
	return STORE_OK;
}

static void
acct_run(struct store *st, const struct acct_op *v, size_t n)
{
	struct acct_ops ops = {v, n};

	assert_int_equal(store_write(st, run_acct_ops, &ops), STORE_OK);
}

static int
list_history(const struct history_rec *h, void *arg)
{
	struct list *l = arg;
	char item[512];

	snprintf(item, sizeof(item), "%s%s>%s@%lld:%s:%s", l->text[0] ? "," : "",
		 account_state_name(h->from), account_state_name(h->to), (long long)h->when, h->by,
		 h->reason);
	strcat(l->text, item);
	return 0;
}

static int
list_account(const char *name, const struct account_rec *rec, void *arg)
{
	struct list *l = arg;
	char item[256];

	snprintf(item, sizeof(item), "%s%s:%s", l->text[0] ? "," : "", name,
		 account_state_name(rec->state));
	strcat(l->text, item);
	return 0;
}

static void
test_account_states_and_history(void **state)
{
	struct unit_fx *fx = *state;
	static const struct acct_op ops[] = {
	    {"acme", -1, "operator:root", "new customer", NOW, STORE_OK},
	    {"acme2", -1, "auto-create", "first message seen", NOW + 1, STORE_OK},
	    {"acme", AS_PAUSED, "rule:bounce-rate", "bounce rate 12%", NOW + 10, STORE_OK},
	    {"acme", AS_REVIEW, "operator:root", "looking", NOW + 10, STORE_OK}, /* same second */
	    {"acme", AS_ACTIVE, "operator:root", "fixed", NOW + 20, STORE_OK},
	    {"ghost", AS_PAUSED, "operator:root", "x", NOW, STORE_NOTFOUND},
	};
	struct account_rec rec;
	struct store_txn *txn;
	struct list h = {""}, h2 = {""}, accts = {""};

	acct_run(fx->st, ops, N(ops));
	assert_int_equal(store_read_begin(fx->st, &txn), STORE_OK);
	assert_int_equal(account_get(txn, "acme", &rec), STORE_OK);
	assert_int_equal(rec.state, AS_ACTIVE);
	assert_int_equal(rec.created, NOW);
	assert_int_equal(rec.since, NOW + 20);
	assert_string_equal(rec.by, "operator:root");
	assert_string_equal(rec.reason, "fixed");
	assert_int_equal(account_get(txn, "acme2", &rec), STORE_OK);
	assert_int_equal(rec.state, AS_ACTIVE);
	assert_int_equal(rec.created, NOW + 1);
	assert_string_equal(rec.by, "auto-create");
	assert_int_equal(account_get(txn, "ghost", &rec), STORE_NOTFOUND);

	/* History in time order, same-second changes in the order they were made. */
	assert_int_equal(account_history_scan(txn, "acme", list_history, &h), 0);
	assert_string_equal(h.text, "active>active@1795525500:operator:root:new customer,"
				    "active>paused@1795525510:rule:bounce-rate:bounce rate 12%,"
				    "paused>review@1795525510:operator:root:looking,"
				    "review>active@1795525520:operator:root:fixed");
	/* "acme2" is not part of "acme"'s history and vice versa. */
	assert_int_equal(account_history_scan(txn, "acme2", list_history, &h2), 0);
	assert_string_equal(h2.text, "active>active@1795525501:auto-create:first message seen");
	assert_int_equal(account_scan(txn, list_account, &accts), 0);
	assert_string_equal(accts.text, "acme:active,acme2:active");
	store_read_end(txn);
}

static const struct {
	const char *name, *value;
	const char *err; /* NULL: valid */
} setting_check_cases[] = {
    {"mode", "monitor", NULL},
    {"mode", "enforce", NULL},
    {"mode", "default", NULL},
    {"mode", "audit", "mode: 'audit' is not one of enforce|monitor|default"},
    {"mode", "", "mode: '' is not one of enforce|monitor|default"},
    {"mode", "monitor|enforce", "mode: 'monitor|enforce' is not one of enforce|monitor|default"},
    {"auto-enforce", "on", NULL},
    {"auto-enforce", "off", NULL},
    {"auto-enforce", "yes", "auto-enforce: 'yes' is not one of on|off"},
    {"note", "anything at all, even = signs", NULL},
    {"colour", "blue", "unknown setting 'colour'"},
    {"Mode", "monitor", "unknown setting 'Mode'"},
};

static void
test_setting_check_table(void **state)
{
	char longv[REASON_MAX + 1], err[256];

	(void)state;
	for (size_t i = 0; i < N(setting_check_cases); i++) {
		int rc;
		err[0] = '\0';
		rc = account_setting_check(setting_check_cases[i].name,
					   setting_check_cases[i].value, err, sizeof(err));
		if (setting_check_cases[i].err == NULL
			? rc != 0
			: rc != -1 || strcmp(err, setting_check_cases[i].err))
			fail_msg("%s=%s: rc %d '%s', want '%s'", setting_check_cases[i].name,
				 setting_check_cases[i].value, rc, err,
				 setting_check_cases[i].err ? setting_check_cases[i].err : "ok");
	}
	memset(longv, 'x', REASON_MAX - 1);
	longv[REASON_MAX - 1] = '\0';
	assert_int_equal(account_setting_check("note", longv, err, sizeof(err)), 0);
	longv[REASON_MAX - 1] = 'x';
	longv[REASON_MAX] = '\0';
	assert_int_equal(account_setting_check("note", longv, err, sizeof(err)), -1);
	assert_string_equal(err, "note: value too long");
	assert_non_null(account_setting_find("auto-enforce"));
	assert_null(account_setting_find("nope"));
}

struct set_op {
	const char *name, *key, *value;
};

struct set_ops {
	const struct set_op *v;
	size_t n;
};

static int
run_set_ops(struct store_txn *txn, void *arg)
{
	const struct set_ops *ops = arg;

	for (size_t i = 0; i < ops->n; i++) {
		int rc = account_setting_put(txn, ops->v[i].name, ops->v[i].key, ops->v[i].value);
		if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

static void
set_run(struct store *st, const struct set_op *v, size_t n)
{
	struct set_ops ops = {v, n};

	assert_int_equal(store_write(st, run_set_ops, &ops), STORE_OK);
}

static int
list_setting(const char *key, const char *value, void *arg)
{
	struct list *l = arg;

	if (l->text[0])
		strcat(l->text, ",");
	strcat(l->text, key);
	strcat(l->text, "=");
	strcat(l->text, value);
	return 0;
}

static void
test_settings(void **state)
{
	struct unit_fx *fx = *state;
	static const struct set_op first[] = {
	    {"acme", "mode", "monitor"},	  {"acme", "note", "big customer"},
	    {"acme2", "mode", "enforce"},	  {"acme", "auto-enforce", "off"},
	    {"acme", "note", "biggest customer"}, /* overwrite */
	};
	static const struct set_op second[] = {
	    {"acme", "auto-enforce", NULL}, /* back to the default */
	    {"acme", "never-set", NULL},    /* deleting what is absent is fine */
	};
	struct store_txn *txn;
	char buf[64], tiny[4];
	struct list l = {""}, l2 = {""};

	set_run(fx->st, first, N(first));
	assert_int_equal(store_read_begin(fx->st, &txn), STORE_OK);
	assert_int_equal(account_setting_get(txn, "acme", "mode", buf, sizeof(buf)), STORE_OK);
	assert_string_equal(buf, "monitor");
	assert_int_equal(account_setting_get(txn, "acme", "note", buf, sizeof(buf)), STORE_OK);
	assert_string_equal(buf, "biggest customer");
	assert_int_equal(account_setting_get(txn, "acme2", "mode", buf, sizeof(buf)), STORE_OK);
	assert_string_equal(buf, "enforce");
	assert_int_equal(account_setting_get(txn, "acme2", "note", buf, sizeof(buf)),
			 STORE_NOTFOUND);
	assert_int_equal(account_setting_get(txn, "acme", "mode", tiny, sizeof(tiny)), STORE_ERR);
	assert_int_equal(account_setting_scan(txn, "acme", list_setting, &l), 0);
	assert_string_equal(l.text, "auto-enforce=off,mode=monitor,note=biggest customer");
	store_read_end(txn);

	set_run(fx->st, second, N(second));
	assert_int_equal(store_read_begin(fx->st, &txn), STORE_OK);
	assert_int_equal(account_setting_get(txn, "acme", "auto-enforce", buf, sizeof(buf)),
			 STORE_NOTFOUND);
	assert_int_equal(account_setting_scan(txn, "acme", list_setting, &l2), 0);
	assert_string_equal(l2.text, "mode=monitor,note=biggest customer");
	store_read_end(txn);
}

static int
setup_for_delete(struct store_txn *txn, void *arg)
{
	static const struct set_op sets[] = {
	    {"acme", "mode", "monitor"}, {"acme", "note", "n"}, {"acme2", "mode", "enforce"}};
	int rc;

	(void)arg;
	if ((rc = account_create(txn, "acme", "operator:root", "", NOW)) != STORE_OK ||
	    (rc = account_set_state(txn, "acme", AS_PAUSED, "operator:root", "", NOW + 1)) !=
		STORE_OK ||
	    (rc = account_create(txn, "acme2", "operator:root", "", NOW)) != STORE_OK)
		return rc;
	for (size_t i = 0; i < N(sets); i++)
		if ((rc = account_setting_put(txn, sets[i].name, sets[i].key, sets[i].value)) !=
		    STORE_OK)
			return rc;
	return map_all(txn, NULL);
}

static int
remap_for_delete(struct store_txn *txn, void *arg)
{
	/* Point some mappings at acme2 so deleting acme must leave them. */
	static const char *const specs[] = {"domain:acme2.example", "cidr:198.51.100.0/24"};
	static const char *const accts[] = {"acme2", "acme"};

	(void)arg;
	for (size_t i = 0; i < N(specs); i++) {
		char key[64], err[128];
		size_t n = identity_key(specs[i], key, sizeof(key), err, sizeof(err));
		int rc = identity_map(txn, key, n, accts[i]);
		if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

static int
delete_acme(struct store_txn *txn, void *arg)
{
	int *rc = arg;

	*rc = account_delete(txn, "acme");
	return *rc == STORE_ERR ? STORE_ERR : STORE_OK;
}

static void
test_account_delete(void **state)
{
	struct unit_fx *fx = *state;
	struct conf *c = conf_with_identity(fx->dir, "\"client_address\"");
	struct store_txn *txn;
	struct account_rec rec;
	struct list set = {""}, hist = {""}, ids = {""}, set2 = {""}, hist2 = {""}, ids2 = {""};
	int rc = -99;

	assert_int_equal(store_write(fx->st, setup_for_delete, NULL), STORE_OK);
	assert_int_equal(store_write(fx->st, remap_for_delete, NULL), STORE_OK);
	check_resolve(fx->st, c, "before", "", "", "198.51.100.1", IDH_MAPPING, ID_CLIENT_ADDRESS,
		      "acme");

	assert_int_equal(store_write(fx->st, delete_acme, &rc), STORE_OK);
	assert_int_equal(rc, STORE_OK);
	assert_int_equal(store_read_begin(fx->st, &txn), STORE_OK);
	assert_int_equal(account_get(txn, "acme", &rec), STORE_NOTFOUND);
	assert_int_equal(account_setting_scan(txn, "acme", list_setting, &set), 0);
	assert_string_equal(set.text, "");
	assert_int_equal(account_history_scan(txn, "acme", list_history, &hist), 0);
	assert_string_equal(hist.text, "");
	assert_int_equal(identity_scan(txn, "acme", list_mapping, &ids), 0);
	assert_string_equal(ids.text, "");
	/* acme2 keeps everything. */
	assert_int_equal(account_get(txn, "acme2", &rec), STORE_OK);
	assert_int_equal(account_setting_scan(txn, "acme2", list_setting, &set2), 0);
	assert_string_equal(set2.text, "mode=enforce");
	assert_int_equal(account_history_scan(txn, "acme2", list_history, &hist2), 0);
	assert_string_equal(hist2.text, "active>active@1795525500:operator:root:");
	assert_int_equal(identity_scan(txn, "acme2", list_mapping, &ids2), 0);
	assert_string_equal(ids2.text, "domain:acme2.example=acme2");
	store_read_end(txn);
	/* The deleted account's network no longer resolves; the others still do. */
	check_resolve(fx->st, c, "after", "", "", "198.51.100.1", IDH_NONE, 0, "");
	check_resolve(fx->st, c, "others kept", "", "", "192.0.2.5", IDH_MAPPING, ID_CLIENT_ADDRESS,
		      "net24");

	/* Deleting again: nothing there. */
	assert_int_equal(store_write(fx->st, delete_acme, &rc), STORE_OK);
	assert_int_equal(rc, STORE_NOTFOUND);
	conf_free(c);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, unit_store_setup, unit_store_teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_table),
	    cmocka_unit_test(test_key_cidr_table),
	    cmocka_unit_test(test_spec_plain),
	    T(test_resolve_default_order),
	    T(test_resolve_conf_order),
	    T(test_unmap),
	    T(test_get_and_scan),
	    cmocka_unit_test(test_account_name_valid),
	    T(test_account_states_and_history),
	    cmocka_unit_test(test_setting_check_table),
	    T(test_settings),
	    T(test_account_delete),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
