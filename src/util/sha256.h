/*
 * sha256 -- SHA-256 (FIPS 180-4), one-shot.  Used to store API tokens as
 * their hash: a token is 32 random bytes, so an unsalted hash of it cannot be
 * reversed or guessed, and a stolen store yields no usable token.
 */
#ifndef OUTPOST_SHA256_H
#define OUTPOST_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);

#endif
