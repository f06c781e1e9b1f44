/* ctl_status -- outpostctl status|reload: ask the running daemon over its control socket. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "master/control_client.h"
#include "store/store.h"
#include "util/xalloc.h"

/* One line per blocklist: ok, broken (why, since when) or not asked yet. */
static void
status_print_dnsbl(json_t *o)
{
	json_t *l;
	size_t i;

	json_array_foreach(json_object_get(o, "dnsbl"), i, l)
	{
		const char *state = json_string_value(json_object_get(l, "state"));
		printf("dnsbl %s: %s, %lld lookups, %lld listed, %lld failed",
		       json_string_value(json_object_get(l, "name")), state,
		       (long long)json_integer_value(json_object_get(l, "lookups")),
		       (long long)json_integer_value(json_object_get(l, "listed")),
		       (long long)json_integer_value(json_object_get(l, "failures")));
		if (strcmp(state, "broken") == 0)
			printf(" -- since %s: %s",
			       json_string_value(json_object_get(l, "failing_since")),
			       json_string_value(json_object_get(l, "last_error")));
		printf("\n");
	}
}

/* A latency quantile in ms, "-" when there were no requests. */
static const char *
status_ms(json_t *v, char *buf, size_t len)
{
	if (!json_is_number(v))
		return "-";
	snprintf(buf, len, "%.3f", json_number_value(v));
	return buf;
}

/* DOOR's decisions, one line per rule and reply class that occurred. */
static void
status_print_rules(const char *door, json_t *decisions)
{
	const char *rule, *reply;
	json_t *classes, *n;

	json_object_foreach(decisions, rule, classes)
	{
		json_object_foreach(classes, reply, n)
		{
			printf("  %s %s %s: %lld\n", door, rule, reply,
			       (long long)json_integer_value(n));
		}
	}
}

/* One line per front door with its latency, then its decisions by rule and reply. */
static void
status_print_doors(json_t *live)
{
	static const char *const doors[] = {"policy", "milter"};
	char p50[32], p99[32];

	printf("%-8s %-10s %-10s %s\n", "door", "decisions", "p50_ms", "p99_ms");
	for (size_t d = 0; d < 2; d++) {
		json_t *lat = json_object_get(json_object_get(live, doors[d]), "latency");
		printf("%-8s %-10lld %-10s %s\n", doors[d],
		       (long long)json_integer_value(json_object_get(lat, "count")),
		       status_ms(json_object_get(lat, "p50_ms"), p50, sizeof(p50)),
		       status_ms(json_object_get(lat, "p99_ms"), p99, sizeof(p99)));
	}
	for (size_t d = 0; d < 2; d++)
		status_print_rules(doors[d],
				   json_object_get(json_object_get(live, doors[d]), "decisions"));
}

/* Decisions and latency per door, the DNS cache hit rate, the feedback lag. */
static void
status_print_live(json_t *live)
{
	json_t *dns = json_object_get(live, "dns"), *ratio, *lag;

	if (live == NULL)
		return;
	status_print_doors(live);
	ratio = json_object_get(dns, "cache_hit_ratio");
	printf("dns: %lld queries, %lld cache hits",
	       (long long)json_integer_value(json_object_get(dns, "queries")),
	       (long long)json_integer_value(json_object_get(dns, "cache_hits")));
	if (json_is_number(ratio))
		printf(" (hit rate %.1f%%)", json_number_value(ratio) * 100);
	printf(", %lld failures\n",
	       (long long)json_integer_value(json_object_get(dns, "failures")));
	lag = json_object_get(live, "feedback_lag_bytes");
	if (json_is_integer(lag))
		printf("feedback: %lld bytes of the log behind\n",
		       (long long)json_integer_value(lag));
	else
		printf("feedback: no log followed\n");
}

static void
status_print_human(json_t *o)
{
	json_t *w, *st = json_object_get(o, "store");
	size_t i;

	printf("outpostd %s pid %lld, up %llds, mode %s, config %s\n",
	       json_string_value(json_object_get(o, "version")),
	       (long long)json_integer_value(json_object_get(o, "pid")),
	       (long long)json_integer_value(json_object_get(o, "uptime_seconds")),
	       json_string_value(json_object_get(o, "mode")),
	       json_string_value(json_object_get(o, "config")));
	if (st)
		printf("store %s: %lld suppression entries, %lld accounts, %lld of %lld bytes\n",
		       json_string_value(json_object_get(st, "path")),
		       (long long)json_integer_value(json_object_get(st, "suppression_entries")),
		       (long long)json_integer_value(json_object_get(st, "accounts")),
		       (long long)json_integer_value(json_object_get(st, "used_bytes")),
		       (long long)json_integer_value(json_object_get(st, "map_size")));
	printf("%-17s %-8s %-8s %-10s %-6s %-10s %-9s %-6s %s\n", "process", "pid", "restarts",
	       "requests", "open", "refusals", "would", "bad", "store_errors");
	json_array_foreach(json_object_get(o, "warnings"), i, w)
	    printf("WARNING: %s\n", json_string_value(w));
	status_print_dnsbl(o);
	json_array_foreach(json_object_get(o, "workers"), i, w)
	    printf("%-17s %-8lld %-8lld %-10lld %-6lld %-10lld %-9lld %-6lld %lld\n",
		   json_string_value(json_object_get(w, "kind")),
		   (long long)json_integer_value(json_object_get(w, "pid")),
		   (long long)json_integer_value(json_object_get(w, "restarts")),
		   (long long)json_integer_value(json_object_get(w, "requests")),
		   (long long)json_integer_value(json_object_get(w, "open_connections")),
		   (long long)json_integer_value(json_object_get(w, "refusals")),
		   (long long)json_integer_value(json_object_get(w, "would_refuse")),
		   (long long)json_integer_value(json_object_get(w, "bad_requests")),
		   (long long)json_integer_value(json_object_get(w, "store_errors")));
	status_print_live(json_object_get(o, "live"));
}

/* Ask the daemon once and print its answer. */
static int
status_once(struct ctl *ctl, int clear)
{
	char err[512];
	json_t *o;

	if ((o = control_status(ctl->conf, NULL, err, sizeof(err))) == NULL)
		return ctl_err(EXIT_UNAVAILABLE, "%s", err);
	if (ctl_store(ctl) == EXIT_OK)
		control_status_add_store(ctl->conf, ctl->st, o);
	if (clear)
		printf("\033[H\033[J"); /* home, clear: a terminal's live view */
	if (ctl->json)
		ctl_json_print(o);
	else
		status_print_human(o);
	fflush(stdout);
	json_decref(o);
	return EXIT_OK;
}

/*
 * status [--watch[=SECONDS]] [--count=N]: once, or every SECONDS (default 2)
 * until interrupted -- N times when stdout is no terminal (N required then).
 */
static int
cmd_status(struct ctl *ctl, int argc, char **argv)
{
	const char *every = NULL, *count = NULL;
	const struct ctl_opt opts[] = {{"--watch", CTL_ARG_OPTIONAL, &every, NULL},
				       {"--count", 1, &count, NULL},
				       {NULL, 0, NULL, NULL}};
	char *pos[1], *end;
	int npos, rc, tty = isatty(STDOUT_FILENO);
	long secs = 2, n = -1;

	if ((rc = ctl_opts(ctl, argc, argv, opts, pos, &npos, 0, "status", "")) != EXIT_OK)
		return rc;
	if (every && *every && ((secs = strtol(every, &end, 10)) < 1 || *end || secs > 3600))
		return ctl_err(EXIT_USAGE, "status: --watch takes 1 to 3600 seconds");
	if (count && ((n = strtol(count, &end, 10)) < 1 || *end))
		return ctl_err(EXIT_USAGE, "status: --count takes a positive number");
	if (every == NULL && count == NULL)
		return status_once(ctl, 0);
	if (n < 0 && !tty)
		return ctl_err(EXIT_USAGE, "status --watch: stdout is no terminal: give --count");
	for (long i = 0; n < 0 || i < n; i++) {
		if (i > 0)
			sleep((unsigned)secs);
		if ((rc = status_once(ctl, tty && !ctl->json)) != EXIT_OK)
			return rc;
	}
	return EXIT_OK;
}

static int
cmd_reload(struct ctl *ctl, int argc, char **argv)
{
	char *pos[1], *answer;
	int npos, rc;

	if ((rc = ctl_opts(ctl, argc, argv, NULL, pos, &npos, 0, "reload", "")) != EXIT_OK)
		return rc;
	if ((answer = control_ask(ctl->conf->control_socket, "reload\n")) == NULL)
		return ctl_err(EXIT_UNAVAILABLE, "outpostd is not running (no answer on %s)",
			       ctl->conf->control_socket);
	rc = strcmp(answer, "ok") == 0 ? EXIT_OK : EXIT_BADINPUT;
	if (rc == EXIT_OK)
		printf("configuration reloaded\n");
	else
		ctl_err(rc, "reload refused: %s",
			strncmp(answer, "error ", 6) == 0 ? answer + 6 : answer);
	free(answer);
	return rc;
}

const struct ctl_cmd ctl_status_cmds[] = {
    {"status", "", cmd_status, "[--json] [--watch[=SECONDS]] [--count=N]",
     "the running daemon: workers, requests, refusals, store figures, decisions by rule, "
     "latency per front door, DNS cache hit rate, feedback lag; --watch refreshes every "
     "SECONDS (2) until interrupted (--count=N times; required when stdout is no terminal)"},
    {"reload", "", cmd_reload, "",
     "re-read the configuration (as SIGHUP); exit 4 if the new file is invalid (the running "
     "one stays)"},
    {NULL, NULL, NULL, NULL, NULL},
};
