/*
 * fuzz_import -- libFuzzer target for suppression import lines: the first
 * byte picks CSV or JSON lines, the rest is one record.  Whatever parses must
 * write back and parse again to the same entry.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suppress/suppress_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum sio_format fmt;
	struct sio_entry e, again;
	char err[256], *out = NULL;
	size_t outlen = 0;
	FILE *fp;

	if (size < 1)
		return 0;
	fmt = data[0] & 1 ? SIO_JSONL : SIO_CSV;
	if (sio_parse_line(fmt, (const char *)data + 1, size - 1, 1700000000, &e, err,
			   sizeof(err)) != 1)
		return 0;
	if ((fp = open_memstream(&out, &outlen)) == NULL)
		return 0;
	sio_write(fp, fmt, &e);
	fclose(fp);
	if (outlen == 0 || out[outlen - 1] != '\n' ||
	    sio_parse_line(fmt, out, outlen - 1, 1700000000, &again, err, sizeof(err)) != 1 ||
	    strcmp(e.target, again.target) != 0 || strcmp(e.scope, again.scope) != 0 ||
	    e.reason != again.reason || e.expires != again.expires)
		abort(); /* export | import must round-trip */
	free(out);
	return 0;
}
