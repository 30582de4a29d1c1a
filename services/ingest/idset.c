#include "idset.h"
#include "rs_err.h"

#include <stdlib.h>
#include <string.h>

static uint64_t
idset_hash(int64_t id)
{
	uint64_t x = (uint64_t) id;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

void
ing_idset_init(ing_idset *s)
{
	memset(s, 0, sizeof(*s));
}

void
ing_idset_fini(ing_idset *s)
{
	free(s->is_slots);
	memset(s, 0, sizeof(*s));
}

int
ing_idset_has(const ing_idset *s, int64_t id)
{
	if (s->is_cap == 0 || id <= 0)
		return 0;
	for (size_t i = idset_hash(id) & (s->is_cap - 1);; i = (i + 1) & (s->is_cap - 1)) {
		if (s->is_slots[i] == id)
			return 1;
		if (s->is_slots[i] == 0)
			return 0;
	}
}

static void
idset_put(int64_t *slots, size_t cap, int64_t id)
{
	size_t i = idset_hash(id) & (cap - 1);
	while (slots[i] != 0 && slots[i] != id)
		i = (i + 1) & (cap - 1);
	slots[i] = id;
}

int
ing_idset_add(ing_idset *s, int64_t id)
{
	if (id <= 0)
		return RS_EINVAL;
	if (ing_idset_has(s, id))
		return 0;
	if ((s->is_len + 1) * 2 > s->is_cap) {
		size_t cap = s->is_cap ? s->is_cap * 2 : 1024;
		int64_t *slots = calloc(cap, sizeof(*slots));
		if (slots == NULL)
			return RS_ENOMEM;
		for (size_t i = 0; i < s->is_cap; i++)
			if (s->is_slots[i] != 0)
				idset_put(slots, cap, s->is_slots[i]);
		free(s->is_slots);
		s->is_slots = slots;
		s->is_cap = cap;
	}
	idset_put(s->is_slots, s->is_cap, id);
	s->is_len++;
	return 1;
}
