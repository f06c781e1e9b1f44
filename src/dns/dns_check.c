/* dns_check -- one request's blocklist and recipient-domain lookups; see dns_check.h. */
#include "config.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns_check.h"
#include "dns/dns_health.h"
#include "dns/mx.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xalloc.h"

enum qkind { Q_LIST, Q_MX, Q_ADDR };
enum phase { PH_NONE, PH_MX, PH_ADDR, PH_DONE };

/* One query of a check; outlives the check if abandoned at the deadline. */
struct dq {
	struct dns_check *chk; /* NULL: abandoned, just free on callback */
	struct dq *next, *prev;
	int kind; /* enum qkind */
	int idx;  /* list index, or name index (Q_ADDR) */
	int type; /* ns_t_a / ns_t_aaaa for Q_ADDR */
};

/* The hosts whose addresses decide whether the recipient domain can receive mail. */
struct hosts {
	char names[MX_HOSTS_MAX][MX_HOST_LEN];
	int addr[MX_HOSTS_MAX][2]; /* enum addr_state of A, AAAA */
};

struct dns_check {
	struct dns_resolver *r;
	struct dns_facts *df;
	void (*done)(void *arg);
	void *arg;
	struct event *deadline;
	struct dq *qs; /* outstanding */
	unsigned pending;
	int starting;	 /* inside dns_check_start: completion is reported by its return */
	int fail_closed; /* dns.fail, for the log */
	int phase;	 /* of the domain check, enum phase */
	int none_state;
	int64_t dom_expires; /* the domain's answers hold until then; 0: not all known to */
	struct hosts *hosts; /* allocated when the MX answer names hosts to resolve */
	size_t nnames;
	unsigned addr_pending; /* address lookups not answered yet */
	int addr_issuing;      /* inside ask_addresses(): don't conclude yet */
};

static struct log_rl fail_rl = LOG_RL_INIT(10);

/* "local@Domain" -> "domain" in OUT; -1 without a usable domain. */
static int
address_domain(const char *addr, char *out, size_t len)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	if (at == NULL || text_copy(out, len, at + 1) < 0)
		return -1;
	text_lower(out);
	return dnsbl_domain_ok(out) ? 0 : -1;
}

/* Plan one list: what it is asked about, or SKIPPED. */
static int
plan_list(const struct dnsbl_list *l, const struct facts *f, struct dns_list_result *res)
{
	char dom[DNSBL_NAME_MAX];

	res->list = l;
	res->state = DNSBL_SKIPPED;
	res->asked[0] = res->detail[0] = '\0';
	if (l->skip_authenticated && f->sasl_username && f->sasl_username[0])
		return 0;
	if (l->query == DNSBL_Q_FROM_DOMAIN) {
		/* Only the milter sees headers: a policy request has none (skipped, silently). */
		if (f->from_domain == NULL || text_copy(dom, sizeof(dom), f->from_domain) < 0 ||
		    !dnsbl_domain_ok(text_lower(dom)))
			return 0;
		text_copy(res->asked, sizeof(res->asked), dom);
	} else if (f->stage == STAGE_EOH) {
		return 0; /* asked at MAIL and RCPT already */
	} else if (l->query == DNSBL_Q_CLIENT) {
		if (f->client_address == NULL ||
		    dnsbl_name_addr(f->client_address, "x", dom, sizeof(dom)) < 0)
			return 0;
		text_copy(res->asked, sizeof(res->asked), f->client_address);
	} else {
		if (address_domain(f->sender, dom, sizeof(dom)) < 0)
			return 0;
		text_copy(res->asked, sizeof(res->asked), dom);
	}
	res->state = DNSBL_NOT_LISTED;
	return 1;
}

int
dns_check_plan(const struct conf *conf, const struct facts *f, struct dns_facts *df)
{
	int n = 0;

	/* Only the header: the list slots are filled as they are planned (no 8 KB memset). */
	df->nlists = 0;
	df->domain_state = DOMAIN_UNCHECKED;
	df->domain[0] = df->domain_detail[0] = '\0';
	if (f->stage != STAGE_MAIL && f->stage != STAGE_RCPT && f->stage != STAGE_EOH)
		return 0;
	df->nlists = conf->dnsbl.n < DNS_FACTS_LISTS ? conf->dnsbl.n : DNS_FACTS_LISTS;
	for (size_t i = 0; i < df->nlists; i++)
		n += plan_list(&conf->dnsbl.v[i], f, &df->lists[i]);
	if (conf->dns.bounce_prevention && f->stage == STAGE_RCPT &&
	    address_domain(f->recipient, df->domain, sizeof(df->domain)) == 0) {
		df->domain_state = DOMAIN_TRANSIENT; /* until answered */
		n++;
	}
	return n;
}

static void query_cb(void *arg, const struct dns_result *res);
static void check_free(struct dns_check *chk);

static void
ask(struct dns_check *chk, const char *name, int type, int kind, int idx)
{
	struct dq *q = xcalloc(1, sizeof(*q));

	q->chk = chk;
	q->kind = kind;
	q->idx = idx;
	q->type = type;
	q->next = chk->qs;
	if (chk->qs)
		chk->qs->prev = q;
	chk->qs = q;
	chk->pending++;
	dns_resolver_query(chk->r, name, type, query_cb, q);
}

/* A list's A records: listed, not listed, or an error code. */
static void
on_list(struct dns_check *chk, int idx, const struct dns_result *res)
{
	struct dns_list_result *lr = &chk->df->lists[idx];
	const struct dns_answer *a = res->answer;

	if (res->status != ARES_SUCCESS && !dns_status_is_answer(res->status)) {
		lr->state = DNSBL_FAILED;
		text_copy(lr->detail, sizeof(lr->detail), dns_status_text(res->status));
		return;
	}
	if (res->status != ARES_SUCCESS || a->n == 0) {
		lr->state = DNSBL_NOT_LISTED; /* NXDOMAIN, or no address */
		return;
	}
	lr->state = dnsbl_interpret(lr->list, a->addr, a->n, lr->detail, sizeof(lr->detail));
}

static void domain_finish(struct dns_check *chk);

/* Ask A and AAAA of every name in chk->names. */
static void
ask_addresses(struct dns_check *chk)
{
	chk->phase = PH_ADDR;
	chk->addr_issuing = 1;
	chk->addr_pending += 2 * (unsigned)chk->nnames;
	for (size_t i = 0; i < chk->nnames; i++) {
		ask(chk, chk->hosts->names[i], ns_t_a, Q_ADDR, (int)i);
		ask(chk, chk->hosts->names[i], ns_t_aaaa, Q_ADDR, (int)i);
	}
	chk->addr_issuing = 0;
	if (chk->addr_pending == 0)
		domain_finish(chk); /* every answer was cached */
}

/* The earlier of two expiry times, 0 (unknown) winning. */
static int64_t
expires_min(int64_t a, int64_t b)
{
	return a == 0 || b == 0 ? 0 : a < b ? a : b;
}

/*
 * The domain's state is known.  Unless it is transient, keep it as one cache
 * entry for as long as every answer it was drawn from holds: the next
 * recipient at the domain costs one cache lookup instead of MX, A and AAAA.
 */
static void
domain_set(struct dns_check *chk, int state, const char *why)
{
	chk->phase = PH_DONE;
	chk->df->domain_state = state;
	if (why)
		text_copy(chk->df->domain_detail, sizeof(chk->df->domain_detail), why);
	if (state != DOMAIN_TRANSIENT && chk->dom_expires > 0) {
		struct dns_answer v = {.status = ARES_SUCCESS, .n = (uint16_t)state};
		dns_resolver_cache_put(chk->r, DNS_T_DOMAIN_VERDICT, chk->df->domain, &v,
				       chk->dom_expires);
	}
}

/* The domain's state from the cache, if an earlier check concluded it: 1, or 0. */
static int
domain_cached(struct dns_check *chk)
{
	struct dns_answer v;

	if (!dns_resolver_cache_get(chk->r, DNS_T_DOMAIN_VERDICT, chk->df->domain, &v) ||
	    v.n < DOMAIN_OK || v.n > DOMAIN_BADMX || v.n == DOMAIN_TRANSIENT)
		return 0;
	chk->phase = PH_DONE;
	chk->df->domain_state = v.n;
	return 1;
}

/* Room for the hosts whose addresses are asked. */
static struct hosts *
hosts_get(struct dns_check *chk)
{
	if (chk->hosts == NULL)
		chk->hosts = xcalloc(1, sizeof(*chk->hosts));
	return chk->hosts;
}

/* The MX answer: NXDOMAIN, null MX, hosts to resolve, or the implicit MX. */
static void
on_mx(struct dns_check *chk, const struct dns_result *res)
{
	const struct dns_answer *a = res->answer;

	chk->dom_expires = res->expires;
	if (res->status == ARES_ENOTFOUND) {
		domain_set(chk, DOMAIN_NXDOMAIN, NULL);
		return;
	}
	if (res->status == ARES_ENODATA) {
		/* No MX: the domain itself is the implicit MX (RFC 5321 5.1). */
		text_copy(hosts_get(chk)->names[0], MX_HOST_LEN, chk->df->domain);
		chk->nnames = 1;
		chk->none_state = DOMAIN_NOMAIL;
		ask_addresses(chk);
		return;
	}
	if (res->status != ARES_SUCCESS) {
		domain_set(chk, DOMAIN_TRANSIENT, dns_status_text(res->status));
		return;
	}
	if (a->flags & DNS_ANSWER_NULLMX) {
		domain_set(chk, DOMAIN_NULLMX, NULL);
		return;
	}
	for (unsigned i = 0; i < a->n && i < MX_HOSTS_MAX; i++)
		text_copy(hosts_get(chk)->names[i], MX_HOST_LEN, dns_answer_host(a, i));
	chk->nnames = a->n < MX_HOSTS_MAX ? a->n : MX_HOSTS_MAX;
	/* Hosts left out of a long answer might have addresses: never conclude "bad MX". */
	chk->none_state = (a->flags & DNS_ANSWER_TRUNCATED) ? DOMAIN_TRANSIENT : DOMAIN_BADMX;
	ask_addresses(chk);
}

static void
on_addr(struct dns_check *chk, const struct dq *q, const struct dns_result *res)
{
	int *st = &chk->hosts->addr[q->idx][q->type == ns_t_a ? 0 : 1];

	chk->dom_expires = expires_min(chk->dom_expires, res->expires);
	if (res->status == ARES_SUCCESS)
		*st = res->answer->n > 0 ? ADDR_HAS : ADDR_NONE;
	else if (res->status == ARES_ENOTFOUND || res->status == ARES_ENODATA)
		*st = ADDR_NONE;
	else
		*st = ADDR_FAILED;
}

/* The domain's state once every address lookup is in (or abandoned). */
static void
domain_finish(struct dns_check *chk)
{
	int states[MX_HOSTS_MAX * 2];

	if (chk->phase == PH_MX) {
		domain_set(chk, DOMAIN_TRANSIENT, "no MX answer within dns.timeout");
		return;
	}
	if (chk->phase != PH_ADDR)
		return;
	for (size_t i = 0; i < chk->nnames; i++) {
		states[2 * i] = chk->hosts->addr[i][0];
		states[2 * i + 1] = chk->hosts->addr[i][1];
	}
	domain_set(chk, mx_addr_verdict(states, chk->nnames * 2, chk->none_state),
		   "address lookups failed or timed out");
}

/* Log what an operator must hear about (failed lists, hits that only log); count. */
static void
report(const struct dns_facts *df, int deadline_hit, int fail_closed)
{
	int64_t now = time(NULL);

	dns_health_count(deadline_hit, df->domain_state >= DOMAIN_NXDOMAIN);
	for (size_t i = 0; i < df->nlists; i++) {
		const struct dns_list_result *lr = &df->lists[i];
		dns_health_note(i, lr->list->name, lr->state, lr->detail, now);
		if (lr->state == DNSBL_FAILED) {
			if (log_allow(&fail_rl))
				log_warnx("dnsbl: %s (%s): lookup of %s failed: %s; dns.fail=%s",
					  lr->list->name, lr->list->zone, lr->asked, lr->detail,
					  fail_closed ? "closed" : "open");
		} else if (lr->state == DNSBL_LISTED) {
			if (lr->list->action >= DNSBL_A_REVIEW)
				log_info("dnsbl: %s is listed on %s (%s) action=%s", lr->asked,
					 lr->list->name, lr->detail,
					 dnsbl_action_name(lr->list->action));
		}
	}
}

/* Everything answered or the deadline passed: abandon the rest, fill the gaps. */
static void
check_finish(struct dns_check *chk, int deadline_hit)
{
	for (struct dq *q = chk->qs; q; q = q->next)
		q->chk = NULL;
	chk->qs = NULL;
	if (chk->phase != PH_DONE && chk->phase != PH_NONE) {
		chk->dom_expires = 0; /* drawn from a partial picture: never kept */
		domain_finish(chk);
	}
	report(chk->df, deadline_hit, chk->fail_closed);
	if (chk->deadline)
		event_free(chk->deadline);
	chk->deadline = NULL;
}

static void
query_cb(void *arg, const struct dns_result *res)
{
	struct dq *q = arg;
	struct dns_check *chk = q->chk;

	if (chk == NULL) {
		free(q);
		return;
	}
	if (q->prev)
		q->prev->next = q->next;
	else
		chk->qs = q->next;
	if (q->next)
		q->next->prev = q->prev;
	if (q->kind == Q_LIST)
		on_list(chk, q->idx, res);
	else if (q->kind == Q_MX)
		on_mx(chk, res);
	else
		on_addr(chk, q, res);
	chk->pending--;
	if (q->kind == Q_ADDR && --chk->addr_pending == 0 && !chk->addr_issuing)
		domain_finish(chk);
	free(q);
	if (chk->pending == 0 && !chk->starting && chk->done) {
		void (*done)(void *) = chk->done;
		void *darg = chk->arg;
		check_finish(chk, 0);
		check_free(chk);
		done(darg);
	}
}

/* Lists still unanswered at the deadline have failed. */
static void
mark_unanswered(struct dns_check *chk)
{
	for (struct dq *q = chk->qs; q; q = q->next)
		if (q->kind == Q_LIST) {
			struct dns_list_result *lr = &chk->df->lists[q->idx];
			lr->state = DNSBL_FAILED;
			text_copy(lr->detail, sizeof(lr->detail), "no answer within dns.timeout");
		}
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_check *chk = arg;
	void (*done)(void *) = chk->done;
	void *darg = chk->arg;

	(void)fd;
	(void)what;
	mark_unanswered(chk);
	check_finish(chk, 1);
	check_free(chk);
	done(darg);
}

/* Issue the first round: every list, and the MX of the domain. */
static void
ask_all(struct dns_check *chk)
{
	char name[DNSBL_NAME_MAX];

	for (size_t i = 0; i < chk->df->nlists; i++) {
		struct dns_list_result *lr = &chk->df->lists[i];
		int rc;
		if (lr->state == DNSBL_SKIPPED)
			continue;
		rc = lr->list->query == DNSBL_Q_CLIENT
			 ? dnsbl_name_addr(lr->asked, lr->list->zone, name, sizeof(name))
			 : dnsbl_name_domain(lr->asked, lr->list->zone, name, sizeof(name));
		if (rc < 0) {
			lr->state = DNSBL_SKIPPED; /* the name would be too long */
			continue;
		}
		ask(chk, name, ns_t_a, Q_LIST, (int)i);
	}
	if (chk->df->domain[0] && !domain_cached(chk)) {
		chk->phase = PH_MX;
		ask(chk, chk->df->domain, ns_t_mx, Q_MX, 0);
	}
}

static void
check_free(struct dns_check *chk)
{
	free(chk->hosts);
	free(chk);
}

static struct dns_check *
check_new(struct dns_resolver *r, const struct conf *conf, struct dns_facts *df)
{
	struct dns_check *chk = xcalloc(1, sizeof(*chk));

	chk->fail_closed = conf->dns.fail == DNS_FAIL_CLOSED;
	chk->r = r;
	chk->df = df;
	chk->starting = 1;
	return chk;
}

int
dns_check_start(struct dns_resolver *r, const struct conf *conf, const struct facts *f,
		struct dns_facts *df, void (*done)(void *arg), void *arg, struct dns_check **chk_r)
{
	struct dns_check *chk;
	struct timeval tv = {conf->dns.timeout_ms / 1000, (conf->dns.timeout_ms % 1000) * 1000};

	*chk_r = NULL;
	if (dns_check_plan(conf, f, df) == 0)
		return 0;
	chk = check_new(r, conf, df);
	chk->done = done;
	chk->arg = arg;
	ask_all(chk);
	chk->starting = 0;
	if (chk->pending == 0) { /* every answer was cached */
		check_finish(chk, 0);
		check_free(chk);
		return 0;
	}
	chk->deadline = evtimer_new(dns_resolver_base(r), deadline_cb, chk);
	evtimer_add(chk->deadline, &tv);
	*chk_r = chk;
	return 1;
}

void
dns_check_cancel(struct dns_check *chk)
{
	if (chk == NULL)
		return;
	for (struct dq *q = chk->qs; q; q = q->next)
		q->chk = NULL;
	if (chk->deadline)
		event_free(chk->deadline);
	check_free(chk);
}

/* Synchronous: ask, wait up to dns.timeout, finish. */
static void
run_sync(struct dns_resolver *r, const struct conf *conf, struct dns_facts *df)
{
	struct dns_check *chk = check_new(r, conf, df);
	int64_t deadline = dns_now_ms() + conf->dns.timeout_ms;

	ask_all(chk);
	chk->starting = 0;
	if (chk->pending > 0)
		dns_resolver_wait(r, deadline); /* at the deadline: cancelled, all called back */
	if (chk->pending > 0)
		mark_unanswered(chk);
	check_finish(chk, chk->pending > 0 || dns_now_ms() >= deadline);
	check_free(chk);
}

void
dns_check_run(struct dns_resolver *r, const struct conf *conf, const struct facts *f,
	      struct dns_facts *df)
{
	if (dns_check_plan(conf, f, df) > 0)
		run_sync(r, conf, df);
}

void
dns_check_lists(struct dns_resolver *r, const struct conf *conf, const char *what,
		struct dns_facts *df)
{
	struct facts f = {0};
	char sender[DNSBL_NAME_MAX + 2];
	unsigned char b[16];
	int is_ip = inet_pton(AF_INET, what, b) == 1 || inet_pton(AF_INET6, what, b) == 1;

	snprintf(sender, sizeof(sender), "x@%s", what);
	f.stage = STAGE_MAIL;
	f.client_address = is_ip ? what : "";
	f.sender = is_ip ? "" : sender;
	f.from_domain = is_ip ? NULL : what;
	f.sasl_username = "";
	dns_check_plan(conf, &f, df);
	run_sync(r, conf, df);
}
