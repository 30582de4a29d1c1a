/* rs_idmap: the one int64-keyed hash table: positive ids to dense indexes (open addressing,
 * linear probing, power-of-two slots kept at most half full, Fibonacci hashing). The slots
 * hold index + 1 into a key array, which is either the table's own (rs_idmap_intern: indexes
 * in order of first sight, a set ignores them, a map keeps values by index) or the caller's
 * (rs_idmap_index: an index over an array that outlives the table, no copy of the keys).
 * Ids <= 0 are never stored. Not thread-safe; const functions may run concurrently with each
 * other. */
#ifndef RS_IDMAP_H
#define RS_IDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct rs_idmap {
	const int64_t *im_keys; /* im_keys[i]: the key of index i (owned unless rs_idmap_index) */
	int64_t *im_own;        /* == im_keys when the table owns the keys, else NULL */
	uint32_t im_n, im_cap;  /* keys, room in im_own */
	uint32_t *im_slots;     /* index + 1; 0 = empty */
	size_t im_mask;         /* slots - 1 (slots: a power of two); 0 before the first alloc */
} rs_idmap;

/* rs_idmap_init: an empty table (as is a zeroed one); nothing is allocated until the first
 * insert. */
void rs_idmap_init(rs_idmap *m);
/* rs_idmap_fini: frees what the table allocated; it is empty (and initialised) afterwards. */
void rs_idmap_fini(rs_idmap *m);

/* rs_idmap_intern: the index of key, added if new (*fresh = 1, else 0; fresh may be NULL).
 * RS_EINVAL for key <= 0 or a table built by rs_idmap_index, RS_ENOMEM if memory runs out
 * (the table unchanged then). */
int64_t rs_idmap_intern(rs_idmap *m, int64_t key, int *fresh);

/* rs_idmap_index: m (initialised, empty) becomes an index over keys[0..n): rs_idmap_find
 * returns the lowest i with keys[i] == key; keys <= 0 are left out. keys is borrowed: it must
 * stay unchanged while m is used. 0, RS_EINVAL (m not empty, n too large) or RS_ENOMEM. */
int rs_idmap_index(rs_idmap *m, const int64_t *keys, size_t n);

/* the slot a key's probe starts at */
static inline size_t
rs_idmap_slot(const rs_idmap *m, int64_t key)
{
	return (size_t) (((uint64_t) key * 0x9E3779B97F4A7C15ULL) >> 32) & m->im_mask;
}

/* rs_idmap_find: the index of key, or -1. Inline: it is on the serving path (rs_model). */
static inline int64_t
rs_idmap_find(const rs_idmap *m, int64_t key)
{
	if (key <= 0 || m->im_slots == NULL)
		return -1;
	for (size_t i = rs_idmap_slot(m, key); m->im_slots[i] != 0; i = (i + 1) & m->im_mask)
		if (m->im_keys[m->im_slots[i] - 1] == key)
			return (int64_t) m->im_slots[i] - 1;
	return -1;
}

/* rs_idmap_key: the key of index i (i < rs_idmap_count for an interned table). */
static inline int64_t
rs_idmap_key(const rs_idmap *m, uint32_t i)
{
	return m->im_keys[i];
}

/* rs_idmap_count: keys interned (for rs_idmap_index: n). */
static inline uint32_t
rs_idmap_count(const rs_idmap *m)
{
	return m->im_n;
}

/* rs_idmap_bytes: the heap the table holds (slots and owned keys). */
size_t rs_idmap_bytes(const rs_idmap *m);

#endif
