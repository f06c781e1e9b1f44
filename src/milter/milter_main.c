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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "milter.h"
#include "decide/ledger.h"
#include "store/store.h"
#include "util/log.h"

#define LEDGER_MAX 4096
#define FLUSH_MS 100

static struct ledger *flush_ledger;
static const char *conf_file;

/* Write what the callbacks queued, every FLUSH_MS. */
static void *
flush_thread(void *arg)
{
	struct timespec ts = {0, FLUSH_MS * 1000000L};

	for (;;) {
		nanosleep(&ts, NULL);
		ledger_flush(flush_ledger);
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

	log_procname(args->non_smtpd ? "milter-non-smtpd" : "milter");
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		exit(0);
	conf_file = conf->file;
	if ((st = store_open(conf->store.path, &so, err, sizeof(err))) == NULL)
		fatalx("milter: %s", err);
	flush_ledger = ledger_create(st, LEDGER_MAX);
	milter_cb_init(args, st, flush_ledger);
	/* Blocked here, before any thread exists, so only reload_thread takes it. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	start_thread(reload_thread);
	start_thread(flush_thread);
	umask(0777 & ~(mode_t)conf->milter.socket_mode);
	if (smfi_setconn((char *)spec) != MI_SUCCESS || smfi_register(milter_desc) != MI_SUCCESS)
		fatalx("milter: cannot set up libmilter for %s", spec);
	if (smfi_opensocket(1) != MI_SUCCESS)
		fatalx("milter: cannot listen on %s (in use, or a bad address?)", spec);
	log_info("milter listening on %s%s", spec, args->non_smtpd ? " (non-SMTP mode)" : "");
	if (smfi_main() != MI_SUCCESS)
		log_warnx("milter: smfi_main failed");
	ledger_flush(flush_ledger);
	log_info("milter stopped");
	exit(0);
}
