/* idset: small open-addressing hash sets used by the writer: ing_idset for int64 ids (the
 * catalog / user caches) and ing_strset for event ids within one write group.
 * Not thread-safe; each set belongs to one thread. */
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

typedef struct ing_strset {
	const char **ss_slots; /* borrowed strings; NULL = empty */
	size_t ss_cap;
} ing_strset;

/* ing_strset_init: room for at least n strings. Returns 0 or RS_ENOMEM. The strings added are
 * borrowed and must outlive the set. */
int ing_strset_init(ing_strset *s, size_t n);
void ing_strset_fini(ing_strset *s);
/* ing_strset_add: 1 if added, 0 if an equal string is present (never grows past n). */
int ing_strset_add(ing_strset *s, const char *str);

#endif
