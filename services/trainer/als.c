/* als: see als.h. */
#include "als.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"
#include "rs_hash.h"

typedef struct als_ctx {
	const int64_t *ptr;
	const int32_t *idx;
	const float *w; /* NULL (binary), or per entry: > 0 confidence weight, < 0 negative */
	float *X;
	const float *Y, *G; /* G = Y'Y + reg I, f x f */
	int f, cg_steps;
	float alpha;
	float *ws; /* per thread: the CG state of a block (ALS_BLOCK_ROWS x 3 f floats; exact:
	            * an f x f system in doubles) */
	size_t ws_stride;
	float **gather;     /* per thread: gather_max x f floats, or NULL */
	float **dots;       /* per thread: gather_max floats */
	int64_t gather_max; /* items a block gathers at most; a longer row uses the indexed path */
} als_ctx;

/* CG runs on blocks of consecutive rows in lockstep, so that G times the block's vectors is one
 * sgemm instead of an sgemv per row and step: G v has as many multiply-adds as the items' part
 * of a 32-item row, and a 64 x 64 sgemv runs far below sgemm's speed (bench/als_ab.sh,
 * docs/BENCHMARKS.md, shows the change). A block ends at
 * ALS_BLOCK_ROWS rows or when its rows' items would pass ALS_BLOCK_ITEMS (their gathered factors
 * stay in the core's cache). */
#define ALS_BLOCK_ROWS  64
#define ALS_BLOCK_ITEMS 2048

/* k_i for item p of a row (below), from dot = y_i . v: conf_i dot, or, for the residual,
 * pref_i - conf_i dot, with conf_i = alpha |w_i| and pref_i = 1 + alpha w_i for a positive, 0
 * for a negative (binary data: w_i = 1). */
static inline __attribute__((always_inline)) float
als_item_k(const als_ctx *c, const float *wr, int64_t p, float dot, int residual)
{
	float conf = c->alpha * (wr != NULL ? fabsf(wr[p]) : 1.0f);
	if (!residual)
		return conf * dot;
	float pref = wr == NULL ? 1.0f + c->alpha : wr[p] > 0 ? 1.0f + c->alpha * wr[p] : 0.0f;
	return pref - conf * dot;
}

/* The items' part of a row's products: out += sum_i k_i y_i over its n items (als_item_k:
 * A v's part, or, with residual and out = -G x before, r = b - A x). The rows are at
 * rows + p*f when ix is NULL (gathered into a contiguous buffer: two BLAS-2 calls), else at
 * rows + ix[p]*f. */
static inline __attribute__((always_inline)) void
als_items(const als_ctx *c, const float *rows, const int32_t *ix, const float *wr, int64_t n,
          const float *v, float *out, float *dots, int residual)
{
	int f = c->f, d;
	int64_t p;

	if (n == 0)
		return;
	if (ix == NULL) {
		cblas_sgemv(CblasRowMajor, CblasNoTrans, (int) n, f, 1.0f, rows, f, v, 1, 0.0f,
		            dots, 1);
		if (wr == NULL) /* the same, the test out of the loop (it vectorizes) */
			for (p = 0; p < n; p++)
				dots[p] = als_item_k(c, NULL, p, dots[p], residual);
		else
			for (p = 0; p < n; p++)
				dots[p] = als_item_k(c, wr, p, dots[p], residual);
		cblas_sgemv(CblasRowMajor, CblasTrans, (int) n, f, 1.0f, rows, f, dots, 1, 1.0f,
		            out, 1);
		return;
	}
	for (p = 0; p < n; p++) {
		const float *y = rows + (size_t) ix[p] * f;
		float dot = 0;
		for (d = 0; d < f; d++)
			dot += y[d] * v[d];
		float k = als_item_k(c, wr, p, dot, residual);
		for (d = 0; d < f; d++)
			out[d] += k * y[d];
	}
}

/* CG for rows [u0, u1) in lockstep (cg_steps steps, each row stops on its own when its
 * residual vanishes or A stops being positive along p). The rows' items are gathered into buf
 * (one row longer than the buffer reads Y by index instead). */
static inline __attribute__((always_inline)) void
als_block_cg(const als_ctx *c, size_t u0, size_t u1, float *buf, float *dots, float *R, float *P,
             float *AP)
{
	int f = c->f, d, s;
	int nb = (int) (u1 - u0);
	float *X = c->X + u0 * (size_t) f;
	const float *rows[ALS_BLOCK_ROWS];
	const int32_t *ixs[ALS_BLOCK_ROWS];
	float rs[ALS_BLOCK_ROWS];
	unsigned char active[ALS_BLOCK_ROWS];
	int64_t at = 0;

	for (int k = 0; k < nb; k++) {
		int64_t b = c->ptr[u0 + k], n = c->ptr[u0 + k + 1] - b;
		ixs[k] = c->idx + b;
		rows[k] = c->Y;
		if (buf != NULL && at + n <= c->gather_max) {
			/* a plain loop: inlined, no call per item */
			for (int64_t p = 0; p < n; p++) {
				const float *y = c->Y + (size_t) ixs[k][p] * f;
				float *o = buf + (size_t) (at + p) * f;
				for (d = 0; d < f; d++)
					o[d] = y[d];
			}
			rows[k] = buf + (size_t) at * f;
			ixs[k] = NULL;
			at += n;
		}
	}
	/* R = -X G (G is symmetric: row k is -(G x_k)'), then the items' part per row */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, f, f, -1.0f, X, f, c->G, f, 0.0f,
	            R, f);
	for (int k = 0; k < nb; k++) {
		int64_t b = c->ptr[u0 + k], n = c->ptr[u0 + k + 1] - b;
		float *r = R + (size_t) k * f;
		als_items(c, rows[k], ixs[k], c->w != NULL ? c->w + b : NULL, n, X + (size_t) k * f,
		          r, dots, 1);
		rs[k] = 0;
		for (d = 0; d < f; d++) {
			P[(size_t) k * f + d] = r[d];
			rs[k] += r[d] * r[d];
		}
		active[k] = rs[k] >= 1e-20f;
	}
	for (s = 0; s < c->cg_steps; s++) {
		int any = 0;
		for (int k = 0; k < nb; k++)
			any |= active[k];
		if (!any)
			break;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, f, f, 1.0f, P, f, c->G,
		            f, 0.0f, AP, f);
		for (int k = 0; k < nb; k++) {
			if (!active[k])
				continue;
			int64_t b = c->ptr[u0 + k], n = c->ptr[u0 + k + 1] - b;
			float *x = X + (size_t) k * f, *r = R + (size_t) k * f;
			float *pv = P + (size_t) k * f, *ap = AP + (size_t) k * f;
			als_items(c, rows[k], ixs[k], c->w != NULL ? c->w + b : NULL, n, pv, ap,
			          dots, 0);
			float pap = 0;
			for (d = 0; d < f; d++)
				pap += pv[d] * ap[d];
			if (pap <= 0) {
				active[k] = 0;
				continue;
			}
			float step = rs[k] / pap, rs_new = 0;
			for (d = 0; d < f; d++) {
				x[d] += step * pv[d];
				r[d] -= step * ap[d];
				rs_new += r[d] * r[d];
			}
			float beta = rs_new / rs[k];
			for (d = 0; d < f; d++)
				pv[d] = r[d] + beta * pv[d];
			rs[k] = rs_new;
			active[k] = rs_new >= 1e-20f;
		}
	}
}

static inline __attribute__((always_inline)) void
als_rows_cg_body(void *vctx, size_t begin, size_t end, int tid)
{
	als_ctx *c = vctx;
	float *R = c->ws + (size_t) tid * c->ws_stride, *P = R + (size_t) ALS_BLOCK_ROWS * c->f;
	float *AP = P + (size_t) ALS_BLOCK_ROWS * c->f;
	float *buf = c->gather != NULL ? c->gather[tid] : NULL;
	float *dots = c->dots != NULL ? c->dots[tid] : NULL;
	size_t u0 = begin;

	while (u0 < end) {
		/* the block: up to ALS_BLOCK_ROWS rows with up to ALS_BLOCK_ITEMS items (at least
		 * one row: a longer one is a block of its own) */
		size_t u1 = u0 + 1;
		int64_t items = c->ptr[u0 + 1] - c->ptr[u0];
		while (u1 < end && u1 - u0 < ALS_BLOCK_ROWS &&
		       items + (c->ptr[u1 + 1] - c->ptr[u1]) <= ALS_BLOCK_ITEMS) {
			items += c->ptr[u1 + 1] - c->ptr[u1];
			u1++;
		}
		als_block_cg(c, u0, u1, buf, dots, R, P, AP);
		u0 = u1;
	}
}

/* the hot loop, built twice: AVX2+FMA and baseline, chosen at run time */
__attribute__((target("avx2,fma"))) static void
als_rows_cg_avx2(void *vctx, size_t begin, size_t end, int tid)
{
	als_rows_cg_body(vctx, begin, end, tid);
}

static void
als_rows_cg_base(void *vctx, size_t begin, size_t end, int tid)
{
	als_rows_cg_body(vctx, begin, end, tid);
}

static void
als_rows_exact(void *vctx, size_t begin, size_t end, int tid)
{
	als_ctx *c = vctx;
	int f = c->f, d, a;
	double *A = (double *) (void *) (c->ws + (size_t) tid * c->ws_stride);
	double *rhs = A + (size_t) f * f;
	size_t u;

	for (u = begin; u < end; u++) {
		int64_t b = c->ptr[u], e = c->ptr[u + 1], p;
		for (a = 0; a < f * f; a++)
			A[a] = c->G[a];
		for (d = 0; d < f; d++)
			rhs[d] = 0;
		for (p = b; p < e; p++) {
			const float *y = c->Y + (size_t) c->idx[p] * f;
			double wp = c->w != NULL ? c->w[p] : 1.0;
			double pref = wp > 0 ? 1.0 + c->alpha * wp : 0.0,
			       conf = c->alpha * fabs(wp);
			for (a = 0; a < f; a++) {
				rhs[a] += pref * y[a];
				for (d = 0; d < f; d++)
					A[(size_t) a * f + d] += conf * (double) y[a] * y[d];
			}
		}
		if (LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', f, 1, A, f, rhs, 1) == 0)
			for (d = 0; d < f; d++)
				c->X[u * (size_t) f + d] = (float) rhs[d];
	}
}

void
tr_als_half_sweep(const int64_t *ptr, const int32_t *idx, int32_t n_rows, float *X, const float *Y,
                  int32_t n_cols, int f, double reg, double alpha, int cg_steps, int nthreads)
{
	tr_als_half_sweep_w(ptr, idx, NULL, n_rows, X, Y, n_cols, f, reg, alpha, cg_steps,
	                    nthreads);
}

void
tr_als_half_sweep_w(const int64_t *ptr, const int32_t *idx, const float *w, int32_t n_rows,
                    float *X, const float *Y, int32_t n_cols, int f, double reg, double alpha,
                    int cg_steps, int nthreads)
{
	als_ctx c;
	float *G = tr_xmalloc((size_t) f * f * sizeof(float));
	int d;

	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, f, f, n_cols, 1.0f, Y, f, Y, f, 0.0f,
	            G, f);
	for (d = 0; d < f; d++)
		G[(size_t) d * f + d] += (float) reg;
	memset(&c, 0, sizeof(c));
	c.ptr = ptr;
	c.idx = idx;
	c.w = w;
	c.X = X;
	c.Y = Y;
	c.G = G;
	c.f = f;
	c.cg_steps = cg_steps;
	c.alpha = (float) alpha;
	if (cg_steps > 0) {
		int64_t maxdeg = 0, r;
		int t;
		for (r = 0; r < n_rows; r++)
			if (ptr[r + 1] - ptr[r] > maxdeg)
				maxdeg = ptr[r + 1] - ptr[r];
		/* a block's items, or the longest row's: at most 64 MiB of gathered rows per thread
		 */
		int64_t cap = (int64_t) ((64u << 20) / (sizeof(float) * (size_t) f));
		c.gather_max = maxdeg > ALS_BLOCK_ITEMS ? maxdeg : ALS_BLOCK_ITEMS;
		if (c.gather_max > cap)
			c.gather_max = cap;
		c.gather = tr_xcalloc((size_t) nthreads, sizeof(float *));
		c.dots = tr_xcalloc((size_t) nthreads, sizeof(float *));
		for (t = 0; t < nthreads; t++) {
			c.gather[t] = tr_xmalloc(((size_t) c.gather_max + 1) * (size_t) f *
			                         sizeof(float));
			c.dots[t] = tr_xmalloc(((size_t) c.gather_max + 1) * sizeof(float));
		}
		c.ws_stride = (size_t) 3 * ALS_BLOCK_ROWS * f + 16;
		c.ws = tr_xmalloc((size_t) nthreads * c.ws_stride * sizeof(float));
		__builtin_cpu_init();
		tr_parallel_for((size_t) n_rows, ALS_BLOCK_ROWS, nthreads,
		                __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
		                        ? als_rows_cg_avx2
		                        : als_rows_cg_base,
		                &c);
	} else {
		c.ws_stride = ((size_t) f * f + f) * 2 + 16; /* doubles, counted in floats */
		c.ws = tr_xmalloc((size_t) nthreads * c.ws_stride * sizeof(float));
		tr_parallel_for((size_t) n_rows, 16, nthreads, als_rows_exact, &c);
	}
	if (c.gather != NULL) {
		for (int t = 0; t < nthreads; t++) {
			free(c.gather[t]);
			free(c.dots[t]);
		}
		free(c.gather);
		free(c.dots);
	}
	free(c.ws);
	free(G);
}

static void
als_init(float *m, size_t n, uint64_t *seed)
{
	size_t a;

	for (a = 0; a < n; a++) {
		double u1 = ((double) (rs_splitmix64(seed) >> 11) + 0.5) / 9007199254740992.0;
		double u2 = ((double) (rs_splitmix64(seed) >> 11) + 0.5) / 9007199254740992.0;
		m[a] = (float) (0.01 * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
	}
}

/* als_signed: weighted data as two signed CSR matrices (positives w > 0 then negatives
 * w = -strength per user row; the transpose per item row, users ascending) */
typedef struct als_signed {
	int64_t *u_ptr, *i_ptr;
	int32_t *u_idx, *i_idx;
	float *u_w, *i_w;
} als_signed;

static void
als_signed_build(const tr_dataset *ds, als_signed *s)
{
	int64_t n = ds->nnz + (ds->neg_ptr != NULL ? ds->n_neg : 0), e, at, *fill;
	int32_t u, i;

	s->u_ptr = tr_xcalloc((size_t) ds->n_users + 1, sizeof(int64_t));
	s->i_ptr = tr_xcalloc((size_t) ds->n_items + 1, sizeof(int64_t));
	s->u_idx = tr_xmalloc((size_t) (n > 0 ? n : 1) * sizeof(int32_t));
	s->i_idx = tr_xmalloc((size_t) (n > 0 ? n : 1) * sizeof(int32_t));
	s->u_w = tr_xmalloc((size_t) (n > 0 ? n : 1) * sizeof(float));
	s->i_w = tr_xmalloc((size_t) (n > 0 ? n : 1) * sizeof(float));
	at = 0;
	for (u = 0; u < ds->n_users; u++) {
		for (e = ds->u_ptr[u]; e < ds->u_ptr[u + 1]; e++, at++) {
			s->u_idx[at] = ds->u_items[e];
			s->u_w[at] = ds->u_w != NULL ? ds->u_w[e] : 1.0f;
		}
		if (ds->neg_ptr != NULL)
			for (e = ds->neg_ptr[u]; e < ds->neg_ptr[u + 1]; e++, at++) {
				s->u_idx[at] = ds->neg_items[e];
				s->u_w[at] = -ds->neg_w[e];
			}
		s->u_ptr[u + 1] = at;
	}
	for (e = 0; e < at; e++)
		s->i_ptr[s->u_idx[e] + 1]++;
	for (i = 0; i < ds->n_items; i++)
		s->i_ptr[i + 1] += s->i_ptr[i];
	fill = tr_xmalloc(((size_t) ds->n_items + 1) * sizeof(int64_t));
	memcpy(fill, s->i_ptr, ((size_t) ds->n_items + 1) * sizeof(int64_t));
	for (u = 0; u < ds->n_users; u++)
		for (e = s->u_ptr[u]; e < s->u_ptr[u + 1]; e++) {
			int64_t q = fill[s->u_idx[e]]++;
			s->i_idx[q] = u;
			s->i_w[q] = s->u_w[e];
		}
	free(fill);
}

static void
als_signed_free(als_signed *s)
{
	free(s->u_ptr);
	free(s->i_ptr);
	free(s->u_idx);
	free(s->i_idx);
	free(s->u_w);
	free(s->i_w);
}

void
tr_als_fit(const tr_dataset *ds, const tr_als_opts *o, tr_als *out)
{
	int it, f = o->factors;
	double t0 = tr_now();
	uint64_t seed = o->seed * 7919 + 1;
	als_signed sg;
	int weighted = tr_dataset_is_weighted(ds);

	out->n_users = ds->n_users;
	out->n_items = ds->n_items;
	out->f = f;
	out->U = tr_xmalloc(((size_t) ds->n_users + 1) * f * sizeof(float));
	out->V = tr_xmalloc(((size_t) ds->n_items + 1) * f * sizeof(float));
	als_init(out->U, (size_t) ds->n_users * f, &seed);
	als_init(out->V, (size_t) ds->n_items * f, &seed);
	openblas_set_num_threads(1); /* only f x f products here; our threads do the rows */
	memset(&sg, 0, sizeof(sg));
	if (weighted)
		als_signed_build(ds, &sg);
	for (it = 0; it < o->iterations; it++) {
		tr_progress("als: iteration", (size_t) it, (size_t) o->iterations, t0);
		if (weighted) {
			tr_als_half_sweep_w(sg.u_ptr, sg.u_idx, sg.u_w, ds->n_users, out->U, out->V,
			                    ds->n_items, f, o->reg, o->alpha, o->cg_steps,
			                    o->nthreads);
			tr_als_half_sweep_w(sg.i_ptr, sg.i_idx, sg.i_w, ds->n_items, out->V, out->U,
			                    ds->n_users, f, o->reg, o->alpha, o->cg_steps,
			                    o->nthreads);
			continue;
		}
		tr_als_half_sweep(ds->u_ptr, ds->u_items, ds->n_users, out->U, out->V, ds->n_items,
		                  f, o->reg, o->alpha, o->cg_steps, o->nthreads);
		tr_als_half_sweep(ds->i_ptr, ds->i_users, ds->n_items, out->V, out->U, ds->n_users,
		                  f, o->reg, o->alpha, o->cg_steps, o->nthreads);
	}
	tr_progress("als: iteration", (size_t) o->iterations, (size_t) o->iterations, t0);
	if (weighted)
		als_signed_free(&sg);
}

void
tr_als_score(const tr_als *m, int32_t user, float *scores)
{
	cblas_sgemv(CblasRowMajor, CblasNoTrans, m->n_items, m->f, 1.0f, m->V, m->f,
	            m->U + (size_t) user * m->f, 1, 0.0f, scores, 1);
}

int
tr_als_save(const tr_als *m, const char *dir, tr_error *err)
{
	int rv;

	if ((rv = tr_blob_write(dir, "als_user_factors.f32", m->U,
	                        (size_t) m->n_users * m->f * sizeof(float), err)) != 0)
		return rv;
	return tr_blob_write(dir, "als_item_factors.f32", m->V,
	                     (size_t) m->n_items * m->f * sizeof(float), err);
}

int
tr_als_load(tr_als *m, int32_t n_users, int32_t n_items, int f, const char *dir, tr_error *err)
{
	void *u = NULL, *v = NULL;
	int rv;

	memset(m, 0, sizeof(*m));
	if (f <= 0)
		return tr_error_set(err, RS_ECORRUPT, "%s: bad factor count %d", dir, f);
	if ((rv = tr_blob_read(dir, "als_user_factors.f32", (size_t) n_users * f * sizeof(float),
	                       &u, err)) != 0)
		return rv;
	if ((rv = tr_blob_read(dir, "als_item_factors.f32", (size_t) n_items * f * sizeof(float),
	                       &v, err)) != 0) {
		free(u);
		return rv;
	}
	m->n_users = n_users;
	m->n_items = n_items;
	m->f = f;
	m->U = u;
	m->V = v;
	return 0;
}

void
tr_als_fini(tr_als *m)
{
	if (m == NULL)
		return;
	free(m->U);
	free(m->V);
	memset(m, 0, sizeof(*m));
}
