/* dsn -- RFC 3464 reports, plain-text bounces and VERP; see dsn.h. */
#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "feedback/dsn.h"
#include "util/text.h"
#include "util/xalloc.h"

enum {
	SCAN_MAX = 64 * 1024, /* bytes of one text part searched for bounce text */
	HEUR_MAX_RCPTS = 32,  /* addresses taken from bounce text */
	ADDR_MAX = 320,
};

static const struct {
	const char *name;
	enum dsn_action action;
} actions[] = {
    {"failed", DSN_ACTION_FAILED},	 {"delayed", DSN_ACTION_DELAYED},
    {"delivered", DSN_ACTION_DELIVERED}, {"relayed", DSN_ACTION_RELAYED},
    {"expanded", DSN_ACTION_EXPANDED},
};

/* Phrases that introduce the failed addresses in plain-text bounces (lower-case). */
static const struct {
	const char *text;
	enum dsn_action action;
} phrases[] = {
    {"could not be delivered", DSN_ACTION_FAILED},
    {"couldn't be delivered", DSN_ACTION_FAILED},
    {"following address(es) failed", DSN_ACTION_FAILED},
    {"following addresses had permanent fatal errors", DSN_ACTION_FAILED},
    {"recipient address rejected", DSN_ACTION_FAILED},
    {"wasn't able to deliver your message", DSN_ACTION_FAILED},
    {"unable to deliver", DSN_ACTION_FAILED},
    {"delivery to the following recipient", DSN_ACTION_FAILED},
    {"delivery has failed to these recipients", DSN_ACTION_FAILED},
    {"permanent error. the following", DSN_ACTION_FAILED},
    {"has not yet been delivered", DSN_ACTION_DELAYED},
    {"has been delayed", DSN_ACTION_DELAYED},
};

/* Lines that introduce the copy of the original message in plain-text bounces (lower-case). */
static const char *const copy_markers[] = {
    "--- below this line is a copy of the message",
    "------ this is a copy of the message",
    "----- original message -----",
    "-----original message-----",
    "original message follows",
    "------ this is a copy of the headers",
};

/* Header lines whose "<...>" is not a failed recipient (lower-case). */
static const char *const not_rcpt_lines[] = {
    "from:", "return-path:", "sender:", "reply-to:", "message-id:", "in-reply-to:", "references:",
};

/* Copy S[0..N) into DST of SIZE bytes, NUL-terminated; set *CUT when it does not fit. */
static void
copy_n(char *dst, size_t size, const char *s, size_t n, int *cut)
{
	if (n >= size) {
		n = size - 1;
		*cut = 1;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Copy the string S into DST of SIZE bytes; set *CUT when it does not fit. */
static void
copy(char *dst, size_t size, const char *s, int *cut)
{
	if (text_copy(dst, size, s) != 0)
		*cut = 1;
}

/* Blanks as RFC 5322 has them: space and tab. */
static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* S[0..LEN) with blanks trimmed at both ends: *S moved, new length returned. */
static size_t
trim(const char **s, size_t len)
{
	while (len > 0 && isspace((unsigned char)**s)) {
		(*s)++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)(*s)[len - 1]))
		len--;
	return len;
}

/* First occurrence of lower-case NEEDLE in S[0..LEN), case-insensitively; NULL if none. */
static const char *
find_ci(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; n <= len && i <= len - n; i++)
		if (tolower((unsigned char)s[i]) == needle[0] && strncasecmp(s + i, needle, n) == 0)
			return s + i;
	return NULL;
}

/*
 * Split a "type; value" field into lower-case TYPE and VALUE; without a ';'
 * all of it is the value.  ADDR: drop the "<>" around an address.
 */
static void
typed_value(const char *v, char *type, size_t tlen, char *val, size_t vlen, int addr, int *cut)
{
	const char *semi = strchr(v, ';'), *s = v;
	size_t n;

	if (semi != NULL) {
		n = trim(&s, (size_t)(semi - v));
		copy_n(type, tlen, s, n, cut);
		for (char *p = type; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		s = semi + 1;
	} else if (tlen) {
		type[0] = '\0';
	}
	n = trim(&s, strlen(s));
	if (addr && n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s++;
		n -= 2;
	}
	copy_n(val, vlen, s, n, cut);
}

/* ---- status codes ----------------------------------------------------------- */

/* Length of the RFC 3463 enhanced status code S starts with ("5.1.1"), 0 if none. */
static size_t
enhanced_len(const char *s, size_t len)
{
	size_t i = 2;

	if (len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	for (int part = 0; part < 2; part++) {
		size_t d = 0;
		while (i < len && isdigit((unsigned char)s[i]) && d < 4) {
			i++;
			d++;
		}
		if (d == 0 || d > 3)
			return 0;
		if (part == 0 && (i >= len || s[i++] != '.'))
			return 0;
	}
	if (i < len && (isdigit((unsigned char)s[i]) ||
			(s[i] == '.' && i + 1 < len && isdigit((unsigned char)s[i + 1]))))
		return 0; /* part of a version or an address: "5.1.1.4", "192.5.1.10" */
	return i;
}

/* True at a word start: not after a letter, a digit or a dot. */
static int
word_start(const char *s, size_t i)
{
	return i == 0 || !(isalnum((unsigned char)s[i - 1]) || s[i - 1] == '.');
}

/*
 * The first SMTP reply with an enhanced code ("550 5.1.1", "550-5.1.1") in
 * S[0..LEN): its offset (LEN if none); REPLY and STATUS get the two codes.
 */
static size_t
find_reply(const char *s, size_t len, char reply[4], char status[16])
{
	for (size_t i = 0; i + 9 <= len; i++) {
		size_t n;
		if ((s[i] != '2' && s[i] != '4' && s[i] != '5') || !word_start(s, i) ||
		    !isdigit((unsigned char)s[i + 1]) || !isdigit((unsigned char)s[i + 2]) ||
		    (s[i + 3] != ' ' && s[i + 3] != '-') ||
		    (n = enhanced_len(s + i + 4, len - i - 4)) == 0)
			continue;
		memcpy(reply, s + i, 3);
		reply[3] = '\0';
		memcpy(status, s + i + 4, n);
		status[n] = '\0';
		return i;
	}
	return len;
}

/* The first bare enhanced status code at a word start in S[0..LEN): offset, or LEN. */
static size_t
find_enhanced(const char *s, size_t len, char status[16])
{
	for (size_t i = 0; i + 5 <= len; i++) {
		size_t n;
		if ((s[i] == '2' || s[i] == '4' || s[i] == '5') && word_start(s, i) &&
		    (n = enhanced_len(s + i, len - i)) > 0) {
			memcpy(status, s + i, n);
			status[n] = '\0';
			return i;
		}
	}
	return len;
}

/* The 3-digit reply code a diagnostic starts with ("554 delivery error"), "" if none. */
static void
leading_reply(const char *s, char reply[4])
{
	reply[0] = '\0';
	if ((s[0] == '2' || s[0] == '4' || s[0] == '5') && isdigit((unsigned char)s[1]) &&
	    isdigit((unsigned char)s[2]) && !isdigit((unsigned char)s[3]) && s[3] != '.') {
		memcpy(reply, s, 3);
		reply[3] = '\0';
	}
}

/* ---- RFC 3464 ---------------------------------------------------------------- */

const char *
dsn_action_name(enum dsn_action a)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (actions[i].action == a)
			return actions[i].name;
	return "unknown";
}

/* The Action value V ("failed", "failed (reason)"), any case. */
static enum dsn_action
action_parse(const char *v)
{
	size_t n = 0;

	while (isalpha((unsigned char)v[n]))
		n++; /* "failed (bad mailbox)" */
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (n == strlen(actions[i].name) && strncasecmp(v, actions[i].name, n) == 0)
			return actions[i].action;
	return DSN_ACTION_UNKNOWN;
}

/* A new recipient slot in R, NULL when DSN_MAX_RCPTS is reached. */
static struct dsn_rcpt *
rcpt_new(struct dsn_report *r)
{
	if (r->nrcpts >= DSN_MAX_RCPTS) {
		r->cut = 1;
		return NULL;
	}
	if ((r->nrcpts & (r->nrcpts - 1)) == 0) /* 0, 1, 2, 4 ...: double */
		r->rcpts = xrealloc(r->rcpts, (r->nrcpts ? 2 * r->nrcpts : 1) * sizeof(*r->rcpts));
	memset(&r->rcpts[r->nrcpts], 0, sizeof(*r->rcpts));
	return &r->rcpts[r->nrcpts++];
}

/* Fill the status and reply code of RC that the Status field did not give, from its diagnostic. */
static void
status_from_diag(struct dsn_rcpt *rc)
{
	char reply[4], status[16];
	size_t len = strlen(rc->diag);

	if (find_reply(rc->diag, len, reply, status) < len) {
		memcpy(rc->reply_code, reply, sizeof(reply));
		if (rc->status[0] == '\0')
			memcpy(rc->status, status, sizeof(status));
		return;
	}
	leading_reply(rc->diag, rc->reply_code);
	if (rc->status[0] == '\0' && find_enhanced(rc->diag, len, status) < len)
		memcpy(rc->status, status, sizeof(status));
}

/* One per-recipient block F into R. */
static void
rcpt_add(struct dsn_report *r, const struct mime_fields *f)
{
	struct dsn_rcpt *rc = rcpt_new(r);
	const char *v, *addr;
	char ignore[16];

	if (rc == NULL)
		return;
	if ((addr = mime_fields_get(f, "Final-Recipient")) == NULL &&
	    (addr = mime_fields_get(f, "Original-Recipient")) == NULL)
		addr = mime_fields_get(f, "X-Actual-Recipient");
	if (addr != NULL)
		typed_value(addr, rc->final_type, sizeof(rc->final_type), rc->final_rcpt,
			    sizeof(rc->final_rcpt), 1, &r->cut);
	if ((v = mime_fields_get(f, "Original-Recipient")) != NULL)
		typed_value(v, ignore, sizeof(ignore), rc->orig_rcpt, sizeof(rc->orig_rcpt), 1,
			    &r->cut);
	if ((v = mime_fields_get(f, "Action")) != NULL)
		rc->action = action_parse(v);
	if ((v = mime_fields_get(f, "Status")) != NULL) {
		size_t n = enhanced_len(v, strlen(v));
		if (n > 0)
			copy_n(rc->status, sizeof(rc->status), v, n, &r->cut);
	}
	if ((v = mime_fields_get(f, "Diagnostic-Code")) != NULL)
		typed_value(v, rc->diag_type, sizeof(rc->diag_type), rc->diag, sizeof(rc->diag), 0,
			    &r->cut);
	status_from_diag(rc);
	if ((v = mime_fields_get(f, "Remote-MTA")) != NULL)
		typed_value(v, ignore, sizeof(ignore), rc->remote_mta, sizeof(rc->remote_mta), 0,
			    &r->cut);
	if ((v = mime_fields_get(f, "Last-Attempt-Date")) != NULL)
		copy(rc->last_attempt, sizeof(rc->last_attempt), v, &r->cut);
	if ((v = mime_fields_get(f, "Will-Retry-Until")) != NULL)
		copy(rc->retry_until, sizeof(rc->retry_until), v, &r->cut);
}

/* The per-message fields of block F into R; the first value of each wins. */
static void
message_fields(struct dsn_report *r, const struct mime_fields *f)
{
	const char *v;
	char ignore[16];

	if (!r->reporting_mta[0] && (v = mime_fields_get(f, "Reporting-MTA")) != NULL)
		typed_value(v, ignore, sizeof(ignore), r->reporting_mta, sizeof(r->reporting_mta),
			    0, &r->cut);
	if (!r->envelope_id[0] && (v = mime_fields_get(f, "Original-Envelope-Id")) != NULL)
		copy(r->envelope_id, sizeof(r->envelope_id), v, &r->cut);
	if (!r->arrival_date[0] && (v = mime_fields_get(f, "Arrival-Date")) != NULL)
		copy(r->arrival_date, sizeof(r->arrival_date), v, &r->cut);
	if (!r->queue_id[0] && (v = mime_fields_get(f, "X-Postfix-Queue-ID")) != NULL)
		copy(r->queue_id, sizeof(r->queue_id), v, &r->cut);
	if (!r->sender[0] && (v = mime_fields_get(f, "X-Postfix-Sender")) != NULL)
		typed_value(v, ignore, sizeof(ignore), r->sender, sizeof(r->sender), 1, &r->cut);
}

/* True when block F is about a recipient rather than the message. */
static int
is_rcpt_block(const struct mime_fields *f)
{
	static const char *const names[] = {"Final-Recipient", "Original-Recipient", "Action",
					    "Status", "X-Actual-Recipient"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (mime_fields_get(f, names[i]) != NULL)
			return 1;
	return 0;
}

/* The body of a message/delivery-status part: blocks of fields separated by empty lines. */
static void
status_part_parse(struct dsn_report *r, const char *body, size_t len)
{
	size_t off = 0;

	while (off < len) {
		struct mime_fields f;
		size_t used;

		mime_fields_init(&f);
		used = mime_fields_parse(&f, body + off, len - off);
		if (used == 0) {
			/* A line that is not a field: skip it. */
			const char *nl = memchr(body + off, '\n', len - off);
			used = nl ? (size_t)(nl - (body + off)) + 1 : len - off;
		}
		if (f.flags)
			r->cut = 1;
		if (f.n > 0 && is_rcpt_block(&f))
			rcpt_add(r, &f);
		else if (f.n > 0)
			message_fields(r, &f);
		mime_fields_deinit(&f);
		off += used;
	}
}

/* ---- plain-text bounces ------------------------------------------------------ */

struct found_addr {
	size_t pos; /* first occurrence in the text */
	char addr[ADDR_MAX];
};

/* A plausible address: "local@domain", printable, no blanks or brackets. */
static int
addr_ok(const char *s, size_t n)
{
	const char *at;

	if (n < 3 || n >= ADDR_MAX || (at = memchr(s, '@', n)) == NULL || at == s ||
	    at == s + n - 1 || memchr(at + 1, '@', (size_t)(s + n - at - 1)) != NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 32 || c == 127 || strchr("<>()[],;:\"\\", c) != NULL)
			return 0;
	}
	return 1;
}

/* Add S[0..N), found at POS, to the list A (of *NA) unless it is there already. */
static void
addr_add(struct found_addr *a, size_t *na, const char *s, size_t n, size_t pos)
{
	int cut = 0;

	if (!addr_ok(s, n))
		return;
	for (size_t i = 0; i < *na; i++)
		if (strlen(a[i].addr) == n && strncasecmp(a[i].addr, s, n) == 0)
			return;
	if (*na >= HEUR_MAX_RCPTS)
		return;
	a[*na].pos = pos;
	copy_n(a[*na].addr, sizeof(a[*na].addr), s, n, &cut);
	(*na)++;
}

/*
 * Where the first header or command naming a sender ("From:", "MAIL
 * FROM:", "Message-ID:" ...) ends in LINE[0..LEN); LEN + 1 if there is none.
 * A "<...>" after it is not a failed recipient.
 */
static size_t
sender_tag_end(const char *line, size_t len)
{
	size_t best = len + 1;

	for (size_t i = 0; i < sizeof(not_rcpt_lines) / sizeof(not_rcpt_lines[0]); i++) {
		const char *p = find_ci(line, len, not_rcpt_lines[i]);
		size_t end = p ? (size_t)(p - line) + strlen(not_rcpt_lines[i]) : len + 1;
		if (end < best)
			best = end;
	}
	return best;
}

/* If S[0..LEN) holds nothing but an address (and maybe a colon), add it. */
static void
bare_line(struct found_addr *a, size_t *na, const char *s, size_t len, size_t pos)
{
	const char *t = s;
	size_t n = trim(&t, len);

	if (n > 0 && t[n - 1] == ':')
		n--;
	addr_add(a, na, t, n, pos + (size_t)(t - s));
}

/* The "<address>"es on the line TEXT[S..E), but those after a sender tag. */
static void
angle_addrs(const char *text, size_t s, size_t e, struct found_addr *a, size_t *na)
{
	size_t sender = s + sender_tag_end(text + s, e - s);
	const char *gt = NULL;

	for (size_t i = s; i < e && i < sender; i++) {
		size_t n;
		if (text[i] != '<')
			continue;
		/* One search for each '>', not one per '<': lines can be long. */
		if ((gt == NULL || gt < text + i) &&
		    (gt = memchr(text + i + 1, '>', e - i - 1)) == NULL)
			return;
		n = (size_t)(gt - text) - i - 1;
		if (memchr(text + i + 1, '<', n) != NULL)
			continue; /* a nearer '<' opens the address */
		if (n < ADDR_MAX)
			addr_add(a, na, text + i + 1, n, i);
		i = (size_t)(gt - text);
	}
}

/* The addresses in TEXT[FROM..LEN): "<...>" anywhere, or alone on a line. */
static void
collect_addrs(const char *text, size_t from, size_t len, struct found_addr *a, size_t *na)
{
	size_t off = from;

	while (off < len && *na < HEUR_MAX_RCPTS) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t end = nl ? (size_t)(nl - text) : len;

		bare_line(a, na, text + off, end - off, off);
		angle_addrs(text, off, end, a, na);
		off = nl ? end + 1 : len;
	}
}

/* Where the copy of the original message starts in TEXT[0..LEN) (the marker line), or LEN. */
static size_t
copy_marker(const char *text, size_t len)
{
	size_t best = len;

	for (size_t i = 0; i < sizeof(copy_markers) / sizeof(copy_markers[0]); i++) {
		const char *p = find_ci(text, best, copy_markers[i]);
		if (p != NULL)
			best = (size_t)(p - text);
	}
	return best;
}

/* The first phrase in TEXT[0..LEN): its offset (LEN if none) and *ACTION_R. */
static size_t
first_phrase(const char *text, size_t len, enum dsn_action *action_r)
{
	size_t best = len;

	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++) {
		const char *p = find_ci(text, best, phrases[i].text);
		if (p != NULL) {
			best = (size_t)(p - text);
			*action_r = phrases[i].action;
		}
	}
	return best;
}

/* The line of TEXT[0..LEN) around offset AT into DIAG, trimmed. */
static void
line_at(const char *text, size_t len, size_t at, char *diag, size_t size, int *cut)
{
	size_t s = at, e = at;
	const char *p;

	while (s > 0 && text[s - 1] != '\n')
		s--;
	while (e < len && text[e] != '\n')
		e++;
	p = text + s;
	copy_n(diag, size, p, trim(&p, e - s), cut);
}

/* The first line of S[0..LEN) starting with a bare reply code ("554: ..."): offset, or LEN. */
static size_t
find_line_reply(const char *s, size_t len, char reply[4])
{
	for (size_t i = 0; i + 3 <= len; i++) {
		size_t b = i;
		while (i < len && is_blank(s[i]))
			i++;
		if (i + 3 <= len && (b == 0 || s[b - 1] == '\n') &&
		    (i + 3 == len || strchr(" :-\r\n", s[i + 3]) != NULL)) {
			char c[5] = {s[i], s[i + 1], s[i + 2], ' ', '\0'};
			leading_reply(c, reply);
			if (reply[0])
				return i;
		}
		while (i < len && s[i] != '\n')
			i++;
	}
	return len;
}

/* TEXT[S..E) with runs of white space made one blank, into DIAG. */
static void
collapse(const char *text, size_t s, size_t e, char *diag, size_t size, int *cut)
{
	size_t n = 0;

	for (size_t i = s; i < e; i++) {
		int sp = isspace((unsigned char)text[i]) || text[i] == '\0';
		if (sp && (n == 0 || diag[n - 1] == ' '))
			continue;
		if (n + 1 >= size) {
			*cut = 1;
			break;
		}
		diag[n++] = sp ? ' ' : text[i];
	}
	while (n > 0 && diag[n - 1] == ' ')
		n--;
	diag[n] = '\0';
}

/*
 * The status of the recipient whose text is TEXT[S..E): an SMTP reply with
 * an enhanced code, else a bare enhanced code, else a line that starts with a
 * reply code; the diagnostic is the line it is on.  0 if none of them.
 */
static int
segment_status(const char *text, size_t tlen, size_t s, size_t e, struct dsn_rcpt *rc, int *cut)
{
	size_t at;

	if ((at = find_reply(text + s, e - s, rc->reply_code, rc->status)) < e - s ||
	    (at = find_line_reply(text + s, e - s, rc->reply_code)) < e - s) {
		snprintf(rc->diag_type, sizeof(rc->diag_type), "smtp");
		if (rc->status[0] == '\0')
			find_enhanced(text + s + at, e - s - at, rc->status);
	} else if ((at = find_enhanced(text + s, e - s, rc->status)) >= e - s) {
		return 0;
	}
	line_at(text, tlen, s + at, rc->diag, sizeof(rc->diag), cut);
	return 1;
}

/* The phrase's action when there was one, else what the status class says. */
static enum dsn_action
heuristic_action(const char *status, int phrase, enum dsn_action phrase_action)
{
	if (phrase)
		return phrase_action;
	switch (status[0]) {
	case '5':
		return DSN_ACTION_FAILED;
	case '4':
		return DSN_ACTION_DELAYED;
	case '2':
		return DSN_ACTION_DELIVERED;
	default:
		return DSN_ACTION_UNKNOWN;
	}
}

/* The headers after the copy marker at TEXT + AT are the original's, unless a part gave them. */
static void
inline_orig(struct dsn_report *r, const char *text, size_t len, size_t at)
{
	const char *nl = memchr(text + at, '\n', len - at);
	struct mime_fields f;
	size_t off;

	if (r->orig.found || nl == NULL)
		return;
	off = (size_t)(nl - text) + 1;
	while (off < len && (text[off] == '\n' || text[off] == '\r'))
		off++;
	mime_fields_init(&f);
	mime_fields_parse(&f, text + off, len - off);
	if (f.n > 0) {
		mime_orig_from_fields(&f, &r->orig);
		r->orig.headers_only = 1;
	}
	mime_fields_deinit(&f);
}

/*
 * Look for a bounce in the text part TEXT[0..LEN).  1: recipients found (in
 * R); 0: nothing that looks like a bounce; -1: a bounce without a recipient.
 */
static int
scan_text(struct dsn_report *r, const char *text, size_t len)
{
	struct found_addr a[HEUR_MAX_RCPTS];
	enum dsn_action phrase_action = DSN_ACTION_FAILED;
	size_t lim = len < SCAN_MAX ? len : SCAN_MAX, region = copy_marker(text, lim);
	size_t phrase = first_phrase(text, region, &phrase_action), na = 0;
	struct dsn_rcpt first = {0};
	int have_first;

	have_first = segment_status(text, len, 0, region, &first, &r->cut);
	if (phrase == region && !(first.reply_code[0] && first.status[0]))
		return 0; /* without a phrase, only "550 5.1.1" says "bounce" */
	if (region < lim)
		inline_orig(r, text, len, region);
	if (phrase < region)
		collect_addrs(text, phrase, region, a, &na);
	if (na == 0 && r->verp) {
		a[0].pos = region; /* no text of its own: the first status applies */
		copy(a[0].addr, sizeof(a[0].addr), r->verp_rcpt, &r->cut);
		na = 1;
	}
	for (size_t i = 0; i < na; i++) {
		struct dsn_rcpt *rc = rcpt_new(r);
		size_t end = i + 1 < na ? a[i + 1].pos : region;
		if (rc == NULL)
			break;
		if (a[i].pos >= end || !segment_status(text, len, a[i].pos, end, rc, &r->cut)) {
			if (have_first)
				*rc = first;
			else if (a[i].pos < end)
				collapse(text, a[i].pos, end, rc->diag, sizeof(rc->diag), &r->cut);
		}
		copy(rc->final_type, sizeof(rc->final_type), "rfc822", &r->cut);
		copy(rc->final_rcpt, sizeof(rc->final_rcpt), a[i].addr, &r->cut);
		rc->action = heuristic_action(rc->status, phrase < region, phrase_action);
	}
	return na > 0 ? 1 : -1;
}

/* The fallback for reports without a delivery-status part: the text parts of the report. */
static int
heuristic(struct dsn_report *r, const struct mime *m)
{
	int res = 0;

	for (size_t i = 0; i < mime_nparts(m) && res <= 0; i++) {
		const struct mime_part *p = mime_part(m, i);
		int got;
		if (p->msg_level != 0 || strcmp(p->type, "text/plain") != 0)
			continue;
		if ((got = scan_text(r, p->body, p->body_len)) != 0)
			res = got;
	}
	return res;
}

/* Set R's result and return it. */
static enum dsn_status
result(struct dsn_report *r, enum dsn_status status, const char *why)
{
	r->status = status;
	r->why = why;
	return status;
}

/* Why a message without delivery-status part and bounce text is not a DSN, or malformed. */
static enum dsn_status
no_status_part(struct dsn_report *r, const struct mime_part *top, int heur)
{
	char rtype[64];

	if (heur < 0)
		return result(r, DSN_MALFORMED, "bounce text without a recipient address");
	if (top->flags & MIME_F_NO_BOUNDARY)
		return result(r, DSN_MALFORMED, "multipart message without a boundary");
	if (strcmp(top->type, "multipart/report") == 0 &&
	    mime_param(mime_fields_get(&top->headers, "Content-Type"), "report-type", rtype,
		       sizeof(rtype)) == 0 &&
	    strcasecmp(rtype, "delivery-status") == 0)
		return result(r, DSN_MALFORMED, "delivery-status report without its status part");
	return result(r, DSN_NOT_DSN, "no delivery-status part and no bounce text");
}

/* The earliest part of the report of either TYPE. */
static int
find_either(const struct mime *m, const char *t1, const char *t2)
{
	int a = mime_find(m, t1, 0), b = mime_find(m, t2, 0);

	return a < 0 ? b : (b < 0 || a < b ? a : b);
}

/* Parse an already split message M into R. */
static enum dsn_status
dsn_from_mime(struct dsn_report *r, const struct mime *m)
{
	const struct mime_part *top = mime_part(m, 0);
	int ds, heur;

	if (mime_find(m, "message/feedback-report", 0) >= 0)
		return result(r, DSN_NOT_DSN,
			      "a complaint (message/feedback-report), not a bounce");
	if (mime_flags(m) & (MIME_F_TRUNCATED | MIME_F_PARTS | MIME_F_FIELDS | MIME_F_LONG_VALUE))
		r->cut = 1;
	mime_orig_extract(m, &r->orig);
	r->cut |= r->orig.cut;
	ds = find_either(m, "message/delivery-status", "message/global-delivery-status");
	if (ds >= 0) {
		const struct mime_part *p = mime_part(m, (size_t)ds);
		status_part_parse(r, p->body, p->body_len);
		if (r->nrcpts == 0)
			return result(r, DSN_MALFORMED, "delivery-status part without a recipient");
		return result(r, DSN_OK, NULL);
	}
	if ((heur = heuristic(r, m)) <= 0)
		return no_status_part(r, top, heur);
	r->heuristic = 1;
	return result(r, DSN_OK, "no delivery-status part: recipients and status from the text");
}

enum dsn_status
dsn_parse(const char *buf, size_t len, const char *env_rcpt, const char *verp_delims,
	  struct dsn_report *r)
{
	struct mime *m;
	enum dsn_status st;

	memset(r, 0, sizeof(*r));
	if (env_rcpt != NULL &&
	    verp_decode(env_rcpt, verp_delims, r->verp_account, sizeof(r->verp_account),
			r->verp_rcpt, sizeof(r->verp_rcpt)) == 0)
		r->verp = 1;
	if (buf == NULL || len == 0)
		return result(r, DSN_NOT_DSN, "empty message");
	m = mime_parse(buf, len);
	st = dsn_from_mime(r, m);
	mime_destroy(m);
	return st;
}

void
dsn_report_deinit(struct dsn_report *r)
{
	free(r->rcpts);
	r->rcpts = NULL;
	r->nrcpts = 0;
}

/* ---- VERP --------------------------------------------------------------------- */

/* The last C in S[0..N), NULL if none. */
static const char *
last_of(const char *s, size_t n, char c)
{
	while (n > 0)
		if (s[--n] == c)
			return s + n;
	return NULL;
}

int
verp_decode(const char *addr, const char *delims, char *account, size_t account_len, char *rcpt,
	    size_t rcpt_len)
{
	const char *s = addr, *e, *at, *ext, *eq1, *eqn, *local;
	char d1, d2;
	size_t n;
	int cut = 0;

	if (account_len)
		account[0] = '\0';
	if (rcpt_len)
		rcpt[0] = '\0';
	if (addr == NULL || account_len == 0 || rcpt_len == 0)
		return -1;
	if (delims == NULL || delims[0] == '\0')
		delims = "+=";
	d1 = delims[0];
	d2 = delims[1] ? delims[1] : '=';
	n = trim(&s, strlen(s));
	e = s + n;
	if (e - s >= 2 && s[0] == '<' && e[-1] == '>')
		s++, e--;
	if ((at = last_of(s, (size_t)(e - s), '@')) == NULL || memchr(s, '@', (size_t)(at - s)) ||
	    (ext = memchr(s, d1, (size_t)(at - s))) == NULL || ext == s)
		return -1; /* one '@' only: none in the account or the encoded address */
	ext++;
	if ((eq1 = memchr(ext, d2, (size_t)(at - ext))) == NULL)
		return -1;
	eqn = last_of(ext, (size_t)(at - ext), d2);
	local = eq1 == eqn ? ext : eq1 + 1;
	if ((eq1 != eqn && eq1 == ext) || eqn == local || eqn + 1 == at ||
	    (size_t)(eqn - local) + 1 + (size_t)(at - eqn - 1) >= rcpt_len)
		return -1;
	if (eq1 != eqn)
		copy_n(account, account_len, ext, (size_t)(eq1 - ext), &cut);
	memcpy(rcpt, local, (size_t)(eqn - local));
	rcpt[eqn - local] = '@';
	copy_n(rcpt + (eqn - local) + 1, rcpt_len - (size_t)(eqn - local) - 1, eqn + 1,
	       (size_t)(at - eqn - 1), &cut);
	if (cut) {
		account[0] = rcpt[0] = '\0';
		return -1;
	}
	return 0;
}
