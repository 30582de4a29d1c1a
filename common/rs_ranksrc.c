/* rs_ranksrc: see rs_ranksrc.h. */
#include "rs_ranksrc.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"
#include "rs_rankfeat.h"
#include "rs_topk.h"

struct rs_ranksrc {
	const rs_model *model; /* borrowed */
	int n_src, cand_n;
	char name[RS_RANKSRC_MAX][32];
	int kind[RS_RANKSRC_MAX];
	rs_ranksrc_weights weights;
	uint32_t n_items;
	float *pop;          /* n_items, when a source is RS_RANKSRC_POP */
	uint32_t *pop_order; /* codes by pop desc, code asc (rs-train's tr_topk order) */
};

/* ---- weights and the user's items ---- */

int
rs_ranksrc_weights_init(rs_ranksrc_weights *w, int weighted, const char *spec)
{
	char err[256];

	rs_event_weights_defaults(&w->ev);
	w->weighted = weighted != 0;
	if (!w->weighted)
		return 0;
	return rs_event_weights_parse(spec, &w->ev, err, sizeof(err)) == 0 ? 0 : -1;
}

/* one history event while the user is built */
typedef struct ranksrc_ev {
	int64_t id;
	int64_t ts;
	size_t pos;
	uint32_t code;
	float w;
	int32_t type;
	double value;
} ranksrc_ev;

static int
cmp_ev_id(const void *a, const void *b)
{
	const ranksrc_ev *x = a, *y = b;
	if (x->id != y->id)
		return (x->id > y->id) - (x->id < y->id);
	if (x->ts != y->ts)
		return (x->ts > y->ts) - (x->ts < y->ts);
	return (x->pos > y->pos) - (x->pos < y->pos);
}

static int
cmp_ev_time(const void *a, const void *b)
{
	const ranksrc_ev *x = a, *y = b;
	if (x->ts != y->ts)
		return (x->ts > y->ts) - (x->ts < y->ts);
	return (x->pos > y->pos) - (x->pos < y->pos);
}

/* an event log's pairs: rs-train orders them by (time, item code) */
static int
cmp_ev_time_code(const void *a, const void *b)
{
	const ranksrc_ev *x = a, *y = b;
	if (x->ts != y->ts)
		return (x->ts > y->ts) - (x->ts < y->ts);
	return (x->code > y->code) - (x->code < y->code);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
	return (x > y) - (x < y);
}

static void
ranksrc_items(const ranksrc_ev *e, size_t n, rs_ranksrc_item *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (rs_ranksrc_item){e[i].id, e[i].ts, e[i].code, e[i].w};
}

int
rs_ranksrc_user_build(const rs_model *m, const rs_ranksrc_weights *w, const rs_ranksrc_event *ev,
                      size_t n, rs_arena *a, rs_ranksrc_user *out)
{
	size_t cap = n ? n : 1, nd = 0, nng = 0, keep = 0, i, b;
	ranksrc_ev *h = rs_arena_alloc(a, cap * sizeof(*h));
	ranksrc_ev *ng = rs_arena_alloc(a, cap * sizeof(*ng));

	memset(out, 0, sizeof(*out));
	out->pos = rs_arena_alloc(a, cap * sizeof(*out->pos));
	out->neg = rs_arena_alloc(a, cap * sizeof(*out->neg));
	out->codes = rs_arena_alloc(a, cap * sizeof(*out->codes));
	if (h == NULL || ng == NULL || out->pos == NULL || out->neg == NULL || out->codes == NULL)
		return RS_ENOMEM;
	for (i = 0; i < n; i++) {
		if (ev[i].item_id <= 0 ||
		    (!w->weighted && ev[i].type == RS__EVENT_TYPE__EVENT_NOT_INTERESTED))
			continue;
		h[nd] = (ranksrc_ev){ev[i].item_id, ev[i].ts_ms, i,          UINT32_MAX,
		                     1.0f,          ev[i].type,  ev[i].value};
		if (rs_model_code(m, ev[i].item_id, &h[nd].code) != 0)
			h[nd].code = UINT32_MAX;
		nd++;
	}
	/* each item once: at its first event; an event log's events are summed with the weights
	 * into a positive or an explicit negative */
	qsort(h, nd, sizeof(*h), cmp_ev_id);
	for (i = 0; i < nd; i = b) {
		double pos = 0, neg = 0;
		int64_t t_neg = 0;
		int negative = 0;
		for (b = i; b < nd && h[b].id == h[i].id; b++) {
			int override = 0;
			double amt = w->weighted ? rs_event_amount(&w->ev, h[b].type, h[b].value,
			                                           &override)
			                         : 1;
			if (amt < 0) {
				neg -= amt;
				negative = 1;
				t_neg = h[b].ts;
			} else {
				pos += amt;
				if (override && amt > 0)
					negative = 0; /* a later purchase / good rating wins */
			}
		}
		if (w->weighted && negative && neg > 0) {
			ng[nng] = h[i];
			ng[nng].ts = t_neg;
			ng[nng++].w = (float) neg;
		} else if (pos > 0) {
			h[keep] = h[i];
			h[keep++].w = w->weighted ? (float) pos : 1.0f;
		}
	}
	nd = keep;
	for (i = 0; i < nd; i++)
		if (h[i].code != UINT32_MAX)
			out->codes[out->ncodes++] = h[i].code;
	qsort(out->codes, out->ncodes, sizeof(uint32_t), cmp_u32);
	qsort(h, nd, sizeof(*h), w->weighted ? cmp_ev_time_code : cmp_ev_time);
	qsort(ng, nng, sizeof(*ng), cmp_ev_time_code);
	ranksrc_items(h, nd, out->pos);
	ranksrc_items(ng, nng, out->neg);
	out->npos = nd;
	out->nneg = nng;
	return 0;
}

/* ---- a version's sources ---- */

static int
ranksrc_cmp_pop(const void *a, const void *b, void *ctx)
{
	const float *pop = ctx;
	uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
	float sx = pop[x], sy = pop[y];
	if (sx != sy)
		return sx > sy ? -1 : 1;
	return (x > y) - (x < y);
}

/* the manifest's published.ranker: sources, list length, knn source, event weights */
static int
ranksrc_manifest(rs_ranksrc *r, const char *dir, char *knn, size_t knn_n, char *err, size_t errn)
{
	char path[4096];
	json_error_t jerr;
	json_t *root, *rk, *srcs;
	int rv = 0;

	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	if ((root = json_load_file(path, 0, &jerr)) == NULL)
		return rs_err_fmt(err, errn, RS_EIO, "%s: %s", path, jerr.text);
	rk = json_object_get(json_object_get(root, "published"), "ranker");
	srcs = json_object_get(rk, "sources");
	if (rk == NULL) {
		rv = rs_err_fmt(err, errn, RS_ENOTFOUND, "%s: %s", path,
		                "no published.ranker (published before feature layout 1)");
		goto out;
	}
	if (json_integer_value(json_object_get(rk, "layout")) != RS_RANKFEAT_LAYOUT) {
		rv = rs_err_fmt(err, errn, RS_EVERSION, "%s: %s", path,
		                "feature layout unknown to this service");
		goto out;
	}
	r->n_src = (int) json_array_size(srcs);
	r->cand_n = (int) json_integer_value(json_object_get(rk, "cand_n"));
	if (r->n_src < 1 || r->n_src > RS_RANKSRC_MAX || r->cand_n < 1) {
		rv = rs_err_fmt(err, errn, RS_ECORRUPT, "%s: %s", path,
		                "bad ranker.sources or cand_n");
		goto out;
	}
	for (int s = 0; s < r->n_src; s++) {
		const char *v = json_string_value(json_array_get(srcs, (size_t) s));
		snprintf(r->name[s], sizeof(r->name[s]), "%s", v != NULL ? v : "");
	}
	const char *kv = json_string_value(json_object_get(rk, "knn_source"));
	snprintf(knn, knn_n, "%s", kv != NULL ? kv : "");
	if (rs_ranksrc_weights_init(&r->weights, json_is_true(json_object_get(rk, "weighted")),
	                            json_string_value(json_object_get(
	                                    json_object_get(root, "params"), "weights"))) != 0)
		rv = rs_err_fmt(err, errn, RS_ECORRUPT, "%s: %s", path, "bad params.weights");
out:
	json_decref(root);
	return rv;
}

int
rs_ranksrc_open(rs_model *m, rs_ranksrc **out, char *err, size_t errn)
{
	rs_ranksrc *r;
	char knn[32];
	int rv;

	if (!rs_model_has_ranker(m))
		return rs_err_fmt(err, errn, RS_ENOTFOUND, "%s: no ranker.json", rs_model_dir(m));
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return RS_ENOMEM;
	r->model = m;
	r->n_items = rs_model_n_items(m);
	if ((rv = ranksrc_manifest(r, rs_model_dir(m), knn, sizeof(knn), err, errn)) != 0) {
		rs_ranksrc_destroy(r);
		return rv;
	}
	for (int s = 0; s < r->n_src; s++) {
		r->kind[s] = RS_RANKSRC_UNSERVED;
		if (strcmp(r->name[s], "als") == 0 && rs_model_factors(m) > 0) {
			r->kind[s] = RS_RANKSRC_CALLER;
		} else if (knn[0] != '\0' && strcmp(r->name[s], knn) == 0 &&
		           rs_model_has_knn_rows(m)) {
			r->kind[s] = RS_RANKSRC_KNN;
		} else if (strcmp(r->name[s], "pop") == 0 && r->pop == NULL) {
			r->pop = malloc(((size_t) r->n_items + 1) * sizeof(float));
			r->pop_order = malloc(((size_t) r->n_items + 1) * sizeof(uint32_t));
			if (r->pop == NULL || r->pop_order == NULL) {
				rs_ranksrc_destroy(r);
				return RS_ENOMEM;
			}
			rv = rs_model_source_scores(m, RS_MDB_SOURCE_POP, r->pop);
			if (rv == RS_ENOTFOUND)
				continue; /* served as a missing source */
			if (rv != 0) {
				rs_ranksrc_destroy(r);
				return rs_err_fmt(err, errn, rv, "%s: source_scores pop: %s",
				                  rs_model_dir(m), rs_strerror(rv));
			}
			for (uint32_t i = 0; i < r->n_items; i++)
				r->pop_order[i] = i;
			qsort_r(r->pop_order, r->n_items, sizeof(uint32_t), ranksrc_cmp_pop,
			        r->pop);
			r->kind[s] = RS_RANKSRC_POP;
		}
	}
	*out = r;
	return 0;
}

void
rs_ranksrc_destroy(rs_ranksrc *r)
{
	if (r == NULL)
		return;
	free(r->pop);
	free(r->pop_order);
	free(r);
}

int
rs_ranksrc_count(const rs_ranksrc *r)
{
	return r->n_src;
}

const char *
rs_ranksrc_name(const rs_ranksrc *r, int s)
{
	return s >= 0 && s < r->n_src ? r->name[s] : "";
}

int
rs_ranksrc_kind(const rs_ranksrc *r, int s)
{
	return s >= 0 && s < r->n_src ? r->kind[s] : RS_RANKSRC_UNSERVED;
}

int
rs_ranksrc_cand_n(const rs_ranksrc *r)
{
	return r->cand_n;
}

const rs_ranksrc_weights *
rs_ranksrc_weights_of(const rs_ranksrc *r)
{
	return &r->weights;
}

/* ---- one user's lists ---- */

/* A list best first: (code, score) pairs of at most k. */
typedef struct ranksrc_top {
	uint32_t *code;
	float *score;
	int n, k;
} ranksrc_top;

/* the list's {code, rank} pairs sorted by code, and its normalisers */
static int
ranksrc_finish(const ranksrc_top *t, const float *score, rs_arena *a, rs_ranksrc_list *out)
{
	out->score = score;
	out->n = (uint32_t) t->n;
	out->top = t->n > 0 ? t->score[0] : 0.0f;
	out->low = t->n > 0 ? t->score[t->n - 1] : 0.0f;
	if ((out->pairs = rs_arena_alloc(a, 2 * ((size_t) t->n + 1) * sizeof(uint32_t))) == NULL)
		return RS_ENOMEM;
	for (int q = 0; q < t->n; q++) {
		out->pairs[2 * q] = t->code[q];
		out->pairs[2 * q + 1] = (uint32_t) q + 1;
	}
	qsort(out->pairs, (size_t) t->n, 2 * sizeof(uint32_t), cmp_u32);
	return 0;
}

/* pop: the version's order, skipping the user's items */
static int
ranksrc_pop_list(const rs_ranksrc *r, const rs_ranksrc_user *u, rs_arena *a, rs_ranksrc_list *out)
{
	ranksrc_top t = {rs_arena_alloc(a, (size_t) r->cand_n * sizeof(uint32_t)),
	                 rs_arena_alloc(a, (size_t) r->cand_n * sizeof(float)), 0, r->cand_n};
	if (t.code == NULL || t.score == NULL)
		return RS_ENOMEM;
	for (uint32_t q = 0; q < r->n_items && t.n < t.k; q++) {
		uint32_t c = r->pop_order[q];
		if (bsearch(&c, u->codes, u->ncodes, sizeof(uint32_t), cmp_u32) != NULL)
			continue;
		t.code[t.n] = c;
		t.score[t.n++] = r->pop[c];
	}
	return ranksrc_finish(&t, r->pop, a, out);
}

/* knn: the sparse sum of the user's rows: dense scores, set only where reached says a row of
 * the user's reached the code (the sums never clear the whole catalog's floats), and the
 * codes reached */
typedef struct ranksrc_knn {
	const rs_ranksrc *r;
	float *dense;
	uint8_t *reached;
	uint32_t *touched;
	size_t nt;
} ranksrc_knn;

/* marks c reached, its sum starting at +0 as a zeroed array's would */
static inline void
knn_reach(ranksrc_knn *k, uint32_t c)
{
	if (!k->reached[c]) {
		k->reached[c] = 1;
		k->dense[c] = 0.0f;
		k->touched[k->nt++] = c;
	}
}

/* adds the row of code with sign x w to the sums (rs-train's tr_knn_score / tr_knn_score_w:
 * the same float products in the same order) */
static void
ranksrc_knn_row(ranksrc_knn *k, uint32_t code, float w, int sign)
{
	const unsigned char *p;
	const void *data;
	size_t bytes;

	if (code == UINT32_MAX || rs_model_knn_row(k->r->model, code, &data, &bytes) != 0)
		return; /* unknown to the version, or no neighbours */
	/* one product per entry: plain pairs add 1 x v (= v exactly), a negative row adds
	 * (-w) x v (d + (-w) v = d - w v exactly: negation is exact) */
	const float mul = !k->r->weights.weighted ? 1.0f : sign > 0 ? w : -w;
	const uint32_t n_items = k->r->n_items;
	/* locals: the byte stores to reached may alias k, which the loop must not re-read */
	float *dense = k->dense;
	uint8_t *reached = k->reached;
	uint32_t *touched = k->touched;
	size_t nt = k->nt;
	p = data;
	for (const unsigned char *end = p + bytes / 8 * 8; p < end; p += 8) {
		uint32_t c;
		float v;
		memcpy(&c, p, sizeof(c));
		memcpy(&v, p + 4, sizeof(v));
		if (c >= n_items)
			continue;
		if (reached[c]) {
			dense[c] += mul * v;
		} else { /* the first sum starts at +0 (0 + -0 is +0, as a zeroed array's) */
			reached[c] = 1;
			dense[c] = 0.0f + mul * v;
			touched[nt++] = c;
		}
	}
	k->nt = nt;
}

static int
ranksrc_knn_list(const rs_ranksrc *r, const rs_ranksrc_user *u, rs_arena *a, rs_ranksrc_list *out)
{
	size_t ni = (size_t) r->n_items + 1;
	ranksrc_knn k = {r, rs_arena_alloc(a, ni * sizeof(float)), rs_arena_alloc(a, ni),
	                 rs_arena_alloc(a, ni * sizeof(uint32_t)), 0};
	ranksrc_top t = {rs_arena_alloc(a, (size_t) r->cand_n * sizeof(uint32_t)),
	                 rs_arena_alloc(a, (size_t) r->cand_n * sizeof(float)), 0, r->cand_n};
	int rv;

	if (k.dense == NULL || k.reached == NULL || k.touched == NULL || t.code == NULL ||
	    t.score == NULL)
		return RS_ENOMEM;
	memset(k.reached, 0, ni);
	/* the positives' rows in the user's order, then the negatives' */
	for (size_t i = 0; i < u->npos; i++)
		ranksrc_knn_row(&k, u->pos[i].code, u->pos[i].w, 1);
	for (size_t i = 0; i < u->nneg; i++)
		ranksrc_knn_row(&k, u->neg[i].code, u->neg[i].w, -1);
	/* the user's items are never in the list: -inf, and not among the zeros below */
	for (size_t i = 0; i < u->ncodes; i++) {
		knn_reach(&k, u->codes[i]);
		k.dense[u->codes[i]] = -INFINITY;
	}
	/* the best cand_n in rs-train's tr_topk order (score descending, then code ascending) of
	 * the codes reached and, when fewer than cand_n scored above 0, of the zeros of the codes
	 * no row reached: the first cand_n of those in code order are the only ones that can
	 * enter */
	size_t pos = 0, want = (size_t) r->cand_n, cap = 4 * want + 1;
	rs_topk_ent *e = rs_arena_alloc(a, cap * sizeof(*e));
	rs_topk tk; /* a stream: most entries cost one compare with its bar */
	if (e == NULL)
		return RS_ENOMEM;
	rs_topk_init(&tk, e, cap, want);
	/* the bar's score once the stream has one (e[want - 1] after each flush): a lower score
	 * has a lower key whatever its code, so most entries need no key */
	float bar_s = -INFINITY;
	for (size_t i = 0; i < k.nt; i++) {
		uint32_t c = k.touched[i];
		float sc = k.dense[c];
		if (isnan(sc) || sc == -INFINITY)
			continue;
		pos += sc > 0;
		if (sc < bar_s)
			continue;
		size_t before = tk.n;
		rs_topk_push(&tk, rs_topk_ent_of(sc, c, c));
		if (tk.n <= before && tk.bar != 0 && want > 0) /* flushed: the bar is e[want - 1] */
			bar_s = e[want - 1].score;
	}
	for (uint32_t c = 0, z = 0; pos < want && c < r->n_items && z < want; c++)
		if (!k.reached[c]) {
			rs_topk_push(&tk, rs_topk_ent_of(0.0f, c, c));
			z++;
		}
	t.n = (int) rs_topk_sorted(&tk);
	for (int q = 0; q < t.n; q++) {
		t.code[q] = e[q].val;
		t.score[q] = e[q].score;
	}
	if ((rv = ranksrc_finish(&t, k.dense, a, out)) == 0)
		out->reached = k.reached;
	return rv;
}

int
rs_ranksrc_list_build(const rs_ranksrc *r, int s, const rs_ranksrc_user *u, rs_arena *a,
                      rs_ranksrc_list *out)
{
	memset(out, 0, sizeof(*out));
	switch (rs_ranksrc_kind(r, s)) {
	case RS_RANKSRC_POP:
		return ranksrc_pop_list(r, u, a, out);
	case RS_RANKSRC_KNN:
		return ranksrc_knn_list(r, u, a, out);
	default:
		return RS_EINVAL;
	}
}

float
rs_ranksrc_list_score(const rs_ranksrc_list *l, uint32_t code, uint32_t *rank)
{
	const uint32_t *hit;
	*rank = 0;
	if (code == UINT32_MAX || l->score == NULL)
		return 0.0f;
	hit = bsearch(&code, l->pairs, l->n, 2 * sizeof(uint32_t), cmp_u32);
	if (hit != NULL)
		*rank = hit[1];
	return l->reached == NULL || l->reached[code] ? l->score[code] : 0.0f;
}
