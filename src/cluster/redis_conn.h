/*
 * redis_conn -- one synchronous hiredis connection to the fleet's Redis, as
 * cluster.redis names it: connect (asking the Sentinels first for a
 * sentinel:// address), AUTH with cluster.password_file (read at each
 * connection, never kept), SELECT the database.  Used by the cluster process
 * and by the feedback process (claims of reputation transitions).
 */
#ifndef OUTPOST_REDIS_CONN_H
#define OUTPOST_REDIS_CONN_H

#include <hiredis.h>
#include <stddef.h>

#include "cluster/redis_addr.h"
#include "conf/conf.h"

/* Connected and ready (command timeout cluster.timeout), or NULL with the reason in ERR. */
redisContext *redis_conn_open(const struct conf *conf, const struct redis_addr *addr, char *err,
			      size_t errlen);
/* R is an error or missing (then freed, WHAT: reason in ERR, -1); 0 when it is a reply. */
int redis_reply_error(redisContext *c, redisReply *r, const char *what, char *err, size_t errlen);

#endif
