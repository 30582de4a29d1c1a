/* metrics: full-ranking top-K metrics with exactly the definitions of shared/bench/score.py.
 * Per user with n test items and h hits in the top K (rel_r = 1 if rank r is a test item),
 * averaged over users with test items (users without recs score 0):
 *   Recall h/min(K,n), RecallPlain h/n, Precision h/K, HitRate [h>0],
 *   NDCG sum rel_r/log2(r+1) / sum_{r<=min(K,n)} 1/log2(r+1), MAP sum rel_r P@r / min(K,n),
 *   MRR 1/first hit rank; and over all lists: Coverage (distinct train items in top-K lists /
 *   train items), AvgPop (mean train users of recommended items), Novelty (mean of
 *   -log2(max(pop,1) / train users)).
 * Lists are ordered by rank, ties by file order; a repeated (user,item) keeps its first
 * occurrence; items the user has in train count as misses (or are dropped first with
 * drop_train). */
#ifndef TR_METRICS_H
#define TR_METRICS_H

#include <stdint.h>

#include "util.h"

enum {
	TR_M_RECALL = 0,
	TR_M_RECALL_PLAIN,
	TR_M_NDCG,
	TR_M_MAP,
	TR_M_MRR,
	TR_M_HITRATE,
	TR_M_PRECISION,
	TR_M_COVERAGE,
	TR_M_AVGPOP,
	TR_M_NOVELTY,
	TR_M_COUNT
};
#define TR_M_PER_USER 7 /* the first 7 are per-user means with a standard error */
#define TR_MAX_K      8

extern const char *const tr_metric_names[TR_M_COUNT];

typedef struct tr_metrics {
	int nk, ks[TR_MAX_K];
	double val[TR_MAX_K][TR_M_COUNT];
	double se[TR_MAX_K][TR_M_COUNT];
	long users_evaluated, users_without_recs, duplicate_rows, train_items_in_recs, rec_rows,
	        test_interactions;
} tr_metrics;

/* Inputs as integer codes: users in [0, n_users), items in [0, n_items). rec_user < 0 marks
 * rows of users unknown to the test set (ignored). ks must be ascending, nk <= TR_MAX_K. */
typedef struct tr_eval_input {
	int32_t n_users, n_items;
	int64_t n_test, n_train, n_recs;
	const int32_t *test_u, *test_i, *train_u, *train_i, *rec_u, *rec_i;
	const double *rec_rank;
} tr_eval_input;

void tr_metrics_compute(const tr_eval_input *in, const int *ks, int nk, int drop_train,
                        tr_metrics *out);

/* tr_evaluate_files: read test.csv, train.csv, recs.csv (ids as strings) and compute. */
int tr_evaluate_files(const char *test, const char *train, const char *recs, const int *ks, int nk,
                      int drop_train, tr_metrics *out, tr_error *err);

/* tr_metrics_print: the markdown table score.py prints; tr_metrics_json: its JSON form. */
void tr_metrics_print(const tr_metrics *m, void *file);
int tr_metrics_json(const tr_metrics *m, const char *path, tr_error *err);

#endif
