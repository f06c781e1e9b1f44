/*
 * null_milter -- the ceiling for bench/run-milter.sh: a libmilter filter
 * that does nothing but the protocol.
 *
 * It registers connect, envfrom, envrcpt and eom, the stages outpostd's
 * milter works at, and each returns SMFIS_CONTINUE.  Every other callback is
 * NULL, so libmilter negotiates those stages away (SMFIP_NOHELO, NOHDRS,
 * NOEOH, NOBODY, NODATA, NOUNKNOWN): the MTA then sends the same events to
 * both milters.  No actions are requested (outpostd asks for ADDHDRS,
 * DELRCPT, QUARANTINE and SETSYMLIST).  Same library, same thread pool, same
 * socket handling as outpostd's milter process: whatever outpostd does
 * beyond this is the cost of its decisions and its bookkeeping.
 *
 * usage: null_milter -p inet:PORT@127.0.0.1 [-T TIMEOUT_S]
 * SIGTERM/SIGHUP stop it (libmilter's signal thread), SIGINT aborts it.
 */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <signal.h>
#include <unistd.h>

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	(void)ctx;
	(void)hostname;
	(void)sa;
	return SMFIS_CONTINUE;
}

static sfsistat
cb_argv(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
    .xxfi_name = "null_milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = 0,
    .xxfi_connect = cb_connect,
    .xxfi_envfrom = cb_argv,
    .xxfi_envrcpt = cb_argv,
    .xxfi_eom = cb_eom,
};

static void
usage(void)
{
	fprintf(stderr, "usage: null_milter -p inet:PORT@HOST [-T TIMEOUT_S]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *spec = NULL;
	int ch, timeout = 0;

	while ((ch = getopt(argc, argv, "p:T:")) != -1) {
		switch (ch) {
		case 'p':
			spec = optarg;
			break;
		case 'T':
			timeout = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (spec == NULL)
		usage();
	prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the script that started us */
	if (smfi_setconn((char *)spec) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS) {
		fprintf(stderr, "null_milter: cannot set up libmilter for %s\n", spec);
		return 1;
	}
	if (timeout > 0)
		smfi_settimeout(timeout);
	/* libmilter reports socket errors only through syslog: say it here too. */
	if (smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "null_milter: cannot listen on %s\n", spec);
		return 1;
	}
	fprintf(stderr, "null_milter: listening on %s\n", spec);
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
