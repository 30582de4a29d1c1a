/* ids: interning of user/item id strings to dense codes 0..n-1 in order of first sight.
 * Ids are compared as exact byte strings (as shared/bench does). The table owns copies
 * of the strings; tr_ids_name() pointers stay valid until the next tr_ids_intern(). */
#ifndef TR_IDS_H
#define TR_IDS_H

#include <stddef.h>
#include <stdint.h>

typedef struct tr_ids {
	char *i_buf; /* NUL-terminated names, back to back */
	size_t i_used, i_cap;
	size_t *i_off;    /* i_off[code] = offset of the name in i_buf */
	uint32_t *i_hash; /* hash of each name */
	int32_t i_n, i_ncap;
	int32_t *i_slots; /* open addressing: code or -1 */
	size_t i_nslots;
} tr_ids;

void tr_ids_init(tr_ids *ids);
void tr_ids_fini(tr_ids *ids);

/* tr_ids_intern: code of s[0..len), added if new. */
int32_t tr_ids_intern(tr_ids *ids, const char *s, size_t len);

/* tr_ids_find: code of s[0..len), or -1. */
int32_t tr_ids_find(const tr_ids *ids, const char *s, size_t len);

static inline const char *
tr_ids_name(const tr_ids *ids, int32_t code)
{
	return ids->i_buf + ids->i_off[code];
}

static inline int32_t
tr_ids_count(const tr_ids *ids)
{
	return ids->i_n;
}

#endif
