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
}

static int
cmd_status(struct ctl *ctl, int argc, char **argv)
{
	char *pos[1], err[512];
	json_t *o;
	int npos, rc;

	if ((rc = ctl_opts(ctl, argc, argv, NULL, pos, &npos, 0, "status", "")) != EXIT_OK)
		return rc;
	if ((o = control_status(ctl->conf, NULL, err, sizeof(err))) == NULL)
		return ctl_err(EXIT_UNAVAILABLE, "%s", err);
	if (ctl_store(ctl) == EXIT_OK)
		control_status_add_store(ctl->conf, ctl->st, o);
	if (ctl->json)
		ctl_json_print(o);
	else
		status_print_human(o);
	json_decref(o);
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
    {"status", "", cmd_status, "[--json]",
     "the running daemon: workers, requests, refusals, store figures"},
    {"reload", "", cmd_reload, "",
     "re-read the configuration (as SIGHUP); exit 4 if the new file is invalid (the running "
     "one stays)"},
    {NULL, NULL, NULL, NULL, NULL},
};
