#include "retrieve.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"
#include "topk.h"

const char *const cand_src_names[CAND_NSRC] = {"covisit", "bought_together", "category", "popular"};

/* How much each source's normalised score counts in the merged first-stage score. */
static const float src_weight[CAND_NSRC] = {1.0f, 0.6f, 0.5f, 0.4f};

#define MAX_SEEDS  20    /* distinct recent items used as co-visitation seeds */
#define MAX_CATS   5     /* categories of recent items used by the category source */
#define SEED_DECAY 0.85f /* each older distinct item counts this much less */

int
cand_filter_pass(const cand_snap *s, uint32_t i, const cand_filter *f)
{
	const cand_item *it = &s->items[i];
	if (f == NULL)
		return 1;
	if (f->category != NULL && f->category[0] != '\0') {
		size_t n = strlen(f->category);
		if (f->category[n - 1] == '/')
			n--;
		if (n > 0 && (strncmp(it->category, f->category, n) != 0 ||
		              (it->category[n] != '\0' && it->category[n] != '/')))
			return 0;
	}
	if ((f->min_price > 0 || f->max_price > 0) && !it->has_price)
		return 0;
	if (f->min_price > 0 && it->price < f->min_price)
		return 0;
	if (f->max_price > 0 && it->price > f->max_price)
		return 0;
	if (f->in_stock_only && !it->in_stock)
		return 0;
	return 1;
}

/* ---- an accumulator: item -> (score, because, strongest contribution), bounded ---- */

typedef struct acc {
	uint32_t *item;
	float *score;
	int64_t *because;
	float *best; /* the largest single contribution, which names `because` */
	size_t n, cap;
	int32_t *index; /* open addressing over item, -1 = free */
	size_t icap;
} acc;

static int
acc_init(acc *a, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->cap = cap ? cap : 1;
	a->icap = 16;
	while (a->icap < a->cap * 2)
		a->icap <<= 1;
	/* One block, widest members first so each array stays aligned. */
	size_t bytes = a->cap * (sizeof(*a->because) + sizeof(*a->item) + sizeof(*a->score) +
	                         sizeof(*a->best)) +
	               a->icap * sizeof(*a->index);
	char *p = malloc(bytes);
	if (p == NULL)
		return RS_ENOMEM;
	a->because = (int64_t *) p;
	a->item = (uint32_t *) (a->because + a->cap);
	a->score = (float *) (a->item + a->cap);
	a->best = a->score + a->cap;
	a->index = (int32_t *) (a->best + a->cap);
	memset(a->index, 0xff, a->icap * sizeof(*a->index));
	return 0;
}

static void
acc_fini(acc *a)
{
	free(a->because); /* the block */
}

static int32_t *
acc_slot(acc *a, uint32_t item)
{
	size_t i = (size_t) ((item * 2654435761u) & (a->icap - 1));
	while (a->index[i] >= 0 && a->item[a->index[i]] != item)
		i = (i + 1) & (a->icap - 1);
	return &a->index[i];
}

/* Adds w to item's score; the contribution's source `because` is kept if it is the largest. */
static void
acc_add(acc *a, uint32_t item, float w, int64_t because)
{
	int32_t *slot = acc_slot(a, item);
	if (*slot < 0) {
		if (a->n == a->cap)
			return; /* cannot happen: every cap covers its source's bound */
		*slot = (int32_t) a->n;
		a->item[a->n] = item;
		a->score[a->n] = 0;
		a->best[a->n] = -1;
		a->because[a->n] = 0;
		a->n++;
	}
	a->score[*slot] += w;
	if (w > a->best[*slot]) {
		a->best[*slot] = w;
		a->because[*slot] = because;
	}
}

/* Sorts the source, keeps its top k and folds it into the merged accumulator m, whose
 * per-item results live in res (indexed like m). */
static int
merge_source(const cand_snap *s, acc *src, int which, uint32_t k, acc *m, cand_result *res)
{
	cand_ranked *r;
	if (src->n == 0)
		return 0;
	if ((r = malloc(src->n * sizeof(*r))) == NULL)
		return RS_ENOMEM;
	for (size_t i = 0; i < src->n; i++)
		r[i] = (cand_ranked){src->item[i], src->score[i], src->because[i],
		                     s->items[src->item[i]].id};
	size_t n = src->n < k ? src->n : k;
	cand_top_k(r, src->n, n);
	float top = r[0].score > 0 ? r[0].score : 1.0f;
	for (size_t i = 0; i < n; i++) {
		int32_t *slot = acc_slot(m, r[i].item);
		if (*slot < 0) {
			if (m->n == m->cap)
				break;
			*slot = (int32_t) m->n;
			m->item[m->n] = r[i].item;
			memset(&res[m->n], 0, sizeof(res[m->n]));
			res[m->n].item = r[i].item;
			m->n++;
		}
		cand_result *c = &res[*slot];
		c->has |= 1u << which;
		c->src[which] = (cand_src){r[i].score, (uint32_t) i + 1, r[i].because};
		c->score += src_weight[which] * (r[i].score / top);
	}
	free(r);
	return 0;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return (x > y) - (x < y);
}

typedef struct seed {
	uint32_t item;
	float w;
	int64_t id;
} seed;

typedef struct retrieval {
	const cand_snap *s;
	const cand_filter *f;
	int64_t *excl; /* sorted item ids never returned */
	size_t n_excl;
	acc src[CAND_NSRC];
} retrieval;

static int
ret_pass(const retrieval *r, uint32_t item)
{
	int64_t id = r->s->items[item].id;
	if (r->n_excl > 0 && bsearch(&id, r->excl, r->n_excl, sizeof(id), cmp_i64) != NULL)
		return 0;
	return cand_filter_pass(r->s, item, r->f);
}

static void
ret_covisit(retrieval *r, const seed *seeds, size_t ns)
{
	const cand_snap *s = r->s;
	for (size_t i = 0; i < ns; i++) {
		const cand_item *it = &s->items[seeds[i].item];
		for (uint32_t j = 0; j < it->nb_len; j++) {
			const cand_nb *nb = &s->nbs[it->nb_off + j];
			if (!ret_pass(r, nb->item))
				continue;
			acc_add(&r->src[CAND_SRC_COVISIT], nb->item, seeds[i].w * nb->score,
			        seeds[i].id);
			if (nb->cobought > 0)
				acc_add(&r->src[CAND_SRC_BOUGHT], nb->item,
				        seeds[i].w * nb->cobought, seeds[i].id);
		}
	}
}

typedef struct cat_weight {
	uint32_t cat;
	float w;
} cat_weight;

/* Popular items of the seeds' categories, each category weighted by its seeds. */
static void
ret_category(retrieval *r, const seed *seeds, size_t ns, uint32_t k)
{
	const cand_snap *s = r->s;
	cat_weight cw[MAX_SEEDS];
	size_t nc = 0;

	for (size_t i = 0; i < ns; i++) {
		uint32_t c = s->items[seeds[i].item].cat;
		size_t j;
		if (s->cats[c][0] == '\0')
			continue; /* unknown category */
		for (j = 0; j < nc && cw[j].cat != c; j++)
			;
		if (j == nc)
			cw[nc++] = (cat_weight){c, 0};
		cw[j].w += seeds[i].w;
	}
	for (size_t a = 1; a < nc; a++) /* insertion sort, heaviest first */
		for (size_t b = a; b > 0 && cw[b].w > cw[b - 1].w; b--) {
			cat_weight t = cw[b];
			cw[b] = cw[b - 1];
			cw[b - 1] = t;
		}
	if (nc > MAX_CATS)
		nc = MAX_CATS;
	for (size_t j = 0; j < nc; j++) {
		const uint32_t *list = &s->cat_items[s->cat_off[cw[j].cat]];
		uint32_t len = s->cat_len[cw[j].cat], taken = 0;
		float top = len > 0 ? s->items[list[0]].pop : 0;
		float cwn = cw[j].w / cw[0].w;
		for (uint32_t i = 0; i < len && taken < k; i++) {
			if (!ret_pass(r, list[i]))
				continue;
			float pop = s->items[list[i]].pop;
			acc_add(&r->src[CAND_SRC_CATEGORY], list[i],
			        cwn * (top > 0 ? pop / top : 1.0f / (float) (i + 1)), 0);
			taken++;
		}
	}
}

static void
ret_popular(retrieval *r, uint32_t k)
{
	const cand_snap *s = r->s;
	uint32_t taken = 0;
	for (size_t i = 0; i < s->n_popular && taken < k; i++) {
		if (!ret_pass(r, s->popular[i]))
			continue;
		acc_add(&r->src[CAND_SRC_POPULAR], s->popular[i], s->items[s->popular[i]].pop, 0);
		taken++;
	}
}

/* Merges every source into out: the best k by merged score. */
static int
ret_finish(retrieval *r, uint32_t k, cand_result *out, size_t *n_out)
{
	size_t total = 0;
	acc m;
	cand_result *res;
	int rv = RS_ENOMEM;

	for (int i = 0; i < CAND_NSRC; i++)
		total += r->src[i].n < k ? r->src[i].n : k;
	if (acc_init(&m, total) != 0 ||
	    (res = malloc((total ? total : 1) * sizeof(*res))) == NULL) {
		acc_fini(&m);
		return RS_ENOMEM;
	}
	for (int i = 0; i < CAND_NSRC; i++)
		if (merge_source(r->s, &r->src[i], i, k, &m, res) != 0)
			goto out;
	*n_out = m.n < k ? m.n : k;
	if (m.n > 0) {
		cand_ranked *order = malloc(m.n * sizeof(*order));
		if (order == NULL)
			goto out;
		for (size_t i = 0; i < m.n; i++)
			order[i] = (cand_ranked){(uint32_t) i, res[i].score, 0,
			                         r->s->items[res[i].item].id};
		cand_top_k(order, m.n, *n_out);
		for (size_t i = 0; i < *n_out; i++)
			out[i] = res[order[i].item];
		free(order);
	}
	rv = 0;
out:
	free(res);
	acc_fini(&m);
	return rv;
}

static void
ret_fini(retrieval *r)
{
	for (int i = 0; i < CAND_NSRC; i++)
		acc_fini(&r->src[i]);
	free(r->excl);
}

static int
ret_init(retrieval *r, const cand_snap *s, const cand_filter *f, size_t n_excl_max, uint32_t k)
{
	size_t cov = (size_t) MAX_SEEDS * CAND_COVISIT_MAX;

	memset(r, 0, sizeof(*r));
	r->s = s;
	r->f = f;
	r->excl = malloc((n_excl_max ? n_excl_max : 1) * sizeof(*r->excl));
	if (r->excl == NULL)
		return RS_ENOMEM;
	if (acc_init(&r->src[CAND_SRC_COVISIT], cov > s->n_items ? s->n_items : cov) != 0 ||
	    acc_init(&r->src[CAND_SRC_BOUGHT], cov > s->n_items ? s->n_items : cov) != 0 ||
	    acc_init(&r->src[CAND_SRC_CATEGORY], (size_t) MAX_CATS * k) != 0 ||
	    acc_init(&r->src[CAND_SRC_POPULAR], k) != 0)
		return RS_ENOMEM;
	return 0;
}

static int
cmp_hist_newest(const void *x, const void *y)
{
	const cand_hist *a = x, *b = y;
	return (a->ts_ms < b->ts_ms) - (a->ts_ms > b->ts_ms);
}

int
cand_retrieve(const cand_snap *s, int64_t user_id, const cand_hist *h, size_t nh,
              const cand_filter *f, uint32_t k, cand_result *out, size_t *n_out)
{
	retrieval r;
	seed seeds[MAX_SEEDS];
	size_t ns = 0;
	cand_hist *hs = NULL;
	int64_t *neg = NULL;
	size_t n_neg = 0;
	int rv = RS_ENOMEM;

	size_t n_past = 0;
	const int64_t *past = user_id > 0 ? cand_snap_excluded(s, user_id, &n_past) : NULL;

	*n_out = 0;
	if (ret_init(&r, s, f, nh + n_past + (f != NULL ? f->n_exclude : 0), k) != 0)
		goto out;
	if ((hs = malloc((nh ? nh : 1) * sizeof(*hs))) == NULL ||
	    (neg = malloc((nh ? nh : 1) * sizeof(*neg))) == NULL)
		goto out;
	if (nh > 0)
		memcpy(hs, h, nh * sizeof(*hs));
	qsort(hs, nh, sizeof(*hs), cmp_hist_newest);
	for (size_t i = 0; i < nh; i++) {
		if (hs[i].type == 4 || hs[i].type == 6) /* purchase, not_interested */
			r.excl[r.n_excl++] = hs[i].item_id;
		if (hs[i].type == 6)
			neg[n_neg++] = hs[i].item_id;
	}
	qsort(neg, n_neg, sizeof(*neg), cmp_i64);
	for (size_t i = 0; f != NULL && i < f->n_exclude; i++)
		r.excl[r.n_excl++] = f->exclude[i];
	for (size_t i = 0; i < n_past; i++)
		r.excl[r.n_excl++] = past[i];
	qsort(r.excl, r.n_excl, sizeof(*r.excl), cmp_i64);

	/* Seeds: distinct recent items (not the ones marked not_interested), newest first,
	 * weighted by their strongest event and by recency of position. */
	float decay = 1.0f;
	for (size_t i = 0; i < nh && ns < MAX_SEEDS; i++) {
		float w = cand_type_weight(hs[i].type, hs[i].value);
		int64_t idx = cand_snap_find(s, hs[i].item_id);
		size_t j;
		if (w <= 0 || idx < 0)
			continue;
		int64_t id = hs[i].item_id;
		/* A purchase still seeds (what goes with it); a not_interested item never. */
		if (n_neg > 0 && bsearch(&id, neg, n_neg, sizeof(id), cmp_i64) != NULL)
			continue;
		for (j = 0; j < ns && seeds[j].id != id; j++)
			;
		if (j == ns) {
			seeds[ns++] = (seed){(uint32_t) idx, w * decay, id};
			decay *= SEED_DECAY;
		} else if (w * decay > seeds[j].w) {
			seeds[j].w = w * decay;
		}
	}
	ret_covisit(&r, seeds, ns);
	ret_category(&r, seeds, ns, k);
	ret_popular(&r, k);
	rv = ret_finish(&r, k, out, n_out);
out:
	free(hs);
	free(neg);
	ret_fini(&r);
	return rv;
}

int
cand_similar(const cand_snap *s, uint32_t item, uint32_t k, cand_result *out, size_t *n_out)
{
	retrieval r;
	seed sd = {item, 1.0f, s->items[item].id};
	int rv = RS_ENOMEM;

	*n_out = 0;
	if (ret_init(&r, s, NULL, 1, k) == 0) {
		r.excl[r.n_excl++] = s->items[item].id;
		ret_covisit(&r, &sd, 1);
		ret_category(&r, &sd, 1, k);
		rv = ret_finish(&r, k, out, n_out);
	}
	ret_fini(&r);
	return rv;
}
