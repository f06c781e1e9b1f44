/*
 * from_header -- the domain of the first mailbox of an RFC 5322 From: header.
 *
 * Pure (bytes in, domain out): no allocation, no locale.  Lenient, as a
 * filter must be with what clients send: display names (atoms or quoted
 * strings), comments (nested, with quoted pairs), angle brackets, an
 * obsolete source route (<@a,@b:user@dom>), group syntax ("team: a@x, b@y;"),
 * folded lines (CR, LF and tabs are white space) and several addresses: the
 * first mailbox decides.  An empty group is passed over; a first mailbox
 * without a usable domain (no '@', a domain literal, not a host name) gives
 * no domain at all -- a later mailbox is never used instead.
 */
#ifndef OUTPOST_FROM_HEADER_H
#define OUTPOST_FROM_HEADER_H

#include <stddef.h>

/*
 * The lower-cased domain (a trailing dot dropped) of the first mailbox in
 * VALUE[0..LEN) into OUT; 0, or -1 (OUT "") when there is none.
 */
int from_header_domain(const char *value, size_t len, char *out, size_t outlen);

#endif
