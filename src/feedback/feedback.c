/* feedback -- the log-following child process; see feedback.h. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "feedback.h"
#include "feedback/claim.h"
#include "feedback/expire.h"
#include "feedback/classify.h"
#include "feedback/eventlog.h"
#include "feedback/follow.h"
#include "feedback/hook.h"
#include "feedback/ingest.h"
#include "feedback/ipwatch.h"
#include "feedback/reputation.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xalloc.h"
#include "worker/worker.h"

#define POS_KEY "maillog_pos"
#define CHUNK_LINES 1024 /* below ingest's batch: nothing commits without the position */
#define CHUNKS_PER_TICK 64
#define MEMO_MAX 256

struct feedback {
	const struct conf *conf;
	struct worker_stats *stats;
	struct store *st;
	struct classify_rules *rules;
	struct ingest *ing;
	struct follow *fol;
	struct hooks *hooks;
	struct ipwatch *watch; /* dns.monitor_addresses; NULL: off */
	struct claim *claim;   /* fleet mode: transitions claimed in Redis; NULL: one host */
	struct event_base *base;
	struct event *ev_tick, *ev_term, *ev_int;
	struct maillog_pos_rec last; /* the position last committed */
	int committed;
	int64_t next_expire; /* when expire_run() is due */
	/* would-be transitions already logged (auto-enforce=off), so each is logged once */
	char memo[MEMO_MAX][ACCOUNT_NAME_MAX];
	int memo_to[MEMO_MAX];
	int nmemo;
};

static int
on_line(const char *line, size_t len, void *arg)
{
	struct feedback *fb = arg;

	fb->stats->requests++;
	return ingest_line(fb->ing, line, len, (int64_t)time(NULL));
}

struct judge {
	struct feedback *fb;
	const char *account;
	int flags; /* REP_LOCAL, REP_NOAPPLY */
	struct reputation_verdict v;
};

static int
judge_txn(struct store_txn *txn, void *arg)
{
	struct judge *j = arg;
	int rc =
	    reputation_judge(txn, j->fb->conf, j->account, (int64_t)time(NULL), j->flags, &j->v);

	return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

/* Log a would-be transition once per account and target state. */
static int
memo_new(struct feedback *fb, const char *account, int to)
{
	int i;

	for (i = 0; i < fb->nmemo; i++)
		if (strcmp(fb->memo[i], account) == 0)
			break;
	if (i < fb->nmemo && fb->memo_to[i] == to)
		return 0;
	if (i == fb->nmemo && fb->nmemo < MEMO_MAX)
		fb->nmemo++;
	else if (i == fb->nmemo)
		i = 0;
	text_copy(fb->memo[i], ACCOUNT_NAME_MAX, account);
	fb->memo_to[i] = to;
	return 1;
}

/* Judge J's account (J->flags); 0, or -1 when the store failed (logged). */
static int
judge_write(struct judge *j)
{
	if (store_write(j->fb->st, judge_txn, j) != STORE_OK) {
		log_warnx("feedback: judging account %s: %s", j->account, store_error(j->fb->st));
		return -1;
	}
	return 0;
}

/* Log the change of state J made (and write its event), or the one it would make. */
static void
judge_report(struct judge *j)
{
	const char *account = j->account;

	if (j->v.to < 0)
		return;
	if (j->v.applied) {
		log_info("account=%s state %s -> %s by=%s reason=\"%s\"%s", account,
			 account_state_name(j->v.from), account_state_name(j->v.to), j->v.by,
			 j->v.reason, j->flags & REP_LOCAL ? " (this host's counters)" : "");
		reputation_event(j->fb->conf, account, &j->v);
	} else if (!j->v.enforce && memo_new(j->fb, account, j->v.to))
		log_info("account=%s would move %s -> %s (auto-enforce=off) by=%s reason=\"%s\"",
			 account, account_state_name(j->v.from), account_state_name(j->v.to),
			 j->v.by, j->v.reason);
}

/* Judge ACCOUNT's rates and log any change of state (after the commit). */
static void
judge(const char *account, void *arg)
{
	struct judge j = {.fb = arg, .account = account};

	if (judge_write(&j) == 0)
		judge_report(&j);
}

/* Fleet mode: judge ACCOUNT on the fleet's counters; a transition is written only by the node
 * that claims it in Redis (claim.h).  LOCAL: Redis out of reach, this host's counters. */
static void
judge_fleet(struct feedback *fb, const char *account, int local)
{
	struct judge j = {.fb = fb, .account = account, .flags = REP_NOAPPLY};
	char holder[256];
	int won;

	if (local) {
		j.flags = REP_LOCAL;
		if (judge_write(&j) == 0)
			judge_report(&j);
		return;
	}
	if (judge_write(&j) < 0 || j.v.to < 0 || !j.v.enforce) {
		judge_report(&j);
		return;
	}
	won = fb->claim ? claim_take(fb->claim, account, j.v.since, j.v.to, holder, sizeof(holder))
			: -1;
	if (won == 0) {
		log_info("account=%s %s -> %s claimed by node %s: its change arrives through the "
			 "fleet",
			 account, account_state_name(j.v.from), account_state_name(j.v.to), holder);
		return;
	}
	j.flags = won > 0 ? 0 : REP_LOCAL;
	if (judge_write(&j) == 0)
		judge_report(&j);
}

#define MARK_BATCH 64

struct marked {
	char names[MARK_BATCH][ACCOUNT_NAME_MAX];
	int local[MARK_BATCH];
	int n;
};

/* Take the accounts the cluster process marked for judging. */
static int
marked_take_txn(struct store_txn *txn, void *arg)
{
	struct marked *m = arg;
	char val[16];
	int rc;

	if ((m->n = reputation_mark_list(txn, RM_JUDGE, m->names, MARK_BATCH)) < 0)
		return STORE_ERR;
	for (int i = 0; i < m->n; i++) {
		if (reputation_mark_get(txn, RM_JUDGE, m->names[i], val, sizeof(val)) ==
			STORE_ERR ||
		    (rc = reputation_mark_del(txn, RM_JUDGE, m->names[i])) != STORE_OK)
			return STORE_ERR;
		m->local[i] = strcmp(val, "local") == 0;
	}
	return STORE_OK;
}

/* Fleet mode: judge the accounts whose fleet counters the cluster process fetched. */
static void
judge_marked(struct feedback *fb)
{
	struct marked *m = xcalloc(1, sizeof(*m));

	if (store_write(fb->st, marked_take_txn, m) != STORE_OK)
		log_warnx("feedback: accounts to judge: %s", store_error(fb->st));
	else
		for (int i = 0; i < m->n; i++)
			judge_fleet(fb, m->names[i], m->local[i]);
	free(m);
}

struct dirty {
	struct store_txn *txn;
	char stamp[32];
	int rc;
};

static void
dirty_one(const char *account, void *arg)
{
	struct dirty *d = arg;

	if (d->rc == STORE_OK)
		d->rc = reputation_mark_set(d->txn, RM_DIRTY, account, d->stamp);
}

static int
dirty_txn(struct store_txn *txn, void *arg)
{
	struct feedback *fb = arg;
	struct dirty d = {.txn = txn, .rc = STORE_OK};

	snprintf(d.stamp, sizeof(d.stamp), "%lld", (long long)now_us());
	ingest_touched(fb->ing, dirty_one, &d);
	return d.rc;
}

/* Fleet mode: the accounts that got results go to the cluster process first (fleetrep.h). */
static void
mark_dirty(struct feedback *fb)
{
	if (store_write(fb->st, dirty_txn, fb) != STORE_OK)
		log_warnx("feedback: marking accounts for the fleet: %s", store_error(fb->st));
}

static int
pos_equal(const struct maillog_pos_rec *a, const struct maillog_pos_rec *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->offset == b->offset &&
	       a->head_len == b->head_len && a->head_hash == b->head_hash;
}

/* Commit the pending counts with the position in the log; then judge the accounts. */
static int
checkpoint(struct feedback *fb)
{
	struct maillog_pos_rec pos = {0};
	uint8_t buf[64];
	size_t n;

	if (follow_position(fb->fol, &pos) < 0)
		return ingest_flush(fb->ing);
	if (fb->committed && pos_equal(&pos, &fb->last))
		return ingest_flush(fb->ing);
	if ((n = rec_maillog_pos_encode(&pos, buf, sizeof(buf))) == 0 ||
	    ingest_commit(fb->ing, POS_KEY, buf, n) < 0)
		return -1;
	fb->last = pos;
	fb->committed = 1;
	if (fb->conf->cluster.redis[0])
		mark_dirty(fb);
	else
		ingest_touched(fb->ing, judge, fb);
	ingest_touched_clear(fb->ing);
	return 0;
}

/* Once an hour, when the log is read up: drop what is older than feedback.retention. */
static void
expire_due(struct feedback *fb)
{
	int64_t now = (int64_t)time(NULL);
	struct expire_stats es;

	if (now < fb->next_expire)
		return;
	fb->next_expire = now + 3600;
	if (expire_run(fb->st, now - fb->conf->feedback.retention, &es) != STORE_OK)
		log_warnx("feedback: expiry: %s", store_error(fb->st));
	else if (es.messages || es.results)
		log_info("feedback: expired %llu message records and %llu result entries older "
			 "than %lld days",
			 (unsigned long long)es.messages, (unsigned long long)es.results,
			 (long long)(fb->conf->feedback.retention / 86400));
	if (es.filter_rebuilt)
		log_info("feedback: suppression filter rebuilt over %llu entries",
			 (unsigned long long)es.filter_entries);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct feedback *fb = arg;
	int64_t ms = fb->conf->feedback.poll_interval;
	struct timeval tv;
	int i, n = 0;

	for (i = 0; i < CHUNKS_PER_TICK; i++) {
		if ((n = follow_read(fb->fol, CHUNK_LINES, on_line, fb)) < 0 ||
		    checkpoint(fb) < 0) {
			log_warnx("feedback: store failure: exiting (the master restarts us)");
			exit(1);
		}
		if (n < CHUNK_LINES)
			break;
	}
	if (fb->conf->cluster.redis[0])
		judge_marked(fb);
	fb->stats->feedback_lag_bytes = follow_behind(fb->fol);
	if (n == CHUNK_LINES)
		ms = 0; /* a backlog: go on at once, after any signal */
	else
		expire_due(fb);
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(fb->ev_tick, &tv);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct feedback *fb = arg;

	if (fb->fol && checkpoint(fb) < 0)
		exit(1);
	event_base_loopexit(fb->base, NULL);
}

/* Where the last run stopped; NULL if it never ran. */
static const struct maillog_pos_rec *
stored_position(struct feedback *fb, struct maillog_pos_rec *pos)
{
	struct store_txn *txn;
	struct store_val v;
	int rc;

	if (store_read_begin(fb->st, &txn) != STORE_OK)
		fatalx("feedback: %s", store_error(fb->st));
	rc = store_get(txn, DB_META, POS_KEY, strlen(POS_KEY), &v);
	if (rc == STORE_OK && rec_maillog_pos_decode(v.data, v.len, pos) < 0)
		rc = STORE_NOTFOUND;
	store_read_end(txn);
	if (rc == STORE_ERR)
		fatalx("feedback: %s", store_error(fb->st));
	if (rc == STORE_OK) {
		fb->last = *pos;
		fb->committed = 1;
	}
	return rc == STORE_OK ? pos : NULL;
}

/* A new result was committed: to the event log. */
static void
on_note(const struct ingest_note *n, void *arg)
{
	struct feedback *fb = arg;

	ingest_note_emit(fb->conf, n);
}

/* Hooks run from the loop, never waited on. */
static void
run_hook(const char *type, const char *account, const char *json, void *arg)
{
	struct feedback *fb = arg;

	hooks_fire(fb->hooks, type, account, json);
}

/* Follow feedback.maillog (when set): the log's position, the ingest state, the first tick. */
static void
maillog_setup(struct feedback *fb)
{
	const struct conf *conf = fb->conf;
	struct maillog_pos_rec pos;
	struct timeval now = {0, 0};
	char err[512], what[4400];

	if ((fb->rules = classify_load(conf->feedback.rules, err, sizeof(err))) == NULL)
		fatalx("feedback: %s", err);
	fb->ing = ingest_create(conf, fb->st, fb->rules);
	fb->fol = follow_create(conf->feedback.maillog);
	follow_resume(fb->fol, stored_position(fb, &pos), what, sizeof(what));
	log_info("feedback: %s", what);
	if (conf->feedback.event_log[0])
		ingest_set_notify(fb->ing, on_note, fb);
	fb->next_expire = (int64_t)time(NULL) + 60; /* not in the way of a restart's catch-up */
	fb->ev_tick = evtimer_new(fb->base, tick_cb, fb);
	evtimer_add(fb->ev_tick, &now);
}

/* The process runs for feedback.maillog, dns.monitor_addresses, or both. */
static void
feedback_setup(struct feedback *fb)
{
	const struct conf *conf = fb->conf;
	struct store_opts so = {conf->store.map_size, conf->store.max_readers, 0, 1};
	char err[512];

	if ((fb->st = store_open(conf->store.path, &so, err, sizeof(err))) == NULL)
		fatalx("feedback: %s", err);
	if ((fb->base = event_base_new()) == NULL)
		fatalx("feedback: cannot create event base");
	fb->hooks = hooks_create(fb->base, conf);
	event_set_hook_runner(run_hook, fb);
	fb->claim = claim_create(conf);
	if (conf->feedback.maillog[0])
		maillog_setup(fb);
	fb->watch = ipwatch_create(fb->base, conf, fb->st);
	fb->ev_term = evsignal_new(fb->base, SIGTERM, signal_cb, fb);
	fb->ev_int = evsignal_new(fb->base, SIGINT, signal_cb, fb);
	event_add(fb->ev_term, NULL);
	event_add(fb->ev_int, NULL);
}

void
feedback_main(const struct feedback_args *args)
{
	struct feedback *fb = xcalloc(1, sizeof(*fb));

	log_procname("feedback");
	prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the master */
	signal(SIGHUP, SIG_IGN);	  /* reload: the master restarts us */
	signal(SIGPIPE, SIG_IGN);
	fb->conf = args->conf;
	fb->stats = args->stats;
	fb->stats->feedback_lag_bytes = -1; /* until a log is open */
	feedback_setup(fb);
	if (getppid() == 1)
		exit(0); /* the master died before we set PDEATHSIG */
	event_base_dispatch(fb->base);
	ipwatch_destroy(fb->watch);
	if (fb->ev_tick)
		event_free(fb->ev_tick);
	event_free(fb->ev_term);
	event_free(fb->ev_int);
	hooks_destroy(fb->hooks);
	claim_destroy(fb->claim);
	event_base_free(fb->base);
	follow_destroy(fb->fol);
	ingest_destroy(fb->ing);
	classify_free(fb->rules);
	store_close(fb->st);
	free(fb);
	exit(0);
}
