/* rs_strmap: see rs_strmap.h. */
#include "rs_strmap.h"

#include <stdlib.h>
#include <string.h>

#include "rs_err.h"
#include "rs_hash.h"

static uint32_t
strmap_hash(const char *s, size_t len)
{
	uint64_t h = rs_fnv1a64(RS_FNV1A64_INIT, s, len);
	return (uint32_t) (h ^ (h >> 32));
}

void
rs_strmap_init(rs_strmap *m)
{
	memset(m, 0, sizeof(*m));
}

void
rs_strmap_fini(rs_strmap *m)
{
	if (m == NULL)
		return;
	free(m->sm_pool);
	free(m->sm_off);
	free(m->sm_hash);
	free(m->sm_slots);
	memset(m, 0, sizeof(*m));
}

void
rs_strmap_clear(rs_strmap *m)
{
	if (m->sm_slots != NULL)
		memset(m->sm_slots, 0, m->sm_nslots * sizeof(*m->sm_slots));
	m->sm_n = 0;
	m->sm_used = 0;
}

/* Rehashes into nslots slots (a power of two above 2 * sm_n). 0 or RS_ENOMEM. */
static int
strmap_rehash(rs_strmap *m, size_t nslots)
{
	uint32_t *slots = calloc(nslots, sizeof(*slots));
	if (slots == NULL)
		return RS_ENOMEM;
	for (uint32_t i = 0; i < m->sm_n; i++) {
		size_t j = m->sm_hash[i] & (nslots - 1);
		while (slots[j] != 0)
			j = (j + 1) & (nslots - 1);
		slots[j] = i + 1;
	}
	free(m->sm_slots);
	m->sm_slots = slots;
	m->sm_nslots = nslots;
	return 0;
}

/* Room for n entries in sm_off/sm_hash. 0 or RS_ENOMEM. */
static int
strmap_room(rs_strmap *m, size_t n)
{
	if (n <= m->sm_cap)
		return 0;
	if (n > UINT32_MAX - 1)
		return RS_ENOMEM;
	size_t cap = m->sm_cap ? m->sm_cap : 16;
	while (cap < n)
		cap *= 2;
	if (cap > UINT32_MAX - 1)
		cap = UINT32_MAX - 1;
	size_t *off = realloc(m->sm_off, cap * sizeof(*off));
	if (off == NULL)
		return RS_ENOMEM;
	m->sm_off = off;
	uint32_t *hash = realloc(m->sm_hash, cap * sizeof(*hash));
	if (hash == NULL)
		return RS_ENOMEM;
	m->sm_hash = hash;
	m->sm_cap = (uint32_t) cap;
	return 0;
}

int
rs_strmap_reserve(rs_strmap *m, size_t n)
{
	int rv = strmap_room(m, n);
	if (rv != 0)
		return rv;
	size_t nslots = 16;
	while (nslots < 2 * n + 1)
		nslots *= 2;
	return nslots > m->sm_nslots ? strmap_rehash(m, nslots) : 0;
}

/* The index of s (hash h), or -1 with *slot = the empty slot where it would go. */
static int64_t
strmap_probe(const rs_strmap *m, const char *s, size_t len, uint32_t h, size_t *slot)
{
	size_t mask = m->sm_nslots - 1, j;
	uint32_t c;

	for (j = h & mask; (c = m->sm_slots[j]) != 0; j = (j + 1) & mask) {
		uint32_t i = c - 1;
		if (m->sm_hash[i] == h && rs_strmap_len(m, i) == len &&
		    memcmp(m->sm_pool + m->sm_off[i], s, len) == 0)
			return i;
	}
	*slot = j;
	return -1;
}

int64_t
rs_strmap_find(const rs_strmap *m, const char *s, size_t len)
{
	size_t slot;
	if (m->sm_nslots == 0)
		return -1;
	return strmap_probe(m, s, len, strmap_hash(s, len), &slot);
}

int64_t
rs_strmap_intern(rs_strmap *m, const char *s, size_t len, int *fresh)
{
	uint32_t h = strmap_hash(s, len);
	size_t j = 0;
	int64_t c;

	if (fresh != NULL)
		*fresh = 0;
	if (m->sm_nslots > 0 && (c = strmap_probe(m, s, len, h, &j)) >= 0)
		return c;
	/* Room first, so that a failure leaves the table as it was. */
	if (2 * ((size_t) m->sm_n + 1) > m->sm_nslots) {
		if (rs_strmap_reserve(m, m->sm_nslots ? m->sm_nslots : 8) != 0)
			return RS_ENOMEM;
		strmap_probe(m, s, len, h, &j);
	} else if (strmap_room(m, (size_t) m->sm_n + 1) != 0) {
		return RS_ENOMEM;
	}
	if (len + 1 > m->sm_poolcap - m->sm_used) {
		size_t cap = m->sm_poolcap ? m->sm_poolcap : 256;
		while (len + 1 > cap - m->sm_used) {
			if (cap > SIZE_MAX / 2)
				return RS_ENOMEM;
			cap *= 2;
		}
		char *pool = realloc(m->sm_pool, cap);
		if (pool == NULL)
			return RS_ENOMEM;
		m->sm_pool = pool;
		m->sm_poolcap = cap;
	}
	uint32_t i = m->sm_n++;
	m->sm_off[i] = m->sm_used;
	m->sm_hash[i] = h;
	memcpy(m->sm_pool + m->sm_used, s, len);
	m->sm_pool[m->sm_used + len] = '\0';
	m->sm_used += len + 1;
	m->sm_slots[j] = i + 1;
	if (fresh != NULL)
		*fresh = 1;
	return i;
}
