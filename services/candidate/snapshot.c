#include "snapshot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"
#include "rs_time.h"

float
cand_type_weight(int32_t type, double value)
{
	switch (type) {
	case 1: /* view */
		return 1.0f;
	case 2: /* click */
		return 2.0f;
	case 3: /* add_to_cart */
		return 4.0f;
	case 4: /* purchase */
		return 8.0f;
	case 5: /* rating: only good ratings count as interest */
		return value >= 4.0 ? 4.0f : value >= 3.0 ? 1.0f : 0.0f;
	default: /* not_interested, unknown */
		return 0.0f;
	}
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
		/* category strings are shared with cats[] */
	}
	for (size_t i = 0; i < s->n_cats; i++)
		free(s->cats[i]);
	free(s->items);
	free(s->popular);
	free(s->nbs);
	free(s->cats);
	free(s->cat_off);
	free(s->cat_len);
	free(s->cat_items);
	free(s);
}

int64_t
cand_snap_find(const cand_snap *s, int64_t id)
{
	size_t lo = 0, hi = s->n_items;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->items[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n_items && s->items[lo].id == id ? (int64_t) lo : -1;
}

/* ---- co-visitation pair counts: open addressing on (a << 32 | b) ---- */

typedef struct pair_ent {
	uint64_t key; /* PAIR_EMPTY when free */
	float w, cb;
} pair_ent;

#define PAIR_EMPTY UINT64_MAX

typedef struct pair_map {
	pair_ent *e;
	size_t cap, n; /* cap is a power of two */
} pair_map;

static int
pair_map_init(pair_map *m, size_t cap)
{
	m->cap = cap;
	m->n = 0;
	if ((m->e = malloc(cap * sizeof(*m->e))) == NULL)
		return RS_ENOMEM;
	for (size_t i = 0; i < cap; i++)
		m->e[i].key = PAIR_EMPTY;
	return 0;
}

static size_t
pair_slot(const pair_map *m, uint64_t key)
{
	uint64_t h = key * 0x9E3779B97F4A7C15ULL;
	size_t i = (size_t) (h >> 20) & (m->cap - 1);
	while (m->e[i].key != PAIR_EMPTY && m->e[i].key != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int
pair_add(pair_map *m, uint32_t a, uint32_t b, float w, float cb)
{
	uint64_t key = ((uint64_t) a << 32) | b;
	size_t i = pair_slot(m, key);
	if (m->e[i].key == PAIR_EMPTY) {
		if ((m->n + 1) * 2 > m->cap) {
			pair_map bigger;
			if (pair_map_init(&bigger, m->cap * 2) != 0)
				return RS_ENOMEM;
			for (size_t j = 0; j < m->cap; j++) {
				if (m->e[j].key == PAIR_EMPTY)
					continue;
				bigger.e[pair_slot(&bigger, m->e[j].key)] = m->e[j];
				bigger.n++;
			}
			free(m->e);
			*m = bigger;
			i = pair_slot(m, key);
		}
		m->e[i].key = key;
		m->e[i].w = 0;
		m->e[i].cb = 0;
		m->n++;
	}
	m->e[i].w += w;
	m->e[i].cb += cb;
	return 0;
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
	return (x->id > y->id) - (x->id < y->id);
}

/* One user's newest distinct items (newest first) with their strongest weight. */
typedef struct user_item {
	uint32_t item;
	float w;
	int bought;
} user_item;

static int
covisit_user(pair_map *pm, float *mass, const cand_snap *s, const cand_event_row *ev, size_t n,
             const cand_build_params *p, user_item *ui)
{
	size_t m = 0;
	for (size_t k = n; k-- > 0;) {
		float w = cand_type_weight(ev[k].type, ev[k].value);
		if (w <= 0)
			continue;
		uint32_t it = (uint32_t) cand_snap_find(s, ev[k].item_id);
		size_t j;
		for (j = 0; j < m && ui[j].item != it; j++)
			;
		if (j == m) {
			if (m == p->user_items)
				continue; /* older distinct items no longer take part */
			ui[m++] = (user_item){it, w, ev[k].type == 4};
		} else {
			if (w > ui[j].w)
				ui[j].w = w;
			ui[j].bought |= ev[k].type == 4;
		}
	}
	for (size_t i = 0; i < m; i++) {
		mass[ui[i].item] += ui[i].w;
		for (size_t j = i + 1; j < m && j - i <= p->covisit_span; j++) {
			float w = sqrtf(ui[i].w * ui[j].w);
			float cb = ui[i].bought && ui[j].bought ? w : 0.0f;
			if (pair_add(pm, ui[i].item, ui[j].item, w, cb) != 0 ||
			    pair_add(pm, ui[j].item, ui[i].item, w, cb) != 0)
				return RS_ENOMEM;
		}
	}
	return 0;
}

static int
build_covisit(cand_snap *s, const cand_event_row *events, size_t n_events,
              const cand_build_params *p)
{
	cand_event_row *ev = NULL;
	float *mass = NULL;
	user_item *ui = NULL;
	rank_ent *re = NULL;
	pair_map pm = {0};
	int rv = RS_ENOMEM;

	if (n_events == 0 || p->covisit_n == 0 || p->user_items < 2)
		return 0;
	ev = malloc(n_events * sizeof(*ev));
	mass = calloc(s->n_items, sizeof(*mass));
	ui = malloc(p->user_items * sizeof(*ui));
	if (ev == NULL || mass == NULL || ui == NULL || pair_map_init(&pm, 1 << 16) != 0)
		goto out;
	memcpy(ev, events, n_events * sizeof(*ev));
	qsort(ev, n_events, sizeof(*ev), cmp_event_user_ts);
	for (size_t i = 0, j; i < n_events; i = j) {
		for (j = i; j < n_events && ev[j].user_id == ev[i].user_id; j++)
			;
		if ((rv = covisit_user(&pm, mass, s, &ev[i], j - i, p, ui)) != 0)
			goto out;
	}
	rv = RS_ENOMEM;
	if ((re = malloc((pm.n ? pm.n : 1) * sizeof(*re))) == NULL)
		goto out;
	size_t nr = 0;
	for (size_t i = 0; i < pm.cap; i++) {
		if (pm.e[i].key == PAIR_EMPTY)
			continue;
		uint32_t a = (uint32_t) (pm.e[i].key >> 32), b = (uint32_t) pm.e[i].key;
		float norm = sqrtf(mass[a] * mass[b]);
		if (norm <= 0)
			continue;
		re[nr++] = (rank_ent){a, b, pm.e[i].w / norm, pm.e[i].cb / norm, s->items[b].id};
	}
	qsort(re, nr, sizeof(*re), cmp_rank_ent);
	if ((s->nbs = malloc((nr ? nr : 1) * sizeof(*s->nbs))) == NULL)
		goto out;
	for (size_t i = 0, j; i < nr; i = j) {
		cand_item *it = &s->items[re[i].group];
		it->nb_off = (uint32_t) s->n_nbs;
		for (j = i; j < nr && re[j].group == re[i].group; j++) {
			if (j - i >= p->covisit_n || j - i >= CAND_COVISIT_MAX)
				continue;
			float score = re[j].score > 1.0f ? 1.0f : re[j].score;
			s->nbs[s->n_nbs++] = (cand_nb){re[j].item, score, re[j].extra};
		}
		it->nb_len = (uint32_t) s->n_nbs - it->nb_off;
	}
	rv = 0;
out:
	free(ev);
	free(mass);
	free(ui);
	free(re);
	free(pm.e);
	return rv;
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
	free(ids);
	for (size_t i = 0; i < n_rows; i++) {
		cand_item *it = &s->items[cand_snap_find(s, rows[i].id)];
		free(it->title); /* a duplicated row: the last one wins */
		it->title = strdup(rows[i].title != NULL ? rows[i].title : "");
		it->category = (char *) (rows[i].category != NULL ? rows[i].category : "");
		it->price = rows[i].price;
		it->has_price = rows[i].has_price;
		it->in_stock = rows[i].in_stock;
		if (it->title == NULL)
			return RS_ENOMEM;
	}
	for (size_t i = 0; i < u; i++) {
		if (s->items[i].title == NULL && (s->items[i].title = strdup("")) == NULL)
			return RS_ENOMEM;
		if (s->items[i].category == NULL)
			s->items[i].category = "";
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
	re = malloc((s->n_items ? s->n_items : 1) * sizeof(*re));
	if (s->cats == NULL || s->cat_off == NULL || s->cat_len == NULL || s->cat_items == NULL ||
	    re == NULL)
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
			if (j - i < p->category_top)
				s->cat_items[n++] = re[j].item;
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
	if ((s->popular = malloc((n ? n : 1) * sizeof(*s->popular))) == NULL) {
		free(re);
		return RS_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		s->popular[i] = re[i].item;
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
	    (rv = build_covisit(s, events, n_events, p)) != 0) {
		cand_snap_unref(s); /* item categories are never freed: cats[] owns them */
		return rv;
	}
	s->n_events = n_events;
	s->fingerprint = fingerprint;
	s->built_unix_ms = rs_now_ms();
	snprintf(s->version, sizeof(s->version), "live-pop-%lld",
	         (long long) (s->built_unix_ms / 1000));
	*out = s;
	return 0;
}
