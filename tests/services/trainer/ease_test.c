#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ease.h"
#include "helpers.h"
#include "rs_err.h"

/* 3 users, 5 items */
static const int32_t U[9] = {0, 0, 0, 1, 1, 2, 2, 2, 2}, I[9] = {0, 1, 2, 1, 3, 0, 2, 3, 4};

/* direct inverse by Gauss-Jordan, independent of LAPACK */
static void
invert(double *A, double *Inv, int n)
{
	for (int r = 0; r < n; r++)
		for (int c = 0; c < n; c++)
			Inv[r * n + c] = r == c;
	for (int c = 0; c < n; c++) {
		int piv = c;
		double t;
		for (int r = c + 1; r < n; r++)
			if (fabs(A[r * n + c]) > fabs(A[piv * n + c]))
				piv = r;
		for (int k = 0; k < n; k++) {
			t = A[c * n + k];
			A[c * n + k] = A[piv * n + k];
			A[piv * n + k] = t;
			t = Inv[c * n + k];
			Inv[c * n + k] = Inv[piv * n + k];
			Inv[piv * n + k] = t;
		}
		t = A[c * n + c];
		for (int k = 0; k < n; k++) {
			A[c * n + k] /= t;
			Inv[c * n + k] /= t;
		}
		for (int r = 0; r < n; r++)
			if (r != c) {
				double f = A[r * n + c];
				for (int k = 0; k < n; k++) {
					A[r * n + k] -= f * A[c * n + k];
					Inv[r * n + k] -= f * Inv[c * n + k];
				}
			}
	}
}

Test(ease, primal_matches_direct_inverse_and_dual)
{
	tr_dataset ds;
	tr_ease primal, dual;
	tr_ease_opts o = {2.0, 100, 1e9, 1, 1};
	tr_error err;
	double G[25] = {0}, P[25], X[3][5] = {{0}};
	float s1[5], s2[5];

	th_dataset(&ds, 3, 5, 9, U, I);
	for (int k = 0; k < 9; k++)
		X[U[k]][I[k]] = 1;
	for (int a = 0; a < 5; a++)
		for (int b = 0; b < 5; b++) {
			for (int r = 0; r < 3; r++)
				G[a * 5 + b] += X[r][a] * X[r][b];
			if (a == b)
				G[a * 5 + b] += 2.0;
		}
	invert(G, P, 5);
	cr_assert_eq(tr_ease_fit(&ds, &o, &primal, &err), 0, "%s", err.msg);
	cr_assert_eq(primal.dual, 0);
	for (int a = 0; a < 5; a++)
		for (int b = 0; b < 5; b++) {
			double want = a == b ? 0 : -P[a * 5 + b] / P[b * 5 + b];
			/* W rows are item codes; with this data codes equal the ids' order */
			cr_assert_float_eq(primal.W[a * 5 + b], want, 1e-5, "B[%d][%d]", a, b);
		}
	o.form = 2;
	cr_assert_eq(tr_ease_fit(&ds, &o, &dual, &err), 0, "%s", err.msg);
	cr_assert_eq(dual.dual, 1);
	for (int u = 0; u < 3; u++) {
		tr_ease_score(&primal, &ds, u, s1);
		tr_ease_score(&dual, &ds, u, s2);
		for (int j = 0; j < 5; j++) /* X B, both ways */
			cr_assert_float_eq(s1[j], s2[j], 1e-4, "user %d item %d", u, j);
	}
	tr_ease_fini(&primal);
	tr_ease_fini(&dual);
	tr_dataset_fini(&ds);
}

Test(ease, refuses_too_many_items_with_a_message)
{
	tr_dataset ds;
	tr_ease m;
	tr_ease_opts o = {2.0, 4, 1e9, 1, 1};
	tr_error err;

	th_dataset(&ds, 3, 5, 9, U, I);
	cr_assert_eq(tr_ease_fit(&ds, &o, &m, &err), RS_ETOOBIG);
	cr_assert(strstr(err.msg, "5 items exceed the limit of 4") != NULL, "%s", err.msg);
	o.max_items = 100;
	o.max_bytes = 10;
	cr_assert_eq(tr_ease_fit(&ds, &o, &m, &err), RS_ETOOBIG);
	cr_assert(strstr(err.msg, "--max-mem") != NULL, "%s", err.msg);
	tr_dataset_fini(&ds);
}
