/* addr -- listen addresses and networks; see addr.h. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

/* Parse a decimal TCP/UDP port 1..65535. */
static int
port_parse(const char *s, int *port)
{
	char *end;
	long v;

	if (*s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/* Split "HOST:PORT" or "[V6]:PORT" into HOST (brackets removed) and PORT. */
static int
hostport_split(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon;
	size_t n;

	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		n = (size_t)(close - s - 1);
		s++;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
			return -1;
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	return port_parse(colon + 1, port);
}

int
addr_listen_parse(const char *s, struct listen_addr *la, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	int port;

	memset(la, 0, sizeof(*la));
	snprintf(la->text, sizeof(la->text), "%s", s);
	if (strncmp(s, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&la->ss;
		if (s[5] == '\0' || strlen(s + 5) >= sizeof(sun->sun_path)) {
			snprintf(err, errlen, "'%s': unix socket path empty or too long", s);
			return -1;
		}
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, s + 5);
		la->family = AF_UNIX;
		la->sslen = sizeof(*sun);
		return 0;
	}
	if (strncmp(s, "inet:", 5) != 0 || hostport_split(s + 5, host, sizeof(host), &port) < 0) {
		snprintf(err, errlen,
			 "'%s': expected inet:HOST:PORT, inet:[IPV6]:PORT or unix:PATH", s);
		return -1;
	}
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (strcmp(host, "*") == 0)
		snprintf(host, sizeof(host), "0.0.0.0");
	struct sockaddr_in *sin = (struct sockaddr_in *)&la->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&la->ss;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		la->family = AF_INET;
		la->sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		la->family = AF_INET6;
		la->sslen = sizeof(*sin6);
	} else {
		snprintf(err, errlen, "'%s': host must be a numeric IPv4 or IPv6 address", s);
		return -1;
	}
	return 0;
}

void
addr_net_mask(struct ipnet *net, int prefix)
{
	int len = net->family == AF_INET ? 4 : 16;

	net->prefix = prefix;
	for (int i = 0; i < len; i++) {
		int keep = prefix - i * 8;
		if (keep >= 8)
			continue;
		net->bytes[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
}

int
addr_ip_parse(const char *s, struct ipnet *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, ip->bytes) == 1) {
		ip->family = AF_INET;
		ip->prefix = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->bytes) == 1) {
		ip->family = AF_INET6;
		ip->prefix = 128;
		/* Postfix normalises v4-mapped addresses to IPv4; so do we. */
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(ip->bytes, mapped, 12) == 0) {
			memmove(ip->bytes, ip->bytes + 12, 4);
			memset(ip->bytes + 4, 0, 12);
			ip->family = AF_INET;
			ip->prefix = 32;
		}
		return 0;
	}
	return -1;
}

int
addr_net_parse(const char *s, struct ipnet *net)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	char *end;
	long prefix;

	if (slash == NULL)
		return addr_ip_parse(s, net);
	if ((size_t)(slash - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (addr_ip_parse(buf, net) < 0 || !isdigit((unsigned char)slash[1]))
		return -1;
	errno = 0;
	prefix = strtol(slash + 1, &end, 10);
	/* A v4-mapped network ("::ffff:192.0.2.0/120") was normalised to IPv4: so is its prefix. */
	if (net->family == AF_INET && strchr(buf, ':') != NULL)
		prefix = prefix >= 96 && prefix <= 128 ? prefix - 96 : -1;
	if (errno || *end || prefix < 0 || prefix > (net->family == AF_INET ? 32 : 128))
		return -1;
	addr_net_mask(net, (int)prefix);
	return 0;
}

char *
addr_net_format(const struct ipnet *net, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(net->family, net->bytes, ip, sizeof(ip));
	snprintf(buf, len, "%s/%d", ip, net->prefix);
	return buf;
}

int
addr_server_check(const char *s)
{
	char host[INET6_ADDRSTRLEN + 1];
	struct ipnet ip;
	int port;

	if (hostport_split(s, host, sizeof(host), &port) < 0)
		return addr_ip_parse(s, &ip); /* a bare address means port 53 */
	return addr_ip_parse(host, &ip);
}
