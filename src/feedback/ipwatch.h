/*
 * ipwatch -- the platform's own sending addresses on the blocklists
 * (dns.monitor_addresses), watched from the feedback process.
 *
 * Every dns.monitor_interval each address is asked of every `client` list
 * (dnsbl in the config), all queries of a round at once, on the feedback
 * process's loop, through a resolver of its own without a cache: every round
 * asks the servers.  The last answer for each (list, address) is kept in the
 * store (DB_META, struct dnsbl_watch_rec in records.h) with since when, so a
 * restart neither forgets a listing nor announces it again.  A change emits
 * an event (eventlog.h: written to feedback.event_log, and feedback.hook
 * runs):
 *   listing    not listed (or never answered) -> listed, or listed with
 *              other codes (SBL -> SBL, XBL)
 *   delisting  listed -> not listed
 * A failed lookup (timeout, SERVFAIL/REFUSED, an error code such as
 * 127.255.255.254) is neither: the last answer stays, the failure is noted
 * (error, failing_since) and logged once per run of failures.  A round
 * starts only when the previous one is complete: c-ares calls every query
 * back within its tries (dns.timeout).
 */
#ifndef OUTPOST_IPWATCH_H
#define OUTPOST_IPWATCH_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "store/records.h"

struct event_base;
struct store;
struct ipwatch;

/* 1 if CONF watches anything: monitor addresses and at least one client list. */
int ipwatch_wanted(const struct conf *conf);

/* Start watching on BASE (the first round at once); NULL if not wanted or on failure (logged). */
struct ipwatch *ipwatch_create(struct event_base *base, const struct conf *conf, struct store *st);
void ipwatch_destroy(struct ipwatch *w);

/*
 * Pure: the record that follows PREV (NULL: none yet) when the list answered
 * STATE (DNSBL_LISTED with CODES and DETAIL the meanings, DNSBL_NOT_LISTED,
 * or DNSBL_FAILED with DETAIL why) at NOW, into *NEXT.  Returns the event to
 * emit: "listing", "delisting", or NULL.
 */
const char *ipwatch_judge(const struct dnsbl_watch_rec *prev, int state, const char *codes,
			  const char *detail, int64_t now, struct dnsbl_watch_rec *next);

/* The DB_META key of (LIST, ADDRESS) into BUF; its length, 0 if it does not fit. */
size_t ipwatch_key(const char *list, const char *address, char *buf, size_t len);

#endif
