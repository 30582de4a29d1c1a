/* commands: argument parsing and orchestration for each subcommand (see commands.h). */
#include "commands.h"

#include <getopt.h>
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

/* ------------------------------------------------------------------ shared options */

enum {
	OPT_TRAIN = 1000,
	OPT_MODEL,
	OPT_OUT,
	OPT_FACTORS,
	OPT_ITERS,
	OPT_REG,
	OPT_ALPHA,
	OPT_K,
	OPT_SHRINK,
	OPT_SEQ,
	OPT_LAMBDA,
	OPT_MAXMEM,
	OPT_MAXITEMS,
	OPT_HALFLIFE,
	OPT_CG,
	OPT_THREADS,
	OPT_SEED,
	OPT_SOURCES,
	OPT_CANDS,
	OPT_TREES,
	OPT_DEPTH,
	OPT_ETA,
	OPT_OBJ,
	OPT_HOLDOUT,
	OPT_LOO,
	OPT_USERS,
	OPT_TEST,
	OPT_RECS,
	OPT_JSON,
	OPT_HELP,
	OPT_QUIET,
	OPT_PROTOCOL,
	OPT_TESTFRAC,
	OPT_MINHOLD,
	OPT_KEEPCOLD,
	OPT_FORMAT,
	OPT_MINRATING,
	OPT_MINUSER,
	OPT_MINITEM,
	OPT_MODELS,
	OPT_DROPTRAIN,
	OPT_COLUMNS,
	OPT_PERUSER,
	OPT_NUSERS,
	OPT_NITEMS,
	OPT_NNZ,
	OPT_ZIPF,
	OPT_HOLDOUTP,
	OPT_FOLDS,
	OPT_MLRUNS,
	OPT_EXPERIMENT,
	OPT_RUNID,
	OPT_WEIGHTS,
	OPT_DSN,
	OPT_MODELSDIR,
	OPT_NOTUNE,
	OPT_VERSION,
	OPT_RUNSDIR,
};

static const struct option long_opts[] = {
        {"train", required_argument, NULL, OPT_TRAIN},
        {"model", required_argument, NULL, OPT_MODEL},
        {"out", required_argument, NULL, OPT_OUT},
        {"factors", required_argument, NULL, OPT_FACTORS},
        {"iterations", required_argument, NULL, OPT_ITERS},
        {"reg", required_argument, NULL, OPT_REG},
        {"alpha", required_argument, NULL, OPT_ALPHA},
        {"k", required_argument, NULL, OPT_K},
        {"shrink", required_argument, NULL, OPT_SHRINK},
        {"seq-weight", required_argument, NULL, OPT_SEQ},
        {"lambda", required_argument, NULL, OPT_LAMBDA},
        {"max-mem", required_argument, NULL, OPT_MAXMEM},
        {"max-items", required_argument, NULL, OPT_MAXITEMS},
        {"half-life", required_argument, NULL, OPT_HALFLIFE},
        {"cg-steps", required_argument, NULL, OPT_CG},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"seed", required_argument, NULL, OPT_SEED},
        {"sources", required_argument, NULL, OPT_SOURCES},
        {"candidates", required_argument, NULL, OPT_CANDS},
        {"trees", required_argument, NULL, OPT_TREES},
        {"depth", required_argument, NULL, OPT_DEPTH},
        {"eta", required_argument, NULL, OPT_ETA},
        {"objective", required_argument, NULL, OPT_OBJ},
        {"holdout-frac", required_argument, NULL, OPT_HOLDOUT},
        {"leave-one-out", no_argument, NULL, OPT_LOO},
        {"holdout", required_argument, NULL, OPT_HOLDOUTP},
        {"label-folds", required_argument, NULL, OPT_FOLDS},
        {"mlruns", required_argument, NULL, OPT_MLRUNS},
        {"experiment", required_argument, NULL, OPT_EXPERIMENT},
        {"run-id", required_argument, NULL, OPT_RUNID},
        {"users", required_argument, NULL, OPT_USERS},
        {"test", required_argument, NULL, OPT_TEST},
        {"recs", required_argument, NULL, OPT_RECS},
        {"json", required_argument, NULL, OPT_JSON},
        {"per-user", required_argument, NULL, OPT_PERUSER},
        {"protocol", required_argument, NULL, OPT_PROTOCOL},
        {"test-frac", required_argument, NULL, OPT_TESTFRAC},
        {"min-holdout", required_argument, NULL, OPT_MINHOLD},
        {"keep-cold", no_argument, NULL, OPT_KEEPCOLD},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"columns", required_argument, NULL, OPT_COLUMNS},
        {"min-rating", required_argument, NULL, OPT_MINRATING},
        {"min-user", required_argument, NULL, OPT_MINUSER},
        {"min-item", required_argument, NULL, OPT_MINITEM},
        {"models", required_argument, NULL, OPT_MODELS},
        {"grid", required_argument, NULL, OPT_MODELS},
        {"drop-train-items", no_argument, NULL, OPT_DROPTRAIN},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"n-users", required_argument, NULL, OPT_NUSERS},
        {"n-items", required_argument, NULL, OPT_NITEMS},
        {"nnz", required_argument, NULL, OPT_NNZ},
        {"zipf", required_argument, NULL, OPT_ZIPF},
        {"weights", required_argument, NULL, OPT_WEIGHTS},
        {"dsn", required_argument, NULL, OPT_DSN},
        {"models-dir", required_argument, NULL, OPT_MODELSDIR},
        {"no-tune", no_argument, NULL, OPT_NOTUNE},
        {"quick", no_argument, NULL, OPT_NOTUNE},
        {"version", required_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
};

static int
cmd_fail(const char *cmd, const tr_error *err)
{
	fprintf(stderr, "rs-train %s: %s\n", cmd, err->msg);
	return 1;
}

static int
cmd_usage_error(const char *cmd, const char *msg)
{
	fprintf(stderr, "rs-train %s: %s (see rs-train %s --help)\n", cmd, msg, cmd);
	return 2;
}

static int
opt_num(const char *cmd, const char *name, const char *s, double lo, double hi, double *out)
{
	char msg[256];

	if (tr_parse_double(s, out) != 0 || *out < lo || *out > hi) {
		snprintf(msg, sizeof(msg), "--%s: '%s' is not a number in [%g, %g]", name, s, lo,
		         hi);
		return cmd_usage_error(cmd, msg);
	}
	return 0;
}

#define NUM(name, lo, hi, dst)                                    \
	do {                                                      \
		double v_;                                        \
		if (opt_num(cmd, name, optarg, lo, hi, &v_) != 0) \
			return 2;                                 \
		dst = v_;                                         \
	} while (0)

/* model parameter options shared by fit and tune; returns 1 if handled, 2 on error */
static int
parse_model_opt(const char *cmd, int c, tr_params *p, int *holdout_set)
{
	switch (c) {
	case OPT_FACTORS:
		NUM("factors", 1, 1024, p->factors);
		return 1;
	case OPT_ITERS:
		NUM("iterations", 0, 1000, p->iterations);
		return 1;
	case OPT_REG:
		NUM("reg", 0, 1e9, p->reg);
		return 1;
	case OPT_ALPHA:
		NUM("alpha", 0, 1e9, p->alpha);
		return 1;
	case OPT_K:
		NUM("k", 1, 1e6, p->knn_k);
		return 1;
	case OPT_SHRINK:
		NUM("shrink", 0, 1e9, p->shrink);
		return 1;
	case OPT_SEQ:
		NUM("seq-weight", 0, 1e9, p->seq_weight);
		return 1;
	case OPT_LAMBDA:
		NUM("lambda", 0, 1e12, p->lambda);
		return 1;
	case OPT_MAXMEM:
		NUM("max-mem", 0.001, 1e6, p->max_mem_gb);
		return 1;
	case OPT_MAXITEMS:
		NUM("max-items", 1, 1e7, p->max_items);
		return 1;
	case OPT_HALFLIFE:
		NUM("half-life", 0, 1e18, p->half_life);
		return 1;
	case OPT_CG:
		NUM("cg-steps", 0, 100, p->cg_steps);
		return 1;
	case OPT_THREADS:
		NUM("threads", 1, 1024, p->nthreads);
		return 1;
	case OPT_SEED:
		NUM("seed", 0, 1e15, p->seed);
		return 1;
	case OPT_CANDS:
		NUM("candidates", 1, 100000, p->cand_n);
		return 1;
	case OPT_TREES:
		NUM("trees", 1, 100000, p->trees);
		return 1;
	case OPT_DEPTH:
		NUM("depth", 1, 30, p->depth);
		return 1;
	case OPT_ETA:
		NUM("eta", 1e-6, 1, p->eta);
		return 1;
	case OPT_HOLDOUT:
		NUM("holdout-frac", 0, 0.9, p->holdout_frac);
		*holdout_set = 1;
		return 1;
	case OPT_LOO:
		snprintf(p->holdout, sizeof(p->holdout), "%s", "leave-one-out");
		*holdout_set = 1;
		return 1;
	case OPT_FOLDS:
		NUM("label-folds", 0, 20, p->label_folds);
		return 1;
	case OPT_HOLDOUTP:
		snprintf(p->holdout, sizeof(p->holdout), "%s", optarg);
		*holdout_set = 1;
		return 1;
	case OPT_SOURCES:
		snprintf(p->sources, sizeof(p->sources), "%s", optarg);
		return 1;
	case OPT_WEIGHTS: {
		tr_weights w;
		tr_error err;
		rs_event_weights_defaults(&w);
		if (tr_weights_parse(optarg, &w, &err) != 0)
			return cmd_usage_error(cmd, err.msg), 2;
		rs_event_weights_format(&w, p->weights, sizeof(p->weights));
		return 1;
	}
	case OPT_OBJ:
		if (strcmp(optarg, "rank:ndcg") != 0 && strcmp(optarg, "rank:pairwise") != 0 &&
		    strcmp(optarg, "rank:map") != 0)
			return cmd_usage_error(cmd, "--objective must be rank:ndcg, rank:pairwise "
			                            "or rank:map"),
			       2;
		snprintf(p->objective, sizeof(p->objective), "%s", optarg);
		return 1;
	}
	return 0;
}

static const char model_opts_help[] =
        "model parameters (defaults in brackets):\n"
        "  pop:       --half-life T   time decay in timestamp units [0 = plain counts]\n"
        "  itemknn:   --k N [200] neighbours per item, --shrink X [0],\n"
        "             --seq-weight X [0] weight of 'next item' transitions\n"
        "  als:       --factors N [64] --iterations N [15] --reg X [10] --alpha X [2]\n"
        "             --cg-steps N [3] (0 = exact Cholesky solves) --seed N [0]\n"
        "  ease:      --lambda X [300] --max-items N [30000] --max-mem GiB [16]\n"
        "  two-stage: --sources LIST [ease,als,itemknn,pop] --candidates N [100] per source\n"
        "             --trees N [200] --depth N [6] --eta X [0.1]\n"
        "             --objective rank:pairwise|rank:ndcg|rank:map [rank:pairwise]\n"
        "             --holdout PROTOCOL [temporal-user; default: the protocol in the\n"
        "             split.json next to train.csv] how the ranker's label slice is\n"
        "             carved from train (temporal-user, random-user, global-time,\n"
        "             leave-one-out = --leave-one-out), --holdout-frac X [0.2]\n"
        "             --label-folds N [0: 3 random slices for random-user, else 1]\n"
        "             (first-stage sources use the parameters above)\n"
        "  all:       --threads N [all cores; or RS_TRAIN_THREADS]\n"
        "event logs (a CSV with a type and/or value column; see docs/TRAINING.md):\n"
        "             --weights view=1,click=2,add_to_cart=4,purchase=8,rating=2,\n"
        "                       not_interested=8,rating_low=3  [these defaults]\n";

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
	int c, r, quiet = 0, holdout_set = 0;
	double t0 = tr_now(), t_load;
	PGconn *pg = NULL;
	char run_id[33];

	rs_proc_random_id(run_id, sizeof(run_id));
	tr_params_defaults(&p);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if ((r = parse_model_opt(cmd, c, &p, &holdout_set)) == 1)
			continue;
		if (r == 2)
			return 2;
		switch (c) {
		case OPT_TRAIN:
			train = optarg;
			break;
		case OPT_MODEL:
			model = optarg;
			break;
		case OPT_OUT:
			out = optarg;
			break;
		case OPT_QUIET:
			quiet = 1;
			break;
		case OPT_MLRUNS:
			mlruns = optarg;
			break;
		case OPT_EXPERIMENT:
			experiment = optarg;
			break;
		case OPT_DSN:
			dsn = optarg;
			break;
		case OPT_HELP:
			printf("usage: rs-train fit --train train.csv --model NAME --out DIR "
			       "[options]\n"
			       "       [--mlruns DIR [--experiment NAME]] [--dsn DSN (a "
			       "training_runs row)]\n\n"
			       "Fits one model on a user,item[,timestamp] CSV (header required; "
			       "every\n"
			       "row is a positive; with a type and/or value column the rows are "
			       "weighted\n"
			       "events and explicit negatives, see --weights) and writes a model "
			       "folder\n"
			       "(manifest.json + arrays).\n"
			       "NAME: pop, itemknn, als, ease, two-stage.\n\n%s",
			       model_opts_help);
			return 0;
		default:
			return cmd_usage_error(cmd, "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error(cmd, "unexpected argument");
	if (train == NULL || model == NULL || out == NULL)
		return cmd_usage_error(cmd, "--train, --model and --out are required");
	if (tr_kind_parse(model, &kind, &err) != 0)
		return cmd_fail(cmd, &err);
	if (!holdout_set)
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

int
tr_cmd_recommend(int argc, char **argv)
{
	static const char *cmd = "recommend";
	const char *train = NULL, *model = NULL, *out = "-", *users = NULL;
	tr_dataset ds;
	tr_model m;
	tr_error err;
	users_ctx uc = {NULL, 0, 0};
	int c, k = 20, rv, *counts = NULL, nthreads = 0;
	int32_t *codes = NULL, *items = NULL;
	size_t j;
	double t0 = tr_now(), v;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_TRAIN:
			train = optarg;
			break;
		case OPT_MODEL:
			model = optarg;
			break;
		case OPT_OUT:
			out = optarg;
			break;
		case OPT_USERS:
			users = optarg;
			break;
		case OPT_K:
			if (opt_num(cmd, "k", optarg, 1, 100000, &v) != 0)
				return 2;
			k = (int) v;
			break;
		case OPT_THREADS:
			if (opt_num(cmd, "threads", optarg, 1, 1024, &v) != 0)
				return 2;
			nthreads = (int) v;
			break;
		case OPT_HELP:
			printf("usage: rs-train recommend --model DIR --train train.csv --users "
			       "users.txt\n"
			       "                          [--k 20] [--out recs.csv] [--threads "
			       "N]\n\n"
			       "Writes user,item,rank (header, rank 1 = best) with k items per "
			       "user of\n"
			       "users.txt (one id per line; a first line 'user' is skipped), never "
			       "an\n"
			       "item the user has in train.csv. Users without train history get "
			       "the\n"
			       "popularity list. train.csv must be the file the model was fitted "
			       "on.\n"
			       "--out - (default) writes to stdout.\n");
			return 0;
		default:
			return cmd_usage_error(cmd, "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error(cmd, "unexpected argument");
	if (train == NULL || model == NULL || users == NULL)
		return cmd_usage_error(cmd, "--model, --train and --users are required");
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
		if (*nk == TR_MAX_K || opt_num(cmd, "k", tok, 1, 4096, &v) != 0)
			return 2;
		ks[(*nk)++] = (int) v;
	}
	if (*nk == 0)
		return cmd_usage_error(cmd, "--k needs at least one cut-off");
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

int
tr_cmd_evaluate(int argc, char **argv)
{
	static const char *cmd = "evaluate";
	const char *test = NULL, *train = NULL, *recs = NULL, *json = NULL;
	const char *mlruns = NULL, *experiment = "rs-train", *run_id = NULL;
	int c, ks[TR_MAX_K], nk = 0, drop = 0, quiet = 0;
	tr_metrics m;
	tr_error err;

	ks[0] = 10;
	ks[1] = 20;
	nk = 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_TEST:
			test = optarg;
			break;
		case OPT_TRAIN:
			train = optarg;
			break;
		case OPT_RECS:
			recs = optarg;
			break;
		case OPT_JSON:
			json = optarg;
			break;
		case OPT_DROPTRAIN:
			drop = 1;
			break;
		case OPT_MLRUNS:
			mlruns = optarg;
			break;
		case OPT_EXPERIMENT:
			experiment = optarg;
			break;
		case OPT_RUNID:
			run_id = optarg;
			break;
		case OPT_QUIET:
			quiet = 1;
			break;
		case OPT_K:
			if (parse_ks(cmd, optarg, ks, &nk) != 0)
				return 2;
			break;
		case OPT_HELP:
			printf("usage: rs-train evaluate --test test.csv --train train.csv --recs "
			       "recs.csv\n"
			       "                         [--k 10,20] [--json out.json] "
			       "[--drop-train-items]\n"
			       "                         [--mlruns DIR --run-id ID [--experiment "
			       "NAME]]"
			       "\n\n"
			       "Full-ranking metrics with the definitions of "
			       "shared/bench/score.py:\n"
			       "Recall, RecallPlain, NDCG, MAP, MRR, HitRate, Precision (means "
			       "over test\n"
			       "users), Coverage, AvgPop, Novelty. Items the user has in train "
			       "count as\n"
			       "misses unless --drop-train-items.\n");
			return 0;
		default:
			return cmd_usage_error(cmd, "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error(cmd, "unexpected argument");
	if (test == NULL || train == NULL || recs == NULL)
		return cmd_usage_error(cmd, "--test, --train and --recs are required");
	if (tr_evaluate_files(test, train, recs, ks, nk, drop, &m, &err) != 0 ||
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

int
tr_cmd_split(int argc, char **argv)
{
	static const char *cmd = "split";
	tr_split_opts o;
	tr_error err;
	int c;
	double v;

	tr_split_opts_defaults(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_OUT:
			o.out_dir = optarg;
			break;
		case OPT_FORMAT:
			o.format = optarg;
			break;
		case OPT_COLUMNS:
			o.columns = optarg;
			break;
		case OPT_PROTOCOL:
			o.protocol = optarg;
			break;
		case OPT_KEEPCOLD:
			o.keep_cold = 1;
			break;
		case OPT_TESTFRAC:
			if (opt_num(cmd, "test-frac", optarg, 0, 1, &o.test_frac) != 0)
				return 2;
			break;
		case OPT_MINRATING:
			if (opt_num(cmd, "min-rating", optarg, -1e300, 1e300, &o.min_rating) != 0)
				return 2;
			o.has_min_rating = 1;
			break;
		case OPT_MINHOLD:
			if (opt_num(cmd, "min-holdout", optarg, 1, 1e9, &v) != 0)
				return 2;
			o.min_holdout = (int) v;
			break;
		case OPT_MINUSER:
			if (opt_num(cmd, "min-user", optarg, 1, 1e9, &v) != 0)
				return 2;
			o.min_user = (int) v;
			break;
		case OPT_MINITEM:
			if (opt_num(cmd, "min-item", optarg, 1, 1e9, &v) != 0)
				return 2;
			o.min_item = (int) v;
			break;
		case OPT_SEED:
			if (opt_num(cmd, "seed", optarg, 0, 1e15, &v) != 0)
				return 2;
			o.seed = (uint64_t) v;
			break;
		case OPT_HELP:
			printf("usage: rs-train split INPUT --out DIR [--protocol P] [options]\n\n"
			       "The steps, protocols and files of shared/bench/split.py: read -> "
			       "keep\n"
			       "rating >= --min-rating -> one row per (user,item), the earliest "
			       "->\n"
			       "k-core (--min-user, --min-item) -> split -> drop cold test rows "
			       "(unless\n"
			       "--keep-cold) -> DIR/train.csv, DIR/test.csv, DIR/split.json.\n\n"
			       "  --protocol temporal-user (default) | global-time | random-user "
			       "|\n"
			       "             leave-one-out\n"
			       "  --format auto|csv|tsv|ml100k|space|dat|seq|basket   --columns "
			       "LIST\n"
			       "  --test-frac 0.2  --min-holdout 5  --seed 0 (random-user)\n\n"
			       "Output is byte-identical to split.py except for random-user (our "
			       "own\n"
			       "seeded generator, not numpy's default_rng) and quoted CSV "
			       "fields.\n");
			return 0;
		default:
			return cmd_usage_error(cmd, "unknown option");
		}
	}
	if (optind != argc - 1)
		return cmd_usage_error(cmd, "exactly one INPUT file is required");
	if (o.out_dir == NULL)
		return cmd_usage_error(cmd, "--out is required");
	o.input = argv[optind];
	if (tr_split_run(&o, &err) != 0)
		return cmd_fail(cmd, &err);
	return 0;
}

int
tr_cmd_tune(int argc, char **argv)
{
	static const char *cmd = "tune";
	const char *train = NULL, *model = NULL, *grid = NULL, *protocol = NULL;
	const char *out = NULL;
	tr_params p, best;
	tr_tune_opts o;
	tr_dataset ds;
	tr_error err;
	int c, r, holdout_set = 0;
	double v, best_ndcg = 0;
	char args[512];

	tr_params_defaults(&p);
	memset(&o, 0, sizeof(o));
	o.test_frac = 0.2;
	o.min_holdout = 5;
	o.k = 20;
	o.log = stderr;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (c == OPT_K) { /* --k is the metric cut-off here; the knn size is in --grid */
			if (opt_num(cmd, "k", optarg, 1, 4096, &v) != 0)
				return 2;
			o.k = (int) v;
			continue;
		}
		if ((r = parse_model_opt(cmd, c, &p, &holdout_set)) == 1)
			continue;
		if (r == 2)
			return 2;
		switch (c) {
		case OPT_TRAIN:
			train = optarg;
			break;
		case OPT_MODEL:
			model = optarg;
			break;
		case OPT_OUT:
			out = optarg;
			break;
		case OPT_PROTOCOL:
			protocol = optarg;
			break;
		case OPT_MODELS:
			grid = optarg;
			break;
		case OPT_TESTFRAC:
			if (opt_num(cmd, "test-frac", optarg, 0.01, 0.9, &o.test_frac) != 0)
				return 2;
			break;
		case OPT_MINHOLD:
			if (opt_num(cmd, "min-holdout", optarg, 1, 1e9, &v) != 0)
				return 2;
			o.min_holdout = (int) v;
			break;
		case OPT_HELP:
			printf("usage: rs-train tune --train train.csv --model NAME [--grid SPEC]\n"
			       "                     [--protocol P] [--k 20] [--out best.json] "
			       "[params]\n\n"
			       "Grid search on a validation split carved from train.csv with the\n"
			       "protocol of the original split (split.json next to train.csv, "
			       "else\n"
			       "temporal-user; --test-frac 0.2, --min-holdout 5). Each point is "
			       "fitted\n"
			       "on the rest and scored by NDCG@k; prints the table and the best "
			       "flags.\n"
			       "SPEC: 'name=v1,v2;name=...' over k, shrink, seq_weight, factors, "
			       "reg,\n"
			       "alpha, iterations, lambda, half_life, candidates, trees, depth, "
			       "eta.\n"
			       "Default grids: itemknn k=25..800 x shrink 0,10; als factors 64,128 "
			       "x\n"
			       "reg 1..100 x alpha 0.5..32; ease lambda 10..1000; two-stage\n"
			       "candidates 50,100 x depth 4,6. Other flags set the fixed "
			       "parameters.\n");
			return 0;
		default:
			return cmd_usage_error(cmd, "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error(cmd, "unexpected argument");
	if (train == NULL || model == NULL)
		return cmd_usage_error(cmd, "--train and --model are required");
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
	if (!holdout_set)
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

int
tr_cmd_synth(int argc, char **argv)
{
	static const char *cmd = "synth";
	const char *out = NULL;
	double users = 100000, items = 20000, nnz = 5000000, zipf = 0.8, seed = 0;
	int c;
	tr_error err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_OUT:
			out = optarg;
			break;
		case OPT_NUSERS:
			if (opt_num(cmd, "n-users", optarg, 1, 1e9, &users) != 0)
				return 2;
			break;
		case OPT_NITEMS:
			if (opt_num(cmd, "n-items", optarg, 1, 1e9, &items) != 0)
				return 2;
			break;
		case OPT_NNZ:
			if (opt_num(cmd, "nnz", optarg, 1, 1e12, &nnz) != 0)
				return 2;
			break;
		case OPT_ZIPF:
			if (opt_num(cmd, "zipf", optarg, 0, 10, &zipf) != 0)
				return 2;
			break;
		case OPT_SEED:
			if (opt_num(cmd, "seed", optarg, 0, 1e15, &seed) != 0)
				return 2;
			break;
		case OPT_HELP:
			printf("usage: rs-train synth --out train.csv [--n-users 100000] "
			       "[--n-items 20000]\n"
			       "                         [--nnz 5000000] [--zipf 0.8] [--seed "
			       "0]\n\n"
			       "Synthetic implicit data for speed tests: each user gets nnz/users\n"
			       "distinct items drawn with Zipf(s) item popularity.\n");
			return 0;
		default:
			return cmd_usage_error(cmd, "unknown option");
		}
	}
	if (out == NULL || optind < argc)
		return cmd_usage_error(cmd, "--out is required");
	if (tr_generate(out, (int64_t) users, (int64_t) items, (int64_t) nnz, zipf, (uint64_t) seed,
	                &err) != 0)
		return cmd_fail(cmd, &err);
	return 0;
}

int
tr_cmd_publish(int argc, char **argv)
{
	static const char *cmd = "publish";
	const char *model = NULL, *out = NULL, *metrics = NULL;
	tr_error err;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_MODEL:
			model = optarg;
			break;
		case OPT_OUT:
			out = optarg;
			break;
		case OPT_JSON:
			metrics = optarg;
			break;
		case OPT_HELP:
			printf("usage: rs-train publish --model DIR --out VERSION_DIR [--json "
			       "metrics.json]\n\n"
			       "Writes an immutable model version folder for the online services: "
			       "LMDB\n"
			       "(items, item_codes, item_factors, neighbours, popular, meta), the\n"
			       "manifest (with the metrics of --json, e.g. from rs-train evaluate\n"
			       "--json) and, for two-stage, ranker.json. An existing VERSION_DIR "
			       "is\n"
			       "refused. Layout: services/trainer/publish.h.\n");
			return 0;
		default:
			return cmd_usage_error(cmd, "unknown option");
		}
	}
	if (model == NULL || out == NULL || optind < argc)
		return cmd_usage_error(cmd, "--model and --out are required");
	if (tr_publish(model, out, metrics, &err) != 0)
		return cmd_fail(cmd, &err);
	fprintf(stderr, "rs-train publish: %s -> %s\n", model, out);
	return 0;
}

/* -------------------------------------------------------------------- pipeline */

int
tr_cmd_pipeline(int argc, char **argv)
{
	static const char *cmd = "pipeline";
	tr_pipeline_opts o;
	tr_pipeline_result res;
	tr_error err;
	int c, r, holdout_set = 0, cands_set = 0;

	tr_pipeline_opts_defaults(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (c == OPT_CANDS)
			cands_set = 1;
		if (c == OPT_WEIGHTS) {
			if (tr_weights_parse(optarg, &o.weights, &err) != 0)
				return cmd_usage_error(cmd, err.msg);
			rs_event_weights_format(&o.weights, o.weights_spec, sizeof(o.weights_spec));
			continue;
		}
		if ((r = parse_model_opt(cmd, c, &o.base, &holdout_set)) == 1)
			continue;
		if (r == 2)
			return 2;
		switch (c) {
		case OPT_DSN:
			o.dsn = optarg;
			break;
		case OPT_MODELSDIR:
			o.models_dir = optarg;
			break;
		case OPT_MLRUNS:
			o.mlruns = optarg;
			break;
		case OPT_VERSION:
			o.version = optarg;
			break;
		case OPT_MODELS:
			o.models = optarg;
			break;
		case OPT_NOTUNE:
			o.tune = 0;
			break;
		case OPT_QUIET:
			o.out = NULL;
			break;
		case OPT_HELP:
			printf("usage: rs-train pipeline --dsn DSN --models-dir DIR "
			       "[--no-tune|--quick]\n"
			       "                         [--models LIST] [--weights SPEC] "
			       "[--version "
			       "NAME]\n"
			       "                         [--mlruns DIR] [--quiet] [model "
			       "parameters]\n\n"
			       "Retrains from the event store and publishes the best model:\n"
			       "snapshot PostgreSQL events -> weighted interactions + explicit "
			       "negatives\n"
			       "-> per-user temporal 80/20 split -> tune (bounded grids; --no-tune "
			       "or\n"
			       "--quick: the defaults, two-stage --candidates 50) and fit each "
			       "model of --models [%s]\n"
			       "-> NDCG@20 etc. on the test split, table vs pop -> the best "
			       "refitted "
			       "on\n"
			       "all the data -> DIR/<version> (immutable; LMDB + manifest) -> "
			       "model_versions\n"
			       "row + rs_model_activate (serving switches) -> training_runs row "
			       "and "
			       "an\n"
			       "MLflow run (--mlruns, default DIR/mlruns). A failed run publishes "
			       "nothing\n"
			       "and leaves the active version alone. Prints the version on the "
			       "last "
			       "line.\n\n%s",
			       TR_PIPELINE_MODELS, model_opts_help);
			return 0;
		default:
			return cmd_usage_error(cmd, "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error(cmd, "unexpected argument");
	if (o.dsn == NULL || o.models_dir == NULL)
		return cmd_usage_error(cmd, "--dsn and --models-dir are required");
	if (!o.tune && !cands_set) /* --quick: half the two-stage candidates (~2x faster) */
		o.base.cand_n = 50;
	if (tr_pipeline_run(&o, &res, &err) != 0)
		return cmd_fail(cmd, &err);
	if (o.out != NULL)
		fprintf(o.out,
		        "published %s: %s, NDCG@20 %.4f (pop %.4f) in %.1fs; run %s; previous "
		        "active: %s\n",
		        res.version, res.model, res.ndcg, res.ndcg_pop, res.seconds, res.run_id,
		        res.previous[0] ? res.previous : "none");
	return 0;
}
