/* http -- the http process: evhttp, routing, tokens, /healthz, /metrics, files; see http.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http.h"
#include "http_int.h"
#include "http/token.h"
#include "account/account.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xalloc.h"
#include "worker/worker.h"
#include "worker/stats_view.h"

#define RL_SLOTS 1024 /* client addresses the rate limit tracks at once */
#define STATIC_MAX (8 << 20)

static const struct http_args *A;

/* ---- replies ------------------------------------------------------------ */

static void
send_reply(struct http_req *r, int status, const char *ctype, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (status / 100 >= 1 && status / 100 <= 5)
		r->srv->replies[status / 100]++;
	evhttp_send_reply(r->req, status, NULL, body);
}

void
http_reply_json(struct http_req *r, int status, json_t *o)
{
	struct evbuffer *b = evbuffer_new();
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	evbuffer_add(b, s, strlen(s));
	evbuffer_add(b, "\n", 1);
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Cache-Control", "no-store");
	send_reply(r, status, "application/json", b);
	evbuffer_free(b);
	free(s);
	json_decref(o);
}

static const char *
status_title(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

static void
problem_v(struct http_req *r, int status, const char *field, const char *fmt, va_list ap)
{
	struct evbuffer *b = evbuffer_new();
	char detail[512], *s;
	json_t *o;

	vsnprintf(detail, sizeof(detail), fmt, ap);
	o = json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title", status_title(status),
		      "status", status, "detail", detail);
	if (field)
		json_object_set_new(o, "field", json_string(field));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	evbuffer_add(b, s, strlen(s));
	evbuffer_add(b, "\n", 1);
	if (status == 401)
		evhttp_add_header(evhttp_request_get_output_headers(r->req), "WWW-Authenticate",
				  "Bearer realm=\"outpost\"");
	send_reply(r, status, "application/problem+json", b);
	evbuffer_free(b);
	free(s);
	json_decref(o);
}

void
http_problem(struct http_req *r, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	problem_v(r, status, NULL, fmt, ap);
	va_end(ap);
}

void
http_bad_field(struct http_req *r, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	problem_v(r, 400, field, fmt, ap);
	va_end(ap);
}

static struct log_rl store_rl = LOG_RL_INIT(1);

void
http_store_failed(struct http_req *r)
{
	if (log_allow(&store_rl))
		log_warnx("http: store: %s", store_error(r->srv->st));
	http_problem(r, 503, "the store is not available");
}

/* ---- request helpers ---------------------------------------------------- */

const char *
http_query(struct http_req *r, const char *name)
{
	return evhttp_find_header(&r->query, name);
}

int
http_account_allowed(struct http_req *r, const char *account)
{
	if (r->token.account[0] == '\0' || strcmp(r->token.account, account) == 0)
		return 0;
	http_problem(r, 403, "this token is bound to account %s", r->token.account);
	return -1;
}

int
http_need_write(struct http_req *r)
{
	if (r->token.scope == TS_WRITE)
		return 0;
	http_problem(r, 403, "token %s is read-only", r->token.name);
	return -1;
}

json_t *
http_body_json(struct http_req *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t n = evbuffer_get_length(in);
	json_error_t je;
	json_t *o;

	if (n > HTTP_BODY_MAX) {
		http_problem(r, 413, "the body is larger than %d bytes", HTTP_BODY_MAX);
		return NULL;
	}
	o = json_loadb((const char *)evbuffer_pullup(in, -1), n, 0, &je);
	if (o == NULL) {
		http_bad_field(r, "body", "malformed JSON at line %d column %d: %s", je.line,
			       je.column, je.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		http_bad_field(r, "body", "expected a JSON object");
		return NULL;
	}
	return o;
}

/* ---- rate limit --------------------------------------------------------- */

struct rl_slot {
	char addr[48];
	int64_t window; /* the current window's number */
	int64_t count;
};
static struct rl_slot rl[RL_SLOTS];

/* Fixed windows of rate_limit.per seconds per client address; 1 when over. */
static int
rate_limited(struct http_req *r, const char *addr)
{
	const struct conf_rate *lim = &r->srv->conf->http.rate_limit;
	uint64_t h = 1469598103934665603ULL;
	struct rl_slot *s;
	int64_t w;

	if (lim->n == 0)
		return 0;
	for (const char *p = addr; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	s = &rl[h % RL_SLOTS];
	w = r->now / lim->per;
	if (strcmp(s->addr, addr) != 0 || s->window != w) {
		text_copy(s->addr, sizeof(s->addr), addr);
		s->window = w;
		s->count = 0;
	}
	return ++s->count > lim->n;
}

/* ---- auth --------------------------------------------------------------- */

static int
is_loopback(const char *addr)
{
	return addr == NULL || addr[0] == '\0' || strncmp(addr, "127.", 4) == 0 ||
	       strcmp(addr, "::1") == 0 || strncmp(addr, "::ffff:127.", 11) == 0;
}

static const char *
peer_addr(struct http_req *r)
{
	char *addr = NULL;
	ev_uint16_t port;

	evhttp_connection_get_peer(evhttp_request_get_connection(r->req), &addr, &port);
	return addr ? addr : "";
}

/* Check the bearer token; 0 with r->token filled, or -1 after replying 401. */
static int
authenticate(struct http_req *r)
{
	const char *h =
	    evhttp_find_header(evhttp_request_get_input_headers(r->req), "Authorization");
	struct store_txn *txn;
	int rc;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		http_problem(r, 401, "an Authorization: Bearer TOKEN header is needed");
		return -1;
	}
	for (h += 7; *h == ' '; h++)
		;
	if (strlen(h) != TOKEN_TEXT_LEN) {
		http_problem(r, 401, "unknown token");
		return -1;
	}
	if (store_read_begin(r->srv->st, &txn) != STORE_OK) {
		http_store_failed(r);
		return -1;
	}
	rc = token_lookup(txn, h, &r->token);
	store_read_end(txn);
	if (rc == STORE_ERR) {
		http_store_failed(r);
		return -1;
	}
	if (rc != STORE_OK) {
		http_problem(r, 401, "unknown token");
		return -1;
	}
	snprintf(r->by, sizeof(r->by), "api:%s", r->token.name);
	return 0;
}

/* ---- /healthz and /metrics ---------------------------------------------- */

static void
healthz(struct http_req *r)
{
	struct store_txn *txn;

	if (store_read_begin(r->srv->st, &txn) != STORE_OK) {
		http_store_failed(r);
		return;
	}
	store_read_end(txn);
	http_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static int
count_state(const char *name, const struct account_rec *rec, void *arg)
{
	uint64_t *n = arg;

	if (rec->state <= AS_PAUSED)
		n[rec->state]++;
	return 0;
}

/* One counter per process kind, summed over the slots of that kind. */
static void
metrics_children(struct evbuffer *b)
{
	static const char *const kinds[] = {"policy", "milter", "milter-non-smtpd", "feedback",
					    "http"};
	static const struct {
		const char *name, *help;
		size_t off;
	} ctr[] = {
	    {"requests", "requests answered (log lines read by feedback)",
	     offsetof(struct worker_stats, requests)},
	    {"refusals", "requests refused", offsetof(struct worker_stats, refusals)},
	    {"would_refuse", "refusals not applied (monitor mode)",
	     offsetof(struct worker_stats, would_refuse)},
	    {"bad_requests", "malformed requests", offsetof(struct worker_stats, bad_requests)},
	    {"store_errors", "store failures", offsetof(struct worker_stats, store_errors)},
	    {"connections", "connections accepted", offsetof(struct worker_stats, connections)},
	};

	for (size_t c = 0; c < sizeof(ctr) / sizeof(ctr[0]); c++) {
		evbuffer_add_printf(b,
				    "# HELP outpost_%s_total %s\n# TYPE outpost_%s_total counter\n",
				    ctr[c].name, ctr[c].help, ctr[c].name);
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			uint64_t sum = 0;
			for (size_t i = 0; i < A->nall; i++)
				if (strcmp(A->kinds[i], kinds[k]) == 0)
					sum += *(const uint64_t *)((const char *)&A->all[i] +
								   ctr[c].off);
			evbuffer_add_printf(b, "outpost_%s_total{process=\"%s\"} %llu\n",
					    ctr[c].name, kinds[k], (unsigned long long)sum);
		}
	}
}

/* Decisions by door, rule and reply class. */
static void
metrics_decisions(struct evbuffer *b, const struct stats_view *v)
{
	evbuffer_add_printf(b, "# HELP outpost_decisions_total decisions by front door, rule "
			       "that fired (none: a pass) and reply class\n"
			       "# TYPE outpost_decisions_total counter\n");
	for (int d = 0; d < VIEW_DOORS; d++)
		for (size_t r = 0; r < DOOR_RULES; r++)
			for (int c = 0; c < RC_COUNT; c++)
				evbuffer_add_printf(
				    b,
				    "outpost_decisions_total{door=\"%s\",rule=\"%s\",reply=\"%s\"} "
				    "%llu\n",
				    stats_view_door_name(d), door_rule_name(r), reply_class_name(c),
				    (unsigned long long)v->door[d].decisions[r][c]);
}

/* US microseconds as seconds in plain decimal, no exponent, no trailing zeros ("0.000025"). */
static const char *
seconds_text(uint64_t us, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "%llu.%06llu", (unsigned long long)(us / 1000000),
				    (unsigned long long)(us % 1000000));

	while (n > 0 && n < len && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && n < len && buf[n - 1] == '.')
		buf[--n] = '\0';
	return buf;
}

/* The latency histogram of each door, cumulative buckets in seconds. */
static void
metrics_latency(struct evbuffer *b, const struct stats_view *v)
{
	static const char *const m = "outpost_request_duration_seconds";

	evbuffer_add_printf(b,
			    "# HELP %s time from a request's arrival to its reply, DNS included\n"
			    "# TYPE %s histogram\n",
			    m, m);
	for (int d = 0; d < VIEW_DOORS; d++) {
		const struct door_stats *s = &v->door[d];
		const char *door = stats_view_door_name(d);
		uint64_t cum = 0;
		for (size_t i = 0; i < DOOR_BUCKETS; i++) {
			char le[32];
			cum += s->buckets[i];
			evbuffer_add_printf(b, "%s_bucket{door=\"%s\",le=\"%s\"} %llu\n", m, door,
					    seconds_text(door_bucket_us[i], le, sizeof(le)),
					    (unsigned long long)cum);
		}
		cum += s->buckets[DOOR_BUCKETS];
		evbuffer_add_printf(b, "%s_bucket{door=\"%s\",le=\"+Inf\"} %llu\n", m, door,
				    (unsigned long long)cum);
		evbuffer_add_printf(b, "%s_sum{door=\"%s\"} %.6f\n%s_count{door=\"%s\"} %llu\n", m,
				    door, (double)s->latency_sum_us / 1e6, m, door,
				    (unsigned long long)s->latency_count);
	}
}

/* One counter or gauge without labels. */
static void
metric_one(struct evbuffer *b, const char *name, const char *type, const char *help, long long n)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", name, help, name, type,
			    name, n);
}

/* Decisions, latencies, DNS and feedback figures from every child's shared counters. */
static void
metrics_live(struct evbuffer *b)
{
	struct stats_view v;

	stats_view_sum(A->all, A->kinds, A->nall, &v);
	metrics_decisions(b, &v);
	metrics_latency(b, &v);
	metric_one(b, "outpost_dns_queries_total", "counter",
		   "DNS queries asked of a server (cache misses)", (long long)v.dns_queries);
	metric_one(b, "outpost_dns_cache_hits_total", "counter",
		   "DNS questions answered from the shared cache", (long long)v.dns_cache_hits);
	metric_one(b, "outpost_dns_failures_total", "counter",
		   "DNS queries that failed (timeout, SERVFAIL, REFUSED, unreachable)",
		   (long long)v.dns_failures);
	if (v.feedback_lag_bytes >= 0)
		metric_one(b, "outpost_feedback_lag_bytes", "gauge",
			   "bytes of the mail log not read yet by feedback",
			   (long long)v.feedback_lag_bytes);
}

static void
metrics(struct http_req *r)
{
	struct evbuffer *b = evbuffer_new();
	struct store_stat sup, acc;
	struct store_txn *txn;
	uint64_t states[3] = {0, 0, 0};
	int rc;

	if (store_read_begin(r->srv->st, &txn) != STORE_OK) {
		evbuffer_free(b);
		http_store_failed(r);
		return;
	}
	rc = account_scan(txn, count_state, states);
	store_read_end(txn);
	if (rc == STORE_ERR || store_db_stat(r->srv->st, DB_SUPPRESS, &sup) != STORE_OK ||
	    store_db_stat(r->srv->st, DB_ACCOUNT, &acc) != STORE_OK) {
		evbuffer_free(b);
		http_store_failed(r);
		return;
	}
	evbuffer_add_printf(b, "# HELP outpost_accounts accounts by state\n"
			       "# TYPE outpost_accounts gauge\n");
	for (int s = AS_ACTIVE; s <= AS_PAUSED; s++)
		evbuffer_add_printf(b, "outpost_accounts{state=\"%s\"} %llu\n",
				    account_state_name(s), (unsigned long long)states[s]);
	evbuffer_add_printf(
	    b,
	    "# HELP outpost_suppression_entries entries on every suppression list\n"
	    "# TYPE outpost_suppression_entries gauge\noutpost_suppression_entries %llu\n"
	    "# HELP outpost_store_used_bytes bytes of the LMDB map in use\n"
	    "# TYPE outpost_store_used_bytes gauge\noutpost_store_used_bytes %llu\n"
	    "# HELP outpost_store_map_size_bytes size of the LMDB map\n"
	    "# TYPE outpost_store_map_size_bytes gauge\noutpost_store_map_size_bytes %llu\n",
	    (unsigned long long)sup.entries, (unsigned long long)sup.used_bytes,
	    (unsigned long long)sup.map_size);
	metrics_children(b);
	metrics_live(b);
	evbuffer_add_printf(b, "# HELP outpost_http_replies_total HTTP replies by status class\n"
			       "# TYPE outpost_http_replies_total counter\n");
	for (int c = 1; c <= 5; c++)
		evbuffer_add_printf(b, "outpost_http_replies_total{class=\"%dxx\"} %llu\n", c,
				    (unsigned long long)r->srv->replies[c]);
	send_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", b);
	evbuffer_free(b);
}

/* ---- files -------------------------------------------------------------- */

static const char *
file_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {{".html", "text/html; charset=utf-8"},
		     {".js", "text/javascript; charset=utf-8"},
		     {".css", "text/css; charset=utf-8"},
		     {".svg", "image/svg+xml"},
		     {".png", "image/png"},
		     {".ico", "image/x-icon"}};
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t e = strlen(types[i].ext);
		if (n > e && strcmp(name + n - e, types[i].ext) == 0)
			return types[i].type;
	}
	return "application/octet-stream";
}

/* Send FILE (a regular file) or 404. */
static void
send_file(struct http_req *r, const char *file)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	struct evbuffer *b;
	struct stat sb;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > STATIC_MAX) {
		if (fd >= 0)
			close(fd);
		http_problem(r, 404, "no such file");
		return;
	}
	b = evbuffer_new();
	evbuffer_add_file(b, fd, 0, sb.st_size); /* takes the descriptor */
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "Content-Security-Policy",
			  "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	send_reply(r, 200, file_type(file), b);
	evbuffer_free(b);
}

/* The dashboard: "/" is index.html; other names are plain files of web_root, no subdirectories. */
static void
static_file(struct http_req *r)
{
	const char *name = r->path + 1;
	char file[4400];

	if (strcmp(r->path, "/js/chart.js") == 0) {
		send_file(r, r->srv->conf->http.chartjs);
		return;
	}
	if (*name == '\0')
		name = "index.html";
	if (!text_is_token(name, 64) || name[0] == '.') {
		http_problem(r, 404, "no such file");
		return;
	}
	snprintf(file, sizeof(file), "%s/%s", r->srv->conf->http.web_root, name);
	send_file(r, file);
}

/* ---- dispatch ----------------------------------------------------------- */

/* Split the decoded path after "/v1/" into segments; -1 if there are too many. */
static int
split_path(struct http_req *r, const char *raw)
{
	char *copy = xstrdup(raw), *save = NULL;
	int rc = 0;

	r->nseg = 0;
	for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (r->nseg == (int)(sizeof(r->seg) / sizeof(r->seg[0]))) {
			rc = -1;
			break;
		}
		r->seg[r->nseg++] = evhttp_uridecode(t, 0, NULL);
	}
	free(copy);
	return rc;
}

static void
req_free(struct http_req *r)
{
	for (int i = 0; i < r->nseg; i++)
		free(r->seg[i]);
	evhttp_clear_headers(&r->query);
	free(r->path);
}

/* Is this a GET or HEAD (a read)? */
static int
is_read(const struct http_req *r)
{
	return r->method == EVHTTP_REQ_GET || r->method == EVHTTP_REQ_HEAD;
}

static void
route(struct http_req *r, const char *peer)
{
	if (strcmp(r->path, "/healthz") == 0) {
		healthz(r);
	} else if (strcmp(r->path, "/metrics") == 0) {
		if (r->srv->conf->http.metrics_open && is_loopback(peer))
			metrics(r);
		else if (authenticate(r) == 0)
			metrics(r);
	} else if (strncmp(r->path, "/v1/", 4) == 0 || strcmp(r->path, "/v1") == 0) {
		if (rate_limited(r, peer))
			http_problem(r, 429, "more than %lld requests in %lld s from %s",
				     (long long)r->srv->conf->http.rate_limit.n,
				     (long long)r->srv->conf->http.rate_limit.per, peer);
		else if (split_path(r, r->path + 3) < 0)
			http_problem(r, 404, "no such path");
		else if (authenticate(r) == 0)
			http_api(r);
	} else if (is_read(r)) {
		static_file(r);
	} else {
		http_problem(r, 405, "only GET here");
	}
}

/* Keep-alive replies go out at once: Nagle with delayed ACKs would hold each back 40 ms. */
static void
nodelay(struct evhttp_request *req)
{
	struct bufferevent *bev =
	    evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));
	int on = 1, fd = bev ? (int)bufferevent_getfd(bev) : -1;

	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/* Every request: split it once, route it. */
static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct http_req r = {.srv = arg, .req = req, .now = (int64_t)time(NULL)};
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = evhttp_uri_get_path(uri), *q = evhttp_uri_get_query(uri);

	TAILQ_INIT(&r.query);
	nodelay(req);
	r.srv->requests++;
	if (A->stats)
		A->stats->requests++;
	r.method = evhttp_request_get_command(req);
	r.path = evhttp_uridecode(path && *path ? path : "/", 0, NULL);
	if (q && evhttp_parse_query_str(q, &r.query) < 0)
		http_bad_field(&r, "query", "malformed query string");
	else
		route(&r, peer_addr(&r));
	req_free(&r);
}

/* ---- the process -------------------------------------------------------- */

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(arg, NULL);
}

static void
http_setup(struct http_server *srv, const struct http_args *args)
{
	struct store_opts so = {args->conf->store.map_size, args->conf->store.max_readers, 0, 1};
	char err[512];

	if ((srv->st = store_open(args->conf->store.path, &so, err, sizeof(err))) == NULL)
		fatalx("http: %s", err);
	if ((srv->base = event_base_new()) == NULL || (srv->http = evhttp_new(srv->base)) == NULL)
		fatalx("http: cannot create the event base");
	evhttp_set_max_body_size(srv->http, HTTP_IMPORT_BODY_MAX);
	evhttp_set_max_headers_size(srv->http, 64 << 10);
	evhttp_set_timeout(srv->http, 60);
	evhttp_set_flags(srv->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
						  EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(srv->http, request_cb, srv);
	for (int i = 0; i < args->nlisten; i++)
		if (evhttp_accept_socket_with_handle(srv->http, args->listen_fds[i]) == NULL)
			fatalx("http: cannot serve listener %d", i);
}

void
http_main(const struct http_args *args)
{
	struct http_server srv = {.conf = args->conf};
	struct event *ev_term, *ev_int;

	A = args;
	log_procname("http");
	prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the master */
	signal(SIGHUP, SIG_IGN);	  /* reload: the master restarts us */
	signal(SIGUSR1, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	http_setup(&srv, args);
	ev_term = evsignal_new(srv.base, SIGTERM, signal_cb, srv.base);
	ev_int = evsignal_new(srv.base, SIGINT, signal_cb, srv.base);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	if (getppid() == 1)
		exit(0); /* the master died before we set PDEATHSIG */
	log_debug("http: serving %d listeners", args->nlisten);
	event_base_dispatch(srv.base);
	evhttp_free(srv.http);
	event_free(ev_term);
	event_free(ev_int);
	event_base_free(srv.base);
	store_close(srv.st);
	exit(0);
}
