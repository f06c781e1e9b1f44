/* classify -- the bounce rule table; see classify.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "store/records.h"
#include "util/xalloc.h"

#define MAX_RULES 4096
#define RULE_FILE_MAX (1 << 20)

static const struct {
	const char *name;
	int kind;
} classes[BC_COUNT] = {
    [BC_OTHER] = {"other", BK_SOFT},
    [BC_USER_UNKNOWN] = {"user-unknown", BK_HARD},
    [BC_DOMAIN_UNKNOWN] = {"domain-unknown", BK_HARD},
    [BC_NULL_MX] = {"null-mx", BK_HARD},
    [BC_MOVED] = {"moved", BK_HARD},
    [BC_MAILBOX_FULL] = {"mailbox-full", BK_SOFT},
    [BC_MAILBOX_DISABLED] = {"mailbox-disabled", BK_SOFT},
    [BC_MESSAGE_TOO_BIG] = {"message-too-big", BK_SOFT},
    [BC_POLICY_BLOCK] = {"policy-block", BK_BLOCK},
    [BC_SPAM_BLOCK] = {"spam-block", BK_BLOCK},
    [BC_REPUTATION_BLOCK] = {"reputation-block", BK_BLOCK},
    [BC_RATE_LIMITED] = {"rate-limited", BK_SOFT},
    [BC_AUTH_FAILURE] = {"auth-failure", BK_BLOCK},
};

struct rule {
	int code[3]; /* -1 = any */
	int cls;
	int has_re;
	regex_t re;
	unsigned line;
};

struct classify_rules {
	struct rule *r;
	size_t n;
};

const char *
classify_name(int cls)
{
	return cls >= 0 && cls < BC_COUNT ? classes[cls].name : "other";
}

int
classify_parse_name(const char *name)
{
	for (int i = 0; i < BC_COUNT; i++)
		if (strcmp(classes[i].name, name) == 0)
			return i;
	return -1;
}

int
classify_kind(int cls)
{
	return cls >= 0 && cls < BC_COUNT ? classes[cls].kind : BK_SOFT;
}

/* "5.1.1", "5.7.*", "*" into three numbers (-1 = any); 0 ok, -1 bad. */
static int
status_pattern(const char *s, int code[3])
{
	if (strcmp(s, "*") == 0) {
		code[0] = code[1] = code[2] = -1;
		return 0;
	}
	for (int i = 0; i < 3; i++) {
		if (*s == '*') {
			code[i] = -1;
			s++;
		} else if (isdigit((unsigned char)*s)) {
			char *end;
			long v = strtol(s, &end, 10);
			if (v > 999 || (i == 0 && v != 2 && v != 4 && v != 5))
				return -1;
			code[i] = (int)v;
			s = end;
		} else {
			return -1;
		}
		if (i < 2 && *s++ != '.')
			return -1;
	}
	return *s == '\0' ? 0 : -1;
}

/* Parse one non-empty rule line into R; -1 with a reason in ERR. */
static int
rule_parse(char *line, struct rule *r, char *err, size_t errlen)
{
	char *status = strtok(line, " \t"), *cls = strtok(NULL, " \t"), *re = strtok(NULL, "");
	int rc;

	if (status == NULL || cls == NULL) {
		snprintf(err, errlen, "expected STATUS CLASS [REGEX]");
		return -1;
	}
	if (status_pattern(status, r->code) < 0) {
		snprintf(err, errlen, "'%s' is not a status pattern (5.1.1, 5.7.*, *)", status);
		return -1;
	}
	if ((r->cls = classify_parse_name(cls)) < 0) {
		snprintf(err, errlen, "unknown class '%s'", cls);
		return -1;
	}
	while (re && isspace((unsigned char)*re))
		re++;
	r->has_re = re && *re;
	if (r->has_re && (rc = regcomp(&r->re, re, REG_EXTENDED | REG_ICASE | REG_NOSUB)) != 0) {
		char why[128];
		regerror(rc, &r->re, why, sizeof(why));
		snprintf(err, errlen, "bad regular expression: %s", why);
		return -1;
	}
	return 0;
}

struct classify_rules *
classify_parse(const char *name, const char *text, char *err, size_t errlen)
{
	struct classify_rules *rules = xcalloc(1, sizeof(*rules));
	char *copy = xstrdup(text), why[256];
	unsigned lineno = 0;
	char *p = copy;

	while (p) {
		char *line = p, *nl = strchr(p, '\n'), *hash;
		p = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		line += strspn(line, " \t\r");
		line[strcspn(line, "\r")] = '\0';
		if (*line == '\0')
			continue;
		if (rules->n == MAX_RULES) {
			snprintf(err, errlen, "%s:%u: more than %d rules", name, lineno, MAX_RULES);
			goto fail;
		}
		if (rules->n % 64 == 0)
			rules->r = xrealloc(rules->r, (rules->n + 64) * sizeof(*rules->r));
		if (rule_parse(line, &rules->r[rules->n], why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s:%u: %s", name, lineno, why);
			goto fail;
		}
		rules->r[rules->n++].line = lineno;
	}
	free(copy);
	return rules;
fail:
	free(copy);
	classify_free(rules);
	return NULL;
}

struct classify_rules *
classify_load(const char *file, char *err, size_t errlen)
{
	FILE *fp = fopen(file, "r");
	char *buf;
	size_t n;
	struct classify_rules *rules;

	if (fp == NULL) {
		snprintf(err, errlen, "%s:0: cannot open: %s", file, strerror(errno));
		return NULL;
	}
	buf = xmalloc(RULE_FILE_MAX + 1);
	n = fread(buf, 1, RULE_FILE_MAX, fp);
	fclose(fp);
	buf[n] = '\0';
	rules = classify_parse(file, buf, err, errlen);
	free(buf);
	return rules;
}

void
classify_free(struct classify_rules *rules)
{
	if (rules == NULL)
		return;
	for (size_t i = 0; i < rules->n; i++)
		if (rules->r[i].has_re)
			regfree(&rules->r[i].re);
	free(rules->r);
	free(rules);
}

/* Find an enhanced status code "X.Y.Z" at the start of S (after spaces). */
static int
status_of(const char *s, int code[3])
{
	char buf[16];
	size_t n;

	if (s == NULL)
		return -1;
	while (*s == ' ')
		s++;
	n = strspn(s, "0123456789.");
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return status_pattern(buf, code) == 0 && code[0] >= 0 ? 0 : -1;
}

/*
 * No status given: the first "X.Y.Z" in the text, else the class digit of a
 * leading SMTP reply code ("554 delivery error" -> 5.?.?), else unknown.
 */
static void
status_from_text(const char *text, int code[3])
{
	code[0] = code[1] = code[2] = -2; /* unknown: only wildcards match */
	if (text == NULL)
		return;
	for (const char *p = text; *p; p++)
		if ((p == text || !isdigit((unsigned char)p[-1])) && strchr("245", *p) &&
		    p[1] == '.' && status_of(p, code) == 0)
			return;
	code[0] = code[1] = code[2] = -2;
	while (*text == ' ')
		text++;
	if (strchr("245", *text) && *text && isdigit((unsigned char)text[1]) &&
	    isdigit((unsigned char)text[2]) && !isdigit((unsigned char)text[3]))
		code[0] = *text - '0';
}

int
classify_text(const struct classify_rules *rules, const char *status, const char *text,
	      unsigned *rule_line_r)
{
	int code[3] = {-2, -2, -2};

	if (status_of(status, code) < 0)
		status_from_text(text, code);
	for (size_t i = 0; i < rules->n; i++) {
		const struct rule *r = &rules->r[i];
		int ok = 1;
		for (int k = 0; k < 3 && ok; k++)
			ok = r->code[k] == -1 || r->code[k] == code[k];
		if (!ok || (r->has_re && regexec(&r->re, text ? text : "", 0, NULL, 0) != 0))
			continue;
		if (rule_line_r)
			*rule_line_r = r->line;
		return r->cls;
	}
	if (rule_line_r)
		*rule_line_r = 0;
	return BC_OTHER;
}

int
classify_stats_field(int cls)
{
	switch (classify_kind(cls)) {
	case BK_HARD:
		return SF_HARD;
	case BK_BLOCK:
		return SF_BLOCK;
	default:
		return SF_SOFT;
	}
}
