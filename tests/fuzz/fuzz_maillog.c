/*
 * fuzz_maillog -- libFuzzer target for the Postfix log line parser: the whole
 * input as one line, then each of its '\n'-separated lines, every one copied
 * to a buffer of exactly its length (no NUL after it) so that ASan catches
 * any read past LEN.  Whatever parses must keep its strings inside the record
 * and carry the fields its kind promises.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feedback/maillog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define F(f) offsetof(struct maillog_rec, f)
static const size_t strings[] = {
    F(host),	    F(syslog_name), F(process),	      F(queue_id),    F(client_name),
    F(client_addr), F(sasl_method), F(sasl_username), F(sasl_sender), F(orig_queue_id),
    F(orig_client), F(orig_id),	    F(message_id),    F(from),	      F(to),
    F(orig_to),	    F(relay),	    F(delays),	      F(tls),	      F(dsn),
    F(status_word), F(text),	    F(new_queue_id),  F(stage),	      F(code),
    F(proto),	    F(helo),
};

/* Every string is NUL-terminated inside the record's buffer, and no longer than the line. */
static void
check_strings(const struct maillog_rec *r, size_t len)
{
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		const char *s = *(const char *const *)((const char *)r + strings[i]);
		if (s == NULL)
			continue;
		if (s < r->buf_ || s >= r->buf_ + r->used_ || s + strlen(s) >= r->buf_ + r->used_ ||
		    strlen(s) > len)
			abort();
	}
}

/* What each kind promises (maillog.h). */
static void
check_kind(const struct maillog_rec *r)
{
	if (r->kind != MAILLOG_REJECT && r->queue_id == NULL)
		abort();
	if (r->syslog_name == NULL || r->process == NULL || r->host == NULL)
		abort();
	switch (r->kind) {
	case MAILLOG_DELIVERY:
		if (!r->to || !r->relay || !r->dsn || !r->status_word || !r->text || !r->delays)
			abort();
		break;
	case MAILLOG_QMGR_FROM:
	case MAILLOG_QMGR_EXPIRED:
	case MAILLOG_PICKUP:
		if (!r->from)
			abort();
		break;
	case MAILLOG_BOUNCE_NOTICE:
		if (!r->new_queue_id || !r->notice)
			abort();
		break;
	case MAILLOG_REJECT:
		if (!r->stage || !r->action || (!r->truncated && r->client_name == NULL))
			abort();
		break;
	case MAILLOG_SMTPD_CLIENT:
		if (!r->client_name)
			abort();
		break;
	case MAILLOG_CLEANUP_MSGID:
		if (!r->message_id)
			abort();
		break;
	default:
		break;
	}
}

/* Parse DATA[0..LEN) from a heap copy of exactly LEN bytes. */
static void
one(const uint8_t *data, size_t len)
{
	static struct maillog_rec r, again;
	char *line = malloc(len ? len : 1);
	int kind;

	memcpy(line, data, len);
	kind = maillog_parse(line, len, 1795564800, &r);
	if (kind < MAILLOG_MALFORMED || kind > MAILLOG_REJECT || (int)r.kind != kind)
		abort();
	if (maillog_parse(line, len, 1795564800, &again) != kind)
		abort(); /* no hidden state */
	if (kind > 0) {
		check_strings(&r, len);
		check_kind(&r);
	}
	free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *nl;

	one(data, size);
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		one(p, (size_t)(nl - p));
		p = nl + 1;
	}
	if (p > data && p < end)
		one(p, (size_t)(end - p));
	return 0;
}
