/* Reasons and features on in-memory inputs (no database, no RPC). */
#include <criterion/criterion.h>
#include <string.h>

#include "featurize.h"
#include "reasons.h"
#include "rs_arena.h"
#include "scorer.h"

static const char *
titles(void *ctx, int64_t id)
{
	(void) ctx;
	return id == 7 ? "Kettle" : NULL;
}

/* One candidate led by co-visitation from item 7, with history hist[0..nh). */
static void
reason_for(const rank_hist *hist, size_t nh, char *buf, size_t n)
{
	rs_arena *a;
	rank_user u;
	rank_cand c = {.item_id = 9, .category = ""};
	float x[RANK_NF], contrib[RANK_NF], score;
	rank_scorer *s;

	c.src[RANK_SRC_COVISIT] = 1.0f;
	c.because[RANK_SRC_COVISIT] = 7;
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	cr_assert_eq(rank_user_build(a, hist, nh, NULL, 1000000, &u), 0);
	rank_features_compute(&u, &c, 1, x);
	cr_assert_eq(rank_scorer_linear_create(NULL, NULL, &s), 0);
	cr_assert_eq(rank_scorer_score(s, x, 1, &score, contrib), 0);
	rank_reason(&u, &c, contrib, titles, NULL, buf, n);
	rank_scorer_unref(s);
	rs_arena_destroy(a);
}

Test(reasons, verb_follows_the_strongest_event_on_the_because_item)
{
	char buf[128];
	rank_hist viewed[] = {{7, 1000000, 1}};
	rank_hist bought[] = {{7, 1000000, 1}, {7, 999000, 4}};
	rank_hist carted[] = {{7, 1000000, 3}};
	reason_for(viewed, 1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "because you viewed Kettle");
	reason_for(bought, 2, buf, sizeof(buf));
	cr_assert_str_eq(buf, "because you bought Kettle");
	reason_for(carted, 1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "because you added Kettle to your cart");
}

Test(reasons, nothing_positive_is_recommended_for_you)
{
	rank_user u = {0};
	rank_cand c = {.item_id = 9, .category = ""};
	float contrib[RANK_NF] = {0};
	char buf[64];
	contrib[RANK_F_SEEN] = -0.2f;
	rank_reason(&u, &c, contrib, titles, NULL, buf, sizeof(buf));
	cr_assert_str_eq(buf, "recommended for you");
}

Test(features, seen_and_recency)
{
	rs_arena *a;
	rank_user u;
	const int64_t now = 100LL * 3600000;
	rank_hist h[] = {{9, now - 1000, 1}, {9, now - 2000, 2}, {7, now - 24 * 3600000LL, 1}};
	rank_cand c = {.item_id = 9, .category = ""};
	float x[RANK_NF];
	c.because[RANK_SRC_COVISIT] = 7;
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	cr_assert_eq(rank_user_build(a, h, 3, NULL, now, &u), 0);
	rank_features_compute(&u, &c, 1, x);
	cr_assert_float_eq(x[RANK_F_SEEN], 2.0f, 1e-9);
	cr_assert_float_eq(x[RANK_F_RECENCY], 0.5f, 1e-5); /* a day old: half */
	cr_assert_float_eq(x[RANK_F_COVISIT], 0.0f, 1e-9); /* no source score at all */
	rs_arena_destroy(a);
}
