/*
 * policy_proto -- the Postfix policy delegation protocol, bytes in and out.
 *
 * Pure: no sockets, no store, no clock.  A request is lines "name=value\n"
 * ended by an empty line; the name ends at the first '='; values are taken
 * as they are (no escaping; a trailing CR is dropped for hand-typed tests).
 * Unknown attributes are ignored; a repeated attribute keeps the last value.
 * A reply is exactly "action=...\n\n".
 */
#ifndef OUTPOST_POLICY_PROTO_H
#define OUTPOST_POLICY_PROTO_H

#include <stddef.h>
#include <sys/types.h>

#include "decide/facts.h"

struct policy_request {
	const char *request;
	const char *protocol_state;
	const char *protocol_name;
	const char *helo_name;
	const char *queue_id;
	const char *sender;
	const char *recipient;
	const char *recipient_count;
	const char *client_address;
	const char *client_name;
	const char *reverse_client_name;
	const char *instance;
	const char *sasl_method;
	const char *sasl_username;
	const char *sasl_sender;
	const char *size;
	const char *ccert_subject;
	const char *ccert_issuer;
	const char *ccert_fingerprint;
	const char *ccert_pubkey_fingerprint;
	const char *encryption_protocol;
	const char *encryption_cipher;
	const char *encryption_keysize;
	const char *etrn_domain;
	const char *stress;
	const char *client_port;
	const char *policy_context;
	const char *server_address;
	const char *server_port;
	const char *compatibility_level;
	const char *mail_version;
	const char *tls_sni;
	unsigned nattrs; /* attribute lines seen, known or not */
};

/*
 * Find the end of the first complete request in BUF: the offset just past
 * its terminating empty line, 0 if the request is not complete yet.
 */
size_t policy_request_end(const char *buf, size_t len);

/*
 * Parse one complete request (BUF[0..LEN), as delimited by policy_request_end)
 * in place: newlines become NULs and REQ points into BUF.  0 on success;
 * -1 on malformed input, with a short reason in *WHY.
 */
int policy_request_parse(char *buf, size_t len, struct policy_request *req, const char **why);

/* The facts decide() needs from a request (pointers into REQ). */
void policy_request_facts(const struct policy_request *req, struct facts *f);

/* Format the reply for V into BUF: "action=...\n\n"; returns its length. */
size_t policy_reply_format(const struct verdict *v, char *buf, size_t len);

#endif
