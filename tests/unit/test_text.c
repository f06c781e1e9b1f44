/* test_text -- durations, sizes, times (text.h) and addresses, networks (addr.h). */
#include "config.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/addr.h"
#include "util/text.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define BAD INT64_MIN /* "must be refused" in the tables below */

/* ---- durations and sizes ------------------------------------------------ */

static const struct {
	const char *in;
	int64_t want;
} duration_cases[] = {
    {"45s", 45},
    {"90m", 5400},
    {"12h", 43200},
    {"30d", 2592000},
    {"2w", 1209600},
    {"0", 0},
    {"0s", 0},
    {"3600", 3600},
    {"007", 7},
    {"9223372036854775807", INT64_MAX},
    {"", BAD},
    {"s", BAD},
    {"-5", BAD},
    {"+5", BAD},
    {" 5", BAD},
    {"5 ", BAD},
    {"5 s", BAD},
    {"5x", BAD},
    {"5ss", BAD},
    {"5S", BAD},
    {"5M", BAD}, /* minutes are "m"; "M" is a size unit */
    {"1.5h", BAD},
    {"1h30m", BAD},
    {"9223372036854775808", BAD},		/* does not fit int64 */
    {"9223372036854775807m", BAD},		/* overflows when multiplied */
    {"15250284452471w", 9223372036854460800LL}, /* the largest that fits */
    {"15250284452472w", BAD},			/* 15250284452472 * 604800 > INT64_MAX */
};

static void
test_duration_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(duration_cases); i++) {
		int64_t got = -42;
		int rc = text_duration_parse(duration_cases[i].in, &got);

		if (duration_cases[i].want == BAD) {
			if (rc != -1)
				fail_msg("'%s': accepted as %lld", duration_cases[i].in,
					 (long long)got);
		} else if (rc != 0 || got != duration_cases[i].want) {
			fail_msg("'%s': rc %d, got %lld, want %lld", duration_cases[i].in, rc,
				 (long long)got, (long long)duration_cases[i].want);
		}
	}
	assert_int_equal(text_duration_parse(NULL, &(int64_t){0}), -1);
}

static const struct {
	const char *in;
	int64_t want;
} size_cases[] = {
    {"4096", 4096},
    {"0", 0},
    {"1K", 1024},
    {"64K", 65536},
    {"64M", 67108864},
    {"1G", 1073741824},
    {"2T", 2199023255552LL},
    {"", BAD},
    {"K", BAD},
    {"1k", BAD},
    {"1m", BAD},
    {"1KB", BAD},
    {"1.5G", BAD},
    {"-1", BAD},
    {"1 G", BAD},
    {"1P", BAD},
    {"8388608T", BAD}, /* 2^23 TiB = 2^63 bytes: does not fit */
};

static void
test_size_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(size_cases); i++) {
		uint64_t got = 42;
		int rc = text_size_parse(size_cases[i].in, &got);

		if (size_cases[i].want == BAD) {
			if (rc != -1)
				fail_msg("'%s': accepted as %llu", size_cases[i].in,
					 (unsigned long long)got);
		} else if (rc != 0 || got != (uint64_t)size_cases[i].want) {
			fail_msg("'%s': rc %d, got %llu, want %lld", size_cases[i].in, rc,
				 (unsigned long long)got, (long long)size_cases[i].want);
		}
	}
}

/* ---- RFC 3339 times ----------------------------------------------------- */

static const struct {
	const char *in;
	int64_t want;
} time_cases[] = {
    {"2026-11-24T13:05:00Z", 1795525500},
    {"2026-11-24t13:05:00z", 1795525500},
    {"2026-11-24 13:05:00Z", 1795525500},
    {"2026-11-24T13:05:00+00:00", 1795525500},
    {"2026-11-24T13:05:00-00:00", 1795525500},
    {"2026-11-24T13:05:00+02:00", 1795518300}, /* 11:05Z */
    {"2026-11-24T13:05:00-05:30", 1795545300}, /* 18:35Z */
    {"2026-11-24T13:05:00+01:00", 1795521900}, /* 12:05Z */
    {"2026-11-24T13:05:00.123456Z", 1795525500},
    {"2026-11-24T13:05:00.9+01:00", 1795521900},
    {"2026-11-24", 1795478400},
    {"1970-01-01T00:00:00Z", 0},
    {"1970-01-01", 0},
    {"2024-02-29", 1709164800},		  /* a leap day */
    {"2026-12-31T23:59:60Z", 1798761600}, /* a leap second rolls over */
    {"", BAD},
    {"2026", BAD},
    {"2026-11", BAD},
    {"26-11-24", BAD},
    {"2026/11/24", BAD},
    {"2026-1-24", BAD},
    {"2026-11-24x", BAD},
    {"2026-11-24 ", BAD},
    {"2026-11-24T", BAD},
    {"2026-11-24T13:05:00", BAD}, /* no zone */
    {"2026-11-24T13:05Z", BAD},	  /* no seconds */
    {"2026-11-24T13:05:00Zjunk", BAD},
    {"2026-11-24T13:05:00+0200", BAD},
    {"2026-11-24T13:05:00+02", BAD},
    {"2026-11-24T13:05:00 +02:00", BAD},
    {"2026-00-10", BAD},
    {"2026-13-01", BAD},
    {"2026-11-00", BAD},
    {"2026-11-32", BAD},
    {"2026-11-31", BAD}, /* November has 30 days */
    {"2026-02-29", BAD}, /* not a leap year */
    {"2026-02-30T00:00:00Z", BAD},
    {"2100-02-29", BAD}, /* a century, not a leap year */
    {"2026-11-24T24:00:00Z", BAD},
    {"2026-11-24T12:60:00Z", BAD},
    {"2026-11-24T12:00:61Z", BAD},
    {"2026-11-24T12:00:00+24:00", BAD},
    {"2026-11-24T12:00:00+01:60", BAD},
    {"30d", BAD},
};

static void
test_time_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(time_cases); i++) {
		int64_t got = -42;
		int rc = text_time_parse(time_cases[i].in, &got);

		if (time_cases[i].want == BAD) {
			if (rc != -1)
				fail_msg("'%s': accepted as %lld", time_cases[i].in,
					 (long long)got);
		} else if (rc != 0 || got != time_cases[i].want) {
			fail_msg("'%s': rc %d, got %lld, want %lld", time_cases[i].in, rc,
				 (long long)got, (long long)time_cases[i].want);
		}
	}
}

static void
test_expiry(void **state)
{
	const int64_t now = 1795525500;
	int64_t got = 0;

	(void)state;
	assert_int_equal(text_expiry_parse("30d", now, &got), 0);
	assert_int_equal(got, now + 30 * 86400);
	assert_int_equal(text_expiry_parse("90", now, &got), 0);
	assert_int_equal(got, now + 90);
	assert_int_equal(text_expiry_parse("0", now, &got), 0);
	assert_int_equal(got, now);
	assert_int_equal(text_expiry_parse("2027-01-01T00:00:00Z", now, &got), 0);
	assert_int_equal(got, 1798761600);
	assert_int_equal(text_expiry_parse("2027-01-01", now, &got), 0);
	assert_int_equal(got, 1798761600);
	got = 7;
	assert_int_equal(text_expiry_parse("soon", now, &got), -1);
	assert_int_equal(text_expiry_parse("-1d", now, &got), -1);
	assert_int_equal(text_expiry_parse("", now, &got), -1);
	assert_int_equal(text_expiry_parse("2027-02-30", now, &got), -1);
	/* Expiries stay within what RFC 3339 can write (up to 9999-12-31T23:59:59Z). */
	assert_int_equal(text_expiry_parse("9999-12-31T23:59:59Z", now, &got), 0);
	assert_int_equal(got, 253402300799LL);
	assert_int_equal(text_expiry_parse("2900000d", now, &got), 0);
	assert_int_equal(got, now + 2900000LL * 86400);
	assert_int_equal(text_expiry_parse("3000000d", now, &got), -1); /* past year 9999 */
	assert_int_equal(text_expiry_parse("99999999999999w", now, &got), -1);
	assert_int_equal(text_expiry_parse("1969-12-31T23:59:59Z", now, &got), -1);
}

static void
test_time_format(void **state)
{
	char buf[32];
	int64_t back = 0;

	(void)state;
	assert_string_equal(text_time_format(0, buf, sizeof(buf)), "1970-01-01T00:00:00Z");
	assert_string_equal(text_time_format(1795525500, buf, sizeof(buf)), "2026-11-24T13:05:00Z");
	assert_string_equal(text_time_format(1798761599, buf, sizeof(buf)), "2026-12-31T23:59:59Z");
	/* 21 bytes are enough. */
	char small[21];
	assert_string_equal(text_time_format(1795525500, small, sizeof(small)),
			    "2026-11-24T13:05:00Z");
	/* format -> parse round trip */
	for (int64_t t = 0; t < 4102444800LL; t += 86399 * 37) {
		text_time_format(t, buf, sizeof(buf));
		assert_int_equal(text_time_parse(buf, &back), 0);
		assert_int_equal(back, t);
	}
	assert_string_equal(text_time_format_ms(1234, buf, sizeof(buf)),
			    "1970-01-01T00:00:01.234Z");
	assert_string_equal(text_time_format_ms(1795525500007LL, buf, sizeof(buf)),
			    "2026-11-24T13:05:00.007Z");
	assert_int_equal(text_time_parse(buf, &back), 0);
	assert_int_equal(back, 1795525500);
}

static void
test_lower_copy_token(void **state)
{
	char s[] = "MiXeD.Case@Example.ORG", dst[8];

	(void)state;
	assert_string_equal(text_lower(s), "mixed.case@example.org");
	assert_int_equal(text_copy(dst, sizeof(dst), "1234567"), 0);
	assert_string_equal(dst, "1234567");
	assert_int_equal(text_copy(dst, sizeof(dst), "12345678"), -1);
	assert_string_equal(dst, "1234567");
	assert_int_equal(text_copy(dst, 0, "x"), -1);
	assert_int_equal(text_copy(dst, 1, "x"), -1);
	assert_string_equal(dst, "");
	assert_true(text_is_token("alice", 5));
	assert_true(text_is_token("a.b_c@d+e-f", 64));
	assert_false(text_is_token("alice", 4));
	assert_false(text_is_token("", 10));
	assert_false(text_is_token("a b", 10));
	assert_false(text_is_token("a:b", 10));
	assert_false(text_is_token("a/b", 10));
	assert_false(text_is_token("caf\xc3\xa9", 10));
}

/* ---- listen addresses --------------------------------------------------- */

static const struct {
	const char *in;
	int family; /* 0: refused */
	const char *host;
	int port;
} listen_cases[] = {
    {"inet:127.0.0.1:10040", AF_INET, "127.0.0.1", 10040},
    {"inet:0.0.0.0:1", AF_INET, "0.0.0.0", 1},
    {"inet:192.0.2.1:65535", AF_INET, "192.0.2.1", 65535},
    {"inet:localhost:25", AF_INET, "127.0.0.1", 25},
    {"inet:*:25", AF_INET, "0.0.0.0", 25},
    {"inet:[::1]:10040", AF_INET6, "::1", 10040},
    {"inet:[2001:db8::5]:587", AF_INET6, "2001:db8::5", 587},
    {"inet:[::]:25", AF_INET6, "::", 25},
    {"unix:/run/outpost/policy.sock", AF_UNIX, "/run/outpost/policy.sock", 0},
    {"unix:private/policy", AF_UNIX, "private/policy", 0},
    {"", 0, NULL, 0},
    {"127.0.0.1:10040", 0, NULL, 0},
    {"tcp:127.0.0.1:10040", 0, NULL, 0},
    {"inet:", 0, NULL, 0},
    {"inet:127.0.0.1", 0, NULL, 0},
    {"inet:127.0.0.1:", 0, NULL, 0},
    {"inet:127.0.0.1:0", 0, NULL, 0},
    {"inet:127.0.0.1:65536", 0, NULL, 0},
    {"inet:127.0.0.1:-1", 0, NULL, 0},
    {"inet:127.0.0.1:10x", 0, NULL, 0},
    {"inet::25", 0, NULL, 0},
    {"inet:::1:25", 0, NULL, 0}, /* IPv6 needs brackets */
    {"inet:[::1]", 0, NULL, 0},
    {"inet:[::1]25", 0, NULL, 0},
    {"inet:[::1:25", 0, NULL, 0},
    {"inet:[]:25", 0, NULL, 0},
    {"inet:example.com:25", 0, NULL, 0},
    {"inet:256.0.0.1:25", 0, NULL, 0},
    {"unix:", 0, NULL, 0},
};

static void
test_listen_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(listen_cases); i++) {
		struct listen_addr la;
		char err[256] = "", host[INET6_ADDRSTRLEN];
		int rc = addr_listen_parse(listen_cases[i].in, &la, err, sizeof(err));

		if (listen_cases[i].family == 0) {
			if (rc != -1)
				fail_msg("'%s': accepted", listen_cases[i].in);
			if (err[0] != '\'')
				fail_msg("'%s': no reason given (%s)", listen_cases[i].in, err);
			continue;
		}
		if (rc != 0)
			fail_msg("'%s': refused: %s", listen_cases[i].in, err);
		assert_int_equal(la.family, listen_cases[i].family);
		assert_string_equal(la.text, listen_cases[i].in);
		if (la.family == AF_UNIX) {
			const struct sockaddr_un *sun = (const struct sockaddr_un *)&la.ss;
			assert_int_equal(sun->sun_family, AF_UNIX);
			assert_string_equal(sun->sun_path, listen_cases[i].host);
			assert_int_equal(la.sslen, sizeof(*sun));
		} else if (la.family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)&la.ss;
			assert_int_equal(sin->sin_family, AF_INET);
			assert_int_equal(ntohs(sin->sin_port), listen_cases[i].port);
			inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
			assert_string_equal(host, listen_cases[i].host);
			assert_int_equal(la.sslen, sizeof(*sin));
		} else {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&la.ss;
			assert_int_equal(sin6->sin6_family, AF_INET6);
			assert_int_equal(ntohs(sin6->sin6_port), listen_cases[i].port);
			inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
			assert_string_equal(host, listen_cases[i].host);
			assert_int_equal(la.sslen, sizeof(*sin6));
		}
	}
}

static void
test_listen_errors(void **state)
{
	struct listen_addr la;
	char err[256], longpath[200];

	(void)state;
	assert_int_equal(addr_listen_parse("inet:example.com:25", &la, err, sizeof(err)), -1);
	assert_string_equal(err,
			    "'inet:example.com:25': host must be a numeric IPv4 or IPv6 address");
	assert_int_equal(addr_listen_parse("tcp:1.2.3.4:5", &la, err, sizeof(err)), -1);
	assert_string_equal(
	    err, "'tcp:1.2.3.4:5': expected inet:HOST:PORT, inet:[IPV6]:PORT or unix:PATH");
	assert_int_equal(addr_listen_parse("unix:", &la, err, sizeof(err)), -1);
	assert_string_equal(err, "'unix:': unix socket path empty or too long");
	/* sun_path is 108 bytes: 107 characters fit, 108 do not. */
	memcpy(longpath, "unix:", 5);
	memset(longpath + 5, 'p', 107);
	longpath[5 + 107] = '\0';
	assert_int_equal(addr_listen_parse(longpath, &la, err, sizeof(err)), 0);
	longpath[5 + 107] = 'p';
	longpath[5 + 108] = '\0';
	assert_int_equal(addr_listen_parse(longpath, &la, err, sizeof(err)), -1);
}

/* ---- networks ----------------------------------------------------------- */

static const struct {
	const char *in;
	int family; /* 0: refused */
	int prefix;
	const char *want; /* addr_net_format */
} net_cases[] = {
    {"192.0.2.0/24", AF_INET, 24, "192.0.2.0/24"},
    {"192.0.2.77/24", AF_INET, 24, "192.0.2.0/24"}, /* host bits cleared */
    {"192.0.2.77", AF_INET, 32, "192.0.2.77/32"},
    {"192.0.2.77/32", AF_INET, 32, "192.0.2.77/32"},
    {"10.255.255.255/9", AF_INET, 9, "10.128.0.0/9"},
    {"10.1.2.3/0", AF_INET, 0, "0.0.0.0/0"},
    {"198.51.100.200/27", AF_INET, 27, "198.51.100.192/27"},
    {"2001:db8::1/32", AF_INET6, 32, "2001:db8::/32"},
    {"2001:db8:abcd:12ff::1/60", AF_INET6, 60, "2001:db8:abcd:12f0::/60"},
    {"2001:db8::ffff/127", AF_INET6, 127, "2001:db8::fffe/127"},
    {"::1", AF_INET6, 128, "::1/128"},
    {"::/0", AF_INET6, 0, "::/0"},
    {"::ffff:192.0.2.1", AF_INET, 32, "192.0.2.1/32"}, /* v4-mapped -> IPv4 */
    {"::FFFF:192.0.2.1", AF_INET, 32, "192.0.2.1/32"},
    {"::ffff:c000:0201", AF_INET, 32, "192.0.2.1/32"},
    {"::ffff:192.0.2.1/128", AF_INET, 32, "192.0.2.1/32"}, /* the prefix follows */
    {"::ffff:192.0.2.77/120", AF_INET, 24, "192.0.2.0/24"},
    {"::ffff:0.0.0.0/96", AF_INET, 0, "0.0.0.0/0"},
    {"::ffff:192.0.2.1/95", 0, 0, NULL}, /* reaches outside the mapped range */
    {"", 0, 0, NULL},
    {"/24", 0, 0, NULL},
    {"192.0.2.0/", 0, 0, NULL},
    {"192.0.2.0/33", 0, 0, NULL},
    {"192.0.2.0/-1", 0, 0, NULL},
    {"192.0.2.0/24x", 0, 0, NULL},
    {"192.0.2.0/24/8", 0, 0, NULL},
    {"192.0.2/24", 0, 0, NULL},
    {"300.1.1.1", 0, 0, NULL},
    {"2001:db8::/129", 0, 0, NULL},
    {"2001:db8:::1", 0, 0, NULL},
    {"example.com", 0, 0, NULL},
    {"[::1]", 0, 0, NULL},
};

static void
test_net_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(net_cases); i++) {
		struct ipnet net;
		char buf[64];
		int rc = addr_net_parse(net_cases[i].in, &net);

		if (net_cases[i].family == 0) {
			if (rc != -1)
				fail_msg("'%s': accepted as %s", net_cases[i].in,
					 addr_net_format(&net, buf, sizeof(buf)));
			continue;
		}
		if (rc != 0)
			fail_msg("'%s': refused", net_cases[i].in);
		if (net.family != net_cases[i].family || net.prefix != net_cases[i].prefix ||
		    strcmp(addr_net_format(&net, buf, sizeof(buf)), net_cases[i].want) != 0)
			fail_msg("'%s': family %d prefix %d '%s', want %d %d '%s'", net_cases[i].in,
				 net.family, net.prefix, buf, net_cases[i].family,
				 net_cases[i].prefix, net_cases[i].want);
		/* An IPv4 network keeps its bytes beyond the fourth zero (keys depend on it). */
		if (net.family == AF_INET)
			for (int b = 4; b < 16; b++)
				assert_int_equal(net.bytes[b], 0);
	}
}

static void
test_ip_parse(void **state)
{
	struct ipnet ip;
	char buf[64];

	(void)state;
	assert_int_equal(addr_ip_parse("192.0.2.9", &ip), 0);
	assert_int_equal(ip.family, AF_INET);
	assert_int_equal(ip.prefix, 32);
	assert_string_equal(addr_net_format(&ip, buf, sizeof(buf)), "192.0.2.9/32");
	assert_int_equal(addr_ip_parse("::ffff:10.0.0.1", &ip), 0);
	assert_int_equal(ip.family, AF_INET);
	assert_int_equal(ip.prefix, 32);
	assert_string_equal(addr_net_format(&ip, buf, sizeof(buf)), "10.0.0.1/32");
	assert_int_equal(addr_ip_parse("2001:db8::9", &ip), 0);
	assert_int_equal(ip.family, AF_INET6);
	assert_int_equal(ip.prefix, 128);
	/* An IPv4-compatible (not mapped) address stays IPv6. */
	assert_int_equal(addr_ip_parse("::10.0.0.1", &ip), 0);
	assert_int_equal(ip.family, AF_INET6);
	assert_int_equal(addr_ip_parse("192.0.2.0/24", &ip), -1);
	assert_int_equal(addr_ip_parse("", &ip), -1);
	assert_int_equal(addr_ip_parse("host", &ip), -1);
}

static void
test_net_mask(void **state)
{
	struct ipnet v4 = {.family = AF_INET, .bytes = {192, 168, 255, 255}, .prefix = 32};
	struct ipnet v6;
	static const uint8_t v6_65[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0xff, 0xff,
					  0x80, 0,    0,    0,	  0,	0,    0,    0};
	char buf[64];

	(void)state;
	addr_net_mask(&v4, 20);
	assert_int_equal(v4.prefix, 20);
	assert_int_equal(v4.bytes[0], 192);
	assert_int_equal(v4.bytes[1], 168);
	assert_int_equal(v4.bytes[2], 240);
	assert_int_equal(v4.bytes[3], 0);
	addr_net_mask(&v4, 20); /* idempotent */
	assert_string_equal(addr_net_format(&v4, buf, sizeof(buf)), "192.168.240.0/20");
	addr_net_mask(&v4, 0);
	assert_string_equal(addr_net_format(&v4, buf, sizeof(buf)), "0.0.0.0/0");

	assert_int_equal(addr_ip_parse("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", &v6), 0);
	addr_net_mask(&v6, 65);
	assert_int_equal(v6.prefix, 65);
	assert_memory_equal(v6.bytes, v6_65, 16);
	addr_net_mask(&v6, 128); /* widening the prefix restores nothing */
	assert_memory_equal(v6.bytes, v6_65, 16);
	addr_net_mask(&v6, 8);
	assert_string_equal(addr_net_format(&v6, buf, sizeof(buf)), "2000::/8");
}

static const struct {
	const char *in;
	int ok;
} server_cases[] = {
    {"192.0.2.1", 1},	 {"192.0.2.1:53", 1},	    {"192.0.2.1:5353", 1}, {"2001:db8::1", 1},
    {"::1", 1},		 {"[2001:db8::1]:5353", 1}, {"[::1]:53", 1},	   {"", 0},
    {"192.0.2.1:0", 0},	 {"192.0.2.1:70000", 0},    {"192.0.2.1:", 0},	   {"192.0.2.1:dns", 0},
    {"example.com", 0},	 {"example.com:53", 0},	    {"[::1]", 0},	   {"[::1]:", 0},
    {"192.0.2.0/24", 0}, {"inet:192.0.2.1:53", 0},
};

static void
test_server_check_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(server_cases); i++) {
		int rc = addr_server_check(server_cases[i].in);
		if (rc != (server_cases[i].ok ? 0 : -1))
			fail_msg("'%s': rc %d, want %s", server_cases[i].in, rc,
				 server_cases[i].ok ? "ok" : "refused");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration_table),   cmocka_unit_test(test_size_table),
	    cmocka_unit_test(test_time_parse_table), cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_time_format),	     cmocka_unit_test(test_lower_copy_token),
	    cmocka_unit_test(test_listen_table),     cmocka_unit_test(test_listen_errors),
	    cmocka_unit_test(test_net_table),	     cmocka_unit_test(test_ip_parse),
	    cmocka_unit_test(test_net_mask),	     cmocka_unit_test(test_server_check_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
