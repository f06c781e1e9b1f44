/*
 * simulator -- the mailbox simulator: recipients at simulator.domain (default
 * simulator.invalid) get a fixed outcome, so tenants can test their bounce
 * and complaint handling without touching their reputation or quotas.
 *
 *   success@          accepted (Postfix discards it: `discard:` transport)
 *   bounce@           refused at RCPT, 550 5.1.1
 *   suppressionlist@  refused at RCPT as if on the account's suppression list
 *   complaint@        accepted; a complaint event at END-OF-MESSAGE
 *   anything else@    accepted, as success@
 * A label is allowed: bounce+test1@ is bounce@.  Local part and domain are
 * compared case-insensitively.
 *
 * decide() applies it after the account's state (a paused account is still
 * refused) and instead of the suppression check; the verdict is marked
 * (verdict.simulator) so the quota step neither checks nor counts it, and a
 * simulated refusal stands in monitor mode.  The quota step remembers the
 * accepted simulator recipients of the transaction by its id in the shared
 * quota table, so END-OF-MESSAGE (which carries no recipient list, and may
 * come on another policy connection, to another worker) leaves them out of
 * the count and the front door writes one complaint event per complaint@
 * recipient.  Simulator mail is never counted in rates: results are taken
 * from the Postfix log only for accounts, and the discard: transport's
 * "status=sent" lines are not counted for the simulator domain (ingest.c).
 * Pure: strings in, an outcome out.
 */
#ifndef OUTPOST_SIMULATOR_H
#define OUTPOST_SIMULATOR_H

enum sim_outcome {
	SIM_NONE = 0, /* not a simulator address (or the simulator is off) */
	SIM_SUCCESS,
	SIM_BOUNCE,
	SIM_SUPPRESSED,
	SIM_COMPLAINT,
};

/* The outcome of RCPT under simulator DOMAIN ("" = off). */
int simulator_outcome(const char *domain, const char *rcpt);
/* Is ADDR's domain DOMAIN (not ""): mail never counted? */
int simulator_address(const char *domain, const char *addr);

#endif
