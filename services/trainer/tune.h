/* tune: bounded grid search of one model's parameters on a validation split carved from
 * the training data with the same protocol as the original split (as reference.py --tune
 * does): temporal-user / random-user hold out each user's last (or random) test_frac,
 * leave-one-out the last item, global-time the latest test_frac of all interactions;
 * validation rows whose item is absent from the sub-train are dropped. Each grid point is
 * fitted on the sub-train and scored by NDCG@k on the validation rows. */
#ifndef TR_TUNE_H
#define TR_TUNE_H

#include <stdio.h>

#include "model.h"

typedef struct tr_tune_opts {
	tr_kind kind;
	const char *grid;     /* "k=25,50;shrink=0,10" or NULL for the model's default grid */
	const char *protocol; /* temporal-user, random-user, leave-one-out, global-time */
	double test_frac;
	int min_holdout, k;
	FILE *log; /* one line per grid point, or NULL */
} tr_tune_opts;

/* tr_tune_run: best parameters into *best (starting from base); *best_ndcg its score;
 * args (size n) gets the rs-train fit flags of the best point, e.g. "--k 200 --shrink 10". */
int tr_tune_run(const tr_dataset *ds, const tr_params *base, const tr_tune_opts *o, tr_params *best,
                double *best_ndcg, char *args, size_t n, tr_error *err);

/* tr_params_set: set one named parameter (k, shrink, seq_weight, factors, reg, alpha,
 * iterations, lambda, half_life, candidates, trees, depth, eta). RS_EINVAL if unknown. */
int tr_params_set(tr_params *p, const char *name, double v);

#endif
