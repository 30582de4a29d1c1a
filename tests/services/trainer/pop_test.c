#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "helpers.h"
#include "pop.h"

Test(pop, counts_and_decay)
{
	/* item 0: 3 users, item 1: 2 users, item 2: 1 user (the latest event) */
	int32_t u[6] = {0, 1, 2, 0, 1, 2}, i[6] = {0, 0, 0, 1, 1, 2};
	tr_dataset ds;
	float *p, *d;

	th_dataset(&ds, 3, 3, 6, u, i);
	p = tr_pop_fit(&ds, 0);
	cr_assert_float_eq(p[0], 3, 1e-6);
	cr_assert_float_eq(p[1], 2, 1e-6);
	cr_assert_float_eq(p[2], 1, 1e-6);
	/* timestamps are row numbers 0..5; half-life 1: item 2 (t=5) weighs 1,
	 * item 0 (t=0,1,2) 2^-5 + 2^-4 + 2^-3 */
	d = tr_pop_fit(&ds, 1.0);
	cr_assert_float_eq(d[2], 1.0, 1e-6);
	cr_assert_float_eq(d[0], powf(2, -5) + powf(2, -4) + powf(2, -3), 1e-6);
	cr_assert_float_eq(d[1], powf(2, -2) + powf(2, -1), 1e-6);
	free(p);
	free(d);
	tr_dataset_fini(&ds);
}
