/* common/rs_rankfeat: the ranker's feature row against rows computed by hand. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "rs_rankfeat.h"

TestSuite(rankfeat, .timeout = 60);

Test(rankfeat, row_matches_hand_computed_values)
{
	rs_rankfeat_src src[2];
	rs_rankfeat_norm norm = {.tmax = 100, .span = 50, .mean_n = 3};
	rs_rankfeat_user user = {.n_items = 3, .has_last = 1, .last_ts = 90};
	float score[2] = {3, 0.5f}, item[4] = {-1, -2, 0.25f, 0.5f}, sim[2] = {0.5f, 0.25f},
	      trans[2] = {0.1f, 0.3f}, row[RS_RANKFEAT_MAX];
	int32_t rank[2] = {2, 11};
	rs_rankfeat_cand c = {score, rank, item, 2, sim, trans};
	const float want[] = {
	        0.5f, 0.75f, 2,           /* (3 - 2) / (4 - 2), 3 / 4, rank */
	        0,    0.5f,  11,          /* empty list: no min-max, best 1, cand_n + 1 */
	        -1,   -2,    0.25f, 0.5f, /* item features as given */
	        0,                        /* log((3 + 1) / (3 + 1)) */
	        0.2f,                     /* (100 - 90) / 50 */
	        0.5f, 0.75f, 0.1f,  0.4f, /* sim last, sim sum, trans last, trans sum */
	};

	rs_rankfeat_src_init(&src[0], 4, 2, 10);
	rs_rankfeat_src_init(&src[1], 9, 9, 0);
	cr_assert_eq(src[0].best, 4.0f);
	cr_assert_eq(src[1].best, 1.0f);
	cr_assert_eq(src[1].top, 0.0f);
	cr_assert_eq(rs_rankfeat_nfeat(2), 16);
	memset(row, 0xff, sizeof(row));
	rs_rankfeat_row(2, src, &norm, &user, &c, row);
	for (int f = 0; f < 16; f++)
		cr_assert_float_eq(row[f], want[f], 1e-6, "column %d: %.9g, want %.9g", f, row[f],
		                   want[f]);
}

Test(rankfeat, new_user_and_bad_values)
{
	rs_rankfeat_src src[1];
	rs_rankfeat_norm norm = {.tmax = 100, .span = 50, .mean_n = 1};
	rs_rankfeat_user user = {0, 0, 0};
	float score[1] = {INFINITY}, item[4] = {NAN, 0, 1, 0}, row[RS_RANKFEAT_MAX];
	int32_t rank[1] = {5};
	rs_rankfeat_cand c = {score, rank, item, 0, NULL, NULL};

	rs_rankfeat_src_init(&src[0], -8, -10, 3);
	cr_assert_eq(src[0].best, 8.0f); /* |top| */
	rs_rankfeat_row(1, src, &norm, &user, &c, row);
	cr_assert_eq(row[0], 0.0f); /* inf -> 0 */
	cr_assert_eq(row[1], 0.0f);
	cr_assert_eq(row[2], 5.0f);
	cr_assert_eq(row[3], 0.0f);                               /* nan -> 0 */
	cr_assert_float_eq(row[7], (float) log(1.0 / 2.0), 1e-7); /* log((0 + 1) / (1 + 1)) */
	cr_assert_eq(row[8], 1.0f);                               /* no history: oldest */
	for (int f = 9; f < 13; f++)
		cr_assert_eq(row[f], 0.0f);
}

Test(rankfeat, names_follow_the_layout)
{
	const char *src[] = {"als", "pop"};
	char buf[48];
	const char *want[] = {
	        "als_norm",      "als_ratio",      "als_rank",          "pop_norm",
	        "pop_ratio",     "pop_rank",       "item_log_pop",      "item_log_recent_pop",
	        "item_age_last", "item_age_first", "user_log_activity", "user_age_last",
	        "seq_sim_last",  "seq_sim_sum",    "seq_trans_last",    "seq_trans_sum"};
	for (int f = 0; f < 16; f++) {
		cr_assert_eq(rs_rankfeat_name(src, 2, f, buf, sizeof(buf)), 0);
		cr_assert_str_eq(buf, want[f]);
	}
	cr_assert_eq(rs_rankfeat_name(src, 2, 16, buf, sizeof(buf)), -1);
	cr_assert_eq(RS_RANKFEAT_LAYOUT, 1);
}
