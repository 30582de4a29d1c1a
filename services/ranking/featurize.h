/* Ranking features: one row of RANK_NF floats per candidate, computed from the candidate's
 * first-stage source scores and the user's recent history. Names are stable: explain shows
 * them. (The learned ranker's row is common/rs_rankfeat.h, shared with rs-train.) */
#ifndef RANK_FEATURES_H
#define RANK_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "rs_arena.h"

enum {
	RANK_F_COVISIT,      /* covisit source score / best among the candidates */
	RANK_F_BOUGHT,       /* bought_together source score / best */
	RANK_F_CATEGORY,     /* category source score / best */
	RANK_F_POPULAR,      /* popular source score / best */
	RANK_F_FIRST_STAGE,  /* merged first-stage score / best */
	RANK_F_CAT_AFFINITY, /* share of the history's weight in this category (0.5 for the same
	                        top-level category) */
	RANK_F_RECENCY,      /* 2^(-hours / 24) since the user's newest event on the because item */
	RANK_F_SEEN,         /* views + clicks of this very item in the history, capped at 10 */
	RANK_F_IN_CART,      /* 1 if the history has it in the cart (and not bought) */
	RANK_NF,
};

extern const char *const rank_feature_names[RANK_NF];

/* The first-stage sources ranking understands (others are passed through untouched). */
enum {
	RANK_SRC_COVISIT,
	RANK_SRC_BOUGHT,
	RANK_SRC_CATEGORY,
	RANK_SRC_POPULAR,
	RANK_NSRC,
};

/* rank_source_index: "covisit" -> RANK_SRC_COVISIT ...; -1 for any other name. */
int rank_source_index(const char *name);

typedef struct rank_hist {
	int64_t item_id;
	int64_t ts_ms;
	int32_t type; /* rs.EventType number */
} rank_hist;

typedef struct rank_cand {
	int64_t item_id;
	float first_stage;
	float src[RANK_NSRC];       /* 0 when the source did not produce it */
	int64_t because[RANK_NSRC]; /* because_item per source, 0 if none */
	const char *category;       /* "" when unknown */
} rank_cand;

/* What the history says about one item. */
typedef struct rank_hist_item {
	int64_t id;
	int64_t newest_ts;
	int seen;   /* views + clicks */
	int cart;   /* add_to_cart events */
	int bought; /* purchases */
} rank_hist_item;

typedef struct rank_user {
	rank_hist_item *items; /* sorted by id */
	size_t n_items;
	const char **cats; /* distinct history categories (from the catalog) with their weight */
	float *cat_w;
	size_t n_cats;
	float total_w;
	int64_t now_ms;
} rank_user;

/* rank_user_build: summarise the history (categories looked up in cat, which may be NULL)
 * into arena memory. Returns 0 or RS_ENOMEM. */
int rank_user_build(rs_arena *a, const rank_hist *h, size_t nh, const rank_catalog *cat,
                    int64_t now_ms, rank_user *out);

/* rank_user_item: the history's summary of item id, or NULL. */
const rank_hist_item *rank_user_item(const rank_user *u, int64_t id);

/* rank_features_compute: x (n x RANK_NF, row-major) for the candidates. */
void rank_features_compute(const rank_user *u, const rank_cand *c, size_t n, float *x);

#endif
