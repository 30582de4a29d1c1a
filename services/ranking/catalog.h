/* rank_catalog: item titles and categories in memory (from the items table), for reasons that
 * name a history item and for the category affinity of history items. Immutable and
 * reference-counted: the refresh builds a new one and swaps it in. */
#ifndef RANK_CATALOG_H
#define RANK_CATALOG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rank_catalog {
	atomic_int refs;
	int64_t *ids; /* sorted */
	char **titles;
	char **categories;
	size_t n;
} rank_catalog;

/* rank_catalog_create: from n rows (copied); ids need not be sorted. Returns 0 and *out
 * (one reference), or RS_ENOMEM. */
int rank_catalog_create(const int64_t *ids, const char *const *titles,
                        const char *const *categories, size_t n, rank_catalog **out);

rank_catalog *rank_catalog_ref(rank_catalog *c); /* NULL-safe */
void rank_catalog_unref(rank_catalog *c);        /* NULL-safe; the last one frees */

/* rank_catalog_find: index of id, or -1 (also when c is NULL). */
int64_t rank_catalog_find(const rank_catalog *c, int64_t id);

#endif
