/* master -- supervision, reload, control socket; see master.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "control_proto.h"
#include "master.h"
#include "dns/dns_cache.h"
#include "cluster/cluster.h"
#include "feedback/classify.h"
#include "quota/quota.h"
#include "util/addr.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xalloc.h"

#define MAX_WORKERS 256
#define MAX_LISTEN 32
#define STOP_GRACE_EXTRA 5 /* seconds beyond drain_timeout before SIGKILL */

#define CTL_PENDING_MAX 8 /* control connections awaiting their command at once */

struct master {
	struct conf *conf;
	const struct master_opts *opts;
	struct event_base *base;
	struct children *children;
	int listen_fds[MAX_LISTEN];
	int nlisten;
	int http_fds[MAX_LISTEN]; /* http.listen */
	int nhttp;
	int ctl_fd;
	struct ctl_pending {
		int fd; /* -1: free */
		struct event *ev;
	} ctl_conn[CTL_PENDING_MAX]; /* control connections awaiting their command */
	struct event *ev_ctl, *ev_tick, *ev_kill, *ev_sig, *ev_wiring, *ev_qsync;
	int eom_missing; /* RCPT requests keep coming, END-OF-MESSAGE ones never do */
	int stopping;
	time_t started;
	unsigned reloads, reload_failures;
};

static struct master M = {.ctl_fd = -1};

/* Create, bind and listen on one address; fatal on failure (a broken environment). */
static int
listen_one(const struct listen_addr *la, const struct conf *conf)
{
	int fd, on = 1;

	fd = socket(la->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fatal("socket for %s", la->text);
	if (la->family == AF_UNIX) {
		const char *path = ((const struct sockaddr_un *)&la->ss)->sun_path;
		struct stat sb;
		if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
			unlink(path);
	} else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (la->family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	}
	if (bind(fd, (const struct sockaddr *)&la->ss, la->sslen) < 0)
		fatal("cannot bind %s", la->text);
	if (la->family == AF_UNIX) {
		const char *path = ((const struct sockaddr_un *)&la->ss)->sun_path;
		if (chmod(path, (mode_t)conf->policy.socket_mode) < 0)
			fatal("chmod %s", path);
		if (conf->policy.socket_group[0]) {
			struct group *gr = getgrnam(conf->policy.socket_group);
			if (gr == NULL)
				fatalx("policy.socket_group: no group '%s'",
				       conf->policy.socket_group);
			if (chown(path, (uid_t)-1, gr->gr_gid) < 0)
				fatal("chown %s", path);
		}
	}
	if (listen(fd, 1024) < 0)
		fatal("listen on %s", la->text);
	return fd;
}

static void
control_bind(const struct conf *conf)
{
	struct listen_addr la;
	char err[256], spec[4200];

	if (conf->control_socket[0] == '\0')
		return;
	snprintf(spec, sizeof(spec), "unix:%s", conf->control_socket);
	if (addr_listen_parse(spec, &la, err, sizeof(err)) < 0)
		fatalx("control_socket: %s", err);
	struct conf tmp = *conf;
	tmp.policy.socket_mode = 0660;
	tmp.policy.socket_group = "";
	M.ctl_fd = listen_one(&la, &tmp);
}

void
master_bind(const struct conf *conf)
{
	char err[256];

	if (conf->policy.listen.n > MAX_LISTEN)
		fatalx("policy.listen: at most %d addresses", MAX_LISTEN);
	for (size_t i = 0; i < conf->policy.listen.n; i++) {
		struct listen_addr la;
		if (addr_listen_parse(conf->policy.listen.v[i], &la, err, sizeof(err)) < 0)
			fatalx("policy.listen: %s", err);
		M.listen_fds[M.nlisten++] = listen_one(&la, conf);
		log_info("policy service listening on %s", la.text);
	}
	if (conf->http.listen.n > MAX_LISTEN)
		fatalx("http.listen: at most %d addresses", MAX_LISTEN);
	for (size_t i = 0; i < conf->http.listen.n; i++) {
		struct listen_addr la;
		struct conf tmp = *conf; /* a unix HTTP socket: owner and group only */
		tmp.policy.socket_mode = 0660;
		tmp.policy.socket_group = "";
		if (addr_listen_parse(conf->http.listen.v[i], &la, err, sizeof(err)) < 0)
			fatalx("http.listen: %s", err);
		M.http_fds[M.nhttp++] = listen_one(&la, &tmp);
		log_info("http service listening on %s", la.text);
	}
	control_bind(conf);
}

/* Two configurations that differ where a reload can't follow. */
static void
reload_warn_fixed(const struct conf *old, const struct conf *new)
{
	int same = old->policy.listen.n == new->policy.listen.n;

	for (size_t i = 0; same && i < old->policy.listen.n; i++)
		same = strcmp(old->policy.listen.v[i], new->policy.listen.v[i]) == 0;
	if (!same)
		log_warnx("reload: policy.listen changed; listeners change only on restart");
	same = old->http.listen.n == new->http.listen.n;
	for (size_t i = 0; same && i < old->http.listen.n; i++)
		same = strcmp(old->http.listen.v[i], new->http.listen.v[i]) == 0;
	if (!same)
		log_warnx("reload: http.listen changed; listeners change only on restart");
	if (strcmp(old->store.path, new->store.path) != 0)
		log_warnx("reload: store.path changed; the workers now use %s", new->store.path);
	if (strcmp(old->user, new->user) != 0)
		log_warnx("reload: user changed; takes effect only on restart");
	if (old->dns.cache_size != new->dns.cache_size)
		log_warnx("reload: dns.cache_size changed; takes effect only on restart");
}

int
master_conf_check(const struct conf *conf, char *err, size_t errlen)
{
	struct classify_rules *rules;
	char why[512];

	if (conf->feedback.maillog[0] == '\0')
		return 0;
	if ((rules = classify_load(conf->feedback.rules, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "%s: feedback.rules: %s", conf->file, why);
		return -1;
	}
	classify_free(rules);
	return 0;
}

static void cluster_start(const struct conf *conf);

/* Read the file again; swap it in and restart the workers, or keep the old one. */
static int
master_reload(char *why, size_t whylen)
{
	struct conf *nc = conf_load(M.opts->config_file, why, whylen);

	if (nc != NULL && master_conf_check(nc, why, whylen) < 0) {
		conf_free(nc);
		nc = NULL;
	}
	if (nc == NULL) {
		M.reload_failures++;
		log_warnx("reload failed, keeping the running configuration: %s", why);
		return -1;
	}
	if (nc->policy.workers == 0)
		nc->policy.workers = M.conf->policy.workers;
	reload_warn_fixed(M.conf, nc);
	log_verbose(nc->verbose + LOG_LVL_INFO);
	cluster_start(nc);
	children_replace_all(M.children, nc);
	/* Workers forked from the old snapshot have their own copy of it. */
	conf_free(M.conf);
	M.conf = nc;
	M.reloads++;
	log_info("configuration reloaded from %s", nc->file);
	return 0;
}

static void
tick_schedule(void)
{
	long ms = children_tick(M.children);

	if (ms >= 0) {
		struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
		event_add(M.ev_tick, &tv);
	}
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	tick_schedule();
}

static void
kill_cb(evutil_socket_t fd, short what, void *arg)
{
	log_warnx("workers still running after the drain timeout: killing them");
	children_kill(M.children);
}

#define WIRING_CHECK_SECS 60
#define WIRING_MIN_RCPT 100

/*
 * Messages are recorded at END-OF-MESSAGE: if the policy service is only in
 * smtpd_recipient_restrictions, nothing is ever recorded (and quotas could not
 * be committed).  Say so, once, when RCPT requests arrive and EOM ones don't.
 */
static void
wiring_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t rcpt, eom;

	children_stage_counts(M.children, &rcpt, &eom);
	if (rcpt >= WIRING_MIN_RCPT && eom == 0 && !M.eom_missing)
		log_warnx(
		    "%llu RCPT requests and no END-OF-MESSAGE request: messages are not being "
		    "recorded; add check_policy_service to smtpd_end_of_data_restrictions "
		    "(contrib/postfix/main.cf)",
		    (unsigned long long)rcpt);
	M.eom_missing = rcpt >= WIRING_MIN_RCPT && eom == 0;
}

static int sig_pipe[2] = {-1, -1};

/* The only thing a handler does: pass the signal number to the loop. */
static void
qsync_cb(evutil_socket_t fd, short what, void *arg)
{
	if (qtable_sync(quota_table) < 0)
		log_warn("quota: msync");
}

/*
 * The shared quota table: opened here so that every child inherits the
 * mapping, written to disk every quota.sync_interval.  Without it quotas
 * could not be enforced: outpostd does not start.
 */
static void
quota_start(const struct conf *conf)
{
	struct timeval tv = {conf->quota.sync_interval, 0};
	char err[512];

	if (quota_open(conf, 1, err, sizeof(err)) < 0)
		fatalx("quota table: %s", err);
	qtable_new_generation(quota_table);
	M.ev_qsync = event_new(M.base, -1, EV_PERSIST, qsync_cb, NULL);
	event_add(M.ev_qsync, &tv);
}

/*
 * The host's DNS cache (dns_cache.h): made here, before the first fork, so
 * every worker and the milter share it and a restarted child finds it warm.
 * Its size is fixed until outpostd restarts.
 */
static void
dns_cache_start(const struct conf *conf)
{
	dns_host_cache = dns_cache_create((size_t)conf->dns.cache_size);
	if (dns_host_cache == NULL)
		fatal("dns.cache_size = %lld: cannot map the shared DNS cache",
		      (long long)conf->dns.cache_size);
}

/*
 * With a cluster section, the store carries this node's name, so that every
 * process that writes to it records its changes for the fleet (store/changes.h);
 * without one, the name is removed and nothing is recorded.
 */
static void
cluster_start(const struct conf *conf)
{
	char err[512];

	if (cluster_mark_store(conf, err, sizeof(err)) < 0)
		log_warnx("cluster: cannot mark the store: %s", err);
	else if (conf->cluster.redis[0])
		log_info("cluster: node %s, fleet store %s", conf->cluster.node,
			 conf->cluster.redis);
}

static void
sig_handler(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	if (write(sig_pipe[1], &c, 1) < 0) {
		/* The pipe is full: the loop has signals to read already. */
	}
	errno = saved;
}

static void
signal_dispatch(int sig)
{
	char why[512];

	switch (sig) {
	case SIGCHLD:
		children_reap(M.children);
		if (M.stopping && children_running(M.children) == 0)
			event_base_loopexit(M.base, NULL);
		else if (!M.stopping)
			tick_schedule();
		break;
	case SIGHUP:
		if (!M.stopping)
			master_reload(why, sizeof(why));
		break;
	default: {
		struct timeval tv = {M.conf->policy.drain_timeout + STOP_GRACE_EXTRA, 0};
		if (M.stopping)
			break;
		log_info("stopping: draining %d workers", children_running(M.children));
		M.stopping = 1;
		if (M.ev_ctl)
			event_del(M.ev_ctl);
		if (children_stop(M.children) == 0)
			event_base_loopexit(M.base, NULL);
		else
			evtimer_add(M.ev_kill, &tv);
	}
	}
}

static void
sig_pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	unsigned char buf[64];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			signal_dispatch(buf[i]);
}

/* Self-pipe signal handling: workers get their own libevent signals after fork. */
static void
sig_setup(void)
{
	static const int sigs[] = {SIGCHLD, SIGHUP, SIGTERM, SIGINT};
	struct sigaction sa = {0};

	if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		fatal("pipe");
	sa.sa_handler = sig_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	M.ev_sig = event_new(M.base, sig_pipe[0], EV_READ | EV_PERSIST, sig_pipe_cb, NULL);
	event_add(M.ev_sig, NULL);
}

void
master_child_cleanup(void)
{
	close(sig_pipe[0]);
	close(sig_pipe[1]);
	if (M.ctl_fd >= 0)
		close(M.ctl_fd);
	for (int i = 0; i < CTL_PENDING_MAX; i++)
		if (M.ctl_conn[i].ev != NULL)
			close(M.ctl_conn[i].fd);
}

/* The JSON answer to "status". */
static char *
status_json(void)
{
	json_t *o = json_pack(
	    "{s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:o}", "version", PACKAGE_VERSION, "pid",
	    (json_int_t)getpid(), "config", M.conf->file, "mode", conf_mode_name(M.conf->mode),
	    "uptime_seconds", (json_int_t)(time(NULL) - M.started), "reloads",
	    (json_int_t)M.reloads, "reload_failures", (json_int_t)M.reload_failures, "workers",
	    (json_t *)children_status(M.children));
	json_t *l = json_array();
	char *s;

	for (size_t i = 0; i < M.conf->policy.listen.n; i++)
		json_array_append_new(l, json_string(M.conf->policy.listen.v[i]));
	json_object_set_new(o, "policy_listen", l);
	json_object_set_new(o, "store_path", json_string(M.conf->store.path));
	json_object_set_new(o, "dnsbl", (json_t *)children_dnsbl_status(M.children, M.conf));
	json_object_set_new(o, "live", (json_t *)children_live(M.children));
	if (M.eom_missing)
		json_object_set_new(o, "warnings",
				    json_pack("[s]", "no END-OF-MESSAGE policy requests: add "
						     "check_policy_service to "
						     "smtpd_end_of_data_restrictions"));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* Only root, the daemon's own user and members of its group may use the control socket. */
static int
control_peer_ok(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return 0;
	return cr.uid == 0 || cr.uid == geteuid() || cr.gid == getegid();
}

/* The answer to command line CMD (N bytes): "status" or "reload". */
static char *
control_answer(const char *cmd, ssize_t n)
{
	char why[512], *j, *out;

	switch (control_parse(cmd, n > 0 ? (size_t)n : 0)) {
	case CONTROL_STATUS:
		j = status_json();
		out = xasprintf("%s\n", j);
		free(j);
		return out;
	case CONTROL_RELOAD:
		return master_reload(why, sizeof(why)) == 0 ? xstrdup("ok\n")
							    : xasprintf("error %s\n", why);
	default:
		return xstrdup("error unknown command (status, reload)\n");
	}
}

/* Answer connection FD with OUT (blocking, for at most 2 s) and close it. */
static void
control_reply(int fd, char *out)
{
	struct timeval tv = {2, 0};

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (write(fd, out, strlen(out)) < 0)
		log_debug("control: write: %s", strerror(errno));
	free(out);
	close(fd);
}

/*
 * A pending control connection is readable (or timed out: 2 s): one command
 * line in, one answer out.  Waiting for it on the event loop, not in read(),
 * keeps a silent client from stalling the master.
 */
static void
control_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_pending *p = arg;
	char cmd[CONTROL_MAX_LINE + 1] = "";
	ssize_t n = (what & EV_READ) ? read(fd, cmd, CONTROL_MAX_LINE) : -1;
	char *out = (what & EV_READ) ? control_answer(cmd, n) : NULL;

	event_free(p->ev);
	p->ev = NULL;
	p->fd = -1;
	if (out == NULL) {
		close(fd);
		return;
	}
	control_reply(fd, out);
}

/* A control connection: a permitted peer gets a slot and waits for its command line. */
static void
control_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct timeval tv = {2, 0};
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), i;

	if (fd < 0)
		return;
	if (!control_peer_ok(fd)) {
		control_reply(fd, xstrdup("error permission denied\n"));
		return;
	}
	for (i = 0; i < CTL_PENDING_MAX && M.ctl_conn[i].ev != NULL; i++)
		;
	if (i == CTL_PENDING_MAX) {
		control_reply(fd, xstrdup("error busy\n"));
		return;
	}
	M.ctl_conn[i].fd = fd;
	M.ctl_conn[i].ev = event_new(M.base, fd, EV_READ, control_read_cb, &M.ctl_conn[i]);
	event_add(M.ctl_conn[i].ev, &tv);
}

int
master_run(struct conf **confp, const struct master_opts *opts)
{
	struct conf *conf = *confp;

	M.conf = conf;
	M.opts = opts;
	M.started = time(NULL);
	log_procname("master");
	signal(SIGPIPE, SIG_IGN);
	if ((M.base = event_base_new()) == NULL)
		fatalx("cannot create event base");
	sig_setup();
	M.ev_tick = evtimer_new(M.base, tick_cb, NULL);
	M.ev_kill = evtimer_new(M.base, kill_cb, NULL);
	M.ev_wiring = event_new(M.base, -1, EV_PERSIST, wiring_cb, NULL);
	quota_start(conf);
	dns_cache_start(conf);
	if (M.ctl_fd >= 0) {
		M.ev_ctl = event_new(M.base, M.ctl_fd, EV_READ | EV_PERSIST, control_cb, NULL);
		event_add(M.ev_ctl, NULL);
	}
	cluster_start(conf);
	M.children = children_create(MAX_WORKERS);
	children_http_fds(M.children, M.http_fds, M.nhttp);
	children_start_all(M.children, conf, M.listen_fds, M.nlisten);
	{
		struct timeval tv = {WIRING_CHECK_SECS, 0};
		if (getenv("OUTPOST_TEST_WIRING_SECS"))
			tv.tv_sec = atoi(getenv("OUTPOST_TEST_WIRING_SECS"));
		event_add(M.ev_wiring, &tv);
	}
	log_info("started: %d policy workers, store %s, mode %s", conf->policy.workers,
		 conf->store.path, conf_mode_name(conf->mode));
	event_base_dispatch(M.base);
	for (int i = 0; i < M.nlisten; i++)
		close(M.listen_fds[i]);
	for (int i = 0; i < M.nhttp; i++)
		close(M.http_fds[i]);
	if (M.ctl_fd >= 0)
		unlink(M.conf->control_socket);
	children_destroy(M.children);
	event_free(M.ev_sig);
	event_free(M.ev_tick);
	event_free(M.ev_kill);
	event_free(M.ev_wiring);
	if (M.ev_qsync) {
		event_free(M.ev_qsync);
		qtable_sync(quota_table);
	}
	if (M.ev_ctl)
		event_free(M.ev_ctl);
	event_base_free(M.base);
	dns_cache_destroy(dns_host_cache);
	dns_host_cache = NULL;
	log_info("stopped");
	*confp = M.conf;
	return 0;
}
