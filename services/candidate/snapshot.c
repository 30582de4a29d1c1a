#include "snapshot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.pb-c.h"
#include "rs_err.h"
#include "rs_event.h"
#include "rs_time.h"

float
cand_type_weight(int32_t type, double value)
{
	if (type == RS__EVENT_TYPE__EVENT_RATING) /* only good ratings count as interest */
		return value >= 4.0 ? 4.0f : value >= 3.0 ? 1.0f : 0.0f;
	return rs_event_seed_weight(type); /* not_interested, unknown: 0 */
}

cand_snap *
cand_snap_ref(cand_snap *s)
{
	if (s != NULL)
		atomic_fetch_add(&s->refs, 1);
	return s;
}

void
cand_snap_unref(cand_snap *s)
{
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	for (size_t i = 0; i < s->n_items; i++) {
		free(s->items[i].title);
		free(s->items[i].brand);
		/* category strings are shared with cats[] */
	}
	for (size_t i = 0; i < s->n_cats; i++)
		free(s->cats[i]);
	free(s->excl_users);
	free(s->excl_off);
	free(s->excl_items);
	free(s->excl_why);
	free(s->wd_bits);
	free(s->items);
	free(s->ids);
	free(s->popular);
	free(s->popular_pop);
	free(s->nbs);
	free(s->cats);
	free(s->cat_off);
	free(s->cat_len);
	free(s->cat_items);
	free(s->cat_pop);
	free(s);
}

int64_t
cand_snap_find(const cand_snap *s, int64_t id)
{
	size_t lo = 0, hi = s->n_items;
	const int64_t *ids = s->ids; /* 8 bytes a step instead of a 64-byte item */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n_items && ids[lo] == id ? (int64_t) lo : -1;
}

const int64_t *
cand_snap_excluded(const cand_snap *s, int64_t user_id, size_t *n, const uint8_t **why)
{
	size_t lo = 0, hi = s->n_excl_users;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->excl_users[mid] < user_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == s->n_excl_users || s->excl_users[lo] != user_id) {
		*n = 0;
		return NULL;
	}
	*n = s->excl_off[lo + 1] - s->excl_off[lo];
	if (why != NULL)
		*why = &s->excl_why[s->excl_off[lo]];
	return &s->excl_items[s->excl_off[lo]];
}

/* ---- sorting helpers ---- */

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return (x > y) - (x < y);
}

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
cmp_event_user_ts(const void *a, const void *b)
{
	const cand_event_row *x = a, *y = b;
	if (x->user_id != y->user_id)
		return (x->user_id > y->user_id) - (x->user_id < y->user_id);
	return (x->ts_ms > y->ts_ms) - (x->ts_ms < y->ts_ms);
}

typedef struct user_item_pair {
	int64_t user, item;
	uint8_t why; /* CAND_EXCL_* */
} user_item_pair;

static int
cmp_pair(const void *a, const void *b)
{
	const user_item_pair *x = a, *y = b;
	if (x->user != y->user)
		return (x->user > y->user) - (x->user < y->user);
	return (x->item > y->item) - (x->item < y->item);
}

/* Purchases and not_interested marks, grouped by user (CSR), duplicates removed. */
static int
build_exclusions(cand_snap *s, const cand_event_row *events, size_t n_events)
{
	size_t n = 0, nu = 0, k = 0;
	user_item_pair *p;

	for (size_t i = 0; i < n_events; i++)
		n += events[i].type == RS__EVENT_TYPE__EVENT_PURCHASE ||
		     events[i].type == RS__EVENT_TYPE__EVENT_NOT_INTERESTED;
	if (n == 0)
		return 0;
	if ((p = malloc(n * sizeof(*p))) == NULL)
		return RS_ENOMEM;
	for (size_t i = 0; i < n_events; i++)
		if (events[i].type == RS__EVENT_TYPE__EVENT_PURCHASE ||
		    events[i].type == RS__EVENT_TYPE__EVENT_NOT_INTERESTED)
			p[k++] = (user_item_pair){events[i].user_id, events[i].item_id,
			                          events[i].type == RS__EVENT_TYPE__EVENT_PURCHASE
			                                  ? CAND_EXCL_PURCHASED
			                                  : CAND_EXCL_NOT_INTERESTED};
	qsort(p, n, sizeof(*p), cmp_pair);
	for (size_t i = 0; i < n; i++)
		nu += i == 0 || p[i].user != p[i - 1].user;
	s->excl_users = malloc(nu * sizeof(*s->excl_users));
	s->excl_off = malloc((nu + 1) * sizeof(*s->excl_off));
	s->excl_items = malloc(n * sizeof(*s->excl_items));
	s->excl_why = malloc(n * sizeof(*s->excl_why));
	if (s->excl_users == NULL || s->excl_off == NULL || s->excl_items == NULL ||
	    s->excl_why == NULL) {
		free(p);
		return RS_ENOMEM;
	}
	k = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || p[i].user != p[i - 1].user) {
			s->excl_users[s->n_excl_users] = p[i].user;
			s->excl_off[s->n_excl_users++] = k;
		} else if (p[i].item == p[i - 1].item) {
			s->excl_why[k - 1] |= p[i].why;
			continue;
		}
		s->excl_why[k] = p[i].why;
		s->excl_items[k++] = p[i].item;
	}
	s->excl_off[s->n_excl_users] = k;
	free(p);
	return 0;
}

typedef struct rank_ent {
	uint32_t group; /* category, or the neighbour's source item */
	uint32_t item;
	float score;
	float extra;
	int64_t id; /* tie-break: smaller id first */
} rank_ent;

static int
cmp_rank_ent(const void *a, const void *b)
{
	const rank_ent *x = a, *y = b;
	if (x->group != y->group)
		return (x->group > y->group) - (x->group < y->group);
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	/* Items nobody interacted with yet: the newest first, so a category list (its
	 * category_top most popular) keeps a new catalog item rather than an old unsold one. */
	if (x->score == 0)
		return (x->id < y->id) - (x->id > y->id);
	return (x->id > y->id) - (x->id < y->id);
}

/* Co-visitation in three passes over the events sorted by (user, ts):
 *   1. per user, the newest user_items distinct items (newest first, strongest event weight,
 *      bought or not) into one flat sequence `seq` with per-user bounds;
 *   2. an inverted index item -> positions in seq;
 *   3. per item a, every position of a, every item b within covisit_span positions of it in the
 *      same user's sequence: accumulate into a dense scratch row, then keep the best covisit_n.
 * No hash table: the work is proportional to the pairs, the scratch is one row of n_items. */
typedef struct covisit_seq {
	uint32_t *item;
	float *w;
	uint8_t *bought;
	uint32_t *user;   /* index of the user's block */
	size_t *user_off; /* block u is [user_off[u], user_off[u + 1]) */
	size_t n, n_users;
} covisit_seq;

static int
covisit_sequence(const cand_snap *s, const cand_event_row *ev, size_t n_events,
                 const cand_build_params *p, covisit_seq *q)
{
	size_t cap = n_events ? n_events : 1;
	q->item = malloc(cap * sizeof(*q->item));
	q->w = malloc(cap * sizeof(*q->w));
	q->bought = malloc(cap * sizeof(*q->bought));
	q->user = malloc(cap * sizeof(*q->user));
	q->user_off = malloc((cap + 1) * sizeof(*q->user_off));
	if (q->item == NULL || q->w == NULL || q->bought == NULL || q->user == NULL ||
	    q->user_off == NULL)
		return RS_ENOMEM;
	for (size_t i = 0, j; i < n_events; i = j) {
		size_t start = q->n, m = 0;
		for (j = i; j < n_events && ev[j].user_id == ev[i].user_id; j++)
			;
		for (size_t k = j; k-- > i;) { /* newest first */
			float w = cand_type_weight(ev[k].type, ev[k].value);
			if (w <= 0)
				continue;
			uint32_t it = (uint32_t) cand_snap_find(s, ev[k].item_id);
			size_t x;
			for (x = start; x < start + m && q->item[x] != it; x++)
				;
			if (x == start + m) {
				if (m == p->user_items)
					continue; /* older distinct items no longer take part */
				q->item[x] = it;
				q->w[x] = w;
				q->bought[x] = 0;
				q->user[x] = (uint32_t) q->n_users;
				m++;
			} else if (w > q->w[x]) {
				q->w[x] = w;
			}
			q->bought[x] |= ev[k].type == RS__EVENT_TYPE__EVENT_PURCHASE;
		}
		if (m < 2)
			continue; /* a single item pairs with nothing */
		q->user_off[q->n_users++] = start;
		q->n = start + m;
	}
	q->user_off[q->n_users] = q->n;
	return 0;
}

static void
covisit_seq_fini(covisit_seq *q)
{
	free(q->item);
	free(q->w);
	free(q->bought);
	free(q->user);
	free(q->user_off);
}

typedef struct nb_cand {
	uint32_t item;
	float score, cobought;
	int64_t id;
} nb_cand;

static int
cmp_nb_cand(const void *x, const void *y)
{
	const nb_cand *a = x, *b = y;
	if (a->score != b->score)
		return a->score < b->score ? 1 : -1;
	return (a->id > b->id) - (a->id < b->id);
}

static int
build_covisit(cand_snap *s, const cand_event_row *events, size_t n_events,
              const cand_build_params *p)
{
	covisit_seq q = {0};
	cand_event_row *ev = NULL;
	size_t *inv_off = NULL, *fill = NULL, *inv = NULL;
	float *mass = NULL, *row = NULL, *cb = NULL;
	uint32_t *touched = NULL;
	nb_cand *nc = NULL;
	size_t keep = p->covisit_n < CAND_COVISIT_MAX ? p->covisit_n : CAND_COVISIT_MAX;
	size_t ni = s->n_items;
	int rv = RS_ENOMEM;

	if (n_events == 0 || keep == 0 || p->user_items < 2 || ni == 0)
		return 0;
	if ((ev = malloc(n_events * sizeof(*ev))) == NULL)
		goto out;
	memcpy(ev, events, n_events * sizeof(*ev));
	qsort(ev, n_events, sizeof(*ev), cmp_event_user_ts);
	if (covisit_sequence(s, ev, n_events, p, &q) != 0)
		goto out;
	free(ev);
	ev = NULL;

	inv_off = calloc(ni + 1, sizeof(*inv_off));
	fill = calloc(ni, sizeof(*fill));
	inv = malloc((q.n ? q.n : 1) * sizeof(*inv));
	mass = calloc(ni, sizeof(*mass));
	row = calloc(ni, sizeof(*row));
	cb = calloc(ni, sizeof(*cb));
	touched = malloc(ni * sizeof(*touched));
	nc = malloc(ni * sizeof(*nc));
	s->nbs = malloc(ni * keep * sizeof(*s->nbs));
	if (inv_off == NULL || fill == NULL || inv == NULL || mass == NULL || row == NULL ||
	    cb == NULL || touched == NULL || nc == NULL || s->nbs == NULL)
		goto out;
	for (size_t g = 0; g < q.n; g++) {
		inv_off[q.item[g] + 1]++;
		mass[q.item[g]] += q.w[g];
	}
	for (size_t a = 0; a < ni; a++)
		inv_off[a + 1] += inv_off[a];
	for (size_t g = 0; g < q.n; g++)
		inv[inv_off[q.item[g]] + fill[q.item[g]]++] = g;

	for (size_t a = 0; a < ni; a++) {
		size_t nt = 0;
		for (size_t k = inv_off[a]; k < inv_off[a + 1]; k++) {
			size_t g = inv[k], u = q.user[g];
			size_t lo = q.user_off[u], hi = q.user_off[u + 1];
			size_t from = g - lo > p->covisit_span ? g - p->covisit_span : lo;
			size_t to = hi - g > p->covisit_span ? g + p->covisit_span + 1 : hi;
			for (size_t x = from; x < to; x++) {
				if (x == g)
					continue;
				uint32_t b = q.item[x];
				float w = sqrtf(q.w[g] * q.w[x]);
				if (row[b] == 0 && cb[b] == 0)
					touched[nt++] = b;
				row[b] += w;
				if (q.bought[g] && q.bought[x])
					cb[b] += w;
			}
		}
		s->items[a].nb_off = (uint32_t) s->n_nbs;
		size_t m = 0;
		for (size_t t = 0; t < nt; t++) {
			uint32_t b = touched[t];
			float norm = sqrtf(mass[a] * mass[b]);
			if (norm > 0) {
				float sc = row[b] / norm;
				nc[m++] = (nb_cand){b, sc > 1.0f ? 1.0f : sc, cb[b] / norm,
				                    s->items[b].id};
			}
			row[b] = 0;
			cb[b] = 0;
		}
		qsort(nc, m, sizeof(*nc), cmp_nb_cand);
		for (size_t t = 0; t < m && t < keep; t++)
			s->nbs[s->n_nbs++] = (cand_nb){nc[t].item, nc[t].score, nc[t].cobought};
		s->items[a].nb_len = (uint32_t) s->n_nbs - s->items[a].nb_off;
	}
	cand_nb *fit = realloc(s->nbs, (s->n_nbs ? s->n_nbs : 1) * sizeof(*s->nbs));
	if (fit != NULL) /* allocated for the worst case: give the rest back */
		s->nbs = fit;
	rv = 0;
out:
	covisit_seq_fini(&q);
	free(ev);
	free(inv_off);
	free(fill);
	free(inv);
	free(mass);
	free(row);
	free(cb);
	free(touched);
	free(nc);
	return rv;
}

/* Copies one catalog row into it (title and brand duplicated; category borrowed from the row
 * until build_categories moves it into cats[]). Returns 0 or RS_ENOMEM. */
static int
item_set_row(cand_item *it, const cand_item_row *row)
{
	free(it->title);
	free(it->brand);
	it->title = strdup(row->title != NULL ? row->title : "");
	it->brand = strdup(row->brand != NULL ? row->brand : "");
	it->category = (char *) (row->category != NULL ? row->category : "");
	it->price = row->price;
	it->has_price = row->has_price;
	it->in_stock = row->in_stock;
	it->withdrawn = row->withdrawn != 0;
	it->in_catalog = 1;
	it->row_hash = row->row_hash;
	return it->title == NULL || it->brand == NULL ? RS_ENOMEM : 0;
}

/* Items no catalog row describes: empty strings, in stock, offered. */
static int
items_fill_empty(cand_snap *s)
{
	for (size_t i = 0; i < s->n_items; i++) {
		if (s->items[i].title == NULL && (s->items[i].title = strdup("")) == NULL)
			return RS_ENOMEM;
		if (s->items[i].brand == NULL && (s->items[i].brand = strdup("")) == NULL)
			return RS_ENOMEM;
		if (s->items[i].category == NULL)
			s->items[i].category = "";
	}
	return 0;
}

static int
build_items(cand_snap *s, const cand_item_row *rows, size_t n_rows, const cand_event_row *events,
            size_t n_events)
{
	int64_t *ids = malloc((n_rows + n_events + 1) * sizeof(*ids));
	size_t n = 0;

	if (ids == NULL)
		return RS_ENOMEM;
	for (size_t i = 0; i < n_rows; i++)
		ids[n++] = rows[i].id;
	for (size_t i = 0; i < n_events; i++)
		ids[n++] = events[i].item_id;
	qsort(ids, n, sizeof(*ids), cmp_i64);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || ids[u - 1] != ids[i])
			ids[u++] = ids[i];
	s->items = calloc(u ? u : 1, sizeof(*s->items));
	if (s->items == NULL) {
		free(ids);
		return RS_ENOMEM;
	}
	s->n_items = u;
	for (size_t i = 0; i < u; i++) {
		s->items[i].id = ids[i];
		s->items[i].in_stock = 1;
	}
	int64_t *fit = realloc(ids, (u ? u : 1) * sizeof(*ids));
	s->ids = fit != NULL ? fit : ids; /* the distinct ids, ascending */
	for (size_t i = 0; i < n_rows; i++)
		if (item_set_row(&s->items[cand_snap_find(s, rows[i].id)], &rows[i]) != 0)
			return RS_ENOMEM; /* a duplicated row: the last one wins */
	return items_fill_empty(s);
}

int
cand_snap_catalog_totals(cand_snap *s)
{
	s->cat_count = 0;
	s->cat_sum = 0;
	s->n_withdrawn = 0;
	free(s->wd_bits);
	if ((s->wd_bits = calloc(s->n_items / 64 + 1, sizeof(*s->wd_bits))) == NULL)
		return RS_ENOMEM;
	for (size_t i = 0; i < s->n_items; i++) {
		const cand_item *it = &s->items[i];
		if (it->in_catalog) {
			s->cat_count++;
			s->cat_sum += it->row_hash;
		}
		if (it->withdrawn) {
			s->wd_bits[i / 64] |= 1ull << (i % 64);
			s->n_withdrawn++;
		}
	}
	return 0;
}

/* Categories: distinct strings (owned by cats[]), each item's index, and per category the
 * category_top most popular items. */
static int
build_categories(cand_snap *s, const cand_build_params *p)
{
	char **tmp = malloc((s->n_items + 1) * sizeof(*tmp));
	rank_ent *re = NULL;
	int rv = RS_ENOMEM;

	if (tmp == NULL)
		return RS_ENOMEM;
	for (size_t i = 0; i < s->n_items; i++)
		tmp[i] = s->items[i].category;
	tmp[s->n_items] = "";
	qsort(tmp, s->n_items + 1, sizeof(*tmp), cmp_strp);
	size_t u = 0;
	for (size_t i = 0; i <= s->n_items; i++)
		if (u == 0 || strcmp(tmp[u - 1], tmp[i]) != 0)
			tmp[u++] = tmp[i];
	s->cats = calloc(u, sizeof(*s->cats));
	s->cat_off = calloc(u, sizeof(*s->cat_off));
	s->cat_len = calloc(u, sizeof(*s->cat_len));
	s->cat_items = malloc((s->n_items ? s->n_items : 1) * sizeof(*s->cat_items));
	s->cat_pop = malloc((s->n_items ? s->n_items : 1) * sizeof(*s->cat_pop));
	re = malloc((s->n_items ? s->n_items : 1) * sizeof(*re));
	if (s->cats == NULL || s->cat_off == NULL || s->cat_len == NULL || s->cat_items == NULL ||
	    s->cat_pop == NULL || re == NULL)
		goto out;
	for (size_t i = 0; i < u; i++) {
		if ((s->cats[i] = strdup(tmp[i])) == NULL)
			goto out;
		s->n_cats = i + 1;
	}
	for (size_t i = 0; i < s->n_items; i++) {
		const char *c = s->items[i].category;
		char **hit = bsearch(&c, s->cats, s->n_cats, sizeof(*s->cats), cmp_strp);
		s->items[i].cat = (uint32_t) (hit - s->cats);
		s->items[i].category = *hit; /* now owned by cats[] */
		re[i] = (rank_ent){s->items[i].cat, (uint32_t) i, s->items[i].pop, 0,
		                   s->items[i].id};
	}
	qsort(re, s->n_items, sizeof(*re), cmp_rank_ent);
	size_t n = 0;
	for (size_t i = 0, j; i < s->n_items; i = j) {
		s->cat_off[re[i].group] = (uint32_t) n;
		for (j = i; j < s->n_items && re[j].group == re[i].group; j++)
			if (j - i < p->category_top) {
				s->cat_pop[n] = s->items[re[j].item].pop;
				s->cat_items[n++] = re[j].item;
			}
		s->cat_len[re[i].group] = (uint32_t) n - s->cat_off[re[i].group];
	}
	rv = 0;
out:
	free(tmp);
	free(re);
	return rv;
}

static int
build_popular(cand_snap *s, const cand_event_row *events, size_t n_events,
              const cand_build_params *p)
{
	int64_t ref = INT64_MIN;
	rank_ent *re;

	for (size_t i = 0; i < n_events; i++)
		if (events[i].ts_ms > ref)
			ref = events[i].ts_ms;
	for (size_t i = 0; i < n_events; i++) {
		float w = cand_type_weight(events[i].type, events[i].value);
		double age = (double) (ref - events[i].ts_ms);
		if (w <= 0)
			continue;
		s->items[cand_snap_find(s, events[i].item_id)].pop +=
		        w * (float) exp2(-age / p->half_life_ms);
	}
	if ((re = malloc((s->n_items ? s->n_items : 1) * sizeof(*re))) == NULL)
		return RS_ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < s->n_items; i++)
		if (s->items[i].pop > 0)
			re[n++] = (rank_ent){0, (uint32_t) i, s->items[i].pop, 0, s->items[i].id};
	qsort(re, n, sizeof(*re), cmp_rank_ent);
	if ((s->popular = malloc((n ? n : 1) * sizeof(*s->popular))) == NULL ||
	    (s->popular_pop = malloc((n ? n : 1) * sizeof(*s->popular_pop))) == NULL) {
		free(re);
		return RS_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		s->popular[i] = re[i].item;
		s->popular_pop[i] = s->items[re[i].item].pop;
	}
	s->n_popular = n;
	free(re);
	return 0;
}

int
cand_snap_build(const cand_item_row *items, size_t n_items, const cand_event_row *events,
                size_t n_events, const cand_build_params *p, uint64_t fingerprint, cand_snap **out)
{
	cand_snap *s = calloc(1, sizeof(*s));
	int rv;

	if (s == NULL)
		return RS_ENOMEM;
	atomic_init(&s->refs, 1);
	if ((rv = build_items(s, items, n_items, events, n_events)) != 0 ||
	    (rv = build_popular(s, events, n_events, p)) != 0 ||
	    (rv = build_categories(s, p)) != 0 ||
	    (rv = build_covisit(s, events, n_events, p)) != 0 ||
	    (rv = build_exclusions(s, events, n_events)) != 0) {
		cand_snap_unref(s); /* item categories are never freed: cats[] owns them */
		return rv;
	}
	s->n_events = n_events;
	s->fingerprint = fingerprint;
	s->category_top = p->category_top;
	if (cand_snap_catalog_totals(s) != 0) {
		cand_snap_unref(s);
		return RS_ENOMEM;
	}
	s->built_unix_ms = rs_now_ms();
	snprintf(s->version, sizeof(s->version), "live-pop-%lld",
	         (long long) (s->built_unix_ms / 1000));
	*out = s;
	return 0;
}

/* ---- a catalog change applied to a built snapshot ---- */

/* The distinct ids of rows, ascending (malloc'd; *n_out of them), or NULL when out of memory. */
static int64_t *
rows_ids(const cand_item_row *rows, size_t n, size_t *n_out)
{
	int64_t *ids = malloc((n ? n : 1) * sizeof(*ids));
	size_t u = 0;
	if (ids == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		ids[i] = rows[i].id;
	qsort(ids, n, sizeof(*ids), cmp_i64);
	for (size_t i = 0; i < n; i++)
		if (u == 0 || ids[u - 1] != ids[i])
			ids[u++] = ids[i];
	*n_out = u;
	return ids;
}

/* t's items and ids: s's and the rows' ids merged (ascending); map[i] = the new index of s's
 * item i (a monotone map, so every order by index is kept). s's items are copied with their
 * own title and brand; their category still points into s->cats. */
static int
apply_merge_items(cand_snap *t, const cand_snap *s, const int64_t *rid, size_t nr, uint32_t *map)
{
	size_t i = 0, j = 0, k = 0;
	if ((t->ids = malloc((s->n_items + nr + 1) * sizeof(*t->ids))) == NULL ||
	    (t->items = calloc(s->n_items + nr + 1, sizeof(*t->items))) == NULL)
		return RS_ENOMEM;
	while (i < s->n_items || j < nr) {
		if (j == nr || (i < s->n_items && s->ids[i] <= rid[j])) {
			if (j < nr && s->ids[i] == rid[j])
				j++;
			map[i] = (uint32_t) k;
			cand_item *it = &t->items[k];
			*it = s->items[i];
			it->title = NULL; /* still s's: owned only once copied */
			it->brand = NULL;
			t->ids[k++] = s->ids[i++];
			if ((it->title = strdup(s->items[i - 1].title)) == NULL ||
			    (it->brand = strdup(s->items[i - 1].brand)) == NULL) {
				t->n_items = k;
				return RS_ENOMEM;
			}
		} else {
			t->items[k] = (cand_item){.id = rid[j], .in_stock = 1};
			t->ids[k++] = rid[j++];
		}
	}
	t->n_items = k;
	return 0;
}

/* The index-valued parts that events made (neighbours, popular list), renumbered by map, and
 * the exclusions (by id) copied. */
static int
apply_carry_events(cand_snap *t, const cand_snap *s, const uint32_t *map)
{
	if ((t->nbs = malloc((s->n_nbs ? s->n_nbs : 1) * sizeof(*t->nbs))) == NULL ||
	    (t->popular = malloc((s->n_popular ? s->n_popular : 1) * sizeof(*t->popular))) ==
	            NULL ||
	    (t->popular_pop =
	             malloc((s->n_popular ? s->n_popular : 1) * sizeof(*t->popular_pop))) == NULL)
		return RS_ENOMEM;
	for (size_t x = 0; x < s->n_nbs; x++) {
		t->nbs[x] = s->nbs[x];
		t->nbs[x].item = map[s->nbs[x].item];
	}
	t->n_nbs = s->n_nbs;
	for (size_t x = 0; x < s->n_popular; x++)
		t->popular[x] = map[s->popular[x]];
	memcpy(t->popular_pop, s->popular_pop, s->n_popular * sizeof(*t->popular_pop));
	t->n_popular = s->n_popular;
	if (s->n_excl_users > 0) {
		size_t ni = s->excl_off[s->n_excl_users];
		if ((t->excl_users = malloc(s->n_excl_users * sizeof(*t->excl_users))) == NULL ||
		    (t->excl_off = malloc((s->n_excl_users + 1) * sizeof(*t->excl_off))) == NULL ||
		    (t->excl_items = malloc((ni ? ni : 1) * sizeof(*t->excl_items))) == NULL ||
		    (t->excl_why = malloc((ni ? ni : 1) * sizeof(*t->excl_why))) == NULL)
			return RS_ENOMEM;
		memcpy(t->excl_users, s->excl_users, s->n_excl_users * sizeof(*t->excl_users));
		memcpy(t->excl_off, s->excl_off, (s->n_excl_users + 1) * sizeof(*t->excl_off));
		memcpy(t->excl_items, s->excl_items, ni * sizeof(*t->excl_items));
		memcpy(t->excl_why, s->excl_why, ni * sizeof(*t->excl_why));
		t->n_excl_users = s->n_excl_users;
	}
	return 0;
}

int
cand_snap_apply_catalog(const cand_snap *s, const cand_item_row *rows, size_t n, int full,
                        cand_snap **out)
{
	cand_snap *t = calloc(1, sizeof(*t));
	uint32_t *map = malloc((s->n_items ? s->n_items : 1) * sizeof(*map));
	size_t nr = 0;
	int64_t *rid = rows_ids(rows, n, &nr);
	uint8_t *seen = NULL;
	int rv = RS_ENOMEM;

	if (t == NULL || map == NULL || rid == NULL)
		goto out;
	atomic_init(&t->refs, 1);
	if ((rv = apply_merge_items(t, s, rid, nr, map)) != 0)
		goto out;
	rv = RS_ENOMEM;
	if ((seen = calloc(t->n_items ? t->n_items : 1, 1)) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		int64_t idx = cand_snap_find(t, rows[i].id);
		if (item_set_row(&t->items[idx], &rows[i]) != 0)
			goto out;
		seen[idx] = 1;
	}
	for (size_t i = 0; full && i < t->n_items; i++) {
		cand_item *it = &t->items[i];
		if (!it->in_catalog || seen[i])
			continue;
		/* the row is gone: what events alone said of it, as in cand_snap_build */
		it->title[0] = '\0';
		it->brand[0] = '\0';
		it->category = "";
		it->price = 0;
		it->has_price = 0;
		it->in_stock = 1;
		it->withdrawn = 0;
		it->in_catalog = 0;
		it->row_hash = 0;
	}
	if ((rv = items_fill_empty(t)) != 0 || (rv = apply_carry_events(t, s, map)) != 0 ||
	    (rv = build_categories(t, &(cand_build_params){.category_top = s->category_top})) != 0)
		goto out;
	t->n_events = s->n_events;
	t->fingerprint = s->fingerprint;
	t->built_unix_ms = s->built_unix_ms;
	t->category_top = s->category_top;
	memcpy(t->version, s->version, sizeof(t->version));
	if ((rv = cand_snap_catalog_totals(t)) != 0)
		goto out;
	*out = t;
	t = NULL;
	rv = 0;
out:
	cand_snap_unref(t);
	free(map);
	free(rid);
	free(seen);
	return rv;
}
