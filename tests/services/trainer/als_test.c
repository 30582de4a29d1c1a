#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "als.h"
#include "helpers.h"

#define F  4
#define NC 7
#define NR 5

/* rows of X: items each row has */
static const int64_t PTR[NR + 1] = {0, 3, 5, 5, 9, 11};
static const int32_t IDX[11] = {0, 2, 5, 1, 6, 0, 1, 2, 3, 4, 6};

static void
fill(float *v, int n, unsigned seed)
{
	for (int k = 0; k < n; k++) {
		seed = seed * 1103515245u + 12345u;
		v[k] = (float) ((seed >> 8) % 1000) / 1000.0f - 0.5f;
	}
}

/* max over rows of |A x - b| for the rows' normal equations, computed directly: A = Y'Y + reg I
 * + sum_i conf_i y_i y_i', b = sum_i pref_i y_i over the row's items, with conf_i = alpha |w_i|
 * and pref_i = 1 + alpha w_i for a positive, 0 for a negative (W NULL: binary, w_i = 1) */
static double
residual_w(const float *X, const float *Y, const float *W, double reg, double alpha)
{
	double worst = 0;

	for (int r = 0; r < NR; r++) {
		double A[F][F] = {{0}}, b[F] = {0};
		for (int c = 0; c < NC; c++)
			for (int a = 0; a < F; a++)
				for (int d = 0; d < F; d++)
					A[a][d] += (double) Y[c * F + a] * Y[c * F + d];
		for (int a = 0; a < F; a++)
			A[a][a] += reg;
		for (int64_t p = PTR[r]; p < PTR[r + 1]; p++) {
			const float *y = Y + IDX[p] * F;
			double w = W != NULL ? W[p] : 1.0;
			double pref = w > 0 ? 1 + alpha * w : 0, conf = alpha * fabs(w);
			for (int a = 0; a < F; a++) {
				b[a] += pref * y[a];
				for (int d = 0; d < F; d++)
					A[a][d] += conf * y[a] * y[d];
			}
		}
		for (int a = 0; a < F; a++) {
			double s = -b[a];
			for (int d = 0; d < F; d++)
				s += A[a][d] * X[r * F + d];
			if (fabs(s) > worst)
				worst = fabs(s);
		}
	}
	return worst;
}

static double
residual(const float *X, const float *Y, double reg, double alpha)
{
	return residual_w(X, Y, NULL, reg, alpha);
}

Test(als, cg_solves_the_same_normal_equations_as_exact)
{
	float Y[NC * F], Xcg[NR * F], Xex[NR * F];

	fill(Y, NC * F, 7);
	fill(Xcg, NR * F, 11);
	memcpy(Xex, Xcg, sizeof(Xcg));
	cr_assert_gt(residual(Xcg, Y, 0.5, 3.0), 0.1); /* the start is not a solution */
	tr_als_half_sweep(PTR, IDX, NR, Xcg, Y, NC, F, 0.5, 3.0, 3 * F, 2);
	tr_als_half_sweep(PTR, IDX, NR, Xex, Y, NC, F, 0.5, 3.0, 0, 1);
	cr_assert_lt(residual(Xex, Y, 0.5, 3.0), 1e-4);
	cr_assert_lt(residual(Xcg, Y, 0.5, 3.0), 1e-3);
	for (int k = 0; k < NR * F; k++)
		cr_assert_float_eq(Xcg[k], Xex[k], 1e-3, "entry %d: %f vs %f", k, Xcg[k], Xex[k]);
}

/* Weighted rows (a confidence per entry, negatives < 0: no preference, confidence alpha |w|):
 * CG run to convergence lands where the exact solve does. */
Test(als, weighted_cg_solves_the_same_normal_equations_as_exact)
{
	static const float W[11] = {1.0f,  2.5f, -1.0f, 0.5f, 3.0f, 1.0f,
	                            -2.0f, 1.5f, 1.0f,  4.0f, -0.5f};
	float Y[NC * F], Xcg[NR * F], Xex[NR * F];

	fill(Y, NC * F, 9);
	fill(Xcg, NR * F, 13);
	memcpy(Xex, Xcg, sizeof(Xcg));
	tr_als_half_sweep_w(PTR, IDX, W, NR, Xcg, Y, NC, F, 0.5, 2.0, 3 * F, 2);
	tr_als_half_sweep_w(PTR, IDX, W, NR, Xex, Y, NC, F, 0.5, 2.0, 0, 1);
	cr_assert_gt(residual_w(Xex, Y, NULL, 0.5, 2.0), 0.1); /* not the binary solution */
	cr_assert_lt(residual_w(Xex, Y, W, 0.5, 2.0), 1e-4);
	cr_assert_lt(residual_w(Xcg, Y, W, 0.5, 2.0), 1e-3);
	for (int k = 0; k < NR * F; k++)
		cr_assert_float_eq(Xcg[k], Xex[k], 1e-3, "entry %d: %f vs %f", k, Xcg[k], Xex[k]);
}

Test(als, three_cg_steps_reduce_the_residual)
{
	float Y[NC * F], X[NR * F];
	double before;

	fill(Y, NC * F, 3);
	fill(X, NR * F, 5);
	before = residual(X, Y, 1.0, 2.0);
	tr_als_half_sweep(PTR, IDX, NR, X, Y, NC, F, 1.0, 2.0, 3, 1);
	cr_assert_lt(residual(X, Y, 1.0, 2.0), before * 0.5);
}

Test(als, fit_ranks_co_consumed_items_first)
{
	/* two blocks of users/items; a user of block A should score block-A items higher */
	int32_t u[40], i[40], n = 0;
	tr_dataset ds;
	tr_als m;
	tr_als_opts o = {4, 10, 3, 2, 0.1, 5.0, 1};
	float s[8];

	for (int a = 0; a < 8; a++)
		for (int b = 0; b < 4; b++)
			if (!(a == 0 && b == 3)) {
				u[n] = a;
				i[n] = (a < 4 ? 0 : 4) + b;
				n++;
			}
	th_dataset(&ds, 8, 8, n, u, i);
	tr_als_fit(&ds, &o, &m);
	tr_als_score(&m, 0, s);
	/* item codes follow first appearance: user 0 saw 3 items of block A (codes 0..2) */
	for (int j = 0; j < 8; j++)
		if (strcmp(tr_ids_name(ds.items, j), "i3") != 0 && j >= 4)
			cr_assert_gt(s[3], s[j], "block item beats other block item %d", j);
	tr_als_fini(&m);
	tr_dataset_fini(&ds);
}
