/* tune: see tune.h. */
#include "tune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "recommend.h"
#include "rs_err.h"

#define TUNE_MAX_PARAMS 6
#define TUNE_MAX_VALUES 16

static const char *const default_grids[TR_KIND_COUNT] = {
        "half_life=0",
        "k=25,50,100,200,400,800;shrink=0,10",
        "factors=64,128;reg=1,10,30,100;alpha=0.5,2,8,32",
        "lambda=10,50,100,200,350,500,1000",
        "candidates=50,100;depth=4,6",
};

int
tr_params_set(tr_params *p, const char *name, double v)
{
	if (strcmp(name, "k") == 0)
		p->knn_k = (int) v;
	else if (strcmp(name, "shrink") == 0)
		p->shrink = v;
	else if (strcmp(name, "seq_weight") == 0)
		p->seq_weight = v;
	else if (strcmp(name, "factors") == 0)
		p->factors = (int) v;
	else if (strcmp(name, "reg") == 0)
		p->reg = v;
	else if (strcmp(name, "alpha") == 0)
		p->alpha = v;
	else if (strcmp(name, "iterations") == 0)
		p->iterations = (int) v;
	else if (strcmp(name, "lambda") == 0)
		p->lambda = v;
	else if (strcmp(name, "half_life") == 0)
		p->half_life = v;
	else if (strcmp(name, "candidates") == 0)
		p->cand_n = (int) v;
	else if (strcmp(name, "trees") == 0)
		p->trees = (int) v;
	else if (strcmp(name, "depth") == 0)
		p->depth = (int) v;
	else if (strcmp(name, "eta") == 0)
		p->eta = v;
	else
		return RS_EINVAL;
	return 0;
}

static const char *
tune_flag(const char *name)
{
	if (strcmp(name, "seq_weight") == 0)
		return "seq-weight";
	if (strcmp(name, "half_life") == 0)
		return "half-life";
	return name;
}

typedef struct grid {
	int np, nv[TUNE_MAX_PARAMS];
	char name[TUNE_MAX_PARAMS][32];
	double v[TUNE_MAX_PARAMS][TUNE_MAX_VALUES];
} grid;

static int
tune_parse_grid(const char *s, grid *g, tr_error *err)
{
	char buf[512], *part, *save = NULL;
	tr_params probe;

	memset(g, 0, sizeof(*g));
	snprintf(buf, sizeof(buf), "%s", s);
	for (part = strtok_r(buf, ";", &save); part != NULL; part = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(part, '='), *tok, *s2 = NULL;
		if (eq == NULL || g->np == TUNE_MAX_PARAMS)
			return tr_error_set(err, RS_EINVAL,
			                    "--grid: expected 'name=v1,v2;name=...'");
		*eq = '\0';
		snprintf(g->name[g->np], sizeof(g->name[0]), "%s", part);
		if (tr_params_set(&probe, part, 0) != 0)
			return tr_error_set(err, RS_EINVAL, "--grid: unknown parameter '%s'", part);
		for (tok = strtok_r(eq + 1, ",", &s2); tok != NULL;
		     tok = strtok_r(NULL, ",", &s2)) {
			char *e;
			if (g->nv[g->np] == TUNE_MAX_VALUES)
				return tr_error_set(err, RS_EINVAL,
				                    "--grid: at most %d values per name",
				                    TUNE_MAX_VALUES);
			g->v[g->np][g->nv[g->np]++] = strtod(tok, &e);
			if (*e != '\0')
				return tr_error_set(err, RS_EINVAL, "--grid: '%s' is not a number",
				                    tok);
		}
		if (g->nv[g->np] == 0)
			return tr_error_set(err, RS_EINVAL, "--grid: no values for '%s'", part);
		g->np++;
	}
	return 0;
}

/* The validation set a grid is scored on: a sub-train without the held-out rows, and the held
 * rows whose user and item are in it. tune_val_fini frees it. */
typedef struct tune_val {
	tr_dataset sub;
	int32_t *vu, *vi; /* the validation rows (nv) */
	int32_t *users;   /* their distinct users (nusers), in user order */
	int64_t nv, nusers;
	int32_t *recs, *ru; /* nusers x k recommendations, then flattened with ru */
	double *rr;         /* ... and their ranks */
	int *counts;        /* recommendations per user */
} tune_val;

static void
tune_val_fini(tune_val *v)
{
	free(v->vu);
	free(v->vi);
	free(v->users);
	free(v->recs);
	free(v->ru);
	free(v->rr);
	free(v->counts);
	tr_dataset_fini(&v->sub);
}

/* The validation set of ds under o's protocol. 0 or an error (v to be freed either way). */
static int
tune_val_init(const tr_dataset *ds, const tr_tune_opts *o, tune_val *v, tr_error *err)
{
	unsigned char *held = tr_xmalloc((size_t) ds->nnz + 1), *keep, *item_in, *user_has;
	int64_t e;
	int32_t u;
	int rv;

	memset(v, 0, sizeof(*v));
	if ((rv = tr_dataset_holdout_protocol(ds, o->protocol, o->test_frac, o->min_holdout, 12345,
	                                      held, err)) != 0) {
		free(held);
		return rv;
	}
	keep = tr_xmalloc((size_t) ds->nnz + 1);
	for (e = 0; e < ds->nnz; e++)
		keep[e] = !held[e];
	tr_dataset_subset(ds, keep, &v->sub);
	free(keep);
	/* validation rows: held out, user and item present in the sub-train */
	item_in = tr_xcalloc((size_t) ds->n_items + 1, 1);
	user_has = tr_xcalloc((size_t) ds->n_users + 1, 1);
	for (e = 0; e < v->sub.nnz; e++)
		item_in[v->sub.u_items[e]] = 1;
	v->vu = tr_xmalloc((size_t) ds->nnz * sizeof(int32_t) + 4);
	v->vi = tr_xmalloc((size_t) ds->nnz * sizeof(int32_t) + 4);
	v->users = tr_xmalloc(((size_t) ds->n_users + 1) * sizeof(int32_t));
	for (u = 0; u < ds->n_users; u++)
		for (e = ds->u_ptr[u]; e < ds->u_ptr[u + 1]; e++)
			if (held[e] && item_in[ds->u_items[e]] &&
			    v->sub.u_ptr[u + 1] > v->sub.u_ptr[u]) {
				v->vu[v->nv] = u;
				v->vi[v->nv] = ds->u_items[e];
				v->nv++;
				if (!user_has[u]) {
					user_has[u] = 1;
					v->users[v->nusers++] = u;
				}
			}
	free(held);
	free(item_in);
	free(user_has);
	if (v->nv == 0)
		return tr_error_set(err, RS_EINVAL, "tune: the validation split is empty");
	v->recs = tr_xmalloc((size_t) v->nusers * (size_t) o->k * sizeof(int32_t));
	v->ru = tr_xmalloc((size_t) v->nusers * (size_t) o->k * sizeof(int32_t));
	v->rr = tr_xmalloc((size_t) v->nusers * (size_t) o->k * sizeof(double));
	v->counts = tr_xcalloc((size_t) v->nusers, sizeof(int));
	return 0;
}

/* One grid point q fitted on the sub-train and scored on the validation rows: 0 with *met, or
 * an error (RS_ETOOBIG: the point does not fit the memory budget). */
static int
tune_score(const tr_dataset *ds, const tr_tune_opts *o, tune_val *v, const tr_params *q,
           tr_metrics *met, tr_error *err)
{
	tr_model m;
	tr_eval_input in;
	int k = o->k, rv;
	int64_t nr = 0, j;

	if ((rv = tr_model_fit(o->kind, q, &v->sub, &m, err)) != 0)
		return rv;
	rv = tr_recommend_batch(&m, &v->sub, v->users, (size_t) v->nusers, k, v->recs, v->counts,
	                        err);
	tr_model_fini(&m);
	if (rv != 0)
		return rv;
	/* recs is flattened in place: the flat copy never overtakes the row it reads */
	for (j = 0; j < v->nusers; j++)
		for (int p = 0; p < v->counts[j]; p++) {
			v->ru[nr] = v->users[j];
			v->recs[nr] = v->recs[j * k + p];
			v->rr[nr] = p + 1;
			nr++;
		}
	memset(&in, 0, sizeof(in));
	in.n_users = ds->n_users;
	in.n_items = ds->n_items;
	in.n_test = v->nv;
	in.test_u = v->vu;
	in.test_i = v->vi;
	in.n_recs = nr;
	in.rec_u = v->ru;
	in.rec_i = v->recs;
	in.rec_rank = v->rr;
	tr_metrics_compute(&in, &k, 1, 0, met);
	return 0;
}

int
tr_tune_run(const tr_dataset *ds, const tr_params *base, const tr_tune_opts *o, tr_params *best,
            double *best_ndcg, char *args, size_t n, tr_error *err)
{
	grid g;
	tune_val v;
	int idx[TUNE_MAX_PARAMS], rv, p, k = o->k, found = 0;

	if ((rv = tune_parse_grid(o->grid ? o->grid : default_grids[o->kind], &g, err)) != 0)
		return rv;
	if ((rv = tune_val_init(ds, o, &v, err)) != 0)
		goto out;
	if (o->log)
		fprintf(o->log,
		        "tune %s: protocol %s, sub-train %lld, validation %lld rows / %lld users\n",
		        tr_kind_name(o->kind), o->protocol, (long long) v.sub.nnz, (long long) v.nv,
		        (long long) v.nusers);
	memset(idx, 0, sizeof(idx));
	*best_ndcg = -1;
	for (;;) {
		tr_params q = *base;
		tr_metrics met;
		char desc[256] = "";
		size_t used = 0;
		double t0 = tr_now();

		for (p = 0; p < g.np; p++) {
			tr_params_set(&q, g.name[p], g.v[p][idx[p]]);
			used += (size_t) snprintf(desc + used, sizeof(desc) - used, "%s--%s %g",
			                          p ? " " : "", tune_flag(g.name[p]),
			                          g.v[p][idx[p]]);
		}
		rv = tune_score(ds, o, &v, &q, &met, err);
		if (rv == RS_ETOOBIG) {
			if (o->log)
				fprintf(o->log, "  %s: skipped (%s)\n", desc, err->msg);
			rv = 0;
		} else if (rv != 0) {
			goto out;
		} else {
			if (o->log)
				fprintf(o->log, "  %-40s NDCG@%d %.4f  Recall@%d %.4f  %.2fs\n",
				        desc, k, met.val[0][TR_M_NDCG], k, met.val[0][TR_M_RECALL],
				        tr_now() - t0);
			if (met.val[0][TR_M_NDCG] > *best_ndcg) {
				*best_ndcg = met.val[0][TR_M_NDCG];
				*best = q;
				snprintf(args, n, "%s", desc);
				found = 1;
			}
		}
		for (p = 0; p < g.np; p++) { /* next grid point */
			if (++idx[p] < g.nv[p])
				break;
			idx[p] = 0;
		}
		if (p == g.np)
			break;
	}
	if (!found)
		rv = tr_error_set(err, RS_ETOOBIG, "tune: no grid point could be fitted");
out:
	tune_val_fini(&v);
	return rv;
}
