/*
 * text -- small pure helpers for the values operators type and tools read:
 * durations, RFC 3339 times, sizes, lower-casing.  No I/O, no clock except
 * where a "now" is passed in.
 */
#ifndef OUTPOST_TEXT_H
#define OUTPOST_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* "45s", "90m", "12h", "30d", "2w" or a bare number of seconds.  0 on success, -1 on bad input. */
int text_duration_parse(const char *s, int64_t *secs_r);
/* "64M", "1G", "4096" (bytes; K/M/G/T are powers of 1024).  0 on success, -1 on bad input. */
int text_size_parse(const char *s, uint64_t *bytes_r);
/*
 * A rate "N/s", "N/m", "N/h" or "N/d" (N a positive integer): *COUNT per
 * *PERIOD seconds.  "none", "" and "0" are no limit (*COUNT 0).  0 on
 * success, -1 on bad input.
 */
int text_rate_parse(const char *s, int64_t *count, int64_t *period);
/* A count of recipients: a non-negative integer, "none" or "" (0: no limit). */
int text_count_parse(const char *s, int64_t *count);
/* RFC 3339 ("2026-11-24T13:05:00Z", offsets allowed, fraction ignored) or a date "2026-11-24". */
int text_time_parse(const char *s, int64_t *epoch_r);
/* An expiry: a duration from NOW, or an absolute RFC 3339 time. */
int text_expiry_parse(const char *s, int64_t now, int64_t *epoch_r);
/* Format EPOCH as RFC 3339 UTC, seconds precision, into BUF (>= 21 bytes). */
char *text_time_format(int64_t epoch, char *buf, size_t len);
/* Format milliseconds since the epoch as RFC 3339 UTC with milliseconds (>= 25 bytes). */
char *text_time_format_ms(int64_t epoch_ms, char *buf, size_t len);
/* Lower-case ASCII in place; returns S. */
char *text_lower(char *s);
/* Copy SRC into DST of size LEN, always NUL-terminated; returns 0 if it fit, -1 if truncated. */
int text_copy(char *dst, size_t len, const char *src);
/* True when S is a plain token: 1..MAXLEN bytes of [A-Za-z0-9._@+-]. */
int text_is_token(const char *s, size_t maxlen);

#endif
