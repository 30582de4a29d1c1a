/* pipeline: `rs-train pipeline`, the retraining job end to end:
 *   snapshot the PostgreSQL event store -> weighted interactions and explicit negatives
 *   (events.h) -> per-user temporal 80/20 split (split.py temporal-user: each user's last
 *   20% when the user has >= 5 interactions; test rows of items unseen in train dropped)
 *   -> per model: bounded tuning on a validation slice of train (tune.h), fit on train,
 *   full-ranking metrics on test (metrics.h, as `evaluate`) -> the comparison table vs pop
 *   -> the best model by NDCG@20 refitted on all the data -> an immutable version folder
 *   (publish.h) renamed into models_dir/<version> -> one transaction: INSERT model_versions
 *   + rs_model_activate (not with activate = 0: --no-activate) -> the training_runs row and
 *   an MLflow run folder.
 * A failed run publishes nothing and leaves the active version as it was: the folder
 * appears (by rename) only when complete and disappears again if the registration fails.
 * Version names ("vYYYYMMDD-HHMMSS-xxxxxx", UTC + random) are never reused: a name that
 * exists as a folder or a model_versions row is refused.
 *
 * The run is five stages that hand their results to each other only through files in a run
 * folder (runfolder.h), so a scheduler can run each stage as its own process or container
 * (deploy/airflow) and the one-shot run (tr_pipeline_run) is the same five calls in a row:
 *   snapshot  new run (run.json: run id, options; training_runs row 'running'); the event
 *             store -> snapshot/ (the weighted dataset with its negatives and id maps, dsfile.h)
 *   split     snapshot/ -> split/ (train/: the train dataset; test_u.i32 test_i.i32: the test
 *             rows; split.json); tuning carves its validation slice from train itself
 *   fit       snapshot/ split/ -> fit/<model>/ (each model folder, tuned as above) + fit.json
 *             (each model's final parameters, fit/tune seconds, skip notes)
 *   evaluate  each fit/<model>/ loaded and scored on the test rows -> evaluation.json (every
 *             model's metrics and parameters, vs pop, the best) and the comparison table
 *   publish   the best refitted on snapshot/ -> version folder, registration, activation,
 *             MLflow run, training_runs row 'finished'
 * A stage refuses a folder whose earlier stages did not run or whose files changed since
 * (md5 in run.json), files of another run, or options other than the run was started with.
 * A failing stage records the run as failed (as the one-shot run does). */
#ifndef TR_PIPELINE_H
#define TR_PIPELINE_H

#include <stdio.h>

#include "events.h"
#include "model.h"

#define TR_PIPELINE_MODELS "pop,itemknn,als,ease,two-stage"

typedef enum tr_stage {
	TR_STAGE_SNAPSHOT = 0,
	TR_STAGE_SPLIT,
	TR_STAGE_FIT,
	TR_STAGE_EVALUATE,
	TR_STAGE_PUBLISH,
	TR_STAGE_COUNT
} tr_stage;

const char *tr_stage_name(tr_stage s);
/* tr_stage_parse: 0 or RS_EINVAL naming the known stages. */
int tr_stage_parse(const char *s, tr_stage *out, tr_error *err);

typedef struct tr_pipeline_opts {
	const char *dsn;        /* PostgreSQL with the event store and the registry */
	const char *models_dir; /* version folders are created here */
	const char *mlruns;     /* MLflow file store, NULL = models_dir/mlruns */
	const char *version;    /* NULL = a fresh generated name */
	const char *models;     /* comma list, default TR_PIPELINE_MODELS */
	int tune;               /* 0: the default parameters (--no-tune / --quick) */
	int activate;           /* 0: register the version without activating it */
	tr_weights weights;
	char weights_spec[192]; /* rs_event_weights_format of weights (recorded with the run) */
	tr_params base;         /* parameters before tuning */
	FILE *out;              /* comparison table and summary; NULL = silent */
	const char *run_dir;    /* the run folder; NULL = a temporary one (tr_pipeline_run) */
	int one_shot;           /* set by tr_pipeline_run: no per-stage summary lines */
} tr_pipeline_opts;

void tr_pipeline_opts_defaults(tr_pipeline_opts *o);

typedef struct tr_pipeline_result {
	char version[64];
	char run_id[33];
	char model[16];        /* the published model */
	char previous[64];     /* the version active before, "" if none (still active when the
	                          options said activate = 0) */
	double ndcg, ndcg_pop; /* NDCG@20 on the test split */
	double seconds;
} tr_pipeline_result;

/* tr_pipeline_run: everything above. 0, or an RS_E* with err naming the step and the problem
 * (e.g. "snapshot: the event store has no events"). */
int tr_pipeline_run(const tr_pipeline_opts *o, tr_pipeline_result *res, tr_error *err);

/* tr_pipeline_stage: one stage in o->run_dir (required). res has the run id; after publish
 * everything. */
int tr_pipeline_stage(const tr_pipeline_opts *o, tr_stage stage, tr_pipeline_result *res,
                      tr_error *err);

#endif
