/*
 * unit -- helpers shared by the cmocka unit tests: a private temporary
 * directory per test, files written into it, a store opened in it.
 *
 * Include after "config.h" and <cmocka.h>.  Every helper fails the running
 * test (cmocka's fail_msg) instead of returning an error.
 */
#ifndef OUTPOST_UNIT_H
#define OUTPOST_UNIT_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

/* Make a fresh directory "$TMPDIR/outpost-unit-XXXXXX"; returns a heap string. */
static inline char *
unit_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *dir;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	if (asprintf(&dir, "%s/outpost-unit-XXXXXX", base) < 0)
		fail_msg("asprintf failed");
	if (mkdtemp(dir) == NULL)
		fail_msg("mkdtemp %s: %s", dir, strerror(errno));
	return dir;
}

static inline int
unit_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove DIR and everything under it, then free the string. */
static inline void
unit_rmtree(char *dir)
{
	if (dir == NULL)
		return;
	nftw(dir, unit_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* Write TEXT to DIR/NAME; returns the heap path. */
static inline char *
unit_write_file(const char *dir, const char *name, const char *text)
{
	char *path;
	FILE *fp;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		fail_msg("asprintf failed");
	if ((fp = fopen(path, "w")) == NULL)
		fail_msg("fopen %s: %s", path, strerror(errno));
	fputs(text, fp);
	if (fclose(fp) != 0)
		fail_msg("fclose %s: %s", path, strerror(errno));
	return path;
}

/* Write a config file DIR/outpost.conf holding TEXT; returns its heap path. */
static inline char *
unit_write_conf(const char *dir, const char *text)
{
	return unit_write_file(dir, "outpost.conf", text);
}

/* Open (creating) a store in DIR/db with an initial map of MAP_SIZE bytes. */
static inline struct store *
unit_store_open(const char *dir, int64_t map_size)
{
	struct store_opts opts = {.map_size = map_size, .max_readers = 126, .create = 1};
	char path[4096], err[512];
	struct store *st;

	snprintf(path, sizeof(path), "%s/db", dir);
	st = store_open(path, &opts, err, sizeof(err));
	if (st == NULL)
		fail_msg("store_open %s: %s", path, err);
	return st;
}

/* The fixture of the store-backed tests: a private directory and a 16 MiB store in it. */
struct unit_fx {
	char *dir;
	struct store *st;
};

static inline int
unit_store_setup(void **state)
{
	struct unit_fx *fx = calloc(1, sizeof(*fx));

	fx->dir = unit_tmpdir();
	fx->st = unit_store_open(fx->dir, 16 << 20);
	*state = fx;
	return 0;
}

static inline int
unit_store_teardown(void **state)
{
	struct unit_fx *fx = *state;

	store_close(fx->st);
	unit_rmtree(fx->dir);
	free(fx);
	return 0;
}

#endif
