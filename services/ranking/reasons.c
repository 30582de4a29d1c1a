#include "reasons.h"

enum { NGROUPS = 4 };

void
rank_reason(const rs_reason_hist *h, const Rs__Candidate *c, const char *category,
            const float *contrib, int64_t hint, rank_title_fn title, void *ctx, char *buf, size_t n)
{
	static const rs_reason_kind kind[NGROUPS] = {RS_REASON_BOUGHT_TOGETHER, RS_REASON_BECAUSE,
	                                             RS_REASON_CATEGORY, RS_REASON_TRENDING};
	const float g[NGROUPS] = {contrib[RANK_F_BOUGHT],
	                          contrib[RANK_F_COVISIT] + contrib[RANK_F_RECENCY],
	                          contrib[RANK_F_CATEGORY] + contrib[RANK_F_CAT_AFFINITY],
	                          contrib[RANK_F_POPULAR] + contrib[RANK_F_FIRST_STAGE]};
	int idx[NGROUPS];
	rs_reason_kind prefer[NGROUPS];
	size_t np = 0;

	/* the positive groups, largest first (equal sums keep the order above) */
	for (int i = 0; i < NGROUPS; i++) {
		if (!(g[i] > 0))
			continue;
		size_t at = np++;
		for (; at > 0 && g[i] > g[idx[at - 1]]; at--)
			idx[at] = idx[at - 1];
		idx[at] = i;
	}
	for (size_t i = 0; i < np; i++)
		prefer[i] = kind[idx[i]];
	rs_reason_in in = {
	        .hist = h,
	        .sources = c->sources,
	        .n_sources = c->n_sources,
	        .category = category,
	        .hint = hint,
	        .prefer = prefer,
	        .n_prefer = np,
	        .title = title,
	        .title_ctx = ctx,
	        .name_by_id = 1,
	};
	rs_reason_write(&in, buf, n);
}
