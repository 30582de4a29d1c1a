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
 * exists as a folder or a model_versions row is refused. */
#ifndef TR_PIPELINE_H
#define TR_PIPELINE_H

#include <stdio.h>

#include "events.h"
#include "model.h"

#define TR_PIPELINE_MODELS "pop,itemknn,als,ease,two-stage"

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

#endif
