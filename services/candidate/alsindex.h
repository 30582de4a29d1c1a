/* cand_als_index: the "als" source's exact top-K without scoring every item. Built once per
 * model version: the item factors copied in order of decreasing norm, in blocks of
 * CAND_ALS_BLOCK rows. A request scores block after block with the same cblas_sgemv as
 * cand_factor_scores and stops when no item left can reach its list: by Cauchy-Schwarz a
 * score is at most |item| |embedding| (plus the float sum's rounding, covered by a margin),
 * and the items left are the shortest.
 *
 * Exactness: an item's score is one dot product of length f whichever block it is in, but
 * BLAS kernels sum the rows left over at a call's end (n % 4 in OpenBLAS's sgemv_t) another
 * way: those items form block 0, always scored, in a call of their own, and every other
 * block's length is a multiple of 4. cand_als_index_build checks that
 * every item's score from its block is bit-identical to its score from cand_factor_scores
 * over all items (three embeddings) and refuses the index otherwise (RS_EINVAL): retrieval then
 * scores every item as before. Immutable after build: any number of threads. */
#ifndef CAND_ALSINDEX_H
#define CAND_ALSINDEX_H

#include <stddef.h>
#include <stdint.h>

#define CAND_ALS_BLOCK 256 /* rows per block */

typedef struct cand_als_index cand_als_index;

/* cand_als_index_build: the index of the n x f row-major factors V (copied). 0 and *out;
 * RS_EINVAL (no factors, more than 1,024 of them, or block scores not identical to the whole's),
 * RS_ENOMEM. */
int cand_als_index_build(const float *V, uint32_t n, uint32_t f, cand_als_index **out);
void cand_als_index_destroy(cand_als_index *x); /* NULL ok */
size_t cand_als_index_bytes(const cand_als_index *x);

uint32_t cand_als_index_blocks(const cand_als_index *x);

/* cand_als_index_norm: |u| (u of the index's width) in double; NaN or inf when u is not finite
 * (then no bound holds: score every block). */
double cand_als_index_norm(const cand_als_index *x, const float *u);

/* cand_als_index_bound: at least every score of blocks b.. for an embedding of norm unorm
 * (+inf for blocks with a non-finite factor). */
double cand_als_index_bound(const cand_als_index *x, uint32_t b, double unorm);

/* cand_als_index_score: block b's scores for u into sc (room for CAND_ALS_BLOCK), its items'
 * model codes in *codes (the blocks' codes are consecutive in one array, block 0 first);
 * returns the block's length (block 0 may be empty). */
uint32_t cand_als_index_score(const cand_als_index *x, uint32_t b, const float *u, float *sc,
                              const uint32_t **codes);

#endif
