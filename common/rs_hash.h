/* rs_hash: the small hash and random functions several modules need, defined once.
 * Header-only (static inline): each is a few lines on a hot path.
 *
 * rs_fnv1a64: FNV-1a 64-bit of n bytes, continuing from h (RS_FNV1A64_INIT to start);
 * rs_fnv1a64_str: the same over a NUL-terminated string from RS_FNV1A64_INIT.
 * rs_splitmix64: Steele, Lea and Flood's SplitMix64: advances *state, returns the next value
 * (a seeded, reproducible stream; every seeded generator of the trainer draws from it). */
#ifndef RS_HASH_H
#define RS_HASH_H

#include <stddef.h>
#include <stdint.h>

#define RS_FNV1A64_INIT 0xcbf29ce484222325ULL /* the FNV-1a 64-bit offset basis */

static inline uint64_t
rs_fnv1a64(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL; /* the FNV 64-bit prime */
	}
	return h;
}

static inline uint64_t
rs_fnv1a64_str(const char *s)
{
	uint64_t h = RS_FNV1A64_INIT;
	for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static inline uint64_t
rs_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#endif
