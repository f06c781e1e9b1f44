/*
 * fuzz_conf -- libFuzzer target for the configuration loader: the input is
 * written to a file in a private directory and given to conf_load() (libconfig
 * syntax, then the schema's types, bounds and checks).  A file that loads
 * must respect the schema's bounds and dump without trouble; one that does
 * not must say why as "file:line: message".  Inputs with @include are skipped:
 * an include reads other files, which is not the parser's input.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

/* A private directory holding the one file each input is written to. */
static const char *
input_path(void)
{
	static char dir[] = "/tmp/fuzz_conf.XXXXXX";

	if (path[0] == '\0') {
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(path, sizeof(path), "%s/outpost.conf", dir);
	}
	return path;
}

/* What a loaded configuration must look like whatever the file said. */
static void
check_loaded(const struct conf *c)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *fp;

	if (c->store.map_size < (1 << 20) || c->policy.workers < 0 || c->store.max_readers < 1 ||
	    c->file == NULL || c->dir == NULL || c->store.path == NULL)
		abort();
	if ((fp = open_memstream(&out, &outlen)) == NULL)
		abort();
	conf_dump(c, fp);
	fclose(fp);
	if (outlen == 0)
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024] = "";
	struct conf *c;
	FILE *fp;

	if (memmem(data, size, "@include", 8) != NULL)
		return 0;
	if ((fp = fopen(input_path(), "wb")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, fp) != size)
		abort();
	fclose(fp);
	c = conf_load(path, err, sizeof(err));
	if (c != NULL)
		check_loaded(c);
	else if (strncmp(err, path, strlen(path)) != 0 || err[strlen(path)] != ':')
		abort(); /* every refusal names the file (and line) */
	conf_free(c);
	return 0;
}
