/* dns_health -- per-list answer health in shared memory; see dns_health.h. */
#include "config.h"

#include <jansson.h>
#include <string.h>

#include "dns_health.h"
#include "dns/dnsbl.h"
#include "util/text.h"

static struct dns_health *sink;

#define ADD(p) __atomic_fetch_add(p, 1, __ATOMIC_RELAXED)

void
dns_health_attach(struct dns_health *h)
{
	sink = h;
}

void
dns_health_count(int deadline_hit, int domain_refusable)
{
	if (sink == NULL)
		return;
	ADD(&sink->checks);
	if (deadline_hit)
		ADD(&sink->deadline_hits);
	if (domain_refusable)
		ADD(&sink->domain_refusable);
}

void
dns_health_resolver(int what)
{
	if (sink == NULL)
		return;
	ADD(what == DNS_HEALTH_QUERY	   ? &sink->queries
	    : what == DNS_HEALTH_CACHE_HIT ? &sink->cache_hits
					   : &sink->failures);
}

void
dns_health_note(size_t idx, const char *name, int state, const char *detail, int64_t now)
{
	struct dns_list_health *l;

	if (sink == NULL || idx >= DNS_HEALTH_LISTS || state == DNSBL_SKIPPED)
		return;
	l = &sink->lists[idx];
	if (strncmp(l->name, name, sizeof(l->name) - 1) != 0) {
		memset(l, 0, sizeof(*l)); /* another list at this index now (reload) */
		text_copy(l->name, sizeof(l->name), name);
	}
	ADD(&l->lookups);
	if (state == DNSBL_FAILED) {
		ADD(&l->failures);
		if (l->last_failure <= l->last_ok)
			l->failing_since = now;
		l->last_failure = now;
		text_copy(l->last_error, sizeof(l->last_error), detail);
		return;
	}
	if (state == DNSBL_LISTED)
		ADD(&l->listed);
	l->last_ok = now;
}

/* One list's figures over every slot. */
static json_t *
list_json(const struct dns_health *const *hs, size_t n, size_t idx, const char *name)
{
	uint64_t lookups = 0, listed = 0, failures = 0;
	int64_t last_ok = 0, last_failure = 0, since = 0;
	const char *err = "";
	char when[32] = "";

	for (size_t i = 0; i < n; i++) {
		const struct dns_list_health *l = hs[i] ? &hs[i]->lists[idx] : NULL;
		if (l == NULL || strncmp(l->name, name, sizeof(l->name) - 1) != 0)
			continue;
		lookups += l->lookups;
		listed += l->listed;
		failures += l->failures;
		if (l->last_ok > last_ok)
			last_ok = l->last_ok;
		if (l->last_failure > last_failure) {
			last_failure = l->last_failure;
			err = l->last_error;
		}
		if (l->failures && l->last_failure > l->last_ok &&
		    (since == 0 || l->failing_since < since))
			since = l->failing_since;
	}
	if (since)
		text_time_format(since, when, sizeof(when));
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:s}", "name", name, "state",
			 lookups == 0		  ? "unknown"
			 : last_failure > last_ok ? "broken"
						  : "ok",
			 "lookups", (json_int_t)lookups, "listed", (json_int_t)listed, "failures",
			 (json_int_t)failures, "last_error", err, "failing_since",
			 last_failure > last_ok ? when : "");
}

void *
dns_health_json(const struct dns_health *const *hs, size_t n, const char *const *names,
		size_t nlists)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < nlists && i < DNS_HEALTH_LISTS; i++)
		json_array_append_new(arr, list_json(hs, n, i, names[i]));
	return arr;
}
