/*
 * conf -- libconfig file to immutable snapshot, driven by one schema table.
 *
 * Every key Outpost understands is one row of `schema` below: its name, type,
 * where it lands in struct conf, its default (written as a config value would
 * be, and parsed by the same code), its bounds and its help text.  The table
 * drives parsing, validation, unknown-key rejection, `outpostd -n -v` and the
 * reference printed by `outpostd -S`.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "store/records.h"
#include "conf_dnsbl.h"
#include "cluster/redis_addr.h"
#include "util/addr.h"
#include "util/log.h"
#include "util/text.h"
#include "util/xalloc.h"

enum ctype {
	CT_STR,	     /* string */
	CT_PATH,     /* string, relative to the config file's directory */
	CT_BOOL,     /* true/false */
	CT_INT,	     /* int within [min, max] */
	CT_INT64,    /* int64_t within [min, max] */
	CT_SIZE,     /* bytes: integer or "64M" */
	CT_DURATION, /* seconds: integer or "45s", "12h" */
	CT_MSEC,     /* milliseconds: integer or "500ms", "2s" */
	CT_ENUM,     /* one word of a table */
	CT_OCTAL,    /* file mode "0666" */
	CT_FACILITY, /* syslog facility name */
	CT_LISTEN,   /* one string, an array or a list of listen addresses */
	CT_LISTEN0,  /* the same, where "" or [] is none */
	CT_SERVERS,  /* one string or a list of IP[:PORT] */
	CT_IPLIST,   /* one string or a list of IPv4/IPv6 addresses; "" or [] is none */
	CT_IDLIST,   /* a list of identity source names */
	CT_MILTER,   /* libmilter socket: inet:PORT@HOST, inet6:PORT@HOST, unix:PATH, or "" */
	CT_RATE,     /* "N/s", "N/m", "N/h", "N/d"; "" or 0: none (struct conf_rate) */
	CT_DOUBLE,   /* a decimal number within [min, max] hundredths */
	CT_PERCENT,  /* a percentage, a decimal number within [min, max] */
	CT_DNSBL,    /* the list of blocklists (conf_dnsbl.c) */
};

struct enum_val {
	const char *name;
	int value;
};

static const struct enum_val mode_vals[] = {
    {"enforce", MODE_ENFORCE}, {"monitor", MODE_MONITOR}, {NULL, 0}};
static const struct enum_val fallback_vals[] = {
    {"tempfail", ACT_TEMPFAIL}, {"dunno", ACT_DUNNO}, {NULL, 0}};
static const struct enum_val unmatched_vals[] = {
    {"dunno", ACT_DUNNO}, {"tempfail", ACT_TEMPFAIL}, {"reject", ACT_REJECT}, {NULL, 0}};
static const struct enum_val paused_vals[] = {
    {"tempfail", ACT_TEMPFAIL}, {"reject", ACT_REJECT}, {"hold", ACT_HOLD}, {NULL, 0}};
static const struct enum_val empty_vals[] = {
    {"hold", ACT_HOLD}, {"discard", ACT_DISCARD}, {NULL, 0}};
static const struct enum_val door_vals[] = {
    {"policy", DOOR_POLICY}, {"milter", DOOR_MILTER}, {NULL, 0}};
static const struct enum_val partition_vals[] = {
    {"share", PQ_SHARE}, {"tempfail", PQ_TEMPFAIL}, {NULL, 0}};
static const struct enum_val dnsfail_vals[] = {
    {"open", DNS_FAIL_OPEN}, {"closed", DNS_FAIL_CLOSED}, {NULL, 0}};
static const struct enum_val idsrc_vals[] = {{"sasl", ID_SASL},
					     {"sender", ID_SENDER},
					     {"sender_domain", ID_SENDER_DOMAIN},
					     {"client_address", ID_CLIENT_ADDRESS},
					     {NULL, 0}};

struct schema_key {
	const char *name;
	enum ctype type;
	size_t off;
	const char *def;
	int64_t min, max;
	const struct enum_val *vals;
	const char *help;
};

#define O(f) offsetof(struct conf, f)
static const struct schema_key schema[] = {
    {"user", CT_STR, O(user), "outpost", 0, 0, NULL,
     "user to run as after binding when started as root; empty: no privilege drop"},
    {"pidfile", CT_PATH, O(pidfile), "/run/outpost/outpostd.pid", 0, 0, NULL,
     "pid file written in daemon mode"},
    {"control_socket", CT_PATH, O(control_socket), "/run/outpost/outpostd.ctl", 0, 0, NULL,
     "unix socket outpostctl status/reload talk to"},
    {"syslog_facility", CT_FACILITY, O(syslog_facility), "mail", 0, 0, NULL,
     "syslog facility in daemon mode"},
    {"verbose", CT_INT, O(verbose), "0", 0, 2, NULL, "0 info, 1 debug, 2 more debug"},
    {"mode", CT_ENUM, O(mode), "enforce", 0, 0, mode_vals,
     "enforce, or monitor: every check runs and is logged as would_refuse, the reply is DUNNO"},
    {"store.path", CT_PATH, O(store.path), "/var/lib/outpost", 0, 0, NULL,
     "LMDB environment directory"},
    {"store.map_size", CT_SIZE, O(store.map_size), "1G", 1 << 20, 0, NULL,
     "initial LMDB map size; grows by doubling when full"},
    {"store.max_readers", CT_INT, O(store.max_readers), "1024", 16, 65536, NULL,
     "LMDB reader slots (threads and processes reading at once)"},
    {"store.fallback", CT_ENUM, O(store.fallback), "tempfail", 0, 0, fallback_vals,
     "reply when the store can't be read: tempfail (451 4.3.0) or dunno (fail open)"},
    {"policy.listen", CT_LISTEN, O(policy.listen), "inet:127.0.0.1:10040", 0, 0, NULL,
     "policy service listeners: inet:HOST:PORT, inet:[IPV6]:PORT, unix:PATH"},
    {"policy.workers", CT_INT, O(policy.workers), "0", 0, 256, NULL,
     "policy worker processes; 0 = one per CPU"},
    {"policy.socket_mode", CT_OCTAL, O(policy.socket_mode), "0666", 0, 0777, NULL,
     "mode of unix policy sockets (smtpd runs as postfix)"},
    {"policy.socket_group", CT_STR, O(policy.socket_group), "", 0, 0, NULL,
     "group of unix policy sockets; empty: unchanged"},
    {"policy.max_requests", CT_INT64, O(policy.max_requests), "1000000", 0, INT64_MAX, NULL,
     "a worker retires after this many requests (0 = never)"},
    {"policy.max_request_size", CT_SIZE, O(policy.max_request_size), "64K", 8192, 16 << 20, NULL,
     "a request larger than this closes its connection"},
    {"policy.max_connections", CT_INT64, O(policy.max_connections), "10000", 1, 1000000, NULL,
     "connections one worker serves at once"},
    {"policy.idle_timeout", CT_DURATION, O(policy.idle_timeout), "1200s", 1, 86400, NULL,
     "close a connection idle this long (Postfix's max_idle is 300s)"},
    {"policy.drain_timeout", CT_DURATION, O(policy.drain_timeout), "10s", 0, 3600, NULL,
     "on SIGTERM, how long a worker waits for requests in flight"},
    {"accounts.identity", CT_IDLIST, 0, "sasl,sender,sender_domain,client_address", 0, 0,
     idsrc_vals, "ordered identity sources: sasl, sender, sender_domain, client_address"},
    {"accounts.auto_create", CT_BOOL, O(accounts.auto_create), "true", 0, 0, NULL,
     "create an active account the first time a SASL login is seen"},
    {"accounts.unmatched", CT_ENUM, O(accounts.unmatched), "dunno", 0, 0, unmatched_vals,
     "mail that matches no identity source (inbound, local): dunno, tempfail or reject"},
    {"accounts.unknown", CT_ENUM, O(accounts.unknown), "tempfail", 0, 0, unmatched_vals,
     "a SASL login with no account when auto_create is off: dunno, tempfail or reject"},
    {"accounts.paused_action", CT_ENUM, O(accounts.paused_action), "tempfail", 0, 0, paused_vals,
     "mail of a paused account: tempfail (450 4.7.1), reject (554 5.7.1) or hold"},
    {"suppress.fold_plus", CT_BOOL, O(suppress.fold_plus), "false", 0, 0, NULL,
     "also match user+tag@domain against an entry for user@domain"},
    {"dns.servers", CT_SERVERS, O(dns.servers), "", 0, 0, NULL,
     "DNS servers (IP or IP:PORT) for the DNS checks; empty: resolv.conf"},
    {"dns.timeout", CT_MSEC, O(dns.timeout_ms), "2s", 100, 60000, NULL,
     "one deadline for all DNS lookups of one request (well below Postfix's "
     "smtpd_policy_service_timeout of 100s)"},
    {"dns.max_ttl", CT_DURATION, O(dns.max_ttl), "1h", 0, 86400 * 7, NULL,
     "cached answers are kept for their TTL, at most this long (0: positive answers are not "
     "cached)"},
    {"dns.negative_ttl", CT_DURATION, O(dns.negative_ttl), "5m", 0, 86400, NULL,
     "how long \"not listed\" and NXDOMAIN/no-record answers are cached"},
    {"dns.cache_size", CT_INT64, O(dns.cache_size), "65536", 4, 4194304, NULL,
     "DNS answers cached for the whole host, shared by every worker and the milter (rounded "
     "up to a power of two; about 550 bytes of shared memory each, taken at start; a change "
     "takes effect on restart)"},
    {"dns.bounce_prevention", CT_BOOL, O(dns.bounce_prevention), "true", 0, 0, NULL,
     "refuse recipients whose domain can't receive mail (NXDOMAIN 5.1.2, null MX 5.1.10, no "
     "MX and no address 5.1.2, no MX host with an address 5.4.4); never on a DNS failure"},
    {"dns.fail", CT_ENUM, O(dns.fail), "open", 0, 0, dnsfail_vals,
     "a blocklist lookup that failed (timeout, SERVFAIL, error code): open (pass, log a "
     "warning) or closed (451 4.4.3)"},
    {"dns.monitor_addresses", CT_IPLIST, O(dns.monitor_addresses), "", 0, CONF_MONITOR_MAX, NULL,
     "the platform's own sending addresses (IPv4/IPv6): the feedback process asks every "
     "client blocklist about each one every dns.monitor_interval and emits a listing or "
     "delisting event (and runs feedback.hook) when an answer changes; empty: off"},
    {"dns.monitor_interval", CT_DURATION, O(dns.monitor_interval), "5m", 1, 86400, NULL,
     "time between two checks of dns.monitor_addresses"},
    {"dnsbl", CT_DNSBL, 0, "", 0, 0, NULL,
     "the blocklists: ( { zone; query = client|sender_domain|from_domain; "
     "codes = [\"127.0.0.2=SBL\"] or bitmask = [\"2=black\"]; "
     "action = tempfail|reject|review|log; skip_authenticated; name; }, ... )"},
    {"milter.listen", CT_MILTER, O(milter.listen), "inet:10041@127.0.0.1", 0, 0, NULL,
     "milter socket (libmilter syntax: inet:PORT@HOST, inet6:PORT@HOST, unix:PATH); \"\": no "
     "milter"},
    {"milter.non_smtpd_listen", CT_MILTER, O(milter.non_smtpd_listen), "", 0, 0, NULL,
     "a second milter for non_smtpd_milters: never refuses at RCPT, removes suppressed "
     "recipients at end of message"},
    {"milter.feedback_id", CT_STR, O(milter.feedback_id), "%a:outpost", 0, 0, NULL,
     "Feedback-ID header added by the milter: %a account, %h hash of the account; \"\": none"},
    {"milter.non_smtpd_empty", CT_ENUM, O(milter.non_smtpd_empty), "hold", 0, 0, empty_vals,
     "non-SMTP mode, a message whose recipients were all suppressed: hold (quarantine) or "
     "discard"},
    {"milter.socket_mode", CT_OCTAL, O(milter.socket_mode), "0666", 0, 0777, NULL,
     "mode of unix milter sockets"},
    {"feedback.rules", CT_PATH, O(feedback.rules), "outpost-bounce.rules", 0, 0, NULL,
     "bounce classification rules (status code + text -> class)"},
    {"quota.front_door", CT_ENUM, O(quota.front_door), "policy", 0, 0, door_vals,
     "the front door that checks and counts quotas: policy or milter (a message seen by both "
     "is counted once)"},
    {"quota.table_size", CT_INT, O(quota.table_size), "65536", 1024, 1 << 24, NULL,
     "slots of the shared quota table (a power of two): accounts + sender domains + 1; "
     "read at start only; its disk space (about 2.8 KB a slot) is reserved at start"},
    {"quota.sync_interval", CT_DURATION, O(quota.sync_interval), "5s", 1, 3600, NULL,
     "how often the quota table is written to disk: an OS crash loses at most this much"},
    {"limits.max_rate", CT_RATE, O(limits.max_rate), "", 0, 0, NULL,
     "default maximum send rate of an account, recipients: N/s, N/m, N/h; \"\": none"},
    {"limits.max_rate_burst", CT_INT64, O(limits.max_rate_burst), "0", 0, 1 << 30, NULL,
     "recipients an account may send at once after a quiet spell; 0: one second's worth"},
    {"limits.daily_quota", CT_INT64, O(limits.daily_quota), "0", 0, INT64_MAX, NULL,
     "default recipients per account in any 24 hours; 0: none"},
    {"limits.hourly_quota", CT_INT64, O(limits.hourly_quota), "0", 0, INT64_MAX, NULL,
     "default recipients per account in any hour; 0: none"},
    {"limits.monthly_quota", CT_INT64, O(limits.monthly_quota), "0", 0, INT64_MAX, NULL,
     "default recipients per account in a calendar month (UTC); 0: none"},
    {"limits.review_rate_factor", CT_DOUBLE, O(limits.review_rate_factor), "0.5", 1, 100, NULL,
     "an account under review sends at this fraction of its maximum rate (0.01 .. 1)"},
    {"limits.host_max_rate", CT_RATE, O(limits.host_max_rate), "", 0, 0, NULL,
     "maximum send rate of the whole host, recipients; \"\": none"},
    {"limits.host_daily_quota", CT_INT64, O(limits.host_daily_quota), "0", 0, INT64_MAX, NULL,
     "recipients the whole host sends in any 24 hours; 0: none"},
    {"limits.host_hourly_quota", CT_INT64, O(limits.host_hourly_quota), "0", 0, INT64_MAX, NULL,
     "recipients the whole host sends in any hour; 0: none"},
    {"limits.domain_max_rate", CT_RATE, O(limits.domain_max_rate), "", 0, 0, NULL,
     "maximum send rate of each sender domain, recipients; \"\": none"},
    {"limits.domain_daily_quota", CT_INT64, O(limits.domain_daily_quota), "0", 0, INT64_MAX, NULL,
     "recipients each sender domain sends in any 24 hours; 0: none"},
    {"limits.domain_hourly_quota", CT_INT64, O(limits.domain_hourly_quota), "0", 0, INT64_MAX, NULL,
     "recipients each sender domain sends in any hour; 0: none"},
    {"feedback.maillog", CT_PATH, O(feedback.maillog), "", 0, 0, NULL,
     "the Postfix log (maillog_file or syslog file) the feedback process follows; \"\" = none"},
    {"feedback.poll_interval", CT_MSEC, O(feedback.poll_interval), "1s", 10, 60000, NULL,
     "how often the feedback process looks for new log lines"},
    {"feedback.window_messages", CT_INT64, O(feedback.window_messages), "10000", 1, 100000000, NULL,
     "reputation window: the last N eligible recipients ..."},
    {"feedback.window_days", CT_INT, O(feedback.window_days), "90", 1, 3650, NULL,
     "... within at most this many days"},
    {"feedback.retention", CT_DURATION, O(feedback.retention), "30d", 86400, 3650 * 86400LL, NULL,
     "message records (queue id -> account) and delivery-result dedup entries are kept this "
     "long: DSNs and complaints arriving later can't be tied to their account"},
    {"feedback.min_volume", CT_INT64, O(feedback.min_volume), "500", 1, 100000000, NULL,
     "no rate is judged below this many eligible recipients in the window"},
    {"feedback.bounce_review", CT_PERCENT, O(feedback.bounce_review), "5", 0, 100, NULL,
     "bounce rate (percent) that puts an active account under review; 0 = never"},
    {"feedback.bounce_pause", CT_PERCENT, O(feedback.bounce_pause), "10", 0, 100, NULL,
     "bounce rate (percent) that pauses an account; 0 = never"},
    {"feedback.complaint_review", CT_PERCENT, O(feedback.complaint_review), "0.1", 0, 100, NULL,
     "complaint rate (percent) that puts an active account under review; 0 = never"},
    {"feedback.complaint_pause", CT_PERCENT, O(feedback.complaint_pause), "0.5", 0, 100, NULL,
     "complaint rate (percent) that pauses an account; 0 = never"},
    {"feedback.suppress_complaints", CT_BOOL, O(feedback.suppress_complaints), "true", 0, 0, NULL,
     "a complaint puts the complainant on the account's suppression list (reason complaint)"},
    {"feedback.verp_delimiters", CT_STR, O(feedback.verp_delimiters), "+=", 0, 0, NULL,
     "the two VERP delimiters of return paths bounces-ACCOUNT-LOCAL-DOMAIN@host (Postfix's "
     "default_verp_delimiters)"},
    {"feedback.event_log", CT_PATH, O(feedback.event_log), "", 0, 0, NULL,
     "append every event as one JSON line to this file (rotation-safe); \"\" = none"},
    {"feedback.hook", CT_PATH, O(feedback.hook), "", 0, 0, NULL,
     "command run (no shell) for state, listing and delisting events: argv HOOK TYPE, the "
     "event's JSON on stdin, OUTPOST_EVENT_TYPE and OUTPOST_ACCOUNT set; \"\" = none"},
    {"feedback.hook_timeout", CT_DURATION, O(feedback.hook_timeout), "10s", 1, 3600, NULL,
     "a hook still running after this long is killed (and counted as failed)"},
    {"feedback.hook_max", CT_INT, O(feedback.hook_max), "4", 1, 64, NULL,
     "hooks the feedback process runs at once; more wait in a queue of 64"},
    {"simulator.domain", CT_STR, O(simulator.domain), "simulator.invalid", 0, 0, NULL,
     "the mailbox simulator's domain: bounce@ refused 550 5.1.1, suppressionlist@ refused as "
     "suppressed, complaint@ a complaint event, success@ accepted; never counted; \"\" = off"},
    {"http.listen", CT_LISTEN0, O(http.listen), "inet:127.0.0.1:10042", 0, 0, NULL,
     "HTTP listeners (JSON API, /metrics, /healthz, dashboard): inet:HOST:PORT, "
     "inet:[IPV6]:PORT, unix:PATH; \"\": no http process; TLS belongs to a reverse proxy"},
    {"http.metrics_open", CT_BOOL, O(http.metrics_open), "true", 0, 0, NULL,
     "/metrics answers a loopback client without a token (as Prometheus expects); false: a "
     "token is always needed"},
    {"http.web_root", CT_PATH, O(http.web_root), PKGDATADIR "/web", 0, 0, NULL,
     "directory of the dashboard's files, served at /"},
    {"http.chartjs", CT_PATH, O(http.chartjs), "/usr/share/javascript/chart.js/chart.min.js", 0, 0,
     NULL, "Chart.js for the dashboard (Debian's libjs-chart.js), served as /js/chart.js"},
    {"http.rate_limit", CT_RATE, O(http.rate_limit), "", 0, 0, NULL,
     "requests per client address (N/s, N/m); beyond it 429 Too Many Requests; \"\": no limit"},
    {"cluster.redis", CT_STR, O(cluster.redis), "", 0, 0, NULL,
     "the fleet's shared Redis: redis://HOST:PORT[/DB], unix:PATH or "
     "sentinel://HOST:PORT[,HOST:PORT...]/MASTERNAME; \"\" = one host, no cluster"},
    {"cluster.node", CT_STR, O(cluster.node), "", 0, 0, NULL,
     "this host's name in the fleet, unique; \"\" = the host name"},
    {"cluster.password_file", CT_PATH, O(cluster.password_file), "", 0, 0, NULL,
     "file with the Redis 6 ACL user on line 1 and its password on line 2 (or only a "
     "password); \"\" = no AUTH"},
    {"cluster.key_prefix", CT_STR, O(cluster.key_prefix), "outpost", 0, 0, NULL,
     "Redis keys start with PREFIX: (PREFIX:changes is the change log)"},
    {"cluster.poll_interval", CT_MSEC, O(cluster.poll_interval), "20ms", 1, 1000, NULL,
     "how often an idle cluster process looks at the outbox and the change log: the "
     "longest a change waits at each end"},
    {"cluster.heartbeat_interval", CT_MSEC, O(cluster.heartbeat_interval), "1s", 100, 60000, NULL,
     "how often this node announces itself and refreshes `outpostctl cluster status`"},
    {"cluster.timeout", CT_MSEC, O(cluster.timeout), "2s", 100, 60000, NULL,
     "connect and command timeout towards Redis"},
    {"cluster.reconnect_max", CT_MSEC, O(cluster.reconnect_max), "5s", 100, 300000, NULL,
     "longest wait between two attempts to reconnect (the wait doubles from 100ms)"},
    {"cluster.partition_quota", CT_ENUM, O(cluster.partition_quota), "share", 0, 0, partition_vals,
     "cut off from Redis, beyond its lease of a quota or rate a node admits: share (up to the "
     "limit / nodes seen) or tempfail (nothing more)"},
    {"cluster.wait_replicas", CT_INT, O(cluster.wait_replicas), "0", 0, 16, NULL,
     "keep each change in the local outbox until this many Redis replicas acknowledged it "
     "(WAIT), so a Sentinel failover cannot lose it; 0: until the primary did"},
    {"cluster.snapshot_interval", CT_DURATION, O(cluster.snapshot_interval), "6h", 1, 604800, NULL,
     "one node writes a snapshot of the replicated state to Redis at least this often (when "
     "something changed) and trims the change log"},
    {"cluster.stream_max", CT_INT64, O(cluster.stream_max), "20000", 10, INT64_MAX, NULL,
     "entries added to the change log since the last snapshot beyond which a snapshot is "
     "written and the log trimmed (at most once per 10 heartbeats)"},
    {"postfix.config_directory", CT_PATH, O(postfix.config_directory), "/etc/postfix", 0, 0, NULL,
     "the Postfix instance whose hold queue `account resume --release` releases"},
    {"postfix.postsuper", CT_PATH, O(postfix.postsuper), "/usr/sbin/postsuper", 0, 0, NULL,
     "postsuper(1), run without a shell to release held messages"},
    {"postfix.postqueue", CT_PATH, O(postfix.postqueue), "/usr/sbin/postqueue", 0, 0, NULL,
     "postqueue(1): -i schedules each released message for delivery at once"},
};
#undef O
#define NSCHEMA (sizeof(schema) / sizeof(schema[0]))

/* Groups that may appear, so that a typo in a group name is caught too. */
static const char *const groups[] = {"store",	  "policy", "accounts", "suppress", "dns",
				     "postfix",	  "milter", "feedback", "quota",    "limits",
				     "simulator", "http",   "cluster",	NULL};

struct loader {
	struct conf *conf;
	const char *file;
	char *err;
	size_t errlen;
};

static int fail(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Format "file:line: message" into the loader's error buffer; returns -1. */
static int
fail(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	const char *file =
	    s && config_setting_source_file(s) ? config_setting_source_file(s) : ld->file;
	int line = s ? (int)config_setting_source_line(s) : 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(ld->err, ld->errlen, "%s:%d: %s", file, line, msg);
	return -1;
}

/*
 * Tidy an absolute path in place, without touching the file system (the
 * directory may not exist yet): "//" and "/./" collapse, "x/.." drops x.
 * So "/srv/etc/../var/db" is logged and shown as "/srv/var/db".
 */
static char *
path_tidy(char *path)
{
	char *out = path, *p = path;

	while (*p) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n == 1 && p[0] == '.') {
			p += n;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (out > path && *--out != '/')
				;
			p += n;
			continue;
		}
		*out++ = '/';
		memmove(out, p, n);
		out += n;
		p += n;
	}
	if (out == path)
		*out++ = '/';
	*out = '\0';
	return path;
}

static char *
resolve_path(const struct conf *conf, const char *v)
{
	if (v[0] == '\0')
		return xstrdup(v);
	if (v[0] == '/')
		return path_tidy(xstrdup(v));
	return path_tidy(xasprintf("%s/%s", conf->dir, v));
}

static void
strlist_add(struct conf_strlist *l, const char *v)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = xstrdup(v);
}

static void
strlist_free(struct conf_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Split a default like "a,b" into a list; an empty default is an empty list. */
static void
strlist_from_default(struct conf_strlist *l, const char *def)
{
	char *copy = xstrdup(def), *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		strlist_add(l, t);
	free(copy);
}

static int
enum_lookup(const struct enum_val *vals, const char *name, int *v)
{
	for (; vals->name; vals++)
		if (strcmp(vals->name, name) == 0) {
			*v = vals->value;
			return 0;
		}
	return -1;
}

static const char *
enum_name(const struct enum_val *vals, int v)
{
	for (; vals->name; vals++)
		if (vals->value == v)
			return vals->name;
	return "?";
}

static void
enum_list(const struct enum_val *vals, char *buf, size_t len)
{
	buf[0] = '\0';
	for (; vals->name; vals++) {
		strncat(buf, vals->name, len - strlen(buf) - 1);
		if (vals[1].name)
			strncat(buf, ", ", len - strlen(buf) - 1);
	}
}

/* Read a string list (one string, an array or a list of strings) into L. */
static int
read_strlist(struct loader *ld, const struct schema_key *k, const config_setting_t *s,
	     struct conf_strlist *l)
{
	strlist_free(l);
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		if ((k->type != CT_LISTEN0 && k->type != CT_IPLIST) ||
		    config_setting_get_string(s)[0] != '\0')
			strlist_add(l, config_setting_get_string(s));
		return 0;
	}
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return fail(ld, s, "%s: expected a string or a list of strings", k->name);
	for (int i = 0; i < config_setting_length(s); i++) {
		const char *v = config_setting_get_string_elem(s, i);
		if (v == NULL)
			return fail(ld, s, "%s: element %d is not a string", k->name, i + 1);
		strlist_add(l, v);
	}
	return 0;
}

/* 1 if S is an IPv4 or IPv6 address. */
static int
ip_ok(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* Check each element of a listen, server or address list. */
static int
check_strlist(struct loader *ld, const struct schema_key *k, const config_setting_t *s,
	      const struct conf_strlist *l)
{
	char why[256];

	for (size_t i = 0; i < l->n; i++) {
		struct listen_addr la;
		if ((k->type == CT_LISTEN || k->type == CT_LISTEN0) &&
		    addr_listen_parse(l->v[i], &la, why, sizeof(why)) < 0)
			return fail(ld, s, "%s: %s", k->name, why);
		if (k->type == CT_SERVERS && addr_server_check(l->v[i]) < 0)
			return fail(ld, s, "%s: '%s': expected IP or IP:PORT", k->name, l->v[i]);
		if (k->type == CT_IPLIST && !ip_ok(l->v[i]))
			return fail(ld, s, "%s: '%s': expected an IPv4 or IPv6 address", k->name,
				    l->v[i]);
	}
	if (k->type == CT_IPLIST && l->n > (size_t)k->max)
		return fail(ld, s, "%s: at most %lld addresses", k->name, (long long)k->max);
	if (k->type == CT_LISTEN && l->n == 0)
		return fail(ld, s, "%s: at least one address is needed", k->name);
	return 0;
}

static int
set_idlist(struct loader *ld, const struct schema_key *k, const config_setting_t *s,
	   const struct conf_strlist *l)
{
	struct conf *c = ld->conf;
	char names[128];

	c->accounts.nidentity = 0;
	for (size_t i = 0; i < l->n; i++) {
		int v;
		if (enum_lookup(k->vals, l->v[i], &v) < 0) {
			enum_list(k->vals, names, sizeof(names));
			return fail(ld, s, "%s: unknown source '%s' (one of: %s)", k->name, l->v[i],
				    names);
		}
		for (size_t j = 0; j < c->accounts.nidentity; j++)
			if (c->accounts.identity[j] == v)
				return fail(ld, s, "%s: '%s' listed twice", k->name, l->v[i]);
		c->accounts.identity[c->accounts.nidentity++] = v;
	}
	if (c->accounts.nidentity == 0)
		return fail(ld, s, "%s: at least one source is needed", k->name);
	return 0;
}

/* Seconds to milliseconds in place; -1 when that does not fit (the bounds check then refuses). */
static int
secs_to_ms(int64_t *v)
{
	if (*v > INT64_MAX / 1000 || *v < INT64_MIN / 1000)
		return -1;
	*v *= 1000;
	return 0;
}

/* Integer-like value from a setting: an int, or a string parsed by the type's unit parser. */
static int
read_number(struct loader *ld, const struct schema_key *k, const config_setting_t *s,
	    const char *str, int64_t *v)
{
	int t = s ? config_setting_type(s) : CONFIG_TYPE_STRING;

	if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
		*v = config_setting_get_int64(s);
		/* a bare number is seconds, as everywhere else */
		if (k->type == CT_MSEC && secs_to_ms(v) < 0)
			return fail(ld, s, "%s: %lld seconds is out of range", k->name,
				    (long long)config_setting_get_int64(s));
		return 0;
	}
	if (t != CONFIG_TYPE_STRING)
		return fail(ld, s, "%s: expected a number", k->name);
	if (s == NULL && (k->type == CT_INT || k->type == CT_INT64)) {
		*v = strtoll(str, NULL, 10); /* a default from the schema */
		return 0;
	}
	if (s)
		str = config_setting_get_string(s);
	switch (k->type) {
	case CT_SIZE: {
		uint64_t b;
		if (text_size_parse(str, &b) < 0 || b > INT64_MAX)
			return fail(ld, s, "%s: '%s' is not a size (e.g. 64K, 1G)", k->name, str);
		*v = (int64_t)b;
		return 0;
	}
	case CT_DURATION:
		if (text_duration_parse(str, v) < 0)
			return fail(ld, s, "%s: '%s' is not a duration (e.g. 45s, 12h)", k->name,
				    str);
		return 0;
	case CT_MSEC: {
		size_t n = strlen(str);
		if (n > 2 && strcmp(str + n - 2, "ms") == 0) {
			char *tmp = xstrndup(str, n - 2);
			int r = text_duration_parse(tmp, v);
			free(tmp);
			if (r == 0)
				return 0;
		} else if (text_duration_parse(str, v) == 0 && secs_to_ms(v) == 0) {
			return 0;
		}
		return fail(ld, s, "%s: '%s' is not a duration (e.g. 500ms, 2s)", k->name, str);
	}
	case CT_OCTAL: {
		char *end;
		errno = 0;
		*v = strtoll(str, &end, 8);
		if (errno || *end || *str == '\0')
			return fail(ld, s, "%s: '%s' is not an octal mode", k->name, str);
		return 0;
	}
	default:
		return fail(ld, s, "%s: expected a number, not a string", k->name);
	}
}

static int
set_number(struct loader *ld, const struct schema_key *k, const config_setting_t *s,
	   const char *str)
{
	void *dst = (char *)ld->conf + k->off;
	int64_t v;

	if (read_number(ld, k, s, str, &v) < 0)
		return -1;
	if (v < k->min && k->max == 0)
		return fail(ld, s, "%s: %lld is too small (at least %lld)", k->name, (long long)v,
			    (long long)k->min);
	if (v < k->min || (k->max && v > k->max))
		return fail(ld, s, "%s: %lld is out of range [%lld, %lld]", k->name, (long long)v,
			    (long long)k->min, (long long)k->max);
	if (k->type == CT_INT || k->type == CT_OCTAL)
		*(int *)dst = (int)v;
	else
		*(int64_t *)dst = v;
	return 0;
}

static int
set_rate(struct loader *ld, const struct schema_key *k, const config_setting_t *s, const char *str)
{
	struct conf_rate *r = (struct conf_rate *)((char *)ld->conf + k->off);
	int t = s ? config_setting_type(s) : CONFIG_TYPE_STRING;

	if (t == CONFIG_TYPE_INT && config_setting_get_int(s) == 0) {
		r->n = r->per = 0;
		return 0;
	}
	if (t != CONFIG_TYPE_STRING)
		return fail(ld, s, "%s: expected a rate such as \"50/s\", \"600/m\", \"1000/h\"",
			    k->name);
	if (s)
		str = config_setting_get_string(s);
	if (text_rate_parse(str, &r->n, &r->per) < 0)
		return fail(ld, s, "%s: '%s' is not a rate (e.g. 50/s, 600/m, 1000/h)", k->name,
			    str);
	return 0;
}

/* A decimal number: CT_DOUBLE within [min, max] hundredths, CT_PERCENT [min, max] percent. */
static int
set_double(struct loader *ld, const struct schema_key *k, const config_setting_t *s,
	   const char *str)
{
	double *dst = (double *)((char *)ld->conf + k->off), v;
	double scale = k->type == CT_DOUBLE ? 100 : 1;
	int t = s ? config_setting_type(s) : CONFIG_TYPE_STRING;
	char *end;

	if (t == CONFIG_TYPE_FLOAT)
		v = config_setting_get_float(s);
	else if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
		v = (double)config_setting_get_int64(s);
	else if (t == CONFIG_TYPE_STRING || s == NULL) {
		if (s)
			str = config_setting_get_string(s);
		v = strtod(str, &end);
		if (end == str || *end)
			return fail(ld, s, "%s: '%s' is not a number", k->name, str);
	} else
		return fail(ld, s, "%s: expected a number", k->name);
	if (!(v * scale >= (double)k->min && v * scale <= (double)k->max))
		return fail(ld, s, "%s: %g is out of range [%g, %g]", k->name, v,
			    (double)k->min / scale, (double)k->max / scale);
	*dst = v;
	return 0;
}

/*
 * Check a libmilter socket spec; on success store it in *OUT with a relative
 * unix path made absolute against DIR.
 */
static int
milter_spec_ok(const char *spec, const char *dir, char **out)
{
	const char *at, *p;

	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		p = strchr(spec, ':') + 1;
		if (*p == '\0')
			return 0;
		*out = *p == '/' ? xstrdup(spec) : xasprintf("unix:%s/%s", dir, p);
		return 1;
	}
	if (strncmp(spec, "inet:", 5) != 0 && strncmp(spec, "inet6:", 6) != 0)
		return 0;
	p = strchr(spec, ':') + 1;
	if ((at = strchr(p, '@')) == NULL || at == p || at[1] == '\0')
		return 0;
	for (const char *q = p; q < at; q++)
		if (*q < '0' || *q > '9')
			return 0;
	if (atoi(p) < 1 || atoi(p) > 65535)
		return 0;
	*out = xstrdup(spec);
	return 1;
}

/* A milter listen address (CT_MILTER): libmilter's own syntax, or "" for none. */
static int
set_milter(struct loader *ld, const struct schema_key *k, const config_setting_t *s,
	   const char *str, char **dst)
{
	if (s && config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, s, "%s: expected a string", k->name);
	if (s)
		str = config_setting_get_string(s);
	if (*str && !milter_spec_ok(str, ld->conf->dir, dst))
		return fail(ld, s,
			    "%s: '%s': expected inet:PORT@HOST, inet6:PORT@HOST or unix:PATH",
			    k->name, str);
	if (*str == '\0')
		*dst = xstrdup("");
	return 0;
}

/* A string-valued key: plain, a path (resolved), an enum or a syslog facility. */
static int
set_string(struct loader *ld, const struct schema_key *k, const config_setting_t *s,
	   const char *str, void *dst)
{
	char names[128];
	int v;

	if (s) {
		if (config_setting_type(s) != CONFIG_TYPE_STRING)
			return fail(ld, s, "%s: expected a string", k->name);
		str = config_setting_get_string(s);
	}
	if (k->type == CT_STR)
		*(char **)dst = xstrdup(str);
	else if (k->type == CT_PATH)
		*(char **)dst = resolve_path(ld->conf, str);
	else if (k->type == CT_FACILITY) {
		if ((*(int *)dst = log_facility_parse(str)) < 0)
			return fail(ld, s, "%s: unknown syslog facility '%s'", k->name, str);
	} else if (enum_lookup(k->vals, str, &v) < 0) {
		enum_list(k->vals, names, sizeof(names));
		return fail(ld, s, "%s: '%s' is not one of: %s", k->name, str, names);
	} else
		*(int *)dst = v;
	return 0;
}

/* A list-valued key (listeners, servers, addresses, identity sources). */
static int
set_list(struct loader *ld, const struct schema_key *k, const config_setting_t *s, const char *str,
	 void *dst)
{
	struct conf_strlist tmp = {0}, *l = k->type == CT_IDLIST ? &tmp : dst;
	int r = 0;

	if (s)
		r = read_strlist(ld, k, s, l);
	else
		strlist_from_default(l, str);
	if (r == 0)
		r = k->type == CT_IDLIST ? set_idlist(ld, k, s, l) : check_strlist(ld, k, s, l);
	strlist_free(&tmp);
	return r;
}

/* Apply one key, from setting S if present, else from its default. */
static int
apply_key(struct loader *ld, const struct schema_key *k, const config_setting_t *s)
{
	void *dst = (char *)ld->conf + k->off;
	const char *str = k->def;

	switch (k->type) {
	case CT_MILTER:
		return set_milter(ld, k, s, str, (char **)dst);
	case CT_STR:
	case CT_PATH:
	case CT_ENUM:
	case CT_FACILITY:
		return set_string(ld, k, s, str, dst);
	case CT_BOOL:
		if (s && config_setting_type(s) != CONFIG_TYPE_BOOL)
			return fail(ld, s, "%s: expected true or false", k->name);
		*(int *)dst = s ? config_setting_get_bool(s) : strcmp(str, "true") == 0;
		return 0;
	case CT_LISTEN:
	case CT_LISTEN0:
	case CT_SERVERS:
	case CT_IPLIST:
	case CT_IDLIST:
		return set_list(ld, k, s, str, dst);
	case CT_RATE:
		return set_rate(ld, k, s, str);
	case CT_DOUBLE:
	case CT_PERCENT:
		return set_double(ld, k, s, str);
	case CT_DNSBL:
		return conf_dnsbl_read(s, ld->conf, ld->err, ld->errlen);
	default:
		return set_number(ld, k, s, str);
	}
}

static const struct schema_key *
schema_find(const char *name)
{
	for (size_t i = 0; i < NSCHEMA; i++)
		if (strcmp(schema[i].name, name) == 0)
			return &schema[i];
	return NULL;
}

static int
is_group_name(const char *name)
{
	for (const char *const *g = groups; *g; g++)
		if (strcmp(*g, name) == 0)
			return 1;
	return 0;
}

/* Walk every setting in the file; anything not in the schema is an error. */
static int
check_unknown(struct loader *ld, const config_setting_t *group, const char *prefix)
{
	for (int i = 0; i < config_setting_length(group); i++) {
		const config_setting_t *s = config_setting_get_elem(group, i);
		char path[256];

		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "",
			 config_setting_name(s));
		if (config_setting_is_group(s)) {
			if (*prefix || !is_group_name(path))
				return fail(ld, s, "unknown section '%s'", path);
			if (check_unknown(ld, s, path) < 0)
				return -1;
		} else if (schema_find(path) == NULL) {
			return fail(ld, s, "unknown setting '%s'", path);
		}
	}
	return 0;
}

/* Settings whose value the schema's types can't check alone. */
static int
check_feedback(struct loader *ld, config_t *cfg)
{
	const char *d = ld->conf->feedback.verp_delimiters, *dom = ld->conf->simulator.domain;

	if (strlen(d) != 2 || d[0] == d[1] || strchr("+-=", d[0]) == NULL ||
	    strchr("+-=", d[1]) == NULL)
		return fail(ld, config_lookup(cfg, "feedback.verp_delimiters"),
			    "feedback.verp_delimiters: '%s': two different characters of \"+-=\"",
			    d);
	for (const char *p = dom; *p; p++)
		if (!(*p == '.' || *p == '-' || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9')))
			return fail(ld, config_lookup(cfg, "simulator.domain"),
				    "simulator.domain: '%s': a lower-case domain name", dom);
	return 0;
}

/* cluster.redis must parse, a unix: path is made absolute, the node name defaults to the host's. */
static int
cluster_check(struct loader *ld, config_t *cfg)
{
	struct conf *c = ld->conf;
	struct redis_addr a;
	char why[512], host[256];

	if (c->cluster.redis[0] == '\0')
		return 0;
	if (redis_addr_parse(c->cluster.redis, &a, why, sizeof(why)) < 0)
		return fail(ld, config_lookup(cfg, "cluster.redis"), "cluster.redis: %s", why);
	if (a.kind == REDIS_UNIX && a.path[0] != '/') {
		char *abs = xasprintf("unix:%s/%s", c->dir, a.path);
		free(c->cluster.redis);
		c->cluster.redis = abs;
	}
	if (c->cluster.node[0] == '\0') {
		if (gethostname(host, sizeof(host)) < 0)
			text_copy(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		free(c->cluster.node);
		c->cluster.node = xstrdup(host);
	}
	if (!text_is_token(c->cluster.node, 63))
		return fail(ld, config_lookup(cfg, "cluster.node"),
			    "cluster.node: '%s': 1 to 63 of A-Z a-z 0-9 . _ @ + -",
			    c->cluster.node);
	return 0;
}

/* Make the file name absolute and set conf->file and conf->dir. */
static void
conf_set_file(struct conf *conf, const char *file)
{
	char cwd[PATH_MAX], *copy;

	if (file[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		conf->file = xstrdup(file);
	else
		conf->file = xasprintf("%s/%s", cwd, file);
	copy = xstrdup(conf->file);
	conf->dir = xstrdup(dirname(copy));
	free(copy);
}

struct conf *
conf_load(const char *file, char *err, size_t errlen)
{
	struct conf *conf = xcalloc(1, sizeof(*conf));
	struct loader ld = {conf, file, err, errlen};
	config_t cfg;
	int ok = 0;

	conf_set_file(conf, file);
	config_init(&cfg);
	config_set_include_dir(&cfg, conf->dir);
	if (!config_read_file(&cfg, file)) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			snprintf(err, errlen, "%s:0: cannot read: %s", file, strerror(errno));
		else
			snprintf(err, errlen, "%s:%d: %s",
				 config_error_file(&cfg) ? config_error_file(&cfg) : file,
				 config_error_line(&cfg), config_error_text(&cfg));
		goto out;
	}
	if (check_unknown(&ld, config_root_setting(&cfg), "") < 0)
		goto out;
	for (size_t i = 0; i < NSCHEMA; i++)
		if (apply_key(&ld, &schema[i], config_lookup(&cfg, schema[i].name)) < 0)
			goto out;
	if (check_feedback(&ld, &cfg) < 0 || cluster_check(&ld, &cfg) < 0)
		goto out;
	ok = 1;
out:
	config_destroy(&cfg);
	if (!ok) {
		conf_free(conf);
		return NULL;
	}
	return conf;
}

void
conf_free(struct conf *conf)
{
	if (conf == NULL)
		return;
	for (size_t i = 0; i < NSCHEMA; i++) {
		void *p = (char *)conf + schema[i].off;
		if (schema[i].type == CT_STR || schema[i].type == CT_PATH ||
		    schema[i].type == CT_MILTER)
			free(*(char **)p);
		else if (schema[i].type == CT_LISTEN || schema[i].type == CT_LISTEN0 ||
			 schema[i].type == CT_SERVERS || schema[i].type == CT_IPLIST)
			strlist_free(p);
	}
	conf_dnsbl_free(conf);
	free(conf->file);
	free(conf->dir);
	free(conf);
}

/* Print list L as a config array of strings. */
static void
dump_list(const char *const *v, size_t n, FILE *fp)
{
	fprintf(fp, "[");
	for (size_t i = 0; i < n; i++)
		fprintf(fp, "%s\"%s\"", i ? ", " : " ", v[i]);
	fprintf(fp, " ]");
}

/* Print rate R as "N/s" .. "N/d", or "" when unset. */
static void
dump_rate(const struct conf_rate *r, FILE *fp)
{
	if (r->n == 0)
		fprintf(fp, "\"\"");
	else
		fprintf(fp, "\"%lld/%c\"", (long long)r->n,
			r->per == 1	 ? 's'
			: r->per == 60	 ? 'm'
			: r->per == 3600 ? 'h'
					 : 'd');
}

/* Print the value of a key of a numeric type. */
static void
dump_number(const struct schema_key *k, const void *p, FILE *fp)
{
	switch (k->type) {
	case CT_OCTAL:
		fprintf(fp, "\"%04o\"", *(const int *)p);
		break;
	case CT_FACILITY:
	case CT_INT:
		fprintf(fp, "%d", *(const int *)p);
		break;
	case CT_MSEC:
		fprintf(fp, "\"%lldms\"", (long long)*(const int64_t *)p);
		break;
	case CT_DURATION:
		fprintf(fp, "\"%llds\"", (long long)*(const int64_t *)p);
		break;
	case CT_DOUBLE:
	case CT_PERCENT:
		fprintf(fp, "%g", *(const double *)p);
		break;
	default:
		fprintf(fp, "%lld", (long long)*(const int64_t *)p);
	}
}

/* Print one key's effective value in config syntax. */
static void
dump_key(const struct conf *conf, const struct schema_key *k, FILE *fp)
{
	const void *p = (const char *)conf + k->off;
	const char *ids[ID_SOURCE_MAX];

	if (k->type == CT_DNSBL) {
		conf_dnsbl_dump(conf, fp);
		return;
	}
	fprintf(fp, "%s = ", k->name);
	switch (k->type) {
	case CT_STR:
	case CT_PATH:
	case CT_MILTER:
		fprintf(fp, "\"%s\"", *(char *const *)p);
		break;
	case CT_BOOL:
		fprintf(fp, "%s", *(const int *)p ? "true" : "false");
		break;
	case CT_ENUM:
		fprintf(fp, "\"%s\"", enum_name(k->vals, *(const int *)p));
		break;
	case CT_LISTEN:
	case CT_LISTEN0:
	case CT_SERVERS:
	case CT_IPLIST:
		dump_list((const char *const *)((const struct conf_strlist *)p)->v,
			  ((const struct conf_strlist *)p)->n, fp);
		break;
	case CT_IDLIST:
		for (size_t i = 0; i < conf->accounts.nidentity; i++)
			ids[i] = enum_name(k->vals, conf->accounts.identity[i]);
		dump_list(ids, conf->accounts.nidentity, fp);
		break;
	case CT_RATE:
		dump_rate(p, fp);
		break;
	default:
		dump_number(k, p, fp);
	}
	fprintf(fp, ";\n");
}

void
conf_dump(const struct conf *conf, FILE *fp)
{
	fprintf(fp, "# effective configuration of %s\n", conf->file);
	for (size_t i = 0; i < NSCHEMA; i++)
		dump_key(conf, &schema[i], fp);
}

void
conf_schema_print(FILE *fp)
{
	for (size_t i = 0; i < NSCHEMA; i++)
		fprintf(fp, "%-26s default \"%s\"\n    %s\n", schema[i].name, schema[i].def,
			schema[i].help);
}

const char *
conf_action_name(int action)
{
	static const char *names[] = {"dunno", "tempfail", "reject", "hold", "discard"};

	return action >= 0 && action <= ACT_DISCARD ? names[action] : "?";
}

const char *
conf_mode_name(int mode)
{
	return enum_name(mode_vals, mode);
}

const char *
conf_id_source_name(int src)
{
	return enum_name(idsrc_vals, src);
}
