/*
 * maillog -- one Postfix log line in, one record out.
 *
 * Pure: no I/O, no store, no allocation, no clock.  The only outside input
 * is NOW (for the year of year-less syslog dates) and the process's time
 * zone (TZ), in which syslog and postlogd write year-less dates.
 *
 * LINE is LEN bytes, NOT NUL-terminated; nothing past LEN is read.  A
 * trailing "\n" or "\r\n" is allowed.  Accepted prefixes:
 *     Nov  5 14:03:07 host tag: msg            RFC 3164 (traditional syslog)
 *     Nov 05 14:03:07 host tag: msg            postlogd (maillog_file), journalctl
 *     2024-11-05T14:03:07.123456+01:00 host tag: msg   RFC 3339 (Debian 12 rsyslog)
 *     <22>1 2024-11-05T14:03:07.123+01:00 host postfix/smtp 1234 - - msg   RFC 5424
 * each optionally led by a "<PRI>"; RFC 3339 offsets may be "Z", "+01:00"
 * or "+0100".  tag is "syslog_name/process[pid]"; the process is what
 * follows the LAST '/', so "postfix/submission/smtpd" is syslog_name
 * "postfix/submission", process "smtpd".  A tag without '/' is not Postfix.
 *
 * Year-less dates are local time; the year is the latest one that does not
 * put the line more than a day after NOW ("Dec 31" read on Jan 1 is last
 * year, "Jan 1" read at 23:59 on Dec 31 is next year).
 *
 * Returns the record kind (> 0), MAILLOG_IGNORED (a valid line this module
 * has no use for: other programs, other Postfix messages, warnings) or
 * MAILLOG_MALFORMED (no valid prefix, a known message cut short or garbled,
 * a NUL byte, longer than MAILLOG_LINE_MAX).  R is filled for every result
 * but MAILLOG_MALFORMED, as far as the line went.
 *
 * Strings in R point into R's own buffer: NUL-terminated, valid until the
 * next maillog_parse() on R; do not copy a struct maillog_rec by value.  A
 * string that the line lacks is NULL; an empty one is "" (from=<> is the
 * null sender "").  Addresses are unquoted to Postfix's internal form
 * (to=<"a b"@x> gives "a b@x"), the form the policy service and milter see.
 */
#ifndef OUTPOST_MAILLOG_H
#define OUTPOST_MAILLOG_H

#include <stddef.h>
#include <stdint.h>

/* Longest line accepted.  Postfix cuts every record's text at 2000 bytes. */
#define MAILLOG_LINE_MAX 4096
#define MAILLOG_POSTFIX_RECLEN 2000

enum maillog_kind {
	MAILLOG_MALFORMED = -1,
	MAILLOG_IGNORED = 0,
	MAILLOG_SMTPD_CLIENT,  /* QID: client=host[ip][, sasl_method=M, sasl_username=U]... */
	MAILLOG_PICKUP,	       /* QID: uid=N from=<sender>[ orig_id=QID] */
	MAILLOG_CLEANUP_MSGID, /* QID: message-id=<...> or resent-message-id=... */
	MAILLOG_QMGR_FROM,     /* QID: from=<sender>, size=N, nrcpt=N (queue active) */
	MAILLOG_QMGR_EXPIRED,  /* QID: from=<sender>, status=expired, returned to sender */
	MAILLOG_QMGR_REMOVED,  /* QID: removed */
	MAILLOG_DELIVERY,      /* QID: to=<rcpt>, ..., dsn=X.Y.Z, status=WORD (text) */
	MAILLOG_BOUNCE_NOTICE, /* QID: sender non-delivery notification: NEWQID */
	MAILLOG_REJECT, /* QID|NOQUEUE: reject: RCPT from host[ip]: 550 5.7.1 ...; from=<> ... */
};

enum maillog_severity {
	MAILLOG_SEV_INFO = 0,
	MAILLOG_SEV_WARNING,
	MAILLOG_SEV_ERROR,
	MAILLOG_SEV_FATAL,
	MAILLOG_SEV_PANIC,
};

/* The status= word of a DELIVERY line. */
enum maillog_status {
	MAILLOG_ST_OTHER = 0, /* a word this module does not know: see status_word */
	MAILLOG_ST_SENT,
	MAILLOG_ST_BOUNCED,
	MAILLOG_ST_DEFERRED,
	MAILLOG_ST_SOFTBOUNCE, /* soft_bounce=yes turned a bounce into a deferral */
	MAILLOG_ST_EXPIRED,
	MAILLOG_ST_DELIVERABLE,	  /* address verification probe (sendmail -bv, verify) */
	MAILLOG_ST_UNDELIVERABLE, /* idem */
};

/* What the bounce daemon sent (BOUNCE_NOTICE). */
enum maillog_notice {
	MAILLOG_NOTICE_NDR = 1, /* "non-delivery notification": the bounce */
	MAILLOG_NOTICE_DELAY,	/* "delay notification": delay_warning_time */
	MAILLOG_NOTICE_DSN,	/* "delivery status notification": NOTIFY=SUCCESS, -bv */
};

/* The action of a REJECT line: all stop the message or recipient from going on. */
enum maillog_action {
	MAILLOG_ACT_REJECT = 1,
	MAILLOG_ACT_MILTER_REJECT,
	MAILLOG_ACT_HOLD,
	MAILLOG_ACT_MILTER_HOLD,
	MAILLOG_ACT_DISCARD,
	MAILLOG_ACT_MILTER_DISCARD,
};

struct maillog_rec {
	enum maillog_kind kind;
	/* Every line with a valid prefix. */
	int64_t time;		 /* epoch seconds, UTC */
	const char *host;	 /* as logged ("-" possible in RFC 5424) */
	const char *syslog_name; /* "postfix", "postfix-out", "postfix/submission" */
	const char *process;	 /* "smtp", "qmgr", a master.cf service name ... */
	long pid;		 /* 0 when the tag has none */
	enum maillog_severity severity;
	const char *queue_id;	/* every kind; NULL for NOQUEUE (REJECT only) */
	unsigned truncated : 1; /* the record reached Postfix's 2000-byte limit: the text may
				   be cut; only then is a DELIVERY without its final ')' or a
				   REJECT without its "; from=<...>" context accepted */

	/* SMTPD_CLIENT; client_* also REJECT */
	const char *client_name; /* "mail.example.org", "unknown", "local" (cleanup) */
	const char *client_addr; /* "192.0.2.7", "2001:db8::7"; NULL when not host[ip] */
	const char *sasl_method, *sasl_username, *sasl_sender;
	const char *orig_queue_id, *orig_client; /* XFORWARD, after a content filter */

	/* PICKUP */
	long uid;
	const char *orig_id; /* requeued (postsuper -r) maildrop file */

	/* CLEANUP_MSGID: the header value as logged, "<...>" kept, may lack them or be "<>" */
	const char *message_id;
	unsigned resent : 1; /* it was resent-message-id= */

	/* PICKUP, QMGR_FROM, QMGR_EXPIRED, REJECT */
	const char *from;
	/* QMGR_FROM */
	uint64_t size;
	unsigned nrcpt;
	/* QMGR_EXPIRED */
	unsigned forced : 1; /* status=force-expired (postsuper -e) */

	/* DELIVERY; to, dsn, text also REJECT */
	const char *to;
	const char *orig_to; /* before alias/virtual expansion, only when different */
	const char *relay;   /* "mx.example.org[192.0.2.7]:25", "none", "local", "pipet" */
	unsigned conn_use;   /* 0 when not logged (first use of a connection) */
	uint64_t delay_ms;
	const char *delays; /* "a/b/c/d" as logged */
	const char *tls;    /* Postfix 3.11+ TLS feature summary, when logged */
	const char *dsn;    /* "5.1.1"; NULL in a REJECT without one */
	enum maillog_status status;
	const char *status_word; /* as logged: "sent", "SOFTBOUNCE", ... */
	const char *text;	 /* DELIVERY: inside "status=WORD (...)", to the last ')';
				    REJECT: the reply after code and dsn (may be NULL) */

	/* BOUNCE_NOTICE */
	enum maillog_notice notice;
	unsigned to_postmaster : 1; /* "postmaster ... notification" instead of "sender" */
	const char *new_queue_id;   /* the notification's own queue id */

	/* REJECT */
	enum maillog_action action;
	const char *stage; /* "RCPT", "MAIL", "END-OF-MESSAGE", ... or "header", "body" */
	const char *code;  /* "550"; NULL when the reply has none (hold, milter-reject at EOM) */
	const char *proto, *helo;

	/* private: the strings above live here */
	size_t used_;
	char buf_[MAILLOG_LINE_MAX + 128];
};

/* Parse LINE[0..LEN) into R; see above for the contract. */
int maillog_parse(const char *line, size_t len, int64_t now, struct maillog_rec *r);

/* Names for logs and tests: "delivery", "sent", "non-delivery", "milter-reject". */
const char *maillog_kind_name(int kind);
const char *maillog_status_name(enum maillog_status st);
const char *maillog_notice_name(enum maillog_notice n);
const char *maillog_action_name(enum maillog_action a);

#endif
