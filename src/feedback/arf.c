/* arf -- RFC 5965 feedback reports; see arf.h. */
#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "feedback/arf.h"
#include "util/text.h"

static const struct {
	const char *name;
	enum arf_type type;
} types[] = {
    {"abuse", ARF_TYPE_ABUSE},	     {"fraud", ARF_TYPE_FRAUD},
    {"virus", ARF_TYPE_VIRUS},	     {"other", ARF_TYPE_OTHER},
    {"not-spam", ARF_TYPE_NOT_SPAM}, {"auth-failure", ARF_TYPE_AUTH_FAILURE},
};

const char *
arf_type_name(enum arf_type t)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == t)
			return types[i].name;
	return "unknown";
}

/*
 * Copy the value V into DST: without a leading "type;" when TYPED ("dns;
 * mx.example.com"), without the "<>" around an address when ADDR.
 */
static void
copy_value(char *dst, size_t size, const char *v, int typed, int addr, int *cut)
{
	const char *semi = typed ? strchr(v, ';') : NULL;
	size_t n;

	if (semi != NULL)
		v = semi + 1;
	while (isspace((unsigned char)*v))
		v++;
	n = strlen(v);
	while (n > 0 && isspace((unsigned char)v[n - 1]))
		n--;
	if (addr && n >= 2 && v[0] == '<' && v[n - 1] == '>') {
		v++;
		n -= 2;
	}
	if (n >= size) {
		n = size - 1;
		*cut = 1;
	}
	memcpy(dst, v, n);
	dst[n] = '\0';
}

int
arf_redacted(const char *s)
{
	const char *at, *lt = strrchr(s, '<'), *local = lt ? lt + 1 : s;
	size_t n = 0;

	while (isspace((unsigned char)*local))
		local++;
	if (strcasestr(s, "redacted") != NULL)
		return 1;
	if ((at = strchr(local, '@')) == NULL)
		return 0;
	while (local + n < at && strchr("xX*#", local[n]) != NULL)
		n++;
	return local + n == at && n >= 3;
}

/* All fields of the message/feedback-report body BODY[0..LEN) into F (blank lines tolerated). */
static void
report_fields(struct mime_fields *f, const char *body, size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t used = mime_fields_parse(f, body + off, len - off);
		if (used == 0) {
			const char *nl = memchr(body + off, '\n', len - off);
			used = nl ? (size_t)(nl - (body + off)) + 1 : len - off;
		}
		off += used;
	}
}

/* Every value of the repeatable field NAME into the array DST (MAX of SIZE bytes, count *N). */
static void
copy_all(const struct mime_fields *f, const char *name, char *dst, size_t size, size_t max,
	 size_t *n, int *cut)
{
	const char *v;
	size_t pos = 0;

	while ((v = mime_fields_next(f, name, &pos)) != NULL) {
		if (*n >= max) {
			*cut = 1;
			return;
		}
		copy_value(dst + *n * size, size, v, 0, 0, cut);
		(*n)++;
	}
}

/* True when R already lists the address V (case-insensitively). */
static int
have_rcpt(const struct arf_report *r, const char *v)
{
	for (size_t i = 0; i < r->nrcpts; i++)
		if (strcasecmp(r->rcpts[i], v) == 0)
			return 1;
	return 0;
}

/*
 * The recipients the report names in fields NAME, leaving out redacted ones
 * and values without an '@'; 1 if one was left out.
 */
static int
recipients(struct arf_report *r, const struct mime_fields *f, const char *name)
{
	char addr[sizeof(r->rcpts[0])];
	const char *v;
	size_t pos = 0;
	int redacted = 0;

	while ((v = mime_fields_next(f, name, &pos)) != NULL) {
		copy_value(addr, sizeof(addr), v, 1, 1, &r->cut);
		if (arf_redacted(addr) || strchr(addr, '@') == NULL) {
			redacted = 1;
		} else if (have_rcpt(r, addr)) {
			continue;
		} else if (r->nrcpts >= ARF_MAX_RCPTS) {
			r->cut = 1;
		} else {
			memcpy(r->rcpts[r->nrcpts++], addr, sizeof(addr));
		}
	}
	return redacted;
}

/* The single-valued fields of the report. */
static void
single_fields(struct arf_report *r, const struct mime_fields *f)
{
	static const struct {
		const char *name;
		size_t off, size;
		int typed, addr;
	} tab[] = {
#define F(n, field, t, a) \
	{n, offsetof(struct arf_report, field), sizeof(((struct arf_report *)0)->field), t, a}
	    F("User-Agent", user_agent, 0, 0),
	    F("Version", version, 0, 0),
	    F("Original-Envelope-Id", envelope_id, 0, 0),
	    F("Original-Mail-From", mail_from, 0, 1),
	    F("Arrival-Date", arrival_date, 0, 0),
	    F("Received-Date", arrival_date, 0, 0),
	    F("Reporting-MTA", reporting_mta, 1, 0),
	    F("Source-IP", source_ip, 0, 0),
	    F("Incidents", incidents, 0, 0),
#undef F
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		const char *v = mime_fields_get(f, tab[i].name);
		char *dst = (char *)r + tab[i].off;
		if (v != NULL && dst[0] == '\0')
			copy_value(dst, tab[i].size, v, tab[i].typed, tab[i].addr, &r->cut);
	}
}

/* Feedback-Type into R; -1 if absent or only white space. */
static int
feedback_type(struct arf_report *r, const struct mime_fields *f)
{
	const char *v = mime_fields_get(f, "Feedback-Type");

	if (v == NULL || *v == '\0')
		return -1;
	copy_value(r->feedback_type, sizeof(r->feedback_type), v, 0, 0, &r->cut);
	if (r->feedback_type[0] == '\0')
		return -1; /* "Feedback-Type: \v": trimmed to nothing (found by fuzz_arf) */
	text_lower(r->feedback_type);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(r->feedback_type, types[i].name) == 0)
			r->type = types[i].type;
	return 0;
}

/* Decide whether the complainant was withheld. */
static void
redaction(struct arf_report *r, int rcpt_redacted)
{
	int to_redacted = r->orig.to[0] != '\0' && arf_redacted(r->orig.to);

	if (r->nrcpts == 0)
		r->redacted_why = rcpt_redacted ? "Original-Rcpt-To is redacted"
				  : to_redacted ? "no Original-Rcpt-To and To: is redacted"
						: "no Original-Rcpt-To";
	else if (to_redacted)
		r->redacted_why = "To: of the reported message is redacted";
	r->redacted = r->redacted_why != NULL;
}

/* Set R's result and return it. */
static enum arf_status
result(struct arf_report *r, enum arf_status status, const char *why)
{
	r->status = status;
	r->why = why;
	return status;
}

/* Why a message without a feedback-report part is not a complaint, or a broken one. */
static enum arf_status
no_report_part(struct arf_report *r, const struct mime *m)
{
	const struct mime_part *top = mime_part(m, 0);
	char rtype[64];

	if (strcmp(top->type, "multipart/report") == 0 &&
	    mime_param(mime_fields_get(&top->headers, "Content-Type"), "report-type", rtype,
		       sizeof(rtype)) == 0 &&
	    strcasecmp(rtype, "feedback-report") == 0)
		return result(r, ARF_MALFORMED,
			      top->flags & MIME_F_NO_BOUNDARY
				  ? "feedback report without a boundary"
				  : "feedback report without its message/feedback-report part");
	if (mime_find(m, "message/delivery-status", 0) >= 0 ||
	    mime_find(m, "message/global-delivery-status", 0) >= 0)
		return result(r, ARF_NOT_ARF,
			      "a bounce (message/delivery-status), not a complaint");
	return result(r, ARF_NOT_ARF, "no message/feedback-report part");
}

/* Parse an already split message M into R. */
static enum arf_status
arf_from_mime(struct arf_report *r, const struct mime *m)
{
	struct mime_fields f;
	const struct mime_part *p;
	int fr = mime_find(m, "message/feedback-report", 0), rcpt_redacted;

	if (fr < 0)
		return no_report_part(r, m);
	if (mime_flags(m) & (MIME_F_TRUNCATED | MIME_F_PARTS | MIME_F_FIELDS | MIME_F_LONG_VALUE))
		r->cut = 1;
	p = mime_part(m, (size_t)fr);
	mime_fields_init(&f);
	report_fields(&f, p->body, p->body_len);
	if (feedback_type(r, &f) != 0) {
		mime_fields_deinit(&f);
		return result(r, ARF_MALFORMED, "feedback report without a Feedback-Type");
	}
	single_fields(r, &f);
	rcpt_redacted =
	    recipients(r, &f, "Original-Rcpt-To") | recipients(r, &f, "Removal-Recipient");
	copy_all(&f, "Reported-Domain", r->reported_domain[0], sizeof(r->reported_domain[0]),
		 ARF_MAX_MULTI, &r->ndomains, &r->cut);
	copy_all(&f, "Reported-Uri", r->reported_uri[0], sizeof(r->reported_uri[0]), ARF_MAX_MULTI,
		 &r->nuris, &r->cut);
	copy_all(&f, "Authentication-Results", r->auth_results[0], sizeof(r->auth_results[0]),
		 ARF_MAX_MULTI, &r->nauth, &r->cut);
	r->cut |= f.flags != 0;
	mime_fields_deinit(&f);
	mime_orig_extract(m, &r->orig);
	r->cut |= r->orig.cut;
	redaction(r, rcpt_redacted);
	return result(r, ARF_OK, NULL);
}

enum arf_status
arf_parse(const char *buf, size_t len, struct arf_report *r)
{
	struct mime *m;
	enum arf_status st;

	memset(r, 0, sizeof(*r));
	if (buf == NULL || len == 0)
		return result(r, ARF_NOT_ARF, "empty message");
	m = mime_parse(buf, len);
	st = arf_from_mime(r, m);
	mime_destroy(m);
	return st;
}
