/* topk: a size-k min-heap whose root is the worst kept entry. */
#include "topk.h"

#include <math.h>

static inline int
topk_worse(float sa, int32_t ia, float sb, int32_t ib)
{
	return sa < sb || (sa == sb && ia > ib);
}

static void
topk_sift_down(int32_t *idx, float *sc, int n, int at)
{
	for (;;) {
		int l = 2 * at + 1, r = l + 1, w = at;
		if (l < n && topk_worse(sc[l], idx[l], sc[w], idx[w]))
			w = l;
		if (r < n && topk_worse(sc[r], idx[r], sc[w], idx[w]))
			w = r;
		if (w == at)
			return;
		float ts = sc[at];
		int32_t ti = idx[at];
		sc[at] = sc[w];
		idx[at] = idx[w];
		sc[w] = ts;
		idx[w] = ti;
		at = w;
	}
}

static void
topk_sift_up(int32_t *idx, float *sc, int at)
{
	while (at > 0) {
		int p = (at - 1) / 2;
		if (!topk_worse(sc[at], idx[at], sc[p], idx[p]))
			return;
		float ts = sc[at];
		int32_t ti = idx[at];
		sc[at] = sc[p];
		idx[at] = idx[p];
		sc[p] = ts;
		idx[p] = ti;
		at = p;
	}
}

int
tr_topk(const float *scores, int32_t n, int k, int32_t *out_idx, float *out_score)
{
	int m = 0, j;
	int32_t i;

	if (k <= 0)
		return 0;
	for (i = 0; i < n; i++) {
		float s = scores[i];
		if (isnan(s) || s == -INFINITY)
			continue;
		if (m < k) {
			out_idx[m] = i;
			out_score[m] = s;
			topk_sift_up(out_idx, out_score, m);
			m++;
		} else if (topk_worse(out_score[0], out_idx[0], s, i)) {
			out_idx[0] = i;
			out_score[0] = s;
			topk_sift_down(out_idx, out_score, m, 0);
		}
	}
	/* heap sort: repeatedly move the worst to the end -> best first */
	for (j = m - 1; j > 0; j--) {
		float ts = out_score[0];
		int32_t ti = out_idx[0];
		out_score[0] = out_score[j];
		out_idx[0] = out_idx[j];
		out_score[j] = ts;
		out_idx[j] = ti;
		topk_sift_down(out_idx, out_score, j, 0);
	}
	return m;
}
