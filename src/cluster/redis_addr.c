/* redis_addr -- parse cluster.redis; see redis_addr.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_addr.h"

/* A whole decimal number in [MIN, MAX] made of the N bytes at S; -1 otherwise. */
static int
number(const char *s, size_t n, int min, int max)
{
	long v = 0;

	if (n == 0 || n > 9)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= min && v <= max ? (int)v : -1;
}

/* HOST[:PORT] or [V6][:PORT] of N bytes at S. */
static int
hostport(const char *s, size_t n, struct redis_hostport *hp)
{
	const char *end = s + n, *colon;
	size_t hl;

	if (n > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		if (rb == NULL)
			return -1;
		hl = (size_t)(rb - s - 1);
		memmove(hp->host, s + 1, hl < REDIS_HOST_MAX ? hl : 0);
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		if (rb + 1 < end && colon == NULL)
			return -1;
	} else {
		colon = memchr(s, ':', n);
		hl = colon ? (size_t)(colon - s) : n;
		memmove(hp->host, s, hl < REDIS_HOST_MAX ? hl : 0);
	}
	if (hl == 0 || hl >= REDIS_HOST_MAX)
		return -1;
	hp->host[hl] = '\0';
	hp->port = colon ? number(colon + 1, (size_t)(end - colon - 1), 1, 65535) : 6379;
	return hp->port < 0 ? -1 : 0;
}

static int
parse_redis(const char *p, struct redis_addr *a, char *err, size_t errlen)
{
	const char *slash = strchr(p, '/');
	size_t n = slash ? (size_t)(slash - p) : strlen(p);

	a->kind = REDIS_TCP;
	if (hostport(p, n, &a->tcp) < 0) {
		snprintf(err, errlen, "expected redis://HOST:PORT[/DB]");
		return -1;
	}
	if (slash && slash[1] && (a->db = number(slash + 1, strlen(slash + 1), 0, 65535)) < 0) {
		snprintf(err, errlen, "database '%s' is not a number", slash + 1);
		return -1;
	}
	return 0;
}

static int
parse_sentinel(const char *p, struct redis_addr *a, char *err, size_t errlen)
{
	const char *slash = strrchr(p, '/');

	a->kind = REDIS_SENTINEL;
	if (slash == NULL || slash[1] == '\0' || strlen(slash + 1) >= sizeof(a->master)) {
		snprintf(err, errlen, "expected sentinel://HOST:PORT[,HOST:PORT...]/MASTERNAME");
		return -1;
	}
	strcpy(a->master, slash + 1);
	for (const char *s = p; s < slash;) {
		const char *comma = memchr(s, ',', (size_t)(slash - s));
		const char *e = comma ? comma : slash;
		if (a->nsentinels == REDIS_SENTINELS_MAX ||
		    hostport(s, (size_t)(e - s), &a->sentinels[a->nsentinels]) < 0) {
			snprintf(err, errlen, "bad sentinel address (at most %d HOST:PORT)",
				 REDIS_SENTINELS_MAX);
			return -1;
		}
		a->nsentinels++;
		s = e + 1;
	}
	if (a->nsentinels == 0) {
		snprintf(err, errlen, "no sentinel address");
		return -1;
	}
	return 0;
}

int
redis_addr_parse(const char *spec, struct redis_addr *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (strncmp(spec, "redis://", 8) == 0)
		return parse_redis(spec + 8, a, err, errlen);
	if (strncmp(spec, "sentinel://", 11) == 0)
		return parse_sentinel(spec + 11, a, err, errlen);
	if (strncmp(spec, "unix:", 5) == 0 && spec[5] != '\0' &&
	    strlen(spec + 5) < sizeof(a->path)) {
		a->kind = REDIS_UNIX;
		strcpy(a->path, spec + 5);
		return 0;
	}
	snprintf(err, errlen,
		 "'%s': expected redis://HOST:PORT[/DB], unix:PATH or "
		 "sentinel://HOST:PORT[,HOST:PORT...]/MASTERNAME",
		 spec);
	return -1;
}
