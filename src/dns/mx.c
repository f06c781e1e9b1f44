/* mx -- null MX, preference order, address verdicts; see mx.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mx.h"
#include "dns/dns_facts.h"
#include "util/text.h"

int
mx_is_null(const struct ares_mx_reply *mx)
{
	for (; mx; mx = mx->next)
		if (mx->host == NULL || mx->host[0] == '\0' || strcmp(mx->host, ".") == 0)
			return 1;
	return 0;
}

size_t
mx_sorted_hosts(const struct ares_mx_reply *mx, char hosts[][MX_HOST_LEN], size_t max)
{
	unsigned short prio[MX_HOSTS_MAX];
	size_t n = 0;

	if (max > MX_HOSTS_MAX)
		max = MX_HOSTS_MAX;
	for (; mx; mx = mx->next) {
		size_t i = n, dup = 0;
		for (size_t k = 0; k < n; k++)
			dup |= strcasecmp(hosts[k], mx->host) == 0;
		if (dup)
			continue;
		/* Insertion by preference; equal preferences keep answer order. */
		while (i > 0 && prio[i - 1] > mx->priority)
			i--;
		if (i >= max)
			continue;
		size_t last = n < max ? n : max - 1;
		memmove(&hosts[i + 1], &hosts[i], (last - i) * sizeof(hosts[0]));
		memmove(&prio[i + 1], &prio[i], (last - i) * sizeof(prio[0]));
		text_copy(hosts[i], MX_HOST_LEN, mx->host);
		prio[i] = mx->priority;
		if (n < max)
			n++;
	}
	return n;
}

int
mx_addr_verdict(const int *states, size_t n, int none_state)
{
	int transient = 0;

	for (size_t i = 0; i < n; i++) {
		if (states[i] == ADDR_HAS)
			return DOMAIN_OK;
		if (states[i] != ADDR_NONE)
			transient = 1;
	}
	return transient ? DOMAIN_TRANSIENT : none_state;
}

const char *
domain_state_name(int state)
{
	static const char *const names[] = {"unchecked", "ok",	    "transient", "nxdomain",
					    "null_mx",	 "no_mail", "bad_mx"};

	return state >= 0 && state <= DOMAIN_BADMX ? names[state] : "?";
}
