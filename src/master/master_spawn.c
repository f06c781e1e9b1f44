/*
 * master_spawn -- the children table: fork workers, reap them, respawn with
 * backoff.  Each slot runs one worker; a worker that exits 0 (it retired or
 * was replaced) is started again at once, one that crashed after a delay that
 * doubles from 1 s up to 60 s, reset once a worker has lived for 60 s.
 * Slots 0..max-1 are policy workers; the five after them are the milters
 * (milter.listen, milter.non_smtpd_listen), the feedback process
 * (feedback.maillog or dns.monitor_addresses), the http process (http.listen) and the cluster
 * process (cluster.redis), each wanted when its setting is not empty and supervised the same way.
 * The feedback, http and cluster processes are never doubled: on reload they are stopped, and each
 * one's successor (with the new configuration) starts once it has exited.
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "master.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xalloc.h"
#include "cluster/cluster.h"
#include "feedback/feedback.h"
#include "feedback/ipwatch.h"
#include "http/http.h"
#include "milter/milter.h"
#include "worker/worker.h"
#include "worker/stats_view.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define STABLE_SECS 60
#define MAX_RETIRED 256

struct slot {
	pid_t pid;	       /* 0 when not running */
	int64_t started;       /* seconds */
	int64_t respawn_at_ms; /* when a crashed worker may start again */
	long backoff_ms;
	unsigned restarts;
	int active; /* slot in use at the current worker count */
};

#define EXTRA_SLOTS 5 /* milter, non-SMTP milter, feedback, http, cluster */
#define SLOT_FEEDBACK(ch) ((ch)->max + 2)
#define SLOT_HTTP(ch) ((ch)->max + 3)
#define SLOT_CLUSTER(ch) ((ch)->max + 4)

struct children {
	struct slot *slots;
	size_t max;   /* policy worker slots */
	size_t total; /* max + EXTRA_SLOTS */
	int n;	      /* wanted worker count */
	const struct conf *conf;
	const int *fds;
	int nfds;
	const int *http_fds; /* the http process's listeners */
	int nhttp;
	const char **kinds;	    /* slot_kind() of each slot, for /metrics */
	struct worker_stats *stats; /* shared with the workers */
	pid_t retired[MAX_RETIRED]; /* replaced workers still draining */
	int nretired;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What slot I runs, for the log and status. */
static const char *
slot_kind(const struct children *ch, size_t i)
{
	if (i < ch->max)
		return "policy";
	if (i == SLOT_HTTP(ch))
		return "http";
	if (i == SLOT_CLUSTER(ch))
		return "cluster";
	return i == ch->max ? "milter" : i == ch->max + 1 ? "milter-non-smtpd" : "feedback";
}

struct children *
children_create(size_t max)
{
	struct children *ch = xcalloc(1, sizeof(*ch));

	ch->max = max;
	ch->total = max + EXTRA_SLOTS;
	ch->slots = xcalloc(ch->total, sizeof(*ch->slots));
	ch->stats = mmap(NULL, ch->total * sizeof(*ch->stats), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ch->stats == MAP_FAILED)
		fatal("mmap worker statistics");
	ch->kinds = xcalloc(ch->total, sizeof(*ch->kinds));
	for (size_t i = 0; i < ch->total; i++) {
		ch->kinds[i] = slot_kind(ch, i);
		ch->stats[i].feedback_lag_bytes = -1; /* no log followed (a slot never started) */
	}
	return ch;
}

void
children_destroy(struct children *ch)
{
	if (ch == NULL)
		return;
	munmap(ch->stats, ch->total * sizeof(*ch->stats));
	free(ch->kinds);
	free(ch->slots);
	free(ch);
}

/* In the child: become the worker, milter or feedback process of slot I (never returns). */
static void
child_main(struct children *ch, int i)
{
	struct worker_args args = {ch->conf, ch->fds, ch->nfds, i, &ch->stats[i]};
	struct milter_args margs = {ch->conf, i == (int)ch->max + 1, &ch->stats[i]};
	struct feedback_args fargs = {ch->conf, &ch->stats[i]};
	struct http_args hargs = {ch->conf,  ch->http_fds, ch->nhttp, &ch->stats[i],
				  ch->stats, ch->kinds,	   ch->total};
	struct cluster_args cargs = {ch->conf};

	if ((size_t)i != SLOT_HTTP(ch))
		for (int f = 0; f < ch->nhttp; f++)
			close(ch->http_fds[f]);
	if ((size_t)i >= ch->max) {
		for (int f = 0; f < ch->nfds; f++)
			close(ch->fds[f]);
		if ((size_t)i == SLOT_HTTP(ch))
			http_main(&hargs);
		if ((size_t)i == SLOT_FEEDBACK(ch))
			feedback_main(&fargs);
		if ((size_t)i == SLOT_CLUSTER(ch))
			cluster_main(&cargs);
		milter_main(&margs);
	}
	worker_main(&args);
}

/* Fork the child of slot I.  Signals are blocked across fork so that the
 * child never runs the master's handlers; it resets them before unblocking. */

static void
spawn(struct children *ch, int i)
{
	sigset_t all, old;
	pid_t pid;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		static const int sigs[] = {SIGHUP, SIGTERM, SIGINT, SIGCHLD, SIGUSR1, SIGUSR2};
		for (size_t s = 0; s < sizeof(sigs) / sizeof(sigs[0]); s++)
			signal(sigs[s], SIG_DFL);
		master_child_cleanup();
		sigprocmask(SIG_SETMASK, &old, NULL);
		memset(&ch->stats[i], 0, sizeof(ch->stats[i]));
		ch->stats[i].feedback_lag_bytes = -1;
		child_main(ch, i);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		log_warn("fork worker %d", i);
		ch->slots[i].respawn_at_ms = now_ms() + BACKOFF_MIN_MS;
		return;
	}
	ch->slots[i].pid = pid;
	ch->slots[i].started = time(NULL);
	log_debug("started %s %d pid %ld", slot_kind(ch, (size_t)i), i, (long)pid);
}

void
children_http_fds(struct children *ch, const int *fds, int n)
{
	ch->http_fds = fds;
	ch->nhttp = n;
}

void
children_start_all(struct children *ch, const struct conf *conf, const int *fds, int nfds)
{
	ch->conf = conf;
	ch->fds = fds;
	ch->nfds = nfds;
	children_resize(ch, conf->policy.workers);
	children_extras(ch, conf);
}

/* The setting that makes extra slot I wanted when it is not empty. */
static const char *
extra_spec(const struct children *ch, const struct conf *conf, size_t i)
{
	if (i == SLOT_HTTP(ch)) /* served only on the sockets bound at start */
		return conf->http.listen.n > 0 && ch->nhttp > 0 ? "http" : "";
	if (i == ch->max)
		return conf->milter.listen;
	if (i == SLOT_CLUSTER(ch))
		return conf->cluster.redis;
	if (i == ch->max + 1)
		return conf->milter.non_smtpd_listen;
	if (conf->feedback.maillog[0] == '\0' && ipwatch_wanted(conf))
		return "dns.monitor_addresses"; /* the feedback process watches our addresses */
	return conf->feedback.maillog;
}

void
children_extras(struct children *ch, const struct conf *conf)
{
	for (size_t i = ch->max; i < ch->total; i++) {
		struct slot *s = &ch->slots[i];
		int want = extra_spec(ch, conf, i)[0] != '\0';
		if (want && !s->active) {
			s->active = 1;
			s->backoff_ms = 0;
			if (s->pid == 0)
				spawn(ch, (int)i);
		} else if (!want && s->active) {
			s->active = 0;
			if (s->pid > 0)
				kill(s->pid, SIGTERM);
		}
	}
}

void
children_resize(struct children *ch, int n)
{
	if ((size_t)n > ch->max)
		n = (int)ch->max;
	for (int i = 0; i < (int)ch->max; i++) {
		struct slot *s = &ch->slots[i];
		if (i < n && !s->active) {
			s->active = 1;
			s->backoff_ms = 0;
			if (s->pid == 0)
				spawn(ch, i);
		} else if (i >= n && s->active) {
			s->active = 0;
			if (s->pid > 0)
				kill(s->pid, SIGTERM);
		}
	}
	ch->n = n;
}

void
children_replace_all(struct children *ch, const struct conf *conf)
{
	const struct conf *old = ch->conf;

	ch->conf = conf;
	for (int i = 0; i < ch->n; i++) {
		struct slot *s = &ch->slots[i];
		if (s->pid > 0 && ch->nretired < MAX_RETIRED) {
			kill(s->pid, SIGTERM);
			ch->retired[ch->nretired++] = s->pid;
			s->pid = 0;
		}
		if (s->pid == 0)
			spawn(ch, i);
	}
	children_resize(ch, conf->policy.workers);
	for (size_t i = ch->max; i < ch->total; i++) {
		struct slot *s = &ch->slots[i];
		if (s->pid <= 0)
			continue;
		if (i == SLOT_FEEDBACK(ch) || i == SLOT_HTTP(ch) || i == SLOT_CLUSTER(ch)) {
			kill(s->pid, SIGTERM); /* its successor starts when it has exited */
			continue;
		}
		if (strcmp(extra_spec(ch, old, i), extra_spec(ch, conf, i)) == 0) {
			kill(s->pid, SIGUSR1); /* same socket: reload in place, no session lost */
		} else if (ch->nretired < MAX_RETIRED) {
			kill(s->pid, SIGTERM);
			ch->retired[ch->nretired++] = s->pid;
			s->pid = 0;
			s->respawn_at_ms =
			    now_ms() + BACKOFF_MIN_MS; /* let the old one free the port */
		}
	}
	children_extras(ch, conf);
}

/* A child exited: forget it, and schedule its slot's next worker. */
static void
child_exited(struct children *ch, pid_t pid, int status)
{
	for (int i = 0; i < ch->nretired; i++)
		if (ch->retired[i] == pid) {
			ch->retired[i] = ch->retired[--ch->nretired];
			return;
		}
	for (size_t i = 0; i < ch->total; i++) {
		struct slot *s = &ch->slots[i];
		if (s->pid != pid)
			continue;
		s->pid = 0;
		if (!s->active)
			return;
		s->restarts++;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			s->respawn_at_ms = 0;
			return;
		}
		if (WIFSIGNALED(status))
			log_warnx("%s %zu (pid %ld) killed by signal %d", slot_kind(ch, i), i,
				  (long)pid, WTERMSIG(status));
		else
			log_warnx("%s %zu (pid %ld) exited with status %d", slot_kind(ch, i), i,
				  (long)pid, WEXITSTATUS(status));
		if (time(NULL) - s->started >= STABLE_SECS)
			s->backoff_ms = 0;
		s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
		if (s->backoff_ms > BACKOFF_MAX_MS)
			s->backoff_ms = BACKOFF_MAX_MS;
		s->respawn_at_ms = now_ms() + s->backoff_ms;
		log_warnx("%s %zu restarts in %ld ms", slot_kind(ch, i), i, s->backoff_ms);
		return;
	}
}

void
children_reap(struct children *ch)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		child_exited(ch, pid, status);
}

long
children_tick(struct children *ch)
{
	int64_t now = now_ms();
	long next = -1;

	for (size_t i = 0; i < ch->total; i++) {
		struct slot *s = &ch->slots[i];
		if (!s->active || s->pid != 0)
			continue;
		if (s->respawn_at_ms <= now)
			spawn(ch, (int)i);
		if (s->pid == 0) {
			long wait = (long)(s->respawn_at_ms - now);
			if (next < 0 || wait < next)
				next = wait < 0 ? 0 : wait;
		}
	}
	return next;
}

int
children_stop(struct children *ch)
{
	for (size_t i = 0; i < ch->total; i++) {
		ch->slots[i].active = 0;
		if (ch->slots[i].pid > 0)
			kill(ch->slots[i].pid, SIGTERM);
	}
	for (int i = 0; i < ch->nretired; i++)
		kill(ch->retired[i], SIGTERM);
	return children_running(ch);
}

void
children_kill(struct children *ch)
{
	for (size_t i = 0; i < ch->total; i++)
		if (ch->slots[i].pid > 0)
			kill(ch->slots[i].pid, SIGKILL);
	for (int i = 0; i < ch->nretired; i++)
		kill(ch->retired[i], SIGKILL);
}

int
children_running(const struct children *ch)
{
	int n = ch->nretired;

	for (size_t i = 0; i < ch->total; i++)
		n += ch->slots[i].pid > 0;
	return n;
}

/* Sum of the policy workers' RCPT and END-OF-MESSAGE requests. */
void
children_stage_counts(const struct children *ch, uint64_t *rcpt, uint64_t *eom)
{
	*rcpt = *eom = 0;
	for (size_t i = 0; i < ch->max; i++) {
		*rcpt += ch->stats[i].rcpt_requests;
		*eom += ch->stats[i].eom_requests;
	}
}

void *
children_dnsbl_status(const struct children *ch, const struct conf *conf)
{
	const struct dns_health **hs = xcalloc(ch->total + 1, sizeof(*hs));
	const char **names = xcalloc(conf->dnsbl.n + 1, sizeof(*names));
	void *arr;

	for (size_t i = 0; i < ch->total; i++)
		hs[i] = ch->slots[i].active ? &ch->stats[i].dns : NULL;
	for (size_t i = 0; i < conf->dnsbl.n; i++)
		names[i] = conf->dnsbl.v[i].name;
	arr = dns_health_json(hs, ch->total, names, conf->dnsbl.n);
	free(hs);
	free(names);
	return arr;
}

void *
children_live(const struct children *ch)
{
	struct stats_view v;

	stats_view_sum(ch->stats, ch->kinds, ch->total, &v);
	return stats_view_json(&v);
}

void *
children_status(const struct children *ch)
{
	json_t *arr = json_array();
	char when[32];

	for (size_t i = 0; i < ch->total; i++) {
		const struct slot *s = &ch->slots[i];
		const struct worker_stats *w = &ch->stats[i];
		if (!s->active)
			continue;
		json_array_append_new(
		    arr,
		    json_pack(
			"{s:i, s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			"slot", (int)i, "kind", slot_kind(ch, i), "pid", (json_int_t)s->pid,
			"started", s->pid ? text_time_format(s->started, when, sizeof(when)) : "",
			"restarts", (json_int_t)s->restarts, "connections",
			(json_int_t)w->connections, "open_connections",
			(json_int_t)w->open_connections, "requests", (json_int_t)w->requests,
			"refusals", (json_int_t)w->refusals, "would_refuse",
			(json_int_t)w->would_refuse, "rcpt_requests", (json_int_t)w->rcpt_requests,
			"eom_requests", (json_int_t)w->eom_requests, "bad_requests",
			(json_int_t)w->bad_requests, "store_errors", (json_int_t)w->store_errors));
	}
	return arr;
}
