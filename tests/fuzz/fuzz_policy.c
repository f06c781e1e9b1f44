/*
 * fuzz_policy -- libFuzzer target for the policy protocol: request framing,
 * parsing, the facts mapping and the reply formatter, on arbitrary bytes.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	size_t off = 0, end;

	memcpy(buf, data, size);
	while ((end = policy_request_end(buf + off, size - off)) > 0) {
		struct policy_request req;
		struct facts f;
		struct verdict v = {0};
		const char *why;
		char reply[1024];

		if (end > size - off)
			abort();
		if (policy_request_parse(buf + off, end, &req, &why) == 0) {
			policy_request_facts(&req, &f);
			v.kind = f.stage == STAGE_RCPT ? VK_REJECT : VK_PASS;
			strcpy(v.code, "550");
			strcpy(v.dsn, "5.7.1");
			snprintf(v.text, sizeof(v.text), "%s", f.recipient ? f.recipient : "-");
			size_t n = policy_reply_format(&v, reply, sizeof(reply));
			if (n < 10 || memcmp(reply, "action=", 7) != 0 ||
			    memcmp(reply + n - 2, "\n\n", 2) != 0 || memchr(reply, '\n', n - 2))
				abort(); /* a reply is always exactly one line */
		}
		off += end;
	}
	free(buf);
	return 0;
}
