/* answer -- a reply boiled down to what the checks read; see answer.h. */
#include "config.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <string.h>

#include "answer.h"
#include "dns/mx.h"

/* A: the addresses, in answer order. */
static int
parse_a(const unsigned char *abuf, int alen, struct dns_answer *out)
{
	struct ares_addrttl t[DNS_ANSWER_ADDRS + 1];
	int n = DNS_ANSWER_ADDRS + 1, rc = ares_parse_a_reply(abuf, alen, NULL, t, &n);

	if (rc != ARES_SUCCESS)
		return rc;
	if (n > DNS_ANSWER_ADDRS) {
		n = DNS_ANSWER_ADDRS;
		out->flags |= DNS_ANSWER_TRUNCATED;
	}
	for (int i = 0; i < n; i++)
		out->addr[i] = ntohl(t[i].ipaddr.s_addr);
	out->n = (uint16_t)n;
	return n > 0 ? ARES_SUCCESS : ARES_ENODATA;
}

/* AAAA: only whether there is any address. */
static int
parse_aaaa(const unsigned char *abuf, int alen, struct dns_answer *out)
{
	struct ares_addr6ttl t[DNS_ANSWER_ADDRS];
	int n = DNS_ANSWER_ADDRS, rc = ares_parse_aaaa_reply(abuf, alen, NULL, t, &n);

	if (rc != ARES_SUCCESS)
		return rc;
	out->n = (uint16_t)n;
	return n > 0 ? ARES_SUCCESS : ARES_ENODATA;
}

/* MX: null MX, or the hosts by preference, as many as fit. */
static int
parse_mx(const unsigned char *abuf, int alen, struct dns_answer *out)
{
	char hosts[MX_HOSTS_MAX][MX_HOST_LEN];
	struct ares_mx_reply *mx = NULL;
	int rc = ares_parse_mx_reply(abuf, alen, &mx);
	size_t n, off = 0;

	if (rc != ARES_SUCCESS)
		goto out;
	if (mx == NULL) {
		rc = ARES_ENODATA;
		goto out;
	}
	if (mx_is_null(mx)) {
		out->flags |= DNS_ANSWER_NULLMX;
		goto out;
	}
	n = mx_sorted_hosts(mx, hosts, MX_HOSTS_MAX);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(hosts[i]) + 1;
		if (off + len > sizeof(out->hosts)) {
			out->flags |= DNS_ANSWER_TRUNCATED;
			break;
		}
		memcpy(out->hosts + off, hosts[i], len);
		off += len;
		out->n++;
	}
out:
	ares_free_data(mx);
	return rc;
}

void
dns_answer_parse(int type, int status, const unsigned char *abuf, int alen, struct dns_answer *out)
{
	memset(out, 0, sizeof(*out));
	out->status = status;
	if (status != ARES_SUCCESS)
		return;
	if (abuf == NULL || alen <= 0)
		status = ARES_EBADRESP;
	else if (type == ns_t_a)
		status = parse_a(abuf, alen, out);
	else if (type == ns_t_aaaa)
		status = parse_aaaa(abuf, alen, out);
	else if (type == ns_t_mx)
		status = parse_mx(abuf, alen, out);
	else
		status = ARES_ENOTIMP;
	if (status != ARES_SUCCESS && status != ARES_ENODATA)
		status = ARES_EBADRESP;
	if (status != ARES_SUCCESS)
		memset(out, 0, sizeof(*out));
	out->status = status;
}

const char *
dns_answer_host(const struct dns_answer *a, unsigned i)
{
	const char *p = a->hosts;

	while (i-- > 0)
		p += strlen(p) + 1;
	return p;
}

/* Skip the (possibly compressed) name at OFF; the offset after it, or -1. */
static int
skip_name(const unsigned char *b, int len, int off)
{
	while (off < len) {
		unsigned l = b[off];
		if (l == 0)
			return off + 1;
		if ((l & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : -1;
		if (l & 0xc0)
			return -1;
		off += 1 + (int)l;
	}
	return -1;
}

int64_t
dns_answer_min_ttl(const unsigned char *b, int len)
{
	int off = 12, qd, an;
	int64_t min = -1;

	if (b == NULL || len < 12)
		return -1;
	qd = (b[4] << 8) | b[5];
	an = (b[6] << 8) | b[7];
	for (int i = 0; i < qd; i++)
		if ((off = skip_name(b, len, off)) < 0 || (off += 4) > len)
			return -1;
	for (int i = 0; i < an; i++) {
		if ((off = skip_name(b, len, off)) < 0 || off + 10 > len)
			return -1;
		int64_t ttl = ((int64_t)b[off + 4] << 24) | (b[off + 5] << 16) | (b[off + 6] << 8) |
			      b[off + 7];
		int rdlen = (b[off + 8] << 8) | b[off + 9];
		if (ttl & 0x80000000)
			ttl = 0; /* RFC 2181 8: a TTL with the top bit set is zero */
		if (min < 0 || ttl < min)
			min = ttl;
		off += 10 + rdlen;
		if (off > len)
			return -1;
	}
	return min;
}
