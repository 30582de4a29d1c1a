#include <criterion/criterion.h>
#include <math.h>

#include "helpers.h"
#include "itemknn.h"

/* u0 {a,b}, u1 {a,b,c}, u2 {c}: n = 2 each; c_ab = 2, c_ac = c_bc = 1 */
static const int32_t U[6] = {0, 0, 1, 1, 1, 2}, I[6] = {0, 1, 0, 1, 2, 2};

Test(itemknn, cosine_by_hand)
{
	tr_dataset ds;
	tr_knn m;
	float s[3];
	int32_t hist_c[1] = {2}, hist_a[1] = {0};

	th_dataset(&ds, 3, 3, 6, U, I);
	tr_knn_fit(&ds, 10, 0, 0, 2, &m);
	tr_knn_score(&m, hist_c, 1, s);
	cr_assert_float_eq(s[0], 0.5, 1e-6);
	cr_assert_float_eq(s[1], 0.5, 1e-6);
	cr_assert_float_eq(s[2], 0.0, 1e-6); /* no self-similarity */
	tr_knn_score(&m, hist_a, 1, s);
	cr_assert_float_eq(s[1], 1.0, 1e-6);
	tr_knn_fini(&m);
	/* shrink 1: sim(a,b) = 2 / (2 + 1) */
	tr_knn_fit(&ds, 10, 1, 0, 1, &m);
	tr_knn_score(&m, hist_a, 1, s);
	cr_assert_float_eq(s[1], 2.0 / 3.0, 1e-6);
	cr_assert_float_eq(s[2], 1.0 / 3.0, 1e-6);
	tr_knn_fini(&m);
	/* k = 1: a's only neighbour is b, so c contributes nothing to a */
	tr_knn_fit(&ds, 1, 0, 0, 1, &m);
	tr_knn_score(&m, hist_c, 1, s);
	cr_assert_float_eq(s[0], 0.0, 1e-6);
	tr_knn_fini(&m);
	tr_dataset_fini(&ds);
}

Test(itemknn, sequential_transitions_add_weight)
{
	/* u1 has a, b, c in this order: transitions a->b and b->c (u0: a->b) */
	tr_dataset ds;
	tr_knn m;
	float s[3];
	int32_t hist_b[1] = {1};

	th_dataset(&ds, 3, 3, 6, U, I);
	tr_knn_fit(&ds, 10, 0, 1.0, 1, &m);
	tr_knn_score(&m, hist_b, 1, s);
	cr_assert_float_eq(s[2], (1.0 + 1.0) / 2.0, 1e-6); /* cos 1/2 + one transition / 2 */
	cr_assert_float_eq(s[0], 2.0 / 2.0, 1e-6);         /* no b->a transition */
	tr_knn_fini(&m);
	tr_dataset_fini(&ds);
}
