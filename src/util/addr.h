/*
 * addr -- listening addresses and IP networks, parsed without touching the
 * network.
 *
 * Listen syntax (policy, HTTP): "inet:HOST:PORT", "inet:[IPV6]:PORT",
 * "unix:PATH".  Networks: "192.0.2.0/24", "2001:db8::/32", or a bare address.
 */
#ifndef OUTPOST_ADDR_H
#define OUTPOST_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

struct listen_addr {
	int family; /* AF_INET, AF_INET6 or AF_UNIX */
	struct sockaddr_storage ss;
	socklen_t sslen;
	char text[128]; /* as written, for logs */
};

/* 0 on success; -1 with a reason in ERR. */
int addr_listen_parse(const char *s, struct listen_addr *la, char *err, size_t errlen);

struct ipnet {
	int family; /* AF_INET or AF_INET6 */
	uint8_t bytes[16];
	int prefix; /* 0..32 or 0..128 */
};

/* Parse a network or a bare address (full-length prefix); host bits are cleared. */
int addr_net_parse(const char *s, struct ipnet *net);
/* Parse a bare IP address as a full-length network. */
int addr_ip_parse(const char *s, struct ipnet *ip);
/* Clear the bits of NET beyond PREFIX (in place). */
void addr_net_mask(struct ipnet *net, int prefix);
/* "192.0.2.0/24" */
char *addr_net_format(const struct ipnet *net, char *buf, size_t len);
/* "IP:PORT" or "[IPV6]:PORT" server address (dns.servers); 0 ok, -1 bad. */
int addr_server_check(const char *s);

#endif
