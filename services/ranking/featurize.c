#include "featurize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "event.pb-c.h"
#include "rs_err.h"
#include "rs_event.h"

const char *const rank_feature_names[RANK_NF] = {
        "src_covisit", "src_bought_together", "src_category",
        "src_popular", "first_stage",         "category_affinity",
        "recency",     "seen_count",          "in_cart",
};

static const char *const source_names[RANK_NSRC] = {"covisit", "bought_together", "category",
                                                    "popular"};

#define SEEN_CAP       10
#define RECENCY_HALF_H 24.0

int
rank_source_index(const char *name)
{
	for (int i = 0; name != NULL && i < RANK_NSRC; i++)
		if (strcmp(name, source_names[i]) == 0)
			return i;
	return -1;
}

static int
cmp_hist_id(const void *a, const void *b)
{
	const rank_hist *x = a, *y = b;
	return (x->item_id > y->item_id) - (x->item_id < y->item_id);
}

int
rank_user_build(rs_arena *a, const rank_hist *h, size_t nh, const rank_catalog *cat, int64_t now_ms,
                rank_user *u)
{
	size_t cap = nh ? nh : 1;
	rank_hist *s = rs_arena_alloc(a, cap * sizeof(*s));

	memset(u, 0, sizeof(*u));
	u->now_ms = now_ms;
	u->items = rs_arena_alloc(a, cap * sizeof(*u->items));
	u->cats = rs_arena_alloc(a, cap * sizeof(*u->cats));
	u->cat_w = rs_arena_alloc(a, cap * sizeof(*u->cat_w));
	if (s == NULL || u->items == NULL || u->cats == NULL || u->cat_w == NULL)
		return RS_ENOMEM;
	if (nh > 0)
		memcpy(s, h, nh * sizeof(*s));
	qsort(s, nh, sizeof(*s), cmp_hist_id);
	for (size_t i = 0; i < nh; i++) {
		rank_hist_item *it;
		if (u->n_items == 0 || u->items[u->n_items - 1].id != s[i].item_id) {
			it = &u->items[u->n_items++];
			memset(it, 0, sizeof(*it));
			it->id = s[i].item_id;
			it->newest_ts = s[i].ts_ms;
		}
		it = &u->items[u->n_items - 1];
		if (s[i].ts_ms > it->newest_ts)
			it->newest_ts = s[i].ts_ms;
		it->seen += s[i].type == RS__EVENT_TYPE__EVENT_VIEW ||
		            s[i].type == RS__EVENT_TYPE__EVENT_CLICK;
		it->cart += s[i].type == RS__EVENT_TYPE__EVENT_ADD_TO_CART;
		it->bought += s[i].type == RS__EVENT_TYPE__EVENT_PURCHASE;

		float w = rs_event_seed_weight(s[i].type);
		int64_t ci = rank_catalog_find(cat, s[i].item_id);
		if (w <= 0 || ci < 0 || cat->categories[ci][0] == '\0')
			continue;
		const char *c = cat->categories[ci];
		size_t j;
		for (j = 0; j < u->n_cats && strcmp(u->cats[j], c) != 0; j++)
			;
		if (j == u->n_cats) {
			u->cats[u->n_cats] =
			        c; /* borrowed from the catalog, referenced by the caller */
			u->cat_w[u->n_cats++] = 0;
		}
		u->cat_w[j] += w;
		u->total_w += w;
	}
	return 0;
}

const rank_hist_item *
rank_user_item(const rank_user *u, int64_t id)
{
	size_t lo = 0, hi = u->n_items;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (u->items[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < u->n_items && u->items[lo].id == id ? &u->items[lo] : NULL;
}

/* Length of the top-level segment of a category path ("Home/Kitchen" -> 4). */
static size_t
top_len(const char *c)
{
	const char *slash = strchr(c, '/');
	return slash != NULL ? (size_t) (slash - c) : strlen(c);
}

static float
cat_affinity(const rank_user *u, const char *c)
{
	float same = 0, top = 0;
	size_t tl;
	if (u->total_w <= 0 || c == NULL || c[0] == '\0')
		return 0;
	tl = top_len(c);
	for (size_t j = 0; j < u->n_cats; j++) {
		if (strcmp(u->cats[j], c) == 0)
			same += u->cat_w[j];
		else if (top_len(u->cats[j]) == tl && strncmp(u->cats[j], c, tl) == 0)
			top += u->cat_w[j];
	}
	return (same + 0.5f * top) / u->total_w;
}

void
rank_features_compute(const rank_user *u, const rank_cand *c, size_t n, float *x)
{
	float best[RANK_NSRC] = {0}, best_first = 0;

	for (size_t i = 0; i < n; i++) {
		for (int s = 0; s < RANK_NSRC; s++)
			if (c[i].src[s] > best[s])
				best[s] = c[i].src[s];
		if (c[i].first_stage > best_first)
			best_first = c[i].first_stage;
	}
	for (size_t i = 0; i < n; i++) {
		float *r = &x[i * RANK_NF];
		const rank_hist_item *self = rank_user_item(u, c[i].item_id);
		r[RANK_F_COVISIT] = best[RANK_SRC_COVISIT] > 0
		                            ? c[i].src[RANK_SRC_COVISIT] / best[RANK_SRC_COVISIT]
		                            : 0;
		r[RANK_F_BOUGHT] = best[RANK_SRC_BOUGHT] > 0
		                           ? c[i].src[RANK_SRC_BOUGHT] / best[RANK_SRC_BOUGHT]
		                           : 0;
		r[RANK_F_CATEGORY] = best[RANK_SRC_CATEGORY] > 0
		                             ? c[i].src[RANK_SRC_CATEGORY] / best[RANK_SRC_CATEGORY]
		                             : 0;
		r[RANK_F_POPULAR] = best[RANK_SRC_POPULAR] > 0
		                            ? c[i].src[RANK_SRC_POPULAR] / best[RANK_SRC_POPULAR]
		                            : 0;
		r[RANK_F_FIRST_STAGE] = best_first > 0 ? c[i].first_stage / best_first : 0;
		r[RANK_F_CAT_AFFINITY] = cat_affinity(u, c[i].category);

		/* Recency of the history event that led here (covisit or bought-together). */
		int64_t because = c[i].because[RANK_SRC_COVISIT] != 0
		                          ? c[i].because[RANK_SRC_COVISIT]
		                          : c[i].because[RANK_SRC_BOUGHT];
		const rank_hist_item *b = because != 0 ? rank_user_item(u, because) : NULL;
		if (b != NULL) {
			double hours = (double) (u->now_ms - b->newest_ts) / 3600000.0;
			r[RANK_F_RECENCY] = (float) exp2(-(hours > 0 ? hours : 0) / RECENCY_HALF_H);
		} else {
			r[RANK_F_RECENCY] = 0;
		}
		int seen = self != NULL ? self->seen : 0;
		r[RANK_F_SEEN] = (float) (seen < SEEN_CAP ? seen : SEEN_CAP);
		r[RANK_F_IN_CART] =
		        self != NULL && self->cart > 0 && self->bought == 0 ? 1.0f : 0.0f;
	}
}
