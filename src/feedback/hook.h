/*
 * hook -- run the operator's hook command for an event (feedback.hook):
 *     execve(HOOK, [HOOK, TYPE], env)
 * with the event's JSON line on stdin and OUTPOST_EVENT_TYPE, OUTPOST_ACCOUNT
 * (and PATH=/usr/local/bin:/usr/bin:/bin) as its whole environment; no
 * shell.  stdout and stderr are those of the process that runs it.
 *
 * In the feedback process (hooks_create()) nothing ever waits on a hook: at
 * most feedback.hook_max run at once, more wait in a queue of HOOK_QUEUE_MAX
 * (beyond: dropped, logged and counted), each is killed (SIGKILL) after
 * feedback.hook_timeout, reaped on SIGCHLD; a hook that exits non-zero, dies
 * of a signal or times out is logged and counted as failed.
 * outpostctl runs a hook detached (hook_detached()): a double fork, so the
 * command returns at once; the grandchild supervises the hook with the same
 * time limit and logs a failure to syslog (facility mail).  The cap
 * feedback.hook_max is per process: outpostctl's hooks are not counted in it.
 */
#ifndef OUTPOST_HOOK_H
#define OUTPOST_HOOK_H

#include <stdint.h>
#include <sys/types.h>

#include "conf/conf.h"

#define HOOK_QUEUE_MAX 64
#define HOOK_RUN_MAX 64 /* upper bound of feedback.hook_max */

struct hook_stats {
	uint64_t started, failed, timed_out, dropped;
};

/* Start PATH with JSON (a line) on its stdin; the pid, or -1 (logged). */
pid_t hook_spawn(const char *path, const char *type, const char *account, const char *json);
/* Run PATH detached (outpostctl): returns at once; killed after TIMEOUT seconds. */
void hook_detached(const char *path, const char *type, const char *account, const char *json,
		   int64_t timeout);

struct event_base;
struct hooks;

/* The feedback process's hook runner on BASE (handles SIGCHLD). */
struct hooks *hooks_create(struct event_base *base, const struct conf *conf);
void hooks_destroy(struct hooks *h);
/* Run the hook for one event, now or when a slot frees up; never blocks. */
void hooks_fire(struct hooks *h, const char *type, const char *account, const char *json);
const struct hook_stats *hooks_get_stats(const struct hooks *h);

#endif
