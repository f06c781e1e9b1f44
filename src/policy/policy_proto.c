/* policy_proto -- policy request parser and reply formatter; see policy_proto.h. */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_proto.h"
#include "util/log.h"

static const struct {
	const char *name;
	size_t off;
} attrs[] = {
#define A(n)                                           \
	{                                              \
#n, offsetof(struct policy_request, n) \
	}
    A(request),
    A(protocol_state),
    A(protocol_name),
    A(helo_name),
    A(queue_id),
    A(sender),
    A(recipient),
    A(recipient_count),
    A(client_address),
    A(client_name),
    A(reverse_client_name),
    A(instance),
    A(sasl_method),
    A(sasl_username),
    A(sasl_sender),
    A(size),
    A(ccert_subject),
    A(ccert_issuer),
    A(ccert_fingerprint),
    A(ccert_pubkey_fingerprint),
    A(encryption_protocol),
    A(encryption_cipher),
    A(encryption_keysize),
    A(etrn_domain),
    A(stress),
    A(client_port),
    A(policy_context),
    A(server_address),
    A(server_port),
    A(compatibility_level),
    A(mail_version),
    A(tls_sni),
#undef A
};

size_t
policy_request_end(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;

	/* The request ends at the first line that is empty (or only a CR). */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return 0;
		if (nl == p || (nl == p + 1 && *p == '\r'))
			return (size_t)(nl + 1 - buf);
		p = nl + 1;
	}
	return 0;
}

/*
 * Store VALUE for attribute NAME if it is one we know.  Postfix sends the
 * attributes in the order of the table, so *HINT (the slot after the last
 * match) is tried first: one comparison per attribute instead of a scan.
 */
static void
set_attr(struct policy_request *req, const char *name, const char *value, size_t *hint)
{
	const size_t n = sizeof(attrs) / sizeof(attrs[0]);

	for (size_t k = 0; k < n; k++) {
		size_t i = (*hint + k) % n;
		if (strcmp(attrs[i].name, name) == 0) {
			*(const char **)((char *)req + attrs[i].off) = value;
			*hint = i + 1;
			return;
		}
	}
}

int
policy_request_parse(char *buf, size_t len, struct policy_request *req, const char **why)
{
	char *p = buf, *end = buf + len;
	size_t hint = 0;

	memset(req, 0, sizeof(*req));
	if (memchr(buf, '\0', len) != NULL) {
		*why = "NUL byte in request";
		return -1;
	}
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *eq;
		if (nl == NULL) {
			*why = "request not terminated by an empty line";
			return -1;
		}
		*nl = '\0';
		if (nl > p && nl[-1] == '\r')
			nl[-1] = '\0';
		if (*p == '\0')
			break; /* the empty line */
		if ((eq = strchr(p, '=')) == NULL || eq == p) {
			*why = eq ? "attribute with an empty name" : "line without '='";
			return -1;
		}
		*eq = '\0';
		set_attr(req, p, eq + 1, &hint);
		req->nattrs++;
		p = nl + 1;
	}
	if (req->request == NULL || strcmp(req->request, "smtpd_access_policy") != 0) {
		*why = req->nattrs ? "no request=smtpd_access_policy" : "empty request";
		return -1;
	}
	return 0;
}

static int
stage_of(const char *state)
{
	static const struct {
		const char *name;
		int stage;
	} map[] = {
	    {"RCPT", STAGE_RCPT},
	    {"END-OF-MESSAGE", STAGE_EOM},
	    {"DATA", STAGE_DATA},
	    {"MAIL", STAGE_MAIL},
	};

	if (state == NULL)
		return STAGE_OTHER;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].name, state) == 0)
			return map[i].stage;
	return STAGE_OTHER;
}

void
policy_request_facts(const struct policy_request *req, struct facts *f)
{
	memset(f, 0, sizeof(*f));
	f->stage = stage_of(req->protocol_state);
	f->door = DOOR_POLICY;
	f->queue_id = req->queue_id ? req->queue_id : "";
	f->instance = req->instance ? req->instance : "";
	f->sender = req->sender ? req->sender : "";
	f->recipient = req->recipient && *req->recipient ? req->recipient : NULL;
	f->sasl_username = req->sasl_username ? req->sasl_username : "";
	f->client_address = req->client_address ? req->client_address : "";
	f->recipient_count =
	    req->recipient_count ? (unsigned)strtoul(req->recipient_count, NULL, 10) : 0;
}

size_t
policy_reply_format(const struct verdict *v, char *buf, size_t len)
{
	int n;

	switch (v->kind) {
	case VK_TEMPFAIL:
	case VK_REJECT:
		n = snprintf(buf, len, "action=%s %s %s\n\n", v->code, v->dsn, v->text);
		break;
	case VK_HOLD:
		n = snprintf(buf, len, "action=HOLD %s\n\n", v->text);
		break;
	default:
		n = snprintf(buf, len, "action=DUNNO\n\n");
	}
	if (n < 0 || (size_t)n >= len) {
		/* Never send a truncated line: fall back to the bare action. */
		if (v->kind == VK_HOLD || !v->code[0])
			n = snprintf(buf, len, "action=%s\n\n",
				     v->kind == VK_HOLD ? "HOLD" : "DUNNO");
		else
			n = snprintf(buf, len, "action=%s %s %s\n\n", v->code, v->dsn,
				     v->rule ? v->rule : "refused");
		if (n < 0 || (size_t)n >= len)
			log_bug("policy reply buffer of %zu bytes", len);
	}
	return (size_t)n;
}
