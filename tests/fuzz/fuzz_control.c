/*
 * fuzz_control -- libFuzzer target for the master's control protocol: what a
 * peer on the control socket sends (at most CONTROL_MAX_LINE bytes are read)
 * must parse to a known command only when its first line is exactly that
 * command, and every command's name must parse back to it.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "master/control_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Is the first line of BUF[0..LEN) (without its LF or CRLF) exactly WORD? */
static int
line_is(const char *buf, size_t len, const char *word)
{
	size_t n = strlen(word);

	if (len < n || memcmp(buf, word, n) != 0)
		return 0;
	return len == n || buf[n] == '\n' ||
	       (buf[n] == '\r' && (len == n + 1 || buf[n + 1] == '\n'));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t len = size < CONTROL_MAX_LINE ? size : CONTROL_MAX_LINE;
	enum control_cmd c = control_parse(buf, len);

	if (c != CONTROL_BAD && c != CONTROL_STATUS && c != CONTROL_RELOAD)
		abort();
	if ((c == CONTROL_STATUS) != line_is(buf, len, "status") ||
	    (c == CONTROL_RELOAD) != line_is(buf, len, "reload"))
		abort();
	if (control_parse(control_cmd_name(c), strlen(control_cmd_name(c))) != c)
		abort();
	return 0;
}
