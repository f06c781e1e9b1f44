/*
 * master -- the supervisor.  It owns the listening sockets and the control
 * socket, starts policy workers, restarts one that dies (with backoff),
 * replaces retired ones, reloads the configuration on SIGHUP (a bad file is
 * logged and the running configuration stays), and on SIGTERM stops the
 * workers, waits for them to drain, and exits 0.  It never talks to a
 * policy client and never opens the store for long.
 */
#ifndef OUTPOST_MASTER_H
#define OUTPOST_MASTER_H

#include "conf/conf.h"

struct master_opts {
	const char *config_file;
	int foreground;
};

/* Open the listeners and the control socket; call before dropping privileges. */
void master_bind(const struct conf *conf);
/* Supervise until SIGTERM/SIGINT; returns the exit status.  *CONFP is replaced by
 * the configuration in force at the end (reloads free the ones they replace). */
/* Checks beyond the file's syntax: files the config names that must load (bounce rules). */
int master_conf_check(const struct conf *conf, char *err, size_t errlen);
int master_run(struct conf **confp, const struct master_opts *opts);

/* In a freshly forked child: close what belongs to the master only. */
void master_child_cleanup(void);

/* Internal: the children table (master_spawn.c). */
struct worker_stats;
struct children;
struct children *children_create(size_t max);
void children_destroy(struct children *ch);
/* Start or stop workers so that slots 0..N-1 run under CONF. */
void children_resize(struct children *ch, int n);
/* Start or stop the milters, the feedback and the http process CONF asks for. */
void children_extras(struct children *ch, const struct conf *conf);
/* Replace every running worker by one started with CONF (rolling restart); milters reload. */
void children_replace_all(struct children *ch, const struct conf *conf);
void children_start_all(struct children *ch, const struct conf *conf, const int *fds, int nfds);
/* The http process's listeners (call before children_start_all). */
void children_http_fds(struct children *ch, const int *fds, int n);
/* Reap exited children; respawn current ones (with backoff after a crash). */
void children_reap(struct children *ch);
/* Run respawns whose backoff has elapsed; returns ms until the next one, -1 if none. */
long children_tick(struct children *ch);
/* SIGTERM every child; returns how many are still running. */
int children_stop(struct children *ch);
int children_running(const struct children *ch);
/* Total RCPT and END-OF-MESSAGE requests the policy workers answered. */
void children_stage_counts(const struct children *ch, uint64_t *rcpt, uint64_t *eom);
/* SIGKILL every child (the drain deadline passed). */
void children_kill(struct children *ch);
/* Health of each configured blocklist over all processes, a JSON array (dns_health.h). */
void *children_dnsbl_status(const struct children *ch, const struct conf *conf);
/* Status of every worker as a JSON array (a jansson json_t *). */
void *children_status(const struct children *ch);
/* The live view of every slot's counters (stats_view_json()), as a json_t *. */
void *children_live(const struct children *ch);

#endif
