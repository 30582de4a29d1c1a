/* twostage: candidates merged from first-stage models, re-ranked by gradient-boosted trees
 * (XGBoost C API, LambdaMART objective rank:ndcg or rank:pairwise).
 *
 * Fit: each user's last interactions (holdout_frac, or the last one) are held out as labels;
 * the first-stage sources are fitted on the earlier part; for every user with labels the
 * union of each source's top cand_n unseen items becomes a query group with features (each
 * source's score, score / user's best score and rank; item popularity, recent popularity and
 * age; user activity; similarity and transitions from the user's last items) and label 1 for
 * held-out items. Groups without a positive are dropped. Then the sources are refitted on all
 * of train for inference. Folder: stage1_<source>/ (model folders), ranker.json, trans_*.
 * Memory: the sources' memory, plus rows * features floats for the training matrix. */
#ifndef TR_TWOSTAGE_H
#define TR_TWOSTAGE_H

#include <stddef.h>

#include "params.h"
#include "rs_rankfeat.h"

int tr_twostage_fit(const tr_params *p, const tr_dataset *ds, tr_twostage **out, tr_error *err);
int tr_twostage_save(const tr_twostage *ts, const tr_dataset *ds, const char *dir, tr_error *err);
int tr_twostage_load(const tr_params *p, int32_t n_users, int32_t n_items, const char *dir,
                     tr_twostage **out, tr_error *err);
/* tr_twostage_recommend_batch: for users[0..n) (codes of ds, the data the model was fitted
 * on, or -1 -> fallback list), write up to k items per user into out[u*k..] and counts. */
int tr_twostage_recommend_batch(const tr_twostage *ts, const tr_model *m, const tr_dataset *ds,
                                const int32_t *users, size_t n, int k, int32_t *out, int *counts,
                                tr_error *err);
void tr_twostage_destroy(tr_twostage *ts);

/* One user's ranking as the model computes it: candidates (codes of ds) with each source's raw
 * score and rank (cand_n + 1 outside the source's top list), the sources' normalisers, the
 * feature rows (common/rs_rankfeat.h) and the ranker's scores. For checks of the online
 * ranker against the offline one (rs-ranking's tests). Arrays are tr_twostage_row_fini's. */
typedef struct tr_twostage_row {
	int n, n_src, nfeat;
	int32_t *items; /* n */
	float *score;   /* n x n_src */
	int32_t *rank;  /* n x n_src */
	rs_rankfeat_src norm[RS_RANKFEAT_MAX_SRC];
	float *feat; /* n x nfeat */
	float *pred; /* n */
} tr_twostage_row;

/* tr_twostage_user: user u (a code of ds, the data ts was fitted on) into *out. 0, RS_EINVAL
 * (no such user) or RS_EINTERNAL (xgboost); on error *out holds nothing. */
int tr_twostage_user(const tr_twostage *ts, const tr_dataset *ds, int32_t u, tr_twostage_row *out,
                     tr_error *err);
void tr_twostage_row_fini(tr_twostage_row *r);

/* info for the manifest: the sources used and the feature names */
int tr_twostage_nsources(const tr_twostage *ts);
const char *tr_twostage_source(const tr_twostage *ts, int s);
/* tr_twostage_source_model: source s, fitted on all of train (borrowed). */
const tr_model *tr_twostage_source_model(const tr_twostage *ts, int s);
/* tr_twostage_fallback: -1, or the source the model ranks by because the ranker did not beat
 * it on the validation users. */
int tr_twostage_fallback(const tr_twostage *ts);
/* tr_twostage_sources_str: the sources actually used, "ease,als,..." */
void tr_twostage_sources_str(const tr_twostage *ts, char *buf, size_t n);

#endif
