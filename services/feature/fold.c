#include "fold.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"

typedef struct fold_aux {
	uint32_t f;
	float alpha, reg;
	float *G; /* f x f, Y'Y, upper triangle valid (row-major) */
} fold_aux;

static void
fold_aux_free(void *p)
{
	fold_aux *a = p;
	if (a != NULL)
		free(a->G);
	free(a);
}

int
feat_fold_prepare(void *ud, rs_model *m)
{
	uint32_t f = rs_model_factors(m), n = rs_model_n_items(m);
	const float *Y = rs_model_item_factors(m);
	fold_aux *a;

	(void) ud;
	if (f == 0 || Y == NULL)
		return 0;
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->G = calloc((size_t) f * f, sizeof(float))) == NULL) {
		free(a);
		return RS_ENOMEM;
	}
	a->f = f;
	a->alpha = (float) rs_model_param(m, "alpha", FEAT_FOLD_ALPHA);
	a->reg = (float) rs_model_param(m, "reg", FEAT_FOLD_REG);
	if (!(a->alpha >= 0) || !(a->reg > 0)) {
		a->alpha = (float) FEAT_FOLD_ALPHA;
		a->reg = (float) FEAT_FOLD_REG;
	}
	if (n > 0)
		cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (blasint) f, (blasint) n, 1.0f,
		            Y, (blasint) f, 0.0f, a->G, (blasint) f);
	rs_model_set_aux(m, a, fold_aux_free);
	rs_model_set_aux_bytes(m, sizeof(*a) + (size_t) f * f * sizeof(float));
	return 0;
}

float
feat_fold_weight(int32_t type, double value)
{
	switch (type) {
	case 1: /* view */
		return 1.0f;
	case 2: /* click */
		return 1.5f;
	case 3: /* add_to_cart */
		return 2.0f;
	case 4: /* purchase */
		return 3.0f;
	case 5: /* rating */
		return value >= 4 ? 2.0f : value >= 3 ? 1.0f : 0.0f;
	default: /* not_interested, unknown */
		return 0.0f;
	}
}

typedef struct fold_item {
	uint32_t code;
	float w;
	int neg; /* marked not_interested or rated low: left out */
} fold_item;

int
feat_fold_user(const rs_model *m, const feat_event *ev, uint32_t n, float *out)
{
	const fold_aux *a = rs_model_aux(m);
	const float *Y = rs_model_item_factors(m);
	fold_item *items;
	uint32_t ni = 0, used = 0;
	int rv;

	if (a == NULL || Y == NULL || a->f != rs_model_factors(m))
		return RS_EINVAL;
	size_t f = a->f;
	if ((items = malloc((n ? n : 1) * sizeof(*items))) == NULL)
		return RS_ENOMEM;
	for (uint32_t e = 0; e < n; e++) {
		uint32_t code, j;
		if (rs_model_code(m, ev[e].item_id, &code) != 0)
			continue;
		for (j = 0; j < ni && items[j].code != code; j++)
			;
		if (j == ni)
			items[ni++] = (fold_item){code, 0, 0};
		float w = feat_fold_weight(ev[e].type, ev[e].value);
		if (w <= 0)
			items[j].neg = 1; /* an explicit negative wins over any positive */
		else if (w > items[j].w)
			items[j].w = w;
	}
	for (uint32_t j = 0; j < ni; j++)
		used += !items[j].neg && items[j].w > 0;
	if (used == 0) {
		free(items);
		return 0;
	}
	/* One block: A (f x f), b (f), X (used x f: the rows sqrt(c - 1) y of the used items). */
	float *A = malloc((f * f + f + (size_t) used * f) * sizeof(float));
	if (A == NULL) {
		free(items);
		return RS_ENOMEM;
	}
	float *b = A + f * f, *X = b + f;
	memcpy(A, a->G, f * f * sizeof(float));
	memset(b, 0, f * sizeof(float));
	for (size_t d = 0; d < f; d++)
		A[d * f + d] += a->reg;
	size_t k = 0;
	for (uint32_t j = 0; j < ni; j++) {
		if (items[j].neg || items[j].w <= 0)
			continue;
		const float *y = Y + (size_t) items[j].code * f;
		float cw = a->alpha * items[j].w, s = sqrtf(cw);
		for (size_t d = 0; d < f; d++)
			X[k * f + d] = s * y[d];
		k++;
		cblas_saxpy((blasint) f, 1.0f + cw, y, 1, b, 1);
	}
	/* A += X'X = sum (c - 1) y y' over the used items: one blocked rank-k update instead of
	 * a rank-1 update (cblas_ssyr) per item, about a fifth of the instructions on the bench
	 * shop's histories (docs/BENCHMARKS.md, issue 11, session 10). */
	if (a->alpha > 0)
		cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (blasint) f, (blasint) k, 1.0f,
		            X, (blasint) f, 1.0f, A, (blasint) f);
	/* The upper triangle of row-major A is the lower triangle of the same memory read
	 * column-major: factored as such, LAPACKE copies nothing (its row-major calls transpose A
	 * in and out). The _work calls: LAPACKE_spotrf/spotrs would first scan A and b for NaNs
	 * (~27k instructions per fold-in); a NaN in the factors shows in the solution instead. */
	int finite = 1;
	if (LAPACKE_spotrf_work(LAPACK_COL_MAJOR, 'L', (lapack_int) f, A, (lapack_int) f) == 0 &&
	    LAPACKE_spotrs_work(LAPACK_COL_MAJOR, 'L', (lapack_int) f, 1, A, (lapack_int) f, b,
	                        (lapack_int) f) == 0) {
		for (size_t d = 0; d < f; d++)
			finite &= isfinite(b[d]) != 0;
	} else {
		finite = 0;
	}
	if (!finite) {
		rv = RS_EINTERNAL;
	} else {
		memcpy(out, b, f * sizeof(float));
		rv = (int) used;
	}
	free(A);
	free(items);
	return rv;
}
