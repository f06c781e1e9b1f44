/* text -- durations, times, sizes; see text.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text.h"

/* Parse a non-negative decimal number with one optional unit from UNITS/MULTS. */
static int
number_with_unit(const char *s, const char *units, const int64_t *mults, int64_t *r)
{
	char *end;
	long long v;
	const char *u;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || v < 0)
		return -1;
	if (*end == '\0') {
		*r = v;
		return 0;
	}
	if (end[1] != '\0' || (u = strchr(units, *end)) == NULL)
		return -1;
	if (v > INT64_MAX / mults[u - units])
		return -1;
	*r = v * mults[u - units];
	return 0;
}

int
text_duration_parse(const char *s, int64_t *secs_r)
{
	static const int64_t mults[] = {1, 60, 3600, 86400, 604800};

	return number_with_unit(s, "smhdw", mults, secs_r);
}

int
text_size_parse(const char *s, uint64_t *bytes_r)
{
	static const int64_t mults[] = {1024, 1024 * 1024, 1024LL * 1024 * 1024,
					1024LL * 1024 * 1024 * 1024};
	int64_t v;

	if (number_with_unit(s, "KMGT", mults, &v) < 0)
		return -1;
	*bytes_r = (uint64_t)v;
	return 0;
}

int
text_rate_parse(const char *s, int64_t *count, int64_t *period)
{
	static const char units[] = "smhd";
	static const int64_t secs[] = {1, 60, 3600, 86400};
	const char *slash = strchr(s, '/'), *u;
	char num[24];

	*count = *period = 0;
	if (*s == '\0' || strcmp(s, "none") == 0 || strcmp(s, "0") == 0)
		return 0;
	if (slash == NULL || slash == s || (size_t)(slash - s) >= sizeof(num) || slash[1] == '\0' ||
	    slash[2] != '\0' || (u = strchr(units, slash[1])) == NULL)
		return -1;
	memcpy(num, s, (size_t)(slash - s));
	num[slash - s] = '\0';
	if (text_count_parse(num, count) < 0 || *count == 0)
		return -1;
	*period = secs[u - units];
	return 0;
}

int
text_count_parse(const char *s, int64_t *count)
{
	char *end;

	*count = 0;
	if (*s == '\0' || strcmp(s, "none") == 0)
		return 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v > (long long)UINT32_MAX * 16)
		return -1;
	*count = v;
	return 0;
}

/* Read exactly N digits at *P into *V and advance. */
static int
digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		*v = *v * 10 + (**p - '0');
	}
	return 0;
}

/* Days in month MO (1..12) of year Y, leap years included. */
static int
month_days(int y, int mo)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return mo == 2 && leap ? 29 : days[mo - 1];
}

int
text_time_parse(const char *s, int64_t *epoch_r)
{
	struct tm tm = {0};
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 1;
	const char *p = s;

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
		    digits(&p, 2, &sec))
			return -1;
		if (*p == '.')
			for (p++; isdigit((unsigned char)*p); p++)
				;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p++ == '-' ? -1 : 1;
			if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
				return -1;
		} else {
			return -1;
		}
	}
	/* Refuse what timegm() would silently roll over ("02-30" is not "03-02"). */
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 ||
	    mi > 59 || sec > 60 || oh > 23 || om > 59)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*epoch_r = (int64_t)timegm(&tm) - sign * (oh * 3600 + om * 60);
	return 0;
}

/* The last second RFC 3339's four-digit years can write: 9999-12-31T23:59:59Z. */
#define TIME_MAX 253402300799LL

int
text_expiry_parse(const char *s, int64_t now, int64_t *epoch_r)
{
	int64_t secs;

	if (text_duration_parse(s, &secs) == 0) {
		if (secs > TIME_MAX - now)
			return -1;
		*epoch_r = now + secs;
		return 0;
	}
	if (text_time_parse(s, epoch_r) < 0 || *epoch_r < 0 || *epoch_r > TIME_MAX)
		return -1;
	return 0;
}

char *
text_time_format(int64_t epoch, char *buf, size_t len)
{
	time_t t = (time_t)epoch;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

char *
text_time_format_ms(int64_t epoch_ms, char *buf, size_t len)
{
	time_t t = (time_t)(epoch_ms / 1000);
	struct tm tm;
	char base[24];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, (int)(epoch_ms % 1000));
	return buf;
}

char *
text_lower(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

int
text_copy(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (len == 0)
		return -1;
	if (n >= len) {
		memcpy(dst, src, len - 1);
		dst[len - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int
text_is_token(const char *s, size_t maxlen)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && !strchr("._@+-", s[n]))
			return 0;
	return n > 0 && n <= maxlen;
}
