/* control_client -- ask the running master over its control socket; see control_client.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control_client.h"
#include "util/xalloc.h"

/* One exchange; NULL (errno set) when the connection failed or brought nothing. */
static char *
ask_once(const char *path, const char *cmd)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {5, 0};
	size_t len = 0, cap = 4096;
	char *buf;
	ssize_t n;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path) || path[0] == '\0') {
		errno = ENOENT;
		return NULL;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* send(MSG_NOSIGNAL): a master that closed on us is an error, not SIGPIPE. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    send(fd, cmd, strlen(cmd), MSG_NOSIGNAL) < 0) {
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
		errno = ECONNRESET;
		return NULL;
	}
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

char *
control_ask(const char *path, const char *cmd)
{
	struct timespec pause = {0, 100 * 1000000L};
	char *answer = ask_once(path, cmd);

	/* Once more after a moment: a busy master (a reload forking workers) can drop one. */
	if (answer == NULL && errno != ENOENT) {
		nanosleep(&pause, NULL);
		answer = ask_once(path, cmd);
	}
	return answer;
}

void
control_status_add_store(const struct conf *conf, struct store *st, json_t *o)
{
	struct store_stat sup, acc;

	if (st == NULL || store_db_stat(st, DB_SUPPRESS, &sup) != STORE_OK ||
	    store_db_stat(st, DB_ACCOUNT, &acc) != STORE_OK)
		return;
	json_object_set_new(o, "store",
			    json_pack("{s:s, s:I, s:I, s:I, s:I}", "path", conf->store.path,
				      "map_size", (json_int_t)sup.map_size, "used_bytes",
				      (json_int_t)sup.used_bytes, "suppression_entries",
				      (json_int_t)sup.entries, "accounts",
				      (json_int_t)acc.entries));
}

json_t *
control_status(const struct conf *conf, struct store *st, char *err, size_t errlen)
{
	char *answer = control_ask(conf->control_socket, "status\n");
	json_error_t je;
	json_t *o;

	if (answer == NULL) {
		snprintf(err, errlen, "outpostd is not running (no answer on %s: %s)",
			 conf->control_socket, strerror(errno));
		return NULL;
	}
	o = json_loads(answer, 0, &je);
	free(answer);
	if (o == NULL) {
		snprintf(err, errlen, "unreadable answer from outpostd: %s", je.text);
		return NULL;
	}
	control_status_add_store(conf, st, o);
	return o;
}
