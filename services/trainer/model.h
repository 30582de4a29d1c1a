/* model: one fitted recommender of any kind, its parameters, and its folder on disk.
 *
 * A model folder holds manifest.json (format "rs-train-model", format_version, model
 * name, parameters, data fingerprint and sizes, fit seconds), pop.f32 (the popularity
 * list every model uses for users it does not know), items.txt (item ids in code order)
 * and the model's own arrays (see each model's header). A model is tied to the training
 * data it was fitted on: tr_model_check_data() refuses another train.csv. */
#ifndef TR_MODEL_H
#define TR_MODEL_H

#include <stdint.h>

#include "als.h"
#include "dataset.h"
#include "ease.h"
#include "itemknn.h"

#define TR_MODEL_FORMAT         "rs-train-model"
#define TR_MODEL_FORMAT_VERSION 1

typedef enum tr_kind {
	TR_POP = 0,
	TR_ITEMKNN,
	TR_ALS,
	TR_EASE,
	TR_TWOSTAGE,
	TR_KIND_COUNT
} tr_kind;

typedef struct tr_params {
	/* pop */
	double half_life; /* time decay in timestamp units, 0 = plain counts */
	/* itemknn */
	int knn_k;
	double shrink, seq_weight;
	/* als */
	int factors, iterations, cg_steps;
	double reg, alpha;
	/* ease */
	double lambda, max_mem_gb;
	int max_items;
	/* two-stage */
	char sources[128]; /* comma list of first-stage models */
	int cand_n;        /* candidates per source */
	int trees, depth;
	int label_folds;          /* ranker label slices (0: 3 for random-user, else 1) */
	int fallback;             /* two-stage: -1, or the source it ranks by (set by fit) */
	double eta, holdout_frac; /* holdout_frac <= 0: leave the last one out */
	char objective[32];
	char holdout[24]; /* how the ranker's label slice is carved (split.py protocol) */
	/* event logs (events.h): the --weights spec the data was weighted with, "" = defaults */
	char weights[192];
	/* all */
	int nthreads;
	uint64_t seed;
} tr_params;

typedef struct tr_twostage tr_twostage;

typedef struct tr_model {
	tr_kind kind;
	tr_params params;
	int32_t n_users, n_items;
	int64_t nnz;
	uint64_t fingerprint;
	double fit_seconds;
	float *pop;       /* n_items, for unknown users */
	float *pop_score; /* TR_POP: the (maybe decayed) scores */
	tr_knn knn;
	tr_als als;
	tr_ease ease;
	tr_twostage *ts;
} tr_model;

void tr_params_defaults(tr_params *p);
const char *tr_kind_name(tr_kind k);
/* tr_kind_parse: 0 or RS_EINVAL with a message listing the known models. */
int tr_kind_parse(const char *s, tr_kind *out, tr_error *err);

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

/* tr_model_score: scores[n_items] for a user of ds (first-stage kinds only). */
void tr_model_score(const tr_model *m, const tr_dataset *ds, int32_t user, float *scores);

/* tr_model_recommend: up to k items for user (a code of ds, or -1 for unknown users: the
 * popularity list), excluding the user's train items, best first. ws is scratch of
 * tr_model_ws_size(m) bytes, owned by the calling thread. Returns the count written. */
size_t tr_model_ws_size(const tr_model *m, int k);
int tr_model_recommend(const tr_model *m, const tr_dataset *ds, int32_t user, int k, int32_t *out,
                       float *out_score, void *ws);

void tr_model_fini(tr_model *m);

#endif
