/* mime -- header fields, multipart splitting and transfer decodings; see mime.h. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "feedback/mime.h"
#include "util/xalloc.h"

struct mime {
	struct mime_part *parts;
	size_t n, cap;
	char **owned; /* decoded bodies the parts point into */
	size_t nowned, owned_cap;
	unsigned flags;
};

/* Blanks as RFC 5322 has them: space and tab. */
static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* End of the text of the line at OFF (before CR LF or LF); *NEXT_R is where the next starts. */
static size_t
line_end(const char *buf, size_t len, size_t off, size_t *next_r)
{
	const char *nl = memchr(buf + off, '\n', len - off);
	size_t end = nl ? (size_t)(nl - buf) : len;

	*next_r = nl ? end + 1 : len;
	if (end > off && buf[end - 1] == '\r')
		end--;
	return end;
}

/* A line of nothing but blanks ends a block just like an empty one. */
static int
is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_wsp(s[i]) && s[i] != '\r')
			return 0;
	return 1;
}

/* ---- header fields ------------------------------------------------------ */

void
mime_fields_init(struct mime_fields *f)
{
	memset(f, 0, sizeof(*f));
}

void
mime_fields_deinit(struct mime_fields *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].name);
		free(f->v[i].value);
	}
	free(f->v);
	memset(f, 0, sizeof(*f));
}

/* Length of the field name LINE starts with (*COLON_R: offset of its colon); 0: not a field. */
static size_t
field_name(const char *line, size_t len, size_t *colon_r)
{
	size_t i = 0, n;

	while (i < len && i <= MIME_MAX_NAME && (unsigned char)line[i] > 32 &&
	       (unsigned char)line[i] < 127 && line[i] != ':')
		i++;
	n = i;
	if (n == 0 || n > MIME_MAX_NAME)
		return 0;
	while (i < len && is_wsp(line[i]))
		i++; /* obsolete "Name : value" */
	if (i >= len || line[i] != ':')
		return 0;
	*colon_r = i;
	return n;
}

/* Append S[0..LEN) to the value being built in V (at *VLEN), within MIME_MAX_VALUE. */
static void
value_append(char *v, size_t *vlen, const char *s, size_t len, unsigned *flags)
{
	if (len > MIME_MAX_VALUE - *vlen) {
		len = MIME_MAX_VALUE - *vlen;
		*flags |= MIME_F_LONG_VALUE;
	}
	for (size_t i = 0; i < len; i++)
		v[(*vlen)++] = s[i] == '\0' || s[i] == '\r' ? ' ' : s[i];
}

/* Strip blanks at both ends of V[0..LEN) in place and NUL-terminate it. */
static void
value_trim(char *v, size_t len)
{
	size_t s = 0;

	while (len > 0 && is_wsp(v[len - 1]))
		len--;
	while (s < len && is_wsp(v[s]))
		s++;
	memmove(v, v + s, len - s);
	v[len - s] = '\0';
}

/*
 * Add the field whose first line is BUF[OFF..END) (name NLEN bytes, colon at
 * OFF + COLON, next line at NEXT) together with its continuation lines;
 * returns the offset after them.
 */
static size_t
field_add(struct mime_fields *f, const char *buf, size_t len, size_t off, size_t nlen, size_t colon,
	  size_t end, size_t next)
{
	size_t vstart = off + colon + 1, total = end - vstart, stop = next, vlen = 0;
	char *v;

	/* First the extent, so that the value is allocated once. */
	while (stop < len && is_wsp(buf[stop])) {
		size_t n2, e2 = line_end(buf, len, stop, &n2);
		if (is_blank(buf + stop, e2 - stop))
			break;
		total += 1 + (e2 - stop);
		stop = n2;
	}
	if (f->n >= MIME_MAX_FIELDS) {
		f->flags |= MIME_F_FIELDS;
		return stop;
	}
	v = xmalloc((total < MIME_MAX_VALUE ? total : MIME_MAX_VALUE) + 1);
	value_append(v, &vlen, buf + vstart, end - vstart, &f->flags);
	for (size_t p = next; p < stop;) {
		size_t n2, e2 = line_end(buf, len, p, &n2);
		while (p < e2 && is_wsp(buf[p]))
			p++;
		value_append(v, &vlen, " ", 1, &f->flags);
		value_append(v, &vlen, buf + p, e2 - p, &f->flags);
		p = n2;
	}
	value_trim(v, vlen);
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 16;
		f->v = xrealloc(f->v, f->cap * sizeof(*f->v));
	}
	f->v[f->n].name = xstrndup(buf + off, nlen);
	f->v[f->n].value = v;
	f->n++;
	return stop;
}

size_t
mime_fields_parse(struct mime_fields *f, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t next, colon, nlen, end = line_end(buf, len, off, &next);

		if (is_blank(buf + off, end - off))
			return next;
		if (is_wsp(buf[off])) {
			off = next; /* a continuation with nothing to continue */
			continue;
		}
		if ((nlen = field_name(buf + off, end - off, &colon)) == 0)
			return off;
		off = field_add(f, buf, len, off, nlen, colon, end, next);
	}
	return len;
}

const char *
mime_fields_get(const struct mime_fields *f, const char *name)
{
	size_t pos = 0;

	return mime_fields_next(f, name, &pos);
}

const char *
mime_fields_next(const struct mime_fields *f, const char *name, size_t *pos)
{
	for (size_t i = *pos; i < f->n; i++) {
		if (strcasecmp(f->v[i].name, name) == 0) {
			*pos = i + 1;
			return f->v[i].value;
		}
	}
	*pos = f->n;
	return NULL;
}

/* ---- structured values -------------------------------------------------- */

/* RFC 2045 token characters: printable ASCII but tspecials. */
static int
is_token(int c)
{
	return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

int
mime_type(const char *value, char *out, size_t outlen)
{
	const char *p = value, *slash = NULL;
	size_t n = 0;

	if (p != NULL) {
		while (is_wsp(*p))
			p++;
		while (is_token((unsigned char)p[n]) || (p[n] == '/' && slash == NULL)) {
			if (p[n] == '/')
				slash = p + n;
			n++;
		}
	}
	if (slash == NULL || slash == p || slash == p + n - 1 || n >= outlen) {
		snprintf(out, outlen, "text/plain");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] - 'A' + 'a') : p[i];
	out[n] = '\0';
	return 0;
}

/* Read the parameter value at *PP (token or quoted string) into OUT (if not NULL); advance *PP. */
static void
param_value(const char **pp, char *out, size_t outlen)
{
	const char *p = *pp;
	size_t n = 0;

	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			if (out && n + 1 < outlen)
				out[n++] = *p;
		}
		if (*p == '"')
			p++;
	} else {
		for (; *p && *p != ';' && !is_wsp(*p); p++)
			if (out && n + 1 < outlen)
				out[n++] = *p;
	}
	if (out && outlen)
		out[n] = '\0';
	*pp = p;
}

int
mime_param(const char *value, const char *name, char *out, size_t outlen)
{
	size_t want = strlen(name);
	const char *p;

	if (outlen)
		out[0] = '\0';
	if (value == NULL || (p = strchr(value, ';')) == NULL)
		return -1;
	while (*p == ';') {
		const char *pname;
		size_t plen;

		for (p++; is_wsp(*p) || *p == ';'; p++)
			;
		pname = p;
		while (*p && *p != '=' && *p != ';' && !is_wsp(*p))
			p++;
		plen = (size_t)(p - pname);
		while (is_wsp(*p))
			p++;
		if (*p == '=') {
			int match = plen == want && strncasecmp(pname, name, want) == 0;
			for (p++; is_wsp(*p); p++)
				;
			param_value(&p, match ? out : NULL, outlen);
			if (match)
				return 0;
		}
		while (*p && *p != ';')
			p++; /* junk after a value, or a parameter without one */
	}
	return -1;
}

/* ---- transfer decodings --------------------------------------------------- */

/* The 6-bit value of a base64 character, -1 for anything else. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t
mime_base64_decode(const char *in, size_t len, char *out, int *bad_r)
{
	uint32_t acc = 0;
	int bits = 0, bad = 0;
	size_t o = 0;

	for (size_t i = 0; i < len && in[i] != '='; i++) {
		int v = b64_value((unsigned char)in[i]);
		if (v < 0) {
			if (!is_wsp(in[i]) && in[i] != '\r' && in[i] != '\n')
				bad = 1;
			continue;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
			acc &= (1u << bits) - 1;
		}
	}
	if (bad_r)
		*bad_r = bad;
	return o;
}

/* The value of a hex digit (either case), -1 for anything else. */
static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Length of the soft line break at IN[I] ('=', blanks, line break), 0 if there is none. */
static size_t
qp_soft_break(const char *in, size_t len, size_t i)
{
	size_t j = i + 1;

	while (j < len && is_wsp(in[j]))
		j++;
	if (j == len)
		return j - i;
	if (in[j] == '\n')
		return j + 1 - i;
	if (in[j] == '\r' && j + 1 < len && in[j + 1] == '\n')
		return j + 2 - i;
	return 0;
}

size_t
mime_qp_decode(const char *in, size_t len, char *out, int *bad_r)
{
	size_t o = 0, i = 0, ws = SIZE_MAX; /* ws: where the current run of literal blanks starts */
	int bad = 0;

	while (i < len) {
		char c = in[i];
		size_t soft;
		int hi, lo;

		if (c == '=' && i + 2 < len && (hi = hex_value(in[i + 1])) >= 0 &&
		    (lo = hex_value(in[i + 2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 3;
			ws = SIZE_MAX;
		} else if (c == '=' && (soft = qp_soft_break(in, len, i)) > 0) {
			i += soft; /* blanks before it are data: that is what it is for */
			ws = SIZE_MAX;
		} else if (c == '\r' || c == '\n') {
			if (ws != SIZE_MAX)
				o = ws; /* trailing blanks were added in transport */
			out[o++] = c;
			i++;
			ws = SIZE_MAX;
		} else {
			if (c == '=')
				bad = 1;
			if (is_wsp(c) && ws == SIZE_MAX)
				ws = o;
			else if (!is_wsp(c))
				ws = SIZE_MAX;
			out[o++] = c;
			i++;
		}
	}
	if (ws != SIZE_MAX)
		o = ws;
	if (bad_r)
		*bad_r = bad;
	return o;
}

/* ---- messages ------------------------------------------------------------- */

static void parse_entity(struct mime *m, int idx, const char *buf, size_t len, const char *deftype,
			 int headers_only);

/* A new part inside PARENT (-1: the message); -1 when the part or depth limit is reached. */
static int
part_new(struct mime *m, int parent, int embedded)
{
	struct mime_part *p;
	unsigned depth = parent < 0 ? 0 : m->parts[parent].depth + 1;

	if (depth > MIME_MAX_DEPTH) {
		m->parts[parent].flags |= MIME_F_DEPTH;
		return -1;
	}
	if (m->n >= MIME_MAX_PARTS) {
		m->flags |= MIME_F_PARTS;
		return -1;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 8;
		m->parts = xrealloc(m->parts, m->cap * sizeof(*m->parts));
	}
	p = &m->parts[m->n];
	memset(p, 0, sizeof(*p));
	p->parent = parent;
	p->depth = depth;
	p->msg_level = parent < 0 ? 0 : m->parts[parent].msg_level + (embedded ? 1 : 0);
	mime_fields_init(&p->headers);
	return (int)m->n++;
}

/* A buffer of LEN bytes that lives as long as M. */
static char *
owned_new(struct mime *m, size_t len)
{
	if (m->nowned == m->owned_cap) {
		m->owned_cap = m->owned_cap ? 2 * m->owned_cap : 4;
		m->owned = xrealloc(m->owned, m->owned_cap * sizeof(*m->owned));
	}
	return m->owned[m->nowned++] = xmalloc(len ? len : 1);
}

/* Set the body of part IDX to BODY[0..LEN), undoing a base64 or quoted-printable encoding. */
static void
set_body(struct mime *m, int idx, const char *body, size_t len)
{
	struct mime_part *p = &m->parts[idx];
	const char *cte = mime_fields_get(&p->headers, "Content-Transfer-Encoding");
	char *out;
	int bad = 0;

	p->body = body;
	p->body_len = len;
	if (cte == NULL || len == 0)
		return;
	if (strncasecmp(cte, "base64", 6) == 0 && !is_token((unsigned char)cte[6])) {
		out = owned_new(m, len);
		p->body_len = mime_base64_decode(body, len, out, &bad);
	} else if (strncasecmp(cte, "quoted-printable", 16) == 0 &&
		   !is_token((unsigned char)cte[16])) {
		out = owned_new(m, len);
		p->body_len = mime_qp_decode(body, len, out, &bad);
	} else {
		return;
	}
	p->body = out;
	if (bad)
		p->flags |= MIME_F_BAD_ENCODING;
}

/* 1 if LINE is "--B", 2 if it is the close delimiter "--B--", else 0. */
static int
delimiter(const char *line, size_t len, const char *b, size_t blen)
{
	size_t i = blen + 2;

	if (len < i || line[0] != '-' || line[1] != '-' || memcmp(line + 2, b, blen) != 0)
		return 0;
	if (len - i >= 2 && line[i] == '-' && line[i + 1] == '-')
		return 2;
	for (; i < len; i++)
		if (!is_wsp(line[i]))
			return 0;
	return 1;
}

/* Parse BODY[S..E) as a new body part of multipart IDX; 0 when the part limit stops us. */
static int
add_body_part(struct mime *m, int idx, const char *body, size_t s, size_t e, const char *deftype)
{
	int child = part_new(m, idx, 0);

	if (child < 0)
		return 0;
	parse_entity(m, child, body + s, e - s, deftype, 0);
	return 1;
}

/* Split the body of multipart part IDX at its boundary (RFC 2046 section 5.1.1). */
static void
split_multipart(struct mime *m, int idx, const char *body, size_t len)
{
	const char *ct = mime_fields_get(&m->parts[idx].headers, "Content-Type");
	const char *deftype =
	    strcmp(m->parts[idx].type, "multipart/digest") == 0 ? "message/rfc822" : "text/plain";
	char b[256];
	size_t blen, off = 0, start = 0;
	int in_part = 0, kind = 0;

	m->parts[idx].body = body;
	m->parts[idx].body_len = len;
	if (mime_param(ct, "boundary", b, sizeof(b)) != 0 || b[0] == '\0') {
		m->parts[idx].flags |= MIME_F_NO_BOUNDARY;
		return;
	}
	blen = strlen(b);
	while (off < len) {
		size_t next, end = line_end(body, len, off, &next);

		if ((kind = delimiter(body + off, end - off, b, blen)) != 0) {
			if (in_part) {
				/* The line break before a delimiter belongs to it. */
				size_t e = off;
				if (e > start && body[e - 1] == '\n')
					e--;
				if (e > start && body[e - 1] == '\r')
					e--;
				if (!add_body_part(m, idx, body, start, e, deftype))
					return;
			}
			if (kind == 2)
				return;
			in_part = 1;
			start = next;
		}
		off = next;
	}
	m->parts[idx].flags |= in_part ? MIME_F_UNTERMINATED : MIME_F_NO_DELIMITER;
	if (in_part)
		add_body_part(m, idx, body, start, len, deftype);
}

/* 1 for a message wrapper, 2 for a headers-only wrapper, 0 for anything else. */
static int
wrapper_kind(const char *type)
{
	if (strcmp(type, "message/rfc822") == 0 || strcmp(type, "message/global") == 0)
		return 1;
	if (strcmp(type, "text/rfc822-headers") == 0 ||
	    strcmp(type, "message/global-headers") == 0 ||
	    strcmp(type, "message/rfc822-headers") == 0)
		return 2;
	return 0;
}

/* Parse BUF[0..LEN) (header fields, then the body) as part IDX. */
static void
parse_entity(struct mime *m, int idx, const char *buf, size_t len, const char *deftype,
	     int headers_only)
{
	struct mime_part *p = &m->parts[idx];
	size_t off = mime_fields_parse(&p->headers, buf, len);
	const char *ct = mime_fields_get(&p->headers, "Content-Type");
	int kind, child;

	if (ct == NULL)
		snprintf(p->type, sizeof(p->type), "%s", deftype);
	else
		mime_type(ct, p->type, sizeof(p->type));
	if (headers_only) {
		p->body = buf + off;
		p->body_len = len - off;
		return;
	}
	if (strncmp(p->type, "multipart/", 10) == 0) {
		split_multipart(m, idx, buf + off, len - off);
		return;
	}
	set_body(m, idx, buf + off, len - off);
	if ((kind = wrapper_kind(p->type)) == 0)
		return;
	if ((child = part_new(m, idx, 1)) >= 0)
		parse_entity(m, child, m->parts[idx].body, m->parts[idx].body_len, "text/plain",
			     kind == 2);
}

struct mime *
mime_parse(const char *buf, size_t len)
{
	struct mime *m = xcalloc(1, sizeof(*m));
	size_t off = 0;

	if (buf == NULL)
		buf = "", len = 0;
	if (len > MIME_MAX_INPUT) {
		len = MIME_MAX_INPUT;
		m->flags |= MIME_F_TRUNCATED;
	}
	if (len >= 5 && memcmp(buf, "From ", 5) == 0)
		line_end(buf, len, 0, &off); /* an mbox separator */
	part_new(m, -1, 0);
	parse_entity(m, 0, buf + off, len - off, "text/plain", 0);
	for (size_t i = 0; i < m->n; i++)
		m->flags |= m->parts[i].flags | m->parts[i].headers.flags;
	return m;
}

void
mime_destroy(struct mime *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		mime_fields_deinit(&m->parts[i].headers);
	for (size_t i = 0; i < m->nowned; i++)
		free(m->owned[i]);
	free(m->owned);
	free(m->parts);
	free(m);
}

size_t
mime_nparts(const struct mime *m)
{
	return m->n;
}

const struct mime_part *
mime_part(const struct mime *m, size_t i)
{
	return i < m->n ? &m->parts[i] : NULL;
}

int
mime_embedded(const struct mime *m, size_t i)
{
	if (i + 1 >= m->n || m->parts[i + 1].parent != (int)i || !wrapper_kind(m->parts[i].type))
		return -1;
	return (int)i + 1;
}

unsigned
mime_flags(const struct mime *m)
{
	return m->flags;
}

int
mime_find(const struct mime *m, const char *type, size_t from)
{
	for (size_t i = from; i < m->n; i++)
		if (m->parts[i].msg_level == 0 && strcmp(m->parts[i].type, type) == 0)
			return (int)i;
	return -1;
}

/* ---- the original message a report carries -------------------------------- */

/* Copy SRC into DST of SIZE bytes; set *CUT when it does not fit. */
static void
put(char *dst, size_t size, const char *src, int *cut)
{
	size_t n = strlen(src);

	if (n >= size) {
		n = size - 1;
		*cut = 1;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void
mime_orig_from_fields(const struct mime_fields *f, struct mime_orig *o)
{
	static const struct {
		const char *name;
		size_t off, size;
	} tab[] = {
#define O(n, field) {n, offsetof(struct mime_orig, field), sizeof(((struct mime_orig *)0)->field)}
	    O("Message-ID", message_id),
	    O("Feedback-ID", feedback_id),
	    O("From", from),
	    O("To", to),
	    O("Subject", subject),
	    O("Date", date),
	    O("Return-Path", return_path),
#undef O
	};

	o->found = 1;
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		const char *v = mime_fields_get(f, tab[i].name);
		if (v != NULL)
			put((char *)o + tab[i].off, tab[i].size, v, &o->cut);
	}
	for (size_t i = 0; i < f->n && o->nx < MIME_ORIG_XMAX; i++) {
		if (strncasecmp(f->v[i].name, "X-Outpost-", 10) != 0)
			continue;
		put(o->x[o->nx].name, sizeof(o->x[0].name), f->v[i].name, &o->cut);
		put(o->x[o->nx].value, sizeof(o->x[0].value), f->v[i].value, &o->cut);
		o->nx++;
	}
}

void
mime_orig_extract(const struct mime *m, struct mime_orig *o)
{
	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < m->n; i++) {
		int kind, child;

		if (m->parts[i].msg_level != 0 || (kind = wrapper_kind(m->parts[i].type)) == 0)
			continue;
		if ((child = mime_embedded(m, i)) < 0)
			continue;
		mime_orig_from_fields(&m->parts[child].headers, o);
		o->headers_only = kind == 2;
		return;
	}
}
