/*
 * suppress_io -- suppression entries as text: CSV and JSON lines, for import
 * and export.  Pure: a reader takes bytes and returns entries; no store.
 *
 * CSV (RFC 4180 subset: quoted fields with "" escapes, CRLF or LF):
 *     address,reason[,account[,expires]]
 * A first line whose first field is "address" is a header and is skipped.
 * reason defaults to "manual"; account empty means the global list; expires
 * is empty, an RFC 3339 time or a duration from now ("30d").
 * JSON lines: one object a line with the same field names
 * ({"address": ..., "reason": ..., "account": ..., "expires": ...}).
 * Export writes the same shapes, so export | import round-trips.
 */
#ifndef OUTPOST_SUPPRESS_IO_H
#define OUTPOST_SUPPRESS_IO_H

#include <stdint.h>
#include <stdio.h>

#include "store/records.h"

enum sio_format { SIO_CSV, SIO_JSONL };

struct sio_entry {
	char scope[ACCOUNT_NAME_MAX]; /* "" global */
	char target[ADDRESS_MAX];     /* normalised */
	int reason;
	int64_t expires; /* 0 none */
	int64_t created; /* 0 unknown (import: now) */
};

/*
 * Parse one line (without its newline) in FORMAT.  Returns 1 for an entry,
 * 0 for a line to skip silently (blank, CSV header), -1 for a bad line with
 * the reason in ERR.  NOW resolves relative expiries.
 */
int sio_parse_line(enum sio_format fmt, const char *line, size_t len, int64_t now,
		   struct sio_entry *e, char *err, size_t errlen);

/*
 * Read the next logical line from FP into *BUF (grown as needed): a CSV
 * record may span lines inside quotes.  Returns its length, -1 at EOF.
 * LINENO is advanced by the physical lines read.
 */
ssize_t sio_read_record(FILE *fp, enum sio_format fmt, char **buf, size_t *cap,
			unsigned long *lineno);

/* Write one entry in FORMAT to FP (a CSV header is written by sio_write_header). */
void sio_write_header(FILE *fp, enum sio_format fmt);
void sio_write(FILE *fp, enum sio_format fmt, const struct sio_entry *e);

#endif
