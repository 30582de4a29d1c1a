/* rank_scorer: the second-stage scoring function behind one small interface, so the
 * transparent linear function and the learned XGBoost ranker (rs-train two-stage) are
 * interchangeable.
 *
 * A scorer reads a dense row-major feature matrix (n rows of RANK_NF columns, layout in
 * featurize.h) and writes one score per row and, when asked, each feature's contribution to that
 * score (linear: weight x value; XGBoost: pred_contribs / SHAP), which the reasons are built
 * from. A scorer is immutable after creation and safe to call from many threads at once. */
#ifndef RANK_SCORER_H
#define RANK_SCORER_H

#include <stdatomic.h>
#include <stddef.h>

#include "featurize.h"
#include "ranker.h"

typedef struct rank_scorer_ops {
	const char *name;
	/* score: scores[n]; contrib (n x RANK_NF) may be NULL. Returns 0 or RS_E*. */
	int (*score)(const void *impl, const float *x, size_t n, float *scores, float *contrib);
	void (*destroy)(void *impl);
} rank_scorer_ops;

typedef struct rank_scorer {
	const rank_scorer_ops *ops;
	void *impl;
	/* the learned ranker (rank_scorer_xgb_create), or NULL: then rows are the RANK_NF features
	 * of featurize.h. With a ranker, rows are rank_ranker_rows' (rank_ranker_nfeat columns) and
	 * contrib has rank_ranker_nfeat + 1 columns (the last one the bias). */
	const rank_ranker *ranker;
	char version[64]; /* reported as the response's model_version */
	atomic_int refs;  /* a swapped-out scorer lives until its last request lets go */
} rank_scorer;

/* rank_scorer_linear_create: the transparent scorer, score = sum of w[f] x x[f] with the
 * weights of rank_linear_weights (or w when not NULL), reporting `version` (NULL: "linear-v1").
 * Returns 0 and *out (one reference), or RS_ENOMEM. */
int rank_scorer_linear_create(const float *w, const char *version, rank_scorer **out);

/* rank_scorer_xgb_create: a scorer over the learned ranker r (whose ownership moves to the
 * scorer on success; destroyed with the scorer's last reference), reporting version. Returns 0
 * and *out (one reference), or RS_ENOMEM (r is still the caller's). */
int rank_scorer_xgb_create(rank_ranker *r, const char *version, rank_scorer **out);

/* The default linear weights, one per feature (featurize.h order). */
extern const float rank_linear_weights[RANK_NF];

/* rank_scorer_score: run s. Returns 0 or the scorer's RS_E*. */
int rank_scorer_score(const rank_scorer *s, const float *x, size_t n, float *scores,
                      float *contrib);

/* rank_scorer_ref / rank_scorer_unref: take and drop a reference; the last unref destroys.
 * NULL is a no-op. */
rank_scorer *rank_scorer_ref(rank_scorer *s);
void rank_scorer_unref(rank_scorer *s);

#endif
