/*
 * policy_conn -- one policy client connection on a worker's event loop.
 *
 * Reads requests, answers each with exactly one reply, keeps the connection
 * for the next request (Postfix caches it), closes it on EOF, on idle
 * timeout, on malformed or oversized input (logged once: Postfix then retries
 * on a new connection), or when the worker drains.
 */
#ifndef OUTPOST_POLICY_CONN_H
#define OUTPOST_POLICY_CONN_H

#include <event2/event.h>

struct policy_conn;
struct policy_server; /* the worker's side: config, store, ledger, counters */

struct policy_server {
	struct event_base *base;
	const struct conf *conf;
	struct store *store;
	struct ledger *ledger;
	struct evqueue *events;	       /* refusal and send events for the event log */
	struct dns_resolver *resolver; /* NULL: no DNS checks configured */
	struct worker_stats *stats;
	struct policy_conn *conns; /* list of open connections */
	unsigned nconns;
	int draining;
	void (*on_request)(struct policy_server *srv); /* after each answered request */
	void (*on_close)(struct policy_server *srv);   /* after a connection closed */
};

/* Take over accepted socket FD. */
void policy_conn_open(struct policy_server *srv, int fd);
/* Draining: close connections with no request in flight now; the others after their reply. */
void policy_conn_drain(struct policy_server *srv);
/* Close every connection (drain deadline passed). */
void policy_conn_close_all(struct policy_server *srv);

#endif
