/* ease: see ease.h. */
#include "ease.h"

#include <cblas.h>
#include <lapacke.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"

double
tr_ease_need_bytes(int32_t n_users, int32_t n_items, int form, int *dual)
{
	double nu = n_users, ni = n_items;
	int d = form == 2 || (form == 0 && nu < ni && nu * ni <= 4e8);

	*dual = d;
	return d ? 8.0 * nu * nu + 12.0 * nu * ni : 12.0 * ni * ni;
}

typedef struct gram_ctx {
	const tr_dataset *ds;
	double *G;
	int dual;
} gram_ctx;

/* primal: G[a][b] = users with both a and b (rows a in range); dual: M[u][v] shared items */
static void
ease_gram_rows(void *vctx, size_t begin, size_t end, int tid)
{
	gram_ctx *c = vctx;
	const tr_dataset *ds = c->ds;
	size_t a;
	int64_t p, e;
	(void) tid;

	for (a = begin; a < end; a++) {
		if (!c->dual) {
			double *row = c->G + a * (size_t) ds->n_items;
			for (p = ds->i_ptr[a]; p < ds->i_ptr[a + 1]; p++) {
				int32_t u = ds->i_users[p];
				for (e = ds->u_ptr[u]; e < ds->u_ptr[u + 1]; e++)
					row[ds->u_items[e]] += 1.0;
			}
		} else {
			double *row = c->G + a * (size_t) ds->n_users;
			for (p = ds->u_ptr[a]; p < ds->u_ptr[a + 1]; p++) {
				int32_t i = ds->u_items[p];
				for (e = ds->i_ptr[i]; e < ds->i_ptr[i + 1]; e++)
					row[ds->i_users[e]] += 1.0;
			}
		}
	}
}

static int
ease_fit_primal(const tr_dataset *ds, const tr_ease_opts *o, tr_ease *out, tr_error *err)
{
	size_t n = (size_t) ds->n_items, a, b;
	double *P = tr_xcalloc(n * n, sizeof(double));
	gram_ctx c = {ds, P, 0};
	int info;

	tr_parallel_for(n, 8, o->nthreads, ease_gram_rows, &c);
	for (a = 0; a < n; a++)
		P[a * n + a] += o->lambda;
	if ((info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (int) n, P, (int) n)) != 0 ||
	    (info = LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'U', (int) n, P, (int) n)) != 0) {
		free(P);
		return tr_error_set(
		        err, RS_EINVAL,
		        "ease: X'X + lambda I is not positive definite (LAPACK info %d); "
		        "use a larger --lambda",
		        info);
	}
	/* upper triangle holds P; B[i][j] = -P[i][j] / P[j][j] */
	out->W = tr_xmalloc(n * n * sizeof(float));
	for (a = 0; a < n; a++)
		for (b = a; b < n; b++) {
			double v = P[a * n + b];
			out->W[a * n + b] = a == b ? 0.0f : (float) (-v / P[b * n + b]);
			if (a != b)
				out->W[b * n + a] = (float) (-v / P[a * n + a]);
		}
	free(P);
	return 0;
}

static int
ease_fit_dual(const tr_dataset *ds, const tr_ease_opts *o, tr_ease *out, tr_error *err)
{
	size_t nu = (size_t) ds->n_users, ni = (size_t) ds->n_items, a, j;
	double *M = tr_xcalloc(nu * nu, sizeof(double));
	double *Z = tr_xcalloc(nu * ni, sizeof(double));
	double *diag = tr_xcalloc(ni, sizeof(double));
	gram_ctx c = {ds, M, 1};
	int64_t p;
	int info;

	tr_parallel_for(nu, 8, o->nthreads, ease_gram_rows, &c);
	for (a = 0; a < nu; a++) {
		M[a * nu + a] += o->lambda;
		for (p = ds->u_ptr[a]; p < ds->u_ptr[a + 1]; p++)
			Z[a * ni + (size_t) ds->u_items[p]] = 1.0;
	}
	info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (int) nu, (int) ni, M, (int) nu, Z, (int) ni);
	free(M);
	if (info != 0) {
		free(Z);
		free(diag);
		return tr_error_set(
		        err, RS_EINVAL,
		        "ease: XX' + lambda I is not positive definite (LAPACK info %d)", info);
	}
	for (j = 0; j < ni; j++)
		diag[j] = 1.0;
	for (a = 0; a < nu; a++)
		for (p = ds->u_ptr[a]; p < ds->u_ptr[a + 1]; p++)
			diag[ds->u_items[p]] -= Z[a * ni + (size_t) ds->u_items[p]];
	for (j = 0; j < ni; j++)
		diag[j] /= o->lambda;
	out->W = tr_xmalloc(nu * ni * sizeof(float));
	for (a = 0; a < nu; a++)
		for (j = 0; j < ni; j++)
			out->W[a * ni + j] = (float) (-Z[a * ni + j] / diag[j]);
	for (a = 0; a < nu; a++)
		for (p = ds->u_ptr[a]; p < ds->u_ptr[a + 1]; p++)
			out->W[a * ni + (size_t) ds->u_items[p]] += 1.0f;
	free(Z);
	free(diag);
	return 0;
}

int
tr_ease_fit(const tr_dataset *ds, const tr_ease_opts *o, tr_ease *out, tr_error *err)
{
	int dual;
	double need = tr_ease_need_bytes(ds->n_users, ds->n_items, o->form, &dual);

	memset(out, 0, sizeof(*out));
	if (!dual && ds->n_items > o->max_items)
		return tr_error_set(err, RS_ETOOBIG,
		                    "ease: %d items exceed the limit of %d (dense items x items "
		                    "matrices, %.1f GiB); raise --max-items or use als/itemknn",
		                    ds->n_items, o->max_items, need / 1073741824.0);
	if (need > o->max_bytes)
		return tr_error_set(err, RS_ETOOBIG,
		                    "ease: needs %.1f GiB (%d users, %d items, %s form), above "
		                    "--max-mem %.1f GiB; use als/itemknn",
		                    need / 1073741824.0, ds->n_users, ds->n_items,
		                    dual ? "dual" : "primal", o->max_bytes / 1073741824.0);
	openblas_set_num_threads(o->nthreads); /* the factorisation is BLAS-3: all cores */
	out->dual = dual;
	out->n_users = ds->n_users;
	out->n_items = ds->n_items;
	return dual ? ease_fit_dual(ds, o, out, err) : ease_fit_primal(ds, o, out, err);
}

void
tr_ease_score(const tr_ease *m, const tr_dataset *ds, int32_t user, float *scores)
{
	size_t n = (size_t) m->n_items, j;
	int64_t p;

	if (m->dual) {
		memcpy(scores, m->W + (size_t) user * n, n * sizeof(float));
		return;
	}
	memset(scores, 0, n * sizeof(float));
	for (p = ds->u_ptr[user]; p < ds->u_ptr[user + 1]; p++) {
		const float *row = m->W + (size_t) ds->u_items[p] * n;
		for (j = 0; j < n; j++)
			scores[j] += row[j];
	}
	if (ds->neg_ptr != NULL) /* explicit negatives: minus their rows (x_ui = -1) */
		for (p = ds->neg_ptr[user]; p < ds->neg_ptr[user + 1]; p++) {
			const float *row = m->W + (size_t) ds->neg_items[p] * n;
			for (j = 0; j < n; j++)
				scores[j] -= row[j];
		}
}

int
tr_ease_save(const tr_ease *m, const char *dir, tr_error *err)
{
	size_t rows = m->dual ? (size_t) m->n_users : (size_t) m->n_items;

	return tr_blob_write(dir, m->dual ? "ease_scores.f32" : "ease_weights.f32", m->W,
	                     rows * (size_t) m->n_items * sizeof(float), err);
}

int
tr_ease_load(tr_ease *m, int dual, int32_t n_users, int32_t n_items, const char *dir, tr_error *err)
{
	size_t rows = dual ? (size_t) n_users : (size_t) n_items;
	void *w = NULL;
	int rv;

	memset(m, 0, sizeof(*m));
	if ((rv = tr_blob_read(dir, dual ? "ease_scores.f32" : "ease_weights.f32",
	                       rows * (size_t) n_items * sizeof(float), &w, err)) != 0)
		return rv;
	m->dual = dual;
	m->n_users = n_users;
	m->n_items = n_items;
	m->W = w;
	return 0;
}

void
tr_ease_fini(tr_ease *m)
{
	if (m == NULL)
		return;
	free(m->W);
	memset(m, 0, sizeof(*m));
}
