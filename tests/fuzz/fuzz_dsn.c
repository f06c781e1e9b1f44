/*
 * fuzz_dsn -- libFuzzer target for the bounce and complaint parsers: the
 * input is one message, given to dsn_parse() (with and without a VERP
 * envelope recipient), to arf_parse() and, split the same way, to mime_parse().
 * Its first line is also given to verp_decode(), whose result must encode back
 * to an address that decodes the same.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedback/arf.h"
#include "feedback/dsn.h"
#include "feedback/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(s) (memchr((s), '\0', sizeof(s)) != NULL)

static void
check_dsn(const char *buf, size_t size, const char *env)
{
	struct dsn_report r;

	dsn_parse(buf, size, env, "+=", &r);
	if ((r.status == DSN_OK) != (r.nrcpts > 0) || r.nrcpts > DSN_MAX_RCPTS ||
	    (r.status != DSN_OK && r.why == NULL) || (r.heuristic && r.status != DSN_OK))
		abort();
	if (!TERMINATED(r.reporting_mta) || !TERMINATED(r.queue_id) || !TERMINATED(r.sender) ||
	    !TERMINATED(r.orig.message_id) || !TERMINATED(r.orig.to) || r.orig.nx > MIME_ORIG_XMAX)
		abort();
	for (size_t i = 0; i < r.nrcpts; i++) {
		const struct dsn_rcpt *rc = &r.rcpts[i];
		if (!TERMINATED(rc->final_rcpt) || !TERMINATED(rc->diag) ||
		    !TERMINATED(rc->status) ||
		    (rc->status[0] && strchr("245", rc->status[0]) == NULL) ||
		    (rc->reply_code[0] && strlen(rc->reply_code) != 3))
			abort();
	}
	dsn_report_deinit(&r);
}

static void
check_arf(const char *buf, size_t size)
{
	static struct arf_report r;

	arf_parse(buf, size, &r);
	if ((r.status == ARF_OK) != (r.why == NULL) ||
	    (r.status == ARF_OK && r.feedback_type[0] == '\0') || r.nrcpts > ARF_MAX_RCPTS ||
	    r.nuris > ARF_MAX_MULTI || r.ndomains > ARF_MAX_MULTI || r.nauth > ARF_MAX_MULTI ||
	    r.redacted != (r.redacted_why != NULL) ||
	    (r.status == ARF_OK && r.nrcpts == 0 && !r.redacted))
		abort();
	for (size_t i = 0; i < r.nrcpts; i++)
		if (!TERMINATED(r.rcpts[i]) || strchr(r.rcpts[i], '@') == NULL)
			abort();
}

static void
check_mime(const char *buf, size_t size)
{
	struct mime *m = mime_parse(buf, size);

	if (mime_nparts(m) < 1 || mime_nparts(m) > MIME_MAX_PARTS)
		abort();
	for (size_t i = 0; i < mime_nparts(m); i++) {
		const struct mime_part *p = mime_part(m, i);
		if (p->depth > MIME_MAX_DEPTH || p->parent >= (int)i || (i > 0 && p->parent < 0) ||
		    (p->body_len > 0 && p->body == NULL))
			abort();
	}
	mime_destroy(m);
}

/* Decode the first line as VERP; what decodes must encode back to the same. */
static void
check_verp(const char *buf, size_t size)
{
	char addr[400], again[800], account[128], rcpt[320], account2[128], rcpt2[320];
	const char *nl = memchr(buf, '\n', size), *at;
	size_t n = nl ? (size_t)(nl - buf) : size;

	if (n >= sizeof(addr))
		return;
	memcpy(addr, buf, n);
	addr[n] = '\0';
	if (verp_decode(addr, NULL, account, sizeof(account), rcpt, sizeof(rcpt)) != 0)
		return;
	if ((at = strrchr(rcpt, '@')) == NULL || strchr(account, '=') != NULL)
		abort();
	if (account[0] == '\0')
		return;
	snprintf(again, sizeof(again), "p+%s=%.*s=%s@h", account, (int)(at - rcpt), rcpt, at + 1);
	if (verp_decode(again, NULL, account2, sizeof(account2), rcpt2, sizeof(rcpt2)) != 0 ||
	    strcmp(account, account2) != 0 || strcmp(rcpt, rcpt2) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;

	check_dsn(buf, size, NULL);
	check_dsn(buf, size, "bounces+acct1=user=example.com@bounce.platform.test");
	check_arf(buf, size);
	check_mime(buf, size);
	check_verp(buf, size);
	return 0;
}
