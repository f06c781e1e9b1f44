/*
 * ctl_report -- results that arrive as mail or from an operator:
 *   outpostctl ingest dsn [--envelope ADDR] [--sysexits]   (RFC 3464 bounce on stdin)
 *   outpostctl ingest arf [--envelope ADDR] [--sysexits]   (RFC 5965 complaint on stdin)
 *   outpostctl event bounce|complaint|delivery --account A --recipient R ...
 * All go through ingest_result(), as the log does: the same counters,
 * dedup, suppression, event log and threshold check (reputation.c).
 *
 * Exit codes: CONTRACTS' (0 ok, 2 usage, 3 store unavailable, 4 not a report
 * of that kind), and 5 (EXIT_UNATTRIBUTED) when the report names no account
 * of ours.  --sysexits maps them for a Postfix pipe(8) transport: 3 -> 75
 * (EX_TEMPFAIL: Postfix keeps the report and retries), 4 -> 65 (EX_DATAERR),
 * 5 -> 67 (EX_NOUSER); those two are permanent: the report is bounced to its
 * null sender, i.e. logged by Postfix with our message and dropped.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "account/account.h"
#include "feedback/arf.h"
#include "feedback/attribute.h"
#include "feedback/classify.h"
#include "feedback/dsn.h"
#include "feedback/eventlog.h"
#include "feedback/ingest.h"
#include "feedback/reputation.h"
#include "store/records.h"
#include "suppress/suppress.h"
#include "util/log.h"
#include "util/siphash.h"
#include "util/text.h"
#include "util/xalloc.h"

#define EXIT_UNATTRIBUTED 5
#define FEEDBACK_KEY "feedback_key"

/* The whole of stdin, at most MIME_MAX_INPUT bytes (the rest is read and ignored). */
static char *
read_stdin(size_t *len_r)
{
	size_t cap = 65536, len = 0;
	char *buf = xmalloc(cap), sink[4096];
	ssize_t n;

	for (;;) {
		if (len == cap && cap < MIME_MAX_INPUT)
			buf = xrealloc(buf,
				       cap = cap * 2 > MIME_MAX_INPUT ? MIME_MAX_INPUT : cap * 2);
		n = len < cap ? read(0, buf + len, cap - len) : read(0, sink, sizeof(sink));
		if (n <= 0)
			break;
		if (len < cap)
			len += (size_t)n;
	}
	*len_r = len;
	return buf;
}

static int
sysexit(int rc)
{
	switch (rc) {
	case EXIT_UNAVAILABLE:
		return 75;
	case EXIT_BADINPUT:
		return 65;
	case EXIT_UNATTRIBUTED:
		return 67;
	case EXIT_USAGE:
		return 64;
	default:
		return rc;
	}
}

/* A dedup key "~KIND:" + 16 hex digits of the report's identifying fields. */
static size_t
report_key(char *key, size_t len, const char *kind, const char *const *parts, size_t n)
{
	static const uint8_t zero[16];
	char buf[4096];
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(parts[i] ? parts[i] : "") + 1;
		if (o + l > sizeof(buf))
			break;
		memcpy(buf + o, parts[i] ? parts[i] : "", l);
		o += l;
	}
	return (size_t)snprintf(key, len, "~%s:%016llx", kind,
				(unsigned long long)siphash24(zero, buf, o));
}

/* The per-store key of the Feedback-ID hash, if the milter ever made one. */
static const uint8_t *
feedback_key(struct store_txn *txn, uint8_t key[16])
{
	struct store_val v;

	if (store_get(txn, DB_META, FEEDBACK_KEY, strlen(FEEDBACK_KEY), &v) != STORE_OK ||
	    v.len != 16)
		return NULL;
	memcpy(key, v.data, 16);
	return key;
}

static int
attribute_txn(struct ctl *ctl, struct attribute_in *in, struct attribution *a)
{
	struct store_txn *txn;
	uint8_t key[16];
	int rc;

	if (store_read_begin(ctl->st, &txn) != STORE_OK)
		return STORE_ERR;
	in->feedback_key = feedback_key(txn, key);
	rc = attribute_report(txn, ctl->conf, in, a);
	store_read_end(txn);
	return rc;
}

struct judge_ctx {
	const struct conf *conf;
	const char *account;
	int64_t now;
	struct reputation_verdict v;
};

static int
judge_txn(struct store_txn *txn, void *arg)
{
	struct judge_ctx *j = arg;
	int rc = reputation_enforce(txn, j->conf, j->account, j->now, &j->v);

	/* Fleet mode: the cluster process publishes the new counts (cluster/fleetrep.h). */
	if (rc == STORE_OK && j->conf->cluster.redis[0])
		rc = reputation_mark_set(txn, RM_DIRTY, j->account, "ctl");
	return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

/* Re-evaluate ACCOUNT's thresholds now; a change is logged and becomes a state event. */
static const char *
judge(struct ctl *ctl, const char *account)
{
	static char what[REASON_MAX + 64];
	struct judge_ctx j = {ctl->conf, account, ctl->now, {0}};

	if (store_write(ctl->st, judge_txn, &j) != STORE_OK || j.v.to < 0 || !j.v.applied)
		return NULL;
	snprintf(what, sizeof(what), "%s -> %s: %s", account_state_name(j.v.from),
		 account_state_name(j.v.to), j.v.reason);
	log_info("account=%s state %s -> %s by=%s reason=\"%s\"", account,
		 account_state_name(j.v.from), account_state_name(j.v.to), j.v.by, j.v.reason);
	reputation_event(ctl->conf, account, &j.v);
	return what;
}

static void
on_note(const struct ingest_note *n, void *arg)
{
	ingest_note_emit(arg, n);
}

/* Count the queued results, judge the account, and say what happened. */
static int
finish(struct ctl *ctl, struct ingest *ing, const char *kind, const struct attribution *a,
       json_t *results)
{
	const struct ingest_stats *s = ingest_get_stats(ing);
	const char *change;
	uint64_t counted = 0;
	json_t *o;

	if (ingest_flush(ing) < 0) {
		json_decref(results);
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	}
	for (int i = 0; i < SF_COUNT; i++)
		counted += s->counted[i];
	change = counted ? judge(ctl, a->account) : NULL;
	o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:s*}", "kind", kind, "account",
		      a->account, "attributed_by", a->how, "counted", (json_int_t)counted,
		      "duplicates", (json_int_t)s->duplicates, "suppressed",
		      (json_int_t)s->suppressed, "results", results, "state_change", change);
	if (ctl->json)
		ctl_json_print(o);
	else
		printf("%s for account %s (by %s): %llu counted, %llu already counted, %llu "
		       "suppressed%s%s\n",
		       kind, a->account, a->how, (unsigned long long)counted,
		       (unsigned long long)s->duplicates, (unsigned long long)s->suppressed,
		       change ? "; account " : "", change ? change : "");
	json_decref(o);
	return EXIT_OK;
}

/* ---- ingest dsn ------------------------------------------------------------ */

/* The stats field of one DSN recipient block; -1: not a failure or delay (success DSN). */
static int
dsn_field(const struct classify_rules *rules, const struct dsn_rcpt *r, int *cls)
{
	*cls = BC_OTHER;
	if (r->action == DSN_ACTION_DELAYED)
		return SF_DEFERRED;
	if (r->action != DSN_ACTION_FAILED &&
	    !(r->action == DSN_ACTION_UNKNOWN && r->status[0] == '5'))
		return -1;
	*cls = classify_text(rules, r->status, r->diag, NULL);
	return classify_stats_field(*cls);
}

/* Queue each recipient block of report R as a result of account A. */
static int
dsn_results(struct ctl *ctl, struct ingest *ing, const struct classify_rules *rules,
	    const struct dsn_report *r, const struct attribution *a, json_t *results)
{
	for (size_t i = 0; i < r->nrcpts; i++) {
		const struct dsn_rcpt *d = &r->rcpts[i];
		struct ingest_result res = {0};
		char rcpt[ADDRESS_MAX], key[64];
		const char *parts[] = {a->account,	   rcpt,
				       d->status,	   r->queue_id,
				       r->orig.message_id, r->envelope_id,
				       r->arrival_date,	   dsn_action_name(d->action)};
		int field = dsn_field(rules, d, &res.cls);
		const char *who = a->recipient[0] && r->nrcpts == 1 ? a->recipient : d->final_rcpt;
		if (field < 0 || suppress_normalise(who, rcpt, sizeof(rcpt)) < 0)
			continue;
		res.field = field;
		res.suppress = field == SF_HARD ? SR_BOUNCE : 0;
		res.account = a->account;
		res.recipient = rcpt;
		res.queue_id = a->queue_id;
		res.dsn = d->status;
		res.text = d->diag;
		res.when = ctl->now;
		res.klen = report_key(key, sizeof(key), "dsn", parts, 8);
		res.key = key;
		res.marker = field != SF_DEFERRED;
		if (ingest_result(ing, &res) < 0)
			return -1;
		json_array_append_new(results, json_pack("{s:s, s:s, s:s, s:s}", "recipient", rcpt,
							 "type", ingest_type_name(field), "class",
							 classify_name(res.cls), "dsn", d->status));
	}
	return 0;
}

/* Tie report R to an account (VERP from the envelope or the original's Return-Path first). */
static int
dsn_attribute(struct ctl *ctl, const struct dsn_report *r, struct attribution *a)
{
	char vacct[ACCOUNT_NAME_MAX] = "", vrcpt[ADDRESS_MAX] = "";
	struct attribute_in in = {.orig = &r->orig, .queue_id = r->queue_id};

	if (r->verp) {
		in.verp_account = r->verp_account;
		in.verp_rcpt = r->verp_rcpt;
	} else if (verp_decode(r->orig.return_path, ctl->conf->feedback.verp_delimiters, vacct,
			       sizeof(vacct), vrcpt, sizeof(vrcpt)) == 0) {
		in.verp_account = vacct;
		in.verp_rcpt = vrcpt;
	}
	return attribute_txn(ctl, &in, a);
}

static int
unattributed(const char *what)
{
	return ctl_err(
	    EXIT_UNATTRIBUTED,
	    "%s: cannot tie it to an account: no VERP return path of a known account, no "
	    "Feedback-ID, and no queue id or Message-ID the store knows",
	    what);
}

static int
ingest_dsn(struct ctl *ctl, const char *envelope)
{
	struct classify_rules *rules = NULL;
	struct dsn_report r;
	struct attribution a;
	struct ingest *ing;
	size_t len;
	char *buf = read_stdin(&len), err[512];
	json_t *results;
	int rc;

	if (dsn_parse(buf, len, envelope, ctl->conf->feedback.verp_delimiters, &r) != DSN_OK) {
		rc = ctl_err(EXIT_BADINPUT, "-:0: not a usable bounce: %s", r.why ? r.why : "?");
		goto out;
	}
	if ((rules = classify_load(ctl->conf->feedback.rules, err, sizeof(err))) == NULL) {
		rc = ctl_err(EXIT_BADINPUT, "%s", err);
		goto out;
	}
	if ((rc = ctl_store(ctl)) != EXIT_OK)
		goto out;
	if ((rc = dsn_attribute(ctl, &r, &a)) != STORE_OK) {
		rc = rc == STORE_ERR ? ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st))
				     : unattributed("bounce");
		goto out;
	}
	ing = ingest_create(ctl->conf, ctl->st, rules);
	ingest_set_notify(ing, on_note, (void *)ctl->conf);
	results = json_array();
	if (dsn_results(ctl, ing, rules, &r, &a, results) < 0) {
		json_decref(results);
		rc = ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	} else {
		rc = finish(ctl, ing, "bounce report", &a, results);
	}
	ingest_destroy(ing);
out:
	dsn_report_deinit(&r);
	classify_free(rules);
	free(buf);
	return rc;
}

/* ---- ingest arf ------------------------------------------------------------ */

/* Abuse, fraud and other reports are complaints; not-spam, virus, auth-failure are not. */
static int
arf_is_complaint(const struct arf_report *r)
{
	return r->type == ARF_TYPE_ABUSE || r->type == ARF_TYPE_FRAUD ||
	       r->type == ARF_TYPE_OTHER || r->type == ARF_TYPE_UNKNOWN;
}

static int
arf_attribute(struct ctl *ctl, const struct arf_report *r, const char *envelope,
	      struct attribution *a)
{
	const char *const cand[] = {r->orig.return_path, r->mail_from, envelope};
	char vacct[ACCOUNT_NAME_MAX] = "", vrcpt[ADDRESS_MAX] = "";
	struct attribute_in in = {.orig = &r->orig};

	for (size_t i = 0; i < 3; i++)
		if (cand[i] && verp_decode(cand[i], ctl->conf->feedback.verp_delimiters, vacct,
					   sizeof(vacct), vrcpt, sizeof(vrcpt)) == 0) {
			in.verp_account = vacct;
			in.verp_rcpt = vrcpt;
			break;
		}
	return attribute_txn(ctl, &in, a);
}

static int
arf_result(struct ctl *ctl, struct ingest *ing, const struct arf_report *r,
	   const struct attribution *a, json_t *results)
{
	struct ingest_result res = {0};
	char rcpt[ADDRESS_MAX] = "", key[64], note[200];
	const char *parts[] = {a->account,	 rcpt,	       r->orig.message_id, r->arrival_date,
			       r->feedback_type, r->source_ip, r->orig.date,	   r->envelope_id};

	if (r->nrcpts > 0 && suppress_normalise(r->rcpts[0], rcpt, sizeof(rcpt)) < 0)
		rcpt[0] = '\0';
	if (rcpt[0] == '\0')
		text_copy(rcpt, sizeof(rcpt), a->recipient);
	res.field = SF_COMPLAINT;
	res.cls = BC_OTHER;
	res.cls_name = r->feedback_type[0] ? r->feedback_type : "abuse";
	res.suppress = ctl->conf->feedback.suppress_complaints ? SR_COMPLAINT : 0;
	res.account = a->account;
	res.recipient = rcpt;
	res.queue_id = a->queue_id;
	snprintf(note, sizeof(note), "%s report%s%s", res.cls_name, r->user_agent[0] ? " by " : "",
		 r->user_agent);
	res.text = note;
	res.when = ctl->now;
	res.klen = report_key(key, sizeof(key), "arf", parts, 8);
	res.key = key;
	if (ingest_result(ing, &res) < 0)
		return -1;
	json_array_append_new(results,
			      json_pack("{s:s?, s:s, s:s}", "recipient", rcpt[0] ? rcpt : NULL,
					"type", "complaint", "class", res.cls_name));
	return 0;
}

static int
ingest_arf(struct ctl *ctl, const char *envelope)
{
	struct arf_report *r = xcalloc(1, sizeof(*r));
	struct attribution a;
	struct ingest *ing;
	size_t len;
	char *buf = read_stdin(&len);
	json_t *results;
	int rc;

	if (arf_parse(buf, len, r) != ARF_OK) {
		rc = ctl_err(EXIT_BADINPUT, "-:0: not a usable complaint: %s",
			     r->why ? r->why : "?");
		goto out;
	}
	if (!arf_is_complaint(r)) {
		printf("a %s report, not a complaint: nothing counted\n", r->feedback_type);
		rc = EXIT_OK;
		goto out;
	}
	if ((rc = ctl_store(ctl)) != EXIT_OK)
		goto out;
	if ((rc = arf_attribute(ctl, r, envelope, &a)) != STORE_OK) {
		rc = rc == STORE_ERR ? ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st))
				     : unattributed("complaint");
		goto out;
	}
	ing = ingest_create(ctl->conf, ctl->st, NULL);
	ingest_set_notify(ing, on_note, (void *)ctl->conf);
	results = json_array();
	if (arf_result(ctl, ing, r, &a, results) < 0) {
		json_decref(results);
		rc = ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	} else {
		rc = finish(ctl, ing, "complaint", &a, results);
	}
	ingest_destroy(ing);
out:
	free(r);
	free(buf);
	return rc;
}

static int
cmd_ingest_report(struct ctl *ctl, int argc, char **argv, const char *verb)
{
	const char *envelope = NULL;
	int sysexits = 0, npos, rc;
	const struct ctl_opt opts[] = {{"--envelope", 1, &envelope, NULL},
				       {"--sysexits", 0, NULL, &sysexits},
				       {NULL, 0, NULL, NULL}};
	char *pos[1];

	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--sysexits") == 0)
			sysexits = 1; /* before a usage error, too */
	if ((rc = ctl_opts(ctl, argc, argv, opts, pos, &npos, 0, "ingest", verb)) != EXIT_OK)
		return sysexits ? sysexit(rc) : rc;
	rc = strcmp(verb, "dsn") == 0 ? ingest_dsn(ctl, envelope) : ingest_arf(ctl, envelope);
	return sysexits ? sysexit(rc) : rc;
}

static int
cmd_ingest_dsn(struct ctl *ctl, int argc, char **argv)
{
	return cmd_ingest_report(ctl, argc, argv, "dsn");
}

static int
cmd_ingest_arf(struct ctl *ctl, int argc, char **argv)
{
	return cmd_ingest_report(ctl, argc, argv, "arf");
}

/* ---- event bounce|complaint|delivery ----------------------------------------- */

struct event_args {
	const char *account, *recipient, *cls, *dsn, *reason, *queue_id;
};

/* The result an operator's event stands for; EXIT_OK or an exit code. */
static int
event_build(struct ctl *ctl, int field, const struct event_args *e, const char *rcpt,
	    struct ingest_result *res)
{
	struct classify_rules *rules;
	char err[512];

	res->field = field;
	res->cls = BC_OTHER;
	if (field == SF_COMPLAINT) {
		res->cls_name = e->cls ? e->cls : "abuse";
		res->suppress = ctl->conf->feedback.suppress_complaints ? SR_COMPLAINT : 0;
	} else if (field == SF_HARD && e->cls) {
		if ((res->cls = classify_parse_name(e->cls)) < 0)
			return ctl_err(EXIT_USAGE, "event: unknown class '%s'", e->cls);
	} else if (field == SF_HARD) {
		if ((rules = classify_load(ctl->conf->feedback.rules, err, sizeof(err))) == NULL)
			return ctl_err(EXIT_BADINPUT, "%s", err);
		res->cls = classify_text(rules, e->dsn ? e->dsn : "5.0.0", e->reason, NULL);
		classify_free(rules);
	}
	if (field == SF_HARD) {
		int kind = classify_kind(res->cls);
		res->field = kind == BK_HARD ? SF_HARD : kind == BK_BLOCK ? SF_BLOCK : SF_SOFT;
		res->suppress = kind == BK_HARD ? SR_BOUNCE : 0;
		res->marker = 1;
	}
	res->account = e->account;
	res->recipient = rcpt;
	res->queue_id = e->queue_id;
	res->dsn = e->dsn;
	res->text = e->reason;
	res->when = ctl->now;
	return EXIT_OK;
}

static int
cmd_event(struct ctl *ctl, int argc, char **argv, const char *verb, int field)
{
	struct event_args e = {0};
	const struct ctl_opt opts[] = {{"--account", 1, &e.account, NULL},
				       {"--recipient", 1, &e.recipient, NULL},
				       {"--class", 1, &e.cls, NULL},
				       {"--dsn", 1, &e.dsn, NULL},
				       {"--reason", 1, &e.reason, NULL},
				       {"--queue-id", 1, &e.queue_id, NULL},
				       {NULL, 0, NULL, NULL}};
	struct attribution a = {.how = "operator"};
	struct ingest_result res = {0};
	struct account_rec acct;
	struct store_txn *txn;
	struct ingest *ing;
	char *pos[1], rcpt[ADDRESS_MAX];
	int npos, rc;

	if ((rc = ctl_opts(ctl, argc, argv, opts, pos, &npos, 0, "event", verb)) != EXIT_OK)
		return rc;
	if (e.account == NULL || e.recipient == NULL)
		return ctl_usage("event", verb);
	if (suppress_normalise(e.recipient, rcpt, sizeof(rcpt)) < 0 || rcpt[0] == '@')
		return ctl_err(EXIT_BADINPUT, "-:0: '%s' is not an address", e.recipient);
	if ((rc = event_build(ctl, field, &e, rcpt, &res)) != EXIT_OK ||
	    (rc = ctl_store(ctl)) != EXIT_OK)
		return rc;
	if (store_read_begin(ctl->st, &txn) != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	rc = account_get(txn, e.account, &acct);
	store_read_end(txn);
	if (rc != STORE_OK)
		return rc == STORE_ERR ? ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st))
				       : ctl_err(EXIT_ABSENT, "no account %s", e.account);
	text_copy(a.account, sizeof(a.account), e.account);
	ing = ingest_create(ctl->conf, ctl->st, NULL);
	ingest_set_notify(ing, on_note, (void *)ctl->conf);
	if (ingest_result(ing, &res) != 0)
		rc = ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	else
		rc = finish(ctl, ing, ingest_type_name(res.field), &a,
			    json_pack("[{s:s, s:s, s:s}]", "recipient", rcpt, "type",
				      ingest_type_name(res.field), "class",
				      res.cls_name ? res.cls_name : classify_name(res.cls)));
	ingest_destroy(ing);
	return rc;
}

static int
cmd_event_bounce(struct ctl *ctl, int argc, char **argv)
{
	return cmd_event(ctl, argc, argv, "bounce", SF_HARD);
}

static int
cmd_event_complaint(struct ctl *ctl, int argc, char **argv)
{
	return cmd_event(ctl, argc, argv, "complaint", SF_COMPLAINT);
}

static int
cmd_event_delivery(struct ctl *ctl, int argc, char **argv)
{
	return cmd_event(ctl, argc, argv, "delivery", SF_DELIVERED);
}

#define REPORT_OPTS "[--envelope ADDR] [--sysexits] [--json] < MESSAGE"
#define EVENT_OPTS "--account A --recipient R [--dsn X.Y.Z] [--reason TEXT] [--queue-id Q]"

const struct ctl_cmd ctl_report_cmds[] = {
    {"ingest", "dsn", cmd_ingest_dsn, REPORT_OPTS,
     "count an asynchronous bounce (RFC 3464 DSN, or a plain-text bounce) read on stdin: tied to "
     "its account by the VERP return path (--envelope, or the original's Return-Path), the "
     "Feedback-ID header, the original queue id or Message-ID; hard bounces suppress the "
     "recipient; the same report twice counts once.  Exit 5: no account found; --sysexits: "
     "exit codes for a Postfix pipe transport (75 retry, 65 not a report, 67 no account)"},
    {"ingest", "arf", cmd_ingest_arf, REPORT_OPTS,
     "count a complaint (RFC 5965 ARF feedback report) read on stdin, tied to its account as "
     "for dsn; the complainant is suppressed for the account (feedback.suppress_complaints); "
     "not-spam, virus and auth-failure reports are not complaints"},
    {"event", "bounce", cmd_event_bounce, EVENT_OPTS " [--class CLASS]",
     "inject a bounce by hand: classified by --class (user-unknown ...) or by --dsn and "
     "--reason through the rule table; counted, suppressed when hard, thresholds checked"},
    {"event", "complaint", cmd_event_complaint, EVENT_OPTS " [--class TYPE]",
     "inject a complaint by hand: counted, the recipient suppressed, thresholds checked"},
    {"event", "delivery", cmd_event_delivery, EVENT_OPTS,
     "inject a delivery by hand: counted as delivered"},
    {NULL, NULL, NULL, NULL, NULL},
};
