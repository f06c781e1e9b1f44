/* maillog -- Postfix log line parser; see maillog.h. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "maillog.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define FIELD(f) offsetof(struct maillog_rec, f)
#define STR_AT(r, off) (*(const char **)((char *)(r) + (off)))

/* The bytes still to read: [p, end). */
struct cur {
	const char *p, *end;
};

/* ---- cursor primitives --------------------------------------------------- */

static size_t
left(const struct cur *c)
{
	return (size_t)(c->end - c->p);
}

static int
is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

/* CH is one of the characters of SET (never NUL). */
static int
in(const char *set, int ch)
{
	return ch != '\0' && strchr(set, ch) != NULL;
}

/* Consume the literal S if the input starts with it. */
static int
eat(struct cur *c, const char *s)
{
	size_t n = strlen(s);

	if (left(c) < n || memcmp(c->p, s, n) != 0)
		return 0;
	c->p += n;
	return 1;
}

/* The first occurrence of S in [p, end), or NULL. */
static const char *
find(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);

	while ((size_t)(end - p) >= n) {
		const char *hit = memchr(p, s[0], (size_t)(end - p) - n + 1);
		if (hit == NULL)
			return NULL;
		if (memcmp(hit, s, n) == 0)
			return hit;
		p = hit + 1;
	}
	return NULL;
}

/* Exactly N digits as an int. */
static int
digits(struct cur *c, int n, int *v)
{
	*v = 0;
	if (left(c) < (size_t)n)
		return 0;
	for (int i = 0; i < n; i++) {
		if (!is_digit(c->p[i]))
			return 0;
		*v = *v * 10 + (c->p[i] - '0');
	}
	c->p += n;
	return 1;
}

/* One or more digits, at most MAX in value. */
static int
number(struct cur *c, uint64_t max, uint64_t *v)
{
	const char *start = c->p;

	*v = 0;
	while (c->p < c->end && is_digit(*c->p)) {
		unsigned d = (unsigned)(*c->p++ - '0');
		if (*v > (max - d) / 10)
			return 0;
		*v = *v * 10 + d;
	}
	return c->p > start;
}

/* Up to (not including) the first occurrence of STOP, or to the end. */
static const char *
upto(const struct cur *c, const char *stop)
{
	const char *hit = find(c->p, c->end, stop);

	return hit ? hit : c->end;
}

/* ---- strings kept in the record ------------------------------------------ */

/*
 * Copy [P, P+N) into R's buffer as a C string.  On overflow the buffer is
 * marked full (used_ beyond its size, checked once at the end) and "" is
 * returned so that callers need not check every copy.
 */
static const char *
keep(struct maillog_rec *r, const char *p, size_t n)
{
	char *s;

	if (r->used_ > sizeof(r->buf_) || n + 1 > sizeof(r->buf_) - r->used_) {
		r->used_ = sizeof(r->buf_) + 1;
		return "";
	}
	s = r->buf_ + r->used_;
	memcpy(s, p, n);
	s[n] = '\0';
	r->used_ += n + 1;
	return s;
}

/* Keep [c->p, to) and move the cursor there. */
static const char *
keep_to(struct cur *c, struct maillog_rec *r, const char *to)
{
	const char *s = keep(r, c->p, (size_t)(to - c->p));

	c->p = to;
	return s;
}

/* ---- timestamps ---------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
month_days(int64_t y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* "hh:mm:ss" as seconds into the day. */
static int
clock_time(struct cur *c, int *secs)
{
	int h, mi, s;

	if (!digits(c, 2, &h) || !eat(c, ":") || !digits(c, 2, &mi) || !eat(c, ":") ||
	    !digits(c, 2, &s) || h > 23 || mi > 59 || s > 60)
		return 0;
	*secs = h * 3600 + mi * 60 + s;
	return 1;
}

/* "Z", "+01:00" or "-0800" (syslog-ng, older journalctl) as seconds east of UTC. */
static int
zone(struct cur *c, int *off)
{
	int sign, h, m;

	*off = 0;
	if (eat(c, "Z"))
		return 1;
	if (eat(c, "+"))
		sign = 1;
	else if (eat(c, "-"))
		sign = -1;
	else
		return 0;
	if (!digits(c, 2, &h))
		return 0;
	eat(c, ":"); /* optional: "+0100" */
	if (!digits(c, 2, &m) || h > 23 || m > 59)
		return 0;
	*off = sign * (h * 3600 + m * 60);
	return 1;
}

/* "2024-11-05T14:03:07[.frac](Z|+01:00|+0100)" */
static int
time_iso(struct cur *c, int64_t *t)
{
	int y, mo, d, secs, off;

	if (!digits(c, 4, &y) || !eat(c, "-") || !digits(c, 2, &mo) || !eat(c, "-") ||
	    !digits(c, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) ||
	    !eat(c, "T") || !clock_time(c, &secs))
		return 0;
	if (eat(c, "."))
		while (c->p < c->end && is_digit(*c->p))
			c->p++;
	if (!zone(c, &off))
		return 0;
	*t = days_from_civil(y, mo, d) * 86400 + secs - off;
	return 1;
}

/* The local zone's offset from UTC at T, in seconds. */
static int64_t
utc_offset(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	return localtime_r(&tt, &tm) ? tm.tm_gmtoff : 0;
}

/* Local wall-clock seconds (as if UTC) to epoch seconds. */
static int64_t
local_to_epoch(int64_t wall)
{
	return wall - utc_offset(wall - utc_offset(wall));
}

/*
 * The latest year in which month MO, day D at SECS local time is not more
 * than a day after NOW.  Ten candidates from next year down cover Feb 29
 * across 2100.
 */
static int
infer_year(int mo, int d, int secs, int64_t now, int64_t *t)
{
	int64_t y = 1971 + (now + 86400) / 31556952; /* next year, or the one after */

	for (int i = 0; i < 10; i++, y--) {
		int64_t wall;
		if (d > month_days(y, mo))
			continue;
		wall = days_from_civil(y, mo, d) * 86400 + secs;
		if (wall - 14 * 3600 > now + 86400)
			continue; /* in the future whatever the zone */
		*t = local_to_epoch(wall);
		if (*t <= now + 86400)
			return 1;
	}
	return 0;
}

/* "Nov  5 14:03:07" (RFC 3164), "Nov 05 14:03:07" (postlogd), "Nov 5 14:03:07". */
static int
time_bsd(struct cur *c, int64_t now, int64_t *t)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int mo = 0, d = 0, secs;

	if (left(c) < 4 || c->p[3] != ' ')
		return 0;
	for (int i = 0; i < 12 && !mo; i++)
		if (memcmp(c->p, months + 3 * i, 3) == 0)
			mo = i + 1;
	if (!mo)
		return 0;
	c->p += 4;
	eat(c, " ");
	if (!digits(c, 2, &d) && !digits(c, 1, &d))
		return 0;
	if (d < 1 || d > 31 || !eat(c, " ") || !clock_time(c, &secs))
		return 0;
	return infer_year(mo, d, secs, now, t);
}

/* ---- line prefix --------------------------------------------------------- */

/* A non-empty token up to the next space (not consumed), kept in R. */
static const char *
token(struct cur *c, struct maillog_rec *r)
{
	const char *sp = memchr(c->p, ' ', left(c));

	if (sp == NULL || sp == c->p)
		return NULL;
	return keep_to(c, r, sp);
}

/*
 * "syslog_name/process" in [p, end): the process is after the last '/'.
 * 0 when there is no '/' (not Postfix).
 */
static int
split_tag(const char *p, const char *end, struct maillog_rec *r)
{
	const char *slash = NULL;

	for (const char *q = p; q < end; q++)
		if (*q == '/')
			slash = q;
	if (slash == NULL || slash == p || slash + 1 == end)
		return 0;
	r->syslog_name = keep(r, p, (size_t)(slash - p));
	r->process = keep(r, slash + 1, (size_t)(end - slash - 1));
	return 1;
}

/* "tag[pid]: " or "tag: "; 1 ok, 0 not a Postfix tag. */
static int
tag_bsd(struct cur *c, struct maillog_rec *r)
{
	const char *name = c->p, *name_end;
	uint64_t pid = 0;

	while (c->p < c->end && *c->p != '[' && *c->p != ':' && *c->p != ' ')
		c->p++;
	name_end = c->p;
	if (eat(c, "[") && (!number(c, 999999999, &pid) || !eat(c, "]")))
		return 0;
	if (!eat(c, ":") || (c->p < c->end && !eat(c, " ")))
		return 0;
	r->pid = (long)pid;
	return split_tag(name, name_end, r);
}

/* Structured data of RFC 5424: "-" or one or more "[...]" (with \] escapes). */
static int
sd_skip(struct cur *c)
{
	if (eat(c, "-"))
		return 1;
	if (c->p == c->end || *c->p != '[')
		return 0;
	while (c->p < c->end && *c->p == '[') {
		for (c->p++; c->p < c->end && *c->p != ']'; c->p++)
			if (*c->p == '\\' && c->p + 1 < c->end)
				c->p++;
		if (!eat(c, "]"))
			return 0;
	}
	return 1;
}

/* After "<PRI>1 ": TIMESTAMP HOST APP PROCID MSGID SD [BOM]MSG.  -1 bad, 0 not Postfix, 1 ok. */
static int
prefix_5424(struct cur *c, struct maillog_rec *r)
{
	const char *app, *app_end;
	uint64_t pid = 0;

	if (!time_iso(c, &r->time) || !eat(c, " ") || !(r->host = token(c, r)) || !eat(c, " "))
		return -1;
	app = c->p;
	if (!token(c, r) || !eat(c, " "))
		return -1;
	app_end = c->p - 1;
	if (!eat(c, "-") && !number(c, 999999999, &pid))
		return -1;
	r->pid = (long)pid;
	if (!eat(c, " ") || !token(c, r) || !eat(c, " ") || !sd_skip(c))
		return -1;
	if (c->p < c->end && !eat(c, " "))
		return -1;
	eat(c, "\xEF\xBB\xBF");
	return split_tag(app, app_end, r);
}

/*
 * Everything before the message: time, host, tag.  Leaves C at the message.
 * -1 malformed, 0 a valid line but not from Postfix, 1 a Postfix line.
 */
static int
prefix(struct cur *c, int64_t now, struct maillog_rec *r)
{
	if (eat(c, "<")) {
		uint64_t pri;
		if (!number(c, 191, &pri) || !eat(c, ">"))
			return -1;
		if (eat(c, "1 "))
			return prefix_5424(c, r);
	}
	if (c->p < c->end && is_digit(*c->p)) {
		if (!time_iso(c, &r->time))
			return -1;
	} else if (!time_bsd(c, now, &r->time)) {
		return -1;
	}
	if (!eat(c, " ") || !(r->host = token(c, r)) || !eat(c, " "))
		return -1;
	return tag_bsd(c, r);
}

/* ---- queue ids ----------------------------------------------------------- */

/* The long queue id alphabet: digits and consonants; the inode part lacks 'z'. */
static int
is_b52(int ch)
{
	return is_digit(ch) ||
	       (((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')) && !in("AEIOUaeiou", ch));
}

/* Short "C3CD21F3E90" or long "4jYlJx4Fs4z1bYLY" (REFERENCE §3.2). */
static int
is_queue_id(const char *p, size_t n)
{
	size_t hex = 0, b52 = 0, z = 0;

	if (n < 6 || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++) {
		hex += is_digit(p[i]) || (p[i] >= 'A' && p[i] <= 'F');
		b52 += is_b52(p[i]);
		if (p[i] == 'z')
			z = i;
	}
	return hex == n || (b52 == n && z >= 10 && z + 1 < n);
}

/* ---- message parts ------------------------------------------------------- */

/*
 * Where an address that starts at P ends: the '>' after a quoted local part,
 * else the first '>' followed by ',', ' ', ':' or the end (Postfix's internal
 * form, info_log_address_format=internal, may hold a bare '>').
 */
static const char *
addr_end(const char *p, const char *end)
{
	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"'; p++)
			if (*p == '\\' && p + 1 < end)
				p++;
		if (p == end)
			return NULL;
	}
	for (; p < end; p++)
		if (*p == '>' && (p + 1 == end || in(", :", p[1])))
			return p;
	return NULL;
}

/* "<address>", unquoted to the internal form into *OUT. */
static int
addr(struct cur *c, struct maillog_rec *r, const char **out)
{
	const char *gt;
	char *s;
	size_t n = 0;

	if (!eat(c, "<") || (gt = addr_end(c->p, c->end)) == NULL)
		return 0;
	s = (char *)keep(r, c->p, (size_t)(gt - c->p)); /* room, then unquote in place */
	if (*c->p == '"' && *s) {
		const char *q = c->p + 1;
		for (; *q != '"'; q++) {
			if (*q == '\\')
				q++;
			s[n++] = *q;
		}
		memmove(s + n, q + 1, (size_t)(gt - q - 1));
		s[n + (size_t)(gt - q - 1)] = '\0';
	}
	*out = s;
	c->p = gt + 1;
	return 1;
}

/* "name[addr]" or "name[addr]:port" or a bare "name" in [p, end). */
static void
namaddr(const char *p, const char *end, struct maillog_rec *r)
{
	const char *lb = memchr(p, '[', (size_t)(end - p));
	const char *rb = lb ? memchr(lb, ']', (size_t)(end - lb)) : NULL;

	if (rb == NULL) {
		r->client_name = keep(r, p, (size_t)(end - p));
		return;
	}
	r->client_name = keep(r, p, (size_t)(lb - p));
	r->client_addr = keep(r, lb + 1, (size_t)(rb - lb - 1));
}

/* "X.Y.Z" enhanced status code: class 2, 4 or 5, then 1-3 digits twice. */
static int
is_dsn(const char *p, size_t n)
{
	size_t i = 2, d;

	if (n < 5 || (p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
		return 0;
	for (int part = 0; part < 2; part++) {
		for (d = 0; i < n && is_digit(p[i]) && d < 4; i++, d++)
			;
		if (d < 1 || d > 3 || (part == 0 && (i >= n || p[i++] != '.')))
			return 0;
	}
	return i == n;
}

/* A reply "550 5.7.1 text", "5.7.1 text" or "text" in [p, end). */
static void
reply(const char *p, const char *end, struct maillog_rec *r)
{
	const char *sp;

	if (end - p >= 4 && in("2345", p[0]) && is_digit(p[1]) && is_digit(p[2]) && p[3] == ' ') {
		r->code = keep(r, p, 3);
		p += 4;
	}
	sp = memchr(p, ' ', (size_t)(end - p));
	if (is_dsn(p, (size_t)((sp ? sp : end) - p))) {
		r->dsn = keep(r, p, (size_t)((sp ? sp : end) - p));
		p = sp ? sp + 1 : end;
	}
	if (p < end)
		r->text = keep(r, p, (size_t)(end - p));
}

/* ---- key=value lists ----------------------------------------------------- */

enum vtype { V_ADDR, V_STR, V_UINT, V_MS };

struct kv {
	const char *key; /* with its '=' */
	enum vtype type;
	size_t off;
};

/* "0.08", "1.5", "17": seconds as logged, to milliseconds. */
static int
millis(struct cur *c, uint64_t *ms)
{
	uint64_t secs, frac = 0;
	int n = 0;

	if (!number(c, UINT64_MAX / 1000 - 1, &secs))
		return 0;
	if (eat(c, "."))
		for (; c->p < c->end && is_digit(*c->p); c->p++, n++)
			if (n < 3)
				frac = frac * 10 + (uint64_t)(*c->p - '0');
	while (n++ < 3)
		frac *= 10;
	*ms = secs * 1000 + frac;
	return 1;
}

/* One "key=value" from TABLE, the value ending at ", " or the end; unknown keys are skipped. */
static int
keyval(struct cur *c, struct maillog_rec *r, const struct kv *table, size_t n)
{
	const char *stop = upto(c, ", ");
	uint64_t v;

	for (size_t i = 0; i < n; i++) {
		if (!eat(c, table[i].key))
			continue;
		switch (table[i].type) {
		case V_ADDR:
			return addr(c, r, &STR_AT(r, table[i].off));
		case V_STR:
			STR_AT(r, table[i].off) = keep_to(c, r, stop);
			return 1;
		case V_UINT:
			if (!number(c, UINT32_MAX, &v))
				return 0;
			*(unsigned *)((char *)r + table[i].off) = (unsigned)v;
			return c->p == stop;
		case V_MS:
			return millis(c, (uint64_t *)((char *)r + table[i].off)) && c->p == stop;
		}
	}
	if (find(c->p, stop, "=") == NULL)
		return 0;
	c->p = stop; /* a field of a later Postfix: skip it */
	return 1;
}

/* ---- one handler per kind ------------------------------------------------ */

/* True when Postfix cut this record: its text reached the 2000-byte limit. */
static int
cut_by_postfix(const struct cur *msg)
{
	return left(msg) >= MAILLOG_POSTFIX_RECLEN;
}

/* "client=host[ip][, sasl_method=M, sasl_username=U, sasl_sender=S][, orig_queue_id=Q, ...]" */
static int
smtpd_client(struct cur *c, struct maillog_rec *r)
{
	static const struct kv keys[] = {
	    {"sasl_method=", V_STR, FIELD(sasl_method)},
	    {"sasl_username=", V_STR, FIELD(sasl_username)},
	    {"sasl_sender=", V_STR, FIELD(sasl_sender)},
	    {"orig_queue_id=", V_STR, FIELD(orig_queue_id)},
	    {"orig_client=", V_STR, FIELD(orig_client)},
	};
	const char *stop = upto(c, ", ");

	if (!eat(c, "client=") || stop == c->p || !find(c->p, stop, "]"))
		return MAILLOG_MALFORMED;
	namaddr(c->p, stop, r);
	c->p = stop;
	while (eat(c, ", "))
		if (!keyval(c, r, keys, N(keys)))
			return MAILLOG_MALFORMED;
	return c->p == c->end ? MAILLOG_SMTPD_CLIENT : MAILLOG_MALFORMED;
}

/* "uid=N from=<sender>[ orig_id=QID]" */
static int
pickup(struct cur *c, struct maillog_rec *r)
{
	uint64_t uid;

	if (!eat(c, "uid=") || !number(c, 4294967295u, &uid) || !eat(c, " from=") ||
	    !addr(c, r, &r->from))
		return MAILLOG_MALFORMED;
	r->uid = (long)uid;
	if (eat(c, " orig_id="))
		r->orig_id = keep_to(c, r, c->end);
	return c->p == c->end ? MAILLOG_PICKUP : MAILLOG_MALFORMED;
}

/* "message-id=<...>" or "resent-message-id=...": the value as logged. */
static int
cleanup_msgid(struct cur *c, struct maillog_rec *r)
{
	r->resent = eat(c, "resent-");
	if (!eat(c, "message-id="))
		return MAILLOG_MALFORMED;
	r->message_id = keep_to(c, r, c->end);
	return MAILLOG_CLEANUP_MSGID;
}

/* "from=<s>, size=N, nrcpt=N (queue active)" or "from=<s>, status=expired, returned to sender" */
static int
qmgr(struct cur *c, struct maillog_rec *r)
{
	uint64_t size, nrcpt;

	if (!eat(c, "from=") || !addr(c, r, &r->from))
		return MAILLOG_MALFORMED;
	if (eat(c, ", status=")) {
		r->forced = eat(c, "force-");
		return eat(c, "expired, returned to sender") && c->p == c->end
			   ? MAILLOG_QMGR_EXPIRED
			   : MAILLOG_MALFORMED;
	}
	if (!eat(c, ", size=") || !number(c, UINT64_MAX, &size) || !eat(c, ", nrcpt=") ||
	    !number(c, UINT32_MAX, &nrcpt) || !eat(c, " (queue ") || left(c) < 2 ||
	    c->end[-1] != ')' || memchr(c->p, ' ', left(c)))
		return MAILLOG_MALFORMED;
	r->size = size;
	r->nrcpt = (unsigned)nrcpt;
	return MAILLOG_QMGR_FROM;
}

/* "removed", nothing more. */
static int
qmgr_removed(struct cur *c, struct maillog_rec *r)
{
	(void)r;
	return eat(c, "removed") && c->p == c->end ? MAILLOG_QMGR_REMOVED : MAILLOG_IGNORED;
}

static const struct {
	const char *word;
	enum maillog_status status;
} statuses[] = {
    {"sent", MAILLOG_ST_SENT},
    {"bounced", MAILLOG_ST_BOUNCED},
    {"deferred", MAILLOG_ST_DEFERRED},
    {"SOFTBOUNCE", MAILLOG_ST_SOFTBOUNCE},
    {"expired", MAILLOG_ST_EXPIRED},
    {"deliverable", MAILLOG_ST_DELIVERABLE},
    {"undeliverable", MAILLOG_ST_UNDELIVERABLE},
};

/* "status=WORD (text)": the text runs to the last ')', which ends the line. */
static int
delivery_status(struct cur *c, const struct cur *msg, struct maillog_rec *r)
{
	const char *sp = memchr(c->p, ' ', left(c));

	if (sp == NULL || sp == c->p)
		return MAILLOG_MALFORMED;
	for (const char *q = c->p; q < sp; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || *q == '-'))
			return MAILLOG_MALFORMED;
	r->status_word = keep_to(c, r, sp);
	for (size_t i = 0; i < N(statuses); i++)
		if (strcmp(statuses[i].word, r->status_word) == 0)
			r->status = statuses[i].status;
	if (!eat(c, " ("))
		return MAILLOG_MALFORMED;
	r->truncated = cut_by_postfix(msg);
	if (c->p < c->end && c->end[-1] == ')')
		r->text = keep(r, c->p, left(c) - 1);
	else if (r->truncated)
		r->text = keep(r, c->p, left(c));
	else
		return MAILLOG_MALFORMED;
	return MAILLOG_DELIVERY;
}

/* "to=<r>[, orig_to=<o>], relay=R[, conn_use=N], delay=D, delays=a/b/c/d, dsn=X.Y.Z, status=" */
static int
delivery(struct cur *c, const struct cur *msg, struct maillog_rec *r)
{
	static const struct kv keys[] = {
	    {"orig_to=", V_ADDR, FIELD(orig_to)},
	    {"relay=", V_STR, FIELD(relay)},
	    {"conn_use=", V_UINT, FIELD(conn_use)},
	    {"delay=", V_MS, FIELD(delay_ms)},
	    {"delays=", V_STR, FIELD(delays)},
	    {"tls=", V_STR, FIELD(tls)},
	    {"dsn=", V_STR, FIELD(dsn)},
	};

	if (!eat(c, "to=") || !addr(c, r, &r->to))
		return MAILLOG_MALFORMED;
	while (eat(c, ", ")) {
		if (eat(c, "status=")) {
			if (!r->relay || !r->delays || !r->dsn || !is_dsn(r->dsn, strlen(r->dsn)))
				return MAILLOG_MALFORMED;
			return delivery_status(c, msg, r);
		}
		if (!keyval(c, r, keys, N(keys)))
			return MAILLOG_MALFORMED;
	}
	return MAILLOG_MALFORMED;
}

/* "sender non-delivery notification: NEWQID" and the other notices of bounce(8). */
static int
bounce_notice(struct cur *c, struct maillog_rec *r)
{
	static const struct {
		const char *text;
		enum maillog_notice notice;
	} notices[] = {
	    {"non-delivery notification: ", MAILLOG_NOTICE_NDR},
	    {"delay notification: ", MAILLOG_NOTICE_DELAY},
	    {"delivery status notification: ", MAILLOG_NOTICE_DSN},
	};

	if (eat(c, "postmaster "))
		r->to_postmaster = 1;
	else if (!eat(c, "sender "))
		return MAILLOG_IGNORED;
	for (size_t i = 0; i < N(notices) && !r->notice; i++)
		if (eat(c, notices[i].text))
			r->notice = notices[i].notice;
	if (!r->notice)
		return MAILLOG_IGNORED;
	if (!is_queue_id(c->p, left(c)))
		return MAILLOG_MALFORMED;
	r->new_queue_id = keep_to(c, r, c->end);
	return MAILLOG_BOUNCE_NOTICE;
}

/*
 * The context smtpd and cleanup add to an action:
 * " from=<s> to=<r> proto=P helo=<h>", each part optional, in this order.
 * Returns where it ends, or NULL.
 */
static const char *
trailer(const char *p, const char *end, struct maillog_rec *r)
{
	struct cur c = {p, end};

	if (eat(&c, " from=") && !addr(&c, r, &r->from))
		return NULL;
	if (eat(&c, " to=") && !addr(&c, r, &r->to))
		return NULL;
	if (eat(&c, " proto=")) {
		const char *q = c.p;
		while (q < end && ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z')))
			q++;
		if (q == c.p)
			return NULL;
		r->proto = keep_to(&c, r, q);
	}
	if (eat(&c, " helo=<")) {
		const char *gt = addr_end(c.p, end);
		if (gt == NULL)
			return NULL;
		r->helo = keep_to(&c, r, gt);
		c.p++;
	}
	return c.p;
}

/* Forget what a failed trailer() attempt kept. */
static void
trailer_undo(struct maillog_rec *r, size_t used)
{
	r->from = r->to = r->proto = r->helo = NULL;
	r->used_ = used;
}

/* smtpd's "STAGE from CLIENT: REPLY; TRAILER" (also milter actions in cleanup). */
static int
reject_smtpd(struct cur *c, const struct cur *msg, struct maillog_rec *r)
{
	const char *colon = find(c->p, c->end, ": "), *semi = NULL;
	size_t used;

	if (colon == NULL)
		return MAILLOG_MALFORMED;
	namaddr(c->p, colon, r);
	c->p = colon + 2;
	used = r->used_;
	/* The reply may hold ';': the trailer starts at the last ';' it parses from. */
	for (const char *q = c->end; q > c->p && semi == NULL;) {
		q--;
		if (*q != ';')
			continue;
		if (trailer(q + 1, c->end, r) == c->end)
			semi = q;
		else
			trailer_undo(r, used);
	}
	if (semi == NULL && !cut_by_postfix(msg))
		return MAILLOG_MALFORMED;
	r->truncated = cut_by_postfix(msg);
	reply(c->p, semi ? semi : c->end, r);
	return MAILLOG_REJECT;
}

/* cleanup's header/body checks: "CLASS CONTENT from ORIGIN; TRAILER[: TEXT]". */
static int
reject_cleanup(struct cur *c, const struct cur *msg, struct maillog_rec *r)
{
	size_t used = r->used_;

	for (const char *q = c->p; (q = memchr(q, ';', (size_t)(c->end - q))) != NULL; q++) {
		const char *from = NULL, *t, *f;
		for (f = c->p; (f = find(f, q, " from ")) != NULL; f++)
			from = f;
		if (from && (t = trailer(q + 1, c->end, r)) != NULL &&
		    (t == c->end || (c->end - t >= 2 && t[0] == ':' && t[1] == ' '))) {
			namaddr(from + 6, q, r);
			if (t < c->end)
				reply(t + 2, c->end, r);
			r->truncated = cut_by_postfix(msg);
			return MAILLOG_REJECT;
		}
		trailer_undo(r, used);
	}
	return MAILLOG_MALFORMED;
}

static const struct {
	const char *word;
	enum maillog_action action;
} actions[] = {
    {"reject", MAILLOG_ACT_REJECT},   {"milter-reject", MAILLOG_ACT_MILTER_REJECT},
    {"hold", MAILLOG_ACT_HOLD},	      {"milter-hold", MAILLOG_ACT_MILTER_HOLD},
    {"discard", MAILLOG_ACT_DISCARD}, {"milter-discard", MAILLOG_ACT_MILTER_DISCARD},
};

/* "ACTION: STAGE from ...": an SMTP-stage or content-check refusal. */
static int
reject(struct cur *c, const struct cur *msg, struct maillog_rec *r)
{
	const char *sp;

	for (size_t i = 0; i < N(actions) && !r->action; i++) {
		struct cur w = *c;
		if (eat(&w, actions[i].word) && eat(&w, ": ")) {
			r->action = actions[i].action;
			*c = w;
		}
	}
	if (!r->action)
		return MAILLOG_IGNORED; /* reject_warning:, milter-header-... */
	if ((sp = memchr(c->p, ' ', left(c))) == NULL || sp == c->p)
		return MAILLOG_MALFORMED;
	r->stage = keep_to(c, r, sp);
	if (strcmp(r->stage, "header") == 0 || strcmp(r->stage, "body") == 0)
		return reject_cleanup(c, msg, r);
	for (const char *q = r->stage; *q; q++)
		if (!((*q >= 'A' && *q <= 'Z') || *q == '-'))
			return MAILLOG_IGNORED;
	if (!eat(c, " from "))
		return MAILLOG_MALFORMED;
	return reject_smtpd(c, msg, r);
}

/* ---- dispatch ------------------------------------------------------------ */

enum handler { H_CLIENT, H_PICKUP, H_MSGID, H_QMGR, H_REMOVED, H_DELIVERY, H_NOTICE, H_REJECT };

/* The message after "QID: " picks its parser by how it starts. */
static const struct {
	const char *start;
	enum handler h;
} dispatch[] = {
    {"to=", H_DELIVERY},     {"from=", H_QMGR},	       {"removed", H_REMOVED},
    {"client=", H_CLIENT},   {"message-id=", H_MSGID}, {"resent-message-id=", H_MSGID},
    {"uid=", H_PICKUP},	     {"sender ", H_NOTICE},    {"postmaster ", H_NOTICE},
    {"reject: ", H_REJECT},  {"milter-", H_REJECT},    {"hold: ", H_REJECT},
    {"discard: ", H_REJECT},
};

static int
run(enum handler h, struct cur *c, const struct cur *msg, struct maillog_rec *r)
{
	switch (h) {
	case H_CLIENT:
		return smtpd_client(c, r);
	case H_PICKUP:
		return pickup(c, r);
	case H_MSGID:
		return cleanup_msgid(c, r);
	case H_QMGR:
		return qmgr(c, r);
	case H_REMOVED:
		return qmgr_removed(c, r);
	case H_DELIVERY:
		return delivery(c, msg, r);
	case H_NOTICE:
		return bounce_notice(c, r);
	case H_REJECT:
		return reject(c, msg, r);
	}
	return MAILLOG_IGNORED;
}

static const char *const severities[] = {"warning: ", "error: ", "fatal: ", "panic: "};

/* The message after the tag: "[severity: ]QID: ...". */
static int
message(struct cur *c, struct maillog_rec *r)
{
	const struct cur msg = *c;
	const char *colon;
	int noqueue;

	for (size_t i = 0; i < N(severities); i++)
		if (eat(c, severities[i])) {
			r->severity = (enum maillog_severity)(i + 1);
			return MAILLOG_IGNORED; /* life-cycle records are all "info" */
		}
	colon = memchr(c->p, ':', left(c) < 40 ? left(c) : 40);
	if (colon == NULL || colon + 1 == c->end || colon[1] != ' ')
		return MAILLOG_IGNORED;
	noqueue = colon - c->p == 7 && memcmp(c->p, "NOQUEUE", 7) == 0;
	if (!noqueue && !is_queue_id(c->p, (size_t)(colon - c->p)))
		return MAILLOG_IGNORED;
	if (!noqueue)
		r->queue_id = keep(r, c->p, (size_t)(colon - c->p));
	c->p = colon + 2;
	for (size_t i = 0; i < N(dispatch); i++) {
		struct cur start = *c;
		if (!eat(&start, dispatch[i].start))
			continue;
		if (noqueue && dispatch[i].h != H_REJECT)
			return MAILLOG_IGNORED;
		return run(dispatch[i].h, c, &msg, r);
	}
	return MAILLOG_IGNORED;
}

int
maillog_parse(const char *line, size_t len, int64_t now, struct maillog_rec *r)
{
	struct cur c = {line, line + len};
	int kind;

	memset(r, 0, offsetof(struct maillog_rec, buf_));
	while (c.end > c.p && (c.end[-1] == '\n' || c.end[-1] == '\r'))
		c.end--;
	if (len > MAILLOG_LINE_MAX || memchr(c.p, '\0', left(&c)) || memchr(c.p, '\n', left(&c)) ||
	    memchr(c.p, '\r', left(&c)))
		kind = MAILLOG_MALFORMED;
	else if ((kind = prefix(&c, now, r)) == 1)
		kind = message(&c, r);
	else
		kind = kind < 0 ? MAILLOG_MALFORMED : MAILLOG_IGNORED;
	if (r->used_ > sizeof(r->buf_))
		kind = MAILLOG_MALFORMED;
	r->kind = (enum maillog_kind)kind;
	return kind;
}

/* ---- names --------------------------------------------------------------- */

const char *
maillog_kind_name(int kind)
{
	static const char *const names[] = {
	    "ignored",	    "smtpd-client", "pickup",	"cleanup-msgid", "qmgr-from",
	    "qmgr-expired", "qmgr-removed", "delivery", "bounce-notice", "reject",
	};

	if (kind == MAILLOG_MALFORMED)
		return "malformed";
	return kind >= 0 && (size_t)kind < N(names) ? names[kind] : "?";
}

const char *
maillog_status_name(enum maillog_status st)
{
	for (size_t i = 0; i < N(statuses); i++)
		if (statuses[i].status == st)
			return statuses[i].word;
	return "other";
}

const char *
maillog_notice_name(enum maillog_notice n)
{
	switch (n) {
	case MAILLOG_NOTICE_NDR:
		return "non-delivery";
	case MAILLOG_NOTICE_DELAY:
		return "delay";
	case MAILLOG_NOTICE_DSN:
		return "delivery-status";
	}
	return "?";
}

const char *
maillog_action_name(enum maillog_action a)
{
	for (size_t i = 0; i < N(actions); i++)
		if (actions[i].action == a)
			return actions[i].word;
	return "?";
}
