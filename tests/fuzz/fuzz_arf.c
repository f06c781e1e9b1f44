/*
 * fuzz_arf -- libFuzzer target for the complaint parser: the input is one
 * message given to arf_parse() whole and cut at its first blank line (a
 * report that lost its body), and each of its first lines to arf_redacted().
 * Every field must come back NUL-terminated and consistent with the status;
 * the type must agree with the Feedback-Type written; parsing is repeatable.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feedback/arf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(s) (memchr((s), '\0', sizeof(s)) != NULL)

/* Every string of R is terminated and every count within its array. */
static void
check_fields(const struct arf_report *r)
{
	if (!TERMINATED(r->feedback_type) || !TERMINATED(r->user_agent) ||
	    !TERMINATED(r->version) || !TERMINATED(r->envelope_id) || !TERMINATED(r->mail_from) ||
	    !TERMINATED(r->arrival_date) || !TERMINATED(r->reporting_mta) ||
	    !TERMINATED(r->source_ip) || !TERMINATED(r->incidents) ||
	    !TERMINATED(r->orig.message_id) || !TERMINATED(r->orig.to) ||
	    !TERMINATED(r->orig.return_path) || !TERMINATED(r->orig.feedback_id))
		abort();
	if (r->nrcpts > ARF_MAX_RCPTS || r->nuris > ARF_MAX_MULTI || r->ndomains > ARF_MAX_MULTI ||
	    r->nauth > ARF_MAX_MULTI || r->orig.nx > MIME_ORIG_XMAX)
		abort();
	for (size_t i = 0; i < r->nrcpts; i++)
		if (!TERMINATED(r->rcpts[i]) || strchr(r->rcpts[i], '@') == NULL ||
		    arf_redacted(r->rcpts[i]))
			abort(); /* a redacted complainant is never kept */
	for (size_t i = 0; i < r->ndomains; i++)
		if (!TERMINATED(r->reported_domain[i]))
			abort();
	for (size_t i = 0; i < r->nuris; i++)
		if (!TERMINATED(r->reported_uri[i]))
			abort();
}

/* Status, reason, type and redaction agree with each other. */
static void
check_status(const struct arf_report *r)
{
	if ((r->status == ARF_OK) != (r->why == NULL) ||
	    (r->status == ARF_OK && r->feedback_type[0] == '\0') ||
	    r->redacted != (r->redacted_why != NULL) ||
	    (r->status == ARF_OK && r->nrcpts == 0 && !r->redacted))
		abort();
	if (r->type != ARF_TYPE_UNKNOWN && strcmp(arf_type_name(r->type), r->feedback_type) != 0)
		abort();
	for (const char *p = r->feedback_type; *p; p++)
		if (isupper((unsigned char)*p))
			abort(); /* kept lower-case */
}

/* Parse BUF twice: the same report both times. */
static void
check_parse(const char *buf, size_t size)
{
	static struct arf_report r, again;

	arf_parse(buf, size, &r);
	check_fields(&r);
	check_status(&r);
	arf_parse(buf, size, &again);
	if (r.status != again.status || r.nrcpts != again.nrcpts || r.redacted != again.redacted ||
	    strcmp(r.feedback_type, again.feedback_type) != 0 ||
	    (r.nrcpts > 0 && strcmp(r.rcpts[0], again.rcpts[0]) != 0))
		abort();
}

/* arf_redacted() on each of the first lines, as a NUL-terminated string. */
static void
check_redacted(const char *buf, size_t size)
{
	char line[512];
	size_t off = 0;

	for (int i = 0; i < 8 && off < size; i++) {
		const char *nl = memchr(buf + off, '\n', size - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) : size - off;

		if (n < sizeof(line)) {
			memcpy(line, buf + off, n);
			line[n] = '\0';
			(void)arf_redacted(line);
		}
		off += n + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	const char *blank = memmem(buf, size, "\n\n", 2);

	check_parse(buf, size);
	if (blank != NULL)
		check_parse(buf, (size_t)(blank - buf) + 2);
	check_redacted(buf, size);
	return 0;
}
