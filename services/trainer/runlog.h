/* runlog: records runs in an MLflow-compatible file store, so MLflow's UI (mlflow ui
 * --backend-store-uri DIR) and other tracking tools can read them:
 *   DIR/<experiment id>/meta.yaml                 experiment (id = hash of its name)
 *   DIR/<experiment id>/<run id>/meta.yaml        run (status FINISHED, times in ms)
 *   .../<run id>/params/<name>                    one value per file
 *   .../<run id>/metrics/<name>                   "<ms> <value> <step>" lines (appended)
 *   .../<run id>/tags/<name>                      e.g. mlflow.runName, data.fingerprint */
#ifndef TR_RUNLOG_H
#define TR_RUNLOG_H

#include <stddef.h>

#include "model.h"

/* tr_runlog_fit: a new run for a fit: parameters, fit_seconds, fingerprint and sizes.
 * Writes the run id (32 hex) into run_id[33]. */
int tr_runlog_fit(const char *store, const char *experiment, const tr_model *m,
                  const char *train_path, const char *model_dir, char run_id[33], tr_error *err);

/* tr_runlog_fit_as: the same under a given run id (32 hex, e.g. the training_runs row's);
 * run_seconds > 0 is the whole run's duration (start_time), else fit_seconds. */
int tr_runlog_fit_as(const char *store, const char *experiment, const tr_model *m,
                     const char *train_path, const char *model_dir, const char *run_id,
                     double run_seconds, tr_error *err);

/* tr_runlog_tag: write one tag of an existing run. */
int tr_runlog_tag(const char *store, const char *experiment, const char *run_id, const char *name,
                  const char *value, tr_error *err);

/* tr_runlog_metric: append one metric value to an existing run (from tr_runlog_fit). */
int tr_runlog_metric(const char *store, const char *experiment, const char *run_id,
                     const char *name, double value, tr_error *err);

#endif
