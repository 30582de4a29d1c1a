/* Reasons and features on in-memory inputs (no database, no RPC): the linear scorer's
 * contributions choose among the reasons the item's sources and the history back. */
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
	return id == 7 ? "Kettle" : id == 8 ? "Teapot" : NULL;
}

typedef struct t_item {
	Rs__Candidate c;
	Rs__SourceScore s[4];
	Rs__SourceScore *sp[4];
	rank_cand rc;
} t_item;

/* candidate 9 with a source (name, score, rank, because item), for both reason and features */
static void
add_source(t_item *it, const char *name, float score, uint32_t rank, int64_t because)
{
	Rs__SourceScore *s = &it->s[it->c.n_sources];
	rs__source_score__init(s);
	s->source = (char *) name;
	s->score = score;
	s->rank = rank;
	s->because_item = because;
	it->sp[it->c.n_sources++] = s;
	int si = rank_source_index(name);
	if (si >= 0) {
		it->rc.src[si] = score;
		it->rc.because[si] = because;
	}
}

static void
item_init(t_item *it)
{
	memset(it, 0, sizeof(*it));
	rs__candidate__init(&it->c);
	it->c.item_id = 9;
	it->c.sources = it->sp;
	it->rc.item_id = 9;
	it->rc.category = "";
}

/* The reason of it for history hist[0..nh) with the linear scorer's contributions. */
static void
reason_for(t_item *it, const rank_hist *hist, size_t nh, char *buf, size_t n)
{
	rs_arena *a;
	rank_user u;
	rs_reason_hist rh;
	float x[RANK_NF], contrib[RANK_NF], score;
	rank_scorer *s;
	Rs__HistoryEvent ev[8], *evp[8];

	cr_assert_leq(nh, 8);
	for (size_t i = 0; i < nh; i++) {
		rs__history_event__init(&ev[i]);
		ev[i].item_id = hist[i].item_id;
		ev[i].ts_ms = hist[i].ts_ms;
		ev[i].type = (Rs__EventType) hist[i].type;
		evp[i] = &ev[i];
	}
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	cr_assert_eq(rank_user_build(a, hist, nh, NULL, 1000000, &u), 0);
	cr_assert_eq(rs_reason_hist_build(a, evp, nh, &rh), 0);
	rank_features_compute(&u, &it->rc, 1, x);
	cr_assert_eq(rank_scorer_linear_create(NULL, NULL, &s), 0);
	cr_assert_eq(rank_scorer_score(s, x, 1, &score, contrib), 0);
	rank_reason(&rh, &it->c, it->rc.category, contrib, 0, titles, NULL, buf, n);
	rank_scorer_unref(s);
	rs_arena_destroy(a);
}

Test(reasons, verb_follows_the_strongest_event_on_the_because_item)
{
	char buf[128];
	t_item it;
	rank_hist viewed[] = {{7, 1000000, 1}};
	rank_hist clicked[] = {{7, 1000000, 2}};
	rank_hist bought[] = {{7, 1000000, 1}, {7, 999000, 4}};
	rank_hist carted[] = {{7, 1000000, 3}};
	rank_hist rated[] = {{7, 1000000, 5}, {7, 999000, 1}};
	item_init(&it);
	add_source(&it, "covisit", 1.0f, 1, 7);
	reason_for(&it, viewed, 1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "because you viewed Kettle");
	reason_for(&it, clicked, 1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "because you viewed Kettle");
	reason_for(&it, bought, 2, buf, sizeof(buf));
	cr_assert_str_eq(buf, "because you bought Kettle");
	reason_for(&it, carted, 1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "because you added Kettle to your cart");
	reason_for(&it, rated, 2, buf, sizeof(buf));
	cr_assert_str_eq(buf, "because you rated Kettle");
}

Test(reasons, the_strongest_group_that_is_true_wins)
{
	char buf[128];
	t_item it;
	rank_hist h[] = {{8, 1000000, 1}};
	/* co-visitation leads (weight 0.45 vs popular's 0.25), but from item 7, which is not in
	 * the history: the true reason is the popular list's */
	item_init(&it);
	add_source(&it, "covisit", 1.0f, 1, 7);
	add_source(&it, "popular", 1.0f, 40, 0);
	reason_for(&it, h, 1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "trending now");
	/* from item 8, which the customer viewed: co-visitation */
	item_init(&it);
	add_source(&it, "covisit", 1.0f, 1, 8);
	add_source(&it, "popular", 1.0f, 40, 0);
	reason_for(&it, h, 1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "because you viewed Teapot");
}

Test(reasons, nothing_true_is_recommended_for_you)
{
	char buf[64];
	t_item it;
	rank_hist h[] = {{8, 1000000, 1}};
	item_init(&it);
	add_source(&it, "als", 1.0f, 1, 0); /* no source a reason can state */
	reason_for(&it, h, 1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "recommended for you");
	rs_reason_hist none = {NULL, 0};
	float contrib[RANK_NF] = {0};
	contrib[RANK_F_SEEN] = -0.2f;
	rank_reason(&none, &it.c, "", contrib, 0, titles, NULL, buf, sizeof(buf));
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
