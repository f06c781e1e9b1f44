/* door_stats -- decisions by rule and reply class, latency histograms; see door_stats.h. */
#include "config.h"

#include <string.h>

#include "door_stats.h"

#define ADD(p, n) __atomic_fetch_add(p, n, __ATOMIC_RELAXED)
#define LOAD(p) __atomic_load_n(p, __ATOMIC_RELAXED)

/* Every rule a verdict names (decide.c, decide_dns.c, quota.c), a pass first, "other" last. */
static const char *const rules[DOOR_RULES] = {
    "none",	    "unmatched",   "unknown_account", "paused",		  "suppressed",
    "simulator",    "dnsbl",	   "dnsbl_failed",    "recipient_domain", "max_rate",
    "hourly_quota", "daily_quota", "monthly_quota",   "store_error",	  "other",
};

const uint64_t door_bucket_us[DOOR_BUCKETS] = {
    25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,
};

const char *
door_rule_name(size_t i)
{
	return i < DOOR_RULES ? rules[i] : NULL;
}

size_t
door_rule_index(const char *rule)
{
	if (rule == NULL)
		return 0;
	for (size_t i = 1; i < DOOR_RULES - 1; i++)
		if (strcmp(rules[i], rule) == 0)
			return i;
	return DOOR_RULES - 1;
}

const char *
reply_class_name(int rc)
{
	static const char *const names[RC_COUNT] = {"dunno", "4xx", "5xx", "hold", "would_refuse"};

	return rc >= 0 && rc < RC_COUNT ? names[rc] : "dunno";
}

int
reply_class_of(const struct verdict *v)
{
	if (v->would)
		return RC_WOULD_REFUSE;
	switch (v->kind) {
	case VK_TEMPFAIL:
		return RC_4XX;
	case VK_REJECT:
		return RC_5XX;
	case VK_HOLD:
		return RC_HOLD;
	default:
		return RC_DUNNO;
	}
}

size_t
door_bucket_index(uint64_t us)
{
	size_t i = 0;

	while (i < DOOR_BUCKETS && us > door_bucket_us[i])
		i++;
	return i;
}

void
door_stats_note(struct door_stats *s, const struct verdict *v, uint64_t us)
{
	/* A pass with a rule (none today) still counts under that rule. */
	size_t rule = v->kind == VK_PASS && !v->would ? 0 : door_rule_index(v->rule);

	ADD(&s->decisions[rule][reply_class_of(v)], 1);
	ADD(&s->buckets[door_bucket_index(us)], 1);
	ADD(&s->latency_sum_us, us);
	ADD(&s->latency_count, 1);
}

double
door_quantile_us(const uint64_t *counts, double q)
{
	uint64_t total = 0, below = 0;
	double rank;

	for (size_t i = 0; i <= DOOR_BUCKETS; i++)
		total += counts[i];
	if (total == 0)
		return -1;
	rank = q * (double)total;
	for (size_t i = 0; i < DOOR_BUCKETS; i++) {
		double lo = i ? (double)door_bucket_us[i - 1] : 0, hi = (double)door_bucket_us[i];
		if ((double)(below + counts[i]) >= rank && counts[i] > 0)
			return lo + (hi - lo) * (rank - (double)below) / (double)counts[i];
		below += counts[i];
	}
	return (double)door_bucket_us[DOOR_BUCKETS - 1];
}

void
door_stats_add(struct door_stats *dst, const struct door_stats *src)
{
	for (size_t r = 0; r < DOOR_RULES; r++)
		for (size_t c = 0; c < RC_COUNT; c++)
			dst->decisions[r][c] += LOAD(&src->decisions[r][c]);
	for (size_t i = 0; i <= DOOR_BUCKETS; i++)
		dst->buckets[i] += LOAD(&src->buckets[i]);
	dst->latency_sum_us += LOAD(&src->latency_sum_us);
	dst->latency_count += LOAD(&src->latency_count);
}
