/* commands: argument parsing and orchestration for each subcommand (see commands.h). */
#include "commands.h"

#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "dataset.h"
#include "events.h"
#include "generate.h"
#include "publish.h"
#include "runlog.h"
#include "metrics.h"
#include "model.h"
#include "pipeline.h"
#include "recommend.h"
#include "registry.h"
#include "rs_proc.h"
#include "rs_err.h"
#include "split.h"
#include "tune.h"
#include "load.h"
#include "opts.h"

/* ------------------------------------------------------------------ shared options */

static int
cmd_fail(const char *cmd, const tr_error *err)
{
	fprintf(stderr, "rs-train %s: %s\n", cmd, err->msg);
	return 1;
}

/* model parameters: the destination of the special options */
typedef struct model_args {
	tr_params *p;
	int holdout_set; /* --holdout, --holdout-frac or --leave-one-out given */
} model_args;

static int
opt_leave_one_out(const char *cmd, const tr_opt *o, const char *arg)
{
	tr_params *p = ((model_args *) o->dst)->p;
	(void) cmd;
	(void) arg;
	snprintf(p->holdout, sizeof(p->holdout), "%s", "leave-one-out");
	return 0;
}

static int
opt_objective(const char *cmd, const tr_opt *o, const char *arg)
{
	tr_params *p = o->dst;

	if (strcmp(arg, "rank:ndcg") != 0 && strcmp(arg, "rank:pairwise") != 0 &&
	    strcmp(arg, "rank:map") != 0) {
		fprintf(stderr,
		        "rs-train %s: --objective must be rank:ndcg, rank:pairwise or "
		        "rank:map (see rs-train %s --help)\n",
		        cmd, cmd);
		return 2;
	}
	snprintf(p->objective, sizeof(p->objective), "%s", arg);
	return 0;
}

/* --weights: checked, stored in the canonical form */
static int
opt_weights(const char *cmd, const tr_opt *o, const char *arg)
{
	tr_params *p = o->dst;
	tr_weights w;
	tr_error err;

	rs_event_weights_defaults(&w);
	if (tr_weights_parse(arg, &w, &err) != 0)
		return tr_opts_usage_error(cmd, "%s", err.msg);
	rs_event_weights_format(&w, p->weights, sizeof(p->weights));
	return 0;
}

#define MODEL_OPTS_N 25

/* model_opts: the model parameter entries shared by fit, tune and pipeline into t[] */
static size_t
model_opts(tr_opt *t, model_args *a)
{
	tr_params *p = a->p;
	const tr_opt m[MODEL_OPTS_N] = {
	        TR_OPT_HEAD("model parameters (defaults in brackets):"),
	        TR_OPT_DBL("half-life", &p->half_life, 0, 1e18, "T",
	                   "pop: time decay in timestamp units [0 = plain counts]"),
	        TR_OPT_INT("k", &p->knn_k, 1, 1e6, "N", "itemknn: neighbours per item [200]"),
	        TR_OPT_DBL("shrink", &p->shrink, 0, 1e9, "X", "itemknn: shrink [0]"),
	        TR_OPT_DBL("seq-weight", &p->seq_weight, 0, 1e9, "X",
	                   "itemknn: weight of 'next item' transitions [0]"),
	        TR_OPT_INT("factors", &p->factors, 1, 1024, "N", "als: factors [64]"),
	        TR_OPT_INT("iterations", &p->iterations, 0, 1000, "N", "als: iterations [15]"),
	        TR_OPT_DBL("reg", &p->reg, 0, 1e9, "X", "als: regularisation [10]"),
	        TR_OPT_DBL("alpha", &p->alpha, 0, 1e9, "X", "als: confidence 1 + alpha [2]"),
	        TR_OPT_INT("cg-steps", &p->cg_steps, 0, 100, "N",
	                   "als: conjugate gradient steps [3] (0 = exact Cholesky solves)"),
	        TR_OPT_U64("seed", &p->seed, 0, 1e15, "N", "als: seed [0]"),
	        TR_OPT_DBL("lambda", &p->lambda, 0, 1e12, "X", "ease: lambda [300]"),
	        TR_OPT_INT("max-items", &p->max_items, 1, 1e7, "N",
	                   "ease: at most N items [30000]"),
	        TR_OPT_DBL("max-mem", &p->max_mem_gb, 0.001, 1e6, "GiB", "ease: at most GiB [16]"),
	        TR_OPT_CHARS("sources", p->sources, "LIST",
	                     "two-stage: first-stage sources [ease,als,itemknn,pop]\n"
	                     "(first-stage sources use the parameters above)"),
	        TR_OPT_INT("candidates", &p->cand_n, 1, 100000, "N",
	                   "two-stage: candidates per source [100]"),
	        TR_OPT_INT("trees", &p->trees, 1, 100000, "N", "two-stage: trees [200]"),
	        TR_OPT_INT("depth", &p->depth, 1, 30, "N", "two-stage: tree depth [6]"),
	        TR_OPT_DBL("eta", &p->eta, 1e-6, 1, "X", "two-stage: learning rate [0.1]"),
	        TR_OPT_FN("objective", opt_objective, p, "OBJ",
	                  "two-stage: rank:pairwise|rank:ndcg|rank:map [rank:pairwise]"),
	        TR_OPT_CHARS("holdout", p->holdout, "PROTOCOL",
	                     "two-stage: how the ranker's label slice is carved from train\n"
	                     "(temporal-user, random-user, global-time, leave-one-out)\n"
	                     "[temporal-user; default: the protocol in the split.json next\n"
	                     "to train.csv]"),
	        TR_OPT_FN("leave-one-out", opt_leave_one_out, a, NULL,
	                  "two-stage: = --holdout leave-one-out"),
	        TR_OPT_DBL("holdout-frac", &p->holdout_frac, 0, 0.9, "X",
	                   "two-stage: the label slice's share [0.2]"),
	        TR_OPT_INT("label-folds", &p->label_folds, 0, 20, "N",
	                   "two-stage: label slices [0: 3 random slices for random-user, else 1]"),
	        TR_OPT_INT("threads", &p->nthreads, 1, 1024, "N",
	                   "all: threads [all cores; or RS_TRAIN_THREADS]"),
	};

	memcpy(t, m, sizeof(m));
	tr_opts_seen(t, MODEL_OPTS_N, "holdout", &a->holdout_set);
	tr_opts_seen(t, MODEL_OPTS_N, "holdout-frac", &a->holdout_set);
	tr_opts_seen(t, MODEL_OPTS_N, "leave-one-out", &a->holdout_set);
	return MODEL_OPTS_N;
}

/* the event-log weights entry of fit and tune (pipeline keeps its own) */
#define WEIGHTS_HEAD                                                          \
	TR_OPT_HEAD("event logs (a CSV with a type and/or value column; see " \
	            "docs/TRAINING.md):")
#define WEIGHTS_HELP                                          \
	"view=1,click=2,add_to_cart=4,purchase=8,rating=2,\n" \
	"not_interested=8,rating_low=3  [these defaults]"

/* params_load_train: the training CSV, weighted with p->weights when it is an event log */
static int
params_load_train(const tr_params *p, const char *path, tr_dataset *ds, tr_error *err)
{
	tr_weights w;
	int rv;

	rs_event_weights_defaults(&w);
	if (p->weights[0] != '\0' && (rv = tr_weights_parse(p->weights, &w, err)) != 0)
		return rv;
	return tr_dataset_load_w(path, &w, ds, err);
}

/* split.json next to train.csv: leave-one-out data trains the ranker on the last item */
static void
params_from_split_json(const char *train, tr_params *p)
{
	char dir[4096], path[4200];
	json_t *root;
	const char *proto = NULL;

	snprintf(dir, sizeof(dir), "%s", train);
	snprintf(path, sizeof(path), "%s/split.json", dirname(dir));
	if ((root = json_load_file(path, 0, NULL)) == NULL)
		return;
	/* global-time leaves too few users with labels in the last 20% of train (81 on
	 * ML-100K); the per-user temporal slice trains the ranker on ~8x more groups */
	if (json_unpack(root, "{s:s}", "protocol", &proto) == 0)
		snprintf(p->holdout, sizeof(p->holdout), "%s",
		         strcmp(proto, "global-time") == 0 ? "temporal-user" : proto);
	json_decref(root);
}

/* ------------------------------------------------------------------------- fit */

/* fit_run_start: a 'running' training_runs row for this fit (--dsn) */
static int
fit_run_start(const char *dsn, PGconn **pg, const char *run_id, tr_kind kind, const tr_params *p,
              const char *train, const char *out, tr_error *err)
{
	char git[96], *params;
	json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "model", tr_kind_name(kind), "train", train,
	                      "out", out, "weights", p->weights);
	int rv;

	if ((rv = tr_registry_connect(dsn, pg, err)) != 0) {
		json_decref(j);
		return rv;
	}
	tr_git_revision(git, sizeof(git));
	params = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	rv = tr_registry_run_start(*pg, run_id, "fit", params, git, err);
	free(params);
	json_decref(j);
	if (rv != 0) {
		PQfinish(*pg);
		*pg = NULL;
	}
	return rv;
}

/* fit_run_finish: close the row (m NULL or failed: status failed with err's message) and the
 * connection; pg NULL is a no-op. Returns 0 or the registry error (into err unless failed). */
static int
fit_run_finish(PGconn *pg, const char *run_id, const tr_model *m, double t_load, double total,
               tr_error *err, int failed)
{
	char fp[24] = "", *metrics = NULL, *durations = NULL;
	tr_error ferr;
	int rv;

	if (pg == NULL)
		return 0;
	if (m != NULL) {
		json_t *mj = json_pack("{s:f, s:i, s:i, s:I}", "fit_seconds", m->fit_seconds,
		                       "users", m->n_users, "items", m->n_items, "interactions",
		                       (json_int_t) m->nnz);
		json_t *dj = json_pack("{s:f, s:f, s:f}", "load", t_load, "fit", m->fit_seconds,
		                       "total", total);
		metrics = json_dumps(mj, JSON_COMPACT | JSON_SORT_KEYS);
		durations = json_dumps(dj, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(mj);
		json_decref(dj);
		snprintf(fp, sizeof(fp), "%016" PRIx64, m->fingerprint);
	}
	rv = tr_registry_run_finish(pg, run_id, failed || m == NULL ? "failed" : "finished", NULL,
	                            metrics, durations, fp[0] ? fp : NULL, NULL,
	                            failed || m == NULL ? err->msg : NULL, &ferr);
	if (rv != 0 && !failed && m != NULL)
		tr_error_set(err, rv, "%s", ferr.msg);
	free(metrics);
	free(durations);
	PQfinish(pg);
	return failed ? 0 : rv;
}

static const char fit_usage[] =
        "usage: rs-train fit --train train.csv --model NAME --out DIR [options]\n"
        "       [--mlruns DIR [--experiment NAME]] [--dsn DSN (a training_runs row)]\n\n"
        "Fits one model on a user,item[,timestamp] CSV (header required; every\n"
        "row is a positive; with a type and/or value column the rows are weighted\n"
        "events and explicit negatives, see --weights) and writes a model folder\n"
        "(manifest.json + arrays).\n"
        "NAME: pop, itemknn, als, ease, two-stage.\n";

int
tr_cmd_fit(int argc, char **argv)
{
	static const char *cmd = "fit";
	const char *train = NULL, *model = NULL, *out = NULL, *mlruns = NULL, *dsn = NULL;
	const char *experiment = "rs-train";
	tr_params p;
	tr_kind kind;
	tr_dataset ds;
	tr_model m;
	tr_error err;
	int r, quiet = 0;
	double t0 = tr_now(), t_load;
	PGconn *pg = NULL;
	char run_id[33];
	model_args ma = {&p, 0};
	tr_opt t[TR_OPTS_MAX] = {
	        TR_OPT_STR("train", &train, "FILE", "the training CSV"),
	        TR_OPT_STR("model", &model, "NAME", "pop, itemknn, als, ease, two-stage"),
	        TR_OPT_STR("out", &out, "DIR", "the model folder"),
	        TR_OPT_STR("mlruns", &mlruns, "DIR", "an MLflow run record (prints run_id ID)"),
	        TR_OPT_STR("experiment", &experiment, "NAME", "the MLflow experiment [rs-train]"),
	        TR_OPT_STR("dsn", &dsn, "DSN", "a training_runs row in PostgreSQL"),
	        TR_OPT_FLAG("quiet", &quiet, "no summary line on stderr"),
	        WEIGHTS_HEAD,
	        TR_OPT_FN("weights", opt_weights, &p, "SPEC", WEIGHTS_HELP),
	};
	tr_opts_spec spec = {cmd, fit_usage, t, 9};

	rs_proc_random_id(run_id, sizeof(run_id));
	tr_params_defaults(&p);
	spec.n += model_opts(t + spec.n, &ma);
	if ((r = tr_opts_parse_all(&spec, argc, argv)) != -1)
		return r;
	if (train == NULL || model == NULL || out == NULL)
		return tr_opts_usage_error(cmd, "--train, --model and --out are required");
	if (tr_kind_parse(model, &kind, &err) != 0)
		return cmd_fail(cmd, &err);
	if (!ma.holdout_set)
		params_from_split_json(train, &p);
	if (dsn != NULL && fit_run_start(dsn, &pg, run_id, kind, &p, train, out, &err) != 0)
		return cmd_fail(cmd, &err);
	if (params_load_train(&p, train, &ds, &err) != 0) {
		fit_run_finish(pg, run_id, NULL, 0, 0, &err, 1);
		return cmd_fail(cmd, &err);
	}
	t_load = tr_now() - t0;
	if (tr_model_fit(kind, &p, &ds, &m, &err) != 0) {
		tr_dataset_fini(&ds);
		fit_run_finish(pg, run_id, NULL, 0, 0, &err, 1);
		return cmd_fail(cmd, &err);
	}
	r = tr_model_save(&m, &ds, out, &err);
	if (r == 0 && mlruns != NULL) { /* MLflow-compatible run record, same id as the row */
		if ((r = tr_runlog_fit_as(mlruns, experiment, &m, train, out, run_id, 0, &err)) ==
		    0)
			printf("run_id %s\n", run_id);
	}
	if (pg != NULL) { /* the training_runs row: finished, or failed with the error */
		int rr = fit_run_finish(pg, run_id, &m, t_load, tr_now() - t0, &err, r != 0);
		r = r != 0 ? r : rr;
	}
	if (r == 0 && !quiet)
		fprintf(stderr,
		        "rs-train fit: %s on %d users, %d items, %lld pairs: load %.2fs, fit "
		        "%.2fs, "
		        "total %.2fs -> %s\n",
		        tr_kind_name(kind), ds.n_users, ds.n_items, (long long) ds.nnz, t_load,
		        m.fit_seconds, tr_now() - t0, out);
	tr_model_fini(&m);
	tr_dataset_fini(&ds);
	return r == 0 ? 0 : cmd_fail(cmd, &err);
}

/* ------------------------------------------------------------------- recommend */

typedef struct users_ctx {
	char **names;
	size_t n, cap;
} users_ctx;

static int
users_row(void *vctx, char **vals, long line, tr_error *err)
{
	users_ctx *c = vctx;
	(void) line;
	(void) err;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->names = tr_xrealloc(c->names, c->cap * sizeof(char *));
	}
	c->names[c->n++] = tr_xstrdup(vals[0]);
	return 0;
}

static const char recommend_usage[] =
        "usage: rs-train recommend --model DIR --train train.csv --users users.txt\n"
        "                          [--k 20] [--out recs.csv] [--threads N]\n\n"
        "Writes user,item,rank (header, rank 1 = best) with k items per user of\n"
        "users.txt (one id per line; a first line 'user' is skipped), never an\n"
        "item the user has in train.csv. Users without train history get the\n"
        "popularity list. train.csv must be the file the model was fitted on.\n"
        "--out - (default) writes to stdout.\n";

int
tr_cmd_recommend(int argc, char **argv)
{
	static const char *cmd = "recommend";
	const char *train = NULL, *model = NULL, *out = "-", *users = NULL;
	tr_dataset ds;
	tr_model m;
	tr_error err;
	users_ctx uc = {NULL, 0, 0};
	int k = 20, rv, *counts = NULL, nthreads = 0;
	int32_t *codes = NULL, *items = NULL;
	size_t j;
	double t0 = tr_now();
	const tr_opt t[] = {
	        TR_OPT_STR("model", &model, "DIR", "the model folder"),
	        TR_OPT_STR("train", &train, "FILE", "the CSV the model was fitted on"),
	        TR_OPT_STR("users", &users, "FILE", "one user id per line"),
	        TR_OPT_INT("k", &k, 1, 100000, "N", "items per user [20]"),
	        TR_OPT_STR("out", &out, "FILE", "the user,item,rank CSV [- = stdout]"),
	        TR_OPT_INT("threads", &nthreads, 1, 1024, "N",
	                   "threads [all cores; or RS_TRAIN_THREADS]"),
	};
	const tr_opts_spec spec = {cmd, recommend_usage, t, sizeof(t) / sizeof(t[0])};

	if ((rv = tr_opts_parse_all(&spec, argc, argv)) != -1)
		return rv;
	if (train == NULL || model == NULL || users == NULL)
		return tr_opts_usage_error(cmd, "--model, --train and --users are required");
	if (tr_model_load(model, &m, &err) != 0)
		return cmd_fail(cmd, &err);
	if (nthreads > 0)
		m.params.nthreads = nthreads;
	if ((rv = params_load_train(&m.params, train, &ds, &err)) != 0) {
		tr_model_fini(&m);
		return cmd_fail(cmd, &err);
	}
	if ((rv = tr_model_check_data(&m, &ds, &err)) != 0 ||
	    (rv = tr_lines_each(users, "user", users_row, &uc, &err)) != 0)
		goto out;
	codes = tr_xmalloc((uc.n + 1) * sizeof(int32_t));
	for (j = 0; j < uc.n; j++)
		codes[j] = tr_ids_find(ds.users, uc.names[j], strlen(uc.names[j]));
	items = tr_xmalloc((uc.n * (size_t) k + 1) * sizeof(int32_t));
	counts = tr_xcalloc(uc.n + 1, sizeof(int));
	if ((rv = tr_recommend_batch(&m, &ds, codes, uc.n, k, items, counts, &err)) != 0 ||
	    (rv = tr_recommend_write(out, &ds, uc.names, uc.n, k, items, counts, &err)) != 0)
		goto out;
	fprintf(stderr, "rs-train recommend: %zu users, k=%d, %.2fs -> %s\n", uc.n, k,
	        tr_now() - t0, out);
out:
	for (j = 0; j < uc.n; j++)
		free(uc.names[j]);
	free(uc.names);
	free(codes);
	free(items);
	free(counts);
	tr_dataset_fini(&ds);
	tr_model_fini(&m);
	return rv == 0 ? 0 : cmd_fail(cmd, &err);
}

/* "10,20" -> ascending ks; 0 or a usage error code */
static int
parse_ks(const char *cmd, const char *s, int *ks, int *nk)
{
	char buf[256], *tok, *save = NULL;
	double v;
	int a, b;

	snprintf(buf, sizeof(buf), "%s", s);
	*nk = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (*nk == TR_MAX_K || tr_opts_number(cmd, "k", tok, 1, 4096, &v) != 0)
			return 2;
		ks[(*nk)++] = (int) v;
	}
	if (*nk == 0)
		return tr_opts_usage_error(cmd, "--k needs at least one cut-off");
	for (a = 1; a < *nk; a++) /* insertion sort, drop repeats */
		for (b = a; b > 0 && ks[b - 1] > ks[b]; b--) {
			int t = ks[b];
			ks[b] = ks[b - 1];
			ks[b - 1] = t;
		}
	for (a = 1, b = 1; a < *nk; a++)
		if (ks[a] != ks[b - 1])
			ks[b++] = ks[a];
	*nk = b;
	return 0;
}

/* evaluate's --k: the cut-offs into an eval_ks */
typedef struct eval_ks {
	int ks[TR_MAX_K], nk;
} eval_ks;

static int
opt_ks(const char *cmd, const tr_opt *o, const char *arg)
{
	eval_ks *e = o->dst;
	return parse_ks(cmd, arg, e->ks, &e->nk) != 0 ? 2 : 0;
}

static const char evaluate_usage[] =
        "usage: rs-train evaluate --test test.csv --train train.csv --recs recs.csv\n"
        "                         [--k 10,20] [--json out.json] [--drop-train-items]\n"
        "                         [--mlruns DIR --run-id ID [--experiment NAME]]\n\n"
        "Full-ranking metrics with the definitions of shared/bench/score.py:\n"
        "Recall, RecallPlain, NDCG, MAP, MRR, HitRate, Precision (means over test\n"
        "users), Coverage, AvgPop, Novelty. Items the user has in train count as\n"
        "misses unless --drop-train-items.\n";

int
tr_cmd_evaluate(int argc, char **argv)
{
	static const char *cmd = "evaluate";
	const char *test = NULL, *train = NULL, *recs = NULL, *json = NULL;
	const char *mlruns = NULL, *experiment = "rs-train", *run_id = NULL;
	int drop = 0, quiet = 0, r;
	eval_ks e = {{10, 20}, 2};
	tr_metrics m;
	tr_error err;
	const tr_opt t[] = {
	        TR_OPT_STR("test", &test, "FILE", "the test CSV"),
	        TR_OPT_STR("train", &train, "FILE", "the train CSV"),
	        TR_OPT_STR("recs", &recs, "FILE", "user,item,rank CSV (rs-train recommend)"),
	        TR_OPT_FN("k", opt_ks, &e, "LIST", "cut-offs, each in [1, 4096] [10,20]"),
	        TR_OPT_STR("json", &json, "FILE", "also write the metrics as JSON"),
	        TR_OPT_FLAG("drop-train-items", &drop,
	                    "drop recommended items the user has in train"),
	        TR_OPT_STR("mlruns", &mlruns, "DIR", "add the metrics to the MLflow run --run-id"),
	        TR_OPT_STR("run-id", &run_id, "ID", "the run (rs-train fit --mlruns prints it)"),
	        TR_OPT_STR("experiment", &experiment, "NAME", "the MLflow experiment [rs-train]"),
	        TR_OPT_FLAG("quiet", &quiet, "no table on stdout when --json is given"),
	};
	const tr_opts_spec spec = {cmd, evaluate_usage, t, sizeof(t) / sizeof(t[0])};

	if ((r = tr_opts_parse_all(&spec, argc, argv)) != -1)
		return r;
	if (test == NULL || train == NULL || recs == NULL)
		return tr_opts_usage_error(cmd, "--test, --train and --recs are required");
	if (tr_evaluate_files(test, train, recs, e.ks, e.nk, drop, &m, &err) != 0 ||
	    (json != NULL && tr_metrics_json(&m, json, &err) != 0))
		return cmd_fail(cmd, &err);
	if (mlruns != NULL && run_id != NULL) { /* add the metrics to the fit's run */
		char name[64];
		for (int q = 0; q < m.nk; q++)
			for (int x = 0; x < TR_M_COUNT; x++) {
				snprintf(name, sizeof(name), "%s_at_%d", tr_metric_names[x],
				         m.ks[q]);
				if (tr_runlog_metric(mlruns, experiment, run_id, name, m.val[q][x],
				                     &err) != 0)
					return cmd_fail(cmd, &err);
			}
	}
	if (!quiet || json == NULL)
		tr_metrics_print(&m, stdout);
	return 0;
}

static const char split_usage[] =
        "usage: rs-train split INPUT --out DIR [--protocol P] [options]\n\n"
        "The steps, protocols and files of shared/bench/split.py: read -> keep\n"
        "rating >= --min-rating -> one row per (user,item), the earliest ->\n"
        "k-core (--min-user, --min-item) -> split -> drop cold test rows (unless\n"
        "--keep-cold) -> DIR/train.csv, DIR/test.csv, DIR/split.json.\n\n"
        "Output is byte-identical to split.py except for random-user (our own\n"
        "seeded generator, not numpy's default_rng) and quoted CSV fields.\n";

int
tr_cmd_split(int argc, char **argv)
{
	static const char *cmd = "split";
	tr_split_opts o;
	tr_error err;
	int r, first;

	tr_split_opts_defaults(&o);
	tr_opt t[] = {
	        TR_OPT_STR("out", &o.out_dir, "DIR", "where train.csv, test.csv, split.json go"),
	        TR_OPT_STR("protocol", &o.protocol, "P",
	                   "temporal-user (default) | global-time | random-user |\n"
	                   "leave-one-out"),
	        TR_OPT_STR("format", &o.format, "F", "auto|csv|tsv|ml100k|space|dat|seq|basket"),
	        TR_OPT_STR("columns", &o.columns, "LIST",
	                   "the columns, e.g. user,item,-,timestamp"),
	        TR_OPT_DBL("test-frac", &o.test_frac, 0, 1, "X", "test share [0.2]"),
	        TR_OPT_INT("min-holdout", &o.min_holdout, 1, 1e9, "N", "[5]"),
	        TR_OPT_U64("seed", &o.seed, 0, 1e15, "N", "random-user's seed [0]"),
	        TR_OPT_DBL("min-rating", &o.min_rating, -1e300, 1e300, "X",
	                   "keep rows with rating >= X [all rows]"),
	        TR_OPT_INT("min-user", &o.min_user, 1, 1e9, "N", "k-core: rows per user [1]"),
	        TR_OPT_INT("min-item", &o.min_item, 1, 1e9, "N", "k-core: rows per item [1]"),
	        TR_OPT_FLAG("keep-cold", &o.keep_cold, "keep test rows of cold users and items"),
	};
	tr_opts_spec spec = {cmd, split_usage, t, sizeof(t) / sizeof(t[0])};

	tr_opts_seen(t, spec.n, "min-rating", &o.has_min_rating);
	if ((r = tr_opts_parse(&spec, argc, argv, &first)) != -1)
		return r;
	if (first != argc - 1)
		return tr_opts_usage_error(cmd, "exactly one INPUT file is required");
	if (o.out_dir == NULL)
		return tr_opts_usage_error(cmd, "--out is required");
	o.input = argv[first];
	if (tr_split_run(&o, &err) != 0)
		return cmd_fail(cmd, &err);
	return 0;
}

static const char tune_usage[] =
        "usage: rs-train tune --train train.csv --model NAME [--grid SPEC]\n"
        "                     [--protocol P] [--k 20] [--out best.json] [params]\n\n"
        "Grid search on a validation split carved from train.csv with the\n"
        "protocol of the original split (split.json next to train.csv, else\n"
        "temporal-user; --test-frac 0.2, --min-holdout 5). Each point is fitted\n"
        "on the rest and scored by NDCG@k; prints the table and the best flags.\n"
        "SPEC: 'name=v1,v2;name=...' over k, shrink, seq_weight, factors, reg,\n"
        "alpha, iterations, lambda, half_life, candidates, trees, depth, eta.\n"
        "Default grids: itemknn k=25..800 x shrink 0,10; als factors 64,128 x\n"
        "reg 1..100 x alpha 0.5..32; ease lambda 10..1000; two-stage\n"
        "candidates 50,100 x depth 4,6. Other flags set the fixed parameters.\n";

int
tr_cmd_tune(int argc, char **argv)
{
	static const char *cmd = "tune";
	const char *train = NULL, *model = NULL, *grid = NULL, *protocol = NULL;
	const char *out = NULL;
	tr_params p, best;
	tr_tune_opts o = {.test_frac = 0.2, .min_holdout = 5, .k = 20, .log = stderr};
	tr_dataset ds;
	tr_error err;
	int r;
	double best_ndcg = 0;
	char args[512];
	model_args ma = {&p, 0};
	tr_opt t[TR_OPTS_MAX] = {
	        TR_OPT_STR("train", &train, "FILE", "the training CSV"),
	        TR_OPT_STR("model", &model, "NAME", "pop, itemknn, als, ease, two-stage"),
	        TR_OPT_STR("grid", &grid, "SPEC", "the grid (see above) [the default grid]"),
	        TR_OPT_STR("models", &grid, "SPEC", "= --grid"),
	        TR_OPT_STR("protocol", &protocol, "P",
	                   "the validation split's protocol [split.json's, else temporal-user]"),
	        TR_OPT_INT("k", &o.k, 1, 4096, "N",
	                   "the metric cut-off NDCG@N [20] (the knn size is in --grid)"),
	        TR_OPT_DBL("test-frac", &o.test_frac, 0.01, 0.9, "X", "validation share [0.2]"),
	        TR_OPT_INT("min-holdout", &o.min_holdout, 1, 1e9, "N", "[5]"),
	        TR_OPT_STR("out", &out, "FILE", "the best point as JSON"),
	        WEIGHTS_HEAD,
	        TR_OPT_FN("weights", opt_weights, &p, "SPEC", WEIGHTS_HELP),
	};
	tr_opts_spec spec = {cmd, tune_usage, t, 11};

	tr_params_defaults(&p);
	spec.n += model_opts(t + spec.n, &ma);
	if ((r = tr_opts_parse_all(&spec, argc, argv)) != -1)
		return r;
	if (train == NULL || model == NULL)
		return tr_opts_usage_error(cmd, "--train and --model are required");
	if (tr_kind_parse(model, &o.kind, &err) != 0)
		return cmd_fail(cmd, &err);
	{ /* the original split's protocol, as reference.py --tune reads it */
		char dir[4096], path[4200];
		json_t *root;
		snprintf(dir, sizeof(dir), "%s", train);
		snprintf(path, sizeof(path), "%s/split.json", dirname(dir));
		if (protocol == NULL && (root = json_load_file(path, 0, NULL)) != NULL) {
			const char *pr = NULL;
			if (json_unpack(root, "{s:s}", "protocol", &pr) == 0) {
				snprintf(args, sizeof(args), "%s", pr);
				protocol = args;
			}
			json_unpack(root, "{s?F, s?i}", "test_frac", &o.test_frac, "min_holdout",
			            &o.min_holdout);
			json_decref(root);
		}
	}
	o.protocol = protocol != NULL ? tr_xstrdup(protocol) : tr_xstrdup("temporal-user");
	o.grid = grid;
	if (!ma.holdout_set)
		params_from_split_json(train, &p);
	if (params_load_train(&p, train, &ds, &err) != 0) {
		free((char *) o.protocol);
		return cmd_fail(cmd, &err);
	}
	r = tr_tune_run(&ds, &p, &o, &best, &best_ndcg, args, sizeof(args), &err);
	tr_dataset_fini(&ds);
	free((char *) o.protocol);
	if (r != 0)
		return cmd_fail(cmd, &err);
	printf("best %s: %s  (validation NDCG@%d %.4f)\n", model, args, o.k, best_ndcg);
	if (out != NULL) {
		FILE *f = fopen(out, "w");
		if (f == NULL) {
			fprintf(stderr, "rs-train tune: %s: cannot create\n", out);
			return 1;
		}
		fprintf(f, "{\"model\": \"%s\", \"args\": \"%s\", \"ndcg\": %.6f, \"k\": %d}\n",
		        model, args, best_ndcg, o.k);
		fclose(f);
	}
	return 0;
}

static const char synth_usage[] =
        "usage: rs-train synth --out train.csv [--n-users 100000] [--n-items 20000]\n"
        "                         [--nnz 5000000] [--zipf 0.8] [--seed 0]\n\n"
        "Synthetic implicit data for speed tests: each user gets nnz/users\n"
        "distinct items drawn with Zipf(s) item popularity.\n";

int
tr_cmd_synth(int argc, char **argv)
{
	static const char *cmd = "synth";
	const char *out = NULL;
	double users = 100000, items = 20000, nnz = 5000000, zipf = 0.8, seed = 0;
	int r, first;
	tr_error err;
	const tr_opt t[] = {
	        TR_OPT_STR("out", &out, "FILE", "the train.csv to write"),
	        TR_OPT_DBL("n-users", &users, 1, 1e9, "N", "users [100000]"),
	        TR_OPT_DBL("n-items", &items, 1, 1e9, "N", "items [20000]"),
	        TR_OPT_DBL("nnz", &nnz, 1, 1e12, "N", "interactions [5000000]"),
	        TR_OPT_DBL("zipf", &zipf, 0, 10, "S", "Zipf exponent of item popularity [0.8]"),
	        TR_OPT_DBL("seed", &seed, 0, 1e15, "N", "[0]"),
	};
	const tr_opts_spec spec = {cmd, synth_usage, t, sizeof(t) / sizeof(t[0])};

	if ((r = tr_opts_parse(&spec, argc, argv, &first)) != -1)
		return r;
	if (out == NULL || first < argc)
		return tr_opts_usage_error(cmd, "--out is required");
	if (tr_generate(out, (int64_t) users, (int64_t) items, (int64_t) nnz, zipf, (uint64_t) seed,
	                &err) != 0)
		return cmd_fail(cmd, &err);
	return 0;
}

static const char publish_usage[] =
        "usage: rs-train publish --model DIR --out VERSION_DIR [--json metrics.json]\n\n"
        "Writes an immutable model version folder for the online services: LMDB\n"
        "(items, item_codes, item_factors, neighbours, popular, meta), the\n"
        "manifest (with the metrics of --json, e.g. from rs-train evaluate\n"
        "--json) and, for two-stage, ranker.json. An existing VERSION_DIR is\n"
        "refused. Layout: services/trainer/publish.h.\n";

int
tr_cmd_publish(int argc, char **argv)
{
	static const char *cmd = "publish";
	const char *model = NULL, *out = NULL, *metrics = NULL;
	tr_error err;
	int r, first;
	const tr_opt t[] = {
	        TR_OPT_STR("model", &model, "DIR", "the model folder (rs-train fit)"),
	        TR_OPT_STR("out", &out, "VERSION_DIR", "the version folder to create"),
	        TR_OPT_STR("json", &metrics, "FILE", "metrics to record in the manifest"),
	};
	const tr_opts_spec spec = {cmd, publish_usage, t, sizeof(t) / sizeof(t[0])};

	if ((r = tr_opts_parse(&spec, argc, argv, &first)) != -1)
		return r;
	if (model == NULL || out == NULL || first < argc)
		return tr_opts_usage_error(cmd, "--model and --out are required");
	if (tr_publish(model, out, metrics, &err) != 0)
		return cmd_fail(cmd, &err);
	fprintf(stderr, "rs-train publish: %s -> %s\n", model, out);
	return 0;
}

/* -------------------------------------------------------------------- pipeline */

static const char pipeline_usage[] =
        "usage: rs-train pipeline --dsn DSN --models-dir DIR [--no-tune|--quick]\n"
        "                         [--models LIST] [--weights SPEC] [--version NAME]\n"
        "                         [--mlruns DIR] [--no-activate] [--quiet]\n"
        "                         [model parameters]\n\n"
        "Retrains from the event store and publishes the best model:\n"
        "snapshot PostgreSQL events -> weighted interactions + explicit negatives\n"
        "-> per-user temporal 80/20 split -> tune (bounded grids; --no-tune or\n"
        "--quick: the defaults, two-stage --candidates 50) and fit each model of\n"
        "--models [" TR_PIPELINE_MODELS "]\n"
        "-> NDCG@20 etc. on the test split, table vs pop -> the best refitted on\n"
        "all the data -> DIR/<version> (immutable; LMDB + manifest) -> model_versions\n"
        "row + rs_model_activate (serving switches) -> training_runs row and an\n"
        "MLflow run (--mlruns, default DIR/mlruns). A failed run publishes nothing\n"
        "and leaves the active version alone. --no-activate registers the version\n"
        "without activating it (the active one stays; an experiment's variant can name\n"
        "it or follow its kind). Prints the version on the last line.\n\n"
        "Stages (one process or container each, e.g. deploy/airflow's DAG):\n"
        "  rs-train pipeline --stage STAGE --run-dir RUN --dsn DSN --models-dir DIR [...]\n"
        "with STAGE snapshot, split, fit, evaluate, publish in this order, the same\n"
        "options for every stage. Each stage reads its inputs from RUN and writes its\n"
        "output there (run.json: run id, options, md5 of every file); it refuses\n"
        "inputs missing, changed or of another run. Without --stage the same five\n"
        "stages run in a row (in RUN when given, else a temporary folder in DIR).\n";

/* pipeline's --weights: parsed into the options' weights, kept in canonical form */
static int
opt_pipeline_weights(const char *cmd, const tr_opt *o, const char *arg)
{
	tr_pipeline_opts *po = o->dst;
	tr_error err;

	if (tr_weights_parse(arg, &po->weights, &err) != 0)
		return tr_opts_usage_error(cmd, "%s", err.msg);
	rs_event_weights_format(&po->weights, po->weights_spec, sizeof(po->weights_spec));
	return 0;
}

static int
opt_pipeline_quiet(const char *cmd, const tr_opt *o, const char *arg)
{
	(void) cmd;
	(void) arg;
	((tr_pipeline_opts *) o->dst)->out = NULL;
	return 0;
}

int
tr_cmd_pipeline(int argc, char **argv)
{
	static const char *cmd = "pipeline";
	tr_pipeline_opts o;
	tr_pipeline_result res;
	tr_error err;
	int r, cands_set = 0;
	const char *stage_name = NULL;
	tr_stage stage = TR_STAGE_SNAPSHOT;
	model_args ma = {&o.base, 0};
	tr_opt t[TR_OPTS_MAX] = {
	        TR_OPT_STR("dsn", &o.dsn, "DSN", "the event store and the model registry"),
	        TR_OPT_STR("stage", &stage_name, "STAGE",
	                   "run one stage: snapshot, split, fit, evaluate, publish"),
	        TR_OPT_STR("run-dir", &o.run_dir, "RUN", "the run folder the stages share"),
	        TR_OPT_STR("models-dir", &o.models_dir, "DIR", "version folders go here"),
	        TR_OPT_SETV("no-tune", &o.tune, 0, "the default parameters, no tuning"),
	        TR_OPT_SETV("quick", &o.tune, 0, "= --no-tune"),
	        TR_OPT_STR("models", &o.models, "LIST", "the models [" TR_PIPELINE_MODELS "]"),
	        TR_OPT_STR("grid", &o.models, "LIST", "= --models"),
	        TR_OPT_STR("version", &o.version, "NAME", "the version's name [a fresh one]"),
	        TR_OPT_STR("mlruns", &o.mlruns, "DIR", "MLflow file store [DIR/mlruns]"),
	        TR_OPT_FN("quiet", opt_pipeline_quiet, &o, NULL, "no table and summary"),
	        TR_OPT_SETV("no-activate", &o.activate, 0,
	                    "register the version, leave the active one as it is"),
	        WEIGHTS_HEAD,
	        TR_OPT_FN("weights", opt_pipeline_weights, &o, "SPEC", WEIGHTS_HELP),
	};
	tr_opts_spec spec = {cmd, pipeline_usage, t, 14};

	tr_pipeline_opts_defaults(&o);
	spec.n += model_opts(t + spec.n, &ma);
	tr_opts_seen(t, spec.n, "candidates", &cands_set);
	if ((r = tr_opts_parse_all(&spec, argc, argv)) != -1)
		return r;
	if (o.dsn == NULL || o.models_dir == NULL)
		return tr_opts_usage_error(cmd, "--dsn and --models-dir are required");
	if (stage_name != NULL && tr_stage_parse(stage_name, &stage, &err) != 0)
		return tr_opts_usage_error(cmd, "--stage: %s", err.msg);
	if (stage_name != NULL && o.run_dir == NULL)
		return tr_opts_usage_error(cmd, "--stage needs --run-dir (the run folder)");
	if (!o.tune && !cands_set) /* --quick: half the two-stage candidates (~2x faster) */
		o.base.cand_n = 50;
	if (stage_name != NULL) {
		if (tr_pipeline_stage(&o, stage, &res, &err) != 0)
			return cmd_fail(cmd, &err);
		if (stage != TR_STAGE_PUBLISH)
			return 0;
	} else if (tr_pipeline_run(&o, &res, &err) != 0) {
		return cmd_fail(cmd, &err);
	}
	if (o.out != NULL)
		fprintf(o.out,
		        "published %s: %s, NDCG@20 %.4f (pop %.4f) in %.1fs; run %s; %s: %s\n",
		        res.version, res.model, res.ndcg, res.ndcg_pop, res.seconds, res.run_id,
		        o.activate ? "previous active" : "not activated, active",
		        res.previous[0] ? res.previous : "none");
	return 0;
}
