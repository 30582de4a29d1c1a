#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "dataset.h"
#include "helpers.h"
#include "load.h"
#include "rs_err.h"

TestSuite(csv, .fini = th_cleanup);

Test(csv, loads_and_dedups_keeping_the_earliest)
{
	const char *p = th_write_tmp("user,item,timestamp\n"
	                             "a,x,30\n"
	                             "a,y,10\n"
	                             "b,x,5\n"
	                             "\n"
	                             "a,x,3\n");
	tr_dataset ds;
	tr_error err;

	cr_assert_eq(tr_dataset_load(p, &ds, &err), 0, "%s", err.msg);
	cr_assert_eq(ds.n_users, 2);
	cr_assert_eq(ds.n_items, 2);
	cr_assert_eq(ds.nnz, 3);
	cr_assert_eq(ds.duplicates, 1);
	/* user a: x at 3 (earliest copy), then y at 10 */
	cr_assert_eq(ds.u_items[0], 0);
	cr_assert_float_eq(ds.u_ts[0], 3.0, 1e-9);
	cr_assert_eq(ds.u_items[1], 1);
	cr_assert_str_eq(tr_ids_name(ds.items, ds.u_items[1]), "y");
	tr_dataset_fini(&ds);
}

Test(csv, short_line_names_file_and_line)
{
	const char *p = th_write_tmp("user,item,timestamp\na,x,1\nb\n");
	tr_dataset ds;
	tr_error err;
	char want[300];

	cr_assert_eq(tr_dataset_load(p, &ds, &err), RS_EINVAL);
	snprintf(want, sizeof(want), "%s:3:", p);
	cr_assert(strstr(err.msg, want) != NULL, "message was: %s", err.msg);
}

Test(csv, bad_timestamp_names_line)
{
	const char *p = th_write_tmp("user,item,timestamp\na,x,1\na,y,soon\n");
	tr_dataset ds;
	tr_error err;

	cr_assert_eq(tr_dataset_load(p, &ds, &err), RS_EINVAL);
	cr_assert(strstr(err.msg, ":3:") != NULL && strstr(err.msg, "soon") != NULL, "%s", err.msg);
}

Test(csv, missing_column_and_empty_set)
{
	tr_dataset ds;
	tr_error err;

	cr_assert_eq(tr_dataset_load(th_write_tmp("user,product\na,x\n"), &ds, &err), RS_EINVAL);
	cr_assert(strstr(err.msg, "missing column 'item'") != NULL, "%s", err.msg);
	cr_assert_eq(tr_dataset_load(th_write_tmp("user,item,timestamp\n"), &ds, &err), RS_EINVAL);
	cr_assert(strstr(err.msg, "empty training set") != NULL, "%s", err.msg);
	cr_assert_eq(tr_dataset_load("/nonexistent/train.csv", &ds, &err), RS_EIO);
}

Test(csv, holdout_matches_split_rule)
{
	/* 10 entries for user 0 -> floor(0.2*10+0.5) = 2 held out; user 1 has 4 < 5: none */
	int32_t u[14], i[14], k;
	tr_dataset ds;
	unsigned char held[14];

	for (k = 0; k < 10; k++) {
		u[k] = 0;
		i[k] = k;
	}
	for (k = 10; k < 14; k++) {
		u[k] = 1;
		i[k] = k - 10;
	}
	th_dataset(&ds, 2, 10, 14, u, i);
	tr_dataset_holdout(&ds, 0.2, 5, held);
	for (k = 0; k < 14; k++)
		cr_assert_eq(held[k], (k == 8 || k == 9), "entry %d", k);
	tr_dataset_holdout(&ds, 0, 3, held); /* leave one out */
	for (k = 0; k < 14; k++)
		cr_assert_eq(held[k], (k == 9 || k == 13), "entry %d", k);
	tr_dataset_fini(&ds);
}
