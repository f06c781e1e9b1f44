/*
 * http_api -- the JSON API v1 (doc/openapi.yaml): accounts, suppression,
 * events, status.  Each handler translates HTTP into the calls outpostctl makes
 * (account_view.h, suppress.h, suppress_view.h, control_client.h): one
 * implementation, two front doors.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "http_int.h"
#include "account/account.h"
#include "feedback/eventlog.h"
#include "feedback/eventlog_read.h"
#include "account/account_view.h"
#include "master/control_client.h"
#include "store/sfilter.h"
#include "suppress/suppress.h"
#include "suppress/suppress_io.h"
#include "suppress/suppress_view.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xalloc.h"

#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX 1000
#define IMPORT_BATCH 10000
#define IMPORT_ERRORS_MAX 20
#define STATS_POINTS_MAX 2000
#define EVENTS_SCAN_MAX (32 << 20) /* bytes of the event log one request reads at most */

/* ---- small helpers ------------------------------------------------------ */

static void
method_not_allowed(struct http_req *r, const char *allow)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Allow", allow);
	http_problem(r, 405, "allowed here: %s", allow);
}

/* A time parameter: RFC 3339 or a duration before now ("7d").  0 ok, -1 after a 400. */
static int
time_param(struct http_req *r, const char *name, int64_t def, int64_t *out)
{
	const char *v = http_query(r, name);
	int64_t d;

	*out = def;
	if (v == NULL || *v == '\0')
		return 0;
	if (text_time_parse(v, out) == 0)
		return 0;
	if (text_duration_parse(v, &d) == 0) {
		*out = r->now - d;
		return 0;
	}
	http_bad_field(r, name, "'%s' is not an RFC 3339 time or a duration (7d)", v);
	return -1;
}

/* An optional string member of O; 0 ok (*OUT NULL when absent or null), -1 after a 400. */
static int
body_string(struct http_req *r, json_t *o, const char *name, const char **out)
{
	json_t *v = json_object_get(o, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		http_bad_field(r, name, "%s must be a string", name);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* ---- /v1/status --------------------------------------------------------- */

static void
api_status(struct http_req *r)
{
	char err[512];
	json_t *o;

	if (r->method != EVHTTP_REQ_GET) {
		method_not_allowed(r, "GET");
		return;
	}
	if ((o = control_status(r->srv->conf, r->srv->st, err, sizeof(err))) == NULL) {
		http_problem(r, 503, "%s", err);
		return;
	}
	http_reply_json(r, 200, o);
}

/* GET /v1/token: who is asking (the dashboard shows write buttons to write tokens only). */
static void
api_token(struct http_req *r)
{
	if (r->method != EVHTTP_REQ_GET) {
		method_not_allowed(r, "GET");
		return;
	}
	http_reply_json(r, 200,
			json_pack("{s:s, s:s, s:s?}", "name", r->token.name, "scope",
				  r->token.scope == TS_WRITE ? "write" : "read", "account",
				  r->token.account[0] ? r->token.account : NULL));
}

/* ---- /v1/accounts ------------------------------------------------------- */

struct acct_list {
	struct http_req *r;
	struct store_txn *txn;
	json_t *arr;
	int state;
};

static int
acct_list_one(const char *name, const struct account_rec *rec, void *arg)
{
	struct acct_list *l = arg;

	if ((l->state >= 0 && rec->state != l->state) ||
	    (l->r->token.account[0] && strcmp(l->r->token.account, name) != 0))
		return 0;
	json_array_append_new(
	    l->arr, account_view_summary(l->txn, l->r->srv->conf, name, rec, l->r->now, 1));
	return 0;
}

static void
api_accounts_list(struct http_req *r)
{
	const char *state = http_query(r, "state");
	struct acct_list l = {r, NULL, NULL, -1};
	int rc;

	if (state && (l.state = account_state_parse(state)) < 0) {
		http_bad_field(r, "state", "state must be active, review or paused");
		return;
	}
	if (store_read_begin(r->srv->st, &l.txn) != STORE_OK) {
		http_store_failed(r);
		return;
	}
	l.arr = json_array();
	rc = account_scan(l.txn, acct_list_one, &l);
	store_read_end(l.txn);
	if (rc == STORE_ERR) {
		json_decref(l.arr);
		http_store_failed(r);
		return;
	}
	http_reply_json(r, 200, json_pack("{s:o}", "accounts", l.arr));
}

/* Reply with the whole account NAME (200), or 404. */
static void
account_reply(struct http_req *r, const char *name, int status)
{
	struct account_rec rec;
	struct store_txn *txn;
	json_t *o = NULL;
	int rc;

	if (store_read_begin(r->srv->st, &txn) != STORE_OK) {
		http_store_failed(r);
		return;
	}
	rc = account_get(txn, name, &rec);
	if (rc == STORE_OK)
		o = account_view_json(txn, r->srv->conf, name, &rec, r->now);
	store_read_end(txn);
	if (rc == STORE_NOTFOUND)
		http_problem(r, 404, "no account %s", name);
	else if (rc != STORE_OK)
		http_store_failed(r);
	else
		http_reply_json(r, status, o);
}

/* POST /v1/accounts/{id}/pause|resume|review {"reason": "..."} */
static void
api_account_state(struct http_req *r, const char *name, const char *verb)
{
	int state = strcmp(verb, "pause") == 0	  ? AS_PAUSED
		    : strcmp(verb, "review") == 0 ? AS_REVIEW
						  : AS_ACTIVE;
	const char *reason;
	int rc, unchanged, from;
	json_t *body;

	if (r->method != EVHTTP_REQ_POST) {
		method_not_allowed(r, "POST");
		return;
	}
	if (http_need_write(r) < 0)
		return;
	if (evbuffer_get_length(evhttp_request_get_input_buffer(r->req)) == 0)
		body = json_object();
	else if ((body = http_body_json(r)) == NULL)
		return;
	if (body_string(r, body, "reason", &reason) < 0)
		goto out;
	if ((reason == NULL || *reason == '\0') && state != AS_ACTIVE) {
		http_bad_field(r, "reason", "a reason is required to %s an account", verb);
		goto out;
	}
	if (reason && strlen(reason) >= REASON_MAX) {
		http_bad_field(r, "reason", "reason is longer than %d bytes", REASON_MAX - 1);
		goto out;
	}
	if (reason == NULL || *reason == '\0')
		reason = "resumed by operator";
	rc =
	    account_change_state(r->srv->st, name, state, r->by, reason, r->now, &unchanged, &from);
	if (rc == STORE_NOTFOUND)
		http_problem(r, 404, "no account %s", name);
	else if (rc != STORE_OK)
		http_store_failed(r);
	else if (unchanged)
		http_problem(r, 409, "account %s is already %s", name, account_state_name(state));
	else {
		event_state_change(r->srv->conf, name, from, state, reason);
		account_reply(r, name, 200);
	}
out:
	json_decref(body);
}

struct series {
	uint32_t from_hour, to_hour, step_hours;
	struct stats_rec *pts;
	size_t n;
};

static int
series_one(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct series *s = arg;
	const uint8_t *p = (const uint8_t *)k->data + k->len - 4;
	uint32_t hour = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	struct stats_rec rec;
	size_t i;

	if (hour > s->to_hour)
		return 1;
	if (hour < s->from_hour || rec_stats_decode(v->data, v->len, &rec) < 0)
		return 0;
	i = (hour - s->from_hour) / s->step_hours;
	for (int f = 0; i < s->n && f < SF_COUNT; f++)
		s->pts[i].n[f] += rec.n[f];
	return 0;
}

static json_t *
series_json(const struct series *s)
{
	json_t *arr = json_array();
	char t[32];

	for (size_t i = 0; i < s->n; i++) {
		int64_t at = ((int64_t)s->from_hour + (int64_t)(i * s->step_hours)) * 3600;
		json_t *o = json_pack("{s:s}", "time", text_time_format(at, t, sizeof(t)));
		for (int f = 0; f < SF_COUNT; f++)
			json_object_set_new(o, stats_field_name(f), json_integer(s->pts[i].n[f]));
		json_array_append_new(arr, o);
	}
	return arr;
}

/* The query of GET .../stats into S; 0 ok, -1 after a 400. */
static int
series_params(struct http_req *r, struct series *s)
{
	const char *step = http_query(r, "step");
	int64_t from, to, st = 3600;

	if (time_param(r, "from", r->now - 7 * 86400, &from) < 0 ||
	    time_param(r, "to", r->now, &to) < 0)
		return -1;
	if (step && (text_duration_parse(step, &st) < 0 || st < 3600 || st % 3600 != 0)) {
		http_bad_field(r, "step", "step must be whole hours (1h, 6h, 1d)");
		return -1;
	}
	if (from < 0 || to < from) {
		http_bad_field(r, "from", "from must not be after to");
		return -1;
	}
	s->from_hour = (uint32_t)(from / 3600);
	s->to_hour = (uint32_t)(to / 3600);
	s->step_hours = (uint32_t)(st / 3600);
	s->n = (s->to_hour - s->from_hour) / s->step_hours + 1;
	if (s->n > STATS_POINTS_MAX) {
		http_bad_field(r, "step", "more than %d points: choose a larger step",
			       STATS_POINTS_MAX);
		return -1;
	}
	return 0;
}

/* GET /v1/accounts/{id}/stats?from=&to=&step= : the account's hourly counters, summed. */
static void
api_account_stats(struct http_req *r, const char *name)
{
	struct series s = {0};
	struct account_rec rec;
	struct store_txn *txn;
	char from[32], to[32];
	int rc;

	if (r->method != EVHTTP_REQ_GET) {
		method_not_allowed(r, "GET");
		return;
	}
	if (series_params(r, &s) < 0)
		return;
	s.pts = xcalloc(s.n, sizeof(*s.pts));
	if (store_read_begin(r->srv->st, &txn) != STORE_OK) {
		free(s.pts);
		http_store_failed(r);
		return;
	}
	rc = account_get(txn, name, &rec);
	if (rc == STORE_OK)
		rc = store_scan(txn, DB_STATS, name, strlen(name) + 1, NULL, 0, series_one, &s);
	store_read_end(txn);
	if (rc == STORE_NOTFOUND)
		http_problem(r, 404, "no account %s", name);
	else if (rc == STORE_ERR)
		http_store_failed(r);
	else
		http_reply_json(
		    r, 200,
		    json_pack("{s:s, s:s, s:s, s:i, s:o}", "account", name, "from",
			      text_time_format((int64_t)s.from_hour * 3600, from, sizeof(from)),
			      "to", text_time_format((int64_t)s.to_hour * 3600, to, sizeof(to)),
			      "step_seconds", (int)s.step_hours * 3600, "series", series_json(&s)));
	free(s.pts);
}

static void
api_accounts(struct http_req *r)
{
	const char *name = r->nseg > 1 ? r->seg[1] : NULL;

	if (name == NULL) {
		if (r->method != EVHTTP_REQ_GET)
			method_not_allowed(r, "GET");
		else
			api_accounts_list(r);
		return;
	}
	if (!account_name_valid(name)) {
		http_bad_field(r, "account", "'%s' is not a valid account name", name);
		return;
	}
	if (http_account_allowed(r, name) < 0)
		return;
	if (r->nseg == 2) {
		if (r->method != EVHTTP_REQ_GET)
			method_not_allowed(r, "GET");
		else
			account_reply(r, name, 200);
	} else if (r->nseg == 3 && strcmp(r->seg[2], "stats") == 0) {
		api_account_stats(r, name);
	} else if (r->nseg == 3 &&
		   (strcmp(r->seg[2], "pause") == 0 || strcmp(r->seg[2], "resume") == 0 ||
		    strcmp(r->seg[2], "review") == 0)) {
		api_account_state(r, name, r->seg[2]);
	} else {
		http_problem(r, 404, "no such path");
	}
}

/* ---- /v1/suppression ---------------------------------------------------- */

/* The scope ?account= names (or the token's account); 0 ok, -1 after replying. *SCOPE NULL:
 * every scope. */
static int
scope_param(struct http_req *r, const char *account, const char **scope)
{
	*scope = account;
	if (account == NULL && r->token.account[0])
		*scope = r->token.account;
	if (account && !account_name_valid(account)) {
		http_bad_field(r, "account", "'%s' is not a valid account name", account);
		return -1;
	}
	return *scope ? http_account_allowed(r, *scope) : 0;
}

struct show_arg {
	const char *target;
	json_t *arr;
};

static int
show_match(const char *scope, const char *target, const struct suppress_rec *rec, void *arg)
{
	struct show_arg *s = arg;

	if (strcmp(target, s->target) == 0)
		json_array_append_new(s->arr, suppress_entry_json(scope, target, rec));
	return 0;
}

/* GET /v1/suppression/{address}[?account=]: the entry in every scope that holds it. */
static void
suppression_get(struct http_req *r, const char *scope, const char *target)
{
	struct show_arg s = {target, json_array()};
	struct suppress_rec rec;
	struct store_txn *txn;
	int rc;

	if (store_read_begin(r->srv->st, &txn) != STORE_OK) {
		json_decref(s.arr);
		http_store_failed(r);
		return;
	}
	if (scope) {
		rc = suppress_get(txn, scope, target, &rec);
		if (rc == STORE_OK)
			json_array_append_new(s.arr, suppress_entry_json(scope, target, &rec));
	} else {
		rc = suppress_find(txn, target, show_match, &s);
	}
	store_read_end(txn);
	if (rc == STORE_ERR) {
		json_decref(s.arr);
		http_store_failed(r);
	} else if (json_array_size(s.arr) == 0) {
		json_decref(s.arr);
		http_problem(r, 404, "%s is not suppressed%s%s", target,
			     scope ? " for account " : "", scope ? scope : "");
	} else {
		http_reply_json(r, 200,
				json_pack("{s:s, s:o}", "address", target, "entries", s.arr));
	}
}

struct put_arg {
	const char *scope, *target;
	char scope_buf[ACCOUNT_NAME_MAX]; /* the body's account outlives the body */
	struct suppress_rec rec;
	int existed;
};

static int
put_txn(struct store_txn *txn, void *arg)
{
	struct put_arg *p = arg;
	struct suppress_rec old;
	int rc = suppress_get(txn, p->scope, p->target, &old);

	if (rc == STORE_ERR)
		return rc;
	p->existed = rc == STORE_OK;
	return suppress_put(txn, p->scope, p->target, &p->rec);
}

/* The PUT body into P; 0 ok, -1 after a 400. */
static int
put_body(struct http_req *r, json_t *body, struct put_arg *p)
{
	const char *account, *reason, *expires, *note;

	if (body_string(r, body, "account", &account) < 0 ||
	    body_string(r, body, "reason", &reason) < 0 ||
	    body_string(r, body, "expires", &expires) < 0 ||
	    body_string(r, body, "note", &note) < 0)
		return -1;
	if (account == NULL)
		account = http_query(r, "account");
	if (account && *account == '\0')
		account = NULL;
	if (account == NULL && r->token.account[0])
		account = r->token.account;
	if (account && !account_name_valid(account)) {
		http_bad_field(r, "account", "'%s' is not a valid account name", account);
		return -1;
	}
	if (http_account_allowed(r, account ? account : "") < 0)
		return -1;
	text_copy(p->scope_buf, sizeof(p->scope_buf), account ? account : "");
	p->scope = p->scope_buf;
	p->rec.reason = (uint8_t)suppress_reason_parse(reason ? reason : "manual");
	if (p->rec.reason == (uint8_t)-1) {
		http_bad_field(r, "reason",
			       "reason must be bounce, complaint, manual or unsubscribe");
		return -1;
	}
	if (expires && *expires && text_expiry_parse(expires, r->now, &p->rec.expires) < 0) {
		http_bad_field(r, "expires", "'%s' is not a duration (30d) or an RFC 3339 time",
			       expires);
		return -1;
	}
	if (text_copy(p->rec.note, sizeof(p->rec.note), note ? note : "") < 0) {
		http_bad_field(r, "note", "note is longer than %d bytes", REASON_MAX - 1);
		return -1;
	}
	p->rec.created = p->rec.updated = r->now;
	return 0;
}

static void
suppression_put(struct http_req *r, const char *target)
{
	struct put_arg p = {.target = target};
	struct store_txn *txn;
	json_t *body;
	int rc;

	if (http_need_write(r) < 0 || (body = http_body_json(r)) == NULL)
		return;
	rc = put_body(r, body, &p);
	json_decref(body);
	if (rc < 0)
		return;
	if (store_write(r->srv->st, put_txn, &p) != STORE_OK) {
		http_store_failed(r);
		return;
	}
	if (store_read_begin(r->srv->st, &txn) != STORE_OK) {
		http_store_failed(r);
		return;
	}
	rc = suppress_get(txn, p.scope, target, &p.rec);
	store_read_end(txn);
	if (rc != STORE_OK)
		http_store_failed(r);
	else
		http_reply_json(r, p.existed ? 200 : 201,
				suppress_entry_json(p.scope, target, &p.rec));
}

static int
del_txn(struct store_txn *txn, void *arg)
{
	struct put_arg *p = arg;

	return suppress_del(txn, p->scope, p->target);
}

static void
suppression_delete(struct http_req *r, const char *scope, const char *target)
{
	struct put_arg p = {.scope = scope ? scope : "", .target = target};
	int rc;

	if (http_need_write(r) < 0 || http_account_allowed(r, p.scope) < 0)
		return;
	rc = store_write(r->srv->st, del_txn, &p);
	if (rc == STORE_NOTFOUND) {
		http_problem(r, 404, "%s is not on the %s%s list", target,
			     p.scope[0] ? "account " : "global", p.scope);
	} else if (rc != STORE_OK) {
		http_store_failed(r);
	} else {
		r->srv->replies[2]++;
		evhttp_send_reply(r->req, 204, NULL, NULL);
	}
}

/* /v1/suppression/{address} */
static void
api_suppression_one(struct http_req *r, const char *address)
{
	const char *scope;
	char target[ADDRESS_MAX];

	if (suppress_normalise(address, target, sizeof(target)) < 0) {
		http_bad_field(r, "address", "'%s' is not an address or @domain", address);
		return;
	}
	if (r->method == EVHTTP_REQ_PUT) {
		suppression_put(r, target);
		return;
	}
	if (scope_param(r, http_query(r, "account"), &scope) < 0)
		return;
	if (r->method == EVHTTP_REQ_GET)
		suppression_get(r, scope, target);
	else if (r->method == EVHTTP_REQ_DELETE)
		suppression_delete(r, scope, target);
	else
		method_not_allowed(r, "GET, PUT, DELETE");
}

struct page {
	int reason;
	int64_t since;
	long limit;
	json_t *arr;
	char last[ACCOUNT_NAME_MAX + ADDRESS_MAX + 1];
	size_t lastlen;
	int full;
};

static int
page_one(const char *scope, const char *target, const struct suppress_rec *rec, void *arg)
{
	struct page *p = arg;
	size_t sl = strlen(scope), tl = strlen(target);

	if ((p->reason > 0 && rec->reason != p->reason) || rec->created < p->since)
		return 0;
	json_array_append_new(p->arr, suppress_entry_json(scope, target, rec));
	memcpy(p->last, scope, sl + 1);
	memcpy(p->last + sl + 1, target, tl);
	p->lastlen = sl + 1 + tl;
	if ((long)json_array_size(p->arr) < p->limit)
		return 0;
	p->full = 1;
	return 1;
}

/* The cursor: the last key returned, hex-encoded (scope NUL target). */
static char *
cursor_encode(const struct page *p)
{
	static const char hex[] = "0123456789abcdef";
	char *s = xmalloc(2 * p->lastlen + 1);

	for (size_t i = 0; i < p->lastlen; i++) {
		s[2 * i] = hex[(uint8_t)p->last[i] >> 4];
		s[2 * i + 1] = hex[(uint8_t)p->last[i] & 15];
	}
	s[2 * p->lastlen] = '\0';
	return s;
}

/* Decode CURSOR into SCOPE and TARGET; -1 if it is not one of ours. */
static int
cursor_decode(const char *cursor, char *scope, char *target)
{
	char key[ACCOUNT_NAME_MAX + ADDRESS_MAX + 1], *nul;
	size_t n = strlen(cursor) / 2;

	if (strlen(cursor) % 2 || n == 0 || n >= sizeof(key))
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(cursor + 2 * i, "%2x", &v) != 1 ||
		    !strchr("0123456789abcdef", cursor[2 * i]) ||
		    !strchr("0123456789abcdef", cursor[2 * i + 1]))
			return -1;
		key[i] = (char)v;
	}
	key[n] = '\0';
	if ((nul = memchr(key, '\0', n)) == NULL || (size_t)(nul - key) >= ACCOUNT_NAME_MAX ||
	    n - (size_t)(nul - key) - 1 >= ADDRESS_MAX ||
	    memchr(nul + 1, '\0', n - (size_t)(nul - key) - 1))
		return -1;
	memcpy(scope, key, (size_t)(nul - key) + 1);
	memcpy(target, nul + 1, n - (size_t)(nul - key) - 1);
	target[n - (size_t)(nul - key) - 1] = '\0';
	return 0;
}

/* The filters of GET /v1/suppression into P; 0 ok, -1 after a 400. */
static int
page_params(struct http_req *r, struct page *p)
{
	const char *reason = http_query(r, "reason"), *limit = http_query(r, "limit");
	char *end;

	p->limit = LIST_LIMIT_DEFAULT;
	if (reason && (p->reason = suppress_reason_parse(reason)) < 0) {
		http_bad_field(r, "reason",
			       "reason must be bounce, complaint, manual or unsubscribe");
		return -1;
	}
	if (limit &&
	    ((p->limit = strtol(limit, &end, 10)) < 1 || p->limit > LIST_LIMIT_MAX || *end)) {
		http_bad_field(r, "limit", "limit must be 1 .. %d", LIST_LIMIT_MAX);
		return -1;
	}
	return time_param(r, "since", 0, &p->since);
}

/* GET /v1/suppression?account=&reason=&since=&limit=&cursor= */
static void
api_suppression_list(struct http_req *r)
{
	const char *scope, *cursor = http_query(r, "cursor");
	char cscope[ACCOUNT_NAME_MAX], ctarget[ADDRESS_MAX], *next;
	struct page p = {0};
	struct store_txn *txn;
	int rc;

	if (scope_param(r, http_query(r, "account"), &scope) < 0 || page_params(r, &p) < 0)
		return;
	if (cursor && *cursor &&
	    (cursor_decode(cursor, cscope, ctarget) < 0 || (scope && strcmp(scope, cscope) != 0))) {
		http_bad_field(r, "cursor", "not a cursor of this listing");
		return;
	}
	if (store_read_begin(r->srv->st, &txn) != STORE_OK) {
		http_store_failed(r);
		return;
	}
	p.arr = json_array();
	rc = cursor && *cursor ? suppress_scan_after(txn, scope, cscope, ctarget, page_one, &p)
			       : suppress_scan(txn, scope, page_one, &p);
	store_read_end(txn);
	if (rc == STORE_ERR) {
		json_decref(p.arr);
		http_store_failed(r);
		return;
	}
	next = p.full ? cursor_encode(&p) : NULL;
	http_reply_json(r, 200, json_pack("{s:o, s:s?}", "entries", p.arr, "next_cursor", next));
	free(next);
}

struct import {
	struct http_req *r;
	enum sio_format fmt;
	const char *def_scope;
	struct sio_entry *e;
	size_t n;
	unsigned long lineno, ok, bad;
	json_t *errors;
};

static int
import_batch(struct store_txn *txn, void *arg)
{
	struct import *im = arg;

	return suppress_put_batch(txn, im->e, im->n, im->r->now);
}

static int
import_flush(struct import *im)
{
	int rc = im->n ? store_write(im->r->srv->st, import_batch, im) : STORE_OK;

	im->n = 0;
	return rc;
}

static void
import_error(struct import *im, const char *why)
{
	im->bad++;
	if (json_array_size(im->errors) < IMPORT_ERRORS_MAX)
		json_array_append_new(im->errors, json_pack("{s:I, s:s}", "line",
							    (json_int_t)im->lineno, "detail", why));
}

/* One line of the body: parse, check the scope, queue. */
static int
import_line(struct import *im, const char *line, size_t len)
{
	struct sio_entry *e = &im->e[im->n];
	char err[256];
	int r = sio_parse_line(im->fmt, line, len, im->r->now, e, err, sizeof(err));

	if (r <= 0) {
		if (r < 0)
			import_error(im, err);
		return STORE_OK;
	}
	if (e->scope[0] == '\0')
		text_copy(e->scope, sizeof(e->scope), im->def_scope);
	if (im->r->token.account[0] && strcmp(e->scope, im->r->token.account) != 0) {
		import_error(im, "this token may import only its own account's entries");
		return STORE_OK;
	}
	im->ok++;
	return ++im->n == IMPORT_BATCH ? import_flush(im) : STORE_OK;
}

/* CSV or JSON lines: ?format=, else the Content-Type, else a first '{' means JSON lines. */
static enum sio_format
import_format(struct http_req *r, struct evbuffer *in)
{
	const char *f = http_query(r, "format"),
		   *ct =
		       evhttp_find_header(evhttp_request_get_input_headers(r->req), "Content-Type");
	unsigned char c = 0;

	if (f)
		return strcmp(f, "csv") == 0 ? SIO_CSV : SIO_JSONL;
	if (ct && strncmp(ct, "text/csv", 8) == 0)
		return SIO_CSV;
	if (ct && (strstr(ct, "ndjson") || strstr(ct, "jsonl") || strstr(ct, "json-lines")))
		return SIO_JSONL;
	evbuffer_copyout(in, &c, 1);
	return c == '{' ? SIO_JSONL : SIO_CSV;
}

/* POST /v1/suppression/import: the body is read line by line from evhttp's buffer (never
 * copied whole) and committed every IMPORT_BATCH rows. */
static void
api_suppression_import(struct http_req *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	const char *f = http_query(r, "format"), *scope;
	struct import im = {.r = r};
	uint64_t entries;
	int rebuilt;
	char *line;
	size_t len;
	int rc = STORE_OK;

	if (r->method != EVHTTP_REQ_POST) {
		method_not_allowed(r, "POST");
		return;
	}
	if (http_need_write(r) < 0 || scope_param(r, http_query(r, "account"), &scope) < 0)
		return;
	if (f && strcmp(f, "csv") != 0 && strcmp(f, "jsonl") != 0) {
		http_bad_field(r, "format", "format must be csv or jsonl");
		return;
	}
	im.fmt = import_format(r, in);
	im.def_scope = scope ? scope : "";
	im.e = xcalloc(IMPORT_BATCH, sizeof(*im.e));
	im.errors = json_array();
	store_set_nosync(r->srv->st, 1);
	while (rc == STORE_OK && (line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
		im.lineno++;
		rc = import_line(&im, line, len);
		free(line);
	}
	if (rc == STORE_OK && evbuffer_get_length(in) > 0) { /* a last line without newline */
		len = evbuffer_get_length(in);
		line = xmalloc(len + 1);
		evbuffer_remove(in, line, len);
		line[len] = '\0';
		im.lineno++;
		rc = import_line(&im, line, len);
		free(line);
	}
	if (rc == STORE_OK)
		rc = import_flush(&im);
	store_set_nosync(r->srv->st, 0);
	if (store_sync(r->srv->st) != STORE_OK)
		rc = STORE_ERR;
	if (rc == STORE_OK && im.ok > 0 &&
	    sfilter_refresh(r->srv->st, &rebuilt, &entries) != STORE_OK)
		rc = STORE_ERR;
	free(im.e);
	if (rc != STORE_OK) {
		json_decref(im.errors);
		http_store_failed(r);
		return;
	}
	http_reply_json(r, 200,
			json_pack("{s:I, s:I, s:o}", "imported", (json_int_t)im.ok, "skipped",
				  (json_int_t)im.bad, "errors", im.errors));
}

static void
api_suppression(struct http_req *r)
{
	if (r->nseg == 1) {
		if (r->method != EVHTTP_REQ_GET)
			method_not_allowed(r, "GET");
		else
			api_suppression_list(r);
	} else if (r->nseg == 2 && strcmp(r->seg[1], "import") == 0) {
		api_suppression_import(r);
	} else if (r->nseg == 2) {
		api_suppression_one(r, r->seg[1]);
	} else {
		http_problem(r, 404, "no such path");
	}
}

/* ---- /v1/events --------------------------------------------------------- */

/* ?type=bounce,complaint as a mask of event_type_parse() bits; 0 ok, -1 after a 400. */
static int
types_param(struct http_req *r, unsigned *mask)
{
	const char *v = http_query(r, "type");
	char buf[256], *save = NULL, *t;
	int i;

	*mask = 0;
	if (v == NULL || *v == '\0')
		return 0;
	if (text_copy(buf, sizeof(buf), v) < 0)
		goto bad;
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if ((i = event_type_parse(t)) < 0)
			goto bad;
		*mask |= 1u << i;
	}
	return 0;
bad:
	http_bad_field(r, "type",
		       "type must be a comma-separated list of send, refusal, delivery, bounce, "
		       "complaint, delay, state, suppress, listing, delisting");
	return -1;
}

/* The filters of GET /v1/events into F; 0 ok, -1 after replying. */
static int
events_params(struct http_req *r, struct eventlog_filter *f)
{
	const char *limit = http_query(r, "limit");
	int64_t since;
	char *end;
	long n = LIST_LIMIT_DEFAULT;

	if (scope_param(r, http_query(r, "account"), &f->account) < 0 ||
	    types_param(r, &f->types) < 0 || time_param(r, "since", 0, &since) < 0)
		return -1;
	if (limit && ((n = strtol(limit, &end, 10)) < 1 || n > LIST_LIMIT_MAX || *end)) {
		http_bad_field(r, "limit", "limit must be 1 .. %d", LIST_LIMIT_MAX);
		return -1;
	}
	f->limit = (size_t)n;
	f->since_ms = since > 0 ? since * 1000 : 0;
	f->scan_max = EVENTS_SCAN_MAX;
	return 0;
}

static struct log_rl events_rl = LOG_RL_INIT(1);

/* GET /v1/events?account=&since=&type=&limit= : the newest events of feedback.event_log,
 * oldest first; no event log configured is an empty list with "enabled": false. */
static void
api_events(struct http_req *r)
{
	const char *path = r->srv->conf->feedback.event_log;
	struct eventlog_filter f = {0};
	json_t *events = NULL;
	int truncated = 0;

	if (r->method != EVHTTP_REQ_GET) {
		method_not_allowed(r, "GET");
		return;
	}
	if (events_params(r, &f) < 0)
		return;
	if (path[0] && eventlog_recent(path, &f, &events, &truncated) < 0) {
		if (log_allow(&events_rl))
			log_warn("http: event log %s", path);
		http_problem(r, 503, "the event log cannot be read");
		return;
	}
	http_reply_json(r, 200,
			json_pack("{s:o, s:b, s:b}", "events", events ? events : json_array(),
				  "enabled", path[0] != '\0', "truncated", truncated));
}

/* ---- dispatch ----------------------------------------------------------- */

/* Only the import may send a large body; evhttp has read it whole already. */
static int
body_too_large(struct http_req *r)
{
	size_t n = evbuffer_get_length(evhttp_request_get_input_buffer(r->req));
	int import = r->nseg == 2 && strcmp(r->seg[0], "suppression") == 0 &&
		     strcmp(r->seg[1], "import") == 0;

	if (import || n <= HTTP_BODY_MAX)
		return 0;
	http_problem(r, 413,
		     "the body is larger than %d bytes (only POST /v1/suppression/import "
		     "takes up to %d)",
		     HTTP_BODY_MAX, HTTP_IMPORT_BODY_MAX);
	return 1;
}

void
http_api(struct http_req *r)
{
	if (r->nseg == 0) {
		http_problem(r, 404, "no such path");
		return;
	}
	if (body_too_large(r))
		return;
	if (strcmp(r->seg[0], "status") == 0 && r->nseg == 1) {
		if (r->token.account[0])
			http_problem(r, 403, "this token is bound to account %s", r->token.account);
		else
			api_status(r);
	} else if (strcmp(r->seg[0], "token") == 0 && r->nseg == 1) {
		api_token(r);
	} else if (strcmp(r->seg[0], "accounts") == 0) {
		api_accounts(r);
	} else if (strcmp(r->seg[0], "suppression") == 0) {
		api_suppression(r);
	} else if (strcmp(r->seg[0], "events") == 0 && r->nseg == 1) {
		api_events(r);
	} else {
		http_problem(r, 404, "no such path");
	}
}
