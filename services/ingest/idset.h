/* idset: the writer's open-addressing hash set of int64 ids (the catalog / user caches).
 * Not thread-safe; each set belongs to one thread. (Event ids within one write group are
 * deduplicated with common/rs_strmap.) */
#ifndef ING_IDSET_H
#define ING_IDSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct ing_idset {
	int64_t *is_slots; /* 0 = empty (ids are > 0) */
	size_t is_cap;     /* power of two */
	size_t is_len;
} ing_idset;

/* ing_idset_init: an empty set; no allocation until the first add. */
void ing_idset_init(ing_idset *s);
void ing_idset_fini(ing_idset *s); /* frees the slots; the set is empty afterwards */
int ing_idset_has(const ing_idset *s, int64_t id);
/* ing_idset_add: id must be > 0. Returns 1 if added, 0 if present, RS_ENOMEM. */
int ing_idset_add(ing_idset *s, int64_t id);

#endif
