#include "retrieve.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "event.pb-c.h"
#include "factors.h"
#include "rs_err.h"
#include "rs_idmap.h"
#include "rs_topk.h"

const char *const cand_src_names[CAND_NSRC] = {"covisit", "bought_together", "category", "popular",
                                               "als",     "itemknn",         "metadata"};

const char *const cand_why_names[CAND_NWHY] = {"purchased", "not_interested", "excluded",
                                               "unavailable"};

/* How much each source's normalised score counts in the merged first-stage score. */
static const float src_weight[CAND_NSRC] = {1.0f, 0.6f, 0.5f, 0.4f, 1.0f, 0.9f, 0.3f};

#define MAX_SEEDS  20    /* distinct recent items used as co-visitation seeds */
#define MAX_CATS   5     /* categories of recent items used by the category source */
#define SEED_DECAY 0.85f /* each older distinct item counts this much less */
#define META_SEEDS 5     /* recent items compared with new items by metadata */
#define MODEL_NB   100   /* trained neighbours read per seed */

static size_t
min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Length of f's category prefix without a trailing '/' (0: no category filter). */
static size_t
filter_cat_len(const cand_filter *f)
{
	size_t n;
	if (f == NULL || f->category == NULL || f->category[0] == '\0')
		return 0;
	n = strlen(f->category);
	return f->category[n - 1] == '/' ? n - 1 : n;
}

/* cand_filter_pass with the category prefix length already known. */
static int
filter_pass(const cand_snap *s, uint32_t i, const cand_filter *f, size_t cat_n)
{
	const cand_item *it = &s->items[i];
	if (f == NULL)
		return 1;
	if (cat_n > 0 && (strncmp(it->category, f->category, cat_n) != 0 ||
	                  (it->category[cat_n] != '\0' && it->category[cat_n] != '/')))
		return 0;
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

int
cand_filter_pass(const cand_snap *s, uint32_t i, const cand_filter *f)
{
	return filter_pass(s, i, f, filter_cat_len(f));
}

/* 1 when f rejects anything at all (an empty filter passes every item without reading it). */
static int
filter_active(const cand_filter *f)
{
	return f != NULL &&
	       (filter_cat_len(f) > 0 || f->min_price > 0 || f->max_price > 0 || f->in_stock_only);
}

/* ---- an accumulator: item -> (score, because, strongest contribution), bounded ---- */

/* Entries a growing accumulator (acc_init_grow) starts with: it doubles up to its bound, so
 * a source that mostly reaches few items (metadata) never clears a table sized for the most it
 * could reach. */
#define ACC_START 256

/* Its own table, not common/rs_idmap: it is the hot path of every request (each source adds
 * every item it reaches), so its index lives in the same block as the entries, keyed by the
 * 32-bit item with one multiply, and grows with them up to a bound. */
typedef struct acc {
	uint32_t *item;
	float *score;
	int64_t *because;
	float *best; /* the largest single contribution, which names `because` */
	size_t n, cap, bound;
	int32_t *index; /* open addressing over item, -1 = free */
	size_t icap;
	int oom; /* a growth failed: the entries past cap were lost */
} acc;

/* Sizes a's block for cap entries (at least n), moving the n entries kept. 0 or RS_ENOMEM. */
static int
acc_alloc(acc *a, size_t cap)
{
	size_t icap = 16;
	while (icap < cap * 2)
		icap <<= 1;
	/* One block, widest members first so each array stays aligned. */
	size_t bytes = cap * (sizeof(*a->because) + sizeof(*a->item) + sizeof(*a->score) +
	                      sizeof(*a->best)) +
	               icap * sizeof(*a->index);
	char *p = malloc(bytes);
	if (p == NULL)
		return RS_ENOMEM;
	int64_t *because = (int64_t *) p;
	uint32_t *item = (uint32_t *) (because + cap);
	float *score = (float *) (item + cap);
	float *best = score + cap;
	int32_t *index = (int32_t *) (best + cap);
	memset(index, 0xff, icap * sizeof(*index));
	if (a->n > 0) {
		memcpy(because, a->because, a->n * sizeof(*because));
		memcpy(item, a->item, a->n * sizeof(*item));
		memcpy(score, a->score, a->n * sizeof(*score));
		memcpy(best, a->best, a->n * sizeof(*best));
	}
	for (size_t e = 0; e < a->n; e++) {
		size_t i = (size_t) ((item[e] * 2654435761u) & (icap - 1));
		while (index[i] >= 0)
			i = (i + 1) & (icap - 1);
		index[i] = (int32_t) e;
	}
	free(a->because); /* the old block */
	a->because = because;
	a->item = item;
	a->score = score;
	a->best = best;
	a->index = index;
	a->cap = cap;
	a->icap = icap;
	return 0;
}

/* An empty accumulator for at most bound items, sized for start of them. */
static int
acc_init_at(acc *a, size_t bound, size_t start)
{
	memset(a, 0, sizeof(*a));
	a->bound = bound ? bound : 1;
	return acc_alloc(a, start < 1 ? 1 : min_sz(a->bound, start));
}

/* ... sized for all of them (a bound the source mostly reaches) */
static int
acc_init(acc *a, size_t bound)
{
	return acc_init_at(a, bound, bound);
}

/* ... growing from ACC_START */
static int
acc_init_grow(acc *a, size_t bound)
{
	return acc_init_at(a, bound, ACC_START);
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

/* Room for one more entry: 1, or 0 at the bound or when growing failed (a->oom). */
static int
acc_room(acc *a)
{
	if (a->n < a->cap)
		return 1;
	if (a->cap >= a->bound)
		return 0; /* cannot happen: every bound covers its source's reach */
	if (acc_alloc(a, min_sz(a->bound, a->cap * 2)) != 0) {
		a->oom = 1;
		return 0;
	}
	return 1;
}

/* Adds w to item's score; the contribution's source `because` is kept if it is the largest.
 * Inline: the sources call it per item reached (thousands per request). */
static inline void
acc_add(acc *a, uint32_t item, float w, int64_t because)
{
	int32_t *slot = acc_slot(a, item);
	if (*slot < 0) {
		if (a->n == a->cap) {
			if (!acc_room(a))
				return;
			slot = acc_slot(a, item); /* the index was rebuilt */
		}
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
merge_source(acc *src, int which, uint32_t k, acc *m, cand_result *res, cand_stat *stat,
             uint32_t stat_n)
{
	rs_topk_ent *r;
	if (src->n == 0 || k == 0)
		return 0;
	size_t n = src->n < k ? src->n : k;
	if ((r = malloc(src->n * sizeof(*r))) == NULL)
		return RS_ENOMEM;
	/* Ties go to the smaller id; items are sorted by distinct ids, so the smaller index is
	 * the same order without reading the item. */
	for (size_t i = 0; i < src->n; i++)
		r[i] = rs_topk_ent_of(src->score[i], src->item[i], (uint32_t) i);
	rs_topk_select(r, src->n, n);
	float top = r[0].score > 0 ? r[0].score : 1.0f;
	if (stat != NULL) {
		size_t c = stat_n > 0 && stat_n < n ? stat_n : n;
		*stat = (cand_stat){r[0].score, r[c - 1].score, (uint32_t) c};
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t e = r[i].val, item = src->item[e];
		int32_t *slot = acc_slot(m, item);
		if (*slot < 0) {
			if (m->n == m->cap) {
				if (!acc_room(m))
					break;
				slot = acc_slot(m, item);
			}
			*slot = (int32_t) m->n;
			m->item[m->n] = item;
			memset(&res[m->n], 0, sizeof(res[m->n]));
			res[m->n].item = item;
			m->n++;
		}
		cand_result *c = &res[*slot];
		c->has |= 1u << which;
		c->src[which] = (cand_src){r[i].score, (uint32_t) i + 1, src->because[e]};
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

/* An item never to offer, and why: CAND_EXCL_* bits, EXCL_LISTED, or 0 (the seed of a
 * similar-items request: dropped, never reported). */
#define EXCL_LISTED 4u
typedef struct excl_ent {
	int64_t id;
	uint8_t why;
} excl_ent;

static int
cmp_excl(const void *a, const void *b)
{
	const excl_ent *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

/* The reason a removal is reported under: the first that applies (retrieve.h's order). */
static int
excl_reason(uint8_t why)
{
	return why & CAND_EXCL_PURCHASED        ? CAND_WHY_PURCHASED
	       : why & CAND_EXCL_NOT_INTERESTED ? CAND_WHY_NOT_INTERESTED
	       : why & EXCL_LISTED              ? CAND_WHY_EXCLUDED
	                                        : -1;
}

/* The items sources reached and dropped, each with its reason (the first one seen): item
 * index + 1 -> entry in common/rs_idmap, why[entry] beside it (removals are few next to the
 * items that pass). */
typedef struct removed {
	rs_idmap items;
	uint8_t *why;
	size_t cap; /* room in why */
	int oom;
} removed;

static void
removed_add(removed *m, uint32_t item, int why)
{
	int fresh;
	if (m->oom)
		return;
	int64_t e = rs_idmap_intern(&m->items, (int64_t) item + 1, &fresh);
	if (e >= 0 && fresh && (size_t) e >= m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		uint8_t *w = realloc(m->why, cap);
		if (w == NULL) {
			e = RS_ENOMEM;
		} else {
			m->why = w;
			m->cap = cap;
		}
	}
	if (e < 0)
		m->oom = 1;
	else if (fresh)
		m->why[e] = (uint8_t) why;
}

/* Counts per reason and the smallest CAND_FILTERED_IDS ids of each (index order = id order). */
static void
removed_report(const removed *m, const cand_snap *s, cand_filtered *out)
{
	uint32_t low[CAND_NWHY][CAND_FILTERED_IDS];
	memset(out, 0, CAND_NWHY * sizeof(*out));
	for (uint32_t e = 0; e < rs_idmap_count(&m->items); e++) {
		cand_filtered *f = &out[m->why[e]];
		uint32_t item = (uint32_t) (rs_idmap_key(&m->items, e) - 1), *l = low[m->why[e]];
		f->count++;
		if (f->n_ids == CAND_FILTERED_IDS && item >= l[CAND_FILTERED_IDS - 1])
			continue;
		size_t at = f->n_ids < CAND_FILTERED_IDS ? f->n_ids++ : CAND_FILTERED_IDS - 1;
		for (; at > 0 && l[at - 1] > item; at--)
			l[at] = l[at - 1];
		l[at] = item;
	}
	for (int w = 0; w < CAND_NWHY; w++)
		for (uint32_t i = 0; i < out[w].n_ids; i++)
			out[w].ids[i] = s->ids[low[w][i]];
}

typedef struct seed {
	uint32_t item;
	float w;
	int64_t id;
} seed;

typedef struct retrieval {
	const cand_snap *s;
	const cand_model_in *mi; /* NULL or without a join: no model sources */
	const cand_filter *f;    /* NULL when it rejects nothing */
	size_t cat_n;            /* f's category prefix length */
	excl_ent *excl;          /* item ids never returned (gathered, then mapped to excl_idx) */
	size_t n_excl;
	uint32_t *excl_idx; /* the snapshot indices of excl that exist, sorted, distinct */
	uint8_t *excl_why;  /* per excl_idx entry, its excl_ent.why bits */
	size_t n_excl_idx;
	uint8_t *excl_bit; /* a bit per snapshot item: in excl_idx (NULL when it is empty) */
	removed *rm;       /* NULL: removals are not reported */
	/* Per snapshot item, 2 bits once f was evaluated for it: bit 0 known, bit 1 passes. Every
	 * source asks about the same items many times (20 seeds x 50 neighbours). NULL: no f. */
	uint8_t *fmemo;
	acc src[CAND_NSRC];
} retrieval;

/* Maps the gathered exclusion ids to snapshot indices (ids absent from s can never be
 * offered) and allocates the filter memo. Returns 0 or RS_ENOMEM. */
static int
ret_prepare(retrieval *r)
{
	size_t m = 0;
	if (r->n_excl > 0) {
		if ((r->excl_idx = malloc(r->n_excl * sizeof(*r->excl_idx))) == NULL ||
		    (r->excl_why = malloc(r->n_excl)) == NULL)
			return RS_ENOMEM;
		qsort(r->excl, r->n_excl, sizeof(*r->excl), cmp_excl);
		/* excl is sorted by id and ids ascend with the index: excl_idx is sorted too; an
		 * item named twice (bought and listed) keeps every reason */
		for (size_t i = 0; i < r->n_excl; i++) {
			int64_t idx = cand_snap_find(r->s, r->excl[i].id);
			if (idx < 0)
				continue;
			if (m > 0 && r->excl_idx[m - 1] == (uint32_t) idx) {
				r->excl_why[m - 1] |= r->excl[i].why;
				continue;
			}
			r->excl_idx[m] = (uint32_t) idx;
			r->excl_why[m++] = r->excl[i].why;
		}
	}
	r->n_excl_idx = m;
	/* the sources ask about thousands of items and few are excluded: a bit answers most */
	if (m > 0 && (r->excl_bit = calloc(r->s->n_items / 8 + 1, 1)) == NULL)
		return RS_ENOMEM;
	for (size_t i = 0; i < m; i++)
		r->excl_bit[r->excl_idx[i] / 8] |= (uint8_t) (1u << (r->excl_idx[i] % 8));
	if (r->f != NULL && (r->fmemo = calloc(r->s->n_items / 4 + 1, 1)) == NULL)
		return RS_ENOMEM;
	return 0;
}

/* The position of item in excl_idx, or -1. */
static ssize_t
ret_excluded(const retrieval *r, uint32_t item)
{
	size_t lo = 0, hi = r->n_excl_idx;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->excl_idx[mid] < item)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->n_excl_idx && r->excl_idx[lo] == item ? (ssize_t) lo : -1;
}

/* ret_pass for an item that may be excluded or withdrawn, or a request with a filter. */
static int
ret_pass_check(const retrieval *r, uint32_t item)
{
	ssize_t x;
	if (r->excl_bit != NULL && (r->excl_bit[item / 8] >> (item % 8)) & 1u &&
	    (x = ret_excluded(r, item)) >= 0) {
		int why = excl_reason(r->excl_why[x]);
		if (r->rm != NULL && why >= 0)
			removed_add(r->rm, item, why);
		return 0;
	}
	if (cand_snap_withdrawn(r->s, item)) {
		if (r->rm != NULL)
			removed_add(r->rm, item, CAND_WHY_UNAVAILABLE);
		return 0;
	}
	if (r->fmemo == NULL)
		return 1;
	uint8_t *b = &r->fmemo[item / 4];
	unsigned sh = (item % 4) * 2;
	if (!((*b >> sh) & 1u)) {
		unsigned pass = (unsigned) filter_pass(r->s, item, r->f, r->cat_n);
		*b = (uint8_t) (*b | ((1u | pass << 1) << sh));
	}
	return (*b >> (sh + 1)) & 1u;
}

/* 1 when a source may offer item: not excluded, not withdrawn, passing the filter. A removal
 * for a reason the caller asked about is recorded. Inline for the items every source asks
 * about (thousands per request): most are neither excluded nor withdrawn. */
static inline int
ret_pass(const retrieval *r, uint32_t item)
{
	if ((r->excl_bit == NULL || !((r->excl_bit[item / 8] >> (item % 8)) & 1u)) &&
	    !cand_snap_withdrawn(r->s, item) && r->fmemo == NULL)
		return 1;
	return ret_pass_check(r, item);
}

/* Sized by the seeds' neighbour lists, so a short history clears small tables. */
static int
ret_covisit(retrieval *r, const seed *seeds, size_t ns)
{
	const cand_snap *s = r->s;
	size_t total = 0;
	for (size_t i = 0; i < ns; i++)
		total += s->items[seeds[i].item].nb_len;
	total = min_sz(total, s->n_items);
	if (acc_init(&r->src[CAND_SRC_COVISIT], total) != 0 ||
	    acc_init(&r->src[CAND_SRC_BOUGHT], total) != 0)
		return RS_ENOMEM;
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
	return 0;
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
		const float *pops = &s->cat_pop[s->cat_off[cw[j].cat]];
		uint32_t len = s->cat_len[cw[j].cat], taken = 0;
		float top = len > 0 ? pops[0] : 0;
		float cwn = cw[j].w / cw[0].w;
		for (uint32_t i = 0; i < len && taken < k; i++) {
			if (!ret_pass(r, list[i]))
				continue;
			float pop = pops[i];
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
		acc_add(&r->src[CAND_SRC_POPULAR], s->popular[i], s->popular_pop[i], 0);
		taken++;
	}
}

/* Min-heap of (score, code) on score: the best m of a stream in O(n log m), mostly one compare
 * per item. */
typedef struct hent {
	float score;
	uint32_t code;
} hent;

static void
heap_sift(hent *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && h[l].score < h[m].score)
			m = l;
		if (r < n && h[r].score < h[m].score)
			m = r;
		if (m == i)
			return;
		hent t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* Feeds the ranked entries [from, to) of r (best first) into the als source until k pass. */
static size_t
als_take(retrieval *r, const rs_topk_ent *rk, size_t from, size_t to, size_t taken, uint32_t k)
{
	for (size_t i = from; i < to && taken < k; i++)
		if (ret_pass(r, rk[i].val)) {
			acc_add(&r->src[CAND_SRC_ALS], rk[i].val, rk[i].score, 0);
			taken++;
		}
	return taken;
}

/* Offers item c with score v to the min-heap h of at most want: the best want of a stream,
 * ties with the least never replacing it; items unknown to the catalog and non-finite scores
 * never enter. */
static void
als_offer(const cand_join *j, hent *h, size_t *nh, size_t want, float v, uint32_t c)
{
	/* once the heap is full most items lose to its least: that test first (a NaN or -inf
	 * loses it too, as isfinite would drop them) */
	if (*nh == want && !(v > h[0].score))
		return;
	if (j->code2idx[c] == CAND_NO_ITEM || !isfinite(v))
		return;
	if (*nh < want) {
		h[(*nh)++] = (hent){v, c};
		if (*nh == want)
			for (size_t i = want / 2 + 1; i-- > 0;)
				heap_sift(h, *nh, i);
	} else {
		h[0] = (hent){v, c};
		heap_sift(h, *nh, 0);
	}
}

/* als_offer of v[0..len) with codes codes[0..len) (NULL: codes 0..len), in that order. Once
 * the heap is full, a score that does not beat its least is the only test (the least kept in
 * a local: the compiler cannot tell that the heap's stores leave v and *nh alone). */
static void
als_offer_all(const cand_join *j, hent *h, size_t *nh, size_t want, const float *v,
              const uint32_t *codes, uint32_t len)
{
	uint32_t q = 0;
	for (; q < len && *nh < want; q++)
		als_offer(j, h, nh, want, v[q], codes != NULL ? codes[q] : q);
	if (*nh < want)
		return;
	float least = h[0].score;
	for (; q < len; q++) {
		if (!(v[q] > least))
			continue;
		als_offer(j, h, nh, want, v[q], codes != NULL ? codes[q] : q);
		least = h[0].score;
	}
}

/* The heap of the best want items by the version's als index (alsindex.h): blocks of items in
 * order of decreasing norm until none left can beat the heap's least. 1 when the heap holds
 * exactly the items a pass over every item keeps: the want best, when no item outside them
 * ties with their least (else the pass's order would pick among the ties: 0, and the caller
 * scores every item). ps: room for n scores. */
static int
als_by_index(const cand_join *j, const cand_als_index *ix, const float *emb, size_t want, hent *h,
             size_t *nh, float *ps)
{
	double un = cand_als_index_norm(ix, emb);
	uint32_t nb = cand_als_index_blocks(ix);
	size_t scanned = 0;
	const uint32_t *all = NULL;

	*nh = 0;
	if (!isfinite(un))
		return 0;
	for (uint32_t b = 0; b < nb; b++) {
		const uint32_t *codes;
		if (*nh == want && cand_als_index_bound(ix, b, un) < (double) h[0].score)
			break; /* every score from here on is below the heap's least */
		uint32_t len = cand_als_index_score(ix, b, emb, ps + scanned, &codes);
		if (b == 0)
			all = codes; /* the blocks' codes are one array */
		als_offer_all(j, h, nh, want, ps + scanned, codes, len);
		scanned += len;
	}
	if (*nh < want)
		return 1; /* every item was scored */
	/* The heap's items all score at least its least: when no other scanned score does, no
	 * item outside ties with it (one compare per item); else count the ties exactly. */
	const float least = h[0].score;
	size_t ge = 0, at_least = 0;
	for (size_t i = 0; i < scanned; i++)
		ge += ps[i] >= least;
	if (ge == want)
		return 1;
	for (size_t i = 0; i < scanned; i++)
		at_least +=
		        ps[i] >= least && isfinite(ps[i]) && j->code2idx[all[i]] != CAND_NO_ITEM;
	return at_least == want;
}

/* "als": the exact best k + 32 by a heap over the version's als index (only the items that
 * can reach it are scored), else over sgemv scores of every item; only when filters or
 * exclusions reject too many of those, every item is ranked in growing slices. */
static int
ret_als(retrieval *r, uint32_t k)
{
	const cand_join *j = r->mi->join;
	uint32_t n = rs_model_n_items(j->model), f = rs_model_factors(j->model);
	const float *V = rs_model_item_factors(j->model);
	if (f == 0 || V == NULL || r->mi->emb == NULL || r->mi->n_emb != f || n == 0 || k == 0)
		return 0;
	size_t want = min_sz((size_t) k + 32, n), nh = 0, taken;
	float *sc = malloc((size_t) n * sizeof(*sc));
	hent *h = malloc(want * sizeof(*h));
	rs_topk_ent *rk = malloc(want * sizeof(*rk)); /* every item only for the slices below */
	if (sc == NULL || h == NULL || rk == NULL) {
		free(sc);
		free(h);
		free(rk);
		return RS_ENOMEM;
	}
	const cand_vaux *va = cand_vaux_of(j->model);
	int all_scored = 0; /* sc holds every item's score (in code order) */
	if (va == NULL || va->als == NULL ||
	    !als_by_index(j, va->als, r->mi->emb, want, h, &nh, sc)) {
		cand_factor_scores(V, n, f, r->mi->emb, sc);
		all_scored = 1;
		nh = 0;
		als_offer_all(j, h, &nh, want, sc, NULL, n);
	}
	for (size_t i = 0; i < nh; i++) { /* index order = id order */
		uint32_t idx = j->code2idx[h[i].code];
		rk[i] = rs_topk_ent_of(h[i].score, idx, idx);
	}
	rs_topk_select(rk, nh, nh);
	taken = als_take(r, rk, 0, nh, 0, k);
	if (taken < k && nh == want) {
		/* A restrictive filter: rank everything, skipping the nh already offered. */
		size_t m = 0, done = 0, step = (size_t) k * 4;
		if (!all_scored)
			cand_factor_scores(V, n, f, r->mi->emb, sc);
		uint8_t *in_heap = calloc((size_t) n / 8 + 1, 1);
		rs_topk_ent *all = realloc(rk, (size_t) n * sizeof(*rk));
		if (all != NULL)
			rk = all;
		if (in_heap == NULL || all == NULL) {
			free(in_heap);
			free(sc);
			free(h);
			free(rk);
			return RS_ENOMEM;
		}
		for (size_t i = 0; i < nh; i++)
			in_heap[h[i].code / 8] |= (uint8_t) (1u << (h[i].code % 8));
		for (uint32_t c = 0; c < n; c++) {
			uint32_t idx = j->code2idx[c];
			if (idx == CAND_NO_ITEM || !isfinite(sc[c]) ||
			    (in_heap[c / 8] >> (c % 8)) & 1)
				continue; /* unknown to the catalog, or already offered */
			rk[m++] = rs_topk_ent_of(sc[c], idx, idx);
		}
		free(in_heap);
		while (taken < k && done < m) {
			size_t len = min_sz(step, m - done);
			rs_topk_select(rk + done, m - done, len);
			taken = als_take(r, rk, done, done + len, taken, k);
			done += len;
			step *= 4;
		}
	}
	free(sc);
	free(h);
	free(rk);
	return 0;
}

/* "itemknn": the version's neighbours of each seed the model knows. */
static int
ret_itemknn(retrieval *r, const seed *seeds, size_t ns)
{
	const cand_join *j = r->mi->join;
	rs_model_nb nb[MODEL_NB];
	if (acc_init(&r->src[CAND_SRC_ITEMKNN], min_sz(r->s->n_items, ns * MODEL_NB)) != 0)
		return RS_ENOMEM;
	for (size_t i = 0; i < ns; i++) {
		uint32_t code = j->idx2code[seeds[i].item];
		if (code == CAND_NO_ITEM)
			continue;
		int n = rs_model_neighbours(j->model, code, nb, MODEL_NB);
		if (n <= 0)
			continue; /* none, or unreadable: this source just has less */
		for (int a = 0; a < n; a++) {
			uint32_t idx = j->code2idx[nb[a].code];
			if (idx == CAND_NO_ITEM || !(nb[a].sim > 0) || !ret_pass(r, idx))
				continue;
			acc_add(&r->src[CAND_SRC_ITEMKNN], idx, seeds[i].w * nb[a].sim,
			        seeds[i].id);
		}
	}
	return 0;
}

static void
meta_add(retrieval *r, const seed *sd, uint32_t cand)
{
	if (cand == sd->item || !ret_pass(r, cand))
		return;
	float sim = cand_meta_sim(&r->s->items[sd->item], &r->s->items[cand]);
	if (sim > 0)
		acc_add(&r->src[CAND_SRC_META], cand, sd->w * sim, sd->id);
}

/* "metadata": seeds the model does not know get their category peers; the first META_SEEDS
 * seeds are compared with every item added after training. */
static void
ret_meta(retrieval *r, const seed *seeds, size_t ns, int peers_always)
{
	const cand_snap *s = r->s;
	const cand_join *j = r->mi->join;
	for (size_t i = 0; i < ns; i++) {
		uint32_t c = s->items[seeds[i].item].cat;
		if ((peers_always || j->idx2code[seeds[i].item] == CAND_NO_ITEM) &&
		    s->cats[c][0] != '\0') {
			const uint32_t *list = &s->cat_items[s->cat_off[c]];
			for (uint32_t a = 0; a < s->cat_len[c]; a++)
				meta_add(r, &seeds[i], list[a]);
		}
		for (size_t a = 0; i < META_SEEDS && a < j->n_new; a++)
			meta_add(r, &seeds[i], j->new_items[a]);
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

	for (int i = 0; i < CAND_NSRC; i++) {
		if (r->src[i].oom)
			return RS_ENOMEM; /* a source lost items: no partial answer */
		total += r->src[i].n < k ? r->src[i].n : k;
	}
	if (acc_init(&m, total) != 0 ||
	    (res = malloc((total ? total : 1) * sizeof(*res))) == NULL) {
		acc_fini(&m);
		return RS_ENOMEM;
	}
	cand_stat *stats = r->mi != NULL ? r->mi->stats : NULL;
	if (stats != NULL)
		memset(stats, 0, CAND_NSRC * sizeof(*stats));
	for (int i = 0; i < CAND_NSRC; i++)
		if (merge_source(&r->src[i], i, k, &m, res, stats != NULL ? &stats[i] : NULL,
		                 r->mi != NULL ? r->mi->stat_n : 0) != 0)
			goto out;
	if (m.oom)
		goto out;
	*n_out = m.n < k ? m.n : k;
	if (m.n > 0) {
		rs_topk_ent *order = malloc(m.n * sizeof(*order));
		if (order == NULL)
			goto out;
		for (size_t i = 0; i < m.n; i++)
			order[i] = rs_topk_ent_of(res[i].score, res[i].item, (uint32_t) i);
		rs_topk_select(order, m.n, *n_out);
		for (size_t i = 0; i < *n_out; i++)
			out[i] = res[order[i].val];
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
	free(r->excl_idx);
	free(r->excl_why);
	free(r->excl_bit);
	free(r->fmemo);
	if (r->rm != NULL) {
		rs_idmap_fini(&r->rm->items);
		free(r->rm->why);
		free(r->rm);
	}
}

static int
ret_init(retrieval *r, const cand_snap *s, const cand_model_in *mi, const cand_filter *f,
         size_t n_excl_max, uint32_t k)
{
	memset(r, 0, sizeof(*r)); /* every acc zeroed: empty, and acc_fini frees nothing */
	r->s = s;
	r->mi = mi != NULL && mi->join != NULL ? mi : NULL;
	r->f = filter_active(f) ? f : NULL;
	r->cat_n = filter_cat_len(r->f);
	r->excl = malloc((n_excl_max ? n_excl_max : 1) * sizeof(*r->excl));
	if (r->excl == NULL)
		return RS_ENOMEM;
	if (mi != NULL && mi->filtered != NULL && (r->rm = calloc(1, sizeof(*r->rm))) == NULL)
		return RS_ENOMEM;
	/* covisit and bought_together are sized by ret_covisit, itemknn by ret_itemknn; the
	 * model's sources only with a model */
	if (acc_init(&r->src[CAND_SRC_CATEGORY], (size_t) MAX_CATS * k) != 0 ||
	    acc_init(&r->src[CAND_SRC_POPULAR], k) != 0)
		return RS_ENOMEM;
	if (r->mi != NULL &&
	    (acc_init(&r->src[CAND_SRC_ALS], k) != 0 ||
	     acc_init_grow(&r->src[CAND_SRC_META],
	                   min_sz(s->n_items, r->mi->join->n_new + (size_t) MAX_SEEDS * 500)) != 0))
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
	return cand_retrieve_ex(s, NULL, user_id, h, nh, f, k, out, n_out);
}

int
cand_retrieve_ex(const cand_snap *s, const cand_model_in *mi, int64_t user_id, const cand_hist *h,
                 size_t nh, const cand_filter *f, uint32_t k, cand_result *out, size_t *n_out)
{
	retrieval r;
	seed seeds[MAX_SEEDS];
	size_t ns = 0;
	cand_hist *hs = NULL;
	int64_t *neg = NULL;
	size_t n_neg = 0;
	int rv = RS_ENOMEM;

	size_t n_past = 0;
	const uint8_t *past_why = NULL;
	const int64_t *past =
	        user_id > 0 ? cand_snap_excluded(s, user_id, &n_past, &past_why) : NULL;

	*n_out = 0;
	if (ret_init(&r, s, mi, f, nh + n_past + (f != NULL ? f->n_exclude : 0), k) != 0)
		goto out;
	if ((hs = malloc((nh ? nh : 1) * sizeof(*hs))) == NULL ||
	    (neg = malloc((nh ? nh : 1) * sizeof(*neg))) == NULL)
		goto out;
	if (nh > 0)
		memcpy(hs, h, nh * sizeof(*hs));
	qsort(hs, nh, sizeof(*hs), cmp_hist_newest);
	for (size_t i = 0; i < nh; i++) {
		if (hs[i].type == RS__EVENT_TYPE__EVENT_PURCHASE)
			r.excl[r.n_excl++] = (excl_ent){hs[i].item_id, CAND_EXCL_PURCHASED};
		if (hs[i].type == RS__EVENT_TYPE__EVENT_NOT_INTERESTED) {
			r.excl[r.n_excl++] = (excl_ent){hs[i].item_id, CAND_EXCL_NOT_INTERESTED};
			neg[n_neg++] = hs[i].item_id;
		}
	}
	qsort(neg, n_neg, sizeof(*neg), cmp_i64);
	for (size_t i = 0; f != NULL && i < f->n_exclude; i++)
		r.excl[r.n_excl++] = (excl_ent){f->exclude[i], EXCL_LISTED};
	for (size_t i = 0; i < n_past; i++)
		r.excl[r.n_excl++] = (excl_ent){past[i], past_why[i]};

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
	if (ret_prepare(&r) != 0 || ret_covisit(&r, seeds, ns) != 0)
		goto out;
	ret_category(&r, seeds, ns, k);
	ret_popular(&r, k);
	if (r.mi != NULL) {
		if ((rv = ret_als(&r, k)) != 0 || (rv = ret_itemknn(&r, seeds, ns)) != 0)
			goto out;
		ret_meta(&r, seeds, ns, 0);
	}
	rv = ret_finish(&r, k, out, n_out);
	if (rv == 0 && r.rm != NULL) {
		if (r.rm->oom)
			rv = RS_ENOMEM;
		else
			removed_report(r.rm, s, mi->filtered);
	}
out:
	free(hs);
	free(neg);
	ret_fini(&r);
	return rv;
}

int
cand_similar(const cand_snap *s, uint32_t item, uint32_t k, cand_result *out, size_t *n_out)
{
	return cand_similar_ex(s, NULL, item, k, out, n_out);
}

int
cand_similar_ex(const cand_snap *s, const cand_model_in *mi, uint32_t item, uint32_t k,
                cand_result *out, size_t *n_out)
{
	retrieval r;
	seed sd = {item, 1.0f, s->items[item].id};
	int rv = RS_ENOMEM;

	*n_out = 0;
	if (ret_init(&r, s, mi, NULL, 1, k) == 0) {
		r.excl[r.n_excl++] = (excl_ent){s->items[item].id, 0};
		if (ret_prepare(&r) == 0 && ret_covisit(&r, &sd, 1) == 0) {
			ret_category(&r, &sd, 1, k);
			rv = 0;
		}
		if (rv == 0 && r.mi != NULL && (rv = ret_itemknn(&r, &sd, 1)) == 0)
			ret_meta(&r, &sd, 1, 1);
		if (rv == 0)
			rv = ret_finish(&r, k, out, n_out);
	}
	ret_fini(&r);
	return rv;
}

int
cand_bought_together(const cand_snap *s, uint32_t item, uint32_t k, cand_result *out, size_t *n_out)
{
	retrieval r;
	seed sd = {item, 1.0f, s->items[item].id};
	int rv = RS_ENOMEM;

	*n_out = 0;
	if (ret_init(&r, s, NULL, NULL, 1, k) == 0) {
		r.excl[r.n_excl++] = (excl_ent){s->items[item].id, 0};
		if (ret_prepare(&r) == 0 && ret_covisit(&r, &sd, 1) == 0) {
			r.src[CAND_SRC_COVISIT].n = 0; /* only the buyers' part of co-visitation */
			rv = ret_finish(&r, k, out, n_out);
		}
	}
	ret_fini(&r);
	return rv;
}
