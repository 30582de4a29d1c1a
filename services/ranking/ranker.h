/* rank_ranker: the learned ranker of one model version (rs-train two-stage: ranker.json, an
 * XGBoost LambdaMART model) with the data rs-train published to compute its feature rows
 * online (services/trainer/publish.h: item_features, transitions, knn_rows, source_scores,
 * manifest "published"."ranker"). Rows come from common/rs_rankfeat.h, the same function
 * rs-train fits and evaluates with, so the same inputs give the same scores offline and online.
 *
 * Immutable after rank_ranker_open; every function is safe from many threads. Scores come from
 * a flat copy of the trees (forest.h: lock-free, several times faster) when it gives XGBoost's
 * scores bit for bit on rows along the model's splits (checked at open), else from XGBoost.
 * XGBoost 1.7's predict is not documented thread-safe for every booster (lazy configuration on
 * first use, a per-thread output buffer), so the ranker holds a pool of boosters, each behind a
 * mutex and warmed up once at open; a request locks one (round robin) for its predict calls.
 *
 * The ranker keeps a reference to its rs_model (item codes), dropped by rank_ranker_destroy
 * (rank_ranker_open_borrowed: none, for a ranker its model owns). */
#ifndef RANK_RANKER_H
#define RANK_RANKER_H

#include <stddef.h>
#include <stdint.h>

#include "featurize.h"
#include "ranking.pb-c.h"
#include "rs_arena.h"
#include "rs_model.h"
#include "rs_rankfeat.h"
#include "rs_ranksrc.h"

typedef struct rank_ranker rank_ranker;

/* rank_ranker_open: the ranker of m with n_boosters boosters (>= 1). Returns 0 and *out;
 * RS_ENOTFOUND when m has no ranker or no serving data (an older version: callers keep the
 * linear scorer), RS_EVERSION for a feature layout this code does not know, RS_ECORRUPT,
 * RS_EIO, RS_ENOMEM; err says why. */
int rank_ranker_open(rs_model *m, int n_boosters, rank_ranker **out, char *err, size_t errn);
void rank_ranker_destroy(rank_ranker *r); /* NULL ok */

/* rank_ranker_open_borrowed: rank_ranker_open for a ranker that m itself owns (attached to m
 * as its aux and destroyed on m's last unref): it takes no reference on m, which would keep m
 * alive forever. Use it only while m is referenced. */
int rank_ranker_open_borrowed(rs_model *m, int n_boosters, rank_ranker **out, char *err,
                              size_t errn);

int rank_ranker_nfeat(const rank_ranker *r);
/* rank_ranker_uses_forest: 1 when scores come from the flat tree copy (forest.h), which was
 * equal to XGBoost's predictor on rows along the model's splits; 0: XGBoost's predictor. */
int rank_ranker_uses_forest(const rank_ranker *r);
const char *const *rank_ranker_names(const rank_ranker *r); /* nfeat names, row order */

/* rank_ranker_rows: the rows of the request's candidates cand[0..n) (n x nfeat, row-major,
 * into x) from rs-candidate's scores, ranks and list normalisers of every ranker source
 * (req->retrieval: ranker_sources and each candidate's ranker_scores / ranker_ranks; used
 * when its header names this ranker's version), the user's items from the request history
 * (rs_ranksrc_user_build) and the published data (item features, the last items' transitions
 * and kNN rows). because[i] gets the history item most similar to candidate i (kNN or
 * transitions; 0 if none). *missing counts ranker sources the retrieval did not score for
 * this version (their columns are as if the source scored 0 for an empty list).
 * Returns 0, RS_ENOMEM (arena) or RS_EIO (LMDB). */
int rank_ranker_rows(const rank_ranker *r, const Rs__RankRequest *req,
                     const Rs__Candidate *const *cand, size_t n, rs_arena *a, float *x,
                     int64_t *because, int *missing);

/* rank_ranker_predict: scores[n] for rows x when scores is not NULL; contrib (n x (nfeat + 1),
 * the last column the bias) when not NULL: XGBoost's approximate (Saabas) per-feature
 * contributions, costlier than the scores (ask only for the rows shown, and without scores
 * when they are known: they add up to the score). 0 or RS_EINTERNAL. */
int rank_ranker_predict(const rank_ranker *r, const float *x, size_t n, float *scores,
                        float *contrib);

/* rank_ranker_reason_group: the linear feature (featurize.h RANK_F_*) whose reason group the
 * ranker's column f belongs to (RANK_F_COVISIT: item-kNN and sequence columns, RANK_F_POPULAR:
 * pop and item popularity columns), or -1. */
int rank_ranker_reason_group(const rank_ranker *r, int f);

#endif
