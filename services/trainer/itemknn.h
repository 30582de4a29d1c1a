/* itemknn: item-item cosine neighbours, the definition of shared/bench/reference.py:
 *   sim(i,j) = c_ij / (sqrt(n_i * n_j) + shrink)     (c_ij users with both, n_i users of i)
 * plus, with seq_weight w > 0, sequential "next item" transitions:
 *   sim(i,j) += w * t_ij / (sqrt(n_i * n_j) + shrink)  (t_ij users whose next item after i is j)
 * For each target item j the k best sources i != j (sim > 0; ties: lower i) are kept.
 * score(u, j) = sum of sim(i, j) over the user's items i that are among j's neighbours.
 * Memory: O(n_items * k) floats, plus n_items floats per thread while fitting. */
#ifndef TR_ITEMKNN_H
#define TR_ITEMKNN_H

#include <stdint.h>

#include "dataset.h"

typedef struct tr_knn {
	int32_t n_items;
	int64_t *ptr; /* n_items + 1: row i = targets j that have i as a neighbour */
	int32_t *idx; /* target item j */
	float *val;   /* sim(i, j) */
} tr_knn;

void tr_knn_fit(const tr_dataset *ds, int k, double shrink, double seq_weight, int nthreads,
                tr_knn *out);

/* tr_knn_score: scores[n_items] = sum over hist[0..n) of that item's row. */
void tr_knn_score(const tr_knn *m, const int32_t *hist, int64_t n, float *scores);

/* tr_knn_score_w: weighted data (events.h): scores = sum_a w[a] * row(hist[a]) (w NULL =
 * 1) minus sum_b neg_w[b] * row(neg[b]) for the user's explicit negatives, so items similar
 * to what the user rejected move down. */
void tr_knn_score_w(const tr_knn *m, const int32_t *hist, const float *w, int64_t n,
                    const int32_t *neg, const float *neg_w, int64_t nn, float *scores);

/* tr_knn_save/load: files knn_ptr.i64, knn_idx.i32, knn_val.f32 in dir. */
int tr_knn_save(const tr_knn *m, const char *dir, tr_error *err);
int tr_knn_load(tr_knn *m, int32_t n_items, const char *dir, tr_error *err);

void tr_knn_fini(tr_knn *m);

#endif
