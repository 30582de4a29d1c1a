/* model: one fitted recommender of any kind (a first-stage kind, stage1.h, or a two-stage
 * model, twostage.h), its parameters (params.h), and its folder on disk.
 *
 * A model folder holds manifest.json (format "rs-train-model", format_version, model
 * name, parameters, data fingerprint and sizes, fit seconds), pop.f32 (the popularity
 * list every model uses for users it does not know), items.txt (item ids in code order)
 * and the model's own arrays (see each model's header). A model is tied to the training
 * data it was fitted on: tr_model_check_data() refuses another train.csv. */
#ifndef TR_MODEL_H
#define TR_MODEL_H

#include "params.h"

/* tr_model_fit: train kind on ds into *m (zeroed first). On error *m holds nothing. */
int tr_model_fit(tr_kind kind, const tr_params *p, const tr_dataset *ds, tr_model *m,
                 tr_error *err);

/* tr_model_save: create dir (and parents) and write the folder. */
int tr_model_save(const tr_model *m, const tr_dataset *ds, const char *dir, tr_error *err);

/* tr_model_load: read a folder written by tr_model_save. A different format_version is
 * RS_EVERSION with a message naming both versions. */
int tr_model_load(const char *dir, tr_model *m, tr_error *err);

/* tr_model_check_data: RS_EINVAL unless ds is the data the model was fitted on. */
int tr_model_check_data(const tr_model *m, const tr_dataset *ds, tr_error *err);

/* tr_model_fini: frees what m holds, of any kind; m is zeroed. NULL is a no-op. */
void tr_model_fini(tr_model *m);

#endif
