/* stage1: see stage1.h. */
#include "stage1.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "pop.h"
#include "rs_err.h"
#include "topk.h"

int
tr_model_begin(tr_kind kind, const tr_params *p, const tr_dataset *ds, tr_model *m, tr_error *err)
{
	memset(m, 0, sizeof(*m));
	if (ds->nnz == 0)
		return tr_error_set(err, RS_EINVAL, "empty training set");
	m->kind = kind;
	m->params = *p;
	m->n_users = ds->n_users;
	m->n_items = ds->n_items;
	m->nnz = ds->nnz;
	m->fingerprint = ds->fingerprint;
	m->pop = tr_dataset_item_pop(ds);
	return 0;
}

int
tr_stage1_fit(tr_kind kind, const tr_params *p, const tr_dataset *ds, tr_model *m, tr_error *err)
{
	double t0 = tr_now();
	int rv = 0;

	if ((rv = tr_model_begin(kind, p, ds, m, err)) != 0)
		return rv;
	switch (kind) {
	case TR_POP:
		m->pop_score = tr_pop_fit(ds, p->half_life);
		break;
	case TR_ITEMKNN:
		if (p->knn_k <= 0) {
			rv = tr_error_set(err, RS_EINVAL, "itemknn: --k must be positive");
			break;
		}
		tr_knn_fit(ds, p->knn_k, p->shrink, p->seq_weight, p->nthreads, &m->knn);
		break;
	case TR_ALS: {
		tr_als_opts o = {p->factors, p->iterations, p->cg_steps, p->nthreads,
		                 p->reg,     p->alpha,      p->seed};
		if (p->factors <= 0 || p->iterations < 0) {
			rv = tr_error_set(err, RS_EINVAL, "als: --factors must be positive");
			break;
		}
		tr_als_fit(ds, &o, &m->als);
		break;
	}
	case TR_EASE: {
		tr_ease_opts o = {p->lambda, p->max_items, p->max_mem_gb * 1073741824.0, 0,
		                  p->nthreads};
		rv = tr_ease_fit(ds, &o, &m->ease, err);
		break;
	}
	default:
		rv = tr_error_set(err, RS_EINVAL, "%s is not a first-stage model",
		                  tr_kind_name(kind));
	}
	if (rv != 0) {
		tr_stage1_fini(m);
		return rv;
	}
	m->fit_seconds = tr_now() - t0;
	return 0;
}

static int
model_write_items(const tr_dataset *ds, const char *dir, tr_error *err)
{
	char path[4096];
	FILE *f;
	int32_t i;

	tr_path_join(path, sizeof(path), dir, "items.txt");
	if ((f = fopen(path, "w")) == NULL)
		return tr_error_set(err, RS_EIO, "%s: cannot create", path);
	for (i = 0; i < ds->n_items; i++)
		fprintf(f, "%s\n", ds->items != NULL ? tr_ids_name(ds->items, i) : "");
	if (fclose(f) != 0)
		return tr_error_set(err, RS_EIO, "%s: write failed", path);
	return 0;
}

int
tr_model_save_base(const tr_model *m, const tr_dataset *ds, const char *dir, tr_error *err)
{
	int rv;

	if ((rv = tr_mkdir_p(dir, err)) != 0 ||
	    (rv = tr_blob_write(dir, "pop.f32", m->pop, (size_t) m->n_items * sizeof(float),
	                        err)) != 0)
		return rv;
	return model_write_items(ds, dir, err);
}

int
tr_stage1_save(const tr_model *m, const tr_dataset *ds, const char *dir, tr_error *err)
{
	int rv;
	size_t ni = (size_t) m->n_items * sizeof(float);

	if ((rv = tr_model_save_base(m, ds, dir, err)) != 0)
		return rv;
	switch (m->kind) {
	case TR_POP:
		rv = tr_blob_write(dir, "pop_score.f32", m->pop_score, ni, err);
		break;
	case TR_ITEMKNN:
		rv = tr_knn_save(&m->knn, dir, err);
		break;
	case TR_ALS:
		rv = tr_als_save(&m->als, dir, err);
		break;
	case TR_EASE:
		rv = tr_ease_save(&m->ease, dir, err);
		break;
	default:
		rv = tr_error_set(err, RS_EINVAL, "%s is not a first-stage model",
		                  tr_kind_name(m->kind));
	}
	if (rv != 0)
		return rv;
	return tr_manifest_write(m, dir, err); /* last: a folder without it is incomplete */
}

int
tr_model_load_base(const char *dir, tr_model *m, int *ease_dual, tr_error *err)
{
	int rv;
	void *p = NULL;

	memset(m, 0, sizeof(*m));
	*ease_dual = 0;
	if ((rv = tr_manifest_read(dir, m, ease_dual, err)) != 0)
		return rv;
	m->params.nthreads = tr_nthreads();
	if ((rv = tr_blob_read(dir, "pop.f32", (size_t) m->n_items * sizeof(float), &p, err)) == 0)
		m->pop = p;
	return rv;
}

int
tr_stage1_load_arrays(tr_model *m, int ease_dual, const char *dir, tr_error *err)
{
	void *p = NULL;
	int rv;

	switch (m->kind) {
	case TR_POP:
		rv = tr_blob_read(dir, "pop_score.f32", (size_t) m->n_items * sizeof(float), &p,
		                  err);
		if (rv == 0)
			m->pop_score = p;
		return rv;
	case TR_ITEMKNN:
		return tr_knn_load(&m->knn, m->n_items, dir, err);
	case TR_ALS:
		return tr_als_load(&m->als, m->n_users, m->n_items, m->params.factors, dir, err);
	case TR_EASE:
		return tr_ease_load(&m->ease, ease_dual, m->n_users, m->n_items, dir, err);
	default:
		return tr_error_set(err, RS_EINVAL, "%s: a %s model is not a first-stage model",
		                    dir, tr_kind_name(m->kind));
	}
}

int
tr_stage1_load(const char *dir, tr_model *m, tr_error *err)
{
	int dual, rv;

	if ((rv = tr_model_load_base(dir, m, &dual, err)) == 0 &&
	    (rv = tr_stage1_load_arrays(m, dual, dir, err)) == 0)
		return 0;
	tr_stage1_fini(m);
	return rv;
}

void
tr_stage1_score(const tr_model *m, const tr_dataset *ds, int32_t user, float *scores)
{
	int64_t b = ds->u_ptr[user], e = ds->u_ptr[user + 1];

	switch (m->kind) {
	case TR_POP:
		memcpy(scores, m->pop_score, (size_t) m->n_items * sizeof(float));
		break;
	case TR_ITEMKNN:
		if (tr_dataset_is_weighted(ds)) {
			int64_t nb = ds->neg_ptr != NULL ? ds->neg_ptr[user] : 0;
			int64_t ne = ds->neg_ptr != NULL ? ds->neg_ptr[user + 1] : 0;
			tr_knn_score_w(
			        &m->knn, ds->u_items + b, ds->u_w != NULL ? ds->u_w + b : NULL,
			        e - b, ds->neg_ptr != NULL ? ds->neg_items + nb : NULL,
			        ds->neg_ptr != NULL ? ds->neg_w + nb : NULL, ne - nb, scores);
		} else {
			tr_knn_score(&m->knn, ds->u_items + b, e - b, scores);
		}
		break;
	case TR_ALS:
		tr_als_score(&m->als, user, scores);
		break;
	case TR_EASE:
		tr_ease_score(&m->ease, ds, user, scores);
		break;
	default:
		memcpy(scores, m->pop, (size_t) m->n_items * sizeof(float));
	}
}

size_t
tr_stage1_ws_size(const tr_model *m, int k)
{
	(void) k;
	return ((size_t) m->n_items + 1) * sizeof(float);
}

int
tr_stage1_recommend(const tr_model *m, const tr_dataset *ds, int32_t user, int k, int32_t *out,
                    float *out_score, void *ws)
{
	float *scores = ws;
	int64_t p;

	if (user < 0 || user >= ds->n_users) {
		memcpy(scores, m->pop, (size_t) m->n_items * sizeof(float));
	} else {
		tr_stage1_score(m, ds, user, scores);
		for (p = ds->u_ptr[user]; p < ds->u_ptr[user + 1]; p++)
			scores[ds->u_items[p]] = -INFINITY;
		if (ds->neg_ptr != NULL) /* what the user rejected is never recommended */
			for (p = ds->neg_ptr[user]; p < ds->neg_ptr[user + 1]; p++)
				scores[ds->neg_items[p]] = -INFINITY;
	}
	return tr_topk(scores, m->n_items, k, out, out_score);
}

typedef struct rec_ctx {
	const tr_model *m;
	const tr_dataset *ds;
	const int32_t *users;
	int k;
	int32_t *out;
	int *counts;
	char **ws;
	float **sc;
} rec_ctx;

static void
rec_range(void *vctx, size_t begin, size_t end, int tid)
{
	rec_ctx *c = vctx;
	size_t j;

	for (j = begin; j < end; j++)
		c->counts[j] =
		        tr_stage1_recommend(c->m, c->ds, c->users[j], c->k,
		                            c->out + j * (size_t) c->k, c->sc[tid], c->ws[tid]);
}

int
tr_stage1_recommend_batch(const tr_model *m, const tr_dataset *ds, const int32_t *users, size_t n,
                          int k, int32_t *out, int *counts)
{
	rec_ctx c;
	int t, nt = m->params.nthreads > 0 ? m->params.nthreads : 1;

	/* our threads score users in parallel; BLAS threads inside them only contend */
	openblas_set_num_threads(1);
	c.m = m;
	c.ds = ds;
	c.users = users;
	c.k = k;
	c.out = out;
	c.counts = counts;
	c.ws = tr_xcalloc((size_t) nt, sizeof(char *));
	c.sc = tr_xcalloc((size_t) nt, sizeof(float *));
	for (t = 0; t < nt; t++) {
		c.ws[t] = tr_xmalloc(tr_stage1_ws_size(m, k));
		c.sc[t] = tr_xmalloc((size_t) k * sizeof(float));
	}
	tr_parallel_for(n, 32, nt, rec_range, &c);
	for (t = 0; t < nt; t++) {
		free(c.ws[t]);
		free(c.sc[t]);
	}
	free(c.ws);
	free(c.sc);
	return 0;
}

void
tr_stage1_fini(tr_model *m)
{
	if (m == NULL)
		return;
	free(m->pop);
	free(m->pop_score);
	tr_knn_fini(&m->knn);
	tr_als_fini(&m->als);
	tr_ease_fini(&m->ease);
	memset(m, 0, sizeof(*m));
}
