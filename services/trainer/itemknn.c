/* itemknn: see itemknn.h. Fitting is one pass per target item j over the users of j,
 * parallel over j, with a dense per-thread accumulator. */
#include "itemknn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"
#include "topk.h"

typedef struct knn_ws {
	float *cnt, *trans;
	int32_t *touched;
	float *vals, *top_s;
	int32_t *top_i;
} knn_ws;

typedef struct knn_ctx {
	const tr_dataset *ds;
	int k;
	double shrink, seq_weight;
	knn_ws *ws;
	int32_t **nb_i; /* per target j: neighbour sources */
	float **nb_s;
	int32_t *nb_n;
} knn_ctx;

static int
knn_cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *) a, y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

static void
knn_target_range(void *vctx, size_t begin, size_t end, int tid)
{
	knn_ctx *c = vctx;
	const tr_dataset *ds = c->ds;
	knn_ws *w = &c->ws[tid];
	size_t jj;

	for (jj = begin; jj < end; jj++) {
		int32_t j = (int32_t) jj, m = 0, a, got;
		int64_t p, e;
		double nj = (double) (ds->i_ptr[j + 1] - ds->i_ptr[j]);

		for (p = ds->i_ptr[j]; p < ds->i_ptr[j + 1]; p++) {
			int32_t u = ds->i_users[p];
			int64_t b = ds->u_ptr[u], f = ds->u_ptr[u + 1];
			for (e = b; e < f; e++) {
				int32_t i = ds->u_items[e];
				if (w->cnt[i] == 0 && w->trans[i] == 0)
					w->touched[m++] = i;
				w->cnt[i] += 1;
				if (c->seq_weight > 0 && e + 1 < f && ds->u_items[e + 1] == j)
					w->trans[i] += 1;
			}
		}
		qsort(w->touched, (size_t) m, sizeof(int32_t), knn_cmp_i32);
		for (a = 0; a < m; a++) {
			int32_t i = w->touched[a];
			double ni = (double) (ds->i_ptr[i + 1] - ds->i_ptr[i]);
			double den = sqrt(ni * nj) + c->shrink;
			double v = den > 0 ? (w->cnt[i] + c->seq_weight * w->trans[i]) / den : 0;
			w->vals[a] = (i == j || v <= 0) ? -INFINITY : (float) v;
			w->cnt[i] = 0;
			w->trans[i] = 0;
		}
		got = tr_topk(w->vals, m, c->k, w->top_i, w->top_s);
		c->nb_n[j] = got;
		c->nb_i[j] = tr_xmalloc((size_t) (got > 0 ? got : 1) * sizeof(int32_t));
		c->nb_s[j] = tr_xmalloc((size_t) (got > 0 ? got : 1) * sizeof(float));
		for (a = 0; a < got; a++) {
			c->nb_i[j][a] = w->touched[w->top_i[a]];
			c->nb_s[j][a] = w->top_s[a];
		}
	}
}

void
tr_knn_fit(const tr_dataset *ds, int k, double shrink, double seq_weight, int nthreads, tr_knn *out)
{
	knn_ctx c;
	int t;
	int32_t n = ds->n_items, j, a;
	int64_t *fill, total = 0;
	size_t nn = (size_t) (n > 0 ? n : 1);

	memset(&c, 0, sizeof(c));
	c.ds = ds;
	c.k = k;
	c.shrink = shrink;
	c.seq_weight = seq_weight;
	c.ws = tr_xcalloc((size_t) nthreads, sizeof(knn_ws));
	for (t = 0; t < nthreads; t++) {
		c.ws[t].cnt = tr_xcalloc(nn, sizeof(float));
		c.ws[t].trans = tr_xcalloc(nn, sizeof(float));
		c.ws[t].touched = tr_xmalloc(nn * sizeof(int32_t));
		c.ws[t].vals = tr_xmalloc(nn * sizeof(float));
		c.ws[t].top_s = tr_xmalloc((size_t) k * sizeof(float));
		c.ws[t].top_i = tr_xmalloc((size_t) k * sizeof(int32_t));
	}
	c.nb_i = tr_xcalloc(nn, sizeof(int32_t *));
	c.nb_s = tr_xcalloc(nn, sizeof(float *));
	c.nb_n = tr_xcalloc(nn, sizeof(int32_t));
	tr_parallel_for((size_t) n, 16, nthreads, knn_target_range, &c);
	for (t = 0; t < nthreads; t++) {
		free(c.ws[t].cnt);
		free(c.ws[t].trans);
		free(c.ws[t].touched);
		free(c.ws[t].vals);
		free(c.ws[t].top_s);
		free(c.ws[t].top_i);
	}
	free(c.ws);
	/* transpose target-major lists into source-major CSR */
	out->n_items = n;
	out->ptr = tr_xcalloc(nn + 1, sizeof(int64_t));
	for (j = 0; j < n; j++) {
		for (a = 0; a < c.nb_n[j]; a++)
			out->ptr[c.nb_i[j][a] + 1]++;
		total += c.nb_n[j];
	}
	for (j = 0; j < n; j++)
		out->ptr[j + 1] += out->ptr[j];
	out->idx = tr_xmalloc((size_t) (total > 0 ? total : 1) * sizeof(int32_t));
	out->val = tr_xmalloc((size_t) (total > 0 ? total : 1) * sizeof(float));
	fill = tr_xmalloc(nn * sizeof(int64_t));
	memcpy(fill, out->ptr, nn * sizeof(int64_t));
	for (j = 0; j < n; j++) {
		for (a = 0; a < c.nb_n[j]; a++) {
			int64_t at = fill[c.nb_i[j][a]]++;
			out->idx[at] = j;
			out->val[at] = c.nb_s[j][a];
		}
		free(c.nb_i[j]);
		free(c.nb_s[j]);
	}
	free(fill);
	free(c.nb_i);
	free(c.nb_s);
	free(c.nb_n);
}

void
tr_knn_score(const tr_knn *m, const int32_t *hist, int64_t n, float *scores)
{
	int64_t a, p;

	memset(scores, 0, (size_t) m->n_items * sizeof(float));
	for (a = 0; a < n; a++) {
		int32_t i = hist[a];
		for (p = m->ptr[i]; p < m->ptr[i + 1]; p++)
			scores[m->idx[p]] += m->val[p];
	}
}

void
tr_knn_score_w(const tr_knn *m, const int32_t *hist, const float *w, int64_t n, const int32_t *neg,
               const float *neg_w, int64_t nn, float *scores)
{
	int64_t a, p;

	memset(scores, 0, (size_t) m->n_items * sizeof(float));
	for (a = 0; a < n; a++) {
		int32_t i = hist[a];
		float wi = w != NULL ? w[a] : 1.0f;
		for (p = m->ptr[i]; p < m->ptr[i + 1]; p++)
			scores[m->idx[p]] += wi * m->val[p];
	}
	for (a = 0; a < nn; a++) {
		int32_t i = neg[a];
		for (p = m->ptr[i]; p < m->ptr[i + 1]; p++)
			scores[m->idx[p]] -= neg_w[a] * m->val[p];
	}
}

int
tr_knn_save(const tr_knn *m, const char *dir, tr_error *err)
{
	int64_t nnz = m->ptr[m->n_items];
	int rv;

	if ((rv = tr_blob_write(dir, "knn_ptr.i64", m->ptr,
	                        ((size_t) m->n_items + 1) * sizeof(int64_t), err)) != 0 ||
	    (rv = tr_blob_write(dir, "knn_idx.i32", m->idx, (size_t) nnz * sizeof(int32_t), err)) !=
	            0 ||
	    (rv = tr_blob_write(dir, "knn_val.f32", m->val, (size_t) nnz * sizeof(float), err)) !=
	            0)
		return rv;
	return 0;
}

int
tr_knn_load(tr_knn *m, int32_t n_items, const char *dir, tr_error *err)
{
	void *p = NULL, *ix = NULL, *v = NULL;
	int64_t nnz, e;
	int32_t i;
	int rv;

	memset(m, 0, sizeof(*m));
	if ((rv = tr_blob_read(dir, "knn_ptr.i64", ((size_t) n_items + 1) * sizeof(int64_t), &p,
	                       err)) != 0)
		return rv;
	nnz = ((int64_t *) p)[n_items];
	for (i = 0; i < n_items; i++)
		if (((int64_t *) p)[i] > ((int64_t *) p)[i + 1] || nnz < 0) {
			free(p);
			return tr_error_set(err, RS_ECORRUPT, "%s/knn_ptr.i64: not monotone", dir);
		}
	if ((rv = tr_blob_read(dir, "knn_idx.i32", (size_t) nnz * sizeof(int32_t), &ix, err)) !=
	            0 ||
	    (rv = tr_blob_read(dir, "knn_val.f32", (size_t) nnz * sizeof(float), &v, err)) != 0) {
		free(p);
		free(ix);
		return rv;
	}
	for (e = 0; e < nnz; e++)
		if (((int32_t *) ix)[e] < 0 || ((int32_t *) ix)[e] >= n_items) {
			free(p);
			free(ix);
			free(v);
			return tr_error_set(err, RS_ECORRUPT, "%s/knn_idx.i32: item out of range",
			                    dir);
		}
	m->n_items = n_items;
	m->ptr = p;
	m->idx = ix;
	m->val = v;
	return 0;
}

void
tr_knn_fini(tr_knn *m)
{
	if (m == NULL)
		return;
	free(m->ptr);
	free(m->idx);
	free(m->val);
	memset(m, 0, sizeof(*m));
}
