/*
 * dsn -- asynchronous bounces: RFC 3464 delivery status notifications, the
 * plain-text bounces older MTAs still send, and the VERP address they come
 * back to.
 *
 * Pure: a whole message in (bytes, not NUL-terminated), a struct out; no I/O,
 * no store, no clock.  Tying the result to an account is the caller's job:
 * it gets every handle the report carries (the VERP address, the original
 * Postfix queue id, the returned message's Message-ID, Feedback-ID and
 * X-Outpost-* headers) and decides which to trust.
 *
 * What is read:
 *   - RFC 3464: the first message/delivery-status (or global-delivery-status)
 *     part of the report, not of a returned message, nested in any multipart.
 *     Its first field block gives the per-message fields; every following
 *     block that names a recipient, or has an Action or a Status, gives one
 *     recipient.  Folded fields are unfolded.
 *   - The returned message: its headers from the first message/rfc822,
 *     message/global, text/rfc822-headers or message/global-headers part.
 *   - Without a delivery-status part (a plain-text bounce in qmail, Exim or
 *     Exchange style): the text parts are scanned, up to the line that
 *     introduces the returned copy, for a phrase such as "could not be
 *     delivered to" or "following address(es) failed", the addresses that
 *     follow it ("<user@example.com>", or alone on a line), and the first
 *     SMTP reply with an enhanced status code ("550 5.1.1", or a bare "5.1.1"
 *     once a phrase was found).  Such a result is marked heuristic.  The
 *     headers after "--- Below this line is a copy of the message." and the
 *     like become the original's headers.
 */
#ifndef OUTPOST_DSN_H
#define OUTPOST_DSN_H

#include <stddef.h>

#include "feedback/mime.h"

enum dsn_status {
	DSN_OK = 0,	   /* a report with at least one recipient */
	DSN_NOT_DSN = 1,   /* not a bounce at all (why says what it looked like) */
	DSN_MALFORMED = 2, /* a bounce we could not use (why says what is missing) */
};

enum dsn_action {
	DSN_ACTION_UNKNOWN = 0, /* absent or not one of the RFC 3464 values */
	DSN_ACTION_FAILED,
	DSN_ACTION_DELAYED,
	DSN_ACTION_DELIVERED,
	DSN_ACTION_RELAYED,
	DSN_ACTION_EXPANDED,
};

enum { DSN_MAX_RCPTS = 256 };

/* One per-recipient block.  Strings are "" when absent; addresses lose "<>". */
struct dsn_rcpt {
	char final_type[16];  /* address type of Final-Recipient, lower-case: "rfc822", "utf-8" */
	char final_rcpt[320]; /* Final-Recipient (Original-Recipient if that was missing) */
	char orig_rcpt[320];  /* Original-Recipient */
	enum dsn_action action;
	char status[16];    /* "5.1.1": from Status, else from the diagnostic text */
	char reply_code[4]; /* "550", from the diagnostic text */
	char diag_type[16]; /* lower-case "smtp", "x-postfix" ... */
	char diag[1024];    /* Diagnostic-Code after "type;", e.g. "550 5.1.1 <bob@ex.org>: ..." */
	char remote_mta[256];  /* Remote-MTA without its "dns;" */
	char last_attempt[96]; /* Last-Attempt-Date */
	char retry_until[96];  /* Will-Retry-Until */
};

struct dsn_report {
	enum dsn_status status;
	const char *why; /* a short static reason; NULL for an RFC 3464 report */
	int heuristic;	 /* 1: no delivery-status part, guessed from the text */
	int cut;	 /* 1: a value or the recipient list did not fit, or a MIME limit was hit */

	/* the per-message fields */
	char reporting_mta[256]; /* without its "dns;" */
	char envelope_id[256];	 /* Original-Envelope-Id */
	char arrival_date[96];
	char queue_id[64]; /* X-Postfix-Queue-ID: the original message's queue id */
	char sender[320];  /* X-Postfix-Sender without its "rfc822;" */

	struct dsn_rcpt *rcpts; /* NRCPTS of them, owned */
	size_t nrcpts;

	struct mime_orig orig; /* the returned message's headers */

	/* the envelope recipient of the bounce, when the caller passed one */
	int verp; /* 1: it decoded as VERP */
	char verp_account[128];
	char verp_rcpt[320];
};

/*
 * Parse the message BUF[0..LEN) into R.  ENV_RCPT is the bounce's envelope
 * recipient (NULL if unknown) and VERP_DELIMS its VERP delimiters (see
 * verp_decode; NULL for "+=").  Returns R->status; R must be released with
 * dsn_report_deinit() whatever the result.
 */
enum dsn_status dsn_parse(const char *buf, size_t len, const char *env_rcpt,
			  const char *verp_delims, struct dsn_report *r);
void dsn_report_deinit(struct dsn_report *r);

/* "failed", "delayed" ... for logs; "unknown" for DSN_ACTION_UNKNOWN. */
const char *dsn_action_name(enum dsn_action a);

/*
 * Decode a VERP address of the shape
 *     PREFIX<d1>ACCOUNT<d2>LOCAL<d2>DOMAIN@HOST
 * for instance "bounces+acct1=user=example.com@bounce.platform.test" with
 * DELIMS "+=" (Postfix's default_verp_delimiters; NULL means "+="), which
 * gives account "acct1" and recipient "user@example.com".  PREFIX ends at the
 * first <d1> of the local part; ACCOUNT at the first <d2> after it (it never
 * contains <d2>); DOMAIN starts after the last <d2> (domains never contain
 * it); LOCAL is what lies between and may contain <d2>.  Plain Postfix VERP
 * with a single <d2> ("owner+user=example.com@host") gives an empty account.
 * The address has exactly one '@'.  Surrounding "<>" and blanks are
 * ignored.  0 on success; -1 when ADDR is not of this
 * shape or a part does not fit its buffer (the outputs are then "").
 */
int verp_decode(const char *addr, const char *delims, char *account, size_t account_len, char *rcpt,
		size_t rcpt_len);

#endif
