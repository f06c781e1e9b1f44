/* stats_view -- the shared counters summed per front door; see stats_view.h. */
#include "config.h"

#include <jansson.h>
#include <string.h>

#include "stats_view.h"

#define LOAD(p) __atomic_load_n(p, __ATOMIC_RELAXED)

const char *
stats_view_door_name(int d)
{
	return d == VIEW_MILTER ? "milter" : "policy";
}

/* The door of a slot kind, or -1 for a process that is no front door. */
static int
kind_door(const char *kind)
{
	if (strcmp(kind, "policy") == 0)
		return VIEW_POLICY;
	if (strncmp(kind, "milter", 6) == 0)
		return VIEW_MILTER;
	return -1;
}

void
stats_view_sum(const struct worker_stats *all, const char *const *kinds, size_t n,
	       struct stats_view *v)
{
	memset(v, 0, sizeof(*v));
	v->feedback_lag_bytes = -1;
	for (size_t i = 0; i < n; i++) {
		const struct worker_stats *w = &all[i];
		int d = kind_door(kinds[i]);
		if (d >= 0) {
			door_stats_add(&v->door[d], &w->door);
			v->store_errors[d] += LOAD(&w->store_errors);
		}
		if (strcmp(kinds[i], "feedback") == 0)
			v->feedback_lag_bytes = LOAD(&w->feedback_lag_bytes);
		v->dns_queries += LOAD(&w->dns.queries);
		v->dns_cache_hits += LOAD(&w->dns.cache_hits);
		v->dns_failures += LOAD(&w->dns.failures);
	}
}

/* {rule: {class: n}} with the non-zero counters of S. */
static json_t *
decisions_json(const struct door_stats *s)
{
	json_t *o = json_object();

	for (size_t r = 0; r < DOOR_RULES; r++) {
		json_t *c = NULL;
		for (int k = 0; k < RC_COUNT; k++) {
			if (s->decisions[r][k] == 0)
				continue;
			if (c == NULL)
				c = json_object();
			json_object_set_new(c, reply_class_name(k),
					    json_integer((json_int_t)s->decisions[r][k]));
		}
		if (c)
			json_object_set_new(o, door_rule_name(r), c);
	}
	return o;
}

/* A quantile in milliseconds, or null without requests. */
static json_t *
quantile_json(const struct door_stats *s, double q)
{
	double us = door_quantile_us(s->buckets, q);

	return us < 0 ? json_null() : json_real((double)(int64_t)(us + 0.5) / 1000.0);
}

/* One door: {"decisions": ..., "latency": {count, sum_seconds, p50_ms, p99_ms}}. */
static json_t *
door_json(const struct door_stats *s)
{
	json_t *lat = json_pack("{s:I, s:f}", "count", (json_int_t)s->latency_count, "sum_seconds",
				(double)s->latency_sum_us / 1e6);

	json_object_set_new(lat, "p50_ms", quantile_json(s, 0.5));
	json_object_set_new(lat, "p99_ms", quantile_json(s, 0.99));
	return json_pack("{s:o, s:o}", "decisions", decisions_json(s), "latency", lat);
}

void *
stats_view_json(const struct stats_view *v)
{
	json_t *o = json_object();
	uint64_t asked = v->dns_queries + v->dns_cache_hits;
	json_t *dns =
	    json_pack("{s:I, s:I, s:I}", "queries", (json_int_t)v->dns_queries, "cache_hits",
		      (json_int_t)v->dns_cache_hits, "failures", (json_int_t)v->dns_failures);

	for (int d = 0; d < VIEW_DOORS; d++)
		json_object_set_new(o, stats_view_door_name(d), door_json(&v->door[d]));
	json_object_set_new(dns, "cache_hit_ratio",
			    asked ? json_real((double)v->dns_cache_hits / (double)asked)
				  : json_null());
	json_object_set_new(o, "dns", dns);
	json_object_set_new(o, "feedback_lag_bytes",
			    v->feedback_lag_bytes < 0 ? json_null()
						      : json_integer(v->feedback_lag_bytes));
	return o;
}
