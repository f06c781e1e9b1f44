/* test_decide -- the ordered checks (decide.h) and the write-behind ledger (ledger.h). */
#include "config.h"

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
#include "decide/decide.h"
#include "decide/ledger.h"
#include "store/store.h"
#include "suppress/suppress.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define NOW 1795525500 /* 2026-11-24T13:05:00Z */

struct fixture {
	char *dir;
	struct store *st;
};

/* ---- the world every test starts from ----------------------------------- */

static int
populate(struct store_txn *txn, void *arg)
{
	static const struct {
		const char *name;
		int state;
		const char *reason;
		const char *mode; /* per-account mode setting, or NULL */
	} accounts[] = {
	    {"acme", AS_ACTIVE, "", NULL},
	    {"pausedco", AS_PAUSED, "bounce rate too high", NULL},
	    {"quiet", AS_PAUSED, "", NULL},
	    {"rev", AS_REVIEW, "checking", NULL},
	    {"mon", AS_PAUSED, "abuse", "monitor"},
	    {"enf", AS_PAUSED, "abuse", "enforce"},
	    {"dflt", AS_PAUSED, "abuse", "default"},
	};
	static const struct {
		const char *scope, *target;
		int reason;
	} sups[] = {
	    {"acme", "bob@example.com", SR_COMPLAINT},
	    {"", "carol@example.com", SR_BOUNCE},
	    {"", "@gone.example", SR_MANUAL},
	    {"rev", "dan@example.com", SR_UNSUBSCRIBE},
	};
	static const struct {
		const char *spec, *account;
	} maps[] = {
	    {"sender:news@acme.example", "acme"},
	    {"sasl:ghostlogin", "ghostacct"}, /* names an account that does not exist */
	    {"cidr:192.0.2.0/24", "acme"},
	};
	int rc;

	(void)arg;
	for (size_t i = 0; i < N(accounts); i++) {
		if ((rc = account_create(txn, accounts[i].name, "operator:root", "", NOW - 100)) !=
		    STORE_OK)
			return rc;
		if (accounts[i].state != AS_ACTIVE &&
		    (rc = account_set_state(txn, accounts[i].name, accounts[i].state,
					    "operator:root", accounts[i].reason, NOW)) != STORE_OK)
			return rc;
		if (accounts[i].mode && (rc = account_setting_put(txn, accounts[i].name, "mode",
								  accounts[i].mode)) != STORE_OK)
			return rc;
	}
	for (size_t i = 0; i < N(sups); i++) {
		struct suppress_rec r = {
		    .reason = (uint8_t)sups[i].reason, .created = NOW, .updated = NOW};
		if ((rc = suppress_put(txn, sups[i].scope, sups[i].target, &r)) != STORE_OK)
			return rc;
	}
	for (size_t i = 0; i < N(maps); i++) {
		char key[128], err[128];
		size_t n = identity_key(maps[i].spec, key, sizeof(key), err, sizeof(err));
		if (n == 0)
			fail_msg("%s: %s", maps[i].spec, err);
		if ((rc = identity_map(txn, key, n, maps[i].account)) != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	fx->dir = unit_tmpdir();
	fx->st = unit_store_open(fx->dir, 8 << 20);
	assert_int_equal(store_write(fx->st, populate, NULL), STORE_OK);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	store_close(fx->st);
	unit_rmtree(fx->dir);
	free(fx);
	return 0;
}

/* A configuration loaded from a file holding EXTRA (after the store path). */
static struct conf *
make_conf(const char *dir, const char *extra)
{
	char text[1024], err[512], *path;
	struct conf *c;

	snprintf(text, sizeof(text), "store = { path = \"db\"; };\n%s\n", extra ? extra : "");
	path = unit_write_conf(dir, text);
	c = conf_load(path, err, sizeof(err));
	if (c == NULL)
		fail_msg("conf_load: %s", err);
	free(path);
	return c;
}

static struct facts
mkfacts(int stage, const char *sasl, const char *sender, const char *rcpt, const char *client)
{
	struct facts f = {
	    .stage = stage,
	    .door = DOOR_POLICY,
	    .queue_id = "",
	    .instance = "1a2b.65f0c3d1.9c4e2.0",
	    .sender = sender ? sender : "",
	    .recipient = rcpt,
	    .sasl_username = sasl ? sasl : "",
	    .client_address = client ? client : "",
	    .recipient_count = stage == STAGE_EOM || stage == STAGE_DATA ? 1 : 0,
	    .now = NOW,
	};
	return f;
}

/* ---- the decision table ------------------------------------------------------ */

#define PAUSED_TEXT \
	"Sending paused for account pausedco since 2026-11-24T13:05:00Z: bounce rate too high"
#define ACME_SUP_TEXT                                                                 \
	"<bob@example.com> is on the account acme suppression list (complaint since " \
	"2026-11-24); not sent"
#define GLOBAL_SUP_TEXT                                                                     \
	"<carol@example.com> is on the global suppression list (bounce since 2026-11-24); " \
	"not sent"
#define UNMATCHED_TEXT "No sending account matches this message"
#define UNKNOWN_TEXT "Sending account is not provisioned"

static const struct dcase {
	const char *what;
	const char *conf;
	int stage;
	const char *sasl, *sender, *rcpt, *client;
	/* the verdict */
	int kind, would;
	const char *rule, *code, *dsn, *text, *account;
	int account_new, record;
} cases[] = {
    /* paused */
    {"paused: tempfail by default", NULL, STAGE_RCPT, "pausedco", "a@pausedco.example",
     "x@example.net", NULL, VK_TEMPFAIL, 0, "paused", "450", "4.7.1", PAUSED_TEXT, "pausedco", 0,
     0},
    {"paused at MAIL", NULL, STAGE_MAIL, "pausedco", "a@pausedco.example", NULL, NULL, VK_TEMPFAIL,
     0, "paused", "450", "4.7.1", PAUSED_TEXT, "pausedco", 0, 0},
    {"paused at EOM: refused, not recorded", NULL, STAGE_EOM, "pausedco", "a@pausedco.example",
     NULL, NULL, VK_TEMPFAIL, 0, "paused", "450", "4.7.1", PAUSED_TEXT, "pausedco", 0, 0},
    {"paused beats suppression", NULL, STAGE_RCPT, "pausedco", "", "carol@example.com", NULL,
     VK_TEMPFAIL, 0, "paused", "450", "4.7.1", PAUSED_TEXT, "pausedco", 0, 0},
    {"paused_action reject", "accounts = { paused_action = \"reject\"; };", STAGE_RCPT, "pausedco",
     "", "x@example.net", NULL, VK_REJECT, 0, "paused", "554", "5.7.1", PAUSED_TEXT, "pausedco", 0,
     0},
    {"paused_action hold", "accounts = { paused_action = \"hold\"; };", STAGE_EOM, "pausedco", "",
     NULL, NULL, VK_HOLD, 0, "paused", "", "", PAUSED_TEXT, "pausedco", 0, 1},
    {"paused_action hold at RCPT: no record", "accounts = { paused_action = \"hold\"; };",
     STAGE_RCPT, "pausedco", "", "x@example.net", NULL, VK_HOLD, 0, "paused", "", "", PAUSED_TEXT,
     "pausedco", 0, 0},
    {"paused with no reason", NULL, STAGE_RCPT, "quiet", "", "x@example.net", NULL, VK_TEMPFAIL, 0,
     "paused", "450", "4.7.1",
     "Sending paused for account quiet since 2026-11-24T13:05:00Z: no reason given", "quiet", 0, 0},
    /* suppression */
    {"suppressed on the account list", NULL, STAGE_RCPT, "acme", "", "bob@example.com", NULL,
     VK_REJECT, 0, "suppressed", "550", "5.7.1", ACME_SUP_TEXT, "acme", 0, 0},
    {"suppressed on the global list", NULL, STAGE_RCPT, "acme", "", "carol@example.com", NULL,
     VK_REJECT, 0, "suppressed", "550", "5.7.1", GLOBAL_SUP_TEXT, "acme", 0, 0},
    {"recipient normalised first", NULL, STAGE_RCPT, "acme", "", "<Carol@Example.COM.>", NULL,
     VK_REJECT, 0, "suppressed", "550", "5.7.1", GLOBAL_SUP_TEXT, "acme", 0, 0},
    {"global domain entry", NULL, STAGE_RCPT, "acme", "", "z@gone.example", NULL, VK_REJECT, 0,
     "suppressed", "550", "5.7.1",
     "<z@gone.example> is on the global suppression list (manual since 2026-11-24); not sent",
     "acme", 0, 0},
    {"account entry of another account", NULL, STAGE_RCPT, "acme", "", "dan@example.com", NULL,
     VK_PASS, 0, NULL, "", "", "", "acme", 0, 0},
    {"review: still checked for suppression", NULL, STAGE_RCPT, "rev", "", "dan@example.com", NULL,
     VK_REJECT, 0, "suppressed", "550", "5.7.1",
     "<dan@example.com> is on the account rev suppression list (unsubscribe since 2026-11-24); "
     "not sent",
     "rev", 0, 0},
    {"review: passes otherwise", NULL, STAGE_RCPT, "rev", "", "x@example.net", NULL, VK_PASS, 0,
     NULL, "", "", "", "rev", 0, 0},
    {"suppression only at RCPT (EOM)", NULL, STAGE_EOM, "acme", "", "bob@example.com", NULL,
     VK_PASS, 0, NULL, "", "", "", "acme", 0, 1},
    {"suppression only at RCPT (MAIL)", NULL, STAGE_MAIL, "acme", "", "bob@example.com", NULL,
     VK_PASS, 0, NULL, "", "", "", "acme", 0, 0},
    {"unparsable recipient passes", NULL, STAGE_RCPT, "acme", "", "not-an-address", NULL, VK_PASS,
     0, NULL, "", "", "", "acme", 0, 0},
    {"identified by sender mapping", NULL, STAGE_RCPT, "", "news@acme.example", "bob@example.com",
     NULL, VK_REJECT, 0, "suppressed", "550", "5.7.1", ACME_SUP_TEXT, "acme", 0, 0},
    {"identified by client network", NULL, STAGE_RCPT, "", "", "bob@example.com", "192.0.2.9",
     VK_REJECT, 0, "suppressed", "550", "5.7.1", ACME_SUP_TEXT, "acme", 0, 0},
    /* unmatched */
    {"unmatched: dunno by default", NULL, STAGE_RCPT, "", "someone@elsewhere.example",
     "x@example.net", "198.51.100.1", VK_PASS, 0, NULL, "", "", "", "", 0, 0},
    {"unmatched: tempfail", "accounts = { unmatched = \"tempfail\"; };", STAGE_RCPT, "",
     "someone@elsewhere.example", "x@example.net", NULL, VK_TEMPFAIL, 0, "unmatched", "450",
     "4.7.1", UNMATCHED_TEXT, "", 0, 0},
    {"unmatched: reject", "accounts = { unmatched = \"reject\"; };", STAGE_MAIL, "", "", NULL, NULL,
     VK_REJECT, 0, "unmatched", "554", "5.7.1", UNMATCHED_TEXT, "", 0, 0},
    {"unmatched: not recorded at EOM", NULL, STAGE_EOM, "", "", NULL, NULL, VK_PASS, 0, NULL, "",
     "", "", "", 0, 0},
    /* unknown accounts */
    {"unknown login, auto_create off", "accounts = { auto_create = false; };", STAGE_RCPT, "newbie",
     "", "x@example.net", NULL, VK_TEMPFAIL, 0, "unknown_account", "450", "4.7.1", UNKNOWN_TEXT,
     "newbie", 0, 0},
    {"unknown login, auto_create off, reject",
     "accounts = { auto_create = false; unknown = \"reject\"; };", STAGE_RCPT, "newbie", "",
     "x@example.net", NULL, VK_REJECT, 0, "unknown_account", "554", "5.7.1", UNKNOWN_TEXT, "newbie",
     0, 0},
    {"unknown login, auto_create off, dunno",
     "accounts = { auto_create = false; unknown = \"dunno\"; };", STAGE_RCPT, "newbie", "",
     "x@example.net", NULL, VK_PASS, 0, NULL, "", "", "", "newbie", 0, 0},
    {"mapping to a missing account is unknown even with auto_create", NULL, STAGE_RCPT,
     "ghostlogin", "", "x@example.net", NULL, VK_TEMPFAIL, 0, "unknown_account", "450", "4.7.1",
     UNKNOWN_TEXT, "ghostacct", 0, 0},
    /* auto-create */
    {"auto-create a new SASL login", NULL, STAGE_RCPT, "newbie", "", "x@example.net", NULL, VK_PASS,
     0, NULL, "", "", "", "newbie", 1, 0},
    {"auto-create at MAIL", NULL, STAGE_MAIL, "newbie", "", NULL, NULL, VK_PASS, 0, NULL, "", "",
     "", "newbie", 1, 0},
    {"auto-create at EOM records", NULL, STAGE_EOM, "newbie", "", NULL, NULL, VK_PASS, 0, NULL, "",
     "", "", "newbie", 1, 1},
    {"auto-create: global list still applies", NULL, STAGE_RCPT, "newbie", "", "carol@example.com",
     NULL, VK_REJECT, 0, "suppressed", "550", "5.7.1", GLOBAL_SUP_TEXT, "newbie", 1, 0},
    {"existing account: not new", NULL, STAGE_RCPT, "acme", "", "x@example.net", NULL, VK_PASS, 0,
     NULL, "", "", "", "acme", 0, 0},
    /* monitor mode */
    {"global monitor: paused", "mode = \"monitor\";", STAGE_RCPT, "pausedco", "", "x@example.net",
     NULL, VK_PASS, VK_TEMPFAIL, "paused", "450", "4.7.1", PAUSED_TEXT, "pausedco", 0, 0},
    {"global monitor: suppressed", "mode = \"monitor\";", STAGE_RCPT, "acme", "",
     "carol@example.com", NULL, VK_PASS, VK_REJECT, "suppressed", "550", "5.7.1", GLOBAL_SUP_TEXT,
     "acme", 0, 0},
    {"global monitor: hold", "mode = \"monitor\"; accounts = { paused_action = \"hold\"; };",
     STAGE_RCPT, "pausedco", "", "x@example.net", NULL, VK_PASS, VK_HOLD, "paused", "", "",
     PAUSED_TEXT, "pausedco", 0, 0},
    {"global monitor: unmatched", "mode = \"monitor\"; accounts = { unmatched = \"reject\"; };",
     STAGE_RCPT, "", "", "x@example.net", NULL, VK_PASS, VK_REJECT, "unmatched", "554", "5.7.1",
     UNMATCHED_TEXT, "", 0, 0},
    {"global monitor: unknown account", "mode = \"monitor\"; accounts = { auto_create = false; };",
     STAGE_RCPT, "newbie", "", "x@example.net", NULL, VK_PASS, VK_TEMPFAIL, "unknown_account",
     "450", "4.7.1", UNKNOWN_TEXT, "newbie", 0, 0},
    {"global monitor: a pass stays a plain pass", "mode = \"monitor\";", STAGE_RCPT, "acme", "",
     "x@example.net", NULL, VK_PASS, 0, NULL, "", "", "", "acme", 0, 0},
    {"account mode=monitor", NULL, STAGE_RCPT, "mon", "", "x@example.net", NULL, VK_PASS,
     VK_TEMPFAIL, "paused", "450", "4.7.1",
     "Sending paused for account mon since 2026-11-24T13:05:00Z: abuse", "mon", 0, 0},
    {"account mode=enforce beats global monitor", "mode = \"monitor\";", STAGE_RCPT, "enf", "",
     "x@example.net", NULL, VK_TEMPFAIL, 0, "paused", "450", "4.7.1",
     "Sending paused for account enf since 2026-11-24T13:05:00Z: abuse", "enf", 0, 0},
    {"account mode=default follows global enforce", NULL, STAGE_RCPT, "dflt", "", "x@example.net",
     NULL, VK_TEMPFAIL, 0, "paused", "450", "4.7.1",
     "Sending paused for account dflt since 2026-11-24T13:05:00Z: abuse", "dflt", 0, 0},
    {"account mode=default follows global monitor", "mode = \"monitor\";", STAGE_RCPT, "dflt", "",
     "x@example.net", NULL, VK_PASS, VK_TEMPFAIL, "paused", "450", "4.7.1",
     "Sending paused for account dflt since 2026-11-24T13:05:00Z: abuse", "dflt", 0, 0},
    /* EOM records; DATA and OTHER pass without looking */
    {"EOM records an identified account", NULL, STAGE_EOM, "acme", "", NULL, NULL, VK_PASS, 0, NULL,
     "", "", "", "acme", 0, 1},
    {"RCPT does not record", NULL, STAGE_RCPT, "acme", "", "x@example.net", NULL, VK_PASS, 0, NULL,
     "", "", "", "acme", 0, 0},
    {"EOM in monitor mode records", "mode = \"monitor\";", STAGE_EOM, "acme", "", NULL, NULL,
     VK_PASS, 0, NULL, "", "", "", "acme", 0, 1},
    {"DATA passes, even paused", NULL, STAGE_DATA, "pausedco", "", "carol@example.com", NULL,
     VK_PASS, 0, NULL, "", "", "", "", 0, 0},
    {"OTHER passes, even paused", NULL, STAGE_OTHER, "pausedco", "", "carol@example.com", NULL,
     VK_PASS, 0, NULL, "", "", "", "", 0, 0},
    {"DATA with a new login creates nothing", NULL, STAGE_DATA, "newbie", "", NULL, NULL, VK_PASS,
     0, NULL, "", "", "", "", 0, 0},
};

static void
check_verdict(const struct dcase *c, const struct verdict *v)
{
	const char *rule = v->rule ? v->rule : "(null)";
	const char *want_rule = c->rule ? c->rule : "(null)";

	if (v->kind != c->kind || v->would != c->would || strcmp(rule, want_rule) != 0 ||
	    strcmp(v->code, c->code) != 0 || strcmp(v->dsn, c->dsn) != 0 ||
	    strcmp(v->text, c->text) != 0 || strcmp(v->account, c->account) != 0 ||
	    v->account_new != c->account_new || v->record != c->record)
		fail_msg("%s:\n  got  kind=%d would=%d rule=%s code='%s' dsn='%s' account='%s' "
			 "new=%d record=%d\n       text='%s'\n  want kind=%d would=%d rule=%s "
			 "code='%s' dsn='%s' account='%s' new=%d record=%d\n       text='%s'",
			 c->what, v->kind, v->would, rule, v->code, v->dsn, v->account,
			 v->account_new, v->record, v->text, c->kind, c->would, want_rule, c->code,
			 c->dsn, c->account, c->account_new, c->record, c->text);
}

static void
test_decide_table(void **state)
{
	struct fixture *fx = *state;

	for (size_t i = 0; i < N(cases); i++) {
		struct conf *c = make_conf(fx->dir, cases[i].conf);
		struct facts f = mkfacts(cases[i].stage, cases[i].sasl, cases[i].sender,
					 cases[i].rcpt, cases[i].client);
		struct verdict v;

		memset(&v, 0x5a, sizeof(v));
		decide(c, fx->st, &f, &v);
		check_verdict(&cases[i], &v);
		conf_free(c);
	}
}

/* decide() never writes: an auto-created account is only flagged. */
static void
test_decide_does_not_write(void **state)
{
	struct fixture *fx = *state;
	struct conf *c = make_conf(fx->dir, NULL);
	struct facts f = mkfacts(STAGE_EOM, "newbie", "", NULL, NULL);
	struct store_stat before, after;
	struct verdict v;

	f.queue_id = "4QxYz1";
	assert_int_equal(store_db_stat(fx->st, DB_ACCOUNT, &before), STORE_OK);
	decide(c, fx->st, &f, &v);
	decide(c, fx->st, &f, &v);
	assert_int_equal(v.account_new, 1);
	assert_int_equal(store_db_stat(fx->st, DB_ACCOUNT, &after), STORE_OK);
	assert_int_equal(after.entries, before.entries);
	assert_int_equal(store_db_stat(fx->st, DB_MESSAGE, &after), STORE_OK);
	assert_int_equal(after.entries, 0);
	conf_free(c);
}

/* The counters follow refusals and would-refusals. */
static void
test_decide_stats(void **state)
{
	struct fixture *fx = *state;
	struct conf *enforce = make_conf(fx->dir, NULL);
	struct conf *monitor = make_conf(fx->dir, "mode = \"monitor\";");
	struct decide_stats s0 = decide_stats;
	struct facts paused = mkfacts(STAGE_RCPT, "pausedco", "", "x@example.net", NULL);
	struct facts sup = mkfacts(STAGE_RCPT, "acme", "", "carol@example.com", NULL);
	struct facts ok = mkfacts(STAGE_RCPT, "acme", "", "x@example.net", NULL);
	struct facts data = mkfacts(STAGE_DATA, "acme", "", NULL, NULL);
	struct verdict v;

	decide(enforce, fx->st, &paused, &v);
	decide(enforce, fx->st, &sup, &v);
	decide(enforce, fx->st, &ok, &v);
	decide(monitor, fx->st, &sup, &v);
	decide(enforce, fx->st, &data, &v);
	assert_int_equal(decide_stats.requests - s0.requests, 5);
	assert_int_equal(decide_stats.refused[VK_TEMPFAIL] - s0.refused[VK_TEMPFAIL], 1);
	assert_int_equal(decide_stats.refused[VK_REJECT] - s0.refused[VK_REJECT], 1);
	assert_int_equal(decide_stats.would_refuse - s0.would_refuse, 1);
	assert_int_equal(decide_stats.store_errors - s0.store_errors, 0);
	conf_free(enforce);
	conf_free(monitor);
}

/* ---- ledger ------------------------------------------------------------------ */

static int
get_message(struct store *st, const char *key, struct message_rec *m)
{
	struct store_txn *txn;
	struct store_val v;
	int rc;

	assert_int_equal(store_read_begin(st, &txn), STORE_OK);
	rc = store_get(txn, DB_MESSAGE, key, strlen(key), &v);
	if (rc == STORE_OK)
		assert_int_equal(rec_message_decode(v.data, v.len, m), 0);
	store_read_end(txn);
	return rc;
}

static int
get_account(struct store *st, const char *name, struct account_rec *rec)
{
	struct store_txn *txn;
	int rc;

	assert_int_equal(store_read_begin(st, &txn), STORE_OK);
	rc = account_get(txn, name, rec);
	store_read_end(txn);
	return rc;
}

static int
count_history(const struct history_rec *h, void *arg)
{
	(void)h;
	(*(int *)arg)++;
	return 0;
}

static int
history_len(struct store *st, const char *name)
{
	struct store_txn *txn;
	int n = 0;

	assert_int_equal(store_read_begin(st, &txn), STORE_OK);
	assert_int_equal(account_history_scan(txn, name, count_history, &n), 0);
	store_read_end(txn);
	return n;
}

static void
test_ledger_auto_create_and_record(void **state)
{
	struct fixture *fx = *state;
	struct conf *c = make_conf(fx->dir, NULL);
	struct ledger *l = ledger_create(fx->st, 16);
	struct facts f = mkfacts(STAGE_EOM, "newbie", "", NULL, NULL);
	struct account_rec acct;
	struct message_rec m;
	struct verdict v;

	f.queue_id = "4QxYz1";
	f.recipient_count = 3;
	decide(c, fx->st, &f, &v);
	assert_int_equal(v.account_new, 1);
	assert_int_equal(v.record, 1);
	assert_int_equal(ledger_note(l, &f, &v), 0);
	assert_int_equal(ledger_pending(l), 2);
	/* Nothing is written before the flush. */
	assert_int_equal(get_account(fx->st, "newbie", &acct), STORE_NOTFOUND);
	assert_int_equal(ledger_flush(l), 0);
	assert_int_equal(ledger_pending(l), 0);
	assert_int_equal(ledger_flush(l), 0); /* an empty flush is fine */

	assert_int_equal(get_account(fx->st, "newbie", &acct), STORE_OK);
	assert_int_equal(acct.state, AS_ACTIVE);
	assert_int_equal(acct.created, NOW);
	assert_string_equal(acct.by, "auto-create");
	assert_string_equal(acct.reason, "first message seen");
	assert_int_equal(history_len(fx->st, "newbie"), 1);
	assert_int_equal(get_message(fx->st, "4QxYz1", &m), STORE_OK);
	assert_int_equal(m.when, NOW);
	assert_int_equal(m.recipients, 3);
	assert_int_equal(m.door, DOOR_POLICY);
	assert_string_equal(m.account, "newbie");

	/* Now the account exists: the next decision is no longer "new". */
	f.queue_id = "4QxYz2";
	decide(c, fx->st, &f, &v);
	assert_int_equal(v.account_new, 0);
	assert_int_equal(v.record, 1);

	/* The other door sees the same message: the first record stays. */
	struct facts milter = f;
	milter.queue_id = "4QxYz1";
	milter.door = DOOR_MILTER;
	milter.recipient_count = 5;
	milter.now = NOW + 60;
	decide(c, fx->st, &milter, &v);
	assert_int_equal(ledger_note(l, &milter, &v), 0);
	assert_int_equal(ledger_pending(l), 1);
	assert_int_equal(ledger_flush(l), 0);
	assert_int_equal(get_message(fx->st, "4QxYz1", &m), STORE_OK);
	assert_int_equal(m.when, NOW);
	assert_int_equal(m.recipients, 3);
	assert_int_equal(m.door, DOOR_POLICY);
	assert_int_equal(history_len(fx->st, "newbie"), 1);

	ledger_destroy(l);
	ledger_destroy(NULL);
	conf_free(c);
}

/* Both doors in one batch: the first note wins; one auto-create makes one account. */
static void
test_ledger_same_batch(void **state)
{
	struct fixture *fx = *state;
	struct conf *c = make_conf(fx->dir, NULL);
	struct ledger *l = ledger_create(fx->st, 16);
	struct facts pol = mkfacts(STAGE_EOM, "fresh", "", NULL, NULL);
	struct facts mil = pol;
	struct message_rec m;
	struct account_rec acct;
	struct verdict v;

	pol.queue_id = "QSAME";
	pol.recipient_count = 2;
	mil.queue_id = "QSAME";
	mil.door = DOOR_MILTER;
	mil.recipient_count = 9;
	mil.now = NOW + 5;
	decide(c, fx->st, &pol, &v);
	assert_int_equal(ledger_note(l, &pol, &v), 0);
	decide(c, fx->st, &mil, &v);
	assert_int_equal(v.account_new, 1); /* still new: nothing flushed yet */
	assert_int_equal(ledger_note(l, &mil, &v), 0);
	assert_int_equal(ledger_pending(l), 4);
	assert_int_equal(ledger_flush(l), 0);
	assert_int_equal(get_message(fx->st, "QSAME", &m), STORE_OK);
	assert_int_equal(m.door, DOOR_POLICY);
	assert_int_equal(m.recipients, 2);
	assert_int_equal(m.when, NOW);
	assert_int_equal(get_account(fx->st, "fresh", &acct), STORE_OK);
	assert_int_equal(acct.created, NOW);
	assert_int_equal(history_len(fx->st, "fresh"), 1);
	ledger_destroy(l);
	conf_free(c);
}

/* Keys: the queue id, else the instance; nothing without either. A full queue says so. */
static void
test_ledger_keys_and_full(void **state)
{
	struct fixture *fx = *state;
	struct conf *c = make_conf(fx->dir, NULL);
	struct ledger *l = ledger_create(fx->st, 2);
	struct facts f = mkfacts(STAGE_EOM, "acme", "", NULL, NULL);
	struct message_rec m;
	struct store_stat st;
	struct verdict v;

	decide(c, fx->st, &f, &v); /* no queue id: the instance is the key */
	assert_int_equal(v.record, 1);
	assert_int_equal(ledger_note(l, &f, &v), 0);
	f.instance = "";
	assert_int_equal(ledger_note(l, &f, &v), 0); /* neither: nothing queued */
	assert_int_equal(ledger_pending(l), 1);
	f.queue_id = "QFULL";
	assert_int_equal(ledger_note(l, &f, &v), 1); /* now full */
	assert_int_equal(ledger_pending(l), 2);
	f.queue_id = "QDROP";
	assert_int_equal(ledger_note(l, &f, &v), 1); /* no room: not queued */
	assert_int_equal(ledger_pending(l), 2);
	assert_int_equal(ledger_flush(l), 0);
	assert_int_equal(get_message(fx->st, "1a2b.65f0c3d1.9c4e2.0", &m), STORE_OK);
	assert_string_equal(m.account, "acme");
	assert_int_equal(get_message(fx->st, "QFULL", &m), STORE_OK);
	assert_int_equal(get_message(fx->st, "QDROP", &m), STORE_NOTFOUND);
	assert_int_equal(store_db_stat(fx->st, DB_MESSAGE, &st), STORE_OK);
	assert_int_equal(st.entries, 2);

	/* A pass that asks for nothing queues nothing. */
	struct facts rcpt = mkfacts(STAGE_RCPT, "acme", "", "x@example.net", NULL);
	rcpt.queue_id = "QRCPT";
	decide(c, fx->st, &rcpt, &v);
	assert_int_equal(ledger_note(l, &rcpt, &v), 0);
	assert_int_equal(ledger_pending(l), 0);
	ledger_destroy(l);
	conf_free(c);
}

/* A stale auto-create never overwrites an account that exists by flush time. */
static void
test_ledger_no_overwrite(void **state)
{
	struct fixture *fx = *state;
	struct ledger *l = ledger_create(fx->st, 4);
	struct facts f = mkfacts(STAGE_RCPT, "pausedco", "", "x@example.net", NULL);
	struct verdict v;
	struct account_rec acct;

	memset(&v, 0, sizeof(v));
	snprintf(v.account, sizeof(v.account), "pausedco");
	v.account_new = 1;
	assert_int_equal(ledger_note(l, &f, &v), 0);
	assert_int_equal(ledger_flush(l), 0);
	assert_int_equal(get_account(fx->st, "pausedco", &acct), STORE_OK);
	assert_int_equal(acct.state, AS_PAUSED);
	assert_string_equal(acct.reason, "bounce rate too high");
	assert_int_equal(history_len(fx->st, "pausedco"), 2);
	ledger_destroy(l);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_decide_table),	 T(test_decide_does_not_write),
	    T(test_decide_stats),	 T(test_ledger_auto_create_and_record),
	    T(test_ledger_same_batch),	 T(test_ledger_keys_and_full),
	    T(test_ledger_no_overwrite),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
