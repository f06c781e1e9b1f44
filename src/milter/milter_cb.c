/*
 * milter_cb -- libmilter callbacks: translate, call decide(), translate back.
 *
 * libmilter runs the callbacks of one connection on different threads (never
 * two at once), so all per-connection state lives in the smfi_setpriv()
 * block; everything shared (configuration pointer, store, ledger, counters)
 * is thread-safe.
 */
#include "config.h"

#include <arpa/inet.h>
#include <libmilter/mfapi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "milter.h"
#include "milter/from_header.h"
#include "decide/decide.h"
#include "decide/evqueue.h"
#include "decide/ledger.h"
#include "feedback/eventlog.h"
#include "quota/quota.h"
#include "util/clock.h"
#include "dns/dns_facts.h"
#include "dns/resolver.h"
#include "suppress/suppress.h"
#include "util/log.h"
#include "util/siphash.h"
#include "util/text.h"
#include "util/xalloc.h"
#include "worker/worker.h"

#define MAX_DELETE 1000 /* suppressed recipients remembered per message (non-SMTP mode) */

struct mconn {
	char client_addr[64];
	char sender[ADDRESS_MAX];
	char sasl[256];
	char instance[64]; /* our own transaction id, as the policy service's `instance` */
	char account[ACCOUNT_NAME_MAX];
	unsigned conn_seq, msg_seq;
	unsigned nrcpt;	 /* recipients accepted */
	int hold;	 /* quarantine at end of message */
	int hold_logged; /* the reason to hold was logged once already */
	char hold_reason[128];
	char **del; /* non-SMTP mode: recipients to remove at EOM */
	size_t ndel;
	struct quota_conn qc; /* the transaction's quota reservation (quota.front_door = milter) */
	struct dns_resolver *resolver;	  /* this connection's, made on first use (milter_dns.c) */
	int nr_hdr;			  /* SMFIP_NR_HDR negotiated: cb_header never replies */
	int from_seen;			  /* this message's first From: header was read */
	char from_domain[DNSBL_NAME_MAX]; /* its first mailbox's domain, "" if none */
};

static const struct conf *volatile cur_conf;
static const struct conf *old_conf; /* freed at the next swap: no callback lasts that long */
static struct store *milter_store;
static struct ledger *milter_ledger;
static struct evqueue *milter_events;
static struct worker_stats *milter_stats;
static int non_smtpd;
static unsigned conn_counter;
static uint8_t feedback_key[16];

void
milter_cb_init(const struct milter_args *args, struct store *st, struct ledger *ledger,
	       struct evqueue *events, const uint8_t key[16])
{
	memcpy(feedback_key, key, sizeof(feedback_key));
	cur_conf = args->conf;
	non_smtpd = args->non_smtpd;
	milter_stats = args->stats;
	milter_store = st;
	milter_ledger = ledger;
	milter_events = events;
	milter_dns_init(args->conf, &args->stats->dns);
}

void
milter_cb_set_conf(const struct conf *conf)
{
	const struct conf *prev = __atomic_exchange_n(&cur_conf, conf, __ATOMIC_ACQ_REL);

	conf_free((struct conf *)old_conf);
	old_conf = prev;
}

static const struct conf *conf_now(void);

/* The configuration now (the reload thread swaps it): for the flush thread. */
const struct conf *
milter_conf(void)
{
	return conf_now();
}

static const struct conf *
conf_now(void)
{
	return __atomic_load_n(&cur_conf, __ATOMIC_ACQUIRE);
}

#define STAT_ADD(field) __atomic_fetch_add(&milter_stats->field, 1, __ATOMIC_RELAXED)

void
milter_feedback_id(const char *tmpl, const char *account, const uint8_t key[16], char *buf,
		   size_t len)
{
	size_t o = 0;

	for (const char *p = tmpl; *p && o + 1 < len; p++) {
		char piece[32];
		const char *add = piece;
		if (*p != '%' || p[1] == '\0') {
			piece[0] = (unsigned char)*p < 0x20 ? '?' : *p;
			piece[1] = '\0';
		} else if (*++p == 'a') {
			add = account;
		} else if (*p == 'h') {
			snprintf(piece, sizeof(piece), "%016llx",
				 (unsigned long long)siphash24(key, account, strlen(account)));
		} else {
			snprintf(piece, sizeof(piece), "%c", *p == '%' ? '%' : '?');
		}
		size_t n = strlen(add);
		if (o + n >= len)
			n = len - o - 1;
		memcpy(buf + o, add, n);
		o += n;
	}
	buf[o] = '\0';
}

/* "<a@b>" -> "a@b" into OUT. */
static void
strip_brackets(const char *in, char *out, size_t len)
{
	size_t n = strlen(in);

	if (n >= 2 && in[0] == '<' && in[n - 1] == '>')
		snprintf(out, len, "%.*s", (int)(n - 2), in + 1);
	else
		snprintf(out, len, "%s", in);
}

static void
message_reset(struct mconn *mc)
{
	for (size_t i = 0; i < mc->ndel; i++)
		free(mc->del[i]);
	free(mc->del);
	mc->del = NULL;
	mc->ndel = 0;
	quota_release(&mc->qc);
	mc->nrcpt = 0;
	mc->hold = 0;
	mc->hold_logged = 0;
	mc->account[0] = '\0';
	mc->from_seen = 0;
	mc->from_domain[0] = '\0';
	mc->msg_seq++;
	snprintf(mc->instance, sizeof(mc->instance), "m%lx.%x.%x", (long)getpid(), mc->conn_seq,
		 mc->msg_seq);
}

/* The facts of this transaction at STAGE. */
static void
facts_fill(SMFICTX *ctx, struct mconn *mc, int stage, const char *rcpt, struct facts *f)
{
	const char *qid = smfi_getsymval(ctx, "i");

	memset(f, 0, sizeof(*f));
	f->stage = stage;
	f->door = DOOR_MILTER;
	f->queue_id = qid ? qid : "";
	f->instance = mc->instance;
	f->sender = mc->sender;
	f->recipient = rcpt;
	f->sasl_username = mc->sasl;
	f->client_address = mc->client_addr;
	f->recipient_count = mc->nrcpt;
	f->now_us = now_us();
	f->now = f->now_us / 1000000;
}

/*
 * Run decide() and the bookkeeping every decision gets.  The log says what the
 * milter does: in non-SMTP mode a suppressed recipient is removed (delrcpt)
 * and anything else held, never refused; a message already held for a reason
 * is not logged again at each later stage.
 */
static void
milter_decide(struct mconn *mc, const struct facts *f, struct verdict *v)
{
	const struct conf *conf = conf_now();
	struct dns_facts df;
	struct facts fd = *f;
	int64_t t0 = mono_us();

	if (!non_smtpd)
		fd.dns = milter_dns_gather(&mc->resolver, conf, f, &df);
	decide(conf, milter_store, &fd, v);
	quota_decide(conf, f, v, &mc->qc);
	if (v->kind != VK_PASS && non_smtpd)
		v->log_action = v->rule && strcmp(v->rule, "suppressed") == 0 ? "delrcpt" : "hold";
	if (!(mc->hold_logged && v->kind != VK_PASS &&
	      (v->kind == VK_HOLD || (non_smtpd && v->log_action[0] == 'h'))))
		decide_log(f, v);
	if (v->kind == VK_HOLD || (non_smtpd && v->kind != VK_PASS && v->log_action[0] == 'h'))
		mc->hold_logged = 1;
	STAT_ADD(requests);
	if (v->kind != VK_PASS)
		STAT_ADD(refusals);
	if (v->would)
		STAT_ADD(would_refuse);
	if (v->rule && strcmp(v->rule, "store_error") == 0)
		STAT_ADD(store_errors);
	door_stats_note(&milter_stats->door, v, (uint64_t)(mono_us() - t0));
	if (ledger_note(milter_ledger, f, v))
		ledger_flush(milter_ledger); /* full: write now rather than drop */
	evqueue_note(milter_events, conf, f, v);
}

/* A refusal as the milter protocol says it: the reply class must match the code. */
static sfsistat
refuse(SMFICTX *ctx, const struct verdict *v)
{
	char text[600];
	size_t o = 0;

	/* libmilter formats the text: a '%' must be doubled. */
	for (const char *p = v->text; *p && o + 2 < sizeof(text); p++) {
		if (*p == '%')
			text[o++] = '%';
		text[o++] = *p;
	}
	text[o] = '\0';
	if (v->code[0] && smfi_setreply(ctx, (char *)v->code, (char *)v->dsn, text) != MI_SUCCESS)
		log_warnx("milter: smfi_setreply failed for %s %s", v->code, v->dsn);
	return v->kind == VK_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

/* 1 if a blocklist asks about the From: header's domain: only then are headers negotiated. */
static int
wants_from(const struct conf *conf)
{
	if (non_smtpd)
		return 0; /* non-SMTP mode asks DNS nothing */
	for (size_t i = 0; i < conf->dnsbl.n; i++)
		if (conf->dnsbl.v[i].query == DNSBL_Q_FROM_DOMAIN)
			return 1;
	return 0;
}

/*
 * The steps and macros wanted.  Headers and end of headers only for a
 * from_domain list, and then without a reply per header (SMFIP_NR_HDR) when
 * the MTA offers it.  The connection's state is made here, as it must know
 * that before the first header (cb_connect takes it over).
 */
static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
	     unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	int hdrs = wants_from(conf_now());
	unsigned long want_steps = SMFIP_NOHELO | SMFIP_NOBODY | SMFIP_NOUNKNOWN | SMFIP_NODATA;
	struct mconn *mc = smfi_getpriv(ctx);

	if (mc == NULL) {
		mc = xcalloc(1, sizeof(*mc));
		smfi_setpriv(ctx, mc);
	}
	want_steps |= hdrs ? SMFIP_NR_HDR : SMFIP_NOHDRS | SMFIP_NOEOH;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_DELRCPT | SMFIF_QUARANTINE | SMFIF_SETSYMLIST);
	*pf1 = f1 & want_steps;
	*pf2 = *pf3 = 0;
	mc->nr_hdr = (*pf1 & SMFIP_NR_HDR) != 0;
	if (f0 & SMFIF_SETSYMLIST) {
		smfi_setsymlist(ctx, SMFIM_CONNECT, "{client_addr}");
		smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen} {mail_addr}");
		smfi_setsymlist(ctx, SMFIM_ENVRCPT, "i {rcpt_addr}");
		if (hdrs)
			smfi_setsymlist(ctx, SMFIM_EOH, "i");
		smfi_setsymlist(ctx, SMFIM_EOM, "i {auth_authen}");
	}
	return SMFIS_CONTINUE;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct mconn *mc = smfi_getpriv(ctx); /* made by cb_negotiate, unless it never ran */
	const char *macro = smfi_getsymval(ctx, "{client_addr}");

	if (mc == NULL)
		mc = xcalloc(1, sizeof(*mc));

	mc->conn_seq = __atomic_add_fetch(&conn_counter, 1, __ATOMIC_RELAXED);
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, mc->client_addr,
			  sizeof(mc->client_addr));
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, mc->client_addr,
			  sizeof(mc->client_addr));
	else if (macro)
		text_copy(mc->client_addr, sizeof(mc->client_addr), macro);
	__atomic_fetch_add(&milter_stats->connections, 1, __ATOMIC_RELAXED);
	smfi_setpriv(ctx, mc);
	return SMFIS_CONTINUE;
}

/* Non-SMTP mode never refuses: the message is quarantined at EOM instead. */
static void
mark_hold(struct mconn *mc, const struct verdict *v)
{
	mc->hold = 1;
	snprintf(mc->hold_reason, sizeof(mc->hold_reason), "outpost: %s",
		 v->rule ? v->rule : "held");
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct mconn *mc = smfi_getpriv(ctx);
	const char *auth = smfi_getsymval(ctx, "{auth_authen}");
	struct facts f;
	struct verdict v;

	if (mc == NULL)
		return SMFIS_CONTINUE;
	message_reset(mc);
	strip_brackets(argv && argv[0] ? argv[0] : "", mc->sender, sizeof(mc->sender));
	text_copy(mc->sasl, sizeof(mc->sasl), auth ? auth : "");
	facts_fill(ctx, mc, STAGE_MAIL, NULL, &f);
	milter_decide(mc, &f, &v);
	text_copy(mc->account, sizeof(mc->account), v.account);
	if (v.kind == VK_PASS)
		return SMFIS_CONTINUE;
	if (v.kind == VK_HOLD || non_smtpd) {
		mark_hold(mc, &v);
		return SMFIS_CONTINUE;
	}
	return refuse(ctx, &v);
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct mconn *mc = smfi_getpriv(ctx);
	char rcpt[ADDRESS_MAX];
	struct facts f;
	struct verdict v;

	if (mc == NULL || argv == NULL || argv[0] == NULL)
		return SMFIS_CONTINUE;
	strip_brackets(argv[0], rcpt, sizeof(rcpt));
	facts_fill(ctx, mc, STAGE_RCPT, rcpt, &f);
	milter_decide(mc, &f, &v);
	if (v.kind == VK_PASS) {
		mc->nrcpt++;
		return SMFIS_CONTINUE;
	}
	if (v.kind == VK_HOLD) {
		mark_hold(mc, &v);
		mc->nrcpt++;
		return SMFIS_CONTINUE;
	}
	if (!non_smtpd)
		return refuse(ctx, &v);
	if (v.rule && strcmp(v.rule, "suppressed") == 0 && mc->ndel < MAX_DELETE) {
		mc->del = xrealloc(mc->del, (mc->ndel + 1) * sizeof(*mc->del));
		mc->del[mc->ndel++] = xstrdup(argv[0]);
	} else {
		mark_hold(mc, &v);
		mc->nrcpt++;
	}
	return SMFIS_CONTINUE;
}

/* The first From: header of the message: its domain, for the from_domain lists at EOH. */
static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct mconn *mc = smfi_getpriv(ctx);

	if (mc == NULL)
		return SMFIS_CONTINUE;
	if (!mc->from_seen && name && value && strcasecmp(name, "From") == 0) {
		mc->from_seen = 1;
		from_header_domain(value, strlen(value), mc->from_domain, sizeof(mc->from_domain));
	}
	return mc->nr_hdr ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/*
 * End of headers: the from_domain lists, for the whole message.  Nothing is
 * asked for a message without a From: domain or of no account (decide()
 * would not look at the answer).
 */
static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct mconn *mc = smfi_getpriv(ctx);
	struct facts f;
	struct verdict v;

	if (mc == NULL || mc->from_domain[0] == '\0' || mc->account[0] == '\0' ||
	    !wants_from(conf_now()))
		return SMFIS_CONTINUE;
	facts_fill(ctx, mc, STAGE_EOH, NULL, &f);
	f.from_domain = mc->from_domain;
	milter_decide(mc, &f, &v);
	if (v.kind == VK_PASS)
		return SMFIS_CONTINUE;
	if (v.kind == VK_HOLD) {
		mark_hold(mc, &v);
		return SMFIS_CONTINUE;
	}
	return refuse(ctx, &v);
}

/*
 * Non-SMTP mode: take the suppressed recipients off.  A message left with none
 * is held (quarantine) or discarded, as milter.non_smtpd_empty says; returns 1
 * for discard.
 */
static int
eom_remove_suppressed(SMFICTX *ctx, struct mconn *mc, const struct conf *conf)
{
	for (size_t i = 0; i < mc->ndel; i++)
		if (smfi_delrcpt(ctx, mc->del[i]) != MI_SUCCESS)
			log_warnx("milter: smfi_delrcpt %s failed", mc->del[i]);
	if (mc->ndel == 0 || mc->nrcpt > 0)
		return 0;
	if (conf->milter.non_smtpd_empty == ACT_DISCARD && !mc->hold)
		return 1;
	mc->hold = 1;
	snprintf(mc->hold_reason, sizeof(mc->hold_reason), "outpost: all recipients suppressed");
	return 0;
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct mconn *mc = smfi_getpriv(ctx);
	const struct conf *conf = conf_now();
	char fbid[256];
	struct facts f;
	struct verdict v;

	if (mc == NULL)
		return SMFIS_CONTINUE;
	facts_fill(ctx, mc, STAGE_EOM, NULL, &f);
	milter_decide(mc, &f, &v);
	if (v.kind == VK_HOLD || (v.kind != VK_PASS && non_smtpd))
		mark_hold(mc, &v);
	else if (v.kind != VK_PASS)
		return refuse(ctx, &v);
	if (non_smtpd && eom_remove_suppressed(ctx, mc, conf)) {
		log_info(
		    "milter: queue_id=%s account=%s: all recipients suppressed, message discarded",
		    f.queue_id[0] ? f.queue_id : "-", v.account[0] ? v.account : "-");
		message_reset(mc);
		return SMFIS_DISCARD;
	}
	if (v.sim_complaints)
		event_simulator_complaints(conf, v.account, f.queue_id, v.sim_complaints);
	if (mc->hold && smfi_quarantine(ctx, mc->hold_reason) != MI_SUCCESS)
		log_warnx("milter: smfi_quarantine failed");
	if (v.account[0] && conf->milter.feedback_id[0]) {
		milter_feedback_id(conf->milter.feedback_id, v.account, feedback_key, fbid,
				   sizeof(fbid));
		if (smfi_addheader(ctx, "Feedback-ID", fbid) != MI_SUCCESS)
			log_warnx("milter: smfi_addheader Feedback-ID failed");
	}
	message_reset(mc);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct mconn *mc = smfi_getpriv(ctx);

	if (mc)
		message_reset(mc);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct mconn *mc = smfi_getpriv(ctx);

	if (mc) {
		message_reset(mc);
		dns_resolver_destroy(mc->resolver);
		free(mc);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

struct smfiDesc milter_desc = {
    .xxfi_name = "outpost",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_DELRCPT | SMFIF_QUARANTINE | SMFIF_SETSYMLIST,
    .xxfi_connect = cb_connect,
    .xxfi_envfrom = cb_envfrom,
    .xxfi_envrcpt = cb_envrcpt,
    .xxfi_header = cb_header,
    .xxfi_eoh = cb_eoh,
    .xxfi_eom = cb_eom,
    .xxfi_abort = cb_abort,
    .xxfi_close = cb_close,
    .xxfi_negotiate = cb_negotiate,
};
