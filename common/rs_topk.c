/* rs_topk: see rs_topk.h. */
#include "rs_topk.h"

#include <math.h>

enum { TOPK_SMALL = 16 }; /* ranges this short are sorted by insertion */

static inline void
topk_swap(rs_topk_ent *a, rs_topk_ent *b)
{
	rs_topk_ent t = *a;
	*a = *b;
	*b = t;
}

/* e[0..n) by key, largest first */
static void
topk_insertion(rs_topk_ent *e, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		rs_topk_ent v = e[i];
		size_t j = i;
		for (; j > 0 && e[j - 1].key < v.key; j--)
			e[j] = e[j - 1];
		e[j] = v;
	}
}

/* Partitions e[lo, hi) (hi - lo > TOPK_SMALL) around the median of its first, middle and last
 * keys; returns p with e[lo, p) above e[p] and e(p, hi) below it (keys are distinct). */
static size_t
topk_partition(rs_topk_ent *e, size_t lo, size_t hi)
{
	size_t mid = lo + (hi - lo) / 2, last = hi - 1;
	if (e[mid].key > e[lo].key)
		topk_swap(&e[mid], &e[lo]);
	if (e[last].key > e[lo].key)
		topk_swap(&e[last], &e[lo]);
	if (e[last].key > e[mid].key)
		topk_swap(&e[last], &e[mid]);
	/* e[lo] >= e[mid] >= e[last]: the pivot goes to lo + 1; e[lo] and e[last] stop the scans */
	topk_swap(&e[mid], &e[lo + 1]);
	const uint64_t pivot = e[lo + 1].key;
	size_t i = lo + 1, j = last;
	for (;;) {
		do
			i++;
		while (e[i].key > pivot);
		do
			j--;
		while (e[j].key < pivot);
		if (i >= j)
			break;
		topk_swap(&e[i], &e[j]);
	}
	topk_swap(&e[lo + 1], &e[j]);
	return j;
}

/* e[0..n) sorted, largest key first: quicksort into the smaller side, insertion below 16 */
static void
topk_sort(rs_topk_ent *e, size_t n)
{
	while (n > TOPK_SMALL) {
		size_t p = topk_partition(e, 0, n);
		if (p < n - p - 1) {
			topk_sort(e, p);
			e += p + 1;
			n -= p + 1;
		} else {
			topk_sort(e + p + 1, n - p - 1);
			n = p;
		}
	}
	topk_insertion(e, n);
}

/* the k largest of e[0..n) into e[0..k) (0 < k < n), e[k - 1] the smallest of them */
static void
topk_nth(rs_topk_ent *e, size_t n, size_t k)
{
	size_t lo = 0, hi = n;
	while (hi - lo > TOPK_SMALL) {
		size_t p = topk_partition(e, lo, hi);
		if (p == k - 1)
			return;
		if (p < k - 1)
			lo = p + 1;
		else
			hi = p;
	}
	topk_insertion(e + lo, hi - lo); /* a short range still holds position k - 1 */
}

void
rs_topk_select(rs_topk_ent *e, size_t n, size_t k)
{
	if (k > n)
		k = n;
	if (k == 0)
		return;
	if (k < n)
		topk_nth(e, n, k);
	topk_sort(e, k);
}

void
rs_topk_flush(rs_topk *t)
{
	if (t->n <= t->k)
		return;
	topk_nth(t->e, t->n, t->k);
	t->n = t->k;
	t->bar = t->e[t->k - 1].key;
}

size_t
rs_topk_sorted(rs_topk *t)
{
	rs_topk_select(t->e, t->n, t->k);
	if (t->n > t->k)
		t->n = t->k;
	return t->n;
}

size_t
rs_topk_floats(const float *scores, uint32_t n, size_t k, rs_topk_ent *room, size_t cap,
               uint32_t *out_idx, float *out_score)
{
	rs_topk t;
	rs_topk_init(&t, room, cap, k);
	for (uint32_t i = 0; i < n; i++) {
		float s = scores[i];
		if (isnan(s) || s == -INFINITY)
			continue;
		rs_topk_push(&t, rs_topk_ent_of(s, i, i));
	}
	size_t m = rs_topk_sorted(&t);
	for (size_t q = 0; q < m; q++) {
		out_idx[q] = room[q].val;
		if (out_score != NULL)
			out_score[q] = room[q].score;
	}
	return m;
}
