/* cand_snap: one immutable, reference-counted view of everything retrieval needs, built from
 * the items and events tables by the refresh thread and swapped in atomically:
 *   - items (sorted by id) with title, category, price, stock and time-decayed popularity,
 *   - the global popular list and a popular list per category,
 *   - an item-item co-visitation table (top N neighbours per item, CSR layout).
 * Readers take a reference (cand_snap_ref), use it without locks, and drop it. */
#ifndef CAND_SNAPSHOT_H
#define CAND_SNAPSHOT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CAND_COVISIT_MAX 100 /* most neighbours kept per item */

/* One row of the items table; strings are copied by cand_snap_build. */
typedef struct cand_item_row {
	int64_t id;
	const char *title;
	const char *category;
	double price;
	int has_price;
	int in_stock;
	const char *brand; /* NULL = unknown */
} cand_item_row;

/* One row of the events table. */
typedef struct cand_event_row {
	int64_t user_id;
	int64_t item_id;
	int64_t ts_ms;
	double value;
	int32_t type; /* rs.EventType number */
} cand_event_row;

typedef struct cand_build_params {
	double half_life_ms;   /* popularity decay, relative to the newest event */
	uint32_t covisit_n;    /* neighbours kept per item */
	uint32_t covisit_span; /* pairs within this many positions of a user's item sequence */
	uint32_t user_items;   /* newest distinct items per user that take part in co-visitation */
	uint32_t category_top; /* items kept per category list */
} cand_build_params;

typedef struct cand_item {
	int64_t id;
	char *title;    /* never NULL */
	char *category; /* never NULL; "" when unknown */
	char *brand;    /* never NULL; "" when unknown */
	double price;
	int has_price;
	int in_stock;
	float pop;               /* weighted, time-decayed event count */
	uint32_t cat;            /* index into cats */
	uint32_t nb_off, nb_len; /* neighbours: nbs[nb_off .. nb_off + nb_len), best first */
} cand_item;

typedef struct cand_nb {
	uint32_t item;  /* index into items */
	float score;    /* co-visitation, cosine-normalised, 0..1 */
	float cobought; /* share of that weight from users who bought both, 0..1 */
} cand_nb;

typedef struct cand_snap {
	atomic_int refs;
	cand_item *items; /* sorted by id */
	int64_t *ids;     /* items[i].id, dense for cand_snap_find */
	size_t n_items;
	uint32_t *popular;  /* items with pop > 0, best first */
	float *popular_pop; /* items[popular[i]].pop, read without touching the items */
	size_t n_popular;
	cand_nb *nbs;
	size_t n_nbs;
	char **cats; /* category strings, sorted */
	size_t n_cats;
	uint32_t *cat_off, *cat_len; /* per category: cat_items[cat_off .. +cat_len), best first */
	uint32_t *cat_items;
	float *cat_pop; /* items[cat_items[i]].pop */
	/* Per user, the items they bought or marked not_interested inside the window: never
	 * offered again, even when older than the history a request carries. */
	int64_t *excl_users; /* sorted */
	size_t n_excl_users;
	size_t *excl_off; /* user u's items: excl_items[excl_off[u] .. excl_off[u + 1]), sorted */
	int64_t *excl_items;
	size_t n_events;      /* events that went into this snapshot */
	uint64_t fingerprint; /* of the input rows: an unchanged input keeps the old snapshot */
	int64_t built_unix_ms;
	char version[48]; /* "live-pop-<unix seconds>" */
} cand_snap;

/* cand_snap_build: build a snapshot from the rows (neither array is kept). Events of items
 * missing from items become items without title, category or price. Returns 0 and *out
 * (one reference, the caller's), RS_ENOMEM. */
int cand_snap_build(const cand_item_row *items, size_t n_items, const cand_event_row *events,
                    size_t n_events, const cand_build_params *p, uint64_t fingerprint,
                    cand_snap **out);

/* cand_snap_ref / cand_snap_unref: take and drop a reference; the last unref frees. NULL ok. */
cand_snap *cand_snap_ref(cand_snap *s);
void cand_snap_unref(cand_snap *s);

/* cand_snap_find: index of item id, or -1. */
int64_t cand_snap_find(const cand_snap *s, int64_t id);

/* cand_snap_excluded: the sorted items user_id must not be offered (*n of them, maybe 0);
 * borrowed from s. */
const int64_t *cand_snap_excluded(const cand_snap *s, int64_t user_id, size_t *n);

/* cand_type_weight: how much one event of `type` says about interest (view 1, click 2,
 * add_to_cart 4, purchase 8, rating by value, not_interested 0). */
float cand_type_weight(int32_t type, double value);

#endif
