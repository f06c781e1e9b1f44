/* hook -- the operator's hook command, never waited on; see hook.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "hook.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xalloc.h"

#define HOOK_TYPE_MAX 16
#define HOOK_ACCOUNT_MAX 128

/* In the child, before execve: stdin from FD, no other descriptor, default signals. */
static void
child_exec(int fd, const char *path, const char *type, const char *account)
{
	char env_type[64], env_acct[HOOK_ACCOUNT_MAX + 32];
	char *const argv[] = {(char *)path, (char *)type, NULL};
	char *const envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", env_type, env_acct, NULL};
	sigset_t none;
	long maxfd = sysconf(_SC_OPEN_MAX);

	if (dup2(fd, 0) < 0)
		_exit(126);
	for (long i = 3; i < (maxfd > 0 && maxfd < 65536 ? maxfd : 65536); i++)
		close((int)i);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	snprintf(env_type, sizeof(env_type), "OUTPOST_EVENT_TYPE=%s", type);
	snprintf(env_acct, sizeof(env_acct), "OUTPOST_ACCOUNT=%s", account);
	execve(path, argv, envp);
	_exit(127);
}

pid_t
hook_spawn(const char *path, const char *type, const char *account, const char *json)
{
	size_t n = strlen(json);
	int fds[2];
	pid_t pid;
	ssize_t w;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		log_warn("hook %s: pipe", path);
		return -1;
	}
	if ((pid = fork()) < 0) {
		log_warn("hook %s: fork", path);
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[1]);
		child_exec(fds[0], path, type, account);
	}
	close(fds[0]);
	/* A line fits the pipe's buffer: this never blocks (non-blocking anyway). */
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	w = write(fds[1], json, n);
	if (w == (ssize_t)n)
		w = write(fds[1], "\n", 1) == 1 ? (ssize_t)n : -1;
	if (w != (ssize_t)n)
		log_warnx("hook %s %s: could not write the event to its stdin", path, type);
	close(fds[1]);
	return pid;
}

/* Wait for PID at most TIMEOUT seconds (polling: no signal handler), then kill it. */
static int
supervise(pid_t pid, int64_t timeout, int *timed_out)
{
	int64_t ticks = timeout * 50;
	struct timespec tick = {0, 20 * 1000 * 1000};
	int status = 0;

	*timed_out = 0;
	for (int64_t i = 0; i <= ticks; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return status;
		nanosleep(&tick, NULL);
	}
	*timed_out = 1;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return status;
}

void
hook_detached(const char *path, const char *type, const char *account, const char *json,
	      int64_t timeout)
{
	pid_t a = fork(), hook;
	int status, timed_out, devnull;

	if (a < 0) {
		log_warn("hook %s: fork", path);
		return;
	}
	if (a > 0) {
		waitpid(a, &status, 0);
		return;
	}
	/* The first child: detach, and let the grandchild outlive us (init reaps it). */
	setsid();
	if (fork() != 0)
		_exit(0);
	if ((devnull = open("/dev/null", O_RDWR)) >= 0) {
		dup2(devnull, 1); /* a pipe(8) transport waits for the end of our output */
		dup2(devnull, 2);
	}
	if ((hook = hook_spawn(path, type, account, json)) < 0)
		_exit(1);
	status = supervise(hook, timeout, &timed_out);
	if (timed_out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		openlog("outpostctl", LOG_PID, LOG_MAIL);
		syslog(LOG_WARNING, "hook %s %s account=%s failed: %s %d", path, type, account,
		       timed_out ? "killed after the time limit, status" : "status", status);
	}
	_exit(0);
}

/* ---- the feedback process: asynchronous, capped -------------------------------- */

struct hook_run {
	pid_t pid; /* 0: free */
	struct event *timer;
	int timed_out;
	char type[HOOK_TYPE_MAX];
	char account[HOOK_ACCOUNT_MAX];
};

struct hook_job {
	char type[HOOK_TYPE_MAX];
	char account[HOOK_ACCOUNT_MAX];
	char *json;
};

struct hooks {
	struct event_base *base;
	const struct conf *conf;
	struct event *ev_chld;
	struct hook_run run[HOOK_RUN_MAX];
	struct hook_job queue[HOOK_QUEUE_MAX];
	size_t qhead, qlen;
	struct hook_stats stats;
};

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook_run *r = arg;

	if (r->pid > 0) {
		r->timed_out = 1;
		kill(r->pid, SIGKILL); /* reaped on SIGCHLD */
	}
}

static int
running(const struct hooks *h)
{
	int n = 0;

	for (int i = 0; i < HOOK_RUN_MAX; i++)
		n += h->run[i].pid > 0;
	return n;
}

/* Start one job in a free slot. */
static void
start(struct hooks *h, const char *type, const char *account, const char *json)
{
	struct timeval tv = {(time_t)h->conf->feedback.hook_timeout, 0};
	struct hook_run *r = NULL;

	for (int i = 0; i < HOOK_RUN_MAX && r == NULL; i++)
		if (h->run[i].pid == 0)
			r = &h->run[i];
	if (r == NULL || (r->pid = hook_spawn(h->conf->feedback.hook, type, account, json)) < 0) {
		if (r)
			r->pid = 0;
		h->stats.failed++;
		return;
	}
	h->stats.started++;
	r->timed_out = 0;
	text_copy(r->type, sizeof(r->type), type);
	text_copy(r->account, sizeof(r->account), account);
	if (r->timer == NULL)
		r->timer = evtimer_new(h->base, timeout_cb, r);
	evtimer_add(r->timer, &tv);
}

/* Start queued jobs while slots are free. */
static void
drain(struct hooks *h)
{
	while (h->qlen > 0 && running(h) < h->conf->feedback.hook_max) {
		struct hook_job *j = &h->queue[h->qhead];
		start(h, j->type, j->account, j->json);
		free(j->json);
		j->json = NULL;
		h->qhead = (h->qhead + 1) % HOOK_QUEUE_MAX;
		h->qlen--;
	}
}

static void
reap(struct hooks *h, struct hook_run *r, int status)
{
	evtimer_del(r->timer);
	if (r->timed_out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		h->stats.failed++;
		h->stats.timed_out += r->timed_out;
		if (r->timed_out)
			log_warnx("hook %s %s account=%s: killed after %llds",
				  h->conf->feedback.hook, r->type, r->account,
				  (long long)h->conf->feedback.hook_timeout);
		else if (WIFSIGNALED(status))
			log_warnx("hook %s %s account=%s: killed by signal %d",
				  h->conf->feedback.hook, r->type, r->account, WTERMSIG(status));
		else
			log_warnx("hook %s %s account=%s: exit status %d", h->conf->feedback.hook,
				  r->type, r->account, WEXITSTATUS(status));
	}
	r->pid = 0;
}

static void
chld_cb(evutil_socket_t sig, short what, void *arg)
{
	struct hooks *h = arg;
	int status;

	for (int i = 0; i < HOOK_RUN_MAX; i++)
		if (h->run[i].pid > 0 && waitpid(h->run[i].pid, &status, WNOHANG) == h->run[i].pid)
			reap(h, &h->run[i], status);
	drain(h);
}

struct hooks *
hooks_create(struct event_base *base, const struct conf *conf)
{
	struct hooks *h = xcalloc(1, sizeof(*h));

	h->base = base;
	h->conf = conf;
	h->ev_chld = evsignal_new(base, SIGCHLD, chld_cb, h);
	event_add(h->ev_chld, NULL);
	return h;
}

void
hooks_destroy(struct hooks *h)
{
	if (h == NULL)
		return;
	for (int i = 0; i < HOOK_RUN_MAX; i++)
		if (h->run[i].timer)
			event_free(h->run[i].timer);
	for (size_t i = 0; i < HOOK_QUEUE_MAX; i++)
		free(h->queue[i].json);
	event_free(h->ev_chld);
	free(h);
}

void
hooks_fire(struct hooks *h, const char *type, const char *account, const char *json)
{
	struct hook_job *j;

	if (h->qlen == 0 && running(h) < h->conf->feedback.hook_max) {
		start(h, type, account, json);
		return;
	}
	if (h->qlen == HOOK_QUEUE_MAX) {
		h->stats.dropped++;
		log_warnx("hook %s %s account=%s: %d hooks running and %d queued: dropped",
			  h->conf->feedback.hook, type, account, h->conf->feedback.hook_max,
			  HOOK_QUEUE_MAX);
		return;
	}
	j = &h->queue[(h->qhead + h->qlen++) % HOOK_QUEUE_MAX];
	text_copy(j->type, sizeof(j->type), type);
	text_copy(j->account, sizeof(j->account), account);
	j->json = xstrdup(json);
}

const struct hook_stats *
hooks_get_stats(const struct hooks *h)
{
	return &h->stats;
}
