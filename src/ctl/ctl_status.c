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
#include "store/store.h"
#include "util/xalloc.h"

/* Send CMD to the control socket and return the whole answer (NULL: unavailable). */
static char *
control_ask(const struct ctl *ctl, const char *cmd)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {5, 0};
	size_t len = 0, cap = 4096;
	char *buf;
	ssize_t n;
	int fd;

	if (strlen(ctl->conf->control_socket) >= sizeof(sun.sun_path) ||
	    ctl->conf->control_socket[0] == '\0')
		return NULL;
	strcpy(sun.sun_path, ctl->conf->control_socket);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    write(fd, cmd, strlen(cmd)) < 0) {
		close(fd);
		return NULL;
	}
	buf = xmalloc(cap);
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2)
			buf = xrealloc(buf, cap *= 2);
	}
	close(fd);
	buf[len] = '\0';
	if (len == 0) {
		free(buf);
		return NULL;
	}
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* Add the store's figures, read directly. */
static void
status_add_store(struct ctl *ctl, json_t *o)
{
	struct store_stat sup, acc;

	if (ctl_store(ctl) != EXIT_OK || store_db_stat(ctl->st, DB_SUPPRESS, &sup) != STORE_OK ||
	    store_db_stat(ctl->st, DB_ACCOUNT, &acc) != STORE_OK)
		return;
	json_object_set_new(o, "store",
			    json_pack("{s:s, s:I, s:I, s:I, s:I}", "path", ctl->conf->store.path,
				      "map_size", (json_int_t)sup.map_size, "used_bytes",
				      (json_int_t)sup.used_bytes, "suppression_entries",
				      (json_int_t)sup.entries, "accounts",
				      (json_int_t)acc.entries));
}

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
	char *pos[1], *answer;
	json_error_t je;
	json_t *o;
	int npos, rc;

	if ((rc = ctl_opts(ctl, argc, argv, NULL, pos, &npos, 0, "status", "")) != EXIT_OK)
		return rc;
	if ((answer = control_ask(ctl, "status\n")) == NULL)
		return ctl_err(EXIT_UNAVAILABLE, "outpostd is not running (no answer on %s: %s)",
			       ctl->conf->control_socket, strerror(errno));
	o = json_loads(answer, 0, &je);
	free(answer);
	if (o == NULL)
		return ctl_err(EXIT_UNAVAILABLE, "unreadable answer from outpostd: %s", je.text);
	status_add_store(ctl, o);
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
	if ((answer = control_ask(ctl, "reload\n")) == NULL)
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
