/* from_header -- the From: header's first mailbox domain; see from_header.h. */
#include "config.h"

#include <string.h>

#include "from_header.h"
#include "dns/dnsbl.h"
#include "util/text.h"

#define SEG_MAX 1024 /* a mailbox longer than this has no usable domain */

/*
 * The mailbox being read: its characters with comments and white space left
 * out and each quoted string reduced to one '"' (an '@' inside one is no
 * domain separator).
 */
struct fscan {
	const char *p, *end;
	char seg[SEG_MAX];
	size_t n;
	int bad;   /* too long, or a control character or NUL in it */
	int angle; /* inside <...> */
};

/* A gap (white space, a comment) in the mailbox: one ' ', kept only inside a word. */
static void
seg_gap(struct fscan *s)
{
	if (s->n > 0 && s->seg[s->n - 1] != ' ' && s->n + 1 < sizeof(s->seg))
		s->seg[s->n++] = ' ';
}

/* One more character of the mailbox. */
static void
seg_add(struct fscan *s, char c)
{
	if ((unsigned char)c < 0x20 || c == 0x7f || s->n + 1 >= sizeof(s->seg))
		s->bad = 1;
	else
		s->seg[s->n++] = c;
}

/* Forget what was read: a display name before '<' or ':', a route before ':'. */
static void
seg_reset(struct fscan *s)
{
	s->n = 0;
	s->bad = 0;
}

/* Step over a (nested) comment at s->p; an unterminated one runs to the end. */
static void
skip_comment(struct fscan *s)
{
	int depth = 0;

	for (; s->p < s->end; s->p++) {
		if (*s->p == '\\') {
			if (s->p + 1 < s->end)
				s->p++;
		} else if (*s->p == '(') {
			depth++;
		} else if (*s->p == ')' && --depth == 0) {
			s->p++;
			return;
		}
	}
}

/* Step over a quoted string at s->p, leaving one '"' in the mailbox. */
static void
skip_quoted(struct fscan *s)
{
	seg_add(s, '"');
	for (s->p++; s->p < s->end; s->p++) {
		if (*s->p == '\\') {
			if (s->p + 1 < s->end)
				s->p++;
		} else if (*s->p == '"') {
			s->p++;
			return;
		}
	}
}

/* A domain literal "[...]" as it is: never a host name, and its ':' starts no group. */
static void
copy_literal(struct fscan *s)
{
	for (; s->p < s->end; s->p++) {
		seg_add(s, *s->p);
		if (*s->p == ']') {
			s->p++;
			return;
		}
	}
}

/*
 * Drop the gaps next to '.' and '@' and at the ends ("john @ example . test"
 * is obsolete syntax, but valid); a gap left splits a word: "exa mple.test"
 * is no domain.
 */
static void
seg_close_gaps(struct fscan *s)
{
	size_t o = 0;

	for (size_t i = 0; i < s->n; i++) {
		char c = s->seg[i], next = i + 1 < s->n ? s->seg[i + 1] : '\0';
		if (c == ' ' && (o == 0 || s->seg[o - 1] == '.' || s->seg[o - 1] == '@' ||
				 next == '.' || next == '@' || next == '\0'))
			continue;
		s->seg[o++] = c;
	}
	s->seg[o] = '\0';
	s->n = o;
}

/* The domain of the mailbox read: after its last '@', lower-cased, a host name. */
static int
seg_domain(struct fscan *s, char *out, size_t outlen)
{
	char *at, *d;
	size_t n;

	seg_close_gaps(s);
	if (s->bad || (at = strrchr(s->seg, '@')) == NULL)
		return -1;
	d = at + 1;
	n = strlen(d);
	if (n > 0 && d[n - 1] == '.')
		d[--n] = '\0';
	for (char *p = d; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (!dnsbl_domain_ok(d) || text_copy(out, outlen, d) < 0)
		return -1;
	return 0;
}

/*
 * One character outside comments and quotes; 1 when the first mailbox is
 * complete (at '>', or at ',' or ';' after something), else 0.
 */
static int
scan_char(struct fscan *s, char c)
{
	switch (c) {
	case ' ':
	case '\t':
	case '\r':
	case '\n':
		seg_gap(s);
		return 0;
	case '<':
		if (!s->angle)
			seg_reset(s);
		s->angle = 1;
		return 0;
	case '>':
		return s->angle;
	case ':': /* a group's name, or the end of a route inside <> */
		seg_reset(s);
		return 0;
	case ',':
	case ';':
		return !s->angle && s->n > 0;
	default:
		seg_add(s, c);
		return 0;
	}
}

int
from_header_domain(const char *value, size_t len, char *out, size_t outlen)
{
	struct fscan s = {.p = value, .end = value + len};
	int rc;

	if (outlen > 0)
		out[0] = '\0';
	while (s.p < s.end) {
		if (*s.p == '(') {
			skip_comment(&s);
			seg_gap(&s);
		} else if (*s.p == '"') {
			skip_quoted(&s);
		} else if (*s.p == '[') {
			copy_literal(&s);
		} else if (scan_char(&s, *s.p++)) {
			break;
		}
	}
	if (s.n == 0)
		return -1;
	rc = seg_domain(&s, out, outlen);
	if (rc < 0 && outlen > 0)
		out[0] = '\0';
	return rc;
}
