/* rs_idmap: see rs_idmap.h. */
#include "rs_idmap.h"

#include <stdlib.h>
#include <string.h>

#include "rs_err.h"

void
rs_idmap_init(rs_idmap *m)
{
	memset(m, 0, sizeof(*m));
}

void
rs_idmap_fini(rs_idmap *m)
{
	if (m == NULL)
		return;
	free(m->im_own);
	free(m->im_slots);
	memset(m, 0, sizeof(*m));
}

size_t
rs_idmap_bytes(const rs_idmap *m)
{
	size_t n = m->im_slots != NULL ? (m->im_mask + 1) * sizeof(*m->im_slots) : 0;
	return n + (size_t) m->im_cap * sizeof(*m->im_own);
}

/* Slots for indexes 0..im_n-1 of im_keys, nslots of them (a power of two above 2 * im_n):
 * the lowest index of a repeated key wins, keys <= 0 are left out. 0 or RS_ENOMEM. */
static int
idmap_rehash(rs_idmap *m, size_t nslots)
{
	uint32_t *slots = calloc(nslots, sizeof(*slots));
	if (slots == NULL)
		return RS_ENOMEM;
	free(m->im_slots);
	m->im_slots = slots;
	m->im_mask = nslots - 1;
	for (uint32_t c = 0; c < m->im_n; c++) {
		int64_t key = m->im_keys[c];
		if (key <= 0)
			continue;
		size_t i = rs_idmap_slot(m, key);
		while (slots[i] != 0 && m->im_keys[slots[i] - 1] != key)
			i = (i + 1) & m->im_mask;
		if (slots[i] == 0)
			slots[i] = c + 1;
	}
	return 0;
}

static size_t
idmap_nslots(size_t n)
{
	size_t nslots = 16;
	while (nslots < 2 * n + 1)
		nslots <<= 1;
	return nslots;
}

int
rs_idmap_index(rs_idmap *m, const int64_t *keys, size_t n)
{
	if (m->im_n != 0 || m->im_slots != NULL || n >= UINT32_MAX)
		return RS_EINVAL;
	m->im_keys = keys;
	m->im_n = (uint32_t) n;
	int rv = idmap_rehash(m, idmap_nslots(n));
	if (rv != 0)
		rs_idmap_init(m);
	return rv;
}

int64_t
rs_idmap_intern(rs_idmap *m, int64_t key, int *fresh)
{
	int64_t c;

	if (fresh != NULL)
		*fresh = 0;
	if (key <= 0 || (m->im_slots != NULL && m->im_own == NULL))
		return RS_EINVAL;
	if ((c = rs_idmap_find(m, key)) >= 0)
		return c;
	if (m->im_n == m->im_cap) {
		if (m->im_cap >= UINT32_MAX / 2)
			return RS_ENOMEM;
		uint32_t cap = m->im_cap ? m->im_cap * 2 : 512;
		int64_t *own = realloc(m->im_own, (size_t) cap * sizeof(*own));
		if (own == NULL)
			return RS_ENOMEM;
		m->im_keys = m->im_own = own;
		m->im_cap = cap;
	}
	if (m->im_slots == NULL || 2 * ((size_t) m->im_n + 1) > m->im_mask + 1) {
		if (idmap_rehash(m, idmap_nslots((size_t) m->im_n + 1)) != 0)
			return RS_ENOMEM;
	}
	size_t i = rs_idmap_slot(m, key);
	while (m->im_slots[i] != 0)
		i = (i + 1) & m->im_mask;
	m->im_own[m->im_n] = key;
	m->im_slots[i] = ++m->im_n;
	if (fresh != NULL)
		*fresh = 1;
	return (int64_t) m->im_n - 1;
}
