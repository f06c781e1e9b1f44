/*
 * conf_dnsbl -- the `dnsbl` list of the configuration: one group per
 * blocklist.  conf.c's schema has one row for it (type CT_DNSBL) and hands
 * the setting here; the keys of one entry are a table of their own:
 *
 *   dnsbl = (
 *     { name = "Spamhaus ZEN"; zone = "zen.spamhaus.org"; query = "client";
 *       codes = [ "127.0.0.2-3=SBL", "127.0.0.4-7=XBL" ]; action = "reject"; },
 *     { zone = "multi.uribl.com"; query = "sender_domain";
 *       bitmask = [ "2=black", "4=grey" ]; action = "log"; },
 *     { name = "DBL"; zone = "dbl.spamhaus.org"; query = "from_domain"; action = "reject"; }
 *   );
 * A from_domain list is asked about the domain of the From: header, which only
 * the milter sees (at end of headers); the policy service skips it.
 */
#include "config.h"

#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_dnsbl.h"
#include "dns/dns_facts.h"
#include "util/xalloc.h"

static const char *const entry_keys[] = {
    "name", "zone", "query", "codes", "bitmask", "action", "skip_authenticated", NULL};

static int bad(const config_setting_t *s, char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "file:line: dnsbl: message" into ERR; returns -1. */
static int
bad(const config_setting_t *s, char *err, size_t len, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, len, "%s:%d: dnsbl: %s",
		 config_setting_source_file(s) ? config_setting_source_file(s) : "?",
		 (int)config_setting_source_line(s), msg);
	return -1;
}

/* An optional string member of entry E; DEF when absent, NULL (and ERR) on a wrong type. */
static const char *
member_str(const config_setting_t *e, const char *key, const char *def, char *err, size_t len)
{
	const config_setting_t *m = config_setting_get_member(e, key);

	if (m == NULL)
		return def;
	if (config_setting_type(m) != CONFIG_TYPE_STRING) {
		bad(m, err, len, "%s: expected a string", key);
		return NULL;
	}
	return config_setting_get_string(m);
}

/* codes = [...] or bitmask = [...]: the table of answers that count as listed. */
static int
read_codes(const config_setting_t *m, struct dnsbl_list *l, char *err, size_t len)
{
	const char *key = config_setting_name(m);
	int n = config_setting_length(m);

	if (!config_setting_is_array(m) && !config_setting_is_list(m))
		return bad(m, err, len, "%s: expected a list of strings", key);
	l->codes = xcalloc((size_t)n + 1, sizeof(*l->codes));
	for (int i = 0; i < n; i++) {
		const char *v = config_setting_get_string_elem(m, i);
		if (v == NULL || dnsbl_code_parse(v, l->bitmask, &l->codes[l->ncodes]) < 0)
			return bad(m, err, len, "%s: '%s': expected %s", key, v ? v : "?",
				   l->bitmask ? "\"BIT=MEANING\" (BIT a power of two, 1-128)"
					      : "\"127.0.0.X[-Y]=MEANING\"");
		l->ncodes++;
	}
	return 0;
}

static int
check_keys(const config_setting_t *e, char *err, size_t len)
{
	for (int i = 0; i < config_setting_length(e); i++) {
		const config_setting_t *m = config_setting_get_elem(e, i);
		const char *const *k = entry_keys;
		while (*k && strcmp(*k, config_setting_name(m)) != 0)
			k++;
		if (*k == NULL)
			return bad(m, err, len,
				   "unknown setting '%s' (one of: name, zone, query, "
				   "codes, bitmask, action, skip_authenticated)",
				   config_setting_name(m));
	}
	return 0;
}

static int
read_enum(const config_setting_t *e, const char *key, const char *def, const char *const *names,
	  int *v, char *err, size_t len)
{
	const char *s = member_str(e, key, def, err, len);

	if (s == NULL)
		return -1;
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], s) == 0) {
			*v = i;
			return 0;
		}
	return bad(
	    config_setting_get_member(e, key), err, len, "%s: '%s' is not one of: %s", key, s,
	    names[3] ? "tempfail, reject, review, log" : "client, sender_domain, from_domain");
}

/* One entry of the list into L. */
static int
read_entry(const config_setting_t *e, struct dnsbl_list *l, char *err, size_t len)
{
	static const char *const queries[] = {"client", "sender_domain", "from_domain", NULL};
	static const char *const actions[] = {"tempfail", "reject", "review", "log", NULL};
	const config_setting_t *codes = config_setting_get_member(e, "codes"),
			       *bits = config_setting_get_member(e, "bitmask"),
			       *skip = config_setting_get_member(e, "skip_authenticated");
	const char *zone, *name;

	if (!config_setting_is_group(e))
		return bad(e, err, len, "each entry is a group { zone = ...; ... }");
	if (check_keys(e, err, len) < 0)
		return -1;
	if ((zone = member_str(e, "zone", NULL, err, len)) == NULL)
		return *err ? -1 : bad(e, err, len, "an entry without a zone");
	if (!dnsbl_domain_ok(zone))
		return bad(e, err, len, "zone '%s' is not a domain name", zone);
	if ((name = member_str(e, "name", zone, err, len)) == NULL)
		return -1;
	l->zone = xstrdup(zone);
	l->name = xstrdup(name);
	if (read_enum(e, "query", "client", queries, &l->query, err, len) < 0 ||
	    read_enum(e, "action", "tempfail", actions, &l->action, err, len) < 0)
		return -1;
	if (skip && config_setting_type(skip) != CONFIG_TYPE_BOOL)
		return bad(skip, err, len, "skip_authenticated: expected true or false");
	l->skip_authenticated = skip ? config_setting_get_bool(skip) : 0;
	if (codes && bits)
		return bad(bits, err, len, "an entry has codes or bitmask, not both");
	l->bitmask = bits != NULL;
	if ((codes || bits) && read_codes(codes ? codes : bits, l, err, len) < 0)
		return -1;
	return 0;
}

int
conf_dnsbl_read(const config_setting_t *s, struct conf *conf, char *err, size_t len)
{
	int n;

	err[0] = '\0';
	if (s == NULL)
		return 0;
	if (!config_setting_is_list(s) && !config_setting_is_array(s))
		return bad(s, err, len, "expected a list of groups: dnsbl = ( { zone = ...; } )");
	n = config_setting_length(s);
	if (n > DNS_FACTS_LISTS)
		return bad(s, err, len, "%d lists; at most %d", n, DNS_FACTS_LISTS);
	conf->dnsbl.v = xcalloc((size_t)n + 1, sizeof(*conf->dnsbl.v));
	for (int i = 0; i < n; i++) {
		conf->dnsbl.n++;
		if (read_entry(config_setting_get_elem(s, i), &conf->dnsbl.v[i], err, len) < 0)
			return -1;
	}
	return 0;
}

void
conf_dnsbl_free(struct conf *conf)
{
	for (size_t i = 0; i < conf->dnsbl.n; i++) {
		struct dnsbl_list *l = &conf->dnsbl.v[i];
		for (size_t k = 0; k < l->ncodes; k++)
			free(l->codes[k].meaning);
		free(l->codes);
		free(l->name);
		free(l->zone);
	}
	free(conf->dnsbl.v);
	conf->dnsbl.v = NULL;
	conf->dnsbl.n = 0;
}

/* One code row as it was written: "127.0.0.2-127.0.0.3=SBL" or "2=black". */
static void
dump_code(const struct dnsbl_list *l, const struct dnsbl_code *c, FILE *fp)
{
	if (l->bitmask) {
		fprintf(fp, "\"%u=%s\"", c->first, c->meaning);
		return;
	}
	fprintf(fp, "\"%u.%u.%u.%u", c->first >> 24, (c->first >> 16) & 255, (c->first >> 8) & 255,
		c->first & 255);
	if (c->last != c->first)
		fprintf(fp, "-%u.%u.%u.%u", c->last >> 24, (c->last >> 16) & 255,
			(c->last >> 8) & 255, c->last & 255);
	fprintf(fp, "=%s\"", c->meaning);
}

void
conf_dnsbl_dump(const struct conf *conf, FILE *fp)
{
	fprintf(fp, "dnsbl = (");
	for (size_t i = 0; i < conf->dnsbl.n; i++) {
		const struct dnsbl_list *l = &conf->dnsbl.v[i];
		fprintf(fp,
			"%s\n  { name = \"%s\"; zone = \"%s\"; query = \"%s\"; action = \"%s\"; "
			"skip_authenticated = %s;",
			i ? "," : "", l->name, l->zone, dnsbl_query_name(l->query),
			dnsbl_action_name(l->action), l->skip_authenticated ? "true" : "false");
		if (l->ncodes) {
			fprintf(fp, " %s = [ ", l->bitmask ? "bitmask" : "codes");
			for (size_t k = 0; k < l->ncodes; k++) {
				fprintf(fp, "%s", k ? ", " : "");
				dump_code(l, &l->codes[k], fp);
			}
			fprintf(fp, " ];");
		}
		fprintf(fp, " }");
	}
	fprintf(fp, "%s);\n", conf->dnsbl.n ? "\n" : " ");
}
