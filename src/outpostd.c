/*
 * outpostd -- main(): arguments, configuration, daemon mode, privilege drop,
 * then the master.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "conf/conf.h"
#include "master/master.h"
#include "util/log.h"
#include "util/xalloc.h"

#define DEFAULT_CONFIG SYSCONFDIR "/outpost/outpost.conf"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: outpostd [-fnSvV] [-c FILE]\n"
		    "  -c FILE  configuration file (default " DEFAULT_CONFIG ")\n"
		    "  -f       stay in the foreground and log to stderr\n"
		    "  -n       check the configuration and exit 0 (valid) or 1\n"
		    "  -v       with -n: print the effective configuration; else more logging\n"
		    "  -S       print every configuration key with its default and exit\n"
		    "  -V       print the version and exit\n");
}

/* Create DIR (one level) owned by PW if it is missing; used before the privilege drop. */
static void
make_dir(const char *dir, mode_t mode, const struct passwd *pw)
{
	struct stat sb;

	if (dir[0] == '\0' || stat(dir, &sb) == 0)
		return;
	if (mkdir(dir, mode) < 0 || chmod(dir, mode) < 0)
		fatal("cannot create %s", dir);
	if (pw && chown(dir, pw->pw_uid, pw->pw_gid) < 0)
		fatal("chown %s", dir);
}

/* The directory that will hold FILE. */
static void
make_parent(const char *file, const struct passwd *pw)
{
	char *copy = xstrdup(file);

	if (file[0])
		make_dir(dirname(copy), 0755, pw);
	free(copy);
}

/* The user to become: NULL when not root or when conf->user is empty (no drop). */
static struct passwd *
target_user(const struct conf *conf)
{
	struct passwd *pw;

	if (geteuid() != 0 || conf->user[0] == '\0')
		return NULL;
	if ((pw = getpwnam(conf->user)) == NULL)
		fatalx("user '%s' does not exist: create it (adduser --system --group %s) "
		       "or set user in %s",
		       conf->user, conf->user, conf->file);
	return pw;
}

/* Become PW for good; after this nothing can regain root. */
static void
drop_privileges(const struct conf *conf, const struct passwd *pw)
{
	if (pw == NULL)
		return;
	if (setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		fatal("cannot drop privileges to %s", conf->user);
	if (setuid(0) == 0)
		fatalx("privileges could be regained after the drop to %s", conf->user);
	log_info("running as %s (uid %ld)", conf->user, (long)pw->pw_uid);
}

/* Persistent policy connections need descriptors: raise the soft limit to the hard one. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Refuse to start twice: a pid file naming a live process is an error. */
static void
pidfile_check(const char *path)
{
	FILE *fp;
	long pid;

	if (path[0] == '\0' || (fp = fopen(path, "r")) == NULL)
		return;
	if (fscanf(fp, "%ld", &pid) == 1 && pid > 1 && kill((pid_t)pid, 0) == 0)
		fatalx("already running as pid %ld (%s)", pid, path);
	fclose(fp);
}

static void
pidfile_write(const char *path)
{
	FILE *fp;

	if (path[0] == '\0')
		return;
	if ((fp = fopen(path, "w")) == NULL)
		fatal("cannot write pid file %s", path);
	fprintf(fp, "%ld\n", (long)getpid());
	fclose(fp);
}

/* Detach: fork, new session, fork again, stdio to /dev/null. */
static void
daemonize(void)
{
	int fd;

	if (fork() != 0)
		_exit(0);
	setsid();
	if (fork() != 0)
		_exit(0);
	if (chdir("/") < 0)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

static int
check_only(const char *file, int verbose)
{
	char err[1024];
	struct conf *conf = conf_load(file, err, sizeof(err));

	if (conf != NULL && master_conf_check(conf, err, sizeof(err)) < 0) {
		conf_free(conf);
		conf = NULL;
	}
	if (conf == NULL) {
		fprintf(stderr, "outpostd: %s\n", err);
		return 1;
	}
	if (verbose)
		conf_dump(conf, stdout);
	else
		fprintf(stderr, "outpostd: %s: configuration OK\n", conf->file);
	conf_free(conf);
	return 0;
}

/* What the command line asks for: run (-1), or exit now with this status. */
static int
parse_args(int argc, char **argv, struct master_opts *opts, int *check, int *verbose)
{
	int ch;

	while ((ch = getopt(argc, argv, "c:fhnSvV")) != -1) {
		switch (ch) {
		case 'c':
			opts->config_file = optarg;
			break;
		case 'f':
			opts->foreground = 1;
			break;
		case 'n':
			*check = 1;
			break;
		case 'S':
			conf_schema_print(stdout);
			return 0;
		case 'v':
			(*verbose)++;
			break;
		case 'V':
			printf("outpostd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* Everything that needs root: directories, sockets; then detach, pid file, drop. */
static void
start_up(struct conf *conf, const struct master_opts *opts)
{
	struct passwd *pw;

	pidfile_check(conf->pidfile);
	raise_nofile();
	pw = target_user(conf);
	make_dir(conf->store.path, 02770, pw);
	make_parent(conf->control_socket, pw);
	make_parent(conf->pidfile, pw);
	master_bind(conf);
	if (pw && conf->control_socket[0] &&
	    chown(conf->control_socket, pw->pw_uid, pw->pw_gid) < 0)
		fatal("chown %s", conf->control_socket);
	if (!opts->foreground) {
		log_init("outpostd", 0, conf->syslog_facility);
		daemonize();
	}
	pidfile_write(conf->pidfile);
	drop_privileges(conf, pw);
}

int
main(int argc, char **argv)
{
	struct master_opts opts = {DEFAULT_CONFIG, 0};
	int rc, check = 0, verbose = 0;
	char err[1024];
	struct conf *conf;

	if ((rc = parse_args(argc, argv, &opts, &check, &verbose)) >= 0)
		return rc;
	if (check)
		return check_only(opts.config_file, verbose);
	umask(007);
	log_init("outpostd", 1, LOG_MAIL);
	if ((conf = conf_load(opts.config_file, err, sizeof(err))) == NULL ||
	    master_conf_check(conf, err, sizeof(err)) < 0)
		fatalx("%s", err);
	log_verbose(LOG_LVL_INFO + (verbose > conf->verbose ? verbose : conf->verbose));
	if (conf->policy.workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		conf->policy.workers = n > 0 ? (int)n : 1;
	}
	start_up(conf, &opts);
	rc = master_run(&conf, &opts);
	if (conf->pidfile[0])
		unlink(conf->pidfile);
	conf_free(conf);
	return rc;
}
