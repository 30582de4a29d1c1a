/* titles: the catalog facts a person needs to read an item id (title, category, price), for a
 * set of ids, in one query through the gateway's PostgreSQL pool (db.h). Used off the hot path
 * only: by explain=1 answers (explain.catalog) and GET /v1/users/{id}/history. */
#ifndef GW_TITLES_H
#define GW_TITLES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gateway.h"
#include "rs_arena.h"

typedef struct gw_title {
	int64_t t_id;
	const char *t_title;    /* "" when the row has none */
	const char *t_category; /* "" when the row has none */
	double t_price;
	int t_has_price; /* 0: price is NULL */
} gw_title;

typedef struct gw_titles {
	gw_title *t_items; /* sorted by id; ids without an items row are absent */
	size_t t_n;
} gw_titles;

#define GW_TITLES_MAX 5000 /* ids per lookup (an explain mentions a few hundred) */

/* gw_titles_lookup: the items rows of ids[0..n) (any order, duplicates allowed) into *out,
 * arena memory. One parameterized query (`item_id = any($1)`). Returns 0; RS_EUNAVAIL (the
 * database is down or the pool is busy past its timeout), RS_EDB (the query failed), RS_EINVAL
 * (more than GW_TITLES_MAX ids), RS_ENOMEM. On error *out is empty. */
int gw_titles_lookup(gw_db *db, rs_arena *a, const int64_t *ids, size_t n, gw_titles *out);

/* gw_titles_find: the row of id, or NULL. */
const gw_title *gw_titles_find(const gw_titles *t, int64_t id);

/* gw_titles_json: {"<id>": {"title", "category", "price": number|null}} for every row found
 * (a new reference; NULL when out of memory). */
json_t *gw_titles_json(const gw_titles *t);

#endif
