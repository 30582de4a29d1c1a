/* stage1: the first-stage kinds (pop, itemknn, als, ease): fitting one, its folder, the
 * scores of all items for a user and top-k lists. A two-stage model (twostage.h) is built from
 * these; model.h fits, saves and loads any kind on top of both. The folder's layout is
 * model.h's: manifest.json (written last), pop.f32, items.txt and the kind's own arrays. */
#ifndef TR_STAGE1_H
#define TR_STAGE1_H

#include <stddef.h>
#include <stdint.h>

#include "params.h"

/* tr_model_begin: *m zeroed, then what every kind shares: kind, params, sizes and
 * fingerprint of ds, the popularity list. RS_EINVAL for an empty ds (*m holds nothing). */
int tr_model_begin(tr_kind kind, const tr_params *p, const tr_dataset *ds, tr_model *m,
                   tr_error *err);

/* tr_stage1_fit: train a first-stage kind on ds into *m (zeroed first). Another kind is
 * RS_EINVAL. On error *m holds nothing. */
int tr_stage1_fit(tr_kind kind, const tr_params *p, const tr_dataset *ds, tr_model *m,
                  tr_error *err);

/* tr_model_save_base: create dir (and parents) and write what every kind's folder has
 * besides the manifest: pop.f32 and items.txt. */
int tr_model_save_base(const tr_model *m, const tr_dataset *ds, const char *dir, tr_error *err);

/* tr_stage1_save: the whole folder of a first-stage model (the manifest last). */
int tr_stage1_save(const tr_model *m, const tr_dataset *ds, const char *dir, tr_error *err);

/* tr_model_load_base: *m zeroed, then the manifest (kind, params, sizes; *ease_dual) and
 * pop.f32 of any kind's folder. On error *m may hold pop: tr_stage1_fini frees it. A
 * different format_version is RS_EVERSION naming both versions. */
int tr_model_load_base(const char *dir, tr_model *m, int *ease_dual, tr_error *err);

/* tr_stage1_load_arrays: after tr_model_load_base, the arrays of m's first-stage kind. */
int tr_stage1_load_arrays(tr_model *m, int ease_dual, const char *dir, tr_error *err);

/* tr_stage1_load: a first-stage model's folder (a two-stage folder is RS_EINVAL). On error
 * *m holds nothing. */
int tr_stage1_load(const char *dir, tr_model *m, tr_error *err);

/* tr_stage1_score: scores[n_items] for a user of ds. */
void tr_stage1_score(const tr_model *m, const tr_dataset *ds, int32_t user, float *scores);

/* tr_stage1_recommend: up to k items for user (a code of ds, or -1 for unknown users: the
 * popularity list), excluding the user's train items and explicit negatives, best first. ws
 * is scratch of tr_stage1_ws_size(m) bytes, owned by the calling thread. Returns the count
 * written. */
size_t tr_stage1_ws_size(const tr_model *m, int k);
int tr_stage1_recommend(const tr_model *m, const tr_dataset *ds, int32_t user, int k, int32_t *out,
                        float *out_score, void *ws);

/* tr_stage1_recommend_batch: tr_stage1_recommend for users[0..n) on m->params.nthreads
 * threads, k (> 0) items each into out[j*k ..] with the count in counts[j]. Returns 0. */
int tr_stage1_recommend_batch(const tr_model *m, const tr_dataset *ds, const int32_t *users,
                              size_t n, int k, int32_t *out, int *counts);

/* tr_stage1_fini: frees a first-stage model's parts and zeroes *m (m->ts must be NULL). */
void tr_stage1_fini(tr_model *m);

#endif
