/*
 * outpostctl -- the operator's tool.  The command table maps "NOUN VERB" to a
 * handler; every handler works on the store directly (no daemon needed)
 * except status and reload, which ask the running daemon.
 */
#include "config.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "util/log.h"

#define DEFAULT_CONFIG SYSCONFDIR "/outpost/outpost.conf"

static const struct ctl_cmd *const tables[] = {
    ctl_suppress_cmds, ctl_account_cmds, ctl_ingest_cmds, ctl_report_cmds, ctl_explain_cmds,
    ctl_status_cmds,   ctl_dnsbl_cmds,	 ctl_db_cmds,	  ctl_token_cmds,  ctl_cluster_cmds,
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

static void
usage_all(FILE *fp)
{
	fprintf(fp,
		"usage: outpostctl [-c FILE] [--json] COMMAND [ARGS]\n\n"
		"  -c FILE   configuration file (default " DEFAULT_CONFIG ", or $OUTPOST_CONF)\n"
		"  --json    machine-readable output: show prints one object, list prints "
		"JSON lines\n\ncommands:\n");
	for (size_t t = 0; t < NTABLES; t++)
		for (const struct ctl_cmd *c = tables[t]; c->noun; c++)
			fprintf(fp, "  %s%s%s %s\n      %s\n", c->noun, c->verb[0] ? " " : "",
				c->verb, c->args, c->help);
	fprintf(fp, "\nexit codes: 0 ok, 1 absent, 2 usage, 3 store or daemon unavailable, "
		    "4 bad input, 5 report of no known account (ingest dsn|arf)\n"
		    "\"outpostctl NOUN --help\" or \"outpostctl NOUN VERB --help\" for one "
		    "command.\n");
}

/* Usage of NOUN (every verb, or VERB) on FP. */
static void
usage_noun(FILE *fp, const char *noun, const char *verb)
{
	for (size_t t = 0; t < NTABLES; t++)
		for (const struct ctl_cmd *c = tables[t]; c->noun; c++)
			if (strcmp(c->noun, noun) == 0 && (!verb || strcmp(c->verb, verb) == 0))
				fprintf(fp, "usage: outpostctl %s%s%s %s\n    %s\n", c->noun,
					c->verb[0] ? " " : "", c->verb, c->args, c->help);
}

int
ctl_usage(const char *noun, const char *verb)
{
	usage_noun(stderr, noun, verb);
	return EXIT_USAGE;
}

static const struct ctl_cmd *
find_cmd(const char *noun, const char *verb, int *noun_known)
{
	*noun_known = 0;
	for (size_t t = 0; t < NTABLES; t++)
		for (const struct ctl_cmd *c = tables[t]; c->noun; c++) {
			if (strcmp(c->noun, noun) != 0)
				continue;
			*noun_known = 1;
			if (c->verb[0] == '\0' || (verb && strcmp(c->verb, verb) == 0))
				return c;
		}
	return NULL;
}

/* Who is acting, for the history: the sudo user if any, else the login. */
static void
set_operator(struct ctl *ctl)
{
	const char *who = getenv("SUDO_USER");
	struct passwd *pw;

	if (who == NULL && (pw = getpwuid(getuid())) != NULL)
		who = pw->pw_name;
	snprintf(ctl->by, sizeof(ctl->by), "operator:%s", who ? who : "unknown");
}

static int
is_help(const char *s)
{
	return s && (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0 || strcmp(s, "help") == 0);
}

/* Global options before the command; returns the index of the command, or -1 - exit status. */
static int
global_opts(struct ctl *ctl, int argc, char **argv)
{
	int i = 1;

	ctl->config_file = getenv("OUTPOST_CONF") ? getenv("OUTPOST_CONF") : DEFAULT_CONFIG;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			ctl->config_file = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			ctl->json = 1;
		else if (is_help(argv[i])) {
			usage_all(stdout);
			return -1 - EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("outpostctl %s\n", PACKAGE_VERSION);
			return -1 - EXIT_OK;
		} else {
			usage_all(stderr);
			return -1 - EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage_all(stderr);
		return -1 - EXIT_USAGE;
	}
	return i;
}

/* No command matched NOUN [VERB]: say why, or show the noun's help. */
static int
no_such_cmd(int known, const char *noun, const char *verb)
{
	if (!known) {
		fprintf(stderr, "outpostctl: unknown command '%s'\n", noun);
		usage_all(stderr);
		return EXIT_USAGE;
	}
	if (verb && is_help(verb)) {
		usage_noun(stdout, noun, NULL);
		return EXIT_OK;
	}
	if (verb)
		fprintf(stderr, "outpostctl: %s: unknown subcommand '%s'\n", noun, verb);
	return ctl_usage(noun, NULL);
}

/* "--help" anywhere after the command prints its usage. */
static int
wants_help(const struct ctl_cmd *cmd, int argc, char **argv)
{
	for (int j = 0; j < argc; j++)
		if (is_help(argv[j]) && strcmp(argv[j], "help") != 0) {
			printf("usage: outpostctl %s%s%s %s\n    %s\n", cmd->noun,
			       cmd->verb[0] ? " " : "", cmd->verb, cmd->args, cmd->help);
			return 1;
		}
	return 0;
}

int
main(int argc, char **argv)
{
	struct ctl ctl = {0};
	const struct ctl_cmd *cmd;
	char err[1024];
	int i, known, rc, skip;

	if ((i = global_opts(&ctl, argc, argv)) < 0)
		return -1 - i;
	cmd = find_cmd(argv[i], i + 1 < argc ? argv[i + 1] : NULL, &known);
	if (cmd == NULL)
		return no_such_cmd(known, argv[i], i + 1 < argc ? argv[i + 1] : NULL);
	skip = cmd->verb[0] ? 2 : 1;
	if (wants_help(cmd, argc - i - skip, argv + i + skip))
		return EXIT_OK;
	log_init("outpostctl", 1, 0);
	if ((ctl.conf = conf_load(ctl.config_file, err, sizeof(err))) == NULL)
		return ctl_err(access(ctl.config_file, R_OK) == 0 ? EXIT_BADINPUT
								  : EXIT_UNAVAILABLE,
			       "%s", err);
	set_operator(&ctl);
	ctl.now = time(NULL);
	rc = cmd->fn(&ctl, argc - i - skip, argv + i + skip);
	if (fflush(stdout) != 0 && rc == EXIT_OK)
		rc = ctl_err(EXIT_UNAVAILABLE, "cannot write the output");
	store_close(ctl.st);
	conf_free(ctl.conf);
	return rc;
}
