/* rs_strmap: the one string-keyed hash table: interns byte strings to dense indexes
 * 0..n-1 in order of first sight (open addressing, linear probing, power-of-two slots kept
 * at most half full, FNV-1a from rs_hash.h). The table owns copies of the strings; a set is
 * the same table with the indexes ignored, a map to values keeps them in an array by index.
 * Keys are exact byte strings (a NUL inside one is part of it). Not thread-safe; const
 * functions may run concurrently with each other. */
#ifndef RS_STRMAP_H
#define RS_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct rs_strmap {
	char *sm_pool; /* the strings, each NUL-terminated, back to back */
	size_t sm_used, sm_poolcap;
	size_t *sm_off;    /* sm_off[i]: offset of string i in sm_pool */
	uint32_t *sm_hash; /* sm_hash[i]: 32-bit hash of string i */
	uint32_t sm_n, sm_cap;
	uint32_t *sm_slots; /* index + 1; 0 = empty */
	size_t sm_nslots;   /* a power of two, 0 before the first allocation */
} rs_strmap;

/* rs_strmap_init: an empty table (as is a zeroed one); nothing is allocated until the first
 * insert. */
void rs_strmap_init(rs_strmap *m);
/* rs_strmap_fini: frees everything; the table is empty (and initialised) afterwards. */
void rs_strmap_fini(rs_strmap *m);
/* rs_strmap_clear: empties the table, keeping its memory for the next strings. */
void rs_strmap_clear(rs_strmap *m);
/* rs_strmap_reserve: room for n strings without rehashing. 0 or RS_ENOMEM. */
int rs_strmap_reserve(rs_strmap *m, size_t n);

/* rs_strmap_intern: the index of s[0..len), added if new (*fresh = 1, else 0; fresh may be
 * NULL). RS_ENOMEM (negative) if memory runs out; the table is unchanged then. */
int64_t rs_strmap_intern(rs_strmap *m, const char *s, size_t len, int *fresh);
/* rs_strmap_find: the index of s[0..len), or -1. */
int64_t rs_strmap_find(const rs_strmap *m, const char *s, size_t len);

/* rs_strmap_str: string i (i < rs_strmap_count); valid until the next intern, clear or fini. */
static inline const char *
rs_strmap_str(const rs_strmap *m, uint32_t i)
{
	return m->sm_pool + m->sm_off[i];
}

/* rs_strmap_len: the length of string i. */
static inline size_t
rs_strmap_len(const rs_strmap *m, uint32_t i)
{
	return (i + 1 < m->sm_n ? m->sm_off[i + 1] : m->sm_used) - m->sm_off[i] - 1;
}

/* rs_strmap_pool: every string in index order, each NUL-terminated, back to back (*len bytes
 * in all; NULL when empty); valid until the next intern, clear or fini. */
static inline const char *
rs_strmap_pool(const rs_strmap *m, size_t *len)
{
	*len = m->sm_used;
	return m->sm_pool;
}

static inline uint32_t
rs_strmap_count(const rs_strmap *m)
{
	return m->sm_n;
}

#endif
