/*
 * follow -- a rotation-safe reader of a growing log file (the Postfix log).
 *
 * follow_read() hands over complete lines, at most MAX per call, so that the
 * caller can commit their effect together with follow_position() in one store
 * transaction: a restart resumes exactly after the last line committed.  A
 * last line without its newline is kept until the newline arrives.
 *
 * The file is known by its identity (st_dev, st_ino) and a hash of its first
 * bytes (up to 256), which tells a new file that reuses the inode apart.
 *   rotation    the path names another file: the old one is read to its end
 *               (an unterminated last line is handed over as it is), then the
 *               new one from its start;
 *   truncation  the file is shorter than what was read, or its first bytes
 *               changed: read again from the start;
 *   missing     nothing to read; a warning at most once a minute;
 *   resume      at the stored offset if the path still names the stored file,
 *               else in PATH.1 if that is it (rotated by logrotate while we
 *               were stopped: its rest is read first), else from the start.
 * A line longer than 16 KiB is handed over cut, its rest skipped.
 */
#ifndef OUTPOST_FOLLOW_H
#define OUTPOST_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include "store/records.h"

struct follow;

/* FN returns 0, or -1 to stop reading (follow_read then returns -1). */
typedef int (*follow_line_fn)(const char *line, size_t len, void *arg);

struct follow *follow_create(const char *path);
void follow_destroy(struct follow *f);
/* Start at POS (NULL: none stored); writes how it started into WHAT, for the log. */
void follow_resume(struct follow *f, const struct maillog_pos_rec *pos, char *what, size_t len);
/* Hand over up to MAX complete lines.  Returns how many, or -1 if FN failed. */
int follow_read(struct follow *f, size_t max, follow_line_fn fn, void *arg);
/* The position just past the last line handed over; -1 if no file is open. */
int follow_position(struct follow *f, struct maillog_pos_rec *pos);
/* Bytes of the open file not handed over yet (its size now less the position); -1 if none open. */
int64_t follow_behind(struct follow *f);

#endif
