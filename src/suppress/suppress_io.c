/* suppress_io -- CSV and JSON lines for suppression entries; see suppress_io.h. */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "suppress.h"
#include "suppress_io.h"
#include "account/account.h"
#include "util/text.h"
#include "util/xalloc.h"

#define CSV_FIELDS 4
#define FIELD_MAX 512

/* Split one CSV record into up to CSV_FIELDS fields; -1 on a quoting error or too many fields. */
static int
csv_split(const char *line, size_t len, char f[CSV_FIELDS][FIELD_MAX], int *nf, char *err,
	  size_t errlen)
{
	size_t i = 0, o = 0;
	int n = 0, quoted = 0, was_quoted = 0;

	memset(f, 0, CSV_FIELDS * FIELD_MAX);
	for (;; i++) {
		char c = i < len ? line[i] : '\0';
		if (quoted) {
			if (i >= len) {
				snprintf(err, errlen, "unterminated quoted field");
				return -1;
			}
			if (c == '"' && i + 1 < len && line[i + 1] == '"') {
				c = '"';
				i++;
			} else if (c == '"') {
				quoted = 0;
				continue;
			}
		} else if (c == '"' && o == 0 && !was_quoted) {
			quoted = was_quoted = 1;
			continue;
		} else if (c == ',' || i >= len) {
			if (n >= CSV_FIELDS) {
				snprintf(err, errlen, "more than %d fields", CSV_FIELDS);
				return -1;
			}
			f[n][o < FIELD_MAX ? o : FIELD_MAX - 1] = '\0';
			n++;
			o = 0;
			was_quoted = 0;
			if (i >= len)
				break;
			continue;
		} else if (c == '\r' && i + 1 == len) {
			continue;
		} else if (was_quoted) {
			snprintf(err, errlen, "text after a closing quote");
			return -1;
		}
		if (n < CSV_FIELDS && o + 1 < FIELD_MAX)
			f[n][o++] = c;
		else if (o + 1 >= FIELD_MAX) {
			snprintf(err, errlen, "field %d longer than %d bytes", n + 1,
				 FIELD_MAX - 1);
			return -1;
		}
	}
	*nf = n;
	return 0;
}

/* Validate and normalise the four fields into E. */
static int
fill_entry(const char *addr, const char *reason, const char *account, const char *expires,
	   int64_t now, struct sio_entry *e, char *err, size_t errlen)
{
	memset(e, 0, sizeof(*e));
	if (suppress_normalise(addr, e->target, sizeof(e->target)) < 0) {
		snprintf(err, errlen, "'%.100s' is not an address or @domain", addr);
		return -1;
	}
	e->reason = reason && *reason ? suppress_reason_parse(reason) : SR_MANUAL;
	if (e->reason < 0) {
		snprintf(err, errlen,
			 "reason '%.40s' is not one of bounce, complaint, manual, unsubscribe",
			 reason);
		return -1;
	}
	if (account && *account) {
		if (!account_name_valid(account)) {
			snprintf(err, errlen, "'%.100s' is not a valid account name", account);
			return -1;
		}
		text_copy(e->scope, sizeof(e->scope), account);
	}
	if (expires && *expires && text_expiry_parse(expires, now, &e->expires) < 0) {
		snprintf(err, errlen, "expires '%.40s' is neither RFC 3339 nor a duration",
			 expires);
		return -1;
	}
	return 1;
}

static int
parse_csv(const char *line, size_t len, int64_t now, struct sio_entry *e, char *err, size_t errlen)
{
	char f[CSV_FIELDS][FIELD_MAX];
	int nf;

	if (len == 0 || (len == 1 && line[0] == '\r'))
		return 0;
	if (csv_split(line, len, f, &nf, err, errlen) < 0)
		return -1;
	if (nf == 1 && f[0][0] == '\0')
		return 0;
	if (strcmp(f[0], "address") == 0)
		return 0; /* header */
	return fill_entry(f[0], f[1], f[2], f[3], now, e, err, errlen);
}

/* A JSON field that must be a string if present. */
static int
json_str(json_t *o, const char *name, const char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "field '%s' must be a string", name);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static int
parse_jsonl(const char *line, size_t len, int64_t now, struct sio_entry *e, char *err,
	    size_t errlen)
{
	const char *addr, *reason, *account, *expires;
	json_error_t je;
	json_t *o;
	int r = -1;

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0)
		return 0;
	if ((o = json_loadb(line, len, 0, &je)) == NULL) {
		snprintf(err, errlen, "column %d: %s", je.column, je.text);
		return -1;
	}
	if (!json_is_object(o))
		snprintf(err, errlen, "not a JSON object");
	else if (json_str(o, "address", &addr, err, errlen) == 0 &&
		 json_str(o, "reason", &reason, err, errlen) == 0 &&
		 json_str(o, "account", &account, err, errlen) == 0 &&
		 json_str(o, "expires", &expires, err, errlen) == 0) {
		if (addr == NULL)
			snprintf(err, errlen, "field 'address' is missing");
		else
			r = fill_entry(addr, reason, account, expires, now, e, err, errlen);
	}
	json_decref(o);
	return r;
}

int
sio_parse_line(enum sio_format fmt, const char *line, size_t len, int64_t now, struct sio_entry *e,
	       char *err, size_t errlen)
{
	if (memchr(line, '\0', len) != NULL) {
		snprintf(err, errlen, "NUL byte in line");
		return -1;
	}
	return fmt == SIO_CSV ? parse_csv(line, len, now, e, err, errlen)
			      : parse_jsonl(line, len, now, e, err, errlen);
}

/* Inside quotes? Counts the quotes of a CSV record read so far. */
static int
csv_open_quote(const char *s, size_t len)
{
	int open = 0;

	for (size_t i = 0; i < len; i++)
		if (s[i] == '"')
			open = !open;
	return open;
}

ssize_t
sio_read_record(FILE *fp, enum sio_format fmt, char **buf, size_t *cap, unsigned long *lineno)
{
	size_t len = 0;
	int c;

	for (;;) {
		c = getc_unlocked(fp);
		if (c == EOF) {
			if (len == 0)
				return -1;
			break;
		}
		if (len + 2 > *cap) {
			*cap = *cap ? *cap * 2 : 4096;
			*buf = xrealloc(*buf, *cap);
		}
		if (c == '\n') {
			(*lineno)++;
			if (fmt == SIO_JSONL || !csv_open_quote(*buf, len))
				break;
		}
		(*buf)[len++] = (char)c;
	}
	if (c == EOF)
		(*lineno)++;
	if (*cap == 0) {
		*cap = 16;
		*buf = xrealloc(*buf, *cap);
	}
	(*buf)[len] = '\0';
	return (ssize_t)len;
}

void
sio_write_header(FILE *fp, enum sio_format fmt)
{
	if (fmt == SIO_CSV)
		fputs("address,reason,account,expires\n", fp);
}

/* Quote a CSV field when it needs it. */
static void
csv_field(FILE *fp, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, fp);
		return;
	}
	putc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			putc('"', fp);
		putc(*s, fp);
	}
	putc('"', fp);
}

void
sio_write(FILE *fp, enum sio_format fmt, const struct sio_entry *e)
{
	char when[32] = "";

	if (e->expires)
		text_time_format(e->expires, when, sizeof(when));
	if (fmt == SIO_CSV) {
		csv_field(fp, e->target);
		fprintf(fp, ",%s,", suppress_reason_name(e->reason));
		csv_field(fp, e->scope);
		fprintf(fp, ",%s\n", when);
		return;
	}
	json_t *o = json_pack("{s:s, s:s}", "address", e->target, "reason",
			      suppress_reason_name(e->reason));
	if (e->scope[0])
		json_object_set_new(o, "account", json_string(e->scope));
	if (e->expires)
		json_object_set_new(o, "expires", json_string(when));
	json_dumpf(o, fp, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putc('\n', fp);
	json_decref(o);
}
