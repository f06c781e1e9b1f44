/*
 * milter_main -- the milter process: open the store, start the reload and
 * flush threads, hand the socket to libmilter and run smfi_main().
 */
#include "config.h"

#include <errno.h>
#include <libmilter/mfapi.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "milter.h"
#include "decide/evqueue.h"
#include "decide/ledger.h"
#include "store/store.h"
#include "util/log.h"

#define LEDGER_MAX 4096
#define EVENTS_MAX 4096
#define FLUSH_MS 100

static struct ledger *flush_ledger;
static struct evqueue *flush_events;
static const char *conf_file;

/* Write what the callbacks queued, every FLUSH_MS. */
static void *
flush_thread(void *arg)
{
	struct timespec ts = {0, FLUSH_MS * 1000000L};

	for (;;) {
		nanosleep(&ts, NULL);
		ledger_flush(flush_ledger);
		evqueue_flush(flush_events, milter_conf());
	}
	return NULL;
}

/* SIGUSR1: re-read the file; a bad one is logged and the running one stays. */
static void *
reload_thread(void *arg)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	for (;;) {
		char err[1024];
		struct conf *nc;

		if (sigwait(&set, &sig) != 0)
			continue;
		if ((nc = conf_load(conf_file, err, sizeof(err))) == NULL) {
			log_warnx("reload failed, keeping the running configuration: %s", err);
			continue;
		}
		milter_cb_set_conf(nc);
		log_info("configuration reloaded");
	}
	return NULL;
}

#define FEEDBACK_KEY "feedback_key"

static int
key_create(struct store_txn *txn, void *arg)
{
	struct store_val v;

	if (store_get(txn, DB_META, FEEDBACK_KEY, strlen(FEEDBACK_KEY), &v) == STORE_OK)
		return STORE_OK; /* another process made it first */
	return store_put(txn, DB_META, FEEDBACK_KEY, strlen(FEEDBACK_KEY), arg, 16);
}

/* The per-store key of the Feedback-ID hash: read it, or make it once. */
static int
feedback_key_load(struct store *st, uint8_t key[16])
{
	struct store_txn *txn;
	struct store_val v;
	int rc;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (store_read_begin(st, &txn) != STORE_OK)
			return -1;
		rc = store_get(txn, DB_META, FEEDBACK_KEY, strlen(FEEDBACK_KEY), &v);
		if (rc == STORE_OK && v.len == 16)
			memcpy(key, v.data, 16);
		store_read_end(txn);
		if (rc == STORE_OK)
			return v.len == 16 ? 0 : -1;
		if (getrandom(key, 16, 0) != 16 || store_write(st, key_create, key) != STORE_OK)
			return -1;
	}
	return -1;
}

/*
 * libmilter writes a modification (add header) and the final reply as two
 * packets; with Nagle on, the second waits for the MTA's delayed ACK: ~40 ms a
 * message.  Set TCP_NODELAY on the listening socket (accepted sockets inherit
 * it on Linux).  libmilter doesn't expose its socket: it is the one listening
 * inet socket of this process.
 */
static void
set_nodelay(void)
{
	int one = 1;

	for (int fd = 0; fd < 1024; fd++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss), il = sizeof(int);
		int listening = 0;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &il) < 0 || !listening ||
		    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
			log_warn("milter: TCP_NODELAY");
	}
}

/* Start a detached helper thread; fatal if impossible (before any client). */
static void
start_thread(void *(*fn)(void *))
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, NULL) != 0)
		fatalx("milter: cannot start a thread");
	pthread_detach(t);
}

void
milter_main(const struct milter_args *args)
{
	const struct conf *conf = args->conf;
	const char *spec = args->non_smtpd ? conf->milter.non_smtpd_listen : conf->milter.listen;
	struct store_opts so = {conf->store.map_size, conf->store.max_readers, 0, 1};
	char err[512];
	struct store *st;
	sigset_t set;
	uint8_t key[16];

	log_procname(args->non_smtpd ? "milter-non-smtpd" : "milter");
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		exit(0);
	conf_file = conf->file;
	if ((st = store_open(conf->store.path, &so, err, sizeof(err))) == NULL)
		fatalx("milter: %s", err);
	flush_ledger = ledger_create(st, LEDGER_MAX);
	flush_events = evqueue_create(EVENTS_MAX);
	if (feedback_key_load(st, key) < 0)
		fatalx("milter: cannot read or create the Feedback-ID key: %s", store_error(st));
	milter_cb_init(args, st, flush_ledger, flush_events, key);
	/*
	 * Blocked here, before any thread exists, so that every thread inherits
	 * the mask: SIGUSR1 goes to reload_thread, and HUP/TERM/INT to libmilter's
	 * own sigwait thread (a graceful stop that flushes the ledger) instead of
	 * killing the process from whichever thread the kernel picks.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	start_thread(reload_thread);
	start_thread(flush_thread);
	umask(0777 & ~(mode_t)conf->milter.socket_mode);
	if (smfi_setconn((char *)spec) != MI_SUCCESS || smfi_register(milter_desc) != MI_SUCCESS)
		fatalx("milter: cannot set up libmilter for %s", spec);
	if (smfi_opensocket(1) != MI_SUCCESS)
		fatalx("milter: cannot listen on %s (in use, or a bad address?)", spec);
	set_nodelay();
	log_info("milter listening on %s%s", spec, args->non_smtpd ? " (non-SMTP mode)" : "");
	if (smfi_main() != MI_SUCCESS)
		log_warnx("milter: smfi_main failed");
	ledger_flush(flush_ledger);
	evqueue_flush(flush_events, milter_conf());
	log_info("milter stopped");
	exit(0);
}
