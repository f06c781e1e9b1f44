/*
 * fuzz_from -- libFuzzer target for the From: header parser: the input is one
 * header value (bytes, NULs included).  A domain found must be a lower-case
 * host name, the same through a buffer just big enough, and none at all
 * through a buffer one byte short; no domain leaves the output empty.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dnsbl.h"
#include "milter/from_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* OUT (from a successful parse) is a lower-case host name. */
static void
check_domain(const char *out)
{
	if (!dnsbl_domain_ok(out))
		abort();
	for (const char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[256], again[256];
	size_t n;

	if (from_header_domain((const char *)data, size, out, sizeof(out)) < 0) {
		if (out[0] != '\0')
			abort();
		return 0;
	}
	check_domain(out);
	n = strlen(out);
	if (from_header_domain((const char *)data, size, again, n + 1) != 0 ||
	    strcmp(out, again) != 0)
		abort();
	if (from_header_domain((const char *)data, size, again, n) != -1 || again[0] != '\0')
		abort();
	return 0;
}
