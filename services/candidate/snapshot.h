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
	int withdrawn;     /* items.available = false: never offered by any source */
	int32_t row_hash;  /* PostgreSQL's hash of the row (refresh.c), summed into cat_sum */
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
	uint8_t withdrawn;       /* never offered (items.available = false) */
	uint8_t in_catalog;      /* an items row exists (else only events named it) */
	int32_t row_hash;        /* cand_item_row.row_hash of that row */
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
	uint8_t *
	        excl_why; /* per excl_items entry: CAND_EXCL_PURCHASED | CAND_EXCL_NOT_INTERESTED */
	/* Bit i set: items[i] is withdrawn (cand_snap_withdrawn); a dense bitmap so retrieval
	 * never reads an item to learn it. n_withdrawn = bits set (0: no check at all). */
	uint64_t *wd_bits;
	size_t n_withdrawn;
	size_t n_events;      /* events that went into this snapshot */
	uint64_t fingerprint; /* of the input events: unchanged events keep the co-visitation */
	int64_t built_unix_ms;
	char version[48]; /* "live-pop-<unix seconds>" */
	/* The catalog as applied (refresh.c compares these with PostgreSQL's): rows and the sum
	 * of their row_hash. */
	size_t cat_count;
	int64_t cat_sum;
	uint32_t category_top; /* cand_build_params.category_top, for cand_snap_apply_catalog */
} cand_snap;

/* cand_snap_build: build a snapshot from the rows (neither array is kept). Events of items
 * missing from items become items without title, category or price. Returns 0 and *out
 * (one reference, the caller's), RS_ENOMEM. */
int cand_snap_build(const cand_item_row *items, size_t n_items, const cand_event_row *events,
                    size_t n_events, const cand_build_params *p, uint64_t fingerprint,
                    cand_snap **out);

/* cand_snap_apply_catalog: a new snapshot that is s with catalog rows applied (upserted by
 * id; neither s nor rows is changed or kept). With full = 1, rows are the whole catalog: items
 * of s that are not among them leave it (they keep only what events said of them). Popularity,
 * co-visitation and the exclusions are carried over (a new id has none yet); category lists
 * are rebuilt. version and fingerprint stay. Cost: one pass over the items and the neighbours
 * plus sorting the categories (measured in the README). Returns 0 and *out (one reference),
 * RS_ENOMEM. */
int cand_snap_apply_catalog(const cand_snap *s, const cand_item_row *rows, size_t n, int full,
                            cand_snap **out);

/* cand_snap_catalog_totals: recompute s->cat_count, s->cat_sum (the catalog totals refresh.c
 * compares with PostgreSQL's: rows and the sum of their hashes), wd_bits and n_withdrawn from
 * the items (the builders and snapfile.c's reader). Returns 0 or RS_ENOMEM. */
int cand_snap_catalog_totals(cand_snap *s);

/* cand_snap_ref / cand_snap_unref: take and drop a reference; the last unref frees. NULL ok. */
cand_snap *cand_snap_ref(cand_snap *s);
void cand_snap_unref(cand_snap *s);

/* cand_snap_find: index of item id, or -1. */
int64_t cand_snap_find(const cand_snap *s, int64_t id);

#define CAND_EXCL_PURCHASED      1u
#define CAND_EXCL_NOT_INTERESTED 2u

/* cand_snap_excluded: the sorted items user_id must not be offered (*n of them, maybe 0);
 * borrowed from s. why (may be NULL) gets the parallel CAND_EXCL_* bits of each. */
const int64_t *cand_snap_excluded(const cand_snap *s, int64_t user_id, size_t *n,
                                  const uint8_t **why);

/* cand_snap_withdrawn: 1 when items[i] must never be offered (withdrawn from the catalog). */
static inline int
cand_snap_withdrawn(const cand_snap *s, uint32_t i)
{
	return s->n_withdrawn > 0 && (s->wd_bits[i / 64] >> (i % 64)) & 1u;
}

/* cand_type_weight: how much one event of `type` (rs.EventType) says about interest to
 * retrieval, which picks its seeds with it (view 1, click 2,
 * add_to_cart 4, purchase 8, rating by value, not_interested 0). */
float cand_type_weight(int32_t type, double value);

#endif
