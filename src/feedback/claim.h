/*
 * claim -- one node of the fleet moves an account when the fleet's rates cross
 * a threshold: the feedback process claims the transition in Redis before it
 * writes it.  The claim is SET PREFIX:rep:claim:ACCOUNT:SINCE:TO NODE NX PX
 * (an hour), SINCE being the account's last state change (replicated with the
 * account, so every node names the same transition alike; a resume starts a
 * new SINCE, so the next crossing is claimable again).  The winner writes the
 * state change, its history entry, the event and the hook; the others get the
 * state through the change stream.
 *
 * A synchronous connection of its own (cluster.timeout), opened on the first
 * claim; after a failure no new attempt for CLAIM_RETRY_MS (the caller judges
 * on this host's counters meanwhile).
 */
#ifndef OUTPOST_CLAIM_H
#define OUTPOST_CLAIM_H

#include <stddef.h>
#include <stdint.h>

#define CLAIM_TTL_MS (3600LL * 1000)
#define CLAIM_RETRY_MS 5000

struct conf;
struct claim;

/* NULL when CONF has no cluster (or a cluster.redis it cannot parse). */
struct claim *claim_create(const struct conf *conf);
void claim_destroy(struct claim *c);

/* 1: this node won the transition of ACCOUNT out of the state it has held since SINCE to TO;
 * 0: another node did (its name in HOLDER); -1: Redis out of reach (the reason logged). */
int claim_take(struct claim *c, const char *account, int64_t since, int to, char *holder,
	       size_t len);

#endif
