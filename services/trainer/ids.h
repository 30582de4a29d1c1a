/* ids: interning of user/item id strings to dense codes 0..n-1 in order of first sight, over
 * the common string table (rs_strmap), with rs-train's out-of-memory policy (abort, see
 * util.h). Ids are compared as exact byte strings (as shared/bench does). tr_ids_name()
 * pointers stay valid until the next tr_ids_intern(). */
#ifndef TR_IDS_H
#define TR_IDS_H

#include <stddef.h>
#include <stdint.h>

#include "rs_strmap.h"

typedef struct tr_ids {
	rs_strmap i_map;
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
	return rs_strmap_str(&ids->i_map, (uint32_t) code);
}

static inline int32_t
tr_ids_count(const tr_ids *ids)
{
	return (int32_t) rs_strmap_count(&ids->i_map);
}

#endif
