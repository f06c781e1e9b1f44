/*
 * test_events -- the pure parts behind the events: the mailbox simulator's
 * outcomes, the event log's JSON schema, and tying a report to its account
 * by Feedback-ID (%a and %h forms), queue id and Message-ID.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"
#include "account/account.h"
#include "conf/conf.h"
#include "decide/simulator.h"
#include "feedback/attribute.h"
#include "feedback/eventlog.h"
#include "milter/milter.h"
#include "store/records.h"

static void
simulator_table(void **state)
{
	static const struct {
		const char *domain, *rcpt;
		int want;
	} cases[] = {
	    {"simulator.invalid", "bounce@simulator.invalid", SIM_BOUNCE},
	    {"simulator.invalid", "Bounce+run42@SIMULATOR.invalid", SIM_BOUNCE},
	    {"simulator.invalid", "bounce@simulator.invalid.", SIM_BOUNCE},
	    {"simulator.invalid", "suppressionlist@simulator.invalid", SIM_SUPPRESSED},
	    {"simulator.invalid", "complaint+x@simulator.invalid", SIM_COMPLAINT},
	    {"simulator.invalid", "success@simulator.invalid", SIM_SUCCESS},
	    {"simulator.invalid", "anyone@simulator.invalid", SIM_SUCCESS},
	    {"simulator.invalid", "bouncer@simulator.invalid", SIM_SUCCESS},
	    {"simulator.invalid", "bounce@sub.simulator.invalid", SIM_NONE},
	    {"simulator.invalid", "bounce@example.test", SIM_NONE},
	    {"simulator.invalid", "bounce", SIM_NONE},
	    {"", "bounce@simulator.invalid", SIM_NONE},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = simulator_outcome(cases[i].domain, cases[i].rcpt);
		if (got != cases[i].want)
			fail_msg("%s under '%s': got %d, want %d", cases[i].rcpt, cases[i].domain,
				 got, cases[i].want);
	}
}

static void
event_json_schema(void **state)
{
	json_t *w = json_pack("{s:i}", "eligible", 12);
	struct outpost_event ev = {.type = "state",
				   .ts_ms = 1732806187123LL,
				   .account = "acct1",
				   .from = "review",
				   .to = "paused",
				   .reason = "bounce rate 16.67%",
				   .has_rate = 1,
				   .rate = 16.5,
				   .window = w};
	json_t *o = event_json(&ev, "mx1");
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	(void)state;
	assert_string_equal(s, "{\"ts\":\"2024-11-28T15:03:07.123Z\",\"type\":\"state\","
			       "\"account\":\"acct1\",\"recipient\":null,\"queue_id\":null,"
			       "\"node\":\"mx1\",\"reason\":\"bounce rate 16.67%\","
			       "\"from\":\"review\",\"to\":\"paused\",\"rate\":16.5,"
			       "\"window\":{\"eligible\":12}}");
	free(s);
	json_decref(o);
	json_decref(w);
	assert_true(event_hooked("state") && event_hooked("listing") && !event_hooked("bounce"));
}

static int
setup_accounts(struct store_txn *txn, void *arg)
{
	struct message_rec m = {.when = 1, .recipients = 1, .door = DOOR_POLICY};
	uint8_t buf[RECORD_MAX];
	size_t n;

	(void)arg;
	if (account_create(txn, "acct1", "operator:root", "", 1) != STORE_OK ||
	    account_create(txn, "acct2", "operator:root", "", 1) != STORE_OK)
		return STORE_ERR;
	strcpy(m.account, "acct2");
	n = rec_message_encode(&m, buf, sizeof(buf));
	return store_put(txn, DB_MESSAGE, "4F2A81C0D12", 11, buf, n);
}

static void
attribution(void **state)
{
	static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	char *dir = unit_tmpdir(), *path = unit_write_conf(dir, "user = \"\";\n");
	char err[512], fbid[128], acct[ACCOUNT_NAME_MAX];
	struct conf *conf = conf_load(path, err, sizeof(err));
	struct store *st = unit_store_open(dir, 8 << 20);
	struct mime_orig orig = {0};
	struct attribute_in in = {.orig = &orig, .feedback_key = key};
	struct attribution a;
	struct store_txn *txn;

	(void)state;
	assert_non_null(conf);
	assert_int_equal(store_write(st, setup_accounts, NULL), STORE_OK);
	assert_int_equal(store_read_begin(st, &txn), STORE_OK);
	/* %h: the hash the milter writes maps back to its account; %a: the name. */
	milter_feedback_id("%h:outpost", "acct2", key, fbid, sizeof(fbid));
	assert_int_equal(attribute_feedback_id(txn, "%h:outpost", fbid, key, acct, sizeof(acct)),
			 STORE_OK);
	assert_string_equal(acct, "acct2");
	assert_int_equal(attribute_feedback_id(txn, "%a:outpost", fbid, key, acct, sizeof(acct)),
			 STORE_OK); /* the template changed since: still found */
	assert_string_equal(acct, "acct2");
	assert_int_equal(
	    attribute_feedback_id(txn, "%a:outpost", "acct1:outpost", key, acct, sizeof(acct)),
	    STORE_OK);
	assert_string_equal(acct, "acct1");
	assert_int_equal(
	    attribute_feedback_id(txn, "%a:outpost", "nobody:outpost", key, acct, sizeof(acct)),
	    STORE_NOTFOUND);
	assert_int_equal(
	    attribute_feedback_id(txn, "%a:outpost", "acct1:other", key, acct, sizeof(acct)),
	    STORE_NOTFOUND);
	/* VERP first; then Feedback-ID; then queue id; then a Postfix Message-ID. */
	in.verp_account = "acct1";
	in.verp_rcpt = "Bob@Example.ORG";
	strcpy(orig.feedback_id, "acct2:outpost");
	assert_int_equal(attribute_report(txn, conf, &in, &a), STORE_OK);
	assert_string_equal(a.how, "verp");
	assert_string_equal(a.account, "acct1");
	assert_string_equal(a.recipient, "bob@example.org");
	in.verp_account = "ghost";
	assert_int_equal(attribute_report(txn, conf, &in, &a), STORE_OK);
	assert_string_equal(a.how, "feedback-id");
	assert_string_equal(a.account, "acct2");
	orig.feedback_id[0] = '\0';
	in.queue_id = "4F2A81C0D12";
	assert_int_equal(attribute_report(txn, conf, &in, &a), STORE_OK);
	assert_string_equal(a.how, "queue-id");
	assert_string_equal(a.queue_id, "4F2A81C0D12");
	in.queue_id = "0000000000";
	strcpy(orig.message_id, "<20251124130502.4F2A81C0D12@out1.platform.test>");
	assert_int_equal(attribute_report(txn, conf, &in, &a), STORE_OK);
	assert_string_equal(a.how, "message-id");
	assert_string_equal(a.account, "acct2");
	strcpy(orig.message_id, "<abc@shop.example>");
	assert_int_equal(attribute_report(txn, conf, &in, &a), STORE_NOTFOUND);
	store_read_end(txn);
	store_close(st);
	conf_free(conf);
	free(path);
	unit_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(simulator_table),
	    cmocka_unit_test(event_json_schema),
	    cmocka_unit_test(attribution),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
