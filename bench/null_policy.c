/*
 * null_policy -- the ceiling for bench/run-policy.sh: a policy server that
 * does nothing but the protocol.
 *
 * Same process model as outpostd: the parent binds one listening socket and
 * forks N worker processes; each runs a libevent loop that accepts from the
 * shared socket and serves many persistent connections.  A request is read
 * only far enough to find its terminating empty line; every request is
 * answered "action=DUNNO\n\n".  Whatever outpostd does beyond this is the
 * cost of its checks, its parser and its bookkeeping.
 *
 * usage: null_policy -l 127.0.0.1:PORT [-w WORKERS]
 * SIGTERM/SIGINT to the parent stops the workers and the parent.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#define MAX_WORKERS 64
#define CONN_BUF 65536 /* outpostd's default max_request_size */
#define ACCEPT_BATCH 64

static const char reply[] = "action=DUNNO\n\n";

struct conn {
	struct event *ev;
	int fd;
	size_t len;  /* bytes held in buf */
	size_t scan; /* bytes of buf already known to hold no request end */
	char buf[CONN_BUF];
};

static void
conn_close(struct conn *c)
{
	event_free(c->ev);
	close(c->fd);
	free(c);
}

/* Offset just past the empty line that ends the first request, or 0. */
static size_t
request_end(struct conn *c)
{
	char *p = c->buf + c->scan, *end = c->buf + c->len;

	/* A request ends where a '\n' is followed by '\n' (or starts the buffer). */
	if (c->scan == 0 && c->len > 0 && c->buf[0] == '\n')
		return 1;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || nl + 1 >= end) {
			c->scan = nl ? (size_t)(nl - c->buf) : c->len;
			return 0;
		}
		if (nl[1] == '\n')
			return (size_t)(nl + 2 - c->buf);
		p = nl + 1;
	}
	c->scan = c->len;
	return 0;
}

/* Answer each complete request in the buffer; -1 closes the connection. */
static int
conn_process(struct conn *c)
{
	size_t end;

	while ((end = request_end(c)) > 0) {
		/* Lock-step clients: the reply always fits the empty socket buffer. */
		if (send(c->fd, reply, sizeof(reply) - 1, MSG_NOSIGNAL) != sizeof(reply) - 1)
			return -1;
		c->len -= end;
		if (c->len)
			memmove(c->buf, c->buf + end, c->len);
		c->scan = 0;
	}
	return c->len == sizeof(c->buf) ? -1 : 0; /* a request larger than we keep */
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	ssize_t n;

	(void)what;
	n = read(fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	if (conn_process(c) < 0)
		conn_close(c);
}

static void
accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct event_base *base = arg;

	(void)what;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;
		if (fd < 0)
			return;
		if ((c = malloc(sizeof(*c))) == NULL) {
			close(fd);
			return;
		}
		c->fd = fd;
		c->len = c->scan = 0;
		c->ev = event_new(base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
		event_add(c->ev, NULL);
	}
}

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(arg, NULL);
}

static void
worker_run(int lfd)
{
	struct event_base *base;
	struct event *lev, *term, *intr;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL) {
		fprintf(stderr, "null_policy: cannot create event base\n");
		exit(1);
	}
	lev = event_new(base, lfd, EV_READ | EV_PERSIST, accept_cb, base);
	term = evsignal_new(base, SIGTERM, stop_cb, base);
	intr = evsignal_new(base, SIGINT, stop_cb, base);
	event_add(lev, NULL);
	event_add(term, NULL);
	event_add(intr, NULL);
	if (getppid() == 1)
		exit(0);
	event_base_dispatch(base);
	exit(0);
}

/* Bind and listen on HOST:PORT (IPv4); exits with a message on failure. */
static int
listen_on(const char *spec)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	char host[64];
	const char *colon = strrchr(spec, ':');
	int fd, on = 1;

	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host)) {
		fprintf(stderr, "null_policy: -l wants HOST:PORT\n");
		exit(2);
	}
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	sin.sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		fprintf(stderr, "null_policy: '%s' is not an IPv4 address\n", host);
		exit(2);
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 1024) < 0) {
		fprintf(stderr, "null_policy: listen on %s: %s\n", spec, strerror(errno));
		exit(1);
	}
	return fd;
}

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	const char *spec = NULL;
	pid_t pids[MAX_WORKERS];
	int nworkers = 2, lfd, ch;

	while ((ch = getopt(argc, argv, "l:w:")) != -1) {
		switch (ch) {
		case 'l':
			spec = optarg;
			break;
		case 'w':
			nworkers = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (spec == NULL || nworkers < 1 || nworkers > MAX_WORKERS)
		goto usage;
	lfd = listen_on(spec);
	/* No SA_RESTART: the signal must interrupt wait() below. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (int i = 0; i < nworkers; i++) {
		if ((pids[i] = fork()) < 0) {
			perror("null_policy: fork");
			exit(1);
		}
		if (pids[i] == 0) {
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			worker_run(lfd);
		}
	}
	/* The parent only waits: the first signal or the first dead worker ends the run. */
	while (!stop && wait(NULL) < 0 && errno == EINTR)
		;
	for (int i = 0; i < nworkers; i++)
		kill(pids[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
usage:
	fprintf(stderr, "usage: null_policy -l 127.0.0.1:PORT [-w WORKERS]\n");
	return 2;
}
