#include "reasons.h"

#include <stdio.h>
#include <string.h>

enum { GROUP_BOUGHT, GROUP_COVISIT, GROUP_CATEGORY, GROUP_POPULAR, NGROUPS };

static const char *
title_of(rank_title_fn title, void *ctx, int64_t id, char *tmp, size_t n)
{
	const char *t = title != NULL ? title(ctx, id) : NULL;
	if (t != NULL && t[0] != '\0')
		return t;
	snprintf(tmp, n, "item %lld", (long long) id);
	return tmp;
}

void
rank_reason(const rank_user *u, const rank_cand *c, const float *contrib, rank_title_fn title,
            void *ctx, char *buf, size_t n)
{
	float g[NGROUPS];
	char tmp[32];

	g[GROUP_BOUGHT] = c->because[RANK_SRC_BOUGHT] != 0 ? contrib[RANK_F_BOUGHT] : -1;
	g[GROUP_COVISIT] = c->because[RANK_SRC_COVISIT] != 0
	                           ? contrib[RANK_F_COVISIT] + contrib[RANK_F_RECENCY]
	                           : -1;
	g[GROUP_CATEGORY] = c->category != NULL && c->category[0] != '\0'
	                            ? contrib[RANK_F_CATEGORY] + contrib[RANK_F_CAT_AFFINITY]
	                            : -1;
	g[GROUP_POPULAR] = contrib[RANK_F_POPULAR] + contrib[RANK_F_FIRST_STAGE];
	int best = -1;
	for (int i = 0; i < NGROUPS; i++)
		if (g[i] > 0 && (best < 0 || g[i] > g[best]))
			best = i;

	switch (best) {
	case GROUP_BOUGHT:
		snprintf(buf, n, "often bought together with %s",
		         title_of(title, ctx, c->because[RANK_SRC_BOUGHT], tmp, sizeof(tmp)));
		break;
	case GROUP_COVISIT: {
		int64_t id = c->because[RANK_SRC_COVISIT];
		const rank_hist_item *h = rank_user_item(u, id);
		const char *t = title_of(title, ctx, id, tmp, sizeof(tmp));
		if (h != NULL && h->bought > 0)
			snprintf(buf, n, "because you bought %s", t);
		else if (h != NULL && h->cart > 0)
			snprintf(buf, n, "because you added %s to your cart", t);
		else
			snprintf(buf, n, "because you viewed %s", t);
		break;
	}
	case GROUP_CATEGORY: {
		const char *leaf = strrchr(c->category, '/');
		snprintf(buf, n, "popular in %s",
		         leaf != NULL && leaf[1] != '\0' ? leaf + 1 : c->category);
		break;
	}
	case GROUP_POPULAR:
		snprintf(buf, n, "trending now");
		break;
	default:
		snprintf(buf, n, "recommended for you");
		break;
	}
}
