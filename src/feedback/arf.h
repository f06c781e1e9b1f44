/*
 * arf -- complaints: RFC 5965 abuse reports (ARF), as mailbox providers' feedback
 * loops send them (Yahoo/AOL CFL, Microsoft JMRP, ISP and appliance FBLs).
 *
 * Pure: a whole message in (bytes, not NUL-terminated), a struct out; no I/O,
 * no store, no clock.
 *
 * What is read: the first message/feedback-report part of the report (not
 * of a message it carries), nested in any multipart, and the headers of the
 * reported message from the first message/rfc822 or text/rfc822-headers part.
 * Providers redact: the complainant's address is often withheld (no
 * Original-Rcpt-To, or "redacted", "xxxxx@domain").  Such a report is flagged
 * and its recipient list is left empty: we never guess a complainant from the
 * To: header.  Tie the report to an account and a recipient with the reported
 * message's Return-Path (a VERP address: see verp_decode() in dsn.h),
 * Feedback-ID, Message-ID or X-Outpost-* headers instead.
 */
#ifndef OUTPOST_ARF_H
#define OUTPOST_ARF_H

#include <stddef.h>

#include "feedback/mime.h"

enum arf_status {
	ARF_OK = 0,	   /* a feedback report with a Feedback-Type */
	ARF_NOT_ARF = 1,   /* not a complaint (why says what it looked like) */
	ARF_MALFORMED = 2, /* a complaint we could not use (why says what is missing) */
};

enum arf_type {
	ARF_TYPE_UNKNOWN = 0, /* a type this code does not know; see feedback_type */
	ARF_TYPE_ABUSE,
	ARF_TYPE_FRAUD,
	ARF_TYPE_VIRUS,
	ARF_TYPE_OTHER,
	ARF_TYPE_NOT_SPAM,     /* RFC 6430 */
	ARF_TYPE_AUTH_FAILURE, /* RFC 6591 */
};

enum {
	ARF_MAX_RCPTS = 16, /* Original-Rcpt-To kept */
	ARF_MAX_MULTI = 8,  /* Reported-Domain, Reported-Uri, Authentication-Results kept */
};

/* A parsed report; strings are "" when absent, cut to size (CUT is then set). */
struct arf_report {
	enum arf_status status;
	const char *why; /* a short static reason; NULL when ARF_OK */
	int cut;

	enum arf_type type;
	char feedback_type[32]; /* as written, lower-case: "abuse" */
	char user_agent[128];
	char version[16];
	char envelope_id[256];	 /* Original-Envelope-Id */
	char mail_from[320];	 /* Original-Mail-From, without "<>" */
	char arrival_date[96];	 /* Arrival-Date (or the historic Received-Date) */
	char reporting_mta[256]; /* without its "dns;" */
	char source_ip[64];
	char incidents[16];

	/* Original-Rcpt-To (and the historic Removal-Recipient) that are not redacted */
	size_t nrcpts;
	char rcpts[ARF_MAX_RCPTS][320];
	size_t ndomains;
	char reported_domain[ARF_MAX_MULTI][256];
	size_t nuris;
	char reported_uri[ARF_MAX_MULTI][512];
	size_t nauth;
	char auth_results[ARF_MAX_MULTI][512];

	/*
	 * 1 when the provider withheld the complainant: no usable
	 * Original-Rcpt-To (NRCPTS is 0), or a redacted To: in the reported
	 * message.  REDACTED_WHY says which.
	 */
	int redacted;
	const char *redacted_why;

	struct mime_orig orig; /* the reported message's headers */
};

/* Parse the message BUF[0..LEN) into R; returns R->status. */
enum arf_status arf_parse(const char *buf, size_t len, struct arf_report *r);

/* "abuse", "not-spam" ... for logs; "unknown" for ARF_TYPE_UNKNOWN. */
const char *arf_type_name(enum arf_type t);

/*
 * True when the address or header value S looks redacted: it says
 * "redacted", or the local part of its (last "<>") address is only 'x', '*'
 * or '#', three or more of them ("xxxxxxx@outlook.com").  A recipient field
 * without an '@' is withheld too; a To: such as "Undisclosed Recipients" is
 * not redacted.
 */
int arf_redacted(const char *s);

#endif
