/* rank_forest: a flat, read-only copy of an XGBoost gbtree model (the JSON that
 * XGBoosterSaveModel writes, as rs-train's ranker.json) for fast single-threaded scoring of a
 * few hundred rows per request: XGBoost's own predictor costs ~3.5 us per row for 92 trees of
 * depth 6 (its per-call setup and generic traversal), this one a fraction of it, and it needs no
 * lock (immutable after load).
 *
 * Scores follow XGBoost 1.7's CPU predictor for dense rows without missing values: start from
 * base_score, add each tree's leaf in tree order in float; a split sends fvalue < cond left.
 * rank_ranker checks the copy against XGBoost at load and keeps XGBoost when they differ.
 * Contributions are Saabas' (XGBoost's approximate pred_contribs): along the row's path, each
 * split's feature gets the change of the node mean (leaves weighted by their hessian sum); the
 * last column is the bias (base_score + the roots' means).
 *
 * Supported: gbtree, one output group, numerical splits. Anything else is RS_EINVAL (the
 * caller keeps XGBoost's predictor). */
#ifndef RANK_FOREST_H
#define RANK_FOREST_H

#include <stddef.h>
#include <stdint.h>

typedef struct rank_forest rank_forest;

/* rank_forest_load: read path (nfeat columns). 0 and *out; RS_EINVAL (unsupported model, err
 * says why), RS_EIO, RS_ECORRUPT, RS_ENOMEM. */
int rank_forest_load(const char *path, int nfeat, rank_forest **out, char *err, size_t errn);
void rank_forest_destroy(rank_forest *f); /* NULL ok */

/* rank_forest_predict: out[n] for rows x (n x nfeat), by the forest's walk (below): every walk
 * gives the same scores, bit for bit. */
void rank_forest_predict(const rank_forest *f, const float *x, size_t n, float *out);

/* The walks rank_forest_predict can take: the portable one (8 rows at a time, any CPU) and an
 * AVX-512 one (16 rows at a time, x86-64 with AVX-512F, trees of depth <= 6; chosen at run
 * time, so one binary runs on every x86-64). A loaded forest takes the fastest it can. */
typedef enum rank_forest_walk {
	RANK_FOREST_WALK_PORTABLE = 0,
	RANK_FOREST_WALK_AVX512 = 1,
} rank_forest_walk;

/* rank_forest_walk_available: 1 when this build and CPU can take w. */
int rank_forest_walk_available(rank_forest_walk w);
/* rank_forest_walk_usable: 1 when w is available and f's trees allow it. */
int rank_forest_walk_usable(const rank_forest *f, rank_forest_walk w);
/* rank_forest_set_walk: make f's predict take w (tests and benchmarks: not while other threads
 * predict with f). 0, or RS_EINVAL when w is not usable for f. */
int rank_forest_set_walk(rank_forest *f, rank_forest_walk w);
rank_forest_walk rank_forest_get_walk(const rank_forest *f);
const char *rank_forest_walk_name(rank_forest_walk w); /* "portable", "avx512" */

/* rank_forest_contrib: contrib (n x (nfeat + 1)) for rows x. */
void rank_forest_contrib(const rank_forest *f, const float *x, size_t n, float *contrib);

/* rank_forest_sample_rows: n rows (n x nfeat into x) on the model's split boundaries, for
 * checking this copy against XGBoost. */
void rank_forest_sample_rows(const rank_forest *f, float *x, size_t n, uint64_t seed);

/* rank_forest_trees: the number of trees. */
int rank_forest_trees(const rank_forest *f);

#endif
