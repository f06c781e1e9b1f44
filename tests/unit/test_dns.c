/* test_dns -- blocklist names and codes, MX helpers, the answer cache, decide's DNS steps. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ares.h>
#include <arpa/nameser.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "decide/decide.h"
#include "dns/dns_cache.h"
#include "dns/dns_check.h"
#include "dns/dns_facts.h"
#include "dns/dnsbl.h"
#include "dns/mx.h"
#include "feedback/ipwatch.h"
#include "store/records.h"

#define A(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((c) << 8) | (d))

static void
test_query_names(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"192.0.2.99", "99.2.0.192.zen.test"},
	    {"2001:db8::1",
	     "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.test"},
	    {"::ffff:192.0.2.7", "7.2.0.192.zen.test"}, /* v4-mapped: asked as IPv4 */
	    {"2001:DB8::ABCD",
	     "d.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.test"},
	};
	char out[DNSBL_NAME_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(dnsbl_name_addr(cases[i].in, "zen.test", out, sizeof(out)), 0);
		assert_string_equal(out, cases[i].want);
	}
	assert_int_equal(dnsbl_name_addr("example.test", "zen.test", out, sizeof(out)), -1);
	assert_int_equal(dnsbl_name_addr("192.0.2.300", "zen.test", out, sizeof(out)), -1);
	assert_int_equal(dnsbl_name_addr("2001:db8::1", "zen.test", out, 20), -1); /* too long */
	assert_int_equal(dnsbl_name_domain("Spammy.TEST", "dbl.test", out, sizeof(out)), 0);
	assert_string_equal(out, "spammy.test.dbl.test");
	assert_int_equal(dnsbl_name_domain("a..b", "dbl.test", out, sizeof(out)), -1);
}

static void
test_domain_ok(void **state)
{
	static const char *const good[] = {"a.test", "mail-1.example.test", "x_y.test",
					   "xn--bcher-kva.test"};
	static const char *const bad[] = {"",	      "test",	 ".a.test", "a.test.",
					  "a..test",  "-a.test", "a-.test", "[192.0.2.1]",
					  "a b.test", "a@b.test"};
	char long_label[80];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(dnsbl_domain_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(dnsbl_domain_ok(bad[i]));
	memset(long_label, 'a', 64);
	strcpy(long_label + 64, ".test");
	assert_false(dnsbl_domain_ok(long_label)); /* a 64-character label */
}

static struct dnsbl_code zen_codes[] = {
    {A(127, 0, 0, 2), A(127, 0, 0, 3), "SBL"},
    {A(127, 0, 0, 4), A(127, 0, 0, 7), "XBL"},
    {A(127, 0, 0, 10), A(127, 0, 0, 11), "PBL"},
};
static const struct dnsbl_list zen = {"zen", "zen.test", DNSBL_Q_CLIENT, DNSBL_A_REJECT,
				      0,     0,		 zen_codes,	 3};
static struct dnsbl_code bits[] = {{2, 2, "black"}, {4, 4, "grey"}, {8, 8, "red"}};
static const struct dnsbl_list uribl = {
    "uribl", "uribl.test", DNSBL_Q_SENDER_DOMAIN, DNSBL_A_LOG, 0, 1, bits, 3};
static const struct dnsbl_list plain = {"any", "any.test", DNSBL_Q_CLIENT, DNSBL_A_TEMPFAIL,
					0,     0,	   NULL,	   0};

static void
test_interpret_codes(void **state)
{
	static const struct {
		const struct dnsbl_list *l;
		uint32_t a[3];
		size_t n;
		int want;
		const char *detail;
	} cases[] = {
	    {&zen, {A(127, 0, 0, 2)}, 1, DNSBL_LISTED, "SBL"},
	    {&zen,
	     {A(127, 0, 0, 4), A(127, 0, 0, 2), A(127, 0, 0, 3)},
	     3,
	     DNSBL_LISTED,
	     "XBL, SBL"},
	    {&zen, {A(127, 0, 0, 11)}, 1, DNSBL_LISTED, "PBL"},
	    {&zen, {A(127, 0, 0, 30)}, 1, DNSBL_NOT_LISTED, ""}, /* a code not configured */
	    {&zen, {0}, 0, DNSBL_NOT_LISTED, ""},
	    {&zen,
	     {A(127, 255, 255, 254)},
	     1,
	     DNSBL_FAILED,
	     "answers 127.255.255.254: you are querying through a public or open resolver"},
	    {&zen,
	     {A(127, 0, 0, 2), A(127, 255, 255, 252)},
	     2,
	     DNSBL_FAILED,
	     "answers 127.255.255.252: typing error in the zone name"},
	    {&zen,
	     {A(127, 255, 255, 255)},
	     1,
	     DNSBL_FAILED,
	     "answers 127.255.255.255: excessive number of queries: rate-limited"},
	    {&zen,
	     {A(127, 255, 255, 250)},
	     1,
	     DNSBL_FAILED,
	     "answers 127.255.255.250: error code (127.255.255.0/24: check the zone name or the "
	     "access key)"},
	    {&zen,
	     {A(127, 0, 1, 255)},
	     1,
	     DNSBL_FAILED,
	     "answers 127.0.1.255: IP address queried on a domain list"},
	    {&zen,
	     {A(198, 51, 100, 1)},
	     1,
	     DNSBL_FAILED,
	     "answers 198.51.100.1: an address outside 127.0.0.0/8: the resolver rewrites answers "
	     "(hijacking NXDOMAIN?)"},
	    {&uribl, {A(127, 0, 0, 14)}, 1, DNSBL_LISTED, "black, grey, red"},
	    {&uribl, {A(127, 0, 0, 4)}, 1, DNSBL_LISTED, "grey"},
	    {&uribl, {A(127, 0, 0, 16)}, 1, DNSBL_NOT_LISTED, ""},
	    {&uribl,
	     {A(127, 0, 0, 1)},
	     1,
	     DNSBL_FAILED,
	     "answers 127.0.0.1: query refused by the list (127.0.0.1)"},
	    {&plain, {A(127, 0, 0, 2)}, 1, DNSBL_LISTED, "listed"},
	    {&plain, {A(127, 0, 0, 2), A(127, 0, 0, 4)}, 2, DNSBL_LISTED, "listed"},
	};
	char detail[200];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got =
		    dnsbl_interpret(cases[i].l, cases[i].a, cases[i].n, detail, sizeof(detail));
		if (got != cases[i].want || strcmp(detail, cases[i].detail) != 0)
			fail_msg("case %zu: got %s \"%s\", want %s \"%s\"", i,
				 dnsbl_state_name(got), detail, dnsbl_state_name(cases[i].want),
				 cases[i].detail);
	}
}

static void
test_code_parse(void **state)
{
	struct dnsbl_code c;

	(void)state;
	assert_int_equal(dnsbl_code_parse("127.0.0.2=SBL", 0, &c), 0);
	assert_int_equal(c.first, A(127, 0, 0, 2));
	assert_int_equal(c.last, A(127, 0, 0, 2));
	assert_string_equal(c.meaning, "SBL");
	free(c.meaning);
	assert_int_equal(dnsbl_code_parse("127.0.0.4-7=XBL", 0, &c), 0);
	assert_int_equal(c.last, A(127, 0, 0, 7));
	free(c.meaning);
	assert_int_equal(dnsbl_code_parse("127.0.1.102-127.0.1.106=abused legit", 0, &c), 0);
	assert_int_equal(c.first, A(127, 0, 1, 102));
	assert_int_equal(c.last, A(127, 0, 1, 106));
	assert_string_equal(c.meaning, "abused legit");
	free(c.meaning);
	assert_int_equal(dnsbl_code_parse("8=red", 1, &c), 0);
	assert_int_equal(c.first, 8);
	free(c.meaning);
	assert_int_equal(dnsbl_code_parse("127.0.0.7-4=XBL", 0, &c), -1);
	assert_int_equal(dnsbl_code_parse("127.0.0.x=XBL", 0, &c), -1);
	assert_int_equal(dnsbl_code_parse("127.0.0.2", 0, &c), -1);
	assert_int_equal(dnsbl_code_parse("127.0.0.2=", 0, &c), -1);
	assert_int_equal(dnsbl_code_parse("6=two bits", 1, &c), -1);
	assert_int_equal(dnsbl_code_parse("256=big", 1, &c), -1);
}

/* A DNS message: header, one question, answers with the given TTLs. */
static size_t
message(unsigned char *b, const uint32_t *ttls, int n)
{
	static const unsigned char q[] = {2, 'b', 'l', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};
	size_t o = 12;

	memset(b, 0, 12);
	b[5] = 1;
	b[7] = (unsigned char)n;
	memcpy(b + o, q, sizeof(q));
	o += sizeof(q);
	for (int i = 0; i < n; i++) {
		const unsigned char rr[] = {0xc0,
					    12,
					    0,
					    1,
					    0,
					    1,
					    (unsigned char)(ttls[i] >> 24),
					    (unsigned char)(ttls[i] >> 16),
					    (unsigned char)(ttls[i] >> 8),
					    (unsigned char)ttls[i],
					    0,
					    4,
					    127,
					    0,
					    0,
					    2};
		memcpy(b + o, rr, sizeof(rr));
		o += sizeof(rr);
	}
	return o;
}

static void
test_answer_ttl(void **state)
{
	unsigned char b[512];
	uint32_t t1[] = {300, 60, 3600}, t2[] = {0x80000001u};
	size_t n;

	(void)state;
	n = message(b, t1, 3);
	assert_int_equal(dns_answer_min_ttl(b, (int)n), 60);
	assert_int_equal(dns_answer_min_ttl(b, (int)n - 1), -1); /* truncated */
	n = message(b, t2, 1);
	assert_int_equal(dns_answer_min_ttl(b, (int)n), 0); /* top bit set: zero */
	n = message(b, NULL, 0);
	assert_int_equal(dns_answer_min_ttl(b, (int)n), -1);
	assert_int_equal(dns_answer_min_ttl(NULL, 0), -1);
}

/* An MX reply for x.test: (preference, host) pairs; "" is the root (null MX). */
static size_t
mx_message(unsigned char *b, const int *prefs, const char *const *hosts, int n)
{
	static const unsigned char q[] = {1, 'x', 4, 't', 'e', 's', 't', 0, 0, 15, 0, 1};
	size_t o = 12;

	memset(b, 0, 12);
	b[5] = 1;
	b[7] = (unsigned char)n;
	memcpy(b + o, q, sizeof(q));
	o += sizeof(q);
	for (int i = 0; i < n; i++) {
		const unsigned char rr[] = {0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60};
		size_t rd = o + sizeof(rr), p = rd + 4;
		memcpy(b + o, rr, sizeof(rr));
		b[rd + 2] = (unsigned char)(prefs[i] >> 8);
		b[rd + 3] = (unsigned char)prefs[i];
		for (const char *h = hosts[i]; *h;) { /* labels of the host name */
			size_t l = strcspn(h, ".");
			b[p++] = (unsigned char)l;
			memcpy(b + p, h, l);
			p += l;
			h += l + (h[l] == '.');
		}
		b[p++] = 0;
		b[rd] = (unsigned char)((p - rd - 2) >> 8);
		b[rd + 1] = (unsigned char)(p - rd - 2);
		o = p;
	}
	return o;
}

static void
test_answer_parse(void **state)
{
	static const char *const hosts[] = {"mx2.x.test", "mx1.x.test", ""};
	static const int prefs[] = {20, 10, 0};
	uint32_t ttls[10] = {60, 60, 60, 60, 60, 60, 60, 60, 60, 60};
	unsigned char b[1024];
	struct dns_answer a;
	size_t n;

	(void)state;
	n = message(b, ttls, 2);
	dns_answer_parse(ns_t_a, ARES_SUCCESS, b, (int)n, &a);
	assert_int_equal(a.status, ARES_SUCCESS);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.addr[0], A(127, 0, 0, 2));
	assert_int_equal(a.flags, 0);
	n = message(b, ttls, 10); /* more than fit: a prefix, marked */
	dns_answer_parse(ns_t_a, ARES_SUCCESS, b, (int)n, &a);
	assert_int_equal(a.n, DNS_ANSWER_ADDRS);
	assert_true(a.flags & DNS_ANSWER_TRUNCATED);
	n = message(b, ttls, 0); /* NOERROR, nothing of the type */
	dns_answer_parse(ns_t_a, ARES_SUCCESS, b, (int)n, &a);
	assert_int_equal(a.status, ARES_ENODATA);
	dns_answer_parse(ns_t_a, ARES_SUCCESS, b, 5, &a); /* cut short */
	assert_int_equal(a.status, ARES_EBADRESP);
	dns_answer_parse(ns_t_mx, ARES_ETIMEOUT, NULL, 0, &a);
	assert_int_equal(a.status, ARES_ETIMEOUT);
	/* MX: by preference, not answer order; a null MX anywhere wins. */
	n = mx_message(b, prefs, hosts, 2);
	dns_answer_parse(ns_t_mx, ARES_SUCCESS, b, (int)n, &a);
	assert_int_equal(a.status, ARES_SUCCESS);
	assert_int_equal(a.n, 2);
	assert_string_equal(dns_answer_host(&a, 0), "mx1.x.test");
	assert_string_equal(dns_answer_host(&a, 1), "mx2.x.test");
	n = mx_message(b, prefs + 2, hosts + 2, 1);
	dns_answer_parse(ns_t_mx, ARES_SUCCESS, b, (int)n, &a);
	assert_int_equal(a.status, ARES_SUCCESS);
	assert_true(a.flags & DNS_ANSWER_NULLMX);
	assert_int_equal(a.n, 0);
}

static struct dns_answer
answer(int status, uint32_t addr)
{
	struct dns_answer a = {0};

	a.status = status;
	a.n = addr ? 1 : 0;
	a.addr[0] = addr;
	return a;
}

static void
test_cache(void **state)
{
	struct dns_cache *c = dns_cache_create(4);
	struct dns_answer a = answer(ARES_SUCCESS, A(127, 0, 0, 2)), nx = answer(ARES_ENOTFOUND, 0),
			  got;
	size_t n;
	uint64_t hits, misses;

	(void)state;
	assert_non_null(c);
	assert_int_equal(dns_cache_capacity(c), 4);
	dns_cache_put(c, 1, "2.0.0.127.Zen.Test", &a, 60, 1000); /* at 1 s, for 60 s */
	assert_int_equal(dns_cache_get(c, 1, "2.0.0.127.zen.test", 60999, &got), 1);
	assert_int_equal(got.status, ARES_SUCCESS);
	assert_int_equal(got.addr[0], A(127, 0, 0, 2));
	assert_int_equal(dns_cache_get(c, 1, "2.0.0.127.zen.test", 61000, &got), 0);
	assert_int_equal(dns_cache_get(c, 15, "2.0.0.127.zen.test", 1000, &got), 0);
	dns_cache_put(c, 15, "nx.test", &nx, 300, 1000); /* NXDOMAIN */
	assert_int_equal(dns_cache_get(c, 15, "nx.test", 1200, &got), 1);
	assert_int_equal(got.status, ARES_ENOTFOUND);
	dns_cache_put(c, 1, "zero.test", &a, 0, 1000); /* TTL 0: not kept */
	assert_int_equal(dns_cache_get(c, 1, "zero.test", 1000, &got), 0);
	got = answer(ARES_ETIMEOUT, 0); /* a failure: never kept */
	dns_cache_put(c, 1, "fail.test", &got, 60, 1000);
	assert_int_equal(dns_cache_get(c, 1, "fail.test", 1000, &got), 0);
	/* Full: the entry that expires first goes, the table never exceeds its size. */
	for (int i = 0; i < 20; i++) {
		char name[32];
		snprintf(name, sizeof(name), "n%d.test", i);
		dns_cache_put(c, 1, name, &a, 3600 - (uint32_t)i, 2000);
	}
	dns_cache_put(c, 1, "long.test", &a, 7200, 2000);
	dns_cache_put(c, 1, "new.test", &a, 60, 2000);
	dns_cache_counts(c, &n, &hits, &misses);
	assert_true(n <= 4);
	assert_int_equal(dns_cache_get(c, 1, "new.test", 2020, &got), 1);
	assert_int_equal(dns_cache_get(c, 1, "long.test", 2020, &got), 1);
	dns_cache_destroy(c);
}

/* What one process stores, a process forked before is answered from. */
static void
test_cache_shared(void **state)
{
	struct dns_cache *c = dns_cache_create(1024);
	struct dns_answer a = answer(ARES_SUCCESS, A(127, 0, 0, 4)), got;
	int64_t now = 5000;
	int st;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dns_cache_put(c, 1, "4.2.0.192.bl.test", &a, 60, now);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(dns_cache_get(c, 1, "4.2.0.192.bl.test", now + 1, &got), 1);
	assert_int_equal(got.addr[0], A(127, 0, 0, 4));
	dns_cache_destroy(c);
}

static void
test_mx_helpers(void **state)
{
	struct ares_mx_reply m3 = {NULL, "c.test", 30}, m2 = {&m3, "a.test", 10},
			     m1 = {&m2, "b.test", 20}, m0 = {&m1, "A.test", 10},
			     null = {NULL, "", 0};
	char hosts[MX_HOSTS_MAX][MX_HOST_LEN];
	int s1[] = {ADDR_NONE, ADDR_NONE, ADDR_HAS}, s2[] = {ADDR_NONE, ADDR_FAILED},
	    s3[] = {ADDR_NONE, ADDR_NONE}, s4[] = {ADDR_PENDING, ADDR_NONE};

	(void)state;
	assert_true(mx_is_null(&null));
	assert_false(mx_is_null(&m0));
	assert_int_equal(mx_sorted_hosts(&m1, hosts, MX_HOSTS_MAX), 3);
	assert_string_equal(hosts[0], "a.test");
	assert_string_equal(hosts[1], "b.test");
	assert_string_equal(hosts[2], "c.test");
	assert_int_equal(mx_sorted_hosts(&m0, hosts, 2), 2); /* A.test = a.test: once */
	assert_string_equal(hosts[0], "A.test");
	assert_string_equal(hosts[1], "b.test");
	assert_int_equal(mx_addr_verdict(s1, 3, DOMAIN_BADMX), DOMAIN_OK);
	assert_int_equal(mx_addr_verdict(s2, 2, DOMAIN_BADMX), DOMAIN_TRANSIENT);
	assert_int_equal(mx_addr_verdict(s3, 2, DOMAIN_NOMAIL), DOMAIN_NOMAIL);
	assert_int_equal(mx_addr_verdict(s4, 2, DOMAIN_BADMX), DOMAIN_TRANSIENT);
}

/* decide_dns() alone: the order and the replies of steps 4 and 5. */
static void
test_decide_dns(void **state)
{
	struct conf conf = {0};
	struct dns_facts df = {0};
	struct facts f = {0};
	struct verdict v;

	(void)state;
	f.stage = STAGE_RCPT;
	f.recipient = "u@nx.test";
	f.dns = &df;
	df.nlists = 2;
	df.lists[0] = (struct dns_list_result){&uribl, DNSBL_LISTED, "x.test", "black"};
	df.lists[1] = (struct dns_list_result){&zen, DNSBL_FAILED, "192.0.2.254", "answers ..."};
	df.domain_state = DOMAIN_NXDOMAIN;
	strcpy(df.domain, "nx.test");
	/* uribl only logs, zen failed open: the domain decides. */
	memset(&v, 0, sizeof(v));
	decide_dns(&conf, &f, &v);
	assert_int_equal(v.kind, VK_REJECT);
	assert_string_equal(v.code, "550");
	assert_string_equal(v.dsn, "5.1.2");
	assert_string_equal(v.rule, "recipient_domain");
	/* Fail closed: the failed list tempfails before the domain is looked at. */
	conf.dns.fail = DNS_FAIL_CLOSED;
	memset(&v, 0, sizeof(v));
	decide_dns(&conf, &f, &v);
	assert_int_equal(v.kind, VK_TEMPFAIL);
	assert_string_equal(v.dsn, "4.4.3");
	/* A refusing listing wins over everything after it. */
	df.lists[1] = (struct dns_list_result){&zen, DNSBL_LISTED, "192.0.2.2", "SBL"};
	memset(&v, 0, sizeof(v));
	decide_dns(&conf, &f, &v);
	assert_int_equal(v.kind, VK_REJECT);
	assert_string_equal(v.text, "Client address 192.0.2.2 is listed on zen (SBL)");
	/* Null MX; and a transient domain never refuses. */
	df.nlists = 0;
	df.domain_state = DOMAIN_NULLMX;
	memset(&v, 0, sizeof(v));
	decide_dns(&conf, &f, &v);
	assert_string_equal(v.code, "556");
	assert_string_equal(v.dsn, "5.1.10");
	df.domain_state = DOMAIN_TRANSIENT;
	memset(&v, 0, sizeof(v));
	decide_dns(&conf, &f, &v);
	assert_int_equal(v.kind, VK_PASS);
	/* At MAIL the domain is not judged. */
	f.stage = STAGE_MAIL;
	df.domain_state = DOMAIN_NXDOMAIN;
	memset(&v, 0, sizeof(v));
	decide_dns(&conf, &f, &v);
	assert_int_equal(v.kind, VK_PASS);
}

static const struct dnsbl_list dbl_from = {
    "dbl-from", "dbl.test", DNSBL_Q_FROM_DOMAIN, DNSBL_A_TEMPFAIL, 0, 0, NULL, 0};

/*
 * Which lists a request asks: a from_domain list only with a From: domain
 * (the milter's end of headers, outpostctl), never for a policy request; at
 * end of headers only the from_domain lists.
 */
static void
test_plan_from_domain(void **state)
{
	struct dnsbl_list lists[3] = {zen, uribl, dbl_from};
	struct conf conf = {0};
	struct dns_facts df;
	struct facts f = {0};

	(void)state;
	conf.dnsbl.v = lists;
	conf.dnsbl.n = 3;
	f.sasl_username = "";
	f.client_address = "192.0.2.2";
	f.sender = "x@Sender.test";
	/* A policy request (MAIL, RCPT): no headers, the from_domain list is skipped. */
	f.stage = STAGE_MAIL;
	assert_int_equal(dns_check_plan(&conf, &f, &df), 2);
	assert_int_equal(df.lists[0].state, DNSBL_NOT_LISTED);
	assert_string_equal(df.lists[1].asked, "sender.test");
	assert_int_equal(df.lists[2].state, DNSBL_SKIPPED);
	assert_string_equal(df.lists[2].asked, "");
	/* The milter at end of headers: only the From: domain, lower-cased. */
	f.stage = STAGE_EOH;
	f.from_domain = "Brand.TEST";
	assert_int_equal(dns_check_plan(&conf, &f, &df), 1);
	assert_int_equal(df.lists[0].state, DNSBL_SKIPPED);
	assert_int_equal(df.lists[1].state, DNSBL_SKIPPED);
	assert_int_equal(df.lists[2].state, DNSBL_NOT_LISTED);
	assert_string_equal(df.lists[2].asked, "brand.test");
	/* No usable From: domain: nothing to ask. */
	f.from_domain = "localhost";
	assert_int_equal(dns_check_plan(&conf, &f, &df), 0);
	f.from_domain = NULL;
	assert_int_equal(dns_check_plan(&conf, &f, &df), 0);
	/* outpostctl dnsbl check DOMAIN: a MAIL with both. */
	f.stage = STAGE_MAIL;
	f.from_domain = "brand.test";
	assert_int_equal(dns_check_plan(&conf, &f, &df), 3);
	/* The reply names the From: domain. */
	struct verdict v = {0};
	df.nlists = 3;
	df.lists[0].state = df.lists[1].state = DNSBL_NOT_LISTED;
	df.lists[2].state = DNSBL_LISTED;
	strcpy(df.lists[2].detail, "spam domain");
	f.stage = STAGE_EOH;
	f.dns = &df;
	decide_dns(&conf, &f, &v);
	assert_int_equal(v.kind, VK_TEMPFAIL);
	assert_string_equal(v.code, "450");
	assert_string_equal(v.text, "From domain brand.test is listed on dbl-from (spam domain)");
}

/* The monitor of our own addresses: which answer after which is an event, and the record. */
static void
test_ipwatch_judge(void **state)
{
	static const struct {
		int has_prev, prev_state;
		const char *prev_codes;
		int state;
		const char *codes, *event;
		int want_state, since_moves;
	} cases[] = {
	    {0, 0, "", DNSBL_NOT_LISTED, "", NULL, DNSBL_NOT_LISTED, 1},
	    {0, 0, "", DNSBL_LISTED, "127.0.0.2", "listing", DNSBL_LISTED, 1},
	    {0, 0, "", DNSBL_FAILED, "", NULL, DNSBL_FAILED, 1},
	    {1, DNSBL_FAILED, "", DNSBL_NOT_LISTED, "", NULL, DNSBL_NOT_LISTED, 1},
	    {1, DNSBL_NOT_LISTED, "", DNSBL_NOT_LISTED, "", NULL, DNSBL_NOT_LISTED, 0},
	    {1, DNSBL_NOT_LISTED, "", DNSBL_LISTED, "127.0.0.2", "listing", DNSBL_LISTED, 1},
	    {1, DNSBL_LISTED, "127.0.0.2", DNSBL_LISTED, "127.0.0.2", NULL, DNSBL_LISTED, 0},
	    {1, DNSBL_LISTED, "127.0.0.2", DNSBL_LISTED, "127.0.0.2 127.0.0.4", "listing",
	     DNSBL_LISTED, 1},
	    {1, DNSBL_LISTED, "127.0.0.2", DNSBL_NOT_LISTED, "", "delisting", DNSBL_NOT_LISTED, 1},
	    /* a failure is never a delisting: the listing stays */
	    {1, DNSBL_LISTED, "127.0.0.2", DNSBL_FAILED, "", NULL, DNSBL_LISTED, 0},
	};
	uint8_t buf[RECORD_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dnsbl_watch_rec prev = {.state = (uint8_t)cases[i].prev_state, .since = 100},
				       next, back;
		const char *ev;
		size_t n;
		snprintf(prev.codes, sizeof(prev.codes), "%s", cases[i].prev_codes);
		ev = ipwatch_judge(cases[i].has_prev ? &prev : NULL, cases[i].state, cases[i].codes,
				   cases[i].state == DNSBL_FAILED ? "timeout" : "SBL", 200, &next);
		if (cases[i].event == NULL)
			assert_null(ev);
		else
			assert_string_equal(ev, cases[i].event);
		assert_int_equal(next.state, cases[i].want_state);
		assert_int_equal(next.since,
				 cases[i].since_moves || !cases[i].has_prev ? 200 : 100);
		assert_int_equal(next.checked, 200);
		assert_int_equal(next.failing_since, cases[i].state == DNSBL_FAILED ? 200 : 0);
		n = rec_dnsbl_watch_encode(&next, buf, sizeof(buf));
		assert_true(n > 0);
		assert_int_equal(rec_dnsbl_watch_decode(buf, n, &back), 0);
		assert_int_equal(back.state, next.state);
		assert_int_equal(back.since, next.since);
		assert_int_equal(back.failing_since, next.failing_since);
		assert_string_equal(back.codes, next.codes);
		assert_string_equal(back.meaning, next.meaning);
		assert_string_equal(back.error, next.error);
		assert_int_equal(rec_dnsbl_watch_decode(buf, n - 1, &back), -1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_query_names),	    cmocka_unit_test(test_domain_ok),
	    cmocka_unit_test(test_interpret_codes), cmocka_unit_test(test_code_parse),
	    cmocka_unit_test(test_answer_ttl),	    cmocka_unit_test(test_answer_parse),
	    cmocka_unit_test(test_cache),	    cmocka_unit_test(test_cache_shared),
	    cmocka_unit_test(test_mx_helpers),	    cmocka_unit_test(test_decide_dns),
	    cmocka_unit_test(test_ipwatch_judge),   cmocka_unit_test(test_plan_from_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
