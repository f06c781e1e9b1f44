/* claim -- one transition per crossing across the fleet; see claim.h. */
#include "config.h"

#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "claim.h"
#include "cluster/redis_addr.h"
#include "cluster/redis_conn.h"
#include "conf/conf.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xalloc.h"

struct claim {
	const struct conf *conf;
	struct redis_addr addr;
	redisContext *rc;
	int64_t next_try_ms;
	char error[512]; /* the last failure, logged once */
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct claim *
claim_create(const struct conf *conf)
{
	struct claim *c;
	char err[512];

	if (conf->cluster.redis[0] == '\0')
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->conf = conf;
	if (redis_addr_parse(conf->cluster.redis, &c->addr, err, sizeof(err)) < 0) {
		log_warnx("feedback: cluster.redis: %s", err);
		free(c);
		return NULL;
	}
	return c;
}

void
claim_destroy(struct claim *c)
{
	if (c == NULL)
		return;
	if (c->rc)
		redisFree(c->rc);
	free(c);
}

/* Drop the connection after a failure; log the reason when it is a new one. */
static void
claim_failed(struct claim *c, const char *why)
{
	if (c->rc)
		redisFree(c->rc);
	c->rc = NULL;
	c->next_try_ms = mono_ms() + CLAIM_RETRY_MS;
	if (strcmp(c->error, why) != 0)
		log_warnx("feedback: cannot claim reputation transitions in Redis: %s; judging on "
			  "this host's counters meanwhile",
			  why);
	text_copy(c->error, sizeof(c->error), why);
}

/* Connected, or -1 (within the retry delay, or the connection failed). */
static int
claim_connect(struct claim *c)
{
	char err[512];

	if (c->rc)
		return 0;
	if (mono_ms() < c->next_try_ms)
		return -1;
	if ((c->rc = redis_conn_open(c->conf, &c->addr, err, sizeof(err))) == NULL) {
		claim_failed(c, err);
		return -1;
	}
	c->error[0] = '\0';
	return 0;
}

/* Who holds KEY (after a lost SET NX). */
static void
holder_get(struct claim *c, const char *key, char *holder, size_t len)
{
	redisReply *r = redisCommand(c->rc, "GET %s", key);

	text_copy(holder, len, r && r->type == REDIS_REPLY_STRING ? r->str : "?");
	if (r)
		freeReplyObject(r);
}

int
claim_take(struct claim *c, const char *account, int64_t since, int to, char *holder, size_t len)
{
	char key[512], ttl[32], why[512];
	const char *argv[6] = {"SET", key, c->conf->cluster.node, "NX", "PX", ttl};
	redisReply *r;

	if (claim_connect(c) < 0)
		return -1;
	snprintf(key, sizeof(key), "%s:rep:claim:%s:%lld:%d", c->conf->cluster.key_prefix, account,
		 (long long)since, to);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)CLAIM_TTL_MS);
	r = redisCommandArgv(c->rc, 6, argv, NULL);
	if (redis_reply_error(c->rc, r, "SET NX", why, sizeof(why)) < 0) {
		claim_failed(c, why);
		return -1;
	}
	if (r->type == REDIS_REPLY_STATUS) {
		freeReplyObject(r);
		text_copy(holder, len, c->conf->cluster.node);
		return 1;
	}
	freeReplyObject(r);
	holder_get(c, key, holder, len);
	return 0;
}
