/* ease: EASE (Steck 2019), closed form with LAPACK.
 *   primal: P = (X'X + lambda I)^-1 (dpotrf + dpotri), B = I - P / diag(P), score = x_u B.
 *   dual (fewer users than items, users * items <= 4e8): Z = (XX' + lambda I)^-1 X (dposv),
 *         diag(P)_j = (1 - sum_u X_uj Z_uj) / lambda, scores S = X - Z / diag(P), one row
 *         per training user (exact, by the Woodbury identity).
 * Memory: primal 12 * items^2 bytes (float64 P, float32 B); dual 8 * users^2 +
 * 12 * users * items bytes. tr_ease_fit refuses (RS_ETOOBIG, clear message) when the form it
 * needs exceeds max_items (primal) or max_bytes, before allocating anything. */
/* Weighted data (events.h): B is fitted on the binary positives; in the primal form a
 * user's explicit negatives enter the score as x_ui = -1 (minus their rows), in the dual
 * form they are only excluded from the lists. */
#ifndef TR_EASE_H
#define TR_EASE_H

#include <stdint.h>

#include "dataset.h"

typedef struct tr_ease {
	int dual;
	int32_t n_users, n_items;
	float *W; /* primal: B (items x items, row i = item i's weights); dual: S (users x items) */
} tr_ease;

typedef struct tr_ease_opts {
	double lambda;
	int max_items;    /* primal refused above this (default 30000) */
	double max_bytes; /* refused above this working memory */
	int form;         /* 0 auto, 1 primal, 2 dual */
	int nthreads;
} tr_ease_opts;

/* tr_ease_need_bytes: working memory of the form auto would pick; *dual set accordingly. */
double tr_ease_need_bytes(int32_t n_users, int32_t n_items, int form, int *dual);

int tr_ease_fit(const tr_dataset *ds, const tr_ease_opts *o, tr_ease *out, tr_error *err);
void tr_ease_score(const tr_ease *m, const tr_dataset *ds, int32_t user, float *scores);
int tr_ease_save(const tr_ease *m, const char *dir, tr_error *err);
int tr_ease_load(tr_ease *m, int dual, int32_t n_users, int32_t n_items, const char *dir,
                 tr_error *err);
void tr_ease_fini(tr_ease *m);

#endif
