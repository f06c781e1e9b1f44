/*
 * xalloc -- allocators that never return NULL: out of memory is fatal.
 * Callers never check their results.
 */
#ifndef OUTPOST_XALLOC_H
#define OUTPOST_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
