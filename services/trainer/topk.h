/* topk: partial selection of the best k scores (common/rs_topk.h, the one implementation the
 * services share, with rs-train's memory convention). Order: higher score first, then lower
 * index (the item code, i.e. first appearance in train.csv, as reference.py breaks ties).
 * Entries scored -INFINITY or NaN are never returned (that is how train items are excluded). */
#ifndef TR_TOPK_H
#define TR_TOPK_H

#include <stdint.h>

/* tr_topk: writes up to k (index, score) pairs into out_idx/out_score (caller storage of k
 * entries each), best first, and returns how many were written. O(n + k log k). */
int tr_topk(const float *scores, int32_t n, int k, int32_t *out_idx, float *out_score);

#endif
