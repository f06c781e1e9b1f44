/* dnsbl -- blocklist query names and answer codes; see dnsbl.h. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsbl.h"
#include "util/xalloc.h"

#define A(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((c) << 8) | (d))

int
dnsbl_name_addr(const char *addr, const char *zone, char *out, size_t len)
{
	unsigned char b[16];
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	size_t o = 0;
	int n;

	if (inet_pton(AF_INET, addr, b) == 1) {
		n = snprintf(out, len, "%u.%u.%u.%u.%s", b[3], b[2], b[1], b[0], zone);
		return n < 0 || (size_t)n >= len ? -1 : 0;
	}
	if (inet_pton(AF_INET6, addr, b) != 1)
		return -1;
	if (memcmp(b, mapped, sizeof(mapped)) == 0) {
		n = snprintf(out, len, "%u.%u.%u.%u.%s", b[15], b[14], b[13], b[12], zone);
		return n < 0 || (size_t)n >= len ? -1 : 0;
	}
	if (len < 64 + strlen(zone) + 1)
		return -1;
	for (int i = 15; i >= 0; i--) {
		static const char hex[] = "0123456789abcdef";
		out[o++] = hex[b[i] & 0x0f];
		out[o++] = '.';
		out[o++] = hex[b[i] >> 4];
		out[o++] = '.';
	}
	memcpy(out + o, zone, strlen(zone) + 1);
	return 0;
}

int
dnsbl_domain_ok(const char *s)
{
	size_t total = strlen(s), label = 0;

	if (total == 0 || total > 253 || s[0] == '.' || s[total - 1] == '.' || !strchr(s, '.'))
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return 0;
		if ((label == 0 && *p == '-') || ++label > 63)
			return 0;
	}
	return 1;
}

int
dnsbl_name_domain(const char *domain, const char *zone, char *out, size_t len)
{
	int n;

	if (!dnsbl_domain_ok(domain))
		return -1;
	n = snprintf(out, len, "%s.%s", domain, zone);
	if (n < 0 || (size_t)n >= len || n > 253)
		return -1;
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

/* Errors every list may answer, whatever its code table says; NULL if ADDR is none. */
static const char *
answer_error(const struct dnsbl_list *l, uint32_t a)
{
	if ((a >> 24) != 127)
		return "an address outside 127.0.0.0/8: the resolver rewrites answers (hijacking "
		       "NXDOMAIN?)";
	switch (a) {
	case A(127, 255, 255, 252):
		return "typing error in the zone name";
	case A(127, 255, 255, 254):
		return "you are querying through a public or open resolver";
	case A(127, 255, 255, 255):
		return "excessive number of queries: rate-limited";
	case A(127, 0, 1, 255):
		return "IP address queried on a domain list";
	}
	if ((a & 0xffffff00) == A(127, 255, 255, 0))
		return "error code (127.255.255.0/24: check the zone name or the access key)";
	if (l->bitmask && a == A(127, 0, 0, 1))
		return "query refused by the list (127.0.0.1)";
	return NULL;
}

/* Append MEANING to DETAIL ("a, b"), once. */
static void
detail_add(char *detail, size_t len, const char *meaning)
{
	size_t o = strlen(detail), m = strlen(meaning);
	const char *p = detail;

	while ((p = strstr(p, meaning)) != NULL) {
		if ((p == detail || p[-1] == ' ') && (p[m] == '\0' || p[m] == ','))
			return;
		p += m;
	}
	snprintf(detail + o, len - o, "%s%s", o ? ", " : "", meaning);
}

int
dnsbl_interpret(const struct dnsbl_list *l, const uint32_t *addrs, size_t n, char *detail,
		size_t len)
{
	int listed = 0;

	detail[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *err = answer_error(l, addrs[i]);
		if (err) {
			struct in_addr ia = {htonl(addrs[i])};
			char ip[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &ia, ip, sizeof(ip));
			snprintf(detail, len, "answers %s: %s", ip, err);
			return DNSBL_FAILED;
		}
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t a = addrs[i];
		if (l->ncodes == 0 && a != A(127, 0, 0, 1) && (a & 0xff) != 0xff) {
			detail_add(detail, len, "listed");
			listed = 1;
		}
		for (size_t k = 0; k < l->ncodes; k++) {
			const struct dnsbl_code *c = &l->codes[k];
			int hit = l->bitmask ? (a & 0xffffff00) == A(127, 0, 0, 0) && (a & c->first)
					     : a >= c->first && a <= c->last;
			if (hit) {
				detail_add(detail, len, c->meaning);
				listed = 1;
			}
		}
	}
	return listed ? DNSBL_LISTED : DNSBL_NOT_LISTED;
}

/* "127.0.0.4" -> host-order address; "7" after a range dash -> same prefix, last octet 7. */
static int
code_addr(const char *s, uint32_t prefix_from, int short_ok, uint32_t *a)
{
	struct in_addr ia;
	char *end;
	long v;

	if (inet_pton(AF_INET, s, &ia) == 1) {
		*a = ntohl(ia.s_addr);
		return 0;
	}
	if (!short_ok || *s == '\0')
		return -1;
	v = strtol(s, &end, 10);
	if (*end || v < 0 || v > 255)
		return -1;
	*a = (prefix_from & 0xffffff00) | (uint32_t)v;
	return 0;
}

int
dnsbl_code_parse(const char *s, int bitmask, struct dnsbl_code *c)
{
	const char *eq = strchr(s, '=');
	char key[64], *dash;
	long v;

	if (eq == NULL || eq == s || eq[1] == '\0' || (size_t)(eq - s) >= sizeof(key))
		return -1;
	memcpy(key, s, (size_t)(eq - s));
	key[eq - s] = '\0';
	if (bitmask) {
		char *end;
		v = strtol(key, &end, 10);
		if (*end || v < 1 || v > 128 || (v & (v - 1)))
			return -1;
		c->first = c->last = (uint32_t)v;
	} else {
		if ((dash = strchr(key, '-')) != NULL)
			*dash = '\0';
		if (code_addr(key, 0, 0, &c->first) < 0)
			return -1;
		c->last = c->first;
		if (dash && (code_addr(dash + 1, c->first, 1, &c->last) < 0 || c->last < c->first))
			return -1;
	}
	c->meaning = xstrdup(eq + 1);
	return 0;
}

const char *
dnsbl_query_name(int query)
{
	static const char *const names[] = {"client", "sender_domain", "from_domain"};

	return query >= 0 && query <= DNSBL_Q_FROM_DOMAIN ? names[query] : "?";
}

const char *
dnsbl_action_name(int action)
{
	static const char *const names[] = {"tempfail", "reject", "review", "log"};

	return action >= 0 && action <= DNSBL_A_LOG ? names[action] : "?";
}

const char *
dnsbl_state_name(int state)
{
	static const char *const names[] = {"not_listed", "listed", "failed", "skipped"};

	return state >= 0 && state <= DNSBL_SKIPPED ? names[state] : "?";
}
