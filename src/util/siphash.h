/*
 * siphash -- SipHash-2-4 (Aumasson, Bernstein 2012): a keyed 64-bit hash.
 * Used where a short tag must not let outsiders guess or compare the input
 * (the Feedback-ID %h of an account name).
 */
#ifndef OUTPOST_SIPHASH_H
#define OUTPOST_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t siphash24(const uint8_t key[16], const void *data, size_t len);

#endif
