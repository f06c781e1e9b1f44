/*
 * test_maillog -- the Postfix log line parser (maillog.h).
 *
 * The lines are real: logged by Postfix 3.7.11 (Debian 12) through
 * maillog_file, relaying to a test sink that answers per recipient (Gmail's
 * multi-line 550-5.1.1, Microsoft's 550 5.5.0, 451 greylisting ...), with a
 * policy service, a milter and header_checks refusing mail, XCLIENT logins,
 * XFORWARD, sendmail(1) submissions, aliases, and the local, virtual, pipe,
 * error and discard agents.  The other prefixes (RFC 3164, RFC 3339, RFC 5424)
 * carry the same messages.  Expectations are "field=value" lines; "(null)"
 * means the field is absent.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "feedback/maillog.h"
#include "util/text.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* 2026-11-25T00:00:00Z: the day after the lab run that logged the lines. */
#define NOW 1795564800

/* ---- reading a field by name --------------------------------------------- */

static const struct {
	const char *name;
	size_t off;
} str_fields[] = {
/* clang-format off */
#define S(f) {#f, offsetof(struct maillog_rec, f)}
    /* clang-format on */
    S(host),	    S(syslog_name), S(process),	      S(queue_id),    S(client_name),
    S(client_addr), S(sasl_method), S(sasl_username), S(sasl_sender), S(orig_queue_id),
    S(orig_client), S(orig_id),	    S(message_id),    S(from),	      S(to),
    S(orig_to),	    S(relay),	    S(delays),	      S(tls),	      S(dsn),
    S(status_word), S(text),	    S(new_queue_id),  S(stage),	      S(code),
    S(proto),	    S(helo),
#undef S
};

static void
show_time(const struct maillog_rec *r, char *b, size_t n)
{
	text_time_format(r->time, b, n);
}
static void
show_pid(const struct maillog_rec *r, char *b, size_t n)
{
	snprintf(b, n, "%ld", r->pid);
}
static void
show_uid(const struct maillog_rec *r, char *b, size_t n)
{
	snprintf(b, n, "%ld", r->uid);
}
static void
show_size(const struct maillog_rec *r, char *b, size_t n)
{
	snprintf(b, n, "%llu", (unsigned long long)r->size);
}
static void
show_nrcpt(const struct maillog_rec *r, char *b, size_t n)
{
	snprintf(b, n, "%u", r->nrcpt);
}
static void
show_conn_use(const struct maillog_rec *r, char *b, size_t n)
{
	snprintf(b, n, "%u", r->conn_use);
}
static void
show_delay_ms(const struct maillog_rec *r, char *b, size_t n)
{
	snprintf(b, n, "%llu", (unsigned long long)r->delay_ms);
}
static void
show_severity(const struct maillog_rec *r, char *b, size_t n)
{
	static const char *const names[] = {"info", "warning", "error", "fatal", "panic"};
	snprintf(b, n, "%s", names[r->severity]);
}
static void
show_status(const struct maillog_rec *r, char *b, size_t n)
{
	snprintf(b, n, "%s", maillog_status_name(r->status));
}
static void
show_notice(const struct maillog_rec *r, char *b, size_t n)
{
	snprintf(b, n, "%s", r->notice ? maillog_notice_name(r->notice) : "(none)");
}
static void
show_action(const struct maillog_rec *r, char *b, size_t n)
{
	snprintf(b, n, "%s", r->action ? maillog_action_name(r->action) : "(none)");
}
static void
show_truncated(const struct maillog_rec *r, char *b, size_t n)
{
	snprintf(b, n, "%d", r->truncated);
}
static void
show_resent(const struct maillog_rec *r, char *b, size_t n)
{
	snprintf(b, n, "%d", r->resent);
}
static void
show_forced(const struct maillog_rec *r, char *b, size_t n)
{
	snprintf(b, n, "%d", r->forced);
}
static void
show_to_postmaster(const struct maillog_rec *r, char *b, size_t n)
{
	snprintf(b, n, "%d", r->to_postmaster);
}

static const struct {
	const char *name;
	void (*show)(const struct maillog_rec *, char *, size_t);
} other_fields[] = {
    {"time", show_time},	 {"pid", show_pid},	      {"uid", show_uid},
    {"size", show_size},	 {"nrcpt", show_nrcpt},	      {"conn_use", show_conn_use},
    {"delay_ms", show_delay_ms}, {"severity", show_severity}, {"status", show_status},
    {"notice", show_notice},	 {"action", show_action},     {"truncated", show_truncated},
    {"resent", show_resent},	 {"forced", show_forced},     {"to_postmaster", show_to_postmaster},
};

/* Field NAME of R as text into BUF; fails the test for an unknown name. */
static const char *
field(const struct maillog_rec *r, const char *name, char *buf, size_t len)
{
	for (size_t i = 0; i < N(str_fields); i++)
		if (strcmp(str_fields[i].name, name) == 0) {
			const char *s = *(const char *const *)((const char *)r + str_fields[i].off);
			return s ? s : "(null)";
		}
	for (size_t i = 0; i < N(other_fields); i++)
		if (strcmp(other_fields[i].name, name) == 0) {
			other_fields[i].show(r, buf, len);
			return buf;
		}
	fail_msg("no field %s", name);
	return NULL;
}

/* Check each "name=value\n" of WANT against R. */
static void
check_fields(const char *what, const struct maillog_rec *r, const char *want)
{
	const char *p = want;

	while (*p) {
		const char *nl = strchr(p, '\n'), *eq = strchr(p, '=');
		char name[64], value[2100], buf[64];
		const char *got;

		assert_non_null(nl);
		assert_true(eq != NULL && eq < nl && (size_t)(eq - p) < sizeof(name));
		memcpy(name, p, (size_t)(eq - p));
		name[eq - p] = '\0';
		snprintf(value, sizeof(value), "%.*s", (int)(nl - eq - 1), eq + 1);
		got = field(r, name, buf, sizeof(buf));
		if (strcmp(got, value) != 0)
			fail_msg("%s: %s is \"%s\", want \"%s\"", what, name, got, value);
		p = nl + 1;
	}
}

/* Parse LINE from a heap copy of exactly its length: nothing after it to lean on. */
static int
parse_exact(const char *line, size_t len, int64_t now, struct maillog_rec *r)
{
	char *copy = malloc(len ? len : 1);
	int kind;

	assert_non_null(copy);
	memcpy(copy, line, len);
	kind = maillog_parse(copy, len, now, r);
	free(copy);
	return kind;
}

struct row {
	const char *line;
	int kind;
	const char *want;
};

static struct maillog_rec rec; /* 4 KB: not on the stack */

static void
run_rows(const char *table, const struct row *rows, size_t n, int64_t now)
{
	for (size_t i = 0; i < n; i++) {
		char what[64];
		int kind = parse_exact(rows[i].line, strlen(rows[i].line), now, &rec);

		snprintf(what, sizeof(what), "%s row %zu", table, i);
		if (kind != rows[i].kind)
			fail_msg("%s: kind %s, want %s: %s", what, maillog_kind_name(kind),
				 maillog_kind_name(rows[i].kind), rows[i].line);
		check_fields(what, &rec, rows[i].want);
	}
}

static int
utc(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

/* ---- real Postfix 3.7 lines, one message's life at a time ----------------- */

static const struct row real[] = {
    /* An XCLIENT login (the SASL line), three recipients: sent, bounced (Gmail), deferred. */
    {"Nov 24 14:17:33 mx postfix/smtpd[2212]: 8EA2FA723BB: client=localhost[127.0.0.1], "
     "sasl_method=XCLIENT, sasl_username=acct1",
     MAILLOG_SMTPD_CLIENT,
     "time=2026-11-24T14:17:33Z\nhost=mx\nsyslog_name=postfix\nprocess=smtpd\npid=2212\n"
     "severity=info\nqueue_id=8EA2FA723BB\nclient_name=localhost\nclient_addr=127.0.0.1\n"
     "sasl_method=XCLIENT\nsasl_username=acct1\nsasl_sender=(null)\norig_queue_id=(null)\n"},
    {"Nov 24 14:17:33 mx postfix/cleanup[2218]: 8EA2FA723BB: "
     "message-id=<20261124141733.002211@vm>",
     MAILLOG_CLEANUP_MSGID,
     "queue_id=8EA2FA723BB\nmessage_id=<20261124141733.002211@vm>\nresent=0\n"},
    {"Nov 24 14:17:33 mx postfix/qmgr[2185]: 8EA2FA723BB: from=<news@acct1.example>, size=474, "
     "nrcpt=3 (queue active)",
     MAILLOG_QMGR_FROM, "queue_id=8EA2FA723BB\nfrom=news@acct1.example\nsize=474\nnrcpt=3\n"},
    {"Nov 24 14:17:33 mx postfix/smtp[2244]: 8EA2FA723BB: to=<defer1@remote.example>, "
     "relay=127.0.0.1[127.0.0.1]:48179, delay=0.08, delays=0.06/0.01/0/0.01, dsn=4.7.1, "
     "status=deferred (host 127.0.0.1[127.0.0.1] said: 451 4.7.1 Greylisted, please try again "
     "in 5 minutes (see http://x.test/gl?x=(1)) (in reply to RCPT TO command))",
     MAILLOG_DELIVERY,
     "process=smtp\nqueue_id=8EA2FA723BB\nto=defer1@remote.example\norig_to=(null)\n"
     "relay=127.0.0.1[127.0.0.1]:48179\nconn_use=0\ndelay_ms=80\ndelays=0.06/0.01/0/0.01\n"
     "tls=(null)\ndsn=4.7.1\nstatus=deferred\nstatus_word=deferred\ntruncated=0\n"
     "text=host 127.0.0.1[127.0.0.1] said: 451 4.7.1 Greylisted, please try again in 5 minutes "
     "(see http://x.test/gl?x=(1)) (in reply to RCPT TO command)\n"},
    {"Nov 24 14:17:33 mx postfix/smtp[2244]: 8EA2FA723BB: to=<gmail-nouser@remote.example>, "
     "relay=127.0.0.1[127.0.0.1]:48179, delay=0.08, delays=0.06/0.01/0/0.01, dsn=5.1.1, "
     "status=bounced (host 127.0.0.1[127.0.0.1] said: 550-5.1.1 The email account that you "
     "tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email "
     "address for typos or 550-5.1.1 unnecessary spaces. Learn more at 550 5.1.1  "
     "https://support.google.com/mail/?p=NoSuchUser 5b1f17b1804b1-4316f4f4bb2si1234567f9.52 - "
     "gsmtp (in reply to RCPT TO command))",
     MAILLOG_DELIVERY,
     "to=gmail-nouser@remote.example\ndsn=5.1.1\nstatus=bounced\n"
     "text=host 127.0.0.1[127.0.0.1] said: 550-5.1.1 The email account that you tried to reach "
     "does not exist. Please try 550-5.1.1 double-checking the recipient's email address for "
     "typos or 550-5.1.1 unnecessary spaces. Learn more at 550 5.1.1  "
     "https://support.google.com/mail/?p=NoSuchUser 5b1f17b1804b1-4316f4f4bb2si1234567f9.52 - "
     "gsmtp (in reply to RCPT TO command)\n"},
    {"Nov 24 14:17:33 mx postfix/smtp[2244]: 8EA2FA723BB: to=<ok1@remote.example>, "
     "relay=127.0.0.1[127.0.0.1]:48179, delay=0.08, delays=0.06/0.01/0/0.01, dsn=2.0.0, "
     "status=sent (250 2.0.0 Ok: queued as 4XkQ8d0Lz3z9rvN (id=abc))",
     MAILLOG_DELIVERY,
     "to=ok1@remote.example\ndsn=2.0.0\nstatus=sent\n"
     "text=250 2.0.0 Ok: queued as 4XkQ8d0Lz3z9rvN (id=abc)\n"},
    {"Nov 24 14:17:33 mx postfix/cleanup[2218]: A0E1DA722BE: "
     "message-id=<20261124141733.A0E1DA722BE@mx.outpost.test>",
     MAILLOG_CLEANUP_MSGID, "message_id=<20261124141733.A0E1DA722BE@mx.outpost.test>\n"},
    {"Nov 24 14:17:33 mx postfix/qmgr[2185]: A0E1DA722BE: from=<>, size=3002, nrcpt=1 (queue "
     "active)",
     MAILLOG_QMGR_FROM, "queue_id=A0E1DA722BE\nfrom=\nsize=3002\nnrcpt=1\n"},
    {"Nov 24 14:17:33 mx postfix/bounce[2246]: 8EA2FA723BB: sender non-delivery notification: "
     "A0E1DA722BE",
     MAILLOG_BOUNCE_NOTICE,
     "process=bounce\nqueue_id=8EA2FA723BB\nnotice=non-delivery\nto_postmaster=0\n"
     "new_queue_id=A0E1DA722BE\n"},
    {"Nov 24 14:17:33 mx postfix/qmgr[2185]: A0E1DA722BE: removed", MAILLOG_QMGR_REMOVED,
     "queue_id=A0E1DA722BE\nprocess=qmgr\n"},
    /* ... and 23 s later, postsuper -e: no per-recipient line, only qmgr's. */
    {"Nov 24 14:17:56 mx postfix/qmgr[2392]: 8EA2FA723BB: from=<news@acct1.example>, "
     "status=force-expired, returned to sender",
     MAILLOG_QMGR_EXPIRED, "queue_id=8EA2FA723BB\nfrom=news@acct1.example\nforced=1\n"},

    /* Microsoft, Yahoo, mailbox full, a refusal after DATA. */
    {"Nov 24 14:17:33 mx postfix/smtp[2244]: A634CA722BE: to=<ms1@remote.example>, "
     "relay=127.0.0.1[127.0.0.1]:48179, delay=0.04, delays=0.04/0/0/0, dsn=5.5.0, "
     "status=bounced (host 127.0.0.1[127.0.0.1] said: 550 5.5.0 Requested action not taken: "
     "mailbox unavailable (S2017062302). [AM4PEPF00027A6C.eurprd04.prod.outlook.com "
     "2024-11-05T13:03:08.123Z 08DCFC7B1E2F4D35] (in reply to RCPT TO command))",
     MAILLOG_DELIVERY, "to=ms1@remote.example\ndsn=5.5.0\nstatus=bounced\ndelay_ms=40\n"},
    {"Nov 24 14:17:33 mx postfix/smtp[2244]: C0992A722BE: to=<yahoo1@remote.example>, "
     "relay=127.0.0.1[127.0.0.1]:48179, delay=0.05, delays=0.04/0/0/0, dsn=5.0.0, "
     "status=bounced (host 127.0.0.1[127.0.0.1] said: 554 delivery error: dd Sorry your "
     "message to yahoo1@remote.example cannot be delivered. This mailbox is disabled (554.30). "
     "- mta4321.mail.gq1.yahoo.com (in reply to RCPT TO command))",
     MAILLOG_DELIVERY, "to=yahoo1@remote.example\ndsn=5.0.0\nstatus=bounced\n"},
    {"Nov 24 14:17:33 mx postfix/smtp[2244]: C0992A722BE: to=<full1@remote.example>, "
     "relay=127.0.0.1[127.0.0.1]:48179, delay=0.05, delays=0.04/0/0/0, dsn=5.2.2, "
     "status=bounced (host 127.0.0.1[127.0.0.1] said: 552 5.2.2 <full1@remote.example>: "
     "Recipient address rejected: Mailbox full (in reply to RCPT TO command))",
     MAILLOG_DELIVERY, "to=full1@remote.example\ndsn=5.2.2\nstatus=bounced\n"},
    {"Nov 24 14:17:33 mx postfix/smtp[2244]: D8FEDA722BE: to=<block1@remote.example>, "
     "relay=127.0.0.1[127.0.0.1]:48179, delay=0.04, delays=0.04/0/0/0, dsn=5.7.1, "
     "status=bounced (host 127.0.0.1[127.0.0.1] said: 554 5.7.1 Message rejected as spam "
     "(score 12.5) (in (nested) parens) (in reply to end of DATA command))",
     MAILLOG_DELIVERY,
     "dsn=5.7.1\ntext=host 127.0.0.1[127.0.0.1] said: 554 5.7.1 Message rejected as spam "
     "(score 12.5) (in (nested) parens) (in reply to end of DATA command)\n"},
    {"Nov 24 14:18:32 mx postfix/smtp[2601]: 71EA6A72244: to=<ok-refused@remote.example>, "
     "relay=none, delay=0.06, delays=0.05/0.01/0/0, dsn=4.4.1, status=deferred (connect to "
     "127.0.0.1[127.0.0.1]:1: Connection refused)",
     MAILLOG_DELIVERY,
     "relay=none\ndsn=4.4.1\nstatus=deferred\n"
     "text=connect to 127.0.0.1[127.0.0.1]:1: Connection refused\n"},
    {"Nov 24 14:17:51 mx postfix/smtp[2411]: 86C71A722EA: to=<root@outpost.test>, "
     "relay=127.0.0.1[127.0.0.1]:48179, conn_use=2, delay=0.01, delays=0/0/0.01/0, dsn=2.0.0, "
     "status=sent (250 2.0.0 Ok: queued as 4XkQ8d0Lz3z9rvN (id=abc))",
     MAILLOG_DELIVERY, "conn_use=2\ndelay_ms=10\ndelays=0/0/0.01/0\nstatus=sent\n"},

    /* Addresses in external form (3.5+) are unquoted; from=<> is the null sender. */
    {"Nov 24 14:17:35 mx postfix/qmgr[2185]: 029EFA722CA: from=<\"john smith\"@acct3.example>, "
     "size=498, nrcpt=1 (queue active)",
     MAILLOG_QMGR_FROM, "from=john smith@acct3.example\n"},
    {"Nov 24 14:17:35 mx postfix/smtp[2244]: 029EFA722CA: to=<\"jane doe\"@remote.example>, "
     "relay=127.0.0.1[127.0.0.1]:48179, delay=0.05, delays=0.05/0/0/0, dsn=2.0.0, status=sent "
     "(250 2.0.0 Ok: queued as 4XkQ8d0Lz3z9rvN (id=abc))",
     MAILLOG_DELIVERY, "to=jane doe@remote.example\n"},

    /* Aliases: orig_to, local delivery, forwarding. */
    {"Nov 24 14:17:35 mx postfix/local[2280]: 2D4C4A722CB: to=<devnull@local.test>, "
     "relay=local, delay=0.06, delays=0.05/0.01/0/0, dsn=2.0.0, status=sent (delivered to "
     "file: /dev/null)",
     MAILLOG_DELIVERY, "process=local\nrelay=local\ntext=delivered to file: /dev/null\n"},
    {"Nov 24 14:17:35 mx postfix/local[2280]: 2D4C4A722CB: to=<gone@local.test>, relay=local, "
     "delay=0.06, delays=0.05/0.01/0/0.01, dsn=2.0.0, status=sent (forwarded as 3BAF7A723CE)",
     MAILLOG_DELIVERY, "to=gone@local.test\ntext=forwarded as 3BAF7A723CE\n"},
    {"Nov 24 14:17:35 mx postfix/smtp[2256]: 3BAF7A723CE: to=<gmail-gone@remote.example>, "
     "orig_to=<gone@local.test>, relay=127.0.0.1[127.0.0.1]:48179, delay=0.01, "
     "delays=0/0/0/0, dsn=5.1.1, status=bounced (host 127.0.0.1[127.0.0.1] said: 550-5.1.1 The "
     "email account that you tried to reach does not exist. Please try 550-5.1.1 "
     "double-checking the recipient's email address for typos or 550-5.1.1 unnecessary "
     "spaces. Learn more at 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser "
     "5b1f17b1804b1-4316f4f4bb2si1234567f9.52 - gsmtp (in reply to RCPT TO command))",
     MAILLOG_DELIVERY,
     "to=gmail-gone@remote.example\norig_to=gone@local.test\ndsn=5.1.1\nstatus=bounced\n"},

    /* The other delivery agents. */
    {"Nov 24 14:17:35 mx postfix/discard[2288]: 466B8A722CB: to=<y@disc.test>, relay=none, "
     "delay=0.06, delays=0.05/0.01/0/0, dsn=2.0.0, status=sent (dropped by rule)",
     MAILLOG_DELIVERY, "process=discard\nstatus=sent\ntext=dropped by rule\n"},
    {"Nov 24 14:17:35 mx postfix/pipe[2286]: 466B8A722CB: to=<z@pipe.test>, relay=pipet, "
     "delay=0.06, delays=0.05/0.01/0/0, dsn=2.0.0, status=sent (delivered via pipet service "
     "(Received: from client.example (localhost [127.0.0.1])  by mx.outpost.test (Postfix) "
     "with ESMTP id 46))",
     MAILLOG_DELIVERY,
     "process=pipe\nrelay=pipet\ntext=delivered via pipet service (Received: from "
     "client.example (localhost [127.0.0.1])  by mx.outpost.test (Postfix) with ESMTP id 46)\n"},
    {"Nov 24 14:17:35 mx postfix/pipe[2287]: 466B8A722CB: to=<w@fail.test>, relay=pipef, "
     "delay=0.06, delays=0.05/0.01/0/0, dsn=5.3.0, status=bounced (Command died with status "
     "1: \"/bin/false\")",
     MAILLOG_DELIVERY,
     "dsn=5.3.0\nstatus=bounced\ntext=Command died with status 1: \"/bin/false\"\n"},
    {"Nov 24 14:17:35 mx postfix/virtual[2285]: 466B8A722CB: to=<u@virt.test>, relay=virtual, "
     "delay=0.06, delays=0.05/0.01/0/0, dsn=2.0.0, status=sent (delivered to maildir)",
     MAILLOG_DELIVERY, "process=virtual\nrelay=virtual\n"},

    /* sendmail(1): pickup, a Message-ID without <>, Resent-Message-ID, success DSN. */
    {"Nov 24 14:17:51 mx postfix/pickup[2391]: 7D061A72337: uid=0 from=<a@acct5.example>",
     MAILLOG_PICKUP, "process=pickup\nqueue_id=7D061A72337\nuid=0\nfrom=a@acct5.example\n"},
    {"Nov 24 14:17:51 mx postfix/pickup[2391]: 83E52A722C0: uid=0 from=<root>", MAILLOG_PICKUP,
     "from=root\norig_id=(null)\n"},
    {"Nov 24 14:17:51 mx postfix/cleanup[2398]: 7D061A72337: "
     "message-id=no-angle-brackets@acct5.example",
     MAILLOG_CLEANUP_MSGID, "message_id=no-angle-brackets@acct5.example\nresent=0\n"},
    {"Nov 24 14:17:51 mx postfix/cleanup[2398]: 7D061A72337: "
     "resent-message-id=<resent-1@acct5.example>",
     MAILLOG_CLEANUP_MSGID, "message_id=<resent-1@acct5.example>\nresent=1\n"},
    {"Nov 24 14:17:51 mx postfix/cleanup[2408]: AEDC3A722BF: message-id=<>", MAILLOG_CLEANUP_MSGID,
     "message_id=<>\n"},
    {"Nov 24 14:17:51 mx postfix/bounce[2404]: 7D061A72337: sender delivery status "
     "notification: 806BBA722EA",
     MAILLOG_BOUNCE_NOTICE, "notice=delivery-status\nnew_queue_id=806BBA722EA\n"},
    {"Nov 24 14:17:52 mx postfix/bounce[2396]: 6DD1BA7208E: sender delay notification: "
     "BBB79A72342",
     MAILLOG_BOUNCE_NOTICE, "notice=delay\nnew_queue_id=BBB79A72342\n"},
    /* Address verification (sendmail -bv). */
    {"Nov 24 14:17:51 mx postfix/smtp[2411]: 83E52A722C0: to=<ok-probe@remote.example>, "
     "relay=127.0.0.1[127.0.0.1]:48179, delay=0.01, delays=0/0.01/0/0, dsn=2.1.5, "
     "status=deliverable (250 2.1.5 Ok)",
     MAILLOG_DELIVERY, "status=deliverable\ndsn=2.1.5\ntext=250 2.1.5 Ok\n"},
    {"Nov 24 14:17:51 mx postfix/smtp[2411]: 83E52A722C0: to=<gmail-probe@remote.example>, "
     "relay=127.0.0.1[127.0.0.1]:48179, delay=0.01, delays=0/0.01/0/0, dsn=5.1.1, "
     "status=undeliverable (host 127.0.0.1[127.0.0.1] said: 550-5.1.1 The email account that "
     "you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's "
     "email address for typos or 550-5.1.1 unnecessary spaces. Learn more at 550 5.1.1  "
     "https://support.google.com/mail/?p=NoSuchUser 5b1f17b1804b1-4316f4f4bb2si1234567f9.52 - "
     "gsmtp (in reply to RCPT TO command))",
     MAILLOG_DELIVERY, "status=undeliverable\n"},
    /* soft_bounce=yes: the 5.1.1 becomes 4.1.1 and the word SOFTBOUNCE. */
    {"Nov 24 14:18:22 mx postfix/smtp[2562]: 963D8A72069: to=<gmail-soft@remote.example>, "
     "relay=127.0.0.1[127.0.0.1]:48179, delay=0.07, delays=0.05/0.01/0/0, dsn=4.1.1, "
     "status=SOFTBOUNCE (host 127.0.0.1[127.0.0.1] said: 550-5.1.1 The email account that you "
     "tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email "
     "address for typos or 550-5.1.1 unnecessary spaces. Learn more at 550 5.1.1  "
     "https://support.google.com/mail/?p=NoSuchUser 5b1f17b1804b1-4316f4f4bb2si1234567f9.52 - "
     "gsmtp (in reply to RCPT TO command))",
     MAILLOG_DELIVERY, "dsn=4.1.1\nstatus=SOFTBOUNCE\nstatus_word=SOFTBOUNCE\n"},
    /* XFORWARD from a content filter. */
    {"Nov 24 14:17:51 mx postfix/smtpd[2397]: AEDC3A722BF: client=localhost[127.0.0.1], "
     "orig_queue_id=3F2A1B4C5D, orig_client=mail.customer.example[203.0.113.9]",
     MAILLOG_SMTPD_CLIENT,
     "client_name=localhost\nclient_addr=127.0.0.1\nsasl_username=(null)\n"
     "orig_queue_id=3F2A1B4C5D\norig_client=mail.customer.example[203.0.113.9]\n"},

    /* Multi-instance syslog_name, long queue ids, smtpd_client_port_logging, natural expiry. */
    {"Nov 24 14:18:09 mx postfix-out/smtpd[2527]: 4jYlJx4Fs4z1bYLY: "
     "client=localhost[127.0.0.1]:33520, sasl_method=XCLIENT, sasl_username=acct7@tenant.example",
     MAILLOG_SMTPD_CLIENT,
     "syslog_name=postfix-out\nprocess=smtpd\nqueue_id=4jYlJx4Fs4z1bYLY\n"
     "client_name=localhost\nclient_addr=127.0.0.1\nsasl_username=acct7@tenant.example\n"},
    {"Nov 24 14:18:09 mx postfix-out/cleanup[2529]: 4jYlJx4mL0z1bYLg: "
     "message-id=<4jYlJx4mL0z1bYLg@mx.outpost.test>",
     MAILLOG_CLEANUP_MSGID, "queue_id=4jYlJx4mL0z1bYLg\n"},
    {"Nov 24 14:18:09 mx postfix-out/bounce[2533]: 4jYlJx4Fs4z1bYLY: sender non-delivery "
     "notification: 4jYlJx4mL0z1bYLg",
     MAILLOG_BOUNCE_NOTICE, "syslog_name=postfix-out\nnew_queue_id=4jYlJx4mL0z1bYLg\n"},
    {"Nov 24 14:18:13 mx postfix-out/qmgr[2524]: 4jYlJx4Fs4z1bYLY: from=<e@acct7.example>, "
     "status=expired, returned to sender",
     MAILLOG_QMGR_EXPIRED, "queue_id=4jYlJx4Fs4z1bYLY\nfrom=e@acct7.example\nforced=0\n"},
    {"Nov 24 14:18:13 mx postfix-out/qmgr[2524]: 4jYlJx4Fs4z1bYLY: removed", MAILLOG_QMGR_REMOVED,
     "queue_id=4jYlJx4Fs4z1bYLY\n"},
};

static void
test_real_lines(void **state)
{
	(void)state;
	run_rows("real", real, N(real), NOW);
}

/* ---- refusals: policy service, milter, header_checks ---------------------- */

static const struct row refusals[] = {
    {"Nov 24 14:17:33 mx postfix/smtpd[2212]: NOQUEUE: reject: RCPT from "
     "localhost[127.0.0.1]: 554 5.7.1 <policy-reject1@remote.example>: Recipient address "
     "rejected: Sending account acct1 is paused (bounce rate 10.16%); contact support; "
     "from=<a@acct3.example> to=<policy-reject1@remote.example> proto=ESMTP "
     "helo=<client.example>",
     MAILLOG_REJECT,
     "queue_id=(null)\naction=reject\nstage=RCPT\nclient_name=localhost\n"
     "client_addr=127.0.0.1\ncode=554\ndsn=5.7.1\ntext=<policy-reject1@remote.example>: "
     "Recipient address rejected: Sending account acct1 is paused (bounce rate 10.16%); "
     "contact support\nfrom=a@acct3.example\nto=policy-reject1@remote.example\nproto=ESMTP\n"
     "helo=client.example\ntruncated=0\n"},
    /* A ';' inside the reply text. */
    {"Nov 24 14:17:34 mx postfix/smtpd[2212]: NOQUEUE: reject: RCPT from "
     "localhost[127.0.0.1]: 550 5.7.1 <policy-550@remote.example>: Recipient address "
     "rejected: Policy rejection; see https://outpost.test/r?id=1;x=2; from=<a@acct3.example> "
     "to=<policy-550@remote.example> proto=ESMTP helo=<client.example>",
     MAILLOG_REJECT,
     "code=550\ndsn=5.7.1\ntext=<policy-550@remote.example>: Recipient address rejected: "
     "Policy rejection; see https://outpost.test/r?id=1;x=2\nto=policy-550@remote.example\n"},
    {"Nov 24 14:17:34 mx postfix/smtpd[2212]: NOQUEUE: reject: RCPT from "
     "localhost[127.0.0.1]: 450 4.7.1 <policy-defer@remote.example>: Recipient address "
     "rejected: Rate limit exceeded, retry later; from=<a@acct3.example> "
     "to=<policy-defer@remote.example> proto=ESMTP helo=<client.example>",
     MAILLOG_REJECT, "code=450\ndsn=4.7.1\n"},
    /* With a queue id (later recipients of an accepted message), and soft_bounce's 454. */
    {"Nov 24 14:17:35 mx postfix/smtpd[2212]: 466B8A722CB: reject: RCPT from "
     "localhost[127.0.0.1]: 550 5.1.1 <nouser@virt.test>: Recipient address rejected: User "
     "unknown in virtual mailbox table; from=<a@acct3.example> to=<nouser@virt.test> "
     "proto=ESMTP helo=<client.example>",
     MAILLOG_REJECT, "queue_id=466B8A722CB\ncode=550\ndsn=5.1.1\nto=nouser@virt.test\n"},
    /* Multi-instance, client port logging. */
    {"Nov 24 14:18:09 mx postfix-out/smtpd[2527]: NOQUEUE: reject: RCPT from "
     "localhost[127.0.0.1]:33530: 554 5.7.1 <policy-reject-long@remote.example>: Recipient "
     "address rejected: Sending account acct1 is paused (bounce rate 10.16%); contact support; "
     "from=<e@acct7.example> to=<policy-reject-long@remote.example> proto=ESMTP "
     "helo=<client.example>",
     MAILLOG_REJECT,
     "syslog_name=postfix-out\nclient_name=localhost\nclient_addr=127.0.0.1\ncode=554\n"},
    /* A quoted recipient in the trailer, a Postfix-made 451. */
    {"Nov 24 14:17:21 mx postfix/smtpd[2089]: NOQUEUE: reject: RCPT from "
     "localhost[127.0.0.1]: 451 4.3.0 <jane doe@remote.example>: Temporary lookup failure; "
     "from=<\"john smith\"@acct3.example> to=<\"jane doe\"@remote.example> proto=ESMTP "
     "helo=<client.example>",
     MAILLOG_REJECT,
     "from=john smith@acct3.example\nto=jane doe@remote.example\ncode=451\ndsn=4.3.0\n"
     "text=<jane doe@remote.example>: Temporary lookup failure\n"},
    /* Policy HOLD and DISCARD: no code, no dsn. */
    {"Nov 24 14:17:34 mx postfix/smtpd[2212]: NOQUEUE: hold: RCPT from localhost[127.0.0.1]: "
     "<policy-hold@remote.example>: Recipient address account under review; "
     "from=<a@acct3.example> to=<policy-hold@remote.example> proto=ESMTP "
     "helo=<client.example>",
     MAILLOG_REJECT,
     "action=hold\ncode=(null)\ndsn=(null)\ntext=<policy-hold@remote.example>: Recipient "
     "address account under review\nto=policy-hold@remote.example\n"},
    {"Nov 24 14:17:34 mx postfix/smtpd[2212]: NOQUEUE: discard: RCPT from "
     "localhost[127.0.0.1]: <policy-discard@remote.example>: Recipient address suppressed "
     "recipient; from=<a@acct3.example> to=<policy-discard@remote.example> proto=ESMTP "
     "helo=<client.example>",
     MAILLOG_REJECT, "action=discard\ncode=(null)\n"},
    /* Milter at RCPT (smtpd) and at end of message (logged by cleanup, no SMTP code). */
    {"Nov 24 14:17:34 mx postfix/smtpd[2212]: NOQUEUE: milter-reject: RCPT from "
     "localhost[127.0.0.1]: 550 5.7.1 Recipient refused by milter; from=<a@acct3.example> "
     "to=<milter-rcpt@remote.example> proto=ESMTP helo=<client.example>",
     MAILLOG_REJECT,
     "action=milter-reject\nstage=RCPT\ncode=550\ndsn=5.7.1\ntext=Recipient refused by milter\n"},
    {"Nov 24 14:17:34 mx postfix/cleanup[2218]: 54E0AA722C8: milter-reject: END-OF-MESSAGE "
     "from localhost[127.0.0.1]: 5.7.1 Message rejected by content filter (score 9.3; see "
     "https://x.test/y?a=b); from=<a@acct3.example> to=<milter-reject@remote.example> "
     "proto=ESMTP helo=<client.example>",
     MAILLOG_REJECT,
     "process=cleanup\nqueue_id=54E0AA722C8\naction=milter-reject\nstage=END-OF-MESSAGE\n"
     "code=(null)\ndsn=5.7.1\ntext=Message rejected by content filter (score 9.3; see "
     "https://x.test/y?a=b)\nfrom=a@acct3.example\nto=milter-reject@remote.example\n"},
    {"Nov 24 14:17:34 mx postfix/cleanup[2218]: 8C5CCA722C8: milter-reject: END-OF-MESSAGE "
     "from localhost[127.0.0.1]: 4.7.1 Service unavailable - try again later; "
     "from=<a@acct3.example> to=<milter-tempfail@remote.example> proto=ESMTP "
     "helo=<client.example>",
     MAILLOG_REJECT, "dsn=4.7.1\ntext=Service unavailable - try again later\n"},
    {"Nov 24 14:17:34 mx postfix/cleanup[2218]: B7889A722C8: milter-hold: END-OF-MESSAGE from "
     "localhost[127.0.0.1]: milter triggers HOLD action; from=<a@acct3.example> "
     "to=<milter-hold@remote.example> proto=ESMTP helo=<client.example>",
     MAILLOG_REJECT, "action=milter-hold\ndsn=(null)\ntext=milter triggers HOLD action\n"},
    {"Nov 24 14:17:34 mx postfix/cleanup[2218]: A1911A722C8: milter-discard: END-OF-MESSAGE "
     "from localhost[127.0.0.1]: milter triggers DISCARD action; from=<a@acct3.example> "
     "to=<milter-discard@remote.example> proto=ESMTP helo=<client.example>",
     MAILLOG_REJECT, "action=milter-discard\n"},
    /* header_checks: cleanup's own shape, the text after the context. */
    {"Nov 24 14:17:34 mx postfix/cleanup[2218]: D6F24A722C9: reject: header Subject: "
     "reject-me from localhost[127.0.0.1]; from=<a@acct3.example> to=<ok2@remote.example> "
     "proto=ESMTP helo=<client.example>: 5.7.1 Header rejected; bad subject",
     MAILLOG_REJECT,
     "action=reject\nstage=header\nclient_name=localhost\nclient_addr=127.0.0.1\n"
     "code=(null)\ndsn=5.7.1\ntext=Header rejected; bad subject\nfrom=a@acct3.example\n"
     "to=ok2@remote.example\nproto=ESMTP\nhelo=client.example\n"},
    {"Nov 24 14:17:34 mx postfix/cleanup[2218]: E184DA722C9: hold: header Subject: hold-me "
     "from localhost[127.0.0.1]; from=<a@acct3.example> to=<ok3@remote.example> proto=ESMTP "
     "helo=<client.example>",
     MAILLOG_REJECT, "action=hold\nstage=header\ntext=(null)\nhelo=client.example\n"},
    /* Not refusals. */
    {"Nov 24 14:17:34 mx postfix/smtpd[2212]: NOQUEUE: warn: RCPT from localhost[127.0.0.1]: "
     "account under review; from=<a@acct3.example> to=<policy-warn@remote.example> "
     "proto=ESMTP helo=<client.example>",
     MAILLOG_IGNORED, "process=smtpd\nqueue_id=(null)\n"},
    {"Nov 05 14:03:07 mx postfix/smtpd[2212]: NOQUEUE: reject_warning: RCPT from "
     "localhost[127.0.0.1]: 554 5.7.1 <x@remote.example>: Recipient address rejected: test; "
     "from=<a@acct3.example> to=<x@remote.example> proto=ESMTP helo=<client.example>",
     MAILLOG_IGNORED, ""},
};

static void
test_refusals(void **state)
{
	(void)state;
	run_rows("refusals", refusals, N(refusals), NOW);
}

/* ---- Postfix lines this module does not use ------------------------------ */

static const struct row ignored[] = {
    {"Nov 24 14:17:33 mx postfix/smtpd[2212]: connect from localhost[127.0.0.1]", MAILLOG_IGNORED,
     "process=smtpd\npid=2212\nqueue_id=(null)\n"},
    {"Nov 24 14:17:33 mx postfix/smtpd[2212]: disconnect from localhost[127.0.0.1] ehlo=2 "
     "xclient=0/1 mail=1 rcpt=3 data=1 quit=1 commands=8/9",
     MAILLOG_IGNORED, ""},
    {"Nov 24 14:17:20 mx postfix/trivial-rewrite[2090]: warning: transport_maps lookup failure",
     MAILLOG_IGNORED, "process=trivial-rewrite\nseverity=warning\n"},
    {"Nov 24 14:18:32 mx postfix/smtp[2601]: connect to 127.0.0.1[127.0.0.1]:1: Connection "
     "refused",
     MAILLOG_IGNORED, ""},
    {"Nov 24 14:18:08 mx postfix/scache[2409]: statistics: domain lookup hits=1 miss=2 "
     "success=33%",
     MAILLOG_IGNORED, ""},
    {"Nov 24 14:17:13 mx postfix/master[2068]: daemon started -- version 3.7.11, configuration "
     "/tmp/mlgen",
     MAILLOG_IGNORED, "process=master\n"},
    {"Nov 24 14:17:56 mx postfix/postsuper[2473]: Force-expired: 5 messages", MAILLOG_IGNORED,
     "process=postsuper\n"},
    {"Nov 24 14:17:52 mx postfix/bounce[2396]: warning: please reduce time unit \"hours\" of "
     "\"delay_warning_time_hours\" in delay template",
     MAILLOG_IGNORED, "severity=warning\n"},
    {"Nov  5 14:03:07 mx postfix/smtpd[2212]: fatal: bad string length 0 < 1: "
     "mydestination =",
     MAILLOG_IGNORED, "severity=fatal\n"},
    /* Not Postfix at all. */
    {"Nov  5 14:03:07 mx CRON[1234]: (root) CMD (command -v debian-sa1 > /dev/null && "
     "debian-sa1 1 1)",
     MAILLOG_IGNORED, "host=mx\nsyslog_name=(null)\n"},
    {"2024-11-05T14:03:07.123456+01:00 mx kernel: [12345.678] eth0: link up", MAILLOG_IGNORED, ""},
    {"Nov  5 14:03:07 mx -- MARK --", MAILLOG_IGNORED, ""},
    {"Nov  5 14:03:07 mx dovecot: imap(u@x)<123><abc>: Logged out", MAILLOG_IGNORED, ""},
};

static void
test_ignored(void **state)
{
	(void)state;
	run_rows("ignored", ignored, N(ignored), NOW);
}

/* ---- the prefixes --------------------------------------------------------- */

#define REMOVED "A0E1DA722BE: removed"

static const struct row prefixes[] = {
    /* RFC 3164: space-padded day; postlogd and journalctl: zero-padded. */
    {"Nov  5 14:03:07 mx postfix/qmgr[2185]: " REMOVED, MAILLOG_QMGR_REMOVED,
     "time=2026-11-05T14:03:07Z\nhost=mx\nsyslog_name=postfix\nprocess=qmgr\npid=2185\n"},
    {"Nov 05 14:03:07 mx postfix/qmgr[2185]: " REMOVED, MAILLOG_QMGR_REMOVED,
     "time=2026-11-05T14:03:07Z\n"},
    {"Nov 5 14:03:07 mx postfix/qmgr[2185]: " REMOVED, MAILLOG_QMGR_REMOVED,
     "time=2026-11-05T14:03:07Z\n"},
    /* The raw syslog datagram keeps its priority. */
    {"<22>Nov  5 14:03:07 mx postfix/qmgr[2185]: " REMOVED, MAILLOG_QMGR_REMOVED,
     "time=2026-11-05T14:03:07Z\nhost=mx\n"},
    /* RFC 3339: Debian 12 rsyslog; syslog-ng's "+0000"; "Z". */
    {"2024-11-05T14:03:07.123456+01:00 mx.example.org postfix/qmgr[2185]: " REMOVED,
     MAILLOG_QMGR_REMOVED, "time=2024-11-05T13:03:07Z\nhost=mx.example.org\n"},
    {"2015-12-14T00:06:14+0000 011.lax.mailroute.net postfix-inbound/qmgr[986]: "
     "3pJjg82Vycz1JBJG: removed",
     MAILLOG_QMGR_REMOVED,
     "time=2015-12-14T00:06:14Z\nsyslog_name=postfix-inbound\nqueue_id=3pJjg82Vycz1JBJG\n"},
    {"2024-11-05T22:03:07-08:00 mx postfix/qmgr[2185]: " REMOVED, MAILLOG_QMGR_REMOVED,
     "time=2024-11-06T06:03:07Z\n"},
    {"2024-11-05T14:03:07Z mx postfix/qmgr[2185]: " REMOVED, MAILLOG_QMGR_REMOVED,
     "time=2024-11-05T14:03:07Z\n"},
    /* RFC 5424: pid in its own field, structured data, a BOM before the message. */
    {"<22>1 2024-11-05T14:03:07.123+01:00 mx postfix/smtp 1234 - - 8EA2FA723BB: "
     "to=<ok1@remote.example>, relay=127.0.0.1[127.0.0.1]:48179, delay=0.08, "
     "delays=0.06/0.01/0/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4XkQ8d0Lz3z9rvN "
     "(id=abc))",
     MAILLOG_DELIVERY,
     "time=2024-11-05T13:03:07Z\nhost=mx\nsyslog_name=postfix\nprocess=smtp\npid=1234\n"
     "to=ok1@remote.example\nstatus=sent\n"},
    {"<22>1 2024-11-05T14:03:07.123+01:00 mx postfix/qmgr 2185 - [meta sequenceId=\"7\" "
     "x=\"a\\]b\"][origin ip=\"192.0.2.1\"] \xEF\xBB\xBF" REMOVED,
     MAILLOG_QMGR_REMOVED, "pid=2185\nqueue_id=A0E1DA722BE\n"},
    {"<22>1 2024-11-05T14:03:07Z mx CRON 1234 - - (root) CMD (true)", MAILLOG_IGNORED, "host=mx\n"},
    /* master.cf "-o syslog_name=postfix/submission": the process follows the last '/'. */
    {"Nov 05 14:03:07 mx postfix/submission/smtpd[3120]: 4XkQ8d0Lz3z9rvN: "
     "client=c.example[2001:db8::7]:51234, sasl_method=PLAIN, sasl_username=u@tenant.example",
     MAILLOG_SMTPD_CLIENT,
     "syslog_name=postfix/submission\nprocess=smtpd\npid=3120\nclient_name=c.example\n"
     "client_addr=2001:db8::7\nsasl_method=PLAIN\nsasl_username=u@tenant.example\n"},
    /* A trailing newline or CRLF is fine. */
    {"Nov 05 14:03:07 mx postfix/qmgr[2185]: " REMOVED "\n", MAILLOG_QMGR_REMOVED, ""},
    {"Nov 05 14:03:07 mx postfix/qmgr[2185]: " REMOVED "\r\n", MAILLOG_QMGR_REMOVED, ""},
};

static void
test_prefixes(void **state)
{
	(void)state;
	run_rows("prefixes", prefixes, N(prefixes), NOW);
}

/* ---- the year of year-less dates ----------------------------------------- */

static const struct {
	const char *date; /* "Mmm dd hh:mm:ss" */
	const char *now;
	const char *want;
} years[] = {
    {"Nov  5 14:03:07", "2026-11-25T00:00:00Z", "2026-11-05T14:03:07Z"},
    {"Nov 26 00:00:00", "2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z"}, /* a day ahead: ok */
    {"Nov 26 00:00:01", "2026-11-25T00:00:00Z", "2025-11-26T00:00:01Z"}, /* more: last year */
    {"Dec 31 23:59:59", "2027-01-01T00:10:00Z", "2026-12-31T23:59:59Z"},
    {"Jan  1 00:05:00", "2026-12-31T23:59:00Z", "2027-01-01T00:05:00Z"}, /* clock skew */
    {"Jan  1 00:00:00", "2027-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
    {"Feb 29 10:00:00", "2025-03-01T00:00:00Z", "2024-02-29T10:00:00Z"}, /* last leap year */
    {"Feb 29 10:00:00", "2024-03-01T00:00:00Z", "2024-02-29T10:00:00Z"},
    {"Mar  1 00:00:00", "2025-02-28T12:00:00Z", "2025-03-01T00:00:00Z"},
};

static void
test_year_inference(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(years); i++) {
		char line[128], got[32];
		int64_t now;

		assert_int_equal(text_time_parse(years[i].now, &now), 0);
		snprintf(line, sizeof(line), "%s mx postfix/qmgr[1]: " REMOVED, years[i].date);
		assert_int_equal(parse_exact(line, strlen(line), now, &rec), MAILLOG_QMGR_REMOVED);
		text_time_format(rec.time, got, sizeof(got));
		if (strcmp(got, years[i].want) != 0)
			fail_msg("%s at %s: %s, want %s", years[i].date, years[i].now, got,
				 years[i].want);
	}
}

/* Year-less dates are local time, summer or winter. */
static void
test_local_zone(void **state)
{
	static const struct {
		const char *date, *want;
	} cases[] = {
	    {"Nov  5 14:03:07", "2026-11-05T13:03:07Z"}, /* CET */
	    {"Jul  5 14:03:07", "2026-07-05T12:03:07Z"}, /* CEST */
	    {"Mar 29 01:30:00", "2026-03-29T00:30:00Z"}, /* before the switch */
	    {"Mar 29 03:30:00", "2026-03-29T01:30:00Z"}, /* after */
	};
	(void)state;
	setenv("TZ", "Europe/Paris", 1);
	tzset();
	for (size_t i = 0; i < N(cases); i++) {
		char line[128], got[32];
		snprintf(line, sizeof(line), "%s mx postfix/qmgr[1]: " REMOVED, cases[i].date);
		assert_int_equal(parse_exact(line, strlen(line), NOW, &rec), MAILLOG_QMGR_REMOVED);
		text_time_format(rec.time, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("%s in Paris: %s, want %s", cases[i].date, got, cases[i].want);
	}
	/* An offset in the line wins over the zone. */
	assert_int_equal(
	    parse_exact("2024-11-05T14:03:07+01:00 mx postfix/qmgr[1]: " REMOVED,
			strlen("2024-11-05T14:03:07+01:00 mx postfix/qmgr[1]: " REMOVED), NOW,
			&rec),
	    MAILLOG_QMGR_REMOVED);
	assert_int_equal(rec.time, 1730811787);
	utc(NULL);
}

/* ---- cut, garbled, binary ------------------------------------------------ */

#define SENT                                                                                 \
	"Nov 24 14:17:33 mx postfix/smtp[2244]: 8EA2FA723BB: to=<ok1@remote.example>, "      \
	"relay=127.0.0.1[127.0.0.1]:48179, delay=0.08, delays=0.06/0.01/0/0.01, dsn=2.0.0, " \
	"status=sent (250 2.0.0 Ok: queued as 4XkQ8d0Lz3z9rvN (id=abc))"

static const char *const malformed[] = {
    "",
    "hello world",
    "Nov  5 14:0",
    "Nov  5 14:03:07",
    "Nov  5 14:03:07 mx",
    "Nov 32 14:03:07 mx postfix/qmgr[1]: " REMOVED,
    "Foo  5 14:03:07 mx postfix/qmgr[1]: " REMOVED,
    "Nov  5 24:03:07 mx postfix/qmgr[1]: " REMOVED,
    "2024-02-30T14:03:07Z mx postfix/qmgr[1]: " REMOVED,
    "2024-11-05T14:03:07 mx postfix/qmgr[1]: " REMOVED, /* no offset */
    "<22>1 - mx postfix/qmgr 1 - - " REMOVED,		/* nil timestamp */
    "<999>Nov  5 14:03:07 mx postfix/qmgr[1]: " REMOVED,
    /* cut in the middle of each kind */
    "Nov 24 14:17:33 mx postfix/smtp[2244]: 8EA2FA723BB: to=<ok1@remo",
    "Nov 24 14:17:33 mx postfix/smtp[2244]: 8EA2FA723BB: to=<ok1@remote.example>, "
    "relay=127.0.0.1[127.0.0.1]:48179, delay=0.08, delays=0.06/0.01/0/0.01, dsn=2.0.0, "
    "status=sent (250 2.0.0 Ok: que",
    "Nov 24 14:17:33 mx postfix/smtp[2244]: 8EA2FA723BB: to=<ok1@remote.example>, "
    "relay=127.0.0.1[127.0.0.1]:48179, delay=0.08, delays=0.06/0.01/0/0.01, dsn=2.0.0, "
    "status=sent",
    "Nov 24 14:17:33 mx postfix/smtp[2244]: 8EA2FA723BB: to=<ok1@remote.example>, "
    "relay=127.0.0.1[127.0.0.1]:48179, delay=0.08, delays=0.06/0.01/0/0.01, dsn=2.0",
    /* missing fields */
    "Nov 24 14:17:33 mx postfix/smtp[2244]: 8EA2FA723BB: to=<ok1@remote.example>, delay=0.08, "
    "delays=0.06/0.01/0/0.01, dsn=2.0.0, status=sent (250 Ok)",
    "Nov 24 14:17:33 mx postfix/smtp[2244]: 8EA2FA723BB: to=<ok1@remote.example>, relay=none, "
    "delay=0.08, delays=0/0/0/0, status=sent (250 Ok)",
    "Nov 24 14:17:33 mx postfix/smtp[2244]: 8EA2FA723BB: to=<ok1@remote.example>, relay=none, "
    "delay=0.08, delays=0/0/0/0, dsn=2.0, status=sent (250 Ok)",
    "Nov 24 14:17:33 mx postfix/smtp[2244]: 8EA2FA723BB: to=<ok1@remote.example>, relay=none, "
    "delay=x, delays=0/0/0/0, dsn=2.0.0, status=sent (250 Ok)",
    "Nov 24 14:17:33 mx postfix/smtp[2244]: 8EA2FA723BB: to=ok1@remote.example, relay=none, "
    "delay=0.08, delays=0/0/0/0, dsn=2.0.0, status=sent (250 Ok)",
    "Nov 24 14:17:33 mx postfix/smtp[2244]: 8EA2FA723BB: to=<\"unterminated@remote.example>, "
    "relay=none, delay=0.08, delays=0/0/0/0, dsn=2.0.0, status=sent (250 Ok)",
    "Nov 24 14:17:33 mx postfix/qmgr[2185]: 8EA2FA723BB: from=<news@acct1.example>, size=474, "
    "nr",
    "Nov 24 14:17:33 mx postfix/qmgr[2185]: 8EA2FA723BB: from=<news@acct1.example>, size=474, "
    "nrcpt=3",
    "Nov 24 14:17:33 mx postfix/qmgr[2185]: 8EA2FA723BB: from=<news@acct1.example>, "
    "status=expired, returned",
    "Nov 24 14:17:33 mx postfix/qmgr[2185]: 8EA2FA723BB: from=<news@acct1.example>, "
    "size=99999999999999999999999, nrcpt=3 (queue active)",
    "Nov 24 14:17:33 mx postfix/smtpd[2212]: 8EA2FA723BB: client=localhost[127.0",
    "Nov 24 14:17:33 mx postfix/pickup[2391]: 7D061A72337: uid=0 from=<a@acct5",
    "Nov 24 14:17:33 mx postfix/bounce[2246]: 8EA2FA723BB: sender non-delivery notification: "
    "A0E1D",
    "Nov 24 14:17:33 mx postfix/smtpd[2212]: NOQUEUE: reject: RCPT from localhost[127.0.0.1]: "
    "554 5.7.1 <policy-reject1@remote.example>: Recipient address rejected: Sending acc",
    "Nov 24 14:17:33 mx postfix/smtpd[2212]: NOQUEUE: reject: RCPT from localhost[127.0.0.1]: "
    "554 5.7.1 <x@remote.example>: rejected; from=<a@acct3.example> to=<x@remote.exa",
    "Nov 24 14:17:34 mx postfix/cleanup[2218]: D6F24A722C9: reject: header Subject: reject-me "
    "from localhost[127.0.0.1]; from=<a@acct3.ex",
};

static void
test_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(malformed); i++) {
		int kind = parse_exact(malformed[i], strlen(malformed[i]), NOW, &rec);
		if (kind != MAILLOG_MALFORMED)
			fail_msg("malformed %zu: %s for \"%s\"", i, maillog_kind_name(kind),
				 malformed[i]);
	}
}

/* NUL, CR, LF inside, and over-long lines are refused whatever they carry. */
static void
test_binary_and_long(void **state)
{
	char line[sizeof(SENT) + 8], *big;

	(void)state;
	memcpy(line, SENT, sizeof(SENT));
	line[60] = '\0';
	assert_int_equal(parse_exact(line, sizeof(SENT) - 1, NOW, &rec), MAILLOG_MALFORMED);
	line[60] = '\n';
	assert_int_equal(parse_exact(line, sizeof(SENT) - 1, NOW, &rec), MAILLOG_MALFORMED);
	line[60] = '\r';
	assert_int_equal(parse_exact(line, sizeof(SENT) - 1, NOW, &rec), MAILLOG_MALFORMED);
	assert_int_equal(parse_exact("\xff\xfe\x01\x02 postfix/smtp[1]: x",
				     strlen("\xff\xfe\x01\x02 postfix/smtp[1]: x"), NOW, &rec),
			 MAILLOG_MALFORMED);

	/* A long status text is fine up to MAILLOG_LINE_MAX bytes, not beyond. */
	big = malloc(MAILLOG_LINE_MAX + 1);
	assert_non_null(big);
	memset(big, 'x', MAILLOG_LINE_MAX + 1);
	memcpy(big, SENT, strlen(SENT) - 1); /* all but the final ')' */
	big[MAILLOG_LINE_MAX - 1] = ')';
	assert_int_equal(parse_exact(big, MAILLOG_LINE_MAX, NOW, &rec), MAILLOG_DELIVERY);
	assert_int_equal(strlen(rec.text), MAILLOG_LINE_MAX - (strstr(SENT, "(250") - SENT) - 2);
	big[MAILLOG_LINE_MAX - 1] = 'x';
	big[MAILLOG_LINE_MAX] = ')';
	assert_int_equal(parse_exact(big, MAILLOG_LINE_MAX + 1, NOW, &rec), MAILLOG_MALFORMED);
	free(big);
}

/* LEN is the line: the bytes after it are never looked at. */
static void
test_len_honoured(void **state)
{
	static const char two[] = SENT "\n" SENT;
	const size_t n = strlen(SENT);

	(void)state;
	/* Cut before its last ')' the line is malformed, though the ')' is right after it. */
	assert_int_equal(maillog_parse(two, n - 2, NOW, &rec), MAILLOG_MALFORMED);
	assert_int_equal(maillog_parse(two, n, NOW, &rec), MAILLOG_DELIVERY);
	assert_string_equal(rec.text, "250 2.0.0 Ok: queued as 4XkQ8d0Lz3z9rvN (id=abc)");
	/* "removed" cut to "remove" must not peek at the 'd'. */
	assert_int_equal(
	    maillog_parse("Nov 24 14:17:33 mx postfix/qmgr[2185]: " REMOVED,
			  strlen("Nov 24 14:17:33 mx postfix/qmgr[2185]: " REMOVED) - 1, NOW, &rec),
	    MAILLOG_IGNORED);
}

/* Every prefix of a real line parses without reading past it; none cut inside is a delivery. */
static void
test_every_cut(void **state)
{
	static const char *const lines[] = {
	    SENT,
	    real[0].line,
	    real[2].line,
	    real[8].line,
	    refusals[0].line,
	    refusals[13].line,
	    prefixes[9].line,
	};
	(void)state;
	for (size_t i = 0; i < N(lines); i++) {
		size_t n = strlen(lines[i]);
		for (size_t cut = 0; cut < n; cut++) {
			int kind = parse_exact(lines[i], cut, NOW, &rec);
			assert_true(kind >= MAILLOG_MALFORMED && kind <= MAILLOG_REJECT);
		}
	}
	/* A delivery cut anywhere after "to=" and before its final ')' is malformed. */
	for (size_t cut = strstr(SENT, "to=<") - SENT + 3; cut < strlen(SENT) - 1; cut++) {
		int kind = parse_exact(SENT, cut, NOW, &rec);
		if (kind != MAILLOG_MALFORMED &&
		    !(kind == MAILLOG_DELIVERY && SENT[cut - 1] == ')'))
			fail_msg("cut at %zu: %s", cut, maillog_kind_name(kind));
	}
}

/*
 * Postfix cuts every record's text at 2000 bytes.  The real line: a 6-line
 * reply of 2,300 bytes, logged as exactly 2000 bytes after the tag, without
 * its closing ')'.
 */
static void
test_postfix_truncation(void **state)
{
	const char *head = "Nov 24 14:19:25 mx postfix/smtp[3237]: ";
	char full[4096], *line;
	size_t n;

	(void)state;
	n = (size_t)snprintf(full, sizeof(full),
			     "%sEEDA1A72354: to=<long-reply@remote.example>, "
			     "relay=127.0.0.1[127.0.0.1]:48179, delay=0.06, delays=0.05/0.01/0/0, "
			     "dsn=5.7.1, status=bounced (host 127.0.0.1[127.0.0.1] said: ",
			     head);
	for (int k = 0; k < 5; k++) {
		n += (size_t)snprintf(full + n, sizeof(full) - n, "550-5.7.1 (part %d) ", k);
		memset(full + n, 'x', 380);
		n += 380;
		full[n++] = ' ';
	}
	snprintf(full + n, sizeof(full) - n,
		 "550 5.7.1 end of the long reply (final) (in reply to RCPT TO command))");
	line = full;
	n = strlen(head) + MAILLOG_POSTFIX_RECLEN;
	assert_int_equal(n, 2039); /* as in the log file */
	assert_int_equal(parse_exact(line, n, NOW, &rec), MAILLOG_DELIVERY);
	assert_true(rec.truncated);
	assert_string_equal(rec.to, "long-reply@remote.example");
	assert_string_equal(rec.dsn, "5.7.1");
	assert_int_equal(rec.status, MAILLOG_ST_BOUNCED);
	assert_int_equal(strlen(rec.text), n - (size_t)(strstr(line, "(host") + 1 - line));
	/* Shorter than Postfix's limit, a missing ')' is damage, not truncation. */
	assert_int_equal(parse_exact(line, n - 1, NOW, &rec), MAILLOG_MALFORMED);
	/* Whole (Postfix never logs it so), the text runs to its last ')'. */
	assert_int_equal(parse_exact(line, strlen(line), NOW, &rec), MAILLOG_DELIVERY);
	assert_non_null(strstr(rec.text, "(final) (in reply to RCPT TO command)"));
	assert_int_equal(rec.text[strlen(rec.text) - 1], ')');

	/* A refusal cut by Postfix loses its from/to but keeps its code and text. */
	n = (size_t)snprintf(full, sizeof(full),
			     "%sNOQUEUE: reject: RCPT from mail.example.org[192.0.2.7]: 554 5.7.1 "
			     "Service unavailable; Client host [192.0.2.7] blocked using "
			     "zen.spamhaus.org; ",
			     head);
	memset(full + n, 'y', sizeof(full) - n - 1);
	full[sizeof(full) - 1] = '\0';
	n = strlen(head) + MAILLOG_POSTFIX_RECLEN;
	assert_int_equal(parse_exact(full, n, NOW, &rec), MAILLOG_REJECT);
	assert_true(rec.truncated);
	assert_string_equal(rec.code, "554");
	assert_null(rec.to);
	assert_int_equal(parse_exact(full, n - 1, NOW, &rec), MAILLOG_MALFORMED);
}

/* Later Postfix fields (tls=, unknown ones) are kept or skipped, not fatal. */
static void
test_future_fields(void **state)
{
	static const struct row rows[] = {
	    {"Nov 05 14:03:07 mx postfix/smtp[1]: 4XkQ8d0Lz3z9rvN: to=<u@example.org>, "
	     "relay=mx.example.org[192.0.2.7]:25, conn_use=3, delay=1.2, "
	     "delays=0.01/0.01/0.5/0.68, "
	     "tls=starttls/(dane)/!(requiretls)?, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
	     MAILLOG_DELIVERY,
	     "conn_use=3\ndelay_ms=1200\ntls=starttls/(dane)/!(requiretls)?\nstatus=sent\n"},
	    {"Nov 05 14:03:07 mx postfix/smtp[1]: 4XkQ8d0Lz3z9rvN: to=<u@example.org>, "
	     "relay=mx.example.org[192.0.2.7]:25, delay=1234, delays=1/2/3/1228, "
	     "newfield=a/b, dsn=4.4.2, status=deferred (lost connection with "
	     "mx.example.org[192.0.2.7] while sending end of data -- message may be sent more "
	     "than once)",
	     MAILLOG_DELIVERY, "delay_ms=1234000\ndsn=4.4.2\nstatus=deferred\n"},
	    {"Nov 05 14:03:07 mx postfix/smtp[1]: 4XkQ8d0Lz3z9rvN: to=<u@example.org>, relay=x, "
	     "delay=1, delays=1/0/0/0, dsn=5.0.0, status=rejected-by-martians (no)",
	     MAILLOG_DELIVERY, "status=other\nstatus_word=rejected-by-martians\n"},
	    {"Nov 05 14:03:07 mx postfix/bounce[1]: 4XkQ8d0Lz3z9rvN: postmaster non-delivery "
	     "notification: 4XkQ8d0Lz3z9rvP",
	     MAILLOG_BOUNCE_NOTICE, "to_postmaster=1\nnotice=non-delivery\n"},
	    {"Nov 05 14:03:07 mx postfix/pickup[1]: 4XkQ8d0Lz3z9rvN: uid=1000 from=<u@example.org> "
	     "orig_id=4XkQ8d0Lz3z9rvM",
	     MAILLOG_PICKUP, "uid=1000\norig_id=4XkQ8d0Lz3z9rvM\n"},
	    {"Nov 05 14:03:07 mx postfix/smtpd[1]: 4XkQ8d0Lz3z9rvN: client=unknown[192.0.2.9], "
	     "sasl_method=LOGIN, sasl_username=acct, sasl_sender=boss@example.org",
	     MAILLOG_SMTPD_CLIENT,
	     "client_name=unknown\nclient_addr=192.0.2.9\nsasl_sender=boss@example.org\n"},
	    /* Not queue ids: lower-case hex, too short, vowels. */
	    {"Nov 05 14:03:07 mx postfix/qmgr[1]: c3cd21f3e90: removed", MAILLOG_IGNORED, ""},
	    {"Nov 05 14:03:07 mx postfix/qmgr[1]: C3CD2: removed", MAILLOG_IGNORED, ""},
	    {"Nov 05 14:03:07 mx postfix/qmgr[1]: 4jYlJx4Fs4zAbYLY: removed", MAILLOG_IGNORED, ""},
	    /* NOQUEUE only goes with a refusal. */
	    {"Nov 05 14:03:07 mx postfix/smtpd[1]: NOQUEUE: client=localhost[127.0.0.1]",
	     MAILLOG_IGNORED, ""},
	};
	(void)state;
	run_rows("future", rows, N(rows), NOW);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(maillog_kind_name(MAILLOG_MALFORMED), "malformed");
	assert_string_equal(maillog_kind_name(MAILLOG_IGNORED), "ignored");
	assert_string_equal(maillog_kind_name(MAILLOG_DELIVERY), "delivery");
	assert_string_equal(maillog_kind_name(MAILLOG_REJECT), "reject");
	assert_string_equal(maillog_kind_name(99), "?");
	assert_string_equal(maillog_status_name(MAILLOG_ST_SOFTBOUNCE), "SOFTBOUNCE");
	assert_string_equal(maillog_status_name(MAILLOG_ST_OTHER), "other");
	assert_string_equal(maillog_notice_name(MAILLOG_NOTICE_DSN), "delivery-status");
	assert_string_equal(maillog_action_name(MAILLOG_ACT_MILTER_HOLD), "milter-hold");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_real_lines),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_ignored),
	    cmocka_unit_test(test_prefixes),
	    cmocka_unit_test(test_year_inference),
	    cmocka_unit_test(test_local_zone),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_binary_and_long),
	    cmocka_unit_test(test_len_honoured),
	    cmocka_unit_test(test_every_cut),
	    cmocka_unit_test(test_postfix_truncation),
	    cmocka_unit_test(test_future_fields),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, utc, NULL);
}
