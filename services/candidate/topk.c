#include "topk.h"

#include <stdlib.h>

int
cand_ranked_cmp(const void *x, const void *y)
{
	const cand_ranked *a = x, *b = y;
	if (a->score != b->score)
		return a->score < b->score ? 1 : -1;
	return (a->id > b->id) - (a->id < b->id);
}

void
cand_top_k(cand_ranked *r, size_t n, size_t k)
{
	size_t lo = 0, hi = n;
	if (k >= n) {
		qsort(r, n, sizeof(*r), cand_ranked_cmp);
		return;
	}
	while (hi - lo > 16) {
		size_t mid = lo + (hi - lo) / 2, i = lo, j = hi - 1;
		/* median of three as the pivot, parked at hi - 1 */
		if (cand_ranked_cmp(&r[mid], &r[lo]) < 0) {
			cand_ranked t = r[mid];
			r[mid] = r[lo];
			r[lo] = t;
		}
		if (cand_ranked_cmp(&r[j], &r[lo]) < 0) {
			cand_ranked t = r[j];
			r[j] = r[lo];
			r[lo] = t;
		}
		if (cand_ranked_cmp(&r[j], &r[mid]) < 0) {
			cand_ranked t = r[j];
			r[j] = r[mid];
			r[mid] = t;
		}
		cand_ranked pivot = r[mid];
		r[mid] = r[j];
		r[j] = pivot;
		for (size_t x = lo; x < j; x++) {
			if (cand_ranked_cmp(&r[x], &pivot) < 0) {
				cand_ranked t = r[x];
				r[x] = r[i];
				r[i] = t;
				i++;
			}
		}
		cand_ranked t = r[i];
		r[i] = r[j];
		r[j] = t; /* the pivot lands at i */
		if (i == k) {
			lo = hi; /* [0, k) holds exactly the k best */
			break;
		}
		if (i < k)
			lo = i + 1;
		else
			hi = i;
	}
	if (lo < hi) /* a small range still straddles position k: order it */
		qsort(&r[lo], hi - lo, sizeof(*r), cand_ranked_cmp);
	qsort(r, k, sizeof(*r), cand_ranked_cmp);
}
