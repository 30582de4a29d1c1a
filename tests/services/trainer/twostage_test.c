#include <criterion/criterion.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "model.h"
#include "recommend.h"

TestSuite(twostage, .fini = th_cleanup);

/* 80 users walk a cycle of 20 items (user u starts at u % 20, 8 steps): the next item is
 * always the successor of the last one, which the transition features can learn. */
Test(twostage, learns_and_roundtrips)
{
	int32_t u[640], i[640], n = 0, users[80], out[80 * 5], out2[80 * 5];
	int cnt[80], cnt2[80], hits = 0;
	tr_dataset ds;
	tr_model m, l;
	tr_params p;
	tr_error err;
	const char *dir = th_tmpdir();

	for (int a = 0; a < 80; a++)
		for (int s = 0; s < 8; s++) {
			u[n] = a;
			i[n] = (a + s) % 20;
			n++;
		}
	th_dataset(&ds, 80, 20, n, u, i);
	tr_params_defaults(&p);
	snprintf(p.sources, sizeof(p.sources), "itemknn,pop");
	p.cand_n = 10;
	p.trees = 20;
	p.depth = 3;
	p.nthreads = 2;
	snprintf(p.holdout, sizeof(p.holdout), "leave-one-out");
	cr_assert_eq(tr_model_fit(TR_TWOSTAGE, &p, &ds, &m, &err), 0, "%s", err.msg);
	cr_assert_str_eq(m.params.sources, "itemknn,pop");
	for (int a = 0; a < 80; a++)
		users[a] = a;
	cr_assert_eq(tr_recommend_batch(&m, &ds, users, 80, 5, out, cnt, &err), 0, "%s", err.msg);
	for (int a = 0; a < 80; a++) {
		int64_t b = ds.u_ptr[a], e = ds.u_ptr[a + 1];
		char want[16];
		cr_assert_eq(cnt[a], 5);
		for (int r = 0; r < 5; r++)
			for (int64_t q = b; q < e; q++)
				cr_assert_neq(out[a * 5 + r], ds.u_items[q], "train item in list");
		snprintf(want, sizeof(want), "i%d", (a + 8) % 20);
		hits += strcmp(tr_ids_name(ds.items, out[a * 5]), want) == 0;
	}
	cr_assert_gt(hits, 60, "next item ranked first for %d of 80 users", hits);
	cr_assert_eq(tr_model_save(&m, &ds, dir, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_model_load(dir, &l, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_recommend_batch(&l, &ds, users, 80, 5, out2, cnt2, &err), 0, "%s", err.msg);
	cr_assert_eq(memcmp(out, out2, sizeof(out)), 0);
	tr_model_fini(&m);
	tr_model_fini(&l);
	tr_dataset_fini(&ds);
}
