/* factors: the scores of items against a customer's embedding, V . u, for the als source
 * (retrieve.c) and its pruned index (alsindex.c). */
#ifndef CAND_FACTORS_H
#define CAND_FACTORS_H

#include <stddef.h>

/* cand_factor_scores: out[i] = V[i] . u for the n x f row-major V (exact, all rows). */
void cand_factor_scores(const float *V, size_t n, size_t f, const float *u, float *out);

/* The two implementations cand_factor_scores chooses between (measured in
 * tests/services/candidate/model_test.c, see README): OpenBLAS sgemv and a plain loop. */
void cand_factor_scores_blas(const float *V, size_t n, size_t f, const float *u, float *out);
void cand_factor_scores_loop(const float *V, size_t n, size_t f, const float *u, float *out);

#endif
