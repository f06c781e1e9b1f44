/*
 * http_int -- what the http process's files share: one request being
 * answered, the replies, and the authorisation checks.  Not a public header.
 */
#ifndef OUTPOST_HTTP_INT_H
#define OUTPOST_HTTP_INT_H

#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdint.h>

#include "conf/conf.h"
#include "store/records.h"
#include "store/store.h"

#define HTTP_BODY_MAX (1 << 20)		/* every request body but an import */
#define HTTP_IMPORT_BODY_MAX (64 << 20) /* POST /v1/suppression/import */

struct http_server {
	const struct conf *conf;
	struct store *st;
	struct event_base *base;
	struct evhttp *http;
	uint64_t replies[6]; /* by class: 1xx .. 5xx (index 1..5) */
	uint64_t requests;
};

/* One request: its parts split once, and who asked. */
struct http_req {
	struct http_server *srv;
	struct evhttp_request *req;
	enum evhttp_cmd_type method;
	char *path;   /* decoded path */
	char *seg[8]; /* path segments after "/v1/", decoded */
	int nseg;
	struct evkeyvalq query; /* decoded query parameters */
	struct token_rec token; /* the bearer token's record */
	char by[96];		/* "api:TOKEN-NAME" for history entries */
	int64_t now;
};

/* Reply with JSON O (stolen) and STATUS. */
void http_reply_json(struct http_req *r, int status, json_t *o);
/* Reply with an RFC 9457 problem: STATUS, a title from the status, and DETAIL. */
void http_problem(struct http_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A 400 naming the FIELD that is wrong. */
void http_bad_field(struct http_req *r, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void http_store_failed(struct http_req *r);

/* A query parameter, or NULL. */
const char *http_query(struct http_req *r, const char *name);
/* May this request's token see or change ACCOUNT ("" is the global list)?  0 yes; -1 after
 * replying 403. */
int http_account_allowed(struct http_req *r, const char *account);
/* A write token is needed: 0 yes; -1 after replying 403. */
int http_need_write(struct http_req *r);
/* The request body as JSON object; NULL after replying 400 or 413. */
json_t *http_body_json(struct http_req *r);

/* The /v1 dispatcher (http_api.c); the token was checked. */
void http_api(struct http_req *r);

#endif
