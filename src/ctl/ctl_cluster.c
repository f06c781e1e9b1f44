/*
 * ctl_cluster -- outpostctl cluster status: what the cluster process last
 * wrote to the store (cluster/cluster.h), with ages computed now, and the
 * outbox counted directly.  Needs no daemon and no Redis connection.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster.h"
#include "ctl.h"
#include "util/clock.h"

/* The status record, or a stub when the cluster process never wrote one. */
static json_t *
status_load(struct ctl *ctl)
{
	struct store_txn *txn;
	struct store_val v;
	json_t *o = NULL;

	if (store_read_begin(ctl->st, &txn) != STORE_OK)
		return NULL;
	if (store_get(txn, DB_META, CLUSTER_STATUS_KEY, strlen(CLUSTER_STATUS_KEY), &v) == STORE_OK)
		o = json_loadb(v.data, v.len, 0, NULL);
	store_read_end(txn);
	if (o == NULL)
		o = json_pack("{s:s, s:b, s:s, s:[]}", "node", ctl->conf->cluster.node, "connected",
			      0, "error", "the cluster process has not reported yet", "nodes");
	return o;
}

/*
 * The over-admission bound of daily quotas (cluster/lease.h), as "quota_bound":
 * 0 while connected; cut off from Redis, per node cut off, limit / nodes
 * (share) or 0 (tempfail); at most (nodes - 1) such nodes add to it.
 */
static void
quota_bound(struct ctl *ctl, json_t *o)
{
	size_t nodes = json_array_size(json_object_get(o, "nodes"));
	int share = ctl->conf->cluster.partition_quota == PQ_SHARE;

	if (nodes == 0)
		nodes = 1;
	json_object_set_new(o, "quota_bound",
			    json_pack("{s:i, s:s, s:I, s:f}", "connected", 0, "partition",
				      share ? "share" : "tempfail", "nodes", (json_int_t)nodes,
				      "per_cut_off_node_fraction",
				      share ? 1.0 / (double)nodes : 0.0));
}

/* Replace the nodes' absolute heartbeat times by ages; add this node's figures. */
static void
status_complete(struct ctl *ctl, json_t *o)
{
	int64_t now = now_us() / 1000, hb = ctl->conf->cluster.heartbeat_interval;
	int64_t updated = json_integer_value(json_object_get(o, "updated_ms"));
	struct store_stat s;
	json_t *n;
	size_t i;

	json_array_foreach(json_object_get(o, "nodes"), i, n)
	{
		int64_t at =
		    strtoll(json_string_value(json_object_get(n, "heartbeat_ms")) ?: "0", NULL, 10);
		json_object_set_new(n, "heartbeat_age_ms", json_integer(at ? now - at : -1));
	}
	quota_bound(ctl, o);
	if (store_db_stat(ctl->st, DB_OUTBOX, &s) == STORE_OK)
		json_object_set_new(o, "outbox", json_integer((json_int_t)s.entries));
	/* No report for three heartbeats: the process is not running (or stuck). */
	json_object_set_new(o, "reporting",
			    json_boolean(updated && now - updated <= 3 * hb + 1000));
	json_object_set_new(o, "report_age_ms", json_integer(updated ? now - updated : -1));
}

/* The quota and rate over-admission bounds, from the quota_bound object B. */
static void
bounds_print(json_t *b)
{
	json_int_t nodes = json_integer_value(json_object_get(b, "nodes"));

	printf("quotas:       daily, hourly and monthly quotas leased from the fleet: "
	       "over-admission bound 0 recipients while connected\n");
	printf("rates:        leased in shares: the fleet's burst at most the account's + %lld\n",
	       (long long)(nodes > 1 ? nodes - 1 : 0));
	if (strcmp(json_string_value(json_object_get(b, "partition")) ?: "", "share") == 0)
		printf(
		    "partition:    a node cut off from Redis may admit up to limit/%lld beyond its "
		    "lease: bound limit/%lld per node cut off, at most %lld/%lld of the limit "
		    "(partition_quota share)\n",
		    (long long)nodes, (long long)nodes, (long long)(nodes > 1 ? nodes - 1 : 0),
		    (long long)nodes);
	else
		printf("partition:    a node cut off from Redis admits nothing beyond its lease: "
		       "bound 0 (partition_quota tempfail)\n");
}

static void
status_print(json_t *o)
{
	char when[64];
	json_t *n;
	size_t i;

	ctl_time(json_integer_value(json_object_get(o, "since")), when, sizeof(when));
	printf("node:         %s\n", json_string_value(json_object_get(o, "node")));
	if (!json_is_true(json_object_get(o, "reporting")))
		printf("cluster:      no report from the cluster process for %lld ms (is outpostd "
		       "running?)\n",
		       (long long)json_integer_value(json_object_get(o, "report_age_ms")));
	if (json_is_true(json_object_get(o, "connected")))
		printf("cluster:      connected to %s since %s\n",
		       json_string_value(json_object_get(o, "redis")) ?: "?", when);
	else
		printf("cluster:      disconnected since %s (%s)\n", when[0] ? when : "start",
		       json_string_value(json_object_get(o, "error")) ?: "");
	printf("last applied: %s (lag %lld ms, last delay %.1f ms)\n",
	       json_string_value(json_object_get(o, "last_applied_id")) ?: "none",
	       (long long)json_integer_value(json_object_get(o, "lag_ms")),
	       json_number_value(json_object_get(o, "last_delay_ms")));
	if ((json_string_value(json_object_get(o, "bootstrap")) ?: "")[0])
		printf("snapshot:     %s\n", json_string_value(json_object_get(o, "bootstrap")));
	printf("outbox:       %lld changes not yet in the fleet's log",
	       (long long)json_integer_value(json_object_get(o, "outbox")));
	if (json_integer_value(json_object_get(o, "awaiting_replicas")) > 0)
		printf(" (%lld in Redis, waiting for cluster.wait_replicas replicas)",
		       (long long)json_integer_value(json_object_get(o, "awaiting_replicas")));
	printf("\n");
	printf("changes:      %lld pushed, %lld applied, %lld duplicates skipped, %lld lost to "
	       "newer, %lld unreadable\n",
	       (long long)json_integer_value(json_object_get(o, "pushed")),
	       (long long)json_integer_value(json_object_get(o, "applied")),
	       (long long)json_integer_value(json_object_get(o, "duplicates")),
	       (long long)json_integer_value(json_object_get(o, "lost")),
	       (long long)json_integer_value(json_object_get(o, "bad_entries")));
	bounds_print(json_object_get(o, "quota_bound"));
	printf("leases:       %lld accounts hold a lease, %lld grants\n",
	       (long long)json_integer_value(json_object_get(o, "lease_accounts")),
	       (long long)json_integer_value(json_object_get(o, "lease_grants")));
	printf("nodes:\n");
	json_array_foreach(json_object_get(o, "nodes"), i, n)
	    printf("  %-20s heartbeat %6.1fs ago  applied %s  outbox %s\n",
		   json_string_value(json_object_get(n, "node")),
		   (double)json_integer_value(json_object_get(n, "heartbeat_age_ms")) / 1000.0,
		   json_string_value(json_object_get(n, "applied_id")) ?: "?",
		   json_string_value(json_object_get(n, "outbox")) ?: "?");
}

static int
cmd_cluster_status(struct ctl *ctl, int argc, char **argv)
{
	char *pos[1];
	int npos, rc;
	json_t *o;

	if ((rc = ctl_opts(ctl, argc, argv, (struct ctl_opt[]){{NULL, 0, NULL, NULL}}, pos, &npos,
			   0, "cluster", "status")) != EXIT_OK)
		return rc;
	if (ctl->conf->cluster.redis[0] == '\0')
		return ctl_err(EXIT_ABSENT, "no cluster section in %s: this host is not in a fleet",
			       ctl->conf->file);
	if ((rc = ctl_store(ctl)) != EXIT_OK)
		return rc;
	if ((o = status_load(ctl)) == NULL)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	status_complete(ctl, o);
	if (ctl->json)
		ctl_json_print(o);
	else
		status_print(o);
	json_decref(o);
	return EXIT_OK;
}

const struct ctl_cmd ctl_cluster_cmds[] = {
    {"cluster", "status", cmd_cluster_status, "[--json]",
     "the fleet as this node sees it: connected or since when not, nodes with heartbeat age, "
     "last change applied and lag, outbox size, the quota over-admission bound"},
    {NULL, NULL, NULL, NULL, NULL},
};
