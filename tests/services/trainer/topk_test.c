#include <criterion/criterion.h>
#include <math.h>

#include "topk.h"

Test(topk, best_first_ties_by_index_and_exclusions)
{
	float s[8] = {1, 5, 3, 5, -INFINITY, 2, NAN, 3};
	int32_t idx[8];
	float sc[8];
	int n = tr_topk(s, 8, 4, idx, sc);
	int32_t want[4] = {1, 3, 2, 7};

	cr_assert_eq(n, 4);
	for (int k = 0; k < 4; k++)
		cr_assert_eq(idx[k], want[k], "slot %d: %d", k, idx[k]);
	n = tr_topk(s, 8, 8, idx, sc); /* -inf and NaN never returned */
	cr_assert_eq(n, 6);
	cr_assert_eq(idx[5], 0);
}
