#include "scorer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"

/* Hand-set weights of the transparent scorer: co-visitation and popularity lead, category fit
 * and a recent trigger help, and an item the user has looked at many times is pushed down a
 * little so the list does not repeat itself. */
const float rank_linear_weights[RANK_NF] = {
        [RANK_F_COVISIT] = 0.45f, [RANK_F_BOUGHT] = 0.15f,      [RANK_F_CATEGORY] = 0.10f,
        [RANK_F_POPULAR] = 0.25f, [RANK_F_FIRST_STAGE] = 0.05f, [RANK_F_CAT_AFFINITY] = 0.10f,
        [RANK_F_RECENCY] = 0.10f, [RANK_F_SEEN] = -0.04f,       [RANK_F_IN_CART] = 0.05f,
};

typedef struct linear {
	float w[RANK_NF];
} linear;

static int
linear_score(const void *impl, const float *x, size_t n, float *scores, float *contrib)
{
	const linear *l = impl;
	for (size_t i = 0; i < n; i++) {
		const float *r = &x[i * RANK_NF];
		float s = 0;
		for (int f = 0; f < RANK_NF; f++) {
			float c = l->w[f] * r[f];
			s += c;
			if (contrib != NULL)
				contrib[i * RANK_NF + f] = c;
		}
		scores[i] = s;
	}
	return 0;
}

static void
linear_destroy(void *impl)
{
	free(impl);
}

static const rank_scorer_ops linear_ops = {"linear", linear_score, linear_destroy};

int
rank_scorer_linear_create(const float *w, const char *version, rank_scorer **out)
{
	rank_scorer *s = calloc(1, sizeof(*s));
	linear *l = calloc(1, sizeof(*l));
	if (s == NULL || l == NULL) {
		free(s);
		free(l);
		return RS_ENOMEM;
	}
	memcpy(l->w, w != NULL ? w : rank_linear_weights, sizeof(l->w));
	s->ops = &linear_ops;
	s->impl = l;
	snprintf(s->version, sizeof(s->version), "%s", version != NULL ? version : "linear-v1");
	atomic_init(&s->refs, 1);
	*out = s;
	return 0;
}

static int
xgb_score(const void *impl, const float *x, size_t n, float *scores, float *contrib)
{
	return rank_ranker_predict(impl, x, n, scores, contrib);
}

static void
xgb_destroy(void *impl)
{
	rank_ranker_destroy(impl);
}

static const rank_scorer_ops xgb_ops = {"xgboost", xgb_score, xgb_destroy};

int
rank_scorer_xgb_create(rank_ranker *r, const char *version, rank_scorer **out)
{
	rank_scorer *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return RS_ENOMEM;
	s->ops = &xgb_ops;
	s->impl = r;
	s->ranker = r;
	snprintf(s->version, sizeof(s->version), "%s", version != NULL ? version : "xgboost");
	atomic_init(&s->refs, 1);
	*out = s;
	return 0;
}

int
rank_scorer_score(const rank_scorer *s, const float *x, size_t n, float *scores, float *contrib)
{
	return s->ops->score(s->impl, x, n, scores, contrib);
}

rank_scorer *
rank_scorer_ref(rank_scorer *s)
{
	if (s != NULL)
		atomic_fetch_add(&s->refs, 1);
	return s;
}

void
rank_scorer_unref(rank_scorer *s)
{
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	s->ops->destroy(s->impl);
	free(s);
}
