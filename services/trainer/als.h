/* als: implicit-feedback ALS (Hu, Koren & Volinsky 2008) on binary data.
 * Minimises sum_{u,i} c_ui (p_ui - x_u.y_i)^2 + reg (|X|^2 + |Y|^2), with p_ui = 1 and
 * c_ui = 1 + alpha on observed pairs, p_ui = 0 and c_ui = 1 elsewhere. Each half-sweep
 * solves, for every row u, (Y'Y + reg I + alpha sum_{i in I_u} y_i y_i') x_u =
 * (1 + alpha) sum_{i in I_u} y_i by cg_steps conjugate-gradient steps warm-started from
 * the previous x_u (cg_steps <= 0: exact Cholesky solve). float32; Y'Y by OpenBLAS sgemm;
 * CG on blocks of up to 64 consecutive rows in lockstep (Y'Y times the block's vectors is one
 * sgemm), blocks in parallel on nthreads threads.
 * Weighted data (events.h): c_ui = 1 + alpha w_ui for positives, and explicit negatives
 * are observations with p_ui = 0 and c_ui = 1 + alpha * strength.
 * Memory: (n_users + n_items) * factors floats, plus per thread a block's gathered factors
 * (the longest row's items or 2,048, whichever is more, at most 64 MiB) and the CG state of
 * 64 rows (the exact solve: a factors^2 system instead; weighted data: plus 24 bytes per
 * interaction for the signed copies). */
#ifndef TR_ALS_H
#define TR_ALS_H

#include <stdint.h>

#include "dataset.h"

typedef struct tr_als {
	int32_t n_users, n_items, f;
	float *U; /* n_users x f */
	float *V; /* n_items x f */
} tr_als;

typedef struct tr_als_opts {
	int factors, iterations, cg_steps, nthreads;
	double reg, alpha;
	uint64_t seed;
} tr_als_opts;

void tr_als_fit(const tr_dataset *ds, const tr_als_opts *o, tr_als *out);

/* tr_als_half_sweep: one solve of all rows of X given Y (exposed for tests).
 * ptr/idx: the sparse rows of X's side (n_rows), Y: n_cols x f. */
void tr_als_half_sweep(const int64_t *ptr, const int32_t *idx, int32_t n_rows, float *X,
                       const float *Y, int32_t n_cols, int f, double reg, double alpha,
                       int cg_steps, int nthreads);

/* tr_als_half_sweep_w: the same with per-entry weights w (NULL = binary): w > 0 is an
 * observed positive with p = 1, c = 1 + alpha w; w < 0 an explicit negative with p = 0,
 * c = 1 + alpha |w| (Hu et al. allow p = 0 with c > 1: the item is pushed towards 0). */
void tr_als_half_sweep_w(const int64_t *ptr, const int32_t *idx, const float *w, int32_t n_rows,
                         float *X, const float *Y, int32_t n_cols, int f, double reg, double alpha,
                         int cg_steps, int nthreads);

/* tr_als_score: scores[n_items] = V x_u. */
void tr_als_score(const tr_als *m, int32_t user, float *scores);

int tr_als_save(const tr_als *m, const char *dir, tr_error *err);
int tr_als_load(tr_als *m, int32_t n_users, int32_t n_items, int f, const char *dir, tr_error *err);
void tr_als_fini(tr_als *m);

#endif
