/* Retrieval over one snapshot: per-source candidate lists, merged and de-duplicated.
 *
 * Sources: "covisit" (neighbours of the user's recent items, because_item = the history item
 * that contributed most), "bought_together" (the part of co-visitation from users who bought
 * both), "category" (popular items of the categories of the user's recent items) and
 * "popular" (global, time-decayed). Each source keeps its own top k; the merged score is a
 * weighted sum of the per-source scores normalised by that source's best score. No source
 * ever offers a withdrawn item, an item the user bought or marked not_interested, or one on
 * the filter's exclude list.
 * Pure functions of their inputs: no locks, no I/O. */
#ifndef CAND_RETRIEVE_H
#define CAND_RETRIEVE_H

#include <stddef.h>
#include <stdint.h>

#include "modelsrc.h"
#include "snapshot.h"

enum {
	CAND_SRC_COVISIT,
	CAND_SRC_BOUGHT,
	CAND_SRC_CATEGORY,
	CAND_SRC_POPULAR,
	CAND_SRC_ALS,     /* exact top-K of item factors . user embedding (model version) */
	CAND_SRC_ITEMKNN, /* trained neighbours of recent items (model version) */
	CAND_SRC_META,    /* category/brand/price similarity: items the model does not know */
	CAND_NSRC,
};

extern const char *const cand_src_names[CAND_NSRC];

typedef struct cand_hist {
	int64_t item_id;
	int64_t ts_ms;
	double value;
	int32_t type; /* rs.EventType number */
} cand_hist;

typedef struct cand_filter {
	const char *category; /* path prefix ("Home" matches "Home/Kitchen"); NULL or "" = any */
	double min_price;     /* 0 = no lower bound */
	double max_price;     /* 0 = no upper bound */
	int in_stock_only;
	const int64_t *exclude;
	size_t n_exclude;
} cand_filter;

typedef struct cand_src {
	float score;
	uint32_t rank;   /* 1-based inside the source */
	int64_t because; /* history item behind it, 0 if none */
} cand_src;

typedef struct cand_result {
	uint32_t item; /* index into the snapshot's items */
	float score;   /* merged */
	unsigned has;  /* bit s set when source s produced it */
	cand_src src[CAND_NSRC];
} cand_result;

/* Why a source had to drop an item it reached (each item counted once, under the first reason
 * that applies in this order). */
enum {
	CAND_WHY_PURCHASED,      /* the user bought it (request history or the snapshot's window) */
	CAND_WHY_NOT_INTERESTED, /* the user marked it not_interested */
	CAND_WHY_EXCLUDED,       /* cand_filter.exclude */
	CAND_WHY_UNAVAILABLE,    /* withdrawn from the catalog */
	CAND_NWHY,
};

extern const char *const cand_why_names[CAND_NWHY]; /* "purchased", ... (the proto's reasons) */

#define CAND_FILTERED_IDS 20

/* What retrieval removed for one reason: distinct items, and the smallest of their ids. */
typedef struct cand_filtered {
	uint32_t count;
	uint32_t n_ids;
	int64_t ids[CAND_FILTERED_IDS]; /* ascending */
} cand_filtered;

/* One source's list before merging, for the learned ranker's normalisers. */
typedef struct cand_stat {
	float top;      /* best score */
	float low;      /* score of the last entry counted */
	uint32_t count; /* entries counted (0: the source produced nothing) */
} cand_stat;

/* The model side of one request: a join of the snapshot with the active version (NULL: none)
 * and the user's embedding from the feature service (n_emb must equal the model's factors for
 * the "als" source to run). */
typedef struct cand_model_in {
	const cand_join *join;
	const float *emb;
	size_t n_emb;
	cand_stat *stats; /* NULL, or CAND_NSRC entries written by cand_retrieve_ex */
	uint32_t stat_n;  /* count at most this many entries per source (the version's ranker
	                     cand_n); 0 = the whole kept list */
	/* NULL, or CAND_NWHY entries cand_retrieve_ex fills with what the sources reached and
	 * removed (read also without a join). Costs a set insert per removal, nothing per pass. */
	cand_filtered *filtered;
} cand_model_in;

/* cand_retrieve_ex: cand_retrieve plus the model's sources (mi may be NULL: live sources only;
 * mi->join->snap must be s). Sources: als (exact top-K over all item factors), itemknn (the
 * version's neighbours of the recent items), metadata (for recent items the model does not
 * know: their category peers; for all recent items: items added after training, by
 * cand_meta_sim). Returns 0 or RS_ENOMEM. */
int cand_retrieve_ex(const cand_snap *s, const cand_model_in *mi, int64_t user_id,
                     const cand_hist *h, size_t nh, const cand_filter *f, uint32_t k,
                     cand_result *out, size_t *n_out);

/* cand_similar_ex: cand_similar plus the version's neighbours of the item and metadata
 * neighbours (its category peers and items added after training), so an item added after
 * training has neighbours at once. */
int cand_similar_ex(const cand_snap *s, const cand_model_in *mi, uint32_t item, uint32_t k,
                    cand_result *out, size_t *n_out);

/* cand_bought_together: up to k of item index `item`'s bought_together neighbours (users who
 * bought both), best first, never the item itself nor a withdrawn item. Returns 0 or
 * RS_ENOMEM. */
int cand_bought_together(const cand_snap *s, uint32_t item, uint32_t k, cand_result *out,
                         size_t *n_out);

/* cand_retrieve: up to k candidates for user_id (0: anonymous) with history h (any order),
 * best first, into out (room for k). Items the user bought or marked not_interested, in h or
 * in the snapshot's window, are excluded. Returns 0 and *n_out, or RS_ENOMEM. */
int cand_retrieve(const cand_snap *s, int64_t user_id, const cand_hist *h, size_t nh,
                  const cand_filter *f, uint32_t k, cand_result *out, size_t *n_out);

/* cand_similar: up to k items like item index `item` (its co-visitation neighbours, then
 * popular items of its category), never the item itself. Returns 0 or RS_ENOMEM. */
int cand_similar(const cand_snap *s, uint32_t item, uint32_t k, cand_result *out, size_t *n_out);

/* cand_filter_pass: 1 when item index i passes f (NULL passes everything). Withdrawn items
 * are not f's business: every source skips them (cand_snap_withdrawn). */
int cand_filter_pass(const cand_snap *s, uint32_t i, const cand_filter *f);

#endif
