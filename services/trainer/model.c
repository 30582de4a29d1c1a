/* model: see model.h. */
#include "model.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "pop.h"
#include "rs_err.h"
#include "topk.h"
#include "twostage.h"

static const char *const kind_names[TR_KIND_COUNT] = {"pop", "itemknn", "als", "ease", "two-stage"};

void
tr_params_defaults(tr_params *p)
{
	memset(p, 0, sizeof(*p));
	p->half_life = 0;
	p->knn_k = 200;
	p->shrink = 0;
	p->seq_weight = 0;
	p->factors = 64;
	p->iterations = 15;
	p->cg_steps = 3;
	p->reg = 10;
	p->alpha = 2;
	p->lambda = 300;
	p->max_mem_gb = 16;
	p->max_items = 30000;
	snprintf(p->sources, sizeof(p->sources), "%s", "ease,als,itemknn,pop");
	p->cand_n = 100;
	p->trees = 200;
	p->depth = 6;
	p->eta = 0.1;
	p->holdout_frac = 0.2;
	snprintf(p->holdout, sizeof(p->holdout), "%s", "temporal-user");
	p->fallback = -1;
	snprintf(p->objective, sizeof(p->objective), "%s", "rank:pairwise");
	p->nthreads = tr_nthreads();
	p->seed = 0;
}

const char *
tr_kind_name(tr_kind k)
{
	return (unsigned) k < TR_KIND_COUNT ? kind_names[k] : "unknown";
}

int
tr_kind_parse(const char *s, tr_kind *out, tr_error *err)
{
	int k;

	for (k = 0; k < TR_KIND_COUNT; k++)
		if (strcmp(s, kind_names[k]) == 0) {
			*out = (tr_kind) k;
			return 0;
		}
	if (strcmp(s, "ials") == 0 || strcmp(s, "twostage") == 0) {
		*out = s[0] == 'i' ? TR_ALS : TR_TWOSTAGE;
		return 0;
	}
	return tr_error_set(err, RS_EINVAL,
	                    "unknown model '%s' (known: pop, itemknn, als, ease, two-stage)", s);
}

int
tr_model_fit(tr_kind kind, const tr_params *p, const tr_dataset *ds, tr_model *m, tr_error *err)
{
	double t0 = tr_now();
	int rv = 0;

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
	case TR_TWOSTAGE:
		rv = tr_twostage_fit(p, ds, &m->ts, err);
		break;
	default:
		rv = tr_error_set(err, RS_EINVAL, "unknown model kind");
	}
	if (rv != 0) {
		tr_model_fini(m);
		return rv;
	}
	if (kind == TR_TWOSTAGE) {
		tr_twostage_sources_str(m->ts, m->params.sources, sizeof(m->params.sources));
		m->params.fallback = tr_twostage_fallback(m->ts);
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
tr_model_save(const tr_model *m, const tr_dataset *ds, const char *dir, tr_error *err)
{
	int rv;
	size_t ni = (size_t) m->n_items * sizeof(float);

	if ((rv = tr_mkdir_p(dir, err)) != 0 ||
	    (rv = tr_blob_write(dir, "pop.f32", m->pop, ni, err)) != 0 ||
	    (rv = model_write_items(ds, dir, err)) != 0)
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
	case TR_TWOSTAGE:
		rv = tr_twostage_save(m->ts, ds, dir, err);
		break;
	default:
		rv = RS_EINVAL;
	}
	if (rv != 0)
		return rv;
	return tr_manifest_write(m, dir, err); /* last: a folder without it is incomplete */
}

int
tr_model_load(const char *dir, tr_model *m, tr_error *err)
{
	int rv, dual = 0;
	size_t ni;
	void *p = NULL;

	memset(m, 0, sizeof(*m));
	if ((rv = tr_manifest_read(dir, m, &dual, err)) != 0)
		return rv;
	m->params.nthreads = tr_nthreads();
	ni = (size_t) m->n_items * sizeof(float);
	if ((rv = tr_blob_read(dir, "pop.f32", ni, &p, err)) != 0)
		goto fail;
	m->pop = p;
	switch (m->kind) {
	case TR_POP:
		rv = tr_blob_read(dir, "pop_score.f32", ni, &p, err);
		if (rv == 0)
			m->pop_score = p;
		break;
	case TR_ITEMKNN:
		rv = tr_knn_load(&m->knn, m->n_items, dir, err);
		break;
	case TR_ALS:
		rv = tr_als_load(&m->als, m->n_users, m->n_items, m->params.factors, dir, err);
		break;
	case TR_EASE:
		rv = tr_ease_load(&m->ease, dual, m->n_users, m->n_items, dir, err);
		break;
	case TR_TWOSTAGE:
		rv = tr_twostage_load(&m->params, m->n_users, m->n_items, dir, &m->ts, err);
		break;
	default:
		rv = RS_EINVAL;
	}
	if (rv == 0)
		return 0;
fail:
	tr_model_fini(m);
	return rv;
}

int
tr_model_check_data(const tr_model *m, const tr_dataset *ds, tr_error *err)
{
	if (m->fingerprint != ds->fingerprint || m->n_users != ds->n_users ||
	    m->n_items != ds->n_items)
		return tr_error_set(
		        err, RS_EINVAL,
		        "the training data (%d users, %d items, fingerprint %016" PRIx64
		        ") is not the data the model was fitted on (%d users, %d items, "
		        "fingerprint %016" PRIx64 "); pass the same --train file",
		        ds->n_users, ds->n_items, ds->fingerprint, m->n_users, m->n_items,
		        m->fingerprint);
	return 0;
}

void
tr_model_score(const tr_model *m, const tr_dataset *ds, int32_t user, float *scores)
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
tr_model_ws_size(const tr_model *m, int k)
{
	(void) k;
	return ((size_t) m->n_items + 1) * sizeof(float);
}

int
tr_model_recommend(const tr_model *m, const tr_dataset *ds, int32_t user, int k, int32_t *out,
                   float *out_score, void *ws)
{
	float *scores = ws;
	int64_t p;

	if (user < 0 || user >= ds->n_users) {
		memcpy(scores, m->pop, (size_t) m->n_items * sizeof(float));
	} else {
		tr_model_score(m, ds, user, scores);
		for (p = ds->u_ptr[user]; p < ds->u_ptr[user + 1]; p++)
			scores[ds->u_items[p]] = -INFINITY;
		if (ds->neg_ptr != NULL) /* what the user rejected is never recommended */
			for (p = ds->neg_ptr[user]; p < ds->neg_ptr[user + 1]; p++)
				scores[ds->neg_items[p]] = -INFINITY;
	}
	return tr_topk(scores, m->n_items, k, out, out_score);
}

void
tr_model_fini(tr_model *m)
{
	if (m == NULL)
		return;
	free(m->pop);
	free(m->pop_score);
	tr_knn_fini(&m->knn);
	tr_als_fini(&m->als);
	tr_ease_fini(&m->ease);
	tr_twostage_destroy(m->ts);
	memset(m, 0, sizeof(*m));
}
