/* pipeline: see pipeline.h. */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include "pipeline.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dsfile.h"
#include "metrics.h"
#include "publish.h"
#include "recommend.h"
#include "registry.h"
#include "rs_err.h"
#include "rs_event.h"
#include "rs_proc.h"
#include "runfolder.h"
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
	int ok; /* fit: fitted and saved; evaluate, publish: also evaluated */
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
	tr_runfolder rf;
	tr_stage stage;
	int staged;                           /* one stage on its own: print its summary line */
	json_t *durations, *metrics, *params; /* this stage's durations; the run's records */
	tr_dataset ds;
	pl_split split;
	pl_model models[TR_KIND_COUNT];
	int nmodels, steps, step;
	char run_id[33];
	char fingerprint[24];
	char work[4096], tmp[4096], final[4096];
	int published; /* final folder exists (remove it if registration fails) */
} pl_run;

static const char *const pl_stage_names[TR_STAGE_COUNT] = {"snapshot", "split", "fit", "evaluate",
                                                           "publish"};
/* what each stage writes into the run folder (removed when a new run starts there) */
#define PL_SNAPSHOT_DIR "snapshot"
#define PL_SPLIT_DIR    "split"
#define PL_FIT_DIR      "fit"
#define PL_EVAL_FILE    "evaluation.json"
static const char *const pl_outputs[] = {PL_SNAPSHOT_DIR, PL_SPLIT_DIR, PL_FIT_DIR, PL_EVAL_FILE};

const char *
tr_stage_name(tr_stage s)
{
	return s >= 0 && s < TR_STAGE_COUNT ? pl_stage_names[s] : "?";
}

int
tr_stage_parse(const char *s, tr_stage *out, tr_error *err)
{
	for (int a = 0; a < TR_STAGE_COUNT; a++)
		if (strcmp(s, pl_stage_names[a]) == 0) {
			*out = (tr_stage) a;
			return 0;
		}
	return tr_error_set(err, RS_EINVAL,
	                    "unknown stage '%s' (known: snapshot, split, fit, evaluate, publish)",
	                    s);
}

static void
pl_duration(pl_run *r, const char *name, double since)
{
	json_object_set_new(r->durations, name, json_real(tr_now() - since));
}

/* pl_path: a file of the run folder */
static char *
pl_path(const pl_run *r, const char *rel, char *buf, size_t n)
{
	return tr_runfolder_path(&r->rf, rel, buf, n);
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

/* ------------------------------------------------------------------ artifacts */

/* pl_real: a double as JSON (null when not finite: jansson has no NaN) */
static json_t *
pl_real(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static double
pl_real_get(const json_t *j)
{
	return json_is_number(j) ? json_number_value(j) : NAN;
}

/* pl_params_full: every parameter of p but the thread count (a property of the process that
 * runs a stage), exactly (jansson writes doubles with 17 digits) */
static json_t *
pl_params_full(const tr_params *p)
{
	return json_pack("{s:o, s:i, s:o, s:o, s:i, s:i, s:i, s:o, s:o, s:o, s:o, s:i, s:s, s:i, "
	                 "s:i, s:i, s:i, s:i, s:o, s:o, s:s, s:s, s:s, s:I}",
	                 "half_life", pl_real(p->half_life), "knn_k", p->knn_k, "shrink",
	                 pl_real(p->shrink), "seq_weight", pl_real(p->seq_weight), "factors",
	                 p->factors, "iterations", p->iterations, "cg_steps", p->cg_steps, "reg",
	                 pl_real(p->reg), "alpha", pl_real(p->alpha), "lambda", pl_real(p->lambda),
	                 "max_mem_gb", pl_real(p->max_mem_gb), "max_items", p->max_items, "sources",
	                 p->sources, "cand_n", p->cand_n, "trees", p->trees, "depth", p->depth,
	                 "label_folds", p->label_folds, "fallback", p->fallback, "eta",
	                 pl_real(p->eta), "holdout_frac", pl_real(p->holdout_frac), "objective",
	                 p->objective, "holdout", p->holdout, "weights", p->weights, "seed",
	                 (json_int_t) p->seed);
}

/* pl_params_read: the inverse of pl_params_full into *p (nthreads kept) */
static int
pl_params_read(json_t *j, tr_params *p, const char *what, tr_error *err)
{
	json_error_t jerr;
	const char *sources = NULL, *objective = NULL, *holdout = NULL, *weights = NULL;
	json_t *hl, *sh, *sw, *reg, *alpha, *lambda, *mm, *eta, *hf;
	json_int_t seed = 0;

	if (json_unpack_ex(j, &jerr, 0,
	                   "{s:o, s:i, s:o, s:o, s:i, s:i, s:i, s:o, s:o, s:o, s:o, s:i, s:s, s:i, "
	                   "s:i, s:i, s:i, s:i, s:o, s:o, s:s, s:s, s:s, s:I}",
	                   "half_life", &hl, "knn_k", &p->knn_k, "shrink", &sh, "seq_weight", &sw,
	                   "factors", &p->factors, "iterations", &p->iterations, "cg_steps",
	                   &p->cg_steps, "reg", &reg, "alpha", &alpha, "lambda", &lambda,
	                   "max_mem_gb", &mm, "max_items", &p->max_items, "sources", &sources,
	                   "cand_n", &p->cand_n, "trees", &p->trees, "depth", &p->depth,
	                   "label_folds", &p->label_folds, "fallback", &p->fallback, "eta", &eta,
	                   "holdout_frac", &hf, "objective", &objective, "holdout", &holdout,
	                   "weights", &weights, "seed", &seed) != 0)
		return tr_error_set(err, RS_ECORRUPT, "%s: parameters: %s", what, jerr.text);
	p->half_life = pl_real_get(hl);
	p->shrink = pl_real_get(sh);
	p->seq_weight = pl_real_get(sw);
	p->reg = pl_real_get(reg);
	p->alpha = pl_real_get(alpha);
	p->lambda = pl_real_get(lambda);
	p->max_mem_gb = pl_real_get(mm);
	p->eta = pl_real_get(eta);
	p->holdout_frac = pl_real_get(hf);
	snprintf(p->sources, sizeof(p->sources), "%s", sources);
	snprintf(p->objective, sizeof(p->objective), "%s", objective);
	snprintf(p->holdout, sizeof(p->holdout), "%s", holdout);
	snprintf(p->weights, sizeof(p->weights), "%s", weights);
	p->seed = (uint64_t) seed;
	return 0;
}

/* pl_met_full: all of a tr_metrics (the published metrics.json is written from it) */
static json_t *
pl_met_full(const tr_metrics *m)
{
	json_t *ks = json_array(), *val = json_array(), *se = json_array();

	for (int q = 0; q < m->nk; q++) {
		json_t *v = json_array(), *s = json_array();
		json_array_append_new(ks, json_integer(m->ks[q]));
		for (int x = 0; x < TR_M_COUNT; x++) {
			json_array_append_new(v, pl_real(m->val[q][x]));
			json_array_append_new(s, pl_real(m->se[q][x]));
		}
		json_array_append_new(val, v);
		json_array_append_new(se, s);
	}
	return json_pack("{s:o, s:o, s:o, s:[I, I, I, I, I, I]}", "ks", ks, "val", val, "se", se,
	                 "counts", (json_int_t) m->users_evaluated,
	                 (json_int_t) m->users_without_recs, (json_int_t) m->duplicate_rows,
	                 (json_int_t) m->train_items_in_recs, (json_int_t) m->rec_rows,
	                 (json_int_t) m->test_interactions);
}

static int
pl_met_read(json_t *j, tr_metrics *m, const char *what, tr_error *err)
{
	json_t *ks = json_object_get(j, "ks"), *val = json_object_get(j, "val");
	json_t *se = json_object_get(j, "se");
	json_int_t c[6];

	memset(m, 0, sizeof(*m));
	if (json_unpack(j, "{s:[I, I, I, I, I, I]}", "counts", &c[0], &c[1], &c[2], &c[3], &c[4],
	                &c[5]) != 0 ||
	    !json_is_array(ks) || json_array_size(ks) > TR_MAX_K ||
	    json_array_size(val) != json_array_size(ks) ||
	    json_array_size(se) != json_array_size(ks))
		return tr_error_set(err, RS_ECORRUPT, "%s: bad metrics", what);
	m->nk = (int) json_array_size(ks);
	for (int q = 0; q < m->nk; q++) {
		json_t *v = json_array_get(val, (size_t) q), *s = json_array_get(se, (size_t) q);
		if (json_array_size(v) != TR_M_COUNT || json_array_size(s) != TR_M_COUNT)
			return tr_error_set(err, RS_ECORRUPT, "%s: bad metrics", what);
		m->ks[q] = (int) json_integer_value(json_array_get(ks, (size_t) q));
		for (int x = 0; x < TR_M_COUNT; x++) {
			m->val[q][x] = pl_real_get(json_array_get(v, (size_t) x));
			m->se[q][x] = pl_real_get(json_array_get(s, (size_t) x));
		}
	}
	m->users_evaluated = (long) c[0];
	m->users_without_recs = (long) c[1];
	m->duplicate_rows = (long) c[2];
	m->train_items_in_recs = (long) c[3];
	m->rec_rows = (long) c[4];
	m->test_interactions = (long) c[5];
	return 0;
}

/* pl_options: what a run is started with; every stage of the run must be given the same */
static json_t *
pl_options(const tr_pipeline_opts *o)
{
	return json_pack("{s:s, s:b, s:s, s:o}", "models", o->models, "tune", o->tune, "weights",
	                 o->weights_spec, "params", pl_params_full(&o->base));
}

static int
pl_options_check(pl_run *r, tr_error *err)
{
	static const char *const flag[] = {
	        "models",  "--models",  "tune",   "tuning (off: --no-tune/--quick)",
	        "weights", "--weights", "params", "the model parameters"};
	json_t *now = pl_options(r->o), *then = tr_runfolder_options(&r->rf);
	int rv = 0;

	for (size_t a = 0; rv == 0 && a < sizeof(flag) / sizeof(flag[0]); a += 2)
		if (!json_equal(json_object_get(now, flag[a]), json_object_get(then, flag[a]))) {
			char *mine = json_dumps(json_object_get(now, flag[a]), JSON_ENCODE_ANY);
			char *theirs = json_dumps(json_object_get(then, flag[a]), JSON_ENCODE_ANY);
			rv = tr_error_set(err, RS_EINVAL,
			                  "run %s in %s was started with other options: %s %.200s, "
			                  "here %.200s (give every stage the same options)",
			                  r->run_id, r->rf.dir, flag[a + 1], theirs ? theirs : "?",
			                  mine ? mine : "?");
			free(mine);
			free(theirs);
		}
	json_decref(now);
	return rv;
}

/* pl_json_read: a JSON file of the run folder written for this run */
static int
pl_json_read(const pl_run *r, const char *rel, json_t **out, tr_error *err)
{
	char path[4200];
	json_error_t jerr;
	const char *run = "";

	pl_path(r, rel, path, sizeof(path));
	if ((*out = json_load_file(path, 0, &jerr)) == NULL)
		return tr_error_set(err, RS_EIO, "%s: %s", path, jerr.text);
	if (json_unpack(*out, "{s:s}", "run_id", &run) != 0 || strcmp(run, r->run_id) != 0) {
		json_decref(*out);
		*out = NULL;
		return tr_error_set(err, RS_EINVAL, "%s: written for run '%s', not run '%s'", path,
		                    run, r->run_id);
	}
	return 0;
}

static int
pl_json_write(const pl_run *r, const char *rel, json_t *j, tr_error *err)
{
	char path[4200];
	int rc;

	pl_path(r, rel, path, sizeof(path));
	json_object_set_new(j, "run_id", json_string(r->run_id));
	rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	return rc == 0 ? 0 : tr_error_set(err, RS_EIO, "%s: cannot write", path);
}

/* pl_load_snapshot: the run's dataset (checked), its fingerprint and data facts */
static int
pl_load_snapshot(pl_run *r, tr_error *err)
{
	char dir[4200];
	int rv;

	if ((rv = tr_runfolder_check(&r->rf, "snapshot", err)) != 0)
		return rv;
	pl_path(r, PL_SNAPSHOT_DIR, dir, sizeof(dir));
	if ((rv = tr_dsfile_read(dir, NULL, r->run_id, &r->ds, err)) != 0)
		return rv;
	snprintf(r->fingerprint, sizeof(r->fingerprint), "%016" PRIx64, r->ds.fingerprint);
	return 0;
}

/* pl_load_split: the run's train dataset and test rows (checked) */
static int
pl_load_split(pl_run *r, tr_error *err)
{
	char dir[4200];
	json_t *j = NULL;
	json_int_t n_test = -1;
	int32_t u;
	int64_t e;
	unsigned char *user_in;
	int rv;

	if ((rv = tr_runfolder_check(&r->rf, "split", err)) != 0)
		return rv;
	pl_path(r, PL_SPLIT_DIR "/train", dir, sizeof(dir));
	if ((rv = tr_dsfile_read(dir, &r->ds, r->run_id, &r->split.train, err)) != 0)
		return rv;
	if ((rv = pl_json_read(r, PL_SPLIT_DIR "/split.json", &j, err)) != 0)
		return rv;
	json_unpack(j, "{s:I}", "test_interactions", &n_test);
	json_decref(j);
	if (n_test < 0)
		return tr_error_set(err, RS_ECORRUPT, "%s/split.json: no test_interactions", dir);
	pl_path(r, PL_SPLIT_DIR, dir, sizeof(dir));
	if ((rv = tr_blob_read(dir, "test_u.i32", (size_t) n_test * 4, (void **) &r->split.test_u,
	                       err)) != 0 ||
	    (rv = tr_blob_read(dir, "test_i.i32", (size_t) n_test * 4, (void **) &r->split.test_i,
	                       err)) != 0)
		return rv;
	r->split.n_test = n_test;
	/* the distinct test users in order, and each train entry's user (as pl_split_make) */
	user_in = tr_xcalloc((size_t) r->ds.n_users + 1, 1);
	r->split.users = tr_xmalloc(((size_t) r->ds.n_users + 1) * sizeof(int32_t));
	for (e = 0; e < n_test; e++) {
		u = r->split.test_u[e];
		if (u < 0 || u >= r->ds.n_users || r->split.test_i[e] < 0 ||
		    r->split.test_i[e] >= r->ds.n_items) {
			free(user_in);
			return tr_error_set(err, RS_ECORRUPT, "%s: test row %lld out of range", dir,
			                    (long long) e);
		}
		if (!user_in[u]) {
			user_in[u] = 1;
			r->split.users[r->split.n_users++] = u;
		}
	}
	free(user_in);
	r->split.train_u = tr_xmalloc(((size_t) r->split.train.nnz + 1) * sizeof(int32_t));
	for (u = 0; u < r->split.train.n_users; u++)
		for (e = r->split.train.u_ptr[u]; e < r->split.train.u_ptr[u + 1]; e++)
			r->split.train_u[e] = u;
	return 0;
}

/* pl_load_fit: the models of fit.json in the order of --models (checked) */
static int
pl_load_fit(pl_run *r, tr_error *err)
{
	json_t *j = NULL, *arr, *m;
	size_t a;
	int rv;

	if ((rv = tr_runfolder_check(&r->rf, "fit", err)) != 0 ||
	    (rv = pl_json_read(r, PL_FIT_DIR "/fit.json", &j, err)) != 0)
		return rv;
	arr = json_object_get(j, "models");
	if (json_array_size(arr) != (size_t) r->nmodels)
		rv = tr_error_set(err, RS_ECORRUPT, "%s/fit/fit.json: %zu models, --models has %d",
		                  r->rf.dir, json_array_size(arr), r->nmodels);
	json_array_foreach(arr, a, m)
	{
		pl_model *pm = &r->models[a];
		const char *name = "", *note = "";
		int ok = 0;
		if (rv != 0)
			break;
		if (json_unpack(m, "{s:s, s:b, s:s, s:F, s:F, s:F}", "model", &name, "ok", &ok,
		                "note", &note, "fit_seconds", &pm->fit_s, "tune_seconds",
		                &pm->tune_s, "tune_ndcg", &pm->tune_ndcg) != 0 ||
		    strcmp(name, tr_kind_name(pm->kind)) != 0) {
			rv = tr_error_set(err, RS_ECORRUPT, "%s/fit/fit.json: model %zu is not %s",
			                  r->rf.dir, a, tr_kind_name(pm->kind));
			break;
		}
		pm->ok = ok;
		snprintf(pm->note, sizeof(pm->note), "%s", note);
		rv = pl_params_read(json_object_get(m, "params"), &pm->p, "fit.json", err);
	}
	json_decref(j);
	return rv;
}

/* ------------------------------------------------------------------ the stages */

static int
pl_snapshot_stage(pl_run *r, tr_error *err)
{
	tr_event_log log;
	tr_snapshot_info info;
	double t = tr_now();
	char dir[4200];
	const char *const outputs[] = {PL_SNAPSHOT_DIR};
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
	if ((rv = tr_dsfile_write(&r->ds, pl_path(r, PL_SNAPSHOT_DIR, dir, sizeof(dir)), r->run_id,
	                          err)) != 0)
		return rv;
	pl_duration(r, "snapshot", t);
	if (r->staged && r->o->out != NULL)
		fprintf(r->o->out,
		        "snapshot: %lld events -> %d users, %d items, %lld interactions, %lld "
		        "negatives (fingerprint %s) in %s\n",
		        (long long) info.events, r->ds.n_users, r->ds.n_items,
		        (long long) r->ds.nnz, (long long) r->ds.n_neg, r->fingerprint, dir);
	return tr_runfolder_record(&r->rf, "snapshot", outputs, 1,
	                           json_pack("{s:O, s:s, s:O}", "params", r->params, "fingerprint",
	                                     r->fingerprint, "durations", r->durations),
	                           pl_stage_names, TR_STAGE_COUNT, err);
}

static int
pl_split_stage(pl_run *r, tr_error *err)
{
	char dir[4200];
	const char *const outputs[] = {PL_SPLIT_DIR};
	double t;
	int rv;

	if ((rv = pl_load_snapshot(r, err)) != 0)
		return rv;
	pl_step("split", ++r->step, r->steps, r->t0);
	t = tr_now();
	pl_split_make(&r->ds, &r->split);
	if (r->split.n_test == 0)
		return tr_error_set(err, RS_EINVAL,
		                    "split: no test interactions (%d users, %lld interactions; a "
		                    "user needs %d interactions to be tested)",
		                    r->ds.n_users, (long long) r->ds.nnz, PL_MIN_HOLDOUT);
	pl_path(r, PL_SPLIT_DIR, dir, sizeof(dir));
	tr_rm_rf(dir);
	if ((rv = tr_mkdir_p(dir, err)) != 0 ||
	    (rv = tr_blob_write(dir, "test_u.i32", r->split.test_u, (size_t) r->split.n_test * 4,
	                        err)) != 0 ||
	    (rv = tr_blob_write(dir, "test_i.i32", r->split.test_i, (size_t) r->split.n_test * 4,
	                        err)) != 0 ||
	    (rv = pl_json_write(r, PL_SPLIT_DIR "/split.json",
	                        json_pack("{s:s, s:f, s:i, s:I, s:I, s:I}", "protocol",
	                                  "temporal-user", "test_frac", PL_TEST_FRAC, "min_holdout",
	                                  PL_MIN_HOLDOUT, "test_interactions",
	                                  (json_int_t) r->split.n_test, "test_users",
	                                  (json_int_t) r->split.n_users, "train_interactions",
	                                  (json_int_t) r->split.train.nnz),
	                        err)) != 0)
		return rv;
	pl_path(r, PL_SPLIT_DIR "/train", dir, sizeof(dir));
	if ((rv = tr_dsfile_write(&r->split.train, dir, r->run_id, err)) != 0)
		return rv;
	pl_duration(r, "split", t);
	if (r->staged && r->o->out != NULL)
		fprintf(r->o->out,
		        "split: %lld train interactions, %lld test interactions of %lld users "
		        "(per-user temporal 80/20)\n",
		        (long long) r->split.train.nnz, (long long) r->split.n_test,
		        (long long) r->split.n_users);
	return tr_runfolder_record(&r->rf, "split", outputs, 1,
	                           json_pack("{s:O}", "durations", r->durations), pl_stage_names,
	                           TR_STAGE_COUNT, err);
}

/* pl_one: tune (optional) and fit on train into fit/<model>/; a model EASE cannot hold is
 * skipped with a note, any other failure fails the run */
static int
pl_one(pl_run *r, pl_model *pm, const tr_params *tuned, tr_error *err)
{
	tr_model m;
	double t;
	int rv;
	char label[64], rel[64], dir[4200];

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
	snprintf(rel, sizeof(rel), "%s/%s", PL_FIT_DIR, tr_kind_name(pm->kind));
	rv = tr_model_save(&m, &r->split.train, pl_path(r, rel, dir, sizeof(dir)), err);
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

static int
pl_fit_stage(pl_run *r, tr_error *err)
{
	tr_params tuned = r->o->base;
	const char *const outputs[] = {PL_FIT_DIR};
	char dir[4200];
	json_t *arr;
	double t;
	int rv;

	if ((rv = pl_load_snapshot(r, err)) != 0 || (rv = pl_load_split(r, err)) != 0)
		return rv;
	pl_path(r, PL_FIT_DIR, dir, sizeof(dir));
	tr_rm_rf(dir);
	if ((rv = tr_mkdir_p(dir, err)) != 0)
		return rv;
	r->step += 2;
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
	arr = json_array();
	for (int a = 0; a < r->nmodels; a++) {
		const pl_model *pm = &r->models[a];
		json_array_append_new(arr, json_pack("{s:s, s:b, s:s, s:o, s:f, s:f, s:f}", "model",
		                                     tr_kind_name(pm->kind), "ok", pm->ok, "note",
		                                     pm->note, "params", pl_params_full(&pm->p),
		                                     "fit_seconds", pm->fit_s, "tune_seconds",
		                                     pm->tune_s, "tune_ndcg", pm->tune_ndcg));
		if (r->staged && r->o->out != NULL)
			fprintf(r->o->out, "fit: %s %s%s\n", tr_kind_name(pm->kind),
			        pm->ok ? "fitted" : "skipped: ", pm->ok ? "" : pm->note);
	}
	if ((rv = pl_json_write(r, PL_FIT_DIR "/fit.json", json_pack("{s:o}", "models", arr),
	                        err)) != 0)
		return rv;
	return tr_runfolder_record(&r->rf, "fit", outputs, 1,
	                           json_pack("{s:O}", "durations", r->durations), pl_stage_names,
	                           TR_STAGE_COUNT, err);
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

/* pl_evaluate_all: each fitted model, loaded from its folder, scored on the test split;
 * r->metrics gets the comparison the run records, the best by NDCG@20 */
static int
pl_evaluate_all(pl_run *r, json_t *raw, int *best_out, tr_error *err)
{
	char rel[64], dir[4200];
	int rv, best = -1;

	for (int a = 0; a < r->nmodels; a++) {
		pl_model *pm = &r->models[a];
		tr_model m;
		json_t *mj;
		if (!pm->ok) {
			json_object_set_new(r->metrics, tr_kind_name(pm->kind),
			                    json_pack("{s:s}", "skipped", pm->note));
			continue;
		}
		snprintf(rel, sizeof(rel), "%s/%s", PL_FIT_DIR, tr_kind_name(pm->kind));
		if ((rv = tr_model_load(pl_path(r, rel, dir, sizeof(dir)), &m, err)) != 0)
			return rv;
		m.params.nthreads = r->o->base.nthreads;
		if ((rv = tr_model_check_data(&m, &r->split.train, err)) == 0)
			rv = pl_evaluate(&m, &r->split, &pm->met, err);
		tr_model_fini(&m);
		if (rv != 0)
			return rv;
		mj = pl_metrics_json(&pm->met, pm->fit_s);
		json_object_set_new(mj, "params",
		                    pl_params_json(pm->kind, &pm->p, r->o->weights_spec));
		json_object_set_new(r->metrics, tr_kind_name(pm->kind), mj);
		json_object_set_new(raw, tr_kind_name(pm->kind), pl_met_full(&pm->met));
		/* strictly better wins: ties keep the simpler model listed first */
		if (best < 0 || pm->met.val[1][TR_M_NDCG] > r->models[best].met.val[1][TR_M_NDCG])
			best = a;
	}
	if (best < 0)
		return tr_error_set(err, RS_EINVAL, "no model could be fitted");
	*best_out = best;
	return 0;
}

static int
pl_evaluate_stage(pl_run *r, tr_error *err)
{
	const char *const outputs[] = {PL_EVAL_FILE};
	json_t *raw;
	double t;
	int rv, best = -1;

	if ((rv = pl_load_snapshot(r, err)) != 0 || (rv = pl_load_split(r, err)) != 0 ||
	    (rv = pl_load_fit(r, err)) != 0)
		return rv;
	r->step = 2 + r->nmodels;
	pl_step("evaluate", r->step, r->steps, r->t0);
	t = tr_now();
	raw = json_object();
	if ((rv = pl_evaluate_all(r, raw, &best, err)) != 0) {
		json_decref(raw);
		return rv;
	}
	pl_duration(r, "evaluate", t);
	pl_table(r, best);
	json_object_set_new(r->metrics, "best", json_string(tr_kind_name(r->models[best].kind)));
	if ((rv = pl_json_write(r, PL_EVAL_FILE,
	                        json_pack("{s:O, s:o, s:s, s:I, s:I}", "metrics", r->metrics, "raw",
	                                  raw, "best", tr_kind_name(r->models[best].kind),
	                                  "test_users", (json_int_t) r->split.n_users,
	                                  "test_interactions", (json_int_t) r->split.n_test),
	                        err)) != 0)
		return rv;
	if (r->staged && r->o->out != NULL)
		fprintf(r->o->out, "evaluate: best %s, NDCG@20 %.4f\n",
		        tr_kind_name(r->models[best].kind), r->models[best].met.val[1][TR_M_NDCG]);
	return tr_runfolder_record(&r->rf, "evaluate", outputs, 1,
	                           json_pack("{s:O}", "durations", r->durations), pl_stage_names,
	                           TR_STAGE_COUNT, err);
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
	if (o->version != NULL) { /* a retried publish stage whose registration had committed */
		char by[64];
		if ((rv = tr_registry_version_run(r->pg, o->version, &exists, by, sizeof(by),
		                                  err)) != 0)
			return rv;
		if (exists && strcmp(by, r->run_id) == 0) {
			snprintf(res->version, sizeof(res->version), "%s", o->version);
			pl_step("already published by this run", r->steps - 1, r->steps, r->t0);
			return 0;
		}
	}
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
		                      "postgresql:events", r->final, res->run_id,
		                      tr_wall_now() - tr_runfolder_started(&r->rf), err);
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
pl_publish_stage(pl_run *r, tr_error *err)
{
	json_t *ev = NULL, *raw;
	const char *best_name = "";
	int rv, best = -1;

	if ((rv = pl_load_snapshot(r, err)) != 0 ||
	    (rv = tr_runfolder_check(&r->rf, "split", err)) != 0 ||
	    (rv = pl_load_fit(r, err)) != 0 ||
	    (rv = tr_runfolder_check(&r->rf, "evaluate", err)) != 0 ||
	    (rv = pl_json_read(r, PL_EVAL_FILE, &ev, err)) != 0)
		return rv;
	raw = json_object_get(ev, "raw");
	json_unpack(ev, "{s:s}", "best", &best_name);
	json_object_update(r->metrics, json_object_get(ev, "metrics"));
	for (int a = 0; rv == 0 && a < r->nmodels; a++) {
		pl_model *pm = &r->models[a];
		json_t *mj = json_object_get(raw, tr_kind_name(pm->kind));
		if (!pm->ok)
			continue;
		if (mj == NULL)
			rv = tr_error_set(err, RS_ECORRUPT, "%s: no metrics of %s", PL_EVAL_FILE,
			                  tr_kind_name(pm->kind));
		else
			rv = pl_met_read(mj, &pm->met, PL_EVAL_FILE, err);
		pm->p.nthreads = r->o->base.nthreads;
		if (rv == 0 && strcmp(best_name, tr_kind_name(pm->kind)) == 0)
			best = a;
	}
	json_decref(ev);
	if (rv == 0 && best < 0)
		rv = tr_error_set(err, RS_ECORRUPT, "%s: best model '%s' was not fitted",
		                  PL_EVAL_FILE, best_name);
	if (rv != 0)
		return rv;
	snprintf(r->res->model, sizeof(r->res->model), "%s", tr_kind_name(r->models[best].kind));
	r->res->ndcg = r->models[best].met.val[1][TR_M_NDCG];
	r->res->ndcg_pop = -1;
	for (int a = 0; a < r->nmodels; a++)
		if (r->models[a].kind == TR_POP && r->models[a].ok)
			r->res->ndcg_pop = r->models[a].met.val[1][TR_M_NDCG];
	r->step = r->steps - 3;
	if ((rv = pl_publish(r, &r->models[best], err)) != 0)
		return rv;
	return tr_runfolder_record(&r->rf, "publish", NULL, 0,
	                           json_pack("{s:s, s:s, s:O}", "version", r->res->version,
	                                     "previous", r->res->previous, "durations",
	                                     r->durations),
	                           pl_stage_names, TR_STAGE_COUNT, err);
}

/* ------------------------------------------------------------------ one stage, the run */

/* pl_start: a new run in the run folder: run id, run.json, the training_runs row */
static int
pl_start(pl_run *r, tr_error *err)
{
	char git[96], *params;
	json_t *opts = pl_options(r->o);
	int rv;

	rs_proc_random_id(r->run_id, sizeof(r->run_id));
	rv = tr_runfolder_create(&r->rf, r->o->run_dir, r->run_id, opts, pl_outputs,
	                         sizeof(pl_outputs) / sizeof(pl_outputs[0]), err);
	json_decref(opts);
	if (rv != 0)
		return rv;
	tr_git_revision(git, sizeof(git));
	params = pl_dump(r->params);
	rv = tr_registry_run_start(r->pg, r->run_id, "pipeline", params, git, err);
	free(params);
	if (rv == 0 && r->o->version != NULL) { /* a taken name fails before any work */
		int exists = 0;
		struct stat st;
		snprintf(r->final, sizeof(r->final), "%s/%s", r->o->models_dir, r->o->version);
		if ((rv = tr_registry_version_exists(r->pg, r->o->version, &exists, err)) == 0 &&
		    (exists || stat(r->final, &st) == 0))
			rv = tr_error_set(err, RS_EEXIST,
			                  "model version %s already exists (%s); versions are "
			                  "immutable, pick another name",
			                  r->o->version, exists ? "in model_versions" : r->final);
		r->final[0] = '\0';
	}
	return rv;
}

/* pl_resume: a later stage: the run of the folder, started with the same options */
static int
pl_resume(pl_run *r, tr_error *err)
{
	json_t *info;
	int rv;

	if ((rv = tr_runfolder_open(&r->rf, r->o->run_dir, err)) != 0)
		return rv;
	snprintf(r->run_id, sizeof(r->run_id), "%s", tr_runfolder_run_id(&r->rf));
	if ((rv = pl_options_check(r, err)) != 0)
		return rv;
	if ((info = tr_runfolder_info(&r->rf, "snapshot")) != NULL &&
	    json_is_object(json_object_get(info, "params"))) {
		json_decref(r->params);
		r->params = json_deep_copy(json_object_get(info, "params"));
	}
	return 0;
}

/* pl_all_durations: the durations every recorded stage and this one measured, and the
 * total since the run started */
static json_t *
pl_all_durations(pl_run *r)
{
	json_t *all = json_object();

	for (int s = 0; s < TR_STAGE_COUNT; s++)
		json_object_update(
		        all,
		        json_object_get(tr_runfolder_info(&r->rf, pl_stage_names[s]), "durations"));
	json_object_update(all, r->durations);
	json_object_set_new(all, "total", json_real(r->res->seconds));
	return all;
}

/* pl_finish: the training_runs row of a finished run or a failed stage */
static void
pl_finish(pl_run *r, int rv, const tr_error *err)
{
	char *params, *metrics, *durations;
	json_t *dj;
	tr_error ferr;

	if (r->run_id[0] == '\0' || (rv == RS_EUNAVAIL && PQstatus(r->pg) != CONNECTION_OK))
		return;
	if (rv == 0 && r->stage != TR_STAGE_PUBLISH)
		return; /* the run goes on */
	dj = pl_all_durations(r);
	params = pl_dump(r->params);
	metrics = pl_dump(r->metrics);
	durations = pl_dump(dj);
	/* after a successful activation the version stays active: only warn */
	if (tr_registry_run_finish(r->pg, r->run_id, rv == 0 ? "finished" : "failed", params,
	                           metrics, durations, r->fingerprint[0] ? r->fingerprint : NULL,
	                           rv == 0 ? r->res->version : NULL, rv == 0 ? NULL : err->msg,
	                           &ferr) != 0)
		fprintf(stderr, "rs-train pipeline: warning: run %s not recorded: %s\n", r->run_id,
		        ferr.msg);
	free(params);
	free(metrics);
	free(durations);
	json_decref(dj);
}

static int
pl_check_opts(const tr_pipeline_opts *o, tr_error *err)
{
	if (o->dsn == NULL || o->models_dir == NULL)
		return tr_error_set(err, RS_EINVAL, "--dsn and --models-dir are required");
	if (o->version != NULL)
		return pl_version_ok(o->version, err);
	return 0;
}

int
tr_pipeline_stage(const tr_pipeline_opts *o, tr_stage stage, tr_pipeline_result *res, tr_error *err)
{
	pl_run r;
	int rv;

	memset(&r, 0, sizeof(r));
	memset(res, 0, sizeof(*res));
	r.o = o;
	r.res = res;
	r.stage = stage;
	r.staged = !o->one_shot;
	r.t0 = tr_now();
	if (stage < 0 || stage >= TR_STAGE_COUNT)
		return tr_error_set(err, RS_EINVAL, "unknown stage");
	if ((rv = pl_check_opts(o, err)) != 0)
		return rv;
	if (o->run_dir == NULL)
		return tr_error_set(err, RS_EINVAL, "--stage needs --run-dir (the run folder)");
	if ((rv = pl_parse_models(&r, err)) != 0)
		return rv;
	if ((rv = tr_registry_connect(o->dsn, &r.pg, err)) != 0)
		return rv;
	r.steps = 3 + r.nmodels + 2; /* snapshot, split, models..., refit, publish, register */
	r.durations = json_object();
	r.metrics = json_object();
	r.params = json_pack("{s:s, s:b, s:s}", "models", o->models, "tune", o->tune, "weights",
	                     o->weights_spec);
	if (stage == TR_STAGE_SNAPSHOT) {
		pl_step("snapshot", 0, r.steps, r.t0);
		rv = pl_start(&r, err);
	} else {
		rv = pl_resume(&r, err);
	}
	snprintf(res->run_id, sizeof(res->run_id), "%s", r.run_id);
	if (rv == 0) {
		switch (stage) {
		case TR_STAGE_SNAPSHOT:
			rv = pl_snapshot_stage(&r, err);
			break;
		case TR_STAGE_SPLIT:
			rv = pl_split_stage(&r, err);
			break;
		case TR_STAGE_FIT:
			rv = pl_fit_stage(&r, err);
			break;
		case TR_STAGE_EVALUATE:
			rv = pl_evaluate_stage(&r, err);
			break;
		default:
			rv = pl_publish_stage(&r, err);
		}
	}
	if (rv != 0 && r.published) { /* registration failed: the folder never was a version */
		tr_rm_rf(r.final);
		r.published = 0;
	}
	tr_rm_rf(r.work);
	tr_rm_rf(r.tmp);
	res->seconds =
	        r.rf.root != NULL ? tr_wall_now() - tr_runfolder_started(&r.rf) : tr_now() - r.t0;
	pl_finish(&r, rv, err);
	if (stage == TR_STAGE_PUBLISH || rv != 0)
		pl_step("done", r.steps, r.steps, r.t0);
	tr_runfolder_close(&r.rf);
	json_decref(r.durations);
	json_decref(r.metrics);
	json_decref(r.params);
	pl_split_free(&r.split);
	tr_dataset_fini(&r.ds);
	PQfinish(r.pg);
	return rv;
}

int
tr_pipeline_run(const tr_pipeline_opts *o, tr_pipeline_result *res, tr_error *err)
{
	tr_pipeline_opts one = *o;
	char tmp[4200];
	int rv;

	memset(res, 0, sizeof(*res));
	if ((rv = pl_check_opts(o, err)) != 0)
		return rv;
	{ /* a bad --models fails before anything is created */
		pl_run probe;
		memset(&probe, 0, sizeof(probe));
		probe.o = o;
		if ((rv = pl_parse_models(&probe, err)) != 0)
			return rv;
	}
	one.one_shot = 1;
	tmp[0] = '\0';
	if (o->run_dir == NULL) { /* a temporary run folder, removed at the end */
		if ((rv = tr_mkdir_p(o->models_dir, err)) != 0)
			return rv;
		snprintf(tmp, sizeof(tmp), "%s/.run-XXXXXX", o->models_dir);
		if (mkdtemp(tmp) == NULL)
			return tr_error_set(err, RS_EIO, "%s: %s", tmp, strerror(errno));
		one.run_dir = tmp;
	}
	for (int s = 0; s < TR_STAGE_COUNT; s++)
		if ((rv = tr_pipeline_stage(&one, (tr_stage) s, res, err)) != 0)
			break;
	if (tmp[0] != '\0')
		tr_rm_rf(tmp);
	return rv;
}
