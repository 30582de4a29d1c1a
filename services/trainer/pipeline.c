/* pipeline: see pipeline.h. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "pipeline.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "publish.h"
#include "recommend.h"
#include "registry.h"
#include "rs_err.h"
#include "rs_event.h"
#include "rs_proc.h"
#include "runlog.h"
#include "snapshot.h"
#include "tune.h"

#define PL_K           20 /* metric cut-offs: 10 and 20; models are ranked by NDCG@20 */
#define PL_TEST_FRAC   0.2
#define PL_MIN_HOLDOUT 5

/* bounded grids for the shop-sized data (rs-train tune's defaults are for benchmarks) */
static const char *const pl_grids[TR_KIND_COUNT] = {
        "half_life=0,86400,604800",                  /* pop: seconds (1 day, 1 week) */
        "k=50,200;shrink=0,10",                      /* itemknn */
        "factors=32,64;reg=1,10;alpha=0.05,0.1,0.5", /* als: c = 1 + alpha w, w up to ~50 */
        "lambda=50,200,500",                         /* ease */
        NULL,                                        /* two-stage: its sources' tuned values */
};

void
tr_pipeline_opts_defaults(tr_pipeline_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->models = TR_PIPELINE_MODELS;
	o->tune = 1;
	o->activate = 1;
	rs_event_weights_defaults(&o->weights);
	rs_event_weights_format(&o->weights, o->weights_spec, sizeof(o->weights_spec));
	tr_params_defaults(&o->base);
	o->base.alpha = 0.1; /* event weights (1-8 per event, summed) already scale c */
	o->out = stdout;
}

/* ------------------------------------------------------------------ helpers */

static int
pl_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	return remove(path);
}

/* pl_rm_rf: remove a folder we created (best effort) */
static void
pl_rm_rf(const char *path)
{
	struct stat st;

	if (path[0] != '\0' && stat(path, &st) == 0)
		nftw(path, pl_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
pl_step(const char *what, int done, int total, double t0)
{
	char line[128];

	snprintf(line, sizeof(line), "pipeline: %-28s", what);
	tr_progress(line, (size_t) done, (size_t) total, t0);
}

/* the data of one evaluation: the split and the test rows */
typedef struct pl_split {
	tr_dataset train;
	int32_t *test_u, *test_i, *users; /* rows; distinct test users */
	int32_t *train_u;                 /* per train entry its user (for metrics) */
	int64_t n_test, n_users;
} pl_split;

static void
pl_split_make(const tr_dataset *ds, pl_split *s)
{
	unsigned char *held = tr_xmalloc((size_t) ds->nnz + 1), *keep, *item_in, *user_in;
	int64_t e;
	int32_t u;

	memset(s, 0, sizeof(*s));
	tr_dataset_holdout(ds, PL_TEST_FRAC, PL_MIN_HOLDOUT, held);
	keep = tr_xmalloc((size_t) ds->nnz + 1);
	for (e = 0; e < ds->nnz; e++)
		keep[e] = !held[e];
	tr_dataset_subset(ds, keep, &s->train);
	free(keep);
	item_in = tr_xcalloc((size_t) ds->n_items + 1, 1);
	user_in = tr_xcalloc((size_t) ds->n_users + 1, 1);
	for (e = 0; e < s->train.nnz; e++)
		item_in[s->train.u_items[e]] = 1;
	s->test_u = tr_xmalloc(((size_t) ds->nnz + 1) * sizeof(int32_t));
	s->test_i = tr_xmalloc(((size_t) ds->nnz + 1) * sizeof(int32_t));
	s->users = tr_xmalloc(((size_t) ds->n_users + 1) * sizeof(int32_t));
	for (u = 0; u < ds->n_users; u++)
		for (e = ds->u_ptr[u]; e < ds->u_ptr[u + 1]; e++)
			if (held[e] && item_in[ds->u_items[e]]) { /* cold test items dropped */
				s->test_u[s->n_test] = u;
				s->test_i[s->n_test++] = ds->u_items[e];
				if (!user_in[u]) {
					user_in[u] = 1;
					s->users[s->n_users++] = u;
				}
			}
	s->train_u = tr_xmalloc(((size_t) s->train.nnz + 1) * sizeof(int32_t));
	for (u = 0; u < s->train.n_users; u++)
		for (e = s->train.u_ptr[u]; e < s->train.u_ptr[u + 1]; e++)
			s->train_u[e] = u;
	free(held);
	free(item_in);
	free(user_in);
}

static void
pl_split_free(pl_split *s)
{
	tr_dataset_fini(&s->train);
	free(s->test_u);
	free(s->test_i);
	free(s->users);
	free(s->train_u);
	memset(s, 0, sizeof(*s));
}

/* pl_evaluate: top-20 lists for the test users, scored like `rs-train evaluate` */
static int
pl_evaluate(const tr_model *m, const pl_split *s, tr_metrics *met, tr_error *err)
{
	static const int ks[2] = {10, PL_K};
	size_t n = (size_t) s->n_users;
	int32_t *recs = tr_xmalloc((n + 1) * PL_K * sizeof(int32_t));
	int32_t *ru = tr_xmalloc((n + 1) * PL_K * sizeof(int32_t));
	double *rr = tr_xmalloc((n + 1) * PL_K * sizeof(double));
	int *counts = tr_xcalloc(n + 1, sizeof(int)), rv, r;
	int64_t nr = 0;
	size_t j;
	tr_eval_input in;

	rv = tr_recommend_batch(m, &s->train, s->users, n, PL_K, recs, counts, err);
	if (rv == 0) {
		for (j = 0; j < n; j++)
			for (r = 0; r < counts[j]; r++) {
				ru[nr] = s->users[j];
				recs[nr] = recs[j * PL_K + (size_t) r]; /* compacts in place */
				rr[nr++] = r + 1;
			}
		memset(&in, 0, sizeof(in));
		in.n_users = s->train.n_users;
		in.n_items = s->train.n_items;
		in.n_test = s->n_test;
		in.test_u = s->test_u;
		in.test_i = s->test_i;
		in.n_train = s->train.nnz;
		in.train_u = s->train_u;
		in.train_i = s->train.u_items;
		in.n_recs = nr;
		in.rec_u = ru;
		in.rec_i = recs;
		in.rec_rank = rr;
		tr_metrics_compute(&in, ks, 2, 0, met);
	}
	free(recs);
	free(ru);
	free(rr);
	free(counts);
	return rv;
}

static json_t *
pl_metrics_json(const tr_metrics *m, double fit_s)
{
	json_t *o = json_object();
	char name[64];

	for (int q = 0; q < m->nk; q++)
		for (int x = 0; x < TR_M_COUNT; x++) {
			snprintf(name, sizeof(name), "%s@%d", tr_metric_names[x], m->ks[q]);
			json_object_set_new(o, name, json_real(m->val[q][x]));
		}
	json_object_set_new(o, "fit_seconds", json_real(fit_s));
	json_object_set_new(o, "test_users", json_integer((json_int_t) m->users_evaluated));
	return o;
}

/* pl_merge: copy the keys of add into o and drop add */
static void
pl_merge(json_t *o, json_t *add)
{
	if (add != NULL)
		json_object_update(o, add);
	json_decref(add);
}

/* pl_params_json: the parameters that matter for kind */
static json_t *
pl_params_json(tr_kind kind, const tr_params *p, const char *weights)
{
	json_t *o = json_pack("{s:s, s:s}", "model", tr_kind_name(kind), "weights", weights);

	switch (kind) {
	case TR_POP:
		json_object_set_new(o, "half_life", json_real(p->half_life));
		break;
	case TR_ITEMKNN:
		pl_merge(o, json_pack("{s:i, s:f}", "k", p->knn_k, "shrink", p->shrink));
		break;
	case TR_ALS:
		pl_merge(o, json_pack("{s:i, s:i, s:f, s:f}", "factors", p->factors, "iterations",
		                      p->iterations, "reg", p->reg, "alpha", p->alpha));
		break;
	case TR_EASE:
		json_object_set_new(o, "lambda", json_real(p->lambda));
		break;
	default:
		pl_merge(o, json_pack("{s:s, s:i, s:i, s:i, s:f, s:i, s:f, s:i, s:f, s:f, "
		                      "s:f, s:f}",
		                      "sources", p->sources, "candidates", p->cand_n, "trees",
		                      p->trees, "depth", p->depth, "eta", p->eta, "k", p->knn_k,
		                      "shrink", p->shrink, "factors", p->factors, "reg", p->reg,
		                      "alpha", p->alpha, "lambda", p->lambda, "half_life",
		                      p->half_life));
	}
	return o;
}

/* pl_dump: compact JSON text (caller frees) */
static char *
pl_dump(const json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
}

/* pl_version_name: vYYYYMMDD-HHMMSS-xxxxxx (UTC) */
static void
pl_version_name(char *buf, size_t n)
{
	char when[32], rnd[8];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y%m%d-%H%M%S", &tm);
	rs_proc_random_id(rnd, sizeof(rnd) - 1);
	snprintf(buf, n, "v%s-%s", when, rnd);
}

static int
pl_version_ok(const char *v, tr_error *err)
{
	size_t i;

	if (v[0] == '\0' || v[0] == '.' || strlen(v) > 60)
		return tr_error_set(err, RS_EINVAL,
		                    "--version '%s': 1-60 characters, not starting "
		                    "with '.'",
		                    v);
	for (i = 0; v[i]; i++)
		if (!(v[i] == '-' || v[i] == '_' || v[i] == '.' || (v[i] >= '0' && v[i] <= '9') ||
		      (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z')))
			return tr_error_set(err, RS_EINVAL,
			                    "--version '%s': only letters, digits, '.', '-', '_'",
			                    v);
	return 0;
}

/* ------------------------------------------------------------------ the run */

typedef struct pl_model {
	tr_kind kind;
	int ok; /* fitted and evaluated */
	tr_params p;
	tr_metrics met;
	double fit_s, tune_s, tune_ndcg;
	char note[160]; /* why it was skipped */
} pl_model;

typedef struct pl_run {
	const tr_pipeline_opts *o;
	tr_pipeline_result *res;
	PGconn *pg;
	double t0;
	json_t *durations, *metrics, *params;
	tr_dataset ds;
	pl_split split;
	pl_model models[TR_KIND_COUNT];
	int nmodels, steps, step;
	char fingerprint[24];
	char work[4096], tmp[4096], final[4096];
	int published; /* final folder exists (remove it if registration fails) */
} pl_run;

static void
pl_duration(pl_run *r, const char *name, double since)
{
	json_object_set_new(r->durations, name, json_real(tr_now() - since));
}

static int
pl_parse_models(pl_run *r, tr_error *err)
{
	char *copy = tr_xstrdup(r->o->models), *save = NULL, *tok;
	int rv = 0, seen[TR_KIND_COUNT] = {0};

	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		tr_kind k;
		if ((rv = tr_kind_parse(tok, &k, err)) != 0)
			break;
		if (seen[k]++)
			continue;
		r->models[r->nmodels].kind = k;
		r->models[r->nmodels++].p = r->o->base;
	}
	free(copy);
	if (rv == 0 && r->nmodels == 0)
		rv = tr_error_set(err, RS_EINVAL, "--models: no model given");
	return rv;
}

static int
pl_snapshot(pl_run *r, tr_error *err)
{
	tr_event_log log;
	tr_snapshot_info info;
	double t = tr_now();
	int rv;

	tr_event_log_init(&log);
	rv = tr_snapshot_events(r->pg, &log, &info, err);
	if (rv == 0 && info.events == 0)
		rv = tr_error_set(err, RS_EINVAL,
		                  "snapshot: the event store has no events; load some first "
		                  "(rs-train generate --dsn ..., rs-train import, or the gateway)");
	if (rv == 0 && (rv = tr_events_build(&log, &r->o->weights, &r->ds, err)) != 0) {
		char why[sizeof(err->msg)];
		snprintf(why, sizeof(why), "%s", err->msg);
		rv = tr_error_set(err, rv, "snapshot: %.700s", why);
	}
	tr_event_log_fini(&log);
	if (rv != 0)
		return rv;
	snprintf(r->fingerprint, sizeof(r->fingerprint), "%016" PRIx64, r->ds.fingerprint);
	json_object_set_new(r->params, "data",
	                    json_pack("{s:I, s:I, s:i, s:i, s:I, s:I, s:f, s:f}", "events",
	                              (json_int_t) info.events, "catalog_items",
	                              (json_int_t) info.catalog, "users", r->ds.n_users, "items",
	                              r->ds.n_items, "interactions", (json_int_t) r->ds.nnz,
	                              "negatives", (json_int_t) r->ds.n_neg, "first_ts", info.t_min,
	                              "last_ts", info.t_max));
	pl_duration(r, "snapshot", t);
	return 0;
}

/* pl_one: tune (optional), fit on train, evaluate on test; a model EASE cannot hold is
 * skipped with a note, any other failure fails the run */
static int
pl_one(pl_run *r, pl_model *pm, const tr_params *tuned, tr_error *err)
{
	tr_model m;
	double t;
	int rv;
	char label[64];

	if (pm->kind == TR_TWOSTAGE) { /* the sources' tuned values, only sources that fitted */
		char src[128] = "";
		size_t used = 0;
		pm->p = *tuned;
		for (int a = 0; a < r->nmodels; a++)
			if (r->models[a].kind != TR_TWOSTAGE && r->models[a].ok)
				used += (size_t) snprintf(src + used, sizeof(src) - used, "%s%s",
				                          used ? "," : "",
				                          tr_kind_name(r->models[a].kind));
		if (used == 0)
			snprintf(src, sizeof(src), "%s", "als,itemknn,pop");
		snprintf(pm->p.sources, sizeof(pm->p.sources), "%s", src);
	} else if (r->o->tune && pl_grids[pm->kind] != NULL) {
		tr_tune_opts to;
		char args[512];
		tr_params best;
		memset(&to, 0, sizeof(to));
		to.kind = pm->kind;
		to.grid = pl_grids[pm->kind];
		to.protocol = "temporal-user";
		to.test_frac = PL_TEST_FRAC;
		to.min_holdout = PL_MIN_HOLDOUT;
		to.k = PL_K;
		snprintf(label, sizeof(label), "tune %s", tr_kind_name(pm->kind));
		pl_step(label, r->step, r->steps, r->t0);
		t = tr_now();
		rv = tr_tune_run(&r->split.train, &pm->p, &to, &best, &pm->tune_ndcg, args,
		                 sizeof(args), err);
		pm->tune_s = tr_now() - t;
		if (rv == RS_ETOOBIG) {
			snprintf(pm->note, sizeof(pm->note), "%.150s", err->msg);
			return 0;
		}
		if (rv != 0)
			return rv;
		pm->p = best;
	}
	snprintf(label, sizeof(label), "fit %s", tr_kind_name(pm->kind));
	pl_step(label, r->step, r->steps, r->t0);
	t = tr_now();
	rv = tr_model_fit(pm->kind, &pm->p, &r->split.train, &m, err);
	if (rv == RS_ETOOBIG) { /* EASE refuses a catalog it cannot hold: skip, say why */
		snprintf(pm->note, sizeof(pm->note), "%.150s", err->msg);
		return 0;
	}
	if (rv != 0)
		return rv;
	pm->fit_s = tr_now() - t;
	if (pm->kind == TR_TWOSTAGE)
		pm->p = m.params; /* sources actually used, fallback */
	rv = pl_evaluate(&m, &r->split, &pm->met, err);
	tr_model_fini(&m);
	if (rv == 0)
		pm->ok = 1;
	return rv;
}

static void
pl_merge_tuned(tr_params *t, const pl_model *pm)
{
	switch (pm->kind) {
	case TR_POP:
		t->half_life = pm->p.half_life;
		break;
	case TR_ITEMKNN:
		t->knn_k = pm->p.knn_k;
		t->shrink = pm->p.shrink;
		break;
	case TR_ALS:
		t->factors = pm->p.factors;
		t->reg = pm->p.reg;
		t->alpha = pm->p.alpha;
		break;
	case TR_EASE:
		t->lambda = pm->p.lambda;
		break;
	default:
		break;
	}
}

static void
pl_table(pl_run *r, int best)
{
	FILE *f = r->o->out;
	double pop = -1;

	if (f == NULL)
		return;
	for (int a = 0; a < r->nmodels; a++)
		if (r->models[a].kind == TR_POP && r->models[a].ok)
			pop = r->models[a].met.val[1][TR_M_NDCG];
	fprintf(f,
	        "\nmodels on the test split (%lld users, %lld interactions; per-user temporal "
	        "80/20):\n\n"
	        "| model | NDCG@20 | Recall@20 | HitRate@10 | MAP@20 | MRR@20 | Coverage@20 | "
	        "vs pop | tune s | fit s |\n"
	        "|---|---|---|---|---|---|---|---|---|---|\n",
	        (long long) r->split.n_users, (long long) r->split.n_test);
	for (int a = 0; a < r->nmodels; a++) {
		const pl_model *pm = &r->models[a];
		if (!pm->ok) {
			fprintf(f, "| %s | skipped: %s |||||||||\n", tr_kind_name(pm->kind),
			        pm->note[0] ? pm->note : "not fitted");
			continue;
		}
		char vs[32] = "-";
		if (pop > 0)
			snprintf(vs, sizeof(vs), "%+.1f%%",
			         100.0 * (pm->met.val[1][TR_M_NDCG] / pop - 1.0));
		fprintf(f,
		        "| %s%s | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %s | %.2f | %.2f |\n",
		        tr_kind_name(pm->kind), a == best ? " (best)" : "",
		        pm->met.val[1][TR_M_NDCG], pm->met.val[1][TR_M_RECALL],
		        pm->met.val[0][TR_M_HITRATE], pm->met.val[1][TR_M_MAP],
		        pm->met.val[1][TR_M_MRR], pm->met.val[1][TR_M_COVERAGE], vs, pm->tune_s,
		        pm->fit_s);
	}
	fputc('\n', f);
}

/* pl_publish: refit the winner on all the data, publish the version folder atomically */
static int
pl_publish(pl_run *r, const pl_model *best, tr_error *err)
{
	const tr_pipeline_opts *o = r->o;
	tr_pipeline_result *res = r->res;
	char model_dir[4200], metrics_path[4200], store[4200];
	tr_model m;
	json_t *mj;
	double t = tr_now();
	int rv, exists = 0;

	if ((rv = tr_mkdir_p(o->models_dir, err)) != 0)
		return rv;
	for (int attempt = 0;; attempt++) { /* a name never used before, on disk or in the db */
		struct stat st;
		if (o->version != NULL)
			snprintf(res->version, sizeof(res->version), "%s", o->version);
		else
			pl_version_name(res->version, sizeof(res->version));
		snprintf(r->final, sizeof(r->final), "%s/%s", o->models_dir, res->version);
		if ((rv = tr_registry_version_exists(r->pg, res->version, &exists, err)) != 0)
			return rv;
		if (!exists && stat(r->final, &st) != 0)
			break;
		if (o->version != NULL || attempt >= 5)
			return tr_error_set(err, RS_EEXIST,
			                    "model version %s already exists (%s); versions are "
			                    "immutable, pick another name",
			                    res->version, exists ? "in model_versions" : r->final);
	}
	snprintf(r->work, sizeof(r->work), "%s/.work-%s", o->models_dir, res->version);
	snprintf(r->tmp, sizeof(r->tmp), "%s/.tmp-%s", o->models_dir, res->version);
	snprintf(model_dir, sizeof(model_dir), "%s/model", r->work);
	snprintf(metrics_path, sizeof(metrics_path), "%s/metrics.json", r->work);

	pl_step("refit on all data", r->step, r->steps, r->t0);
	if ((rv = tr_model_fit(best->kind, &best->p, &r->ds, &m, err)) != 0)
		return rv;
	snprintf(m.params.weights, sizeof(m.params.weights), "%s", o->weights_spec);
	rv = tr_model_save(&m, &r->ds, model_dir, err);
	pl_duration(r, "refit", t);
	if (rv == 0) {
		rv = tr_metrics_json(&best->met, metrics_path, err);
	}
	t = tr_now();
	if (rv == 0) {
		pl_step("publish", ++r->step, r->steps, r->t0);
		rv = tr_publish(model_dir, r->tmp, metrics_path, err);
	}
	if (rv == 0 && rename(r->tmp, r->final) != 0)
		rv = tr_error_set(err, RS_EIO, "%s -> %s: %s", r->tmp, r->final, strerror(errno));
	if (rv == 0)
		r->published = 1;
	pl_duration(r, "publish", t);
	if (rv == 0) { /* MLflow-compatible record of the same run (same id) */
		snprintf(store, sizeof(store), "%s/mlruns", o->models_dir);
		rv = tr_runlog_fit_as(o->mlruns != NULL ? o->mlruns : store, "pipeline", &m,
		                      "postgresql:events", r->final, res->run_id, tr_now() - r->t0,
		                      err);
		for (int q = 0; rv == 0 && q < best->met.nk; q++)
			for (int x = 0; rv == 0 && x < TR_M_PER_USER; x++) {
				char name[64];
				snprintf(name, sizeof(name), "%s_at_%d", tr_metric_names[x],
				         best->met.ks[q]);
				rv = tr_runlog_metric(o->mlruns != NULL ? o->mlruns : store,
				                      "pipeline", res->run_id, name,
				                      best->met.val[q][x], err);
			}
		if (rv == 0)
			rv = tr_runlog_tag(o->mlruns != NULL ? o->mlruns : store, "pipeline",
			                   res->run_id, "model.version", res->version, err);
	}
	tr_model_fini(&m);
	if (rv != 0)
		return rv;

	t = tr_now();
	pl_step(o->activate ? "register + activate" : "register", ++r->step, r->steps, r->t0);
	mj = pl_metrics_json(&best->met, best->fit_s);
	{
		char *metrics = NULL, *params = NULL;
		json_t *pj = pl_params_json(best->kind, &best->p, o->weights_spec);
		json_object_set_new(mj, "model", json_string(tr_kind_name(best->kind)));
		for (int a = 0; a < r->nmodels; a++)
			if (r->models[a].kind == TR_POP && r->models[a].ok)
				json_object_set_new(mj, "pop_NDCG@20",
				                    json_real(r->models[a].met.val[1][TR_M_NDCG]));
		metrics = pl_dump(mj);
		params = pl_dump(pj);
		rv = tr_registry_activate_new(r->pg, res->version, res->version, metrics, params,
		                              r->fingerprint, res->run_id, o->activate,
		                              res->previous, sizeof(res->previous), err);
		free(metrics);
		free(params);
		json_decref(pj);
	}
	json_decref(mj);
	pl_duration(r, "register", t);
	return rv;
}

static int
pl_body(pl_run *r, tr_error *err)
{
	const tr_pipeline_opts *o = r->o;
	tr_params tuned = o->base;
	double t;
	int rv, best = -1;

	pl_step("snapshot", r->step, r->steps, r->t0);
	if ((rv = pl_snapshot(r, err)) != 0)
		return rv;
	pl_step("split", ++r->step, r->steps, r->t0);
	t = tr_now();
	pl_split_make(&r->ds, &r->split);
	pl_duration(r, "split", t);
	if (r->split.n_test == 0)
		return tr_error_set(err, RS_EINVAL,
		                    "split: no test interactions (%d users, %lld interactions; a "
		                    "user needs %d interactions to be tested)",
		                    r->ds.n_users, (long long) r->ds.nnz, PL_MIN_HOLDOUT);
	r->step++;
	t = tr_now();
	for (int a = 0; a < r->nmodels; a++, r->step++) { /* two-stage last: it uses the others */
		pl_model *pm = &r->models[a];
		if (pm->kind == TR_TWOSTAGE)
			continue;
		if ((rv = pl_one(r, pm, &tuned, err)) != 0)
			return rv;
		if (pm->ok)
			pl_merge_tuned(&tuned, pm);
	}
	for (int a = 0; a < r->nmodels; a++)
		if (r->models[a].kind == TR_TWOSTAGE &&
		    (rv = pl_one(r, &r->models[a], &tuned, err)) != 0)
			return rv;
	pl_duration(r, "models", t);
	for (int a = 0; a < r->nmodels; a++) {
		pl_model *pm = &r->models[a];
		json_t *mj;
		if (!pm->ok) {
			json_object_set_new(r->metrics, tr_kind_name(pm->kind),
			                    json_pack("{s:s}", "skipped", pm->note));
			continue;
		}
		mj = pl_metrics_json(&pm->met, pm->fit_s);
		json_object_set_new(mj, "params",
		                    pl_params_json(pm->kind, &pm->p, o->weights_spec));
		json_object_set_new(r->metrics, tr_kind_name(pm->kind), mj);
		/* strictly better wins: ties keep the simpler model listed first */
		if (best < 0 || pm->met.val[1][TR_M_NDCG] > r->models[best].met.val[1][TR_M_NDCG])
			best = a;
	}
	if (best < 0)
		return tr_error_set(err, RS_EINVAL, "no model could be fitted");
	pl_table(r, best);
	json_object_set_new(r->metrics, "best", json_string(tr_kind_name(r->models[best].kind)));
	snprintf(r->res->model, sizeof(r->res->model), "%s", tr_kind_name(r->models[best].kind));
	r->res->ndcg = r->models[best].met.val[1][TR_M_NDCG];
	r->res->ndcg_pop = -1;
	for (int a = 0; a < r->nmodels; a++)
		if (r->models[a].kind == TR_POP && r->models[a].ok)
			r->res->ndcg_pop = r->models[a].met.val[1][TR_M_NDCG];
	return pl_publish(r, &r->models[best], err);
}

int
tr_pipeline_run(const tr_pipeline_opts *o, tr_pipeline_result *res, tr_error *err)
{
	pl_run r;
	char git[96], *params = NULL, *metrics = NULL, *durations = NULL;
	int rv;
	tr_error ferr;

	memset(&r, 0, sizeof(r));
	memset(res, 0, sizeof(*res));
	r.o = o;
	r.res = res;
	r.t0 = tr_now();
	if (o->dsn == NULL || o->models_dir == NULL)
		return tr_error_set(err, RS_EINVAL, "--dsn and --models-dir are required");
	if (o->version != NULL && (rv = pl_version_ok(o->version, err)) != 0)
		return rv;
	if ((rv = pl_parse_models(&r, err)) != 0)
		return rv;
	if ((rv = tr_registry_connect(o->dsn, &r.pg, err)) != 0)
		return rv;
	r.steps = 3 + r.nmodels + 2; /* snapshot, split, models..., refit, publish, register */
	r.durations = json_object();
	r.metrics = json_object();
	r.params = json_pack("{s:s, s:b, s:s}", "models", o->models, "tune", o->tune, "weights",
	                     o->weights_spec);
	rs_proc_random_id(res->run_id, sizeof(res->run_id));
	tr_git_revision(git, sizeof(git));
	params = pl_dump(r.params);
	rv = tr_registry_run_start(r.pg, res->run_id, "pipeline", params, git, err);
	free(params);
	if (rv == 0 && o->version != NULL) { /* a taken name fails before any work */
		int exists = 0;
		struct stat st;
		snprintf(r.final, sizeof(r.final), "%s/%s", o->models_dir, o->version);
		if ((rv = tr_registry_version_exists(r.pg, o->version, &exists, err)) == 0 &&
		    (exists || stat(r.final, &st) == 0))
			rv = tr_error_set(err, RS_EEXIST,
			                  "model version %s already exists (%s); versions are "
			                  "immutable, pick another name",
			                  o->version, exists ? "in model_versions" : r.final);
	}
	if (rv == 0)
		rv = pl_body(&r, err);
	if (rv != 0 && r.published) { /* registration failed: the folder never was a version */
		pl_rm_rf(r.final);
		r.published = 0;
	}
	pl_rm_rf(r.work);
	pl_rm_rf(r.tmp);
	res->seconds = tr_now() - r.t0;
	json_object_set_new(r.durations, "total", json_real(res->seconds));
	if (rv != RS_EUNAVAIL || PQstatus(r.pg) == CONNECTION_OK) {
		/* the run's record, also for a failed run (best effort then: the first error wins)
		 */
		params = pl_dump(r.params);
		metrics = pl_dump(r.metrics);
		durations = pl_dump(r.durations);
		/* after a successful activation the version stays active: only warn */
		if (tr_registry_run_finish(
		            r.pg, res->run_id, rv == 0 ? "finished" : "failed", params, metrics,
		            durations, r.fingerprint[0] ? r.fingerprint : NULL,
		            rv == 0 ? res->version : NULL, rv == 0 ? NULL : err->msg, &ferr) != 0)
			fprintf(stderr, "rs-train pipeline: warning: run %s not recorded: %s\n",
			        res->run_id, ferr.msg);
		free(params);
		free(metrics);
		free(durations);
	}
	pl_step("done", r.steps, r.steps, r.t0);
	json_decref(r.durations);
	json_decref(r.metrics);
	json_decref(r.params);
	pl_split_free(&r.split);
	tr_dataset_fini(&r.ds);
	PQfinish(r.pg);
	return rv;
}
