#include "topk.h"

/* The order of cand_ranked_cmp, inlined: every sort and selection below uses it. */
static inline int
rk_before(const cand_ranked *a, const cand_ranked *b)
{
	if (a->score != b->score)
		return a->score > b->score;
	return a->id < b->id;
}

static inline void
rk_swap(cand_ranked *a, cand_ranked *b)
{
	cand_ranked t = *a;
	*a = *b;
	*b = t;
}

int
cand_ranked_cmp(const void *x, const void *y)
{
	const cand_ranked *a = x, *b = y;
	if (a->score != b->score)
		return a->score < b->score ? 1 : -1;
	return (a->id > b->id) - (a->id < b->id);
}

static void
rk_insertion(cand_ranked *r, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		cand_ranked v = r[i];
		size_t j = i;
		for (; j > 0 && rk_before(&v, &r[j - 1]); j--)
			r[j] = r[j - 1];
		r[j] = v;
	}
}

/* Moves the median of r[lo], r[mid], r[hi - 1] to hi - 1 and partitions [lo, hi) around it;
 * returns where the pivot lands. */
static size_t
rk_partition(cand_ranked *r, size_t lo, size_t hi)
{
	size_t mid = lo + (hi - lo) / 2, i = lo, j = hi - 1;
	if (rk_before(&r[mid], &r[lo]))
		rk_swap(&r[mid], &r[lo]);
	if (rk_before(&r[j], &r[lo]))
		rk_swap(&r[j], &r[lo]);
	if (rk_before(&r[j], &r[mid]))
		rk_swap(&r[j], &r[mid]);
	rk_swap(&r[mid], &r[j]);
	const cand_ranked pivot = r[j];
	for (size_t x = lo; x < j; x++)
		if (rk_before(&r[x], &pivot)) {
			rk_swap(&r[x], &r[i]);
			i++;
		}
	rk_swap(&r[i], &r[j]);
	return i;
}

void
cand_ranked_sort(cand_ranked *r, size_t n)
{
	/* Quicksort, recursing into the smaller side (depth O(log n)), insertion sort below 16. */
	while (n > 16) {
		size_t p = rk_partition(r, 0, n);
		if (p < n - p - 1) {
			cand_ranked_sort(r, p);
			r += p + 1;
			n -= p + 1;
		} else {
			cand_ranked_sort(r + p + 1, n - p - 1);
			n = p;
		}
	}
	rk_insertion(r, n);
}

void
cand_top_k(cand_ranked *r, size_t n, size_t k)
{
	size_t lo = 0, hi = n;
	if (k >= n) {
		cand_ranked_sort(r, n);
		return;
	}
	while (hi - lo > 16) {
		size_t i = rk_partition(r, lo, hi);
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
		rk_insertion(&r[lo], hi - lo);
	cand_ranked_sort(r, k);
}
