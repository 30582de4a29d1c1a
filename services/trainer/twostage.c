/* twostage: see twostage.h. */
#include "twostage.h"

#include <cblas.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

#include "rs_err.h"
#include "rs_hash.h"
#include "rs_log.h"
#include "rs_rankfeat.h"
#include "stage1.h"
#include "topk.h"

/* the feature row is rs_rankfeat's (common/rs_rankfeat.h), shared with rs-ranking */
#define TS_MAX_SRC   RS_RANKFEAT_MAX_SRC
#define TS_LAST      RS_RANKFEAT_LAST
#define TS_ITEM_FEAT RS_RANKFEAT_ITEM

struct tr_twostage {
	int n_src;
	tr_kind kinds[TS_MAX_SRC];
	tr_model src[TS_MAX_SRC];
	BoosterHandle booster;
	int cand_n, nthreads;
	int fitted;   /* src[] hold models fitted on all of train */
	int fallback; /* >= 0: the ranker lost to this source on validation; rank by it */
};

/* Side information derived from a dataset (recomputed at recommend time from train.csv). */
typedef struct ts_ctx {
	const tr_dataset *ds;
	const tr_model *src;
	int n_src, cand_n, nfeat, knn_src;
	float *item_feat;      /* n_items x TS_ITEM_FEAT */
	rs_rankfeat_norm norm; /* tmax, span, mean_n (mean items per active user) */
	float *trans_out;      /* n_items: transitions leaving each item */
	tr_knn trans;          /* i -> j "next item" counts, rows sorted by j */
} ts_ctx;

/* One user's candidates and features. */
typedef struct ts_rows {
	int n;
	int32_t *items;
	float *feat;
} ts_rows;

int
tr_twostage_nsources(const tr_twostage *ts)
{
	return ts->n_src;
}

const tr_model *
tr_twostage_source_model(const tr_twostage *ts, int s)
{
	return &ts->src[s];
}

const char *
tr_twostage_source(const tr_twostage *ts, int s)
{
	return tr_kind_name(ts->kinds[s]);
}

static int
ts_nfeat(int n_src)
{
	return rs_rankfeat_nfeat(n_src);
}

static int
ts_cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return (x > y) - (x < y);
}

typedef struct pair_ij {
	int32_t i, j;
} pair_ij;

static int
ts_cmp_pair(const void *a, const void *b)
{
	const pair_ij *x = a, *y = b;

	if (x->i != y->i)
		return (x->i > y->i) - (x->i < y->i);
	return (x->j > y->j) - (x->j < y->j);
}

static void
ts_ctx_init(ts_ctx *c, const tr_dataset *ds, const tr_model *src, int n_src, int cand_n)
{
	int32_t i, u;
	int64_t e, n = ds->nnz, np = 0, a;
	double *sorted, t90, tmin;
	double *last = tr_xmalloc(((size_t) ds->n_items + 1) * sizeof(double));
	double *first = tr_xmalloc(((size_t) ds->n_items + 1) * sizeof(double));
	float *recent = tr_xcalloc((size_t) ds->n_items + 1, sizeof(float));
	pair_ij *pairs;

	memset(c, 0, sizeof(*c));
	c->ds = ds;
	c->src = src;
	c->n_src = n_src;
	c->cand_n = cand_n;
	c->nfeat = ts_nfeat(n_src);
	c->knn_src = -1;
	for (i = 0; i < n_src; i++)
		if (src[i].kind == TR_ITEMKNN)
			c->knn_src = i;
	sorted = tr_xmalloc((size_t) (n > 0 ? n : 1) * sizeof(double));
	memcpy(sorted, ds->u_ts, (size_t) n * sizeof(double));
	qsort(sorted, (size_t) n, sizeof(double), ts_cmp_double);
	tmin = n ? sorted[0] : 0;
	c->norm.tmax = n ? sorted[n - 1] : 0;
	t90 = n ? sorted[(size_t) (0.9 * (double) (n - 1))] : 0;
	c->norm.span = c->norm.tmax - tmin > 0 ? c->norm.tmax - tmin : 1;
	free(sorted);
	for (i = 0; i < ds->n_items; i++) {
		last[i] = -INFINITY;
		first[i] = INFINITY;
	}
	pairs = tr_xmalloc((size_t) (n > 0 ? n : 1) * sizeof(pair_ij));
	for (u = 0; u < ds->n_users; u++)
		for (e = ds->u_ptr[u]; e < ds->u_ptr[u + 1]; e++) {
			int32_t it = ds->u_items[e];
			double t = ds->u_ts[e];
			if (t > last[it])
				last[it] = t;
			if (t < first[it])
				first[it] = t;
			if (t >= t90)
				recent[it] += 1;
			if (e + 1 < ds->u_ptr[u + 1]) {
				pairs[np].i = it;
				pairs[np].j = ds->u_items[e + 1];
				np++;
			}
		}
	/* features are made scale-free (relative to the maximum or mean), because the ranker
	 * is trained on 80% of train and applied to all of it */
	{
		double maxpop = 0, maxrec = 0;
		int64_t active = 0;
		for (i = 0; i < ds->n_items; i++) {
			double pp = (double) (ds->i_ptr[i + 1] - ds->i_ptr[i]);
			maxpop = pp > maxpop ? pp : maxpop;
			maxrec = recent[i] > maxrec ? recent[i] : maxrec;
		}
		for (u = 0; u < ds->n_users; u++)
			active += ds->u_ptr[u + 1] > ds->u_ptr[u];
		c->norm.mean_n = active ? (double) ds->nnz / (double) active : 1;
		c->item_feat =
		        tr_xmalloc(((size_t) ds->n_items + 1) * TS_ITEM_FEAT * sizeof(float));
		for (i = 0; i < ds->n_items; i++) {
			float *f = c->item_feat + (size_t) i * TS_ITEM_FEAT;
			f[0] = (float) log((double) (ds->i_ptr[i + 1] - ds->i_ptr[i] + 1) /
			                   (maxpop + 1));
			f[1] = (float) log((recent[i] + 1) / (maxrec + 1));
			/* items without interactions here (all held out) count as oldest */
			f[2] = isfinite(last[i]) ? (float) ((c->norm.tmax - last[i]) / c->norm.span)
			                         : 1.0f;
			f[3] = isfinite(first[i])
			               ? (float) ((c->norm.tmax - first[i]) / c->norm.span)
			               : 0.0f;
		}
	}
	/* transitions: count equal (i, j) pairs into a CSR with rows sorted by j */
	qsort(pairs, (size_t) np, sizeof(pair_ij), ts_cmp_pair);
	c->trans.n_items = ds->n_items;
	c->trans.ptr = tr_xcalloc((size_t) ds->n_items + 1, sizeof(int64_t));
	c->trans.idx = tr_xmalloc((size_t) (np > 0 ? np : 1) * sizeof(int32_t));
	c->trans.val = tr_xmalloc((size_t) (np > 0 ? np : 1) * sizeof(float));
	for (a = 0, e = 0; a < np; a++) {
		if (e > 0 && c->trans.idx[e - 1] == pairs[a].j && pairs[a - 1].i == pairs[a].i) {
			c->trans.val[e - 1] += 1;
			continue;
		}
		c->trans.idx[e] = pairs[a].j;
		c->trans.val[e] = 1;
		c->trans.ptr[pairs[a].i + 1]++;
		e++;
	}
	for (i = 0; i < ds->n_items; i++)
		c->trans.ptr[i + 1] += c->trans.ptr[i];
	c->trans_out = tr_xcalloc((size_t) ds->n_items + 1, sizeof(float));
	for (i = 0; i < ds->n_items; i++)
		for (a = c->trans.ptr[i]; a < c->trans.ptr[i + 1]; a++)
			c->trans_out[i] += c->trans.val[a];
	free(pairs);
	free(last);
	free(first);
	free(recent);
}

static void
ts_ctx_fini(ts_ctx *c)
{
	free(c->item_feat);
	free(c->trans_out);
	tr_knn_fini(&c->trans);
}

/* value of row i, column j of a CSR whose rows are sorted by column; 0 if absent */
static float
ts_lookup(const tr_knn *m, int32_t i, int32_t j)
{
	int64_t lo = m->ptr[i], hi = m->ptr[i + 1];

	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		if (m->idx[mid] < j)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->ptr[i + 1] && m->idx[lo] == j ? m->val[lo] : 0.0f;
}

typedef struct ts_ws {
	float *scores; /* n_src x n_items */
	int32_t *slot; /* n_items, -1 = not a candidate */
	int32_t *top_i;
	float *top_s;
	int32_t *rank;                    /* n_src x max candidates */
	rs_rankfeat_src norm[TS_MAX_SRC]; /* of the last user's rows */
} ts_ws;

static void
ts_ws_init(ts_ws *w, const ts_ctx *c)
{
	size_t ni = (size_t) c->ds->n_items + 1, maxc = (size_t) c->n_src * c->cand_n + 1;

	w->scores = tr_xmalloc((size_t) c->n_src * ni * sizeof(float));
	w->slot = tr_xmalloc(ni * sizeof(int32_t));
	memset(w->slot, 0xff, ni * sizeof(int32_t));
	w->top_i = tr_xmalloc((size_t) c->cand_n * sizeof(int32_t));
	w->top_s = tr_xmalloc((size_t) c->cand_n * sizeof(float));
	w->rank = tr_xmalloc((size_t) c->n_src * maxc * sizeof(int32_t));
}

static void
ts_ws_fini(ts_ws *w)
{
	free(w->scores);
	free(w->slot);
	free(w->top_i);
	free(w->top_s);
	free(w->rank);
}

/* candidates and features of one known user */
static void
ts_user_rows(const ts_ctx *c, ts_ws *w, int32_t u, ts_rows *out)
{
	const tr_dataset *ds = c->ds;
	size_t ni = (size_t) ds->n_items, maxc = (size_t) c->n_src * c->cand_n + 1;
	int s, a, n = 0, got, nf = c->nfeat;
	int64_t p, b = ds->u_ptr[u], e = ds->u_ptr[u + 1];
	const rs_rankfeat_src *norm = w->norm;
	rs_rankfeat_user user;
	int32_t lastk[TS_LAST];
	int nlast = 0;

	out->items = tr_xmalloc(maxc * sizeof(int32_t));
	for (s = 0; s < c->n_src; s++) {
		float *sc = w->scores + (size_t) s * ni;
		tr_stage1_score(&c->src[s], ds, u, sc);
		for (p = b; p < e; p++)
			sc[ds->u_items[p]] = -INFINITY;
		got = tr_topk(sc, ds->n_items, c->cand_n, w->top_i, w->top_s);
		rs_rankfeat_src_init(&w->norm[s], got > 0 ? w->top_s[0] : 0.0f,
		                     got > 0 ? w->top_s[got - 1] : 0.0f, got);
		for (a = 0; a < got; a++) {
			int32_t j = w->top_i[a];
			if (w->slot[j] < 0) {
				w->slot[j] = n;
				out->items[n] = j;
				for (int t = 0; t < c->n_src; t++)
					w->rank[(size_t) t * maxc + n] = c->cand_n + 1;
				n++;
			}
			w->rank[(size_t) s * maxc + w->slot[j]] = a + 1;
		}
	}
	for (p = e - 1; p >= b && nlast < TS_LAST; p--)
		lastk[nlast++] = ds->u_items[p];
	out->n = n;
	out->feat = tr_xmalloc(((size_t) n * nf + 1) * sizeof(float));
	user.n_items = e - b;
	user.has_last = e > b;
	user.last_ts = e > b ? ds->u_ts[e - 1] : 0.0;
	for (a = 0; a < n; a++) {
		int32_t j = out->items[a];
		float sv[TS_LAST], tv[TS_LAST], v[TS_MAX_SRC];
		int32_t rk[TS_MAX_SRC];
		rs_rankfeat_cand cd = {v,     rk, c->item_feat + (size_t) j * TS_ITEM_FEAT,
		                       nlast, sv, tv};
		int t;

		w->slot[j] = -1;
		for (s = 0; s < c->n_src; s++) {
			v[s] = w->scores[(size_t) s * ni + (size_t) j];
			rk[s] = w->rank[(size_t) s * maxc + a];
		}
		for (t = 0; t < nlast; t++) {
			float x = ts_lookup(&c->trans, lastk[t], j);
			sv[t] = c->knn_src >= 0 ? ts_lookup(&c->src[c->knn_src].knn, lastk[t], j)
			                        : 0.0f;
			tv[t] = x > 0 ? x / c->trans_out[lastk[t]] : 0.0f;
		}
		rs_rankfeat_row(c->n_src, norm, &c->norm, &user, &cd, out->feat + (size_t) a * nf);
	}
}

typedef struct ts_batch {
	const ts_ctx *c;
	ts_ws *ws;
	const int32_t *users;
	ts_rows *rows;
} ts_batch;

static void
ts_batch_range(void *vctx, size_t begin, size_t end, int tid)
{
	ts_batch *bt = vctx;
	size_t j;

	for (j = begin; j < end; j++) {
		if (bt->users[j] < 0) {
			bt->rows[j].n = 0;
			bt->rows[j].items = NULL;
			bt->rows[j].feat = NULL;
			continue;
		}
		ts_user_rows(bt->c, &bt->ws[tid], bt->users[j], &bt->rows[j]);
	}
}

static void
ts_rows_for_users(const ts_ctx *c, int nthreads, const int32_t *users, size_t n, ts_rows *rows)
{
	ts_batch bt;
	int t;

	openblas_set_num_threads(1); /* parallel over users, not inside BLAS */
	bt.c = c;
	bt.users = users;
	bt.rows = rows;
	bt.ws = tr_xcalloc((size_t) nthreads, sizeof(ts_ws));
	for (t = 0; t < nthreads; t++)
		ts_ws_init(&bt.ws[t], c);
	tr_parallel_for(n, 8, nthreads, ts_batch_range, &bt);
	for (t = 0; t < nthreads; t++)
		ts_ws_fini(&bt.ws[t]);
	free(bt.ws);
}

static int
ts_xgb_err(tr_error *err, const char *what)
{
	return tr_error_set(err, RS_EINTERNAL, "two-stage: xgboost %s: %s", what,
	                    XGBGetLastError());
}

/* fit the sources named in p->sources on ds; sources that refuse (EASE too big) are
 * skipped with a warning */
static int
ts_fit_sources(const tr_params *p, const tr_dataset *ds, tr_kind *kinds, tr_model *src, int *n_src,
               int fixed, tr_error *err)
{
	char buf[128], *tok, *save = NULL;
	int n = 0, rv, s;
	tr_kind k;
	tr_error e2;

	if (fixed) {
		for (s = 0; s < *n_src; s++)
			if ((rv = tr_stage1_fit(kinds[s], p, ds, &src[s], err)) != 0) {
				while (--s >= 0)
					tr_stage1_fini(&src[s]);
				return rv;
			}
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", p->sources);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if ((rv = tr_kind_parse(tok, &k, err)) != 0)
			goto fail;
		if (k == TR_TWOSTAGE || n == TS_MAX_SRC) {
			rv = tr_error_set(err, RS_EINVAL, "two-stage: bad --sources '%s'",
			                  p->sources);
			goto fail;
		}
		if ((rv = tr_stage1_fit(k, p, ds, &src[n], &e2)) == RS_ETOOBIG) {
			rs_log_warn("train.source_skipped", "source=%s reason=\"%s\"", tok, e2.msg);
			continue;
		}
		if (rv != 0) {
			snprintf(err->msg, sizeof(err->msg), "%s", e2.msg);
			goto fail;
		}
		kinds[n++] = k;
	}
	if (n == 0) {
		rv = tr_error_set(err, RS_EINVAL, "two-stage: no usable first-stage source in '%s'",
		                  p->sources);
		goto fail;
	}
	*n_src = n;
	return 0;
fail:
	while (--n >= 0)
		tr_stage1_fini(&src[n]);
	return rv;
}

static double
ts_parse_eval(const char *s, const char *name)
{
	const char *p = strstr(s, name);

	return p != NULL ? atof(p + strlen(name)) : NAN;
}

/* mean NDCG@20 over groups of the ordering by score[] (ties: candidate order) */
static double
ts_group_ndcg(const float *score, size_t stride, const float *label, const unsigned *groups,
              size_t ng)
{
	size_t g, at = 0, a, b;
	double sum = 0;

	for (g = 0; g < ng; g++) {
		size_t n = groups[g], npos = 0;
		double dcg = 0, idcg = 0;
		for (a = 0; a < n; a++) {
			size_t rank = 0;
			if (label[at + a] <= 0)
				continue;
			npos++;
			for (b = 0; b < n; b++) { /* position of a in the ordering */
				float sb = score[(at + b) * stride], sa = score[(at + a) * stride];
				rank += sb > sa || (sb == sa && b < a);
			}
			if (rank < 20)
				dcg += 1.0 / log2((double) rank + 2.0);
		}
		for (a = 0; a < npos && a < 20; a++)
			idcg += 1.0 / log2((double) a + 2.0);
		sum += idcg > 0 ? dcg / idcg : 0;
		at += n;
	}
	return ng ? sum / (double) ng : 0;
}

/* The ranker's training data: feature rows X (nf floats each), labels Y and group sizes G (one
 * group per user), [0] for training and [1] for the validation users. Owned by
 * tr_twostage_fit (ts_data_fini). */
typedef struct ts_data {
	float *X[2], *Y[2];
	unsigned *G[2];
	size_t nrows[2], ng[2], cap[2];
	int nf;
} ts_data;

static void
ts_data_init(ts_data *d)
{
	memset(d, 0, sizeof(*d));
	for (int a = 0; a < 2; a++) {
		d->X[a] = tr_xmalloc(sizeof(float));
		d->Y[a] = tr_xmalloc(sizeof(float));
		d->G[a] = tr_xmalloc(sizeof(unsigned));
	}
}

static void
ts_data_fini(ts_data *d)
{
	for (int a = 0; a < 2; a++) {
		free(d->X[a]);
		free(d->Y[a]);
		free(d->G[a]);
	}
}

/* The users with a held-out row and at least one row left in early (a new array). */
static int32_t *
ts_label_users(const tr_dataset *ds, const tr_dataset *early, const unsigned char *held, size_t *nu)
{
	int32_t *users = tr_xmalloc(((size_t) ds->n_users + 1) * sizeof(int32_t)), u;

	*nu = 0;
	for (u = 0; u < ds->n_users; u++)
		for (size_t r = (size_t) ds->u_ptr[u]; r < (size_t) ds->u_ptr[u + 1]; r++)
			if (held[r] && early->u_ptr[u + 1] > early->u_ptr[u]) {
				users[(*nu)++] = u;
				break;
			}
	return users;
}

/* Labels user u's candidate rows (1 = held out) and appends them to d as one group, of the
 * validation set for 1 user in 10; a group without a positive or with one row is dropped.
 * mark (n_items + 1 bytes, all 0) is scratch and left all 0. */
static void
ts_append_group(ts_data *d, const tr_dataset *ds, const unsigned char *held, unsigned char *mark,
                uint64_t seed, int32_t u, const ts_rows *rows)
{
	int pos = 0, set, a;
	int64_t q;

	for (q = ds->u_ptr[u]; q < ds->u_ptr[u + 1]; q++)
		if (held[q])
			mark[ds->u_items[q]] = 1;
	for (a = 0; a < rows->n; a++)
		pos += mark[rows->items[a]];
	set = (rs_fnv1a64(RS_FNV1A64_INIT ^ seed, &u, sizeof(u)) % 10) == 0;
	if (pos > 0 && rows->n > 1) {
		size_t need = d->nrows[set] + (size_t) rows->n, nf = (size_t) d->nf;
		if (need > d->cap[set]) {
			d->cap[set] = need * 2;
			d->X[set] = tr_xrealloc(d->X[set], d->cap[set] * nf * sizeof(float));
			d->Y[set] = tr_xrealloc(d->Y[set], d->cap[set] * sizeof(float));
		}
		memcpy(d->X[set] + d->nrows[set] * nf, rows->feat,
		       (size_t) rows->n * nf * sizeof(float));
		for (a = 0; a < rows->n; a++)
			d->Y[set][d->nrows[set] + (size_t) a] = mark[rows->items[a]];
		d->nrows[set] = need;
		d->G[set] = tr_xrealloc(d->G[set], (d->ng[set] + 1) * sizeof(unsigned));
		d->G[set][d->ng[set]++] = (unsigned) rows->n;
	}
	for (q = ds->u_ptr[u]; q < ds->u_ptr[u + 1]; q++)
		mark[ds->u_items[q]] = 0;
}

/* One label fold: hold out each user's last (or random) interactions, fit the sources on the
 * rest (fold 0 chooses them into ts->kinds, ts->n_src), compute candidates and features for
 * every user with labels and append the labelled groups to d. Everything of the fold is freed
 * here. held and mark (ds->nnz + 1 and n_items + 1 bytes) are scratch. */
static int
ts_fold(const tr_params *p, const tr_dataset *ds, tr_twostage *ts, int fold, unsigned char *held,
        unsigned char *mark, ts_data *d, tr_error *err)
{
	unsigned char *keep;
	tr_dataset early;
	tr_model esrc[TS_MAX_SRC];
	ts_ctx c;
	ts_rows *rows;
	int32_t *users;
	size_t nu, j, r;
	int rv;

	memset(&early, 0, sizeof(early));
	if ((rv = tr_dataset_holdout_protocol(ds, p->holdout, p->holdout_frac,
	                                      strcmp(p->holdout, "leave-one-out") == 0 ? 3 : 5,
	                                      p->seed + 1 + (uint64_t) fold, held, err)) != 0)
		return rv;
	keep = tr_xmalloc((size_t) ds->nnz + 1);
	for (r = 0; r < (size_t) ds->nnz; r++)
		keep[r] = !held[r];
	tr_dataset_subset(ds, keep, &early);
	free(keep);
	if ((rv = ts_fit_sources(p, &early, ts->kinds, esrc, &ts->n_src, fold > 0, err)) != 0) {
		if (fold == 0)
			ts->n_src = 0;
		tr_dataset_fini(&early);
		return rv;
	}
	ts_ctx_init(&c, &early, esrc, ts->n_src, p->cand_n);
	d->nf = c.nfeat;
	users = ts_label_users(ds, &early, held, &nu);
	rows = tr_xcalloc(nu + 1, sizeof(ts_rows));
	ts_rows_for_users(&c, p->nthreads, users, nu, rows);
	for (j = 0; j < nu; j++) {
		ts_append_group(d, ds, held, mark, p->seed, users[j], &rows[j]);
		free(rows[j].items);
		free(rows[j].feat);
	}
	free(rows);
	free(users);
	ts_ctx_fini(&c);
	for (int s = 0; s < ts->n_src; s++)
		tr_stage1_fini(&esrc[s]);
	tr_dataset_fini(&early);
	return 0;
}

/* The DMatrix of each non-empty set of d into dm[] (freed by the caller) and the booster with
 * its parameters into ts->booster. */
static int
ts_booster_create(const tr_params *p, const ts_data *d, DMatrixHandle dm[2], tr_twostage *ts,
                  tr_error *err)
{
	char buf[64];

	for (int a = 0; a < 2; a++) {
		if (d->ng[a] == 0)
			continue;
		if (XGDMatrixCreateFromMat(d->X[a], d->nrows[a], (bst_ulong) d->nf, NAN, &dm[a]) !=
		            0 ||
		    XGDMatrixSetFloatInfo(dm[a], "label", d->Y[a], d->nrows[a]) != 0 ||
		    XGDMatrixSetUIntInfo(dm[a], "group", d->G[a], d->ng[a]) != 0)
			return ts_xgb_err(err, "matrix");
	}
	if (XGBoosterCreate(dm, 1, &ts->booster) != 0)
		return ts_xgb_err(err, "create");
	XGBoosterSetParam(ts->booster, "objective", p->objective);
	snprintf(buf, sizeof(buf), "%g", p->eta);
	XGBoosterSetParam(ts->booster, "eta", buf);
	snprintf(buf, sizeof(buf), "%d", p->depth);
	XGBoosterSetParam(ts->booster, "max_depth", buf);
	snprintf(buf, sizeof(buf), "%d", p->nthreads);
	XGBoosterSetParam(ts->booster, "nthread", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long) p->seed);
	XGBoosterSetParam(ts->booster, "seed", buf);
	XGBoosterSetParam(ts->booster, "tree_method", "hist");
	XGBoosterSetParam(ts->booster, "eval_metric", "ndcg@20");
	XGBoosterSetParam(ts->booster, "min_child_weight", "1");
	XGBoosterSetParam(ts->booster, "subsample", "1");
	XGBoosterSetParam(ts->booster, "colsample_bytree", "0.8");
	return 0;
}

/* LambdaMART: up to p->trees rounds on dm[0], stopped 40 rounds after the best validation
 * NDCG@20 on dm[1] (when there is one), the booster cut to the best round. */
static int
ts_boost(const tr_params *p, tr_twostage *ts, DMatrixHandle dm[2], double t0, tr_error *err)
{
	double best = -1;
	int it, best_it = 0, since = 0;
	char buf[64];

	for (it = 0; it < p->trees; it++) {
		if (XGBoosterUpdateOneIter(ts->booster, it, dm[0]) != 0)
			return ts_xgb_err(err, "train");
		if (dm[1] != NULL) {
			const char *names[] = {"valid"}, *res = NULL;
			double v;
			if (XGBoosterEvalOneIter(ts->booster, it, &dm[1], names, 1, &res) != 0)
				return ts_xgb_err(err, "eval");
			v = ts_parse_eval(res, "valid-ndcg@20:");
			if (v > best) {
				best = v;
				best_it = it + 1;
				since = 0;
			} else if (++since >= 40) {
				break;
			}
		} else {
			best_it = it + 1;
		}
	}
	if (best_it < it) {
		BoosterHandle sl = NULL;
		if (XGBoosterSlice(ts->booster, 0, best_it, 1, &sl) != 0)
			return ts_xgb_err(err, "slice");
		XGBoosterFree(ts->booster);
		ts->booster = sl;
		snprintf(buf, sizeof(buf), "%d", p->nthreads);
		XGBoosterSetParam(ts->booster, "nthread", buf);
	}
	rs_log_info("train.ranker_fit", "trees=%d valid_ndcg20=%.4f seconds=%.2f", best_it, best,
	            tr_now() - t0);
	return 0;
}

/* Model selection: keep the ranker only if it beats every single source on the validation
 * users (same candidates, same labels); else ts->fallback = the best source. */
static int
ts_select(tr_twostage *ts, const ts_data *d, DMatrixHandle valid, tr_error *err)
{
	bst_ulong len = 0;
	const float *pred = NULL;
	double r_ndcg, s_ndcg, best_src = -1;

	ts->fallback = -1;
	if (valid == NULL)
		return 0;
	if (XGBoosterPredict(ts->booster, valid, 0, 0, 0, &len, &pred) != 0 || len != d->nrows[1])
		return ts_xgb_err(err, "predict");
	r_ndcg = ts_group_ndcg(pred, 1, d->Y[1], d->G[1], d->ng[1]);
	for (int s = 0; s < ts->n_src; s++) {
		s_ndcg = ts_group_ndcg(d->X[1] + 3 * s + 1, (size_t) d->nf, d->Y[1], d->G[1],
		                       d->ng[1]);
		if (s_ndcg > r_ndcg && s_ndcg > best_src) {
			best_src = s_ndcg;
			ts->fallback = s;
		}
	}
	rs_log_info("train.ranker_check", "ranker_ndcg20=%.4f fallback=%s", r_ndcg,
	            ts->fallback >= 0 ? tr_kind_name(ts->kinds[ts->fallback]) : "none");
	return 0;
}

int
tr_twostage_fit(const tr_params *p, const tr_dataset *ds, tr_twostage **out, tr_error *err)
{
	tr_twostage *ts = tr_xcalloc(1, sizeof(*ts));
	unsigned char *held = tr_xmalloc((size_t) ds->nnz + 1);
	unsigned char *mark = tr_xcalloc((size_t) ds->n_items + 1, 1);
	ts_data d;
	DMatrixHandle dm[2] = {NULL, NULL};
	int rv = 0, fold, nfolds;
	double t0 = tr_now();

	ts_data_init(&d);
	ts->cand_n = p->cand_n;
	ts->nthreads = p->nthreads;
	nfolds = p->label_folds > 0 ? p->label_folds
	                            : (strcmp(p->holdout, "random-user") == 0 ? 3 : 1);
	for (fold = 0; fold < nfolds; fold++)
		if ((rv = ts_fold(p, ds, ts, fold, held, mark, &d, err)) != 0)
			goto out;
	if (d.ng[0] == 0) {
		rv = tr_error_set(err, RS_EINVAL,
		                  "two-stage: no user has a held-out item among the candidates; "
		                  "too little data to train the ranker");
		goto out;
	}
	rs_log_info("train.ranker_data",
	            "groups=%zu rows=%zu valid_groups=%zu features=%d "
	            "sources=%d prep_s=%.2f",
	            d.ng[0], d.nrows[0], d.ng[1], d.nf, ts->n_src, tr_now() - t0);
	if ((rv = ts_booster_create(p, &d, dm, ts, err)) != 0 ||
	    (rv = ts_boost(p, ts, dm, t0, err)) != 0 || (rv = ts_select(ts, &d, dm[1], err)) != 0)
		goto out;
	/* the first stage again, on all of train */
	if ((rv = ts_fit_sources(p, ds, ts->kinds, ts->src, &ts->n_src, 1, err)) != 0)
		ts->n_src = 0; /* ts_fit_sources freed what it had fitted */
	else
		ts->fitted = 1;
out:
	for (int a = 0; a < 2; a++)
		if (dm[a] != NULL)
			XGDMatrixFree(dm[a]);
	ts_data_fini(&d);
	free(held);
	free(mark);
	if (rv != 0) {
		ts->n_src = ts->fitted ? ts->n_src : 0;
		tr_twostage_destroy(ts);
		return rv;
	}
	*out = ts;
	return 0;
}

/* What rs-ranking needs to compute the same rows online (published by rs-train publish):
 * rankfeat.json (layout, normalisers, sources, feature names), rankfeat_items.f32 (n_items x
 * TS_ITEM_FEAT) and the transitions as a CSR with rows sorted by target, values = share of
 * the row's transitions (rankfeat_trans_{ptr.i64,idx.i32,share.f32}). */
static int
ts_save_serving(const tr_twostage *ts, const tr_dataset *ds, const char *dir, tr_error *err)
{
	ts_ctx c;
	json_t *root, *srcs, *names;
	char path[4096], name[64];
	const char *sn[TS_MAX_SRC];
	int s, f, rv;
	int64_t a, nnz;
	float *share;

	ts_ctx_init(&c, ds, ts->src, ts->n_src, ts->cand_n);
	nnz = c.trans.ptr[ds->n_items];
	share = tr_xmalloc((size_t) (nnz > 0 ? nnz : 1) * sizeof(float));
	for (int32_t i = 0; i < ds->n_items; i++)
		for (a = c.trans.ptr[i]; a < c.trans.ptr[i + 1]; a++)
			share[a] = c.trans.val[a] > 0 ? c.trans.val[a] / c.trans_out[i] : 0.0f;
	srcs = json_array();
	names = json_array();
	for (s = 0; s < ts->n_src; s++) {
		sn[s] = tr_kind_name(ts->kinds[s]);
		json_array_append_new(srcs, json_string(sn[s]));
	}
	for (f = 0; f < c.nfeat; f++)
		if (rs_rankfeat_name(sn, ts->n_src, f, name, sizeof(name)) == 0)
			json_array_append_new(names, json_string(name));
	/* weighted: an event log (events.h); rs-ranking then weighs the history the same way,
	 * with the manifest's params.weights */
	root = json_pack("{s:i, s:f, s:f, s:f, s:i, s:o, s:o, s:s?, s:b}", "layout",
	                 RS_RANKFEAT_LAYOUT, "tmax", c.norm.tmax, "span", c.norm.span, "mean_n",
	                 c.norm.mean_n, "cand_n", ts->cand_n, "sources", srcs, "features", names,
	                 "knn_source", c.knn_src >= 0 ? sn[c.knn_src] : NULL, "weighted",
	                 tr_dataset_is_weighted(ds));
	tr_path_join(path, sizeof(path), dir, "rankfeat.json");
	rv = root != NULL && json_dump_file(root, path, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) ==
	                             0
	             ? 0
	             : tr_error_set(err, RS_EIO, "%s: cannot write", path);
	json_decref(root);
	if (rv == 0)
		rv = tr_blob_write(dir, "rankfeat_items.f32", c.item_feat,
		                   (size_t) ds->n_items * TS_ITEM_FEAT * sizeof(float), err);
	if (rv == 0)
		rv = tr_blob_write(dir, "rankfeat_trans_ptr.i64", c.trans.ptr,
		                   ((size_t) ds->n_items + 1) * sizeof(int64_t), err);
	if (rv == 0)
		rv = tr_blob_write(dir, "rankfeat_trans_idx.i32", c.trans.idx,
		                   (size_t) nnz * sizeof(int32_t), err);
	if (rv == 0)
		rv = tr_blob_write(dir, "rankfeat_trans_share.f32", share,
		                   (size_t) nnz * sizeof(float), err);
	free(share);
	ts_ctx_fini(&c);
	return rv;
}

int
tr_twostage_save(const tr_twostage *ts, const tr_dataset *ds, const char *dir, tr_error *err)
{
	char path[4096], sub[4096];
	int s, rv;

	for (s = 0; s < ts->n_src; s++) {
		snprintf(sub, sizeof(sub), "%s/stage1_%s", dir, tr_kind_name(ts->kinds[s]));
		if ((rv = tr_stage1_save(&ts->src[s], ds, sub, err)) != 0)
			return rv;
	}
	tr_path_join(path, sizeof(path), dir, "ranker.json");
	if (XGBoosterSaveModel(ts->booster, path) != 0)
		return ts_xgb_err(err, "save");
	return ts_save_serving(ts, ds, dir, err);
}

int
tr_twostage_load(const tr_params *p, int32_t n_users, int32_t n_items, const char *dir,
                 tr_twostage **out, tr_error *err)
{
	tr_twostage *ts = tr_xcalloc(1, sizeof(*ts));
	char buf[128], *tok, *save = NULL, path[4096], sub[4096];
	int rv = 0;

	ts->cand_n = p->cand_n;
	ts->nthreads = p->nthreads;
	ts->fallback = p->fallback;
	snprintf(buf, sizeof(buf), "%s", p->sources);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		tr_kind k;
		if (ts->n_src == TS_MAX_SRC || (rv = tr_kind_parse(tok, &k, err)) != 0 ||
		    k == TR_TWOSTAGE) {
			rv = tr_error_set(err, RS_ECORRUPT, "%s: bad sources '%s'", dir,
			                  p->sources);
			goto fail;
		}
		snprintf(sub, sizeof(sub), "%s/stage1_%s", dir, tok);
		if ((rv = tr_stage1_load(sub, &ts->src[ts->n_src], err)) != 0)
			goto fail;
		if (ts->src[ts->n_src].n_items != n_items ||
		    ts->src[ts->n_src].n_users != n_users) {
			tr_stage1_fini(&ts->src[ts->n_src]);
			rv = tr_error_set(err, RS_ECORRUPT, "%s: sizes differ from the manifest",
			                  sub);
			goto fail;
		}
		ts->kinds[ts->n_src++] = k;
	}
	if (ts->n_src == 0) {
		rv = tr_error_set(err, RS_ECORRUPT, "%s: no first-stage sources", dir);
		goto fail;
	}
	tr_path_join(path, sizeof(path), dir, "ranker.json");
	if (XGBoosterCreate(NULL, 0, &ts->booster) != 0 ||
	    XGBoosterLoadModel(ts->booster, path) != 0) {
		rv = ts_xgb_err(err, "load ranker.json");
		goto fail;
	}
	snprintf(buf, sizeof(buf), "%d", p->nthreads);
	XGBoosterSetParam(ts->booster, "nthread", buf);
	ts->fitted = 1;
	*out = ts;
	return 0;
fail:
	tr_twostage_destroy(ts);
	return rv;
}

int
tr_twostage_fallback(const tr_twostage *ts)
{
	return ts->fallback;
}

void
tr_twostage_sources_str(const tr_twostage *ts, char *buf, size_t n)
{
	size_t used = 0;
	int s;

	buf[0] = '\0';
	for (s = 0; s < ts->n_src && used < n; s++)
		used += (size_t) snprintf(buf + used, n - used, "%s%s", s ? "," : "",
		                          tr_kind_name(ts->kinds[s]));
}

typedef struct ts_sort {
	float score;
	int32_t item;
} ts_sort;

static int
ts_cmp_sort(const void *a, const void *b)
{
	const ts_sort *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return (x->item > y->item) - (x->item < y->item);
}

/* fill the rest of a short list with popular unseen items */
static int
ts_pad(const tr_model *m, const tr_dataset *ds, int32_t u, int k, int32_t *list, int n,
       const int32_t *pop_order)
{
	int32_t a;
	int q;
	int64_t p;

	for (a = 0; a < m->n_items && n < k; a++) {
		int32_t j = pop_order[a], dup = 0;
		for (q = 0; q < n && !dup; q++)
			dup = list[q] == j;
		if (u >= 0)
			for (p = ds->u_ptr[u]; p < ds->u_ptr[u + 1] && !dup; p++)
				dup = ds->u_items[p] == j;
		if (!dup)
			list[n++] = j;
	}
	return n;
}

int
tr_twostage_recommend_batch(const tr_twostage *ts, const tr_model *m, const tr_dataset *ds,
                            const int32_t *users, size_t n, int k, int32_t *out, int *counts,
                            tr_error *err)
{
	ts_ctx c;
	size_t b, j, chunk = 4096, nr, at;
	double t_start = 0;
	int a, rv = 0, nt = m->params.nthreads > 0 ? m->params.nthreads : 1;
	ts_rows *rows = tr_xcalloc(chunk, sizeof(ts_rows));
	int32_t *pop_order = tr_xmalloc(((size_t) m->n_items + 1) * sizeof(int32_t));
	float *pop_s = tr_xmalloc(((size_t) m->n_items + 1) * sizeof(float));
	ts_sort *srt = NULL;
	size_t srt_cap = 0;

	if (ts->fallback >= 0) { /* the ranker lost on validation: its best source decides */
		tr_model src = ts->src[ts->fallback]; /* shallow copy, not freed here */
		free(rows);
		free(pop_order);
		free(pop_s);
		src.params.nthreads = nt;
		return tr_stage1_recommend_batch(&src, ds, users, n, k, out, counts);
	}
	tr_topk(m->pop, m->n_items, m->n_items, pop_order, pop_s);
	free(pop_s);
	ts_ctx_init(&c, ds, ts->src, ts->n_src, ts->cand_n);
	t_start = tr_now();
	for (b = 0; b < n && rv == 0; b += chunk) {
		size_t e = b + chunk < n ? b + chunk : n;
		float *X;
		DMatrixHandle dm = NULL;
		bst_ulong len = 0;
		const float *pred = NULL;

		tr_progress("two-stage: users", b, n, t_start);
		ts_rows_for_users(&c, nt, users + b, e - b, rows);
		for (nr = 0, j = 0; j < e - b; j++)
			nr += (size_t) rows[j].n;
		X = tr_xmalloc((nr * (size_t) c.nfeat + 1) * sizeof(float));
		for (at = 0, j = 0; j < e - b; j++) {
			memcpy(X + at * c.nfeat, rows[j].feat,
			       (size_t) rows[j].n * c.nfeat * sizeof(float));
			at += (size_t) rows[j].n;
		}
		if (nr > 0 &&
		    (XGDMatrixCreateFromMat(X, nr, (bst_ulong) c.nfeat, NAN, &dm) != 0 ||
		     XGBoosterPredict(ts->booster, dm, 0, 0, 0, &len, &pred) != 0 || len != nr))
			rv = ts_xgb_err(err, "predict");
		for (at = 0, j = 0; j < e - b; j++) {
			int32_t *list = out + (b + j) * (size_t) k;
			int cnt = 0;
			if (rv == 0 && rows[j].n > 0) {
				if ((size_t) rows[j].n > srt_cap) {
					srt_cap = (size_t) rows[j].n * 2;
					srt = tr_xrealloc(srt, srt_cap * sizeof(ts_sort));
				}
				for (a = 0; a < rows[j].n; a++) {
					srt[a].score = pred[at + (size_t) a];
					srt[a].item = rows[j].items[a];
				}
				qsort(srt, (size_t) rows[j].n, sizeof(ts_sort), ts_cmp_sort);
				for (a = 0; a < rows[j].n && cnt < k; a++)
					list[cnt++] = srt[a].item;
			}
			if (rv == 0)
				counts[b + j] =
				        ts_pad(m, ds, users[b + j], k, list, cnt, pop_order);
			at += (size_t) rows[j].n;
			free(rows[j].items);
			free(rows[j].feat);
			memset(&rows[j], 0, sizeof(rows[j]));
		}
		if (dm != NULL)
			XGDMatrixFree(dm);
		free(X);
	}
	tr_progress("two-stage: users", n, n, t_start);
	ts_ctx_fini(&c);
	free(srt);
	free(rows);
	free(pop_order);
	return rv;
}

int
tr_twostage_user(const tr_twostage *ts, const tr_dataset *ds, int32_t u, tr_twostage_row *out,
                 tr_error *err)
{
	ts_ctx c;
	ts_ws w;
	ts_rows rows;
	DMatrixHandle dm = NULL;
	bst_ulong len = 0;
	const float *pred = NULL;
	size_t ni = (size_t) ds->n_items, maxc = (size_t) ts->n_src * ts->cand_n + 1;
	int a, s, rv = 0;

	memset(out, 0, sizeof(*out));
	if (u < 0 || u >= ds->n_users)
		return tr_error_set(err, RS_EINVAL, "two-stage: no user %d", u);
	ts_ctx_init(&c, ds, ts->src, ts->n_src, ts->cand_n);
	ts_ws_init(&w, &c);
	ts_user_rows(&c, &w, u, &rows);
	out->n = rows.n;
	out->n_src = ts->n_src;
	out->nfeat = c.nfeat;
	out->items = rows.items;
	out->feat = rows.feat;
	out->score = tr_xmalloc(((size_t) rows.n * ts->n_src + 1) * sizeof(float));
	out->rank = tr_xmalloc(((size_t) rows.n * ts->n_src + 1) * sizeof(int32_t));
	out->pred = tr_xcalloc((size_t) rows.n + 1, sizeof(float));
	for (s = 0; s < ts->n_src; s++) {
		out->norm[s] = w.norm[s];
		for (a = 0; a < rows.n; a++) {
			out->score[(size_t) a * ts->n_src + s] =
			        w.scores[(size_t) s * ni + (size_t) rows.items[a]];
			out->rank[(size_t) a * ts->n_src + s] = w.rank[(size_t) s * maxc + a];
		}
	}
	if (rows.n > 0 && (XGDMatrixCreateFromMat(rows.feat, (bst_ulong) rows.n,
	                                          (bst_ulong) c.nfeat, NAN, &dm) != 0 ||
	                   XGBoosterPredict(ts->booster, dm, 0, 0, 0, &len, &pred) != 0 ||
	                   len != (bst_ulong) rows.n))
		rv = ts_xgb_err(err, "predict");
	else if (rows.n > 0)
		memcpy(out->pred, pred, (size_t) rows.n * sizeof(float));
	if (dm != NULL)
		XGDMatrixFree(dm);
	ts_ws_fini(&w);
	ts_ctx_fini(&c);
	if (rv != 0)
		tr_twostage_row_fini(out);
	return rv;
}

void
tr_twostage_row_fini(tr_twostage_row *r)
{
	free(r->items);
	free(r->feat);
	free(r->score);
	free(r->rank);
	free(r->pred);
	memset(r, 0, sizeof(*r));
}

void
tr_twostage_destroy(tr_twostage *ts)
{
	int s;

	if (ts == NULL)
		return;
	for (s = 0; s < ts->n_src; s++)
		tr_stage1_fini(&ts->src[s]);
	if (ts->booster != NULL)
		XGBoosterFree(ts->booster);
	free(ts);
}
