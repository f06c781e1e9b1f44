/*
 * conf -- the configuration as an immutable snapshot.
 *
 * conf_load() reads a libconfig file, checks every setting against the one
 * schema table (schema.c): unknown keys, wrong types and out-of-range values
 * are refused with "file:line: message".  A struct conf is never changed after
 * it is built; reload builds a new one and swaps it in only if it is valid.
 * Relative paths are resolved against the config file's directory.
 */
#ifndef OUTPOST_CONF_H
#define OUTPOST_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dns/dnsbl.h"

enum conf_mode { MODE_ENFORCE, MODE_MONITOR };
/* What happens to mail when a rule says "no": the reply class. */
enum conf_action { ACT_DUNNO, ACT_TEMPFAIL, ACT_REJECT, ACT_HOLD, ACT_DISCARD };
enum conf_dns_fail { DNS_FAIL_OPEN, DNS_FAIL_CLOSED };
enum conf_partition_quota { PQ_SHARE, PQ_TEMPFAIL };
enum id_source { ID_SASL, ID_SENDER, ID_SENDER_DOMAIN, ID_CLIENT_ADDRESS };
#define ID_SOURCE_MAX 4
#define CONF_MONITOR_MAX 64 /* dns.monitor_addresses: at most this many */

/* A rate: N per PER seconds; N 0 is no limit. */
struct conf_rate {
	int64_t n, per;
};

struct conf_strlist {
	char **v;
	size_t n;
};

struct conf {
	char *file; /* absolute path of the file read */
	char *dir;  /* its directory, for relative paths */

	char *user;
	char *pidfile;
	char *control_socket;
	int syslog_facility;
	int verbose;
	int mode; /* enum conf_mode */

	struct {
		char *path;
		int64_t map_size;
		int max_readers;
		int fallback; /* enum conf_action: DUNNO or TEMPFAIL */
	} store;

	struct {
		struct conf_strlist listen;
		int workers;
		int socket_mode;
		char *socket_group;
		int64_t max_requests;
		int64_t max_request_size;
		int64_t max_connections;
		int64_t idle_timeout;  /* seconds */
		int64_t drain_timeout; /* seconds a stopping worker waits for requests in flight */
	} policy;

	struct {
		int identity[ID_SOURCE_MAX]; /* enum id_source, in order */
		size_t nidentity;
		int auto_create;
		int unmatched;	   /* DUNNO, TEMPFAIL or REJECT */
		int unknown;	   /* an identified login with no account, auto_create off */
		int paused_action; /* TEMPFAIL, REJECT or HOLD */
	} accounts;

	struct {
		int fold_plus;
	} suppress;

	struct {
		struct conf_strlist servers;
		int64_t timeout_ms;   /* one deadline for all lookups of one request */
		int64_t max_ttl;      /* seconds: cap on a cached positive answer */
		int64_t negative_ttl; /* seconds: NXDOMAIN / NODATA kept this long */
		int64_t cache_size;   /* answers cached per process */
		int bounce_prevention;
		int fail; /* enum conf_dns_fail: a list lookup that failed */
		struct conf_strlist monitor_addresses; /* our sending IPs, watched; empty: off */
		int64_t monitor_interval;	       /* seconds between two rounds */
	} dns;

	struct {
		struct dnsbl_list *v; /* the `dnsbl` entries, in order */
		size_t n;
	} dnsbl;

	struct {
		char *listen;		/* libmilter syntax; "" = no milter */
		char *non_smtpd_listen; /* a second milter that never refuses at RCPT */
		char *feedback_id;	/* Feedback-ID header template; "" = none */
		int socket_mode;
		int non_smtpd_empty; /* ACT_HOLD or ACT_DISCARD: a message left with no recipient */
	} milter;

	struct {
		char *rules;	       /* the bounce classification table */
		char *maillog;	       /* the Postfix log the feedback process follows; "" = none */
		int64_t poll_interval; /* milliseconds between two looks at the log */
		int64_t window_messages; /* the reputation window: last N eligible recipients ... */
		int window_days;	 /* ... within at most this many days */
		int64_t retention;	 /* seconds message records and result entries are kept */
		int64_t min_volume;	 /* nothing is judged below this many eligible recipients */
		double bounce_review, bounce_pause; /* percent; 0 = off */
		double complaint_review, complaint_pause;
		int suppress_complaints; /* a complaint puts the recipient on the account's list */
		char *verp_delimiters;	 /* of the VERP return paths reports come back to */
		char *event_log;	 /* JSON lines; "" = none */
		char *hook;		 /* command run for state/listing events; "" = none */
		int64_t hook_timeout;	 /* seconds before a hook is killed */
		int hook_max;		 /* hooks running at once (feedback process) */
	} feedback;

	struct {
		char *domain; /* the mailbox simulator's domain; "" = off */
	} simulator;

	struct {
		int front_door;	       /* enum front_door: the one door that checks and counts */
		int table_size;	       /* slots in the shared quota table (a power of two) */
		int64_t sync_interval; /* seconds between msyncs of the table */
	} quota;

	struct { /* defaults of every account's limits, and the host and sender-domain caps */
		struct conf_rate max_rate;
		int64_t max_rate_burst, daily_quota, hourly_quota, monthly_quota;
		double review_rate_factor;
		struct conf_rate host_max_rate;
		int64_t host_daily_quota, host_hourly_quota;
		struct conf_rate domain_max_rate;
		int64_t domain_daily_quota, domain_hourly_quota;
	} limits;

	struct { /* the fleet (cluster/cluster.h); redis "" = one host, nothing of it runs */
		char *redis;	     /* redis://HOST:PORT[/DB], unix:PATH, sentinel://.../MASTER */
		char *node;	     /* this host's name in the fleet (default: the host name) */
		char *password_file; /* "USER\nPASSWORD" or "PASSWORD"; "" = no AUTH */
		char *key_prefix;    /* Redis keys start with PREFIX ":" */
		int64_t poll_interval;	    /* ms: how long XREAD blocks = outbox push delay */
		int64_t heartbeat_interval; /* ms */
		int64_t timeout;	    /* ms: connect and command timeout */
		int64_t reconnect_max;	    /* ms: backoff cap between connection attempts */
		int partition_quota; /* enum conf_partition_quota: cut off, beyond the lease */
		int wait_replicas; /* outbox entries are kept until this many replicas hold them */
		int64_t snapshot_interval; /* seconds: a snapshot at least this often */
		int64_t stream_max;	   /* entries: beyond them, a snapshot and a trim */
	} cluster;

	struct {
		struct conf_strlist listen; /* empty: no http process */
		int metrics_open;	    /* /metrics without a token from a loopback client */
		char *web_root;		    /* the dashboard's files (web/) */
		char *chartjs; /* Chart.js (Debian's libjs-chart.js), served as /js/chart.js */
		struct conf_rate rate_limit; /* per client address; 0: none */
	} http;

	struct {
		char *config_directory; /* postsuper -c: the Postfix instance Outpost serves */
		char *postsuper;
		char *postqueue;
	} postfix;
};

/*
 * Read FILE, applying no defaults beyond the schema's.  On error returns NULL
 * and writes "file:line: message" into ERR.
 */
struct conf *conf_load(const char *file, char *err, size_t errlen);
void conf_free(struct conf *conf);
/* Print every setting with its effective value, one "key = value;" a line. */
void conf_dump(const struct conf *conf, FILE *fp);
/* Print the schema (name, type, default, help) as a commented reference. */
void conf_schema_print(FILE *fp);

/* Helpers shared with other modules. */
const char *conf_action_name(int action);
const char *conf_mode_name(int mode);
const char *conf_id_source_name(int src);

#endif
