/* ids: see ids.h. */
#include "ids.h"

#include <stdlib.h>
#include <string.h>

#include "rs_hash.h"
#include "util.h"

static uint32_t
ids_hash(const char *s, size_t len)
{
	uint64_t h = rs_fnv1a64(RS_FNV1A64_INIT, s, len);

	return (uint32_t) (h ^ (h >> 32));
}

void
tr_ids_init(tr_ids *ids)
{
	memset(ids, 0, sizeof(*ids));
	ids->i_nslots = 1024;
	ids->i_slots = tr_xmalloc(ids->i_nslots * sizeof(int32_t));
	memset(ids->i_slots, 0xff, ids->i_nslots * sizeof(int32_t));
}

void
tr_ids_fini(tr_ids *ids)
{
	if (ids == NULL)
		return;
	free(ids->i_buf);
	free(ids->i_off);
	free(ids->i_hash);
	free(ids->i_slots);
	memset(ids, 0, sizeof(*ids));
}

static void
ids_grow(tr_ids *ids)
{
	size_t n = ids->i_nslots * 2, mask = n - 1, j;
	int32_t *slots = tr_xmalloc(n * sizeof(int32_t));
	int32_t c;

	memset(slots, 0xff, n * sizeof(int32_t));
	for (c = 0; c < ids->i_n; c++) {
		for (j = ids->i_hash[c] & mask; slots[j] >= 0; j = (j + 1) & mask)
			;
		slots[j] = c;
	}
	free(ids->i_slots);
	ids->i_slots = slots;
	ids->i_nslots = n;
}

/* The code of s (hash h), or -1 with *slot = the empty slot where it would go. */
static int32_t
ids_probe(const tr_ids *ids, const char *s, size_t len, uint32_t h, size_t *slot)
{
	size_t mask = ids->i_nslots - 1, j;
	int32_t c;

	for (j = h & mask; (c = ids->i_slots[j]) >= 0; j = (j + 1) & mask) {
		const char *name = ids->i_buf + ids->i_off[c];
		if (ids->i_hash[c] == h && strncmp(name, s, len) == 0 && name[len] == '\0')
			return c;
	}
	*slot = j;
	return -1;
}

int32_t
tr_ids_find(const tr_ids *ids, const char *s, size_t len)
{
	size_t slot;

	return ids_probe(ids, s, len, ids_hash(s, len), &slot);
}

int32_t
tr_ids_intern(tr_ids *ids, const char *s, size_t len)
{
	uint32_t h = ids_hash(s, len);
	size_t j;
	int32_t c;

	if ((c = ids_probe(ids, s, len, h, &j)) >= 0)
		return c;
	if (ids->i_n == ids->i_ncap) {
		ids->i_ncap = ids->i_ncap ? ids->i_ncap * 2 : 1024;
		ids->i_off = tr_xrealloc(ids->i_off, (size_t) ids->i_ncap * sizeof(size_t));
		ids->i_hash = tr_xrealloc(ids->i_hash, (size_t) ids->i_ncap * sizeof(uint32_t));
	}
	if (ids->i_used + len + 1 > ids->i_cap) {
		ids->i_cap = (ids->i_cap + len + 1) * 2;
		ids->i_buf = tr_xrealloc(ids->i_buf, ids->i_cap);
	}
	c = ids->i_n++;
	ids->i_off[c] = ids->i_used;
	ids->i_hash[c] = h;
	memcpy(ids->i_buf + ids->i_used, s, len);
	ids->i_buf[ids->i_used + len] = '\0';
	ids->i_used += len + 1;
	ids->i_slots[j] = c;
	if ((size_t) ids->i_n * 2 > ids->i_nslots)
		ids_grow(ids);
	return c;
}
