/* redis_conn -- connect, authenticate, select; see redis_conn.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redis_conn.h"
#include "util/text.h"

/* Read cluster.password_file: "USER\nPASSWORD" or "PASSWORD".  -1 with ERR filled. */
static int
secret_read(const char *path, char *user, size_t ulen, char *pass, size_t plen, char *err,
	    size_t errlen)
{
	char buf[2048], *nl;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "cluster.password_file %s: %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	user[0] = '\0';
	if ((nl = strchr(buf, '\n')) != NULL) {
		*nl = '\0';
		if (nl > buf && nl[-1] == '\r')
			nl[-1] = '\0';
		text_copy(user, ulen, buf);
		text_copy(pass, plen, nl + 1);
	} else {
		text_copy(pass, plen, buf);
	}
	if (pass[0] == '\0' || strchr(pass, '\n')) {
		snprintf(err, errlen,
			 "cluster.password_file %s: no password in it (line 1 user, "
			 "line 2 password; or one line: the password)",
			 path);
		return -1;
	}
	return 0;
}

/* An error reply or no reply: the reason in ERR, and -1. */
int
redis_reply_error(redisContext *c, redisReply *r, const char *what, char *err, size_t errlen)
{
	/* A read timeout (SO_RCVTIMEO) reaches hiredis as EAGAIN: say what it means. */
	int timeout = c->err == REDIS_ERR_IO && strcmp(c->errstr, strerror(EAGAIN)) == 0;

	if (r == NULL && timeout)
		snprintf(err, errlen, "%s: no reply within cluster.timeout", what);
	else if (r == NULL)
		snprintf(err, errlen, "%s: %s", what, c->errstr[0] ? c->errstr : "no reply");
	else if (r->type == REDIS_REPLY_ERROR)
		snprintf(err, errlen, "%s: %s", what, r->str);
	else
		return 0;
	freeReplyObject(r);
	return -1;
}

/* Ask the Sentinels for MASTER's address. */
static int
sentinel_resolve(const struct conf *conf, const struct redis_addr *addr, struct redis_hostport *hp,
		 char *err, size_t errlen)
{
	struct timeval tv = {conf->cluster.timeout / 1000, (conf->cluster.timeout % 1000) * 1000};

	snprintf(err, errlen, "no sentinel answered for '%s'", addr->master);
	for (int i = 0; i < addr->nsentinels; i++) {
		redisContext *c =
		    redisConnectWithTimeout(addr->sentinels[i].host, addr->sentinels[i].port, tv);
		redisReply *r =
		    c && !c->err
			? redisCommand(c, "SENTINEL get-master-addr-by-name %s", addr->master)
			: NULL;
		int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
			 r->element[0]->type == REDIS_REPLY_STRING &&
			 r->element[1]->type == REDIS_REPLY_STRING;
		if (ok) {
			text_copy(hp->host, sizeof(hp->host), r->element[0]->str);
			hp->port = atoi(r->element[1]->str);
		}
		if (r)
			freeReplyObject(r);
		if (c)
			redisFree(c);
		if (ok)
			return 0;
	}
	return -1;
}

/* Run one command and check it did not fail. */
static int
command_ok(redisContext *c, char *err, size_t errlen, const char *what, int argc, const char **argv)
{
	redisReply *r = redisCommandArgv(c, argc, argv, NULL);

	if (redis_reply_error(c, r, what, err, errlen) < 0)
		return -1;
	freeReplyObject(r);
	return 0;
}

/* Connect, authenticate, select the database.  NULL with ERR filled. */
redisContext *
redis_conn_open(const struct conf *conf, const struct redis_addr *addr, char *err, size_t errlen)
{
	struct timeval tv = {conf->cluster.timeout / 1000, (conf->cluster.timeout % 1000) * 1000};
	struct redis_hostport hp = addr->tcp;
	char user[256], pass[1024], db[16];
	redisContext *c;

	if (addr->kind == REDIS_SENTINEL && sentinel_resolve(conf, addr, &hp, err, errlen) < 0)
		return NULL;
	c = addr->kind == REDIS_UNIX ? redisConnectUnixWithTimeout(addr->path, tv)
				     : redisConnectWithTimeout(hp.host, hp.port, tv);
	if (c == NULL || c->err) {
		snprintf(err, errlen, "cannot connect: %s", c ? c->errstr : "out of memory");
		goto fail;
	}
	redisSetTimeout(c, tv);
	if (conf->cluster.password_file[0]) {
		if (secret_read(conf->cluster.password_file, user, sizeof(user), pass, sizeof(pass),
				err, errlen) < 0)
			goto fail;
		const char *argv[3] = {"AUTH", user[0] ? user : pass, pass};
		int rc = command_ok(c, err, errlen, "authentication failed", user[0] ? 3 : 2, argv);
		explicit_bzero(pass, sizeof(pass));
		if (rc < 0)
			goto fail;
	}
	if (addr->db) {
		const char *argv[2] = {"SELECT", db};
		snprintf(db, sizeof(db), "%d", addr->db);
		if (command_ok(c, err, errlen, "SELECT", 2, argv) < 0)
			goto fail;
	}
	return c;
fail:
	if (c)
		redisFree(c);
	return NULL;
}
