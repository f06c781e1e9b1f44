/* eventlog -- events as JSON lines, and to the hook; see eventlog.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "eventlog.h"
#include "feedback/hook.h"
#include "store/records.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xalloc.h"

struct eventlog {
	char *path;
	int fd;
	dev_t dev;
	ino_t ino;
	int64_t checked; /* last look at the path (seconds) */
};

static struct log_rl write_rl = LOG_RL_INIT(6);

const char *
event_node(void)
{
	static char node[256];

	if (node[0] == '\0' && (gethostname(node, sizeof(node) - 1) < 0 || node[0] == '\0'))
		text_copy(node, sizeof(node), "localhost");
	return node;
}

int
event_hooked(const char *type)
{
	return strcmp(type, "state") == 0 || strcmp(type, "listing") == 0 ||
	       strcmp(type, "delisting") == 0;
}

static json_t *
str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static void
set_opt(json_t *o, const char *key, const char *s)
{
	if (s)
		json_object_set_new(o, key, json_string(s));
}

json_t *
event_json(const struct outpost_event *ev, const char *node)
{
	int64_t ms = ev->ts_ms ? ev->ts_ms : now_us() / 1000;
	char ts[40];
	json_t *o = json_object();

	json_object_set_new(o, "ts", json_string(text_time_format_ms(ms, ts, sizeof(ts))));
	json_object_set_new(o, "type", json_string(ev->type));
	json_object_set_new(o, "account", str_or_null(ev->account));
	json_object_set_new(o, "recipient", str_or_null(ev->recipient));
	json_object_set_new(o, "queue_id", str_or_null(ev->queue_id));
	json_object_set_new(o, "node", json_string(node ? node : event_node()));
	set_opt(o, "class", ev->cls);
	set_opt(o, "dsn", ev->dsn);
	set_opt(o, "reason", ev->reason);
	set_opt(o, "from", ev->from);
	set_opt(o, "to", ev->to);
	if (ev->has_rate)
		json_object_set_new(o, "rate", json_real(ev->rate));
	if (ev->recipients > 0)
		json_object_set_new(o, "recipients", json_integer(ev->recipients));
	if (ev->window)
		json_object_set(o, "window", ev->window);
	set_opt(o, "address", ev->address);
	set_opt(o, "list", ev->list);
	set_opt(o, "zone", ev->zone);
	set_opt(o, "code", ev->code);
	set_opt(o, "meaning", ev->meaning);
	return o;
}

/* Open (again) the file at EL->path; -1 (logged, rate-limited) on failure. */
static int
eventlog_reopen(struct eventlog *el)
{
	struct stat st;
	int fd = open(el->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0 || fstat(fd, &st) < 0) {
		if (log_allow(&write_rl))
			log_warn("event log %s", el->path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (el->fd >= 0)
		close(el->fd);
	el->fd = fd;
	el->dev = st.st_dev;
	el->ino = st.st_ino;
	return 0;
}

struct eventlog *
eventlog_open(const char *path)
{
	struct eventlog *el;

	if (path == NULL || path[0] == '\0')
		return NULL;
	el = xcalloc(1, sizeof(*el));
	el->path = xstrdup(path);
	el->fd = -1;
	el->checked = (int64_t)time(NULL);
	eventlog_reopen(el);
	return el;
}

void
eventlog_close(struct eventlog *el)
{
	if (el == NULL)
		return;
	if (el->fd >= 0)
		close(el->fd);
	free(el->path);
	free(el);
}

/* Once a second: was the file renamed or removed (rotated)?  Then write to the new one. */
static void
eventlog_check(struct eventlog *el)
{
	int64_t now = (int64_t)time(NULL);
	struct stat st;

	if (el->fd >= 0 && now == el->checked)
		return;
	el->checked = now;
	if (el->fd < 0 || stat(el->path, &st) < 0 || st.st_ino != el->ino || st.st_dev != el->dev)
		eventlog_reopen(el);
}

int
eventlog_write(struct eventlog *el, const char *line)
{
	size_t n = strlen(line);
	char *buf;
	ssize_t w;

	if (el == NULL)
		return 0;
	eventlog_check(el);
	if (el->fd < 0)
		return -1;
	buf = xmalloc(n + 1);
	memcpy(buf, line, n);
	buf[n] = '\n';
	w = write(el->fd, buf, n + 1); /* one write: lines of several writers never mix */
	free(buf);
	if (w == (ssize_t)(n + 1))
		return 0;
	if (log_allow(&write_rl))
		log_warn("event log %s: write", el->path);
	return -1;
}

/* ---- the process's event log and hook runner --------------------------------- */

static pthread_mutex_t emit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct eventlog *emit_log;
static event_hook_fn hook_runner;
static void *hook_arg;

void
event_set_hook_runner(event_hook_fn fn, void *arg)
{
	hook_runner = fn;
	hook_arg = arg;
}

void
event_emit(const struct conf *conf, const struct outpost_event *ev)
{
	const char *path = conf->feedback.event_log;
	int hooked = conf->feedback.hook[0] && event_hooked(ev->type);
	json_t *o;
	char *line;

	if (path[0] == '\0' && !hooked)
		return;
	o = event_json(ev, NULL);
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (line == NULL)
		return;
	pthread_mutex_lock(&emit_lock);
	if (emit_log && strcmp(emit_log->path, path) != 0) {
		eventlog_close(emit_log); /* reload changed the path */
		emit_log = NULL;
	}
	if (emit_log == NULL)
		emit_log = eventlog_open(path);
	eventlog_write(emit_log, line);
	pthread_mutex_unlock(&emit_lock);
	if (hooked && hook_runner)
		hook_runner(ev->type, ev->account ? ev->account : "", line, hook_arg);
	else if (hooked)
		hook_detached(conf->feedback.hook, ev->type, ev->account ? ev->account : "", line,
			      conf->feedback.hook_timeout);
	free(line);
}

void
event_simulator_complaints(const struct conf *conf, const char *account, const char *queue_id,
			   unsigned n)
{
	char rcpt[ADDRESS_MAX];
	struct outpost_event ev = {.type = "complaint",
				   .account = account,
				   .recipient = rcpt,
				   .queue_id = queue_id,
				   .cls = "abuse",
				   .reason = "mailbox simulator"};

	snprintf(rcpt, sizeof(rcpt), "complaint@%s", conf->simulator.domain);
	for (unsigned i = 0; i < n && i < 1000; i++)
		event_emit(conf, &ev);
}

void
event_state_change(const struct conf *conf, const char *account, int from, int to,
		   const char *reason)
{
	struct outpost_event ev = {.type = "state",
				   .account = account,
				   .cls = "operator",
				   .reason = reason,
				   .from = account_state_name(from),
				   .to = account_state_name(to)};

	event_emit(conf, &ev);
}
