/* simulator -- fixed outcomes for the simulator's mailboxes; see simulator.h. */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "simulator.h"

static const struct {
	const char *local;
	int outcome;
} mailboxes[] = {
    {"success", SIM_SUCCESS},
    {"bounce", SIM_BOUNCE},
    {"suppressionlist", SIM_SUPPRESSED},
    {"complaint", SIM_COMPLAINT},
};

int
simulator_address(const char *domain, const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;
	size_t dl = domain ? strlen(domain) : 0, al;

	if (dl == 0 || at == NULL)
		return 0;
	al = strlen(at + 1);
	if (al > 0 && at[al] == '.')
		al--; /* a trailing dot */
	return al == dl && strncasecmp(at + 1, domain, dl) == 0;
}

int
simulator_outcome(const char *domain, const char *rcpt)
{
	const char *at;
	size_t n;

	if (!simulator_address(domain, rcpt))
		return SIM_NONE;
	at = strrchr(rcpt, '@');
	n = strcspn(rcpt, "+@"); /* the label goes */
	if ((size_t)(at - rcpt) < n)
		n = (size_t)(at - rcpt);
	for (size_t i = 0; i < sizeof(mailboxes) / sizeof(mailboxes[0]); i++)
		if (strlen(mailboxes[i].local) == n &&
		    strncasecmp(rcpt, mailboxes[i].local, n) == 0)
			return mailboxes[i].outcome;
	return SIM_SUCCESS;
}
