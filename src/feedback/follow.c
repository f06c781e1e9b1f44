/* follow -- rotation-safe log file reader; see follow.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "follow.h"
#include "util/log.h"
#include "util/xalloc.h"

#define BUF_MAX 16384 /* the longest line handed over whole */
#define HEAD_MAX 256
#define MISSING_WARN_SECS 60

struct follow {
	char *path;
	int fd; /* -1: no file open */
	uint64_t dev, ino;
	uint64_t pos; /* file offset just past the last line handed over */
	char *buf;    /* file bytes [pos, pos + len) are buf[start .. start + len) */
	size_t start, len;
	int skipping;	   /* the rest of a too long line is being skipped */
	uint32_t head_len; /* cached hash of the file's first head_len bytes */
	uint64_t head_hash;
	time_t missing_warned;
};

static uint64_t
fnv1a(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

/* Hash of the first N bytes of FD; -1 if they can't all be read. */
static int
head_hash(int fd, uint32_t n, uint64_t *hash)
{
	char buf[HEAD_MAX];

	if (n > HEAD_MAX || pread(fd, buf, n, 0) != (ssize_t)n)
		return -1;
	*hash = fnv1a(buf, n);
	return 0;
}

struct follow *
follow_create(const char *path)
{
	struct follow *f = xcalloc(1, sizeof(*f));

	f->path = xstrdup(path);
	f->fd = -1;
	f->buf = xmalloc(BUF_MAX);
	return f;
}

void
follow_destroy(struct follow *f)
{
	if (f == NULL)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f->buf);
	free(f->path);
	free(f);
}

/* Forget what was read and start over at OFFSET of the open file. */
static void
reset(struct follow *f, uint64_t offset)
{
	f->pos = offset;
	f->start = f->len = 0;
	f->skipping = 0;
	f->head_len = 0;
}

/* Open PATH as the file followed, from its start; -1 (errno set) if it can't be. */
static int
open_file(struct follow *f, const char *path)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) < 0) {
		close(fd);
		return -1;
	}
	if (f->fd >= 0)
		close(f->fd);
	f->fd = fd;
	f->dev = (uint64_t)sb.st_dev;
	f->ino = (uint64_t)sb.st_ino;
	reset(f, 0);
	return 0;
}

static void
warn_missing(struct follow *f)
{
	time_t now = time(NULL);

	if (now - f->missing_warned < MISSING_WARN_SECS)
		return;
	f->missing_warned = now;
	log_warn("feedback: cannot open %s (waiting for it)", f->path);
}

/* Does the open file, or PATH, hold the stored POS? */
static int
pos_matches(int fd, const struct maillog_pos_rec *pos)
{
	struct stat sb;
	uint64_t h;

	return fstat(fd, &sb) == 0 && (uint64_t)sb.st_dev == pos->dev &&
	       (uint64_t)sb.st_ino == pos->ino && (uint64_t)sb.st_size >= pos->offset &&
	       head_hash(fd, pos->head_len, &h) == 0 && h == pos->head_hash;
}

/* Resume in PATH at POS if it is the stored file; 1 if so. */
static int
resume_in(struct follow *f, const char *path, const struct maillog_pos_rec *pos)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return 0;
	ok = pos_matches(fd, pos);
	close(fd);
	if (!ok || open_file(f, path) < 0)
		return 0;
	reset(f, pos->offset);
	return 1;
}

void
follow_resume(struct follow *f, const struct maillog_pos_rec *pos, char *what, size_t len)
{
	char *rotated = xasprintf("%s.1", f->path);

	if (pos && resume_in(f, f->path, pos))
		snprintf(what, len, "resuming %s at offset %llu", f->path,
			 (unsigned long long)pos->offset);
	else if (pos && resume_in(f, rotated, pos))
		snprintf(what, len, "%s was rotated while stopped: finishing %s from offset %llu",
			 f->path, rotated, (unsigned long long)pos->offset);
	else if (open_file(f, f->path) == 0)
		snprintf(what, len, "reading %s from its start (%s)", f->path,
			 pos ? "not the file of the stored position" : "no stored position");
	else
		snprintf(what, len, "waiting for %s to appear", f->path);
	free(rotated);
}

enum eof_verdict { EOF_STAY, EOF_AGAIN, EOF_ROTATED };

/* At the end of the open file: has it been truncated, replaced or rotated? */
static int
at_eof(struct follow *f)
{
	struct stat fs, ps;

	if (fstat(f->fd, &fs) == 0 && (uint64_t)fs.st_size < f->pos + f->len) {
		log_warnx("feedback: %s was truncated (%lld bytes, %llu read): reading it from its "
			  "start",
			  f->path, (long long)fs.st_size, (unsigned long long)(f->pos + f->len));
		reset(f, 0);
		return EOF_AGAIN;
	}
	if (stat(f->path, &ps) < 0)
		return EOF_STAY; /* renamed away, no new file yet: the old one may still grow */
	if ((uint64_t)ps.st_dev == f->dev && (uint64_t)ps.st_ino == f->ino)
		return EOF_STAY;
	return EOF_ROTATED;
}

/* A file rewritten in place (its first bytes changed) is read again from its start. */
static void
check_head(struct follow *f)
{
	uint64_t h;

	if (f->head_len && (head_hash(f->fd, f->head_len, &h) < 0 || h != f->head_hash)) {
		log_warnx("feedback: %s was rewritten in place: reading it from its start",
			  f->path);
		reset(f, 0);
	}
}

/* Hand over the complete lines in the buffer, up to MAX in all; -1 if FN failed. */
static int
hand_over(struct follow *f, size_t max, size_t *lines, follow_line_fn fn, void *arg)
{
	char *p, *nl;

	while (*lines < max && (nl = memchr(p = f->buf + f->start, '\n', f->len))) {
		size_t n = (size_t)(nl - p) + 1;
		if (!f->skipping) {
			if (fn(p, n, arg) < 0)
				return -1;
			(*lines)++;
		}
		f->skipping = 0;
		f->start += n;
		f->len -= n;
		f->pos += n;
	}
	return 0;
}

/* The buffer is one line too long to hold: hand over its start, skip the rest. */
static int
cut_long_line(struct follow *f, size_t *lines, follow_line_fn fn, void *arg)
{
	if (!f->skipping) {
		if (fn(f->buf + f->start, f->len, arg) < 0)
			return -1;
		(*lines)++;
	}
	f->skipping = 1;
	f->pos += f->len;
	f->start = f->len = 0;
	return 0;
}

/* Switch to the file now at the path, after handing over the old one's unterminated end. */
static int
rotate(struct follow *f, size_t *lines, follow_line_fn fn, void *arg)
{
	if (f->len && !f->skipping) {
		if (fn(f->buf + f->start, f->len, arg) < 0)
			return -1;
		(*lines)++;
	}
	log_info("feedback: %s was rotated: reading the new file from its start", f->path);
	if (open_file(f, f->path) < 0) {
		warn_missing(f);
		reset(f, f->pos + f->len); /* keep the old file; try again next time */
	}
	return 0;
}

int
follow_read(struct follow *f, size_t max, follow_line_fn fn, void *arg)
{
	size_t lines = 0;
	ssize_t n;

	if (f->fd < 0 && open_file(f, f->path) < 0) {
		warn_missing(f);
		return 0;
	}
	f->missing_warned = 0;
	check_head(f);
	for (;;) {
		if (hand_over(f, max, &lines, fn, arg) < 0)
			return -1;
		if (lines >= max)
			return (int)lines;
		if (f->len == BUF_MAX && cut_long_line(f, &lines, fn, arg) < 0)
			return -1;
		memmove(f->buf, f->buf + f->start, f->len);
		f->start = 0;
		n = pread(f->fd, f->buf + f->len, BUF_MAX - f->len, (off_t)(f->pos + f->len));
		if (n > 0) {
			f->len += (size_t)n;
			continue;
		}
		if (n < 0)
			log_warn("feedback: read %s", f->path);
		switch (n < 0 ? EOF_STAY : at_eof(f)) {
		case EOF_STAY:
			return (int)lines;
		case EOF_ROTATED:
			if (rotate(f, &lines, fn, arg) < 0)
				return -1;
			break;
		}
		if (lines >= max)
			return (int)lines;
	}
}

int
follow_position(struct follow *f, struct maillog_pos_rec *pos)
{
	uint32_t want = f->pos < HEAD_MAX ? (uint32_t)f->pos : HEAD_MAX;

	if (f->fd < 0)
		return -1;
	if (want != f->head_len && head_hash(f->fd, want, &f->head_hash) == 0)
		f->head_len = want;
	pos->dev = f->dev;
	pos->ino = f->ino;
	pos->offset = f->pos;
	pos->head_len = f->head_len;
	pos->head_hash = f->head_hash;
	return 0;
}

int64_t
follow_behind(struct follow *f)
{
	struct stat sb;

	if (f->fd < 0 || fstat(f->fd, &sb) < 0)
		return -1;
	return (uint64_t)sb.st_size > f->pos ? (int64_t)((uint64_t)sb.st_size - f->pos) : 0;
}
