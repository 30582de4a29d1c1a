#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "helpers.h"
#include "metrics.h"

TestSuite(metrics, .fini = th_cleanup);

/* user A: test {x, y}, list x z y; user B: test {w}, list z w; K = 2.
 *   A: h=1, Recall 1/2, NDCG 1 / (1 + 1/log2 3), MAP (1/1)/2, MRR 1, Precision 1/2
 *   B: h=1, Recall 1,   NDCG (1/log2 3) / 1,     MAP (1/2)/1, MRR 1/2, Precision 1/2 */
Test(metrics, hand_computed)
{
	const char *test = th_write_tmp("user,item,timestamp\nA,x,1\nA,y,2\nB,w,3\n");
	const char *train = th_write_tmp("user,item,timestamp\nA,q,0\nB,x,0\nC,x,0\nC,z,0\n");
	const char *recs = th_write_tmp("user,item,rank\nA,x,1\nA,z,2\nA,y,3\nB,z,1\nB,w,2\n"
	                                "B,w,3\nZ,x,1\n");
	int ks[1] = {2};
	tr_metrics m;
	tr_error err;
	double l3 = log2(3.0);

	cr_assert_eq(tr_evaluate_files(test, train, recs, ks, 1, 0, &m, &err), 0, "%s", err.msg);
	cr_assert_eq(m.users_evaluated, 2);
	cr_assert_eq(m.duplicate_rows, 1);
	cr_assert_float_eq(m.val[0][TR_M_RECALL], 0.75, 1e-12);
	cr_assert_float_eq(m.val[0][TR_M_RECALL_PLAIN], 0.75, 1e-12);
	cr_assert_float_eq(m.val[0][TR_M_NDCG], (1 / (1 + 1 / l3) + 1 / l3) / 2, 1e-12);
	cr_assert_float_eq(m.val[0][TR_M_MAP], 0.5, 1e-12);
	cr_assert_float_eq(m.val[0][TR_M_MRR], 0.75, 1e-12);
	cr_assert_float_eq(m.val[0][TR_M_HITRATE], 1.0, 1e-12);
	cr_assert_float_eq(m.val[0][TR_M_PRECISION], 0.5, 1e-12);
	/* train catalog {q, x, z}; top-2 lists hold x, z, w -> x and z covered */
	cr_assert_float_eq(m.val[0][TR_M_COVERAGE], 2.0 / 3.0, 1e-12);
	/* slots x(2 users) z(1) z(1) w(0): AvgPop 1, novelty over 3 train users */
	cr_assert_float_eq(m.val[0][TR_M_AVGPOP], 1.0, 1e-12);
	cr_assert_float_eq(m.val[0][TR_M_NOVELTY],
	                   (-log2(2 / 3.0) - 2 * log2(1 / 3.0) - log2(1 / 3.0)) / 4, 1e-12);
	/* standard error of Recall: values 0.5, 1 -> sd 0.35355, / sqrt 2 */
	cr_assert_float_eq(m.se[0][TR_M_RECALL], 0.25, 1e-12);
}

Test(metrics, train_items_count_as_misses_or_are_dropped)
{
	const char *test = th_write_tmp("user,item\nA,y\n");
	const char *train = th_write_tmp("user,item\nA,x\n");
	const char *recs = th_write_tmp("user,item,rank\nA,x,1\nA,y,2\n");
	int ks[1] = {1};
	tr_metrics m;
	tr_error err;

	cr_assert_eq(tr_evaluate_files(test, train, recs, ks, 1, 0, &m, &err), 0, "%s", err.msg);
	cr_assert_float_eq(m.val[0][TR_M_HITRATE], 0.0, 1e-12);
	cr_assert_eq(m.train_items_in_recs, 1);
	cr_assert_eq(tr_evaluate_files(test, train, recs, ks, 1, 1, &m, &err), 0, "%s", err.msg);
	cr_assert_float_eq(m.val[0][TR_M_HITRATE], 1.0, 1e-12);
}

Test(metrics, users_without_recs_score_zero)
{
	const char *test = th_write_tmp("user,item\nA,y\nB,y\n");
	const char *train = th_write_tmp("user,item\nC,y\n");
	const char *recs = th_write_tmp("user,item,rank\nA,y,1\n");
	int ks[2] = {1, 5};
	tr_metrics m;
	tr_error err;

	cr_assert_eq(tr_evaluate_files(test, train, recs, ks, 2, 0, &m, &err), 0, "%s", err.msg);
	cr_assert_eq(m.users_without_recs, 1);
	cr_assert_float_eq(m.val[1][TR_M_NDCG], 0.5, 1e-12);
	cr_assert_float_eq(m.val[1][TR_M_PRECISION], 0.1, 1e-12);
}
