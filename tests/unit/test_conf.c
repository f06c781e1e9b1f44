/* test_conf -- loading and validating the configuration file (conf.h). */
#include "config.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The three settings every test file carries, on lines 1-3. */
#define BASE                                               \
	"store = { path = \"/var/lib/outpost-test\"; };\n" \
	"policy = { listen = \"inet:127.0.0.1:10040\"; workers = 2; };\n"

static int
setup(void **state)
{
	*state = unit_tmpdir();
	return 0;
}

static int
teardown(void **state)
{
	unit_rmtree(*state);
	return 0;
}

/* Write TEXT as the config file in DIR and load it; the path goes to *PATH_R. */
static struct conf *
load(const char *dir, const char *text, char **path_r, char *err, size_t errlen)
{
	char *path = unit_write_conf(dir, text);
	struct conf *c;

	err[0] = '\0';
	c = conf_load(path, err, errlen);
	if (path_r)
		*path_r = path;
	else
		free(path);
	return c;
}

/* Loading TEXT must fail with exactly "PATH:LINE: MSG". */
static void
expect_error(const char *dir, const char *text, int line, const char *msg)
{
	char err[1024], want[1024], *path;
	struct conf *c = load(dir, text, &path, err, sizeof(err));

	if (c != NULL)
		fail_msg("accepted:\n%s", text);
	snprintf(want, sizeof(want), "%s:%d: %s", path, line, msg);
	if (strcmp(err, want) != 0)
		fail_msg("error\n  got  '%s'\n  want '%s'\nfor:\n%s", err, want, text);
	free(path);
}

/* ---- a minimal file and the defaults ------------------------------------ */

static void
test_minimal_defaults(void **state)
{
	const char *dir = *state;
	char err[512], *path;
	struct conf *c = load(dir, BASE, &path, err, sizeof(err));

	if (c == NULL)
		fail_msg("refused: %s", err);
	assert_string_equal(err, "");
	assert_string_equal(c->file, path);
	assert_string_equal(c->dir, dir);
	/* What the file says. */
	assert_string_equal(c->store.path, "/var/lib/outpost-test");
	assert_int_equal(c->policy.listen.n, 1);
	assert_string_equal(c->policy.listen.v[0], "inet:127.0.0.1:10040");
	assert_int_equal(c->policy.workers, 2);
	/* Every default of the schema. */
	assert_string_equal(c->user, "outpost");
	assert_string_equal(c->pidfile, "/run/outpost/outpostd.pid");
	assert_string_equal(c->control_socket, "/run/outpost/outpostd.ctl");
	assert_int_equal(c->syslog_facility, LOG_MAIL);
	assert_int_equal(c->verbose, 0);
	assert_int_equal(c->mode, MODE_ENFORCE);
	assert_int_equal(c->store.map_size, 1073741824);
	assert_int_equal(c->store.max_readers, 1024);
	assert_int_equal(c->store.fallback, ACT_TEMPFAIL);
	assert_int_equal(c->policy.socket_mode, 0666);
	assert_string_equal(c->policy.socket_group, "");
	assert_int_equal(c->policy.max_requests, 1000000);
	assert_int_equal(c->policy.max_request_size, 65536);
	assert_int_equal(c->policy.max_connections, 10000);
	assert_int_equal(c->policy.idle_timeout, 1200);
	assert_int_equal(c->policy.drain_timeout, 10);
	assert_int_equal(c->accounts.nidentity, 4);
	assert_int_equal(c->accounts.identity[0], ID_SASL);
	assert_int_equal(c->accounts.identity[1], ID_SENDER);
	assert_int_equal(c->accounts.identity[2], ID_SENDER_DOMAIN);
	assert_int_equal(c->accounts.identity[3], ID_CLIENT_ADDRESS);
	assert_int_equal(c->accounts.auto_create, 1);
	assert_int_equal(c->accounts.unmatched, ACT_DUNNO);
	assert_int_equal(c->accounts.unknown, ACT_TEMPFAIL);
	assert_int_equal(c->accounts.paused_action, ACT_TEMPFAIL);
	assert_int_equal(c->suppress.fold_plus, 0);
	assert_int_equal(c->dns.servers.n, 0);
	conf_free(c);
	free(path);
}

/* An empty file is valid too: everything is a default. */
static void
test_empty_file(void **state)
{
	char err[512];
	struct conf *c = load(*state, "# nothing\n", NULL, err, sizeof(err));

	if (c == NULL)
		fail_msg("refused: %s", err);
	assert_string_equal(c->store.path, "/var/lib/outpost");
	assert_int_equal(c->policy.listen.n, 1);
	assert_string_equal(c->policy.listen.v[0], "inet:127.0.0.1:10040");
	assert_int_equal(c->policy.workers, 0);
	conf_free(c);
	conf_free(NULL);
}

/* Every setting given a non-default value is read into its field. */
static void
test_all_settings(void **state)
{
	const char *text =
	    "user = \"\";\n"
	    "pidfile = \"/p.pid\";\n"
	    "control_socket = \"/c.ctl\";\n"
	    "syslog_facility = \"local3\";\n"
	    "verbose = 2;\n"
	    "mode = \"monitor\";\n"
	    "store = { path = \"/db\"; map_size = \"64M\"; max_readers = 16;\n"
	    "          fallback = \"dunno\"; };\n"
	    "policy = { listen = \"unix:/p.sock\"; workers = 256; socket_mode = \"0660\";\n"
	    "  socket_group = \"postfix\"; max_requests = 0; max_request_size = 8192;\n"
	    "  max_connections = 1; idle_timeout = \"5m\"; drain_timeout = 0; };\n"
	    "accounts = { identity = [\"client_address\", \"sasl\"]; auto_create = false;\n"
	    "  unmatched = \"reject\"; unknown = \"dunno\"; paused_action = \"hold\"; };\n"
	    "suppress = { fold_plus = true; };\n"
	    "dns = { servers = [\"192.0.2.53\", \"[2001:db8::53]:5353\"]; };\n";
	char err[512];
	struct conf *c = load(*state, text, NULL, err, sizeof(err));

	if (c == NULL)
		fail_msg("refused: %s", err);
	assert_string_equal(c->user, "");
	assert_string_equal(c->pidfile, "/p.pid");
	assert_string_equal(c->control_socket, "/c.ctl");
	assert_int_equal(c->syslog_facility, LOG_LOCAL3);
	assert_int_equal(c->verbose, 2);
	assert_int_equal(c->mode, MODE_MONITOR);
	assert_string_equal(c->store.path, "/db");
	assert_int_equal(c->store.map_size, 64 << 20);
	assert_int_equal(c->store.max_readers, 16);
	assert_int_equal(c->store.fallback, ACT_DUNNO);
	assert_int_equal(c->policy.listen.n, 1);
	assert_string_equal(c->policy.listen.v[0], "unix:/p.sock");
	assert_int_equal(c->policy.workers, 256);
	assert_int_equal(c->policy.socket_mode, 0660);
	assert_string_equal(c->policy.socket_group, "postfix");
	assert_int_equal(c->policy.max_requests, 0);
	assert_int_equal(c->policy.max_request_size, 8192);
	assert_int_equal(c->policy.max_connections, 1);
	assert_int_equal(c->policy.idle_timeout, 300);
	assert_int_equal(c->policy.drain_timeout, 0);
	assert_int_equal(c->accounts.nidentity, 2);
	assert_int_equal(c->accounts.identity[0], ID_CLIENT_ADDRESS);
	assert_int_equal(c->accounts.identity[1], ID_SASL);
	assert_int_equal(c->accounts.auto_create, 0);
	assert_int_equal(c->accounts.unmatched, ACT_REJECT);
	assert_int_equal(c->accounts.unknown, ACT_DUNNO);
	assert_int_equal(c->accounts.paused_action, ACT_HOLD);
	assert_int_equal(c->suppress.fold_plus, 1);
	assert_int_equal(c->dns.servers.n, 2);
	assert_string_equal(c->dns.servers.v[0], "192.0.2.53");
	assert_string_equal(c->dns.servers.v[1], "[2001:db8::53]:5353");
	conf_free(c);
}

/* Numbers with units may also be given as plain integers (bytes, seconds). */
static void
test_numbers_as_integers(void **state)
{
	const char *text2 = "store = { path = \"/x\"; map_size = 2147483648L; };\n"
			    "policy = { max_request_size = 131072; idle_timeout = 60;\n"
			    "  max_requests = 5000000000L; };\n"
			    "accounts = { identity = \"sender\"; };\n";
	char err[512];
	struct conf *c;

	c = load(*state, text2, NULL, err, sizeof(err));
	if (c == NULL)
		fail_msg("refused: %s", err);
	assert_int_equal(c->store.map_size, 2147483648LL);
	assert_int_equal(c->policy.max_request_size, 131072);
	assert_int_equal(c->policy.idle_timeout, 60);
	assert_int_equal(c->policy.max_requests, 5000000000LL);
	assert_int_equal(c->accounts.nidentity, 1);
	assert_int_equal(c->accounts.identity[0], ID_SENDER);
	conf_free(c);
}

/* ---- errors: file:line: message ----------------------------------------- */

static void
test_unknown_key(void **state)
{
	expect_error(*state,
		     "store = { path = \"/x\"; };\n"
		     "policy = {\n"
		     "  listen = \"inet:127.0.0.1:10040\";\n"
		     "  wrokers = 4;\n"
		     "};\n",
		     4, "unknown setting 'policy.wrokers'");
	expect_error(*state,
		     "store = { path = \"/x\";\n"
		     "  mapsize = \"1G\"; };\n",
		     2, "unknown setting 'store.mapsize'");
	expect_error(*state, BASE "\n\nworkers = 4;\n", 5, "unknown setting 'workers'");
	/* A known group name used as a plain setting is no group. */
	expect_error(*state, "dns = \"192.0.2.1\";\n", 1, "unknown setting 'dns'");
}

/* The unknown-key error starts with FILE:LINE: and names the key. */
static void
test_unknown_key_format(void **state)
{
	char err[512], *path, prefix[600];
	struct conf *c = load(*state, "verbose = 1;\nbogus_key = 1;\n", &path, err, sizeof(err));

	assert_null(c);
	snprintf(prefix, sizeof(prefix), "%s:2:", path);
	assert_int_equal(strncmp(err, prefix, strlen(prefix)), 0);
	assert_non_null(strstr(err, "bogus_key"));
	free(path);
}

static void
test_unknown_section(void **state)
{
	expect_error(*state, BASE "polcy = {\n  workers = 1;\n};\n", 3, "unknown section 'polcy'");
	expect_error(*state, BASE "accounts = { tls = { on = true; }; };\n", 3,
		     "unknown section 'accounts.tls'");
}

static const struct {
	const char *text;
	int line;
	const char *msg;
} type_cases[] = {
    {BASE "suppress = { fold_plus = 1; };\n", 3, "suppress.fold_plus: expected true or false"},
    {"policy = { max_connections = \"many\"; };\n", 1,
     "policy.max_connections: expected a number, not a string"},
    {"policy = { workers = \"two\"; };\n", 1, "policy.workers: expected a number, not a string"},
    {"store = { path = 5; };\n", 1, "store.path: expected a string"},
    {"mode = true;\n", 1, "mode: expected a string"},
    {"user = [\"a\"];\n", 1, "user: expected a string"},
    {"accounts = { auto_create = 1; };\n", 1, "accounts.auto_create: expected true or false"},
    {"suppress = { fold_plus = \"yes\"; };\n", 1, "suppress.fold_plus: expected true or false"},
    {"policy = { idle_timeout = true; };\n", 1, "policy.idle_timeout: expected a number"},
    {"verbose = 1.5;\n", 1, "verbose: expected a number"},
    {"policy = { listen = 10040; };\n", 1, "policy.listen: expected a string or a list of strings"},
    {"policy = { listen = (\"inet:127.0.0.1:1\", 2); };\n", 1,
     "policy.listen: element 2 is not a string"},
    {"dns = { servers = 53; };\n", 1, "dns.servers: expected a string or a list of strings"},
    {"store = { map_size = \"lots\"; };\n", 1,
     "store.map_size: 'lots' is not a size (e.g. 64K, 1G)"},
    {"policy = { idle_timeout = \"5 minutes\"; };\n", 1,
     "policy.idle_timeout: '5 minutes' is not a duration (e.g. 45s, 12h)"},
    {"policy = { socket_mode = \"rw\"; };\n", 1, "policy.socket_mode: 'rw' is not an octal mode"},
    {"policy = { socket_mode = \"0668\"; };\n", 1,
     "policy.socket_mode: '0668' is not an octal mode"},
    /* seconds that overflow as milliseconds (found by fuzz_conf) */
    {"dns = { timeout = 9223372036854775807L; };\n", 1,
     "dns.timeout: 9223372036854775807 seconds is out of range"},
    {"dns = { timeout = \"15002222222222222s\"; };\n", 1,
     "dns.timeout: '15002222222222222s' is not a duration (e.g. 500ms, 2s)"},
};

static void
test_wrong_type_table(void **state)
{
	for (size_t i = 0; i < N(type_cases); i++)
		expect_error(*state, type_cases[i].text, type_cases[i].line, type_cases[i].msg);
}

static const struct {
	const char *text;
	int line;
	const char *msg;
} range_cases[] = {
    {"store = { path = \"/x\"; };\npolicy = {\n  listen = \"unix:/p\";\n  workers = 300;\n};\n", 4,
     "policy.workers: 300 is out of range [0, 256]"},
    {"policy = { workers = -1; };\n", 1, "policy.workers: -1 is out of range [0, 256]"},
    {"verbose = 3;\n", 1, "verbose: 3 is out of range [0, 2]"},
    {"store = { max_readers = 15; };\n", 1, "store.max_readers: 15 is out of range [16, 65536]"},
    {"policy = { max_request_size = \"32M\"; };\n", 1,
     "policy.max_request_size: 33554432 is out of range [8192, 16777216]"},
    {"policy = { idle_timeout = 0; };\n", 1, "policy.idle_timeout: 0 is out of range [1, 86400]"},
    {"policy = { idle_timeout = \"2d\"; };\n", 1,
     "policy.idle_timeout: 172800 is out of range [1, 86400]"},
    {"policy = { socket_mode = \"1777\"; };\n", 1,
     "policy.socket_mode: 1023 is out of range [0, 511]"},
    {"policy = { max_connections = 1000001; };\n", 1,
     "policy.max_connections: 1000001 is out of range [1, 1000000]"},
};

static void
test_out_of_range_table(void **state)
{
	for (size_t i = 0; i < N(range_cases); i++)
		expect_error(*state, range_cases[i].text, range_cases[i].line, range_cases[i].msg);
}

/* A key with only a lower bound: the value is refused and named. */
static void
test_out_of_range_min_only(void **state)
{
	char err[512], *path, prefix[700];
	struct conf *c =
	    load(*state, "store = { map_size = \"512K\"; };\n", &path, err, sizeof(err));

	assert_null(c);
	snprintf(prefix, sizeof(prefix),
		 "%s:1: store.map_size: 524288 is too small (at least 1048576)", path);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("got '%s'", err);
	free(path);
}

static const struct {
	const char *text;
	const char *msg;
} enum_cases[] = {
    {"mode = \"audit\";\n", "mode: 'audit' is not one of: enforce, monitor"},
    {"mode = \"Monitor\";\n", "mode: 'Monitor' is not one of: enforce, monitor"},
    {"store = { fallback = \"reject\"; };\n",
     "store.fallback: 'reject' is not one of: tempfail, dunno"},
    {"accounts = { unmatched = \"hold\"; };\n",
     "accounts.unmatched: 'hold' is not one of: dunno, tempfail, reject"},
    {"accounts = { unknown = \"\"; };\n",
     "accounts.unknown: '' is not one of: dunno, tempfail, reject"},
    {"accounts = { paused_action = \"dunno\"; };\n",
     "accounts.paused_action: 'dunno' is not one of: tempfail, reject, hold"},
    {"accounts = { identity = [\"sasl\", \"ldap\"]; };\n",
     "accounts.identity: unknown source 'ldap' (one of: sasl, sender, sender_domain, "
     "client_address)"},
    {"accounts = { identity = [\"sasl\", \"sender\", \"sasl\"]; };\n",
     "accounts.identity: 'sasl' listed twice"},
    {"syslog_facility = \"kern\";\n", "syslog_facility: unknown syslog facility 'kern'"},
};

static void
test_bad_enum_table(void **state)
{
	for (size_t i = 0; i < N(enum_cases); i++)
		expect_error(*state, enum_cases[i].text, 1, enum_cases[i].msg);
}

static void
test_bad_listen(void **state)
{
	expect_error(*state, "policy = { listen = \"inet:localhost\"; };\n", 1,
		     "policy.listen: 'inet:localhost': expected inet:HOST:PORT, inet:[IPV6]:PORT "
		     "or unix:PATH");
	expect_error(
	    *state,
	    "policy = {\n  listen = [\"inet:127.0.0.1:10040\", \"inet:mail.example:25\"];\n};\n", 2,
	    "policy.listen: 'inet:mail.example:25': host must be a numeric IPv4 or IPv6 "
	    "address");
	expect_error(*state, "policy = { listen = (\"unix:\"); };\n", 1,
		     "policy.listen: 'unix:': unix socket path empty or too long");
	expect_error(*state, "policy = { listen = []; };\n", 1,
		     "policy.listen: at least one address is needed");
	expect_error(*state, "dns = { servers = [\"192.0.2.1\", \"ns.example\"]; };\n", 1,
		     "dns.servers: 'ns.example': expected IP or IP:PORT");
}

/* policy.listen as one string, an array of strings or a list of strings. */
static void
test_listen_forms(void **state)
{
	static const struct {
		const char *text;
		size_t n;
		const char *v[3];
	} cases[] = {
	    {"policy = { listen = \"unix:/run/p.sock\"; };\n", 1, {"unix:/run/p.sock"}},
	    {"policy = { listen = [\"inet:127.0.0.1:10040\", \"inet:[::1]:10040\"]; };\n",
	     2,
	     {"inet:127.0.0.1:10040", "inet:[::1]:10040"}},
	    {"policy = { listen = (\"inet:0.0.0.0:25\", \"unix:/a\", \"inet:[::]:25\"); };\n",
	     3,
	     {"inet:0.0.0.0:25", "unix:/a", "inet:[::]:25"}},
	};

	for (size_t i = 0; i < N(cases); i++) {
		char err[512];
		struct conf *c = load(*state, cases[i].text, NULL, err, sizeof(err));
		if (c == NULL)
			fail_msg("refused: %s", err);
		assert_int_equal(c->policy.listen.n, cases[i].n);
		for (size_t j = 0; j < cases[i].n; j++)
			assert_string_equal(c->policy.listen.v[j], cases[i].v[j]);
		conf_free(c);
	}
}

/* Relative paths are taken from the config file's directory, absolute ones kept. */
static void
test_relative_paths(void **state)
{
	const char *dir = *state;
	const char *text = "store = { path = \"var/db\"; };\n"
			   "pidfile = \"../run/o.pid\";\n"
			   "control_socket = \"/abs/./x//../o.ctl\";\n"
			   "feedback = { rules = \"/..\"; };\n"
			   "user = \"relative/not/a/path\";\n";
	char err[512], want[4200], *parent, *slash;
	struct conf *c = load(dir, text, NULL, err, sizeof(err));

	if (c == NULL)
		fail_msg("refused: %s", err);
	snprintf(want, sizeof(want), "%s/var/db", dir);
	assert_string_equal(c->store.path, want);
	/* "../" is resolved against the directory, without touching the file system. */
	parent = strdup(dir);
	slash = strrchr(parent, '/');
	*slash = '\0';
	snprintf(want, sizeof(want), "%s/run/o.pid", parent);
	free(parent);
	assert_string_equal(c->pidfile, want);
	assert_string_equal(c->control_socket, "/abs/o.ctl");
	assert_string_equal(c->feedback.rules, "/");
	assert_string_equal(c->user, "relative/not/a/path"); /* not a path: untouched */
	conf_free(c);
}

/* A config named by a relative path: its directory is made absolute from the cwd. */
static void
test_relative_config_file(void **state)
{
	const char *dir = *state;
	char err[512], cwd[PATH_MAX], here[PATH_MAX], want[PATH_MAX + 64], *sub, *path;
	struct conf *c;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	if (asprintf(&sub, "%s/etc", dir) < 0)
		fail();
	assert_int_equal(mkdir(sub, 0700), 0);
	path = unit_write_file(sub, "o.conf", "store = { path = \"db\"; };\n");
	assert_int_equal(chdir(dir), 0);
	assert_non_null(getcwd(here, sizeof(here)));
	c = conf_load("etc/o.conf", err, sizeof(err));
	assert_int_equal(chdir(cwd), 0);
	if (c == NULL)
		fail_msg("refused: %s", err);
	snprintf(want, sizeof(want), "%s/etc/o.conf", here);
	assert_string_equal(c->file, want);
	snprintf(want, sizeof(want), "%s/etc", here);
	assert_string_equal(c->dir, want);
	snprintf(want, sizeof(want), "%s/etc/db", here);
	assert_string_equal(c->store.path, want);
	conf_free(c);
	free(path);
	free(sub);
}

static void
test_syntax_error(void **state)
{
	expect_error(*state, BASE "verbose 1;\nmode = \"monitor\";\n", 3, "syntax error");
	expect_error(*state, "store = {\n  path = \"/x\";\n\n  map_size = ;\n};\n", 4,
		     "syntax error");
	expect_error(*state, "verbose = 1;\nverbose = 2;\n", 2, "duplicate setting name");
}

static void
test_missing_file(void **state)
{
	char err[512], want[600], *path;
	struct conf *c;

	if (asprintf(&path, "%s/absent.conf", (const char *)*state) < 0)
		fail();
	c = conf_load(path, err, sizeof(err));
	assert_null(c);
	snprintf(want, sizeof(want), "%s:0: cannot read: No such file or directory", path);
	assert_string_equal(err, want);
	free(path);
}

/* @include is resolved against the config's directory; errors name the included file. */
static void
test_include(void **state)
{
	const char *dir = *state;
	char err[512], want[700], *inc;
	struct conf *c;

	inc = unit_write_file(dir, "extra.conf", "verbose = 2;\n");
	c = load(dir, BASE "@include \"extra.conf\"\n", NULL, err, sizeof(err));
	if (c == NULL)
		fail_msg("refused: %s", err);
	assert_int_equal(c->verbose, 2);
	conf_free(c);
	free(inc);

	inc = unit_write_file(dir, "extra.conf", "\nverbos = 2;\n");
	c = load(dir, BASE "@include \"extra.conf\"\n", NULL, err, sizeof(err));
	assert_null(c);
	/* libconfig names the file as the @include wrote it; a full path would do as well. */
	snprintf(want, sizeof(want), "extra.conf:2: unknown setting 'verbos'");
	if (strlen(err) < strlen(want) || strcmp(err + strlen(err) - strlen(want), want) != 0 ||
	    (err[0] != '/' && strcmp(err, want) != 0))
		fail_msg("got '%s'", err);
	free(inc);
}

/* conf_dump prints every effective value in config syntax. */
static void
test_dump(void **state)
{
	char err[512], *out = NULL;
	size_t outlen = 0;
	struct conf *c = load(*state, BASE, NULL, err, sizeof(err));
	FILE *fp;

	assert_non_null(c);
	fp = open_memstream(&out, &outlen);
	assert_non_null(fp);
	conf_dump(c, fp);
	fclose(fp);
	assert_non_null(strstr(out, "\npolicy.workers = 2;\n"));
	assert_non_null(strstr(out, "\nstore.path = \"/var/lib/outpost-test\";\n"));
	assert_non_null(strstr(out, "\npolicy.listen = [ \"inet:127.0.0.1:10040\" ];\n"));
	assert_non_null(strstr(out, "\naccounts.identity = [ \"sasl\", \"sender\", "
				    "\"sender_domain\", \"client_address\" ];\n"));
	assert_non_null(strstr(out, "\npolicy.socket_mode = \"0666\";\n"));
	assert_non_null(strstr(out, "\npolicy.idle_timeout = \"1200s\";\n"));
	assert_non_null(strstr(out, "\nmode = \"enforce\";\n"));
	free(out);
	conf_free(c);
	assert_string_equal(conf_action_name(ACT_HOLD), "hold");
	assert_string_equal(conf_action_name(99), "?");
	assert_string_equal(conf_mode_name(MODE_MONITOR), "monitor");
	assert_string_equal(conf_id_source_name(ID_SENDER_DOMAIN), "sender_domain");
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_minimal_defaults),
	    T(test_empty_file),
	    T(test_all_settings),
	    T(test_numbers_as_integers),
	    T(test_unknown_key),
	    T(test_unknown_key_format),
	    T(test_unknown_section),
	    T(test_wrong_type_table),
	    T(test_out_of_range_table),
	    T(test_out_of_range_min_only),
	    T(test_bad_enum_table),
	    T(test_bad_listen),
	    T(test_listen_forms),
	    T(test_relative_paths),
	    T(test_relative_config_file),
	    T(test_syntax_error),
	    T(test_missing_file),
	    T(test_include),
	    T(test_dump),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
