/* decide -- the ordered checks; see decide.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "decide.h"
#include "account/account.h"
#include "account/identity.h"
#include "decide/simulator.h"
#include "quota/quota.h"
#include "suppress/suppress.h"
#include "util/log.h"
#include "util/text.h"

struct decide_stats decide_stats;

static int load_limits(const struct conf *conf, struct store_txn *txn,
		       const struct account_rec *acct, struct verdict *v);
/* Fill a refusal: kind, the rule that fired, reply code, enhanced code and text. */
void
verdict_set(struct verdict *v, int kind, const char *rule, const char *code, const char *dsn,
	    const char *fmt, ...)
{
	va_list ap;

	v->kind = kind;
	v->rule = rule;
	text_copy(v->code, sizeof(v->code), code);
	text_copy(v->dsn, sizeof(v->dsn), dsn);
	va_start(ap, fmt);
	vsnprintf(v->text, sizeof(v->text), fmt, ap);
	va_end(ap);
	/* Client-supplied parts must never break the reply line. */
	for (char *p = v->text; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

/* The action (tempfail/reject/dunno/hold) configured for a rule, as a verdict. */
static void
verdict_action(struct verdict *v, int action, const char *rule, const char *text)
{
	switch (action) {
	case ACT_TEMPFAIL:
		verdict_set(v, VK_TEMPFAIL, rule, "450", "4.7.1", "%s", text);
		break;
	case ACT_REJECT:
		verdict_set(v, VK_REJECT, rule, "554", "5.7.1", "%s", text);
		break;
	case ACT_HOLD:
		verdict_set(v, VK_HOLD, rule, "", "", "%s", text);
		break;
	default:
		v->kind = VK_PASS;
	}
}

static void
check_paused(const struct conf *conf, const struct account_rec *acct, struct verdict *v)
{
	char since[32], text[600];

	text_time_format(acct->since, since, sizeof(since));
	snprintf(text, sizeof(text), "Sending paused for account %s since %s: %s", v->account,
		 since, acct->reason[0] ? acct->reason : "no reason given");
	verdict_action(v, conf->accounts.paused_action, "paused", text);
}

static void
check_suppressed(struct verdict *v, const char *rcpt, const struct suppress_hit *hit)
{
	char since[32];

	text_time_format(hit->rec.created, since, sizeof(since));
	since[10] = '\0'; /* the date is enough for a tenant */
	verdict_set(v, VK_REJECT, "suppressed", "550", "5.7.1",
		    "<%s> is on the %s%s suppression list (%s since %s); not sent", rcpt,
		    hit->scope[0] ? "account " : "global", hit->scope,
		    suppress_reason_name(hit->rec.reason), since);
}

/* A simulator recipient at RCPT: its fixed outcome instead of the suppression check. */
static int
check_simulator(const struct conf *conf, struct store_txn *txn, const struct facts *f,
		const struct account_rec *acct, struct verdict *v)
{
	v->simulator = simulator_outcome(conf->simulator.domain, f->recipient);
	if (v->simulator == SIM_BOUNCE)
		verdict_set(v, VK_REJECT, "simulator", "550", "5.1.1",
			    "<%s>: Recipient address rejected: user unknown (mailbox simulator)",
			    f->recipient);
	else if (v->simulator == SIM_SUPPRESSED)
		verdict_set(
		    v, VK_REJECT, "simulator", "550", "5.7.1",
		    "<%s> is on the account %s suppression list (mailbox simulator); not sent",
		    f->recipient, v->account);
	else
		return load_limits(conf, txn, acct, v);
	return STORE_OK;
}

/* Effective mode for this account: its own setting, else the global one. */
static int
effective_mode(const struct conf *conf, struct store_txn *txn, const char *account)
{
	char mode[16];

	if (account[0] &&
	    account_setting_get(txn, account, "mode", mode, sizeof(mode)) == STORE_OK) {
		if (strcmp(mode, "monitor") == 0)
			return MODE_MONITOR;
		if (strcmp(mode, "enforce") == 0)
			return MODE_ENFORCE;
	}
	return conf->mode;
}

struct acct_settings {
	struct verdict *v;
	int mode;
};

static int
settings_one(const char *key, const char *value, void *arg)
{
	struct acct_settings *as = arg;

	if (strcmp(key, "mode") == 0)
		as->mode = strcmp(value, "monitor") == 0   ? MODE_MONITOR
			   : strcmp(value, "enforce") == 0 ? MODE_ENFORCE
							   : as->mode;
	else if (quota_limits_set(&as->v->limits, key, value) < 0)
		log_warnx("account %s: bad %s '%s' in the store: using the default", as->v->account,
			  key, value); /* outpostctl checks values: only a damaged store */
	return 0;
}

/* What the quota step needs: the account's limits, mode and state (one scan of its settings). */
static int
load_limits(const struct conf *conf, struct store_txn *txn, const struct account_rec *acct,
	    struct verdict *v)
{
	struct acct_settings as = {v, conf->mode};

	quota_limits_default(conf, &v->limits);
	if (!v->account_new &&
	    account_setting_scan(txn, v->account, settings_one, &as) == STORE_ERR)
		return STORE_ERR;
	v->monitor = as.mode == MODE_MONITOR;
	v->review = acct->state == AS_REVIEW;
	v->quota = 1;
	return STORE_OK;
}

/* Steps 1-3; returns STORE_ERR when the store failed part-way. */
static int
decide_checks(const struct conf *conf, struct store_txn *txn, const struct facts *f,
	      struct verdict *v)
{
	struct identity_in in = {f->sasl_username, f->sender, f->client_address};
	struct identity_out id;
	struct account_rec acct;
	struct suppress_hit hit;
	char rcpt[ADDRESS_MAX];
	int rc;

	if (identity_resolve(txn, conf, &in, &id) != STORE_OK)
		return STORE_ERR;
	if (id.how == IDH_NONE) {
		verdict_action(v, conf->accounts.unmatched, "unmatched",
			       "No sending account matches this message");
		return STORE_OK;
	}
	text_copy(v->account, sizeof(v->account), id.account);
	rc = account_get(txn, id.account, &acct);
	if (rc == STORE_ERR)
		return rc;
	if (rc == STORE_NOTFOUND) {
		if (id.how != IDH_LOGIN || !conf->accounts.auto_create) {
			verdict_action(v, conf->accounts.unknown, "unknown_account",
				       "Sending account is not provisioned");
			return STORE_OK;
		}
		v->account_new = 1;
		acct.state = AS_ACTIVE;
	}
	if (acct.state == AS_PAUSED && f->stage == STAGE_EOH)
		return STORE_OK; /* refused or held at MAIL and EOM already: once is enough */
	if (acct.state == AS_PAUSED) {
		check_paused(conf, &acct, v);
		/* A held message is recorded so that resume --release can find it. */
		v->record = f->stage == STAGE_EOM && v->kind == VK_HOLD;
		return STORE_OK;
	}
	if (f->stage == STAGE_EOM) {
		v->record = 1;
		return load_limits(conf, txn, &acct, v);
	}
	if (f->stage != STAGE_RCPT || f->recipient == NULL)
		return STORE_OK;
	if (simulator_address(conf->simulator.domain, f->recipient))
		return check_simulator(conf, txn, f, &acct, v);
	if (suppress_normalise(f->recipient, rcpt, sizeof(rcpt)) < 0)
		return STORE_OK;
	rc = suppress_check(txn, v->account_new ? NULL : id.account, rcpt, conf->suppress.fold_plus,
			    f->now, &hit);
	if (rc == STORE_OK)
		check_suppressed(v, rcpt, &hit);
	if (rc == STORE_NOTFOUND)
		return load_limits(conf, txn, &acct, v);
	return rc == STORE_ERR ? rc : STORE_OK;
}

void
decide(const struct conf *conf, struct store *st, const struct facts *f, struct verdict *v)
{
	struct store_txn *txn = NULL;
	int rc;

	memset(v, 0, sizeof(*v));
	__atomic_fetch_add(&decide_stats.requests, 1, __ATOMIC_RELAXED);
	if (f->stage != STAGE_MAIL && f->stage != STAGE_RCPT && f->stage != STAGE_EOM &&
	    f->stage != STAGE_EOH)
		return;
	if (store_read_begin(st, &txn) != STORE_OK ||
	    (rc = decide_checks(conf, txn, f, v)) == STORE_ERR) {
		__atomic_fetch_add(&decide_stats.store_errors, 1, __ATOMIC_RELAXED);
		log_warnx("store: %s; using store.fallback=%s", store_error(st),
			  conf_action_name(conf->store.fallback));
		memset(v, 0, sizeof(*v));
		if (conf->store.fallback == ACT_TEMPFAIL)
			verdict_set(v, VK_TEMPFAIL, "store_error", "451", "4.3.0",
				    "Sending policy temporarily unavailable, try again later");
		store_read_end(txn);
		return;
	}
	if (v->kind == VK_PASS && v->account[0] && !v->simulator)
		decide_dns(conf, f, v); /* steps 4-5, from the facts the front door gathered */
	if (v->kind != VK_PASS && !v->simulator &&
	    effective_mode(conf, txn, v->account) == MODE_MONITOR) {
		v->would = v->kind;
		v->kind = VK_PASS;
		__atomic_fetch_add(&decide_stats.would_refuse, 1, __ATOMIC_RELAXED);
	} else if (v->kind != VK_PASS) {
		__atomic_fetch_add(&decide_stats.refused[v->kind], 1, __ATOMIC_RELAXED);
	}
	store_read_end(txn);
}

void
decide_log(const struct facts *f, const struct verdict *v)
{
	static const char *const kinds[] = {"dunno", "tempfail", "reject", "hold"};
	char qid[64], inst[64], acct[ACCOUNT_NAME_MAX * 2], rcpt[ADDRESS_MAX], text[600];
	char sasl[128], from[ADDRESS_MAX];

	if (v->kind == VK_PASS && !v->would)
		return;
	log_info("decision queue_id=%s instance=%s door=%s account=%s sasl=%s from=<%s> "
		 "rcpt=<%s> rule=%s action=%s%s reply=\"%s%s%s%s%s\"",
		 log_escape(qid, sizeof(qid), f->queue_id && *f->queue_id ? f->queue_id : "-"),
		 log_escape(inst, sizeof(inst), f->instance && *f->instance ? f->instance : "-"),
		 f->door == DOOR_MILTER ? "milter" : "policy",
		 log_escape(acct, sizeof(acct), v->account[0] ? v->account : "-"),
		 log_escape(sasl, sizeof(sasl),
			    f->sasl_username && *f->sasl_username ? f->sasl_username : "-"),
		 log_escape(from, sizeof(from), f->sender ? f->sender : ""),
		 log_escape(rcpt, sizeof(rcpt), f->recipient ? f->recipient : ""),
		 v->rule ? v->rule : "-", v->would ? "would_" : "",
		 v->log_action ? v->log_action : kinds[v->would ? v->would : v->kind], v->code,
		 v->code[0] ? " " : "", v->dsn, v->dsn[0] ? " " : "",
		 log_escape(text, sizeof(text), v->text));
}
