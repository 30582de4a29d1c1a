/* fold: the user's embedding computed online by folding the recent history into the active
 * model version's item factors Y (n x f) with the implicit-ALS normal equations (Hu et al.
 * 2008, as rs-train's als fits item-side):
 *
 *   u = (Y'Y + sum_i (c_i - 1) y_i y_i' + reg I)^-1  sum_i c_i y_i,   c_i = 1 + alpha w_i
 *
 * over the distinct history items i the model knows; w_i is the strongest event on the item
 * (feat_fold_weight: view 1, click 1.5, add_to_cart 2, purchase 3, rating >= 4: 2, rating 3:
 * 1, lower ratings and not_interested: the item is left out). Y'Y is computed once per version
 * when it is loaded (cblas_ssyrk, feat_fold_prepare); a request adds one rank-1 update per
 * history item (cblas_ssyr) and solves with a Cholesky factorisation (LAPACKE_spotrf/spotrs):
 * O(h f^2 + f^3 / 3), ~0.05 ms for f = 64.
 *
 * alpha and reg come from the manifest's params (rs-train writes both), else FEAT_FOLD_ALPHA
 * and FEAT_FOLD_REG (rs-train's defaults). */
#ifndef FEAT_FOLD_H
#define FEAT_FOLD_H

#include <stdint.h>

#include "cache.h"
#include "rs_model.h"

#define FEAT_FOLD_ALPHA 2.0
#define FEAT_FOLD_REG   10.0

/* feat_fold_prepare: rs_model_watch's prepare callback (ud unused): attach the Gram matrix
 * and parameters to m. A version without item factors is accepted (no embeddings). Returns 0
 * or RS_ENOMEM. */
int feat_fold_prepare(void *ud, rs_model *m);

/* feat_fold_weight: how much one event says (0: leave the item out). */
float feat_fold_weight(int32_t type, double value);

/* feat_fold_user: the embedding of a user with history ev[0..n) into out (room for
 * rs_model_factors(m) floats). Returns the number of history items the model knows (0: out is
 * not written, the user has no embedding yet), RS_EINVAL (m was not prepared or has no
 * factors), RS_ENOMEM, or RS_EINTERNAL (the system was not positive definite). */
int feat_fold_user(const rs_model *m, const feat_event *ev, uint32_t n, float *out);

#endif
