/*
 * redis_addr -- the `cluster.redis` setting, parsed (pure: no sockets).
 *
 *   redis://HOST:PORT[/DB]     one Redis (or Valkey); HOST may be [IPv6]; PORT defaults to 6379
 *   unix:PATH                  a local Redis socket
 *   sentinel://HOST:PORT[,HOST:PORT...]/MASTERNAME
 *                              ask the Sentinels which server is the primary of MASTERNAME
 *
 * No credentials here: they come from cluster.password_file.
 */
#ifndef OUTPOST_REDIS_ADDR_H
#define OUTPOST_REDIS_ADDR_H

#include <stddef.h>

#define REDIS_HOST_MAX 256
#define REDIS_SENTINELS_MAX 8

enum redis_kind { REDIS_TCP, REDIS_UNIX, REDIS_SENTINEL };

struct redis_hostport {
	char host[REDIS_HOST_MAX];
	int port;
};

struct redis_addr {
	int kind; /* enum redis_kind */
	struct redis_hostport tcp;
	int db;
	char path[1024];
	struct redis_hostport sentinels[REDIS_SENTINELS_MAX];
	int nsentinels;
	char master[128];
};

/* 0 on success; -1 with the reason in ERR. */
int redis_addr_parse(const char *spec, struct redis_addr *a, char *err, size_t errlen);

#endif
