/* Top-k selection for retrieval lists: best score first, ties by smaller item id. */
#ifndef CAND_TOPK_H
#define CAND_TOPK_H

#include <stddef.h>
#include <stdint.h>

typedef struct cand_ranked {
	uint32_t item; /* whatever the caller indexes */
	float score;
	int64_t because;
	int64_t id; /* tie-break: smaller first */
} cand_ranked;

/* cand_ranked_cmp: qsort order (best first). */
int cand_ranked_cmp(const void *a, const void *b);

/* cand_ranked_sort: sort r[0..n) in cand_ranked_cmp order (the comparison inlined; r's ids
 * must be distinct for the result to be unique). */
void cand_ranked_sort(cand_ranked *r, size_t n);

/* cand_top_k: move the k best of r[0..n) to the front, in order; the rest is left unordered.
 * Quickselect then a sort of k elements: O(n + k log k) instead of O(n log n). */
void cand_top_k(cand_ranked *r, size_t n, size_t k);

#endif
