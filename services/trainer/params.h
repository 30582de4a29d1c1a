/* params: what every model kind shares: the kinds, their parameters (tr_params) and the
 * fitted model itself (tr_model), whose parts each kind fills. The functions that fit, save,
 * load and use a model are in stage1.h (the first-stage kinds), twostage.h and model.h (any
 * kind, on top of both). */
#ifndef TR_PARAMS_H
#define TR_PARAMS_H

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

#endif
