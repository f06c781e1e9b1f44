/*
 * ctl -- outpostctl's shared parts: the command table, exit codes, options,
 * opening the store, and output helpers.  One file per noun holds its
 * handlers (ctl_suppress.c, ctl_account.c, ctl_status.c).
 */
#ifndef OUTPOST_CTL_H
#define OUTPOST_CTL_H

#include <jansson.h>
#include <stdint.h>

#include "conf/conf.h"
#include "store/store.h"

/* Exit codes (CONTRACTS.md). */
#define EXIT_OK 0
#define EXIT_ABSENT 1	   /* the thing asked about is not there */
#define EXIT_USAGE 2	   /* bad command line */
#define EXIT_UNAVAILABLE 3 /* store or daemon unavailable */
#define EXIT_BADINPUT 4	   /* bad input: file:line: message */

struct ctl {
	const char *config_file;
	struct conf *conf;
	struct store *st;
	int json;
	char by[96]; /* "operator:LOGIN" for history entries */
	int64_t now;
};

struct ctl_cmd {
	const char *noun;
	const char *verb;
	int (*fn)(struct ctl *ctl, int argc, char **argv);
	const char *args; /* usage after "outpostctl NOUN VERB" */
	const char *help;
};

/* Open the shared quota table if outpostd made one (usage, explain); quietly absent otherwise. */
void ctl_quota(struct ctl *ctl);

extern const struct ctl_cmd ctl_suppress_cmds[];
extern const struct ctl_cmd ctl_account_cmds[];
extern const struct ctl_cmd ctl_status_cmds[];
extern const struct ctl_cmd ctl_explain_cmds[];
extern const struct ctl_cmd ctl_ingest_cmds[];
extern const struct ctl_cmd ctl_dnsbl_cmds[];
extern const struct ctl_cmd ctl_db_cmds[];
extern const struct ctl_cmd ctl_report_cmds[];
extern const struct ctl_cmd ctl_token_cmds[];
extern const struct ctl_cmd ctl_cluster_cmds[];

/* Open the store named by the config; prints why and returns EXIT_UNAVAILABLE on failure. */
int ctl_store(struct ctl *ctl);
/* Print an error "outpostctl: ..." and return CODE. */
int ctl_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the usage of one command and return EXIT_USAGE. */
int ctl_usage(const char *noun, const char *verb);

/*
 * Options of a subcommand: NAME ("--account") with an argument or a flag.
 * ctl_opts() consumes them from ARGV anywhere, leaving positionals in POS.
 */
#define CTL_ARG_OPTIONAL 2 /* has_arg: only --name=VALUE takes one; --name alone gives "" */
struct ctl_opt {
	const char *name;
	int has_arg;
	const char **value; /* has_arg */
	int *flag;	    /* !has_arg */
};
int ctl_opts(struct ctl *ctl, int argc, char **argv, const struct ctl_opt *opts, char **pos,
	     int *npos, int maxpos, const char *noun, const char *verb);

/* Release ACCOUNT's messages parked in Postfix's hold queue (ctl_release.c). */
int ctl_release_held(struct ctl *ctl, const char *account);

/* Print a JSON value as one compact line. */
void ctl_json_print(json_t *v);
/* Format a time as RFC 3339, "" for 0. */
const char *ctl_time(int64_t t, char *buf, size_t len);

#endif
