/* rs_reason: every reason against what the item's sources and the history say. */
#include <criterion/criterion.h>
#include <string.h>

#include "rs_reason.h"

static rs_arena *arena;

static void
setup(void)
{
	cr_assert_eq(rs_arena_create(&arena, 0), 0);
}

static void
teardown(void)
{
	rs_arena_destroy(arena);
}

TestSuite(reason, .init = setup, .fini = teardown);

/* the history: events (item, type) */
static rs_reason_hist
hist(const int64_t (*ev)[2], size_t n)
{
	static Rs__HistoryEvent e[16];
	static Rs__HistoryEvent *ep[16];
	rs_reason_hist h;
	cr_assert_leq(n, 16);
	for (size_t i = 0; i < n; i++) {
		rs__history_event__init(&e[i]);
		e[i].item_id = ev[i][0];
		e[i].type = (Rs__EventType) ev[i][1];
		e[i].ts_ms = 1000 - (int64_t) i;
		ep[i] = &e[i];
	}
	cr_assert_eq(rs_reason_hist_build(arena, ep, n, &h), 0);
	return h;
}

typedef struct t_src {
	Rs__SourceScore s[8];
	Rs__SourceScore *p[8];
	size_t n;
} t_src;

static void
src(t_src *t, const char *name, float score, uint32_t rank, int64_t because)
{
	Rs__SourceScore *s = &t->s[t->n];
	rs__source_score__init(s);
	s->source = (char *) name;
	s->score = score;
	s->rank = rank;
	s->because_item = because;
	t->p[t->n] = s;
	t->n++;
}

static const char *
title(void *ctx, int64_t id)
{
	(void) ctx;
	switch (id) {
	case 7:
		return "Kettle";
	case 8:
		return "Teapot";
	case 9:
		return "Mug";
	default:
		return NULL;
	}
}

static char buf[256];

static rs_reason_kind
say(const rs_reason_hist *h, int64_t anchor, const t_src *t, const char *category, int64_t hint,
    const rs_reason_kind *prefer, size_t np)
{
	rs_reason_in in = {
	        .hist = h,
	        .anchor = anchor,
	        .sources = t->p,
	        .n_sources = t->n,
	        .category = category,
	        .hint = hint,
	        .prefer = prefer,
	        .n_prefer = np,
	        .title = title,
	        .name_by_id = 1,
	};
	return rs_reason_write(&in, buf, sizeof(buf));
}

#define VIEW  RS__EVENT_TYPE__EVENT_VIEW
#define CLICK RS__EVENT_TYPE__EVENT_CLICK
#define CART  RS__EVENT_TYPE__EVENT_ADD_TO_CART
#define BUY   RS__EVENT_TYPE__EVENT_PURCHASE
#define RATE  RS__EVENT_TYPE__EVENT_RATING
#define NOPE  RS__EVENT_TYPE__EVENT_NOT_INTERESTED

Test(reason, the_verb_is_the_strongest_event_on_the_named_item)
{
	static const struct {
		int64_t ev[3][2];
		size_t n;
		const char *want;
	} cases[] = {
	        {{{7, VIEW}}, 1, "because you viewed Kettle"},
	        {{{7, CLICK}}, 1, "because you viewed Kettle"},
	        {{{7, VIEW}, {7, RATE}}, 2, "because you rated Kettle"},
	        {{{7, RATE}, {7, CART}, {7, VIEW}}, 3, "because you added Kettle to your cart"},
	        {{{7, CART}, {7, BUY}, {7, VIEW}}, 3, "because you bought Kettle"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rs_reason_hist h = hist(cases[i].ev, cases[i].n);
		t_src t = {0};
		src(&t, "itemknn", 0.3f, 4, 7);
		cr_assert_eq(say(&h, 0, &t, "", 0, NULL, 0), RS_REASON_BECAUSE);
		cr_assert_str_eq(buf, cases[i].want, "case %zu", i);
	}
}

Test(reason, names_only_a_history_item_that_a_source_gives)
{
	static const int64_t ev[][2] = {{7, VIEW}, {8, BUY}, {9, VIEW}};
	rs_reason_hist h = hist(ev, 3);
	const rs_reason_kind because = RS_REASON_BECAUSE;
	t_src t = {0};
	/* 99 led itemknn here but is not in the history; the scorer's hint 8 is in the history
	 * but no source gives it: only 7 may be named */
	src(&t, "itemknn", 0.9f, 1, 99);
	src(&t, "covisit", 0.1f, 3, 7);
	src(&t, "als", 5.0f, 1, 0);
	cr_assert_eq(say(&h, 0, &t, "", 8, &because, 1), RS_REASON_BECAUSE);
	cr_assert_str_eq(buf, "because you viewed Kettle");
	/* the hint wins when a source gives it, even at a worse rank */
	src(&t, "metadata", 0.2f, 30, 8);
	say(&h, 0, &t, "", 8, &because, 1);
	cr_assert_str_eq(buf, "because you bought Teapot");
	/* without a hint: the item of the source that ranks the candidate best (9, rank 2 in
	 * bought_together) */
	src(&t, "bought_together", 0.01f, 2, 9);
	say(&h, 0, &t, "", 0, &because, 1);
	cr_assert_str_eq(buf, "because you viewed Mug");
}

Test(reason, an_item_marked_not_interested_is_never_named)
{
	static const int64_t ev[][2] = {{7, VIEW}, {7, NOPE}};
	rs_reason_hist h = hist(ev, 2);
	t_src t = {0};
	src(&t, "covisit", 1.0f, 1, 7);
	cr_assert_eq(say(&h, 0, &t, "", 7, NULL, 0), RS_REASON_GENERIC);
	cr_assert_str_eq(buf, "recommended for you");
}

Test(reason, trending_only_from_the_popular_list)
{
	static const int64_t ev[][2] = {{7, VIEW}};
	rs_reason_hist h = hist(ev, 1);
	const rs_reason_kind trending = RS_REASON_TRENDING;
	t_src t = {0};
	src(&t, "als", 2.0f, 1, 0);
	src(&t, "popular", 9.0f, 0, 0); /* scored, not retrieved */
	cr_assert_eq(say(&h, 0, &t, "Home/Kitchen", 0, &trending, 1), RS_REASON_GENERIC);
	cr_assert_str_eq(buf, "recommended for you");
	src(&t, "popular", 9.0f, 12, 0);
	cr_assert_eq(say(&h, 0, &t, "Home/Kitchen", 0, &trending, 1), RS_REASON_TRENDING);
	cr_assert_str_eq(buf, "trending now");
}

Test(reason, the_category_reason_needs_the_category_source)
{
	static const int64_t ev[][2] = {{7, VIEW}};
	rs_reason_hist h = hist(ev, 1);
	const rs_reason_kind cat = RS_REASON_CATEGORY;
	t_src t = {0};
	src(&t, "als", 2.0f, 1, 0);
	cr_assert_eq(say(&h, 0, &t, "Home/Kitchen/Knives", 0, &cat, 1), RS_REASON_GENERIC);
	src(&t, "category", 0.5f, 3, 0);
	cr_assert_eq(say(&h, 0, &t, "Home/Kitchen/Knives", 0, &cat, 1), RS_REASON_CATEGORY);
	cr_assert_str_eq(buf, "popular in Knives");
	cr_assert_eq(say(&h, 0, &t, "", 0, &cat, 1), RS_REASON_GENERIC); /* no category known */
}

Test(reason, without_a_preference_the_best_rank_decides_never_the_raw_score)
{
	static const int64_t ev[][2] = {{7, VIEW}};
	rs_reason_hist h = hist(ev, 1);
	t_src t = {0};
	/* popular's raw score is 10,000 times covisit's, but covisit ranks the item 4th and
	 * popular 52nd */
	src(&t, "popular", 1000.0f, 52, 0);
	src(&t, "covisit", 0.1f, 4, 7);
	cr_assert_eq(say(&h, 0, &t, "Home", 0, NULL, 0), RS_REASON_BECAUSE);
	cr_assert_str_eq(buf, "because you viewed Kettle");
	t.s[0].rank = 1;
	cr_assert_eq(say(&h, 0, &t, "Home", 0, NULL, 0), RS_REASON_TRENDING);
	/* a preference that is true wins over ranks */
	const rs_reason_kind because = RS_REASON_BECAUSE;
	cr_assert_eq(say(&h, 0, &t, "Home", 0, &because, 1), RS_REASON_BECAUSE);
}

Test(reason, an_unknown_title_is_named_by_id_or_left_out)
{
	static const int64_t ev[][2] = {{42, BUY}};
	rs_reason_hist h = hist(ev, 1);
	t_src t = {0};
	src(&t, "covisit", 1.0f, 1, 42);
	say(&h, 0, &t, "", 0, NULL, 0);
	cr_assert_str_eq(buf, "because you bought item 42");
	rs_reason_in in = {.hist = &h, .sources = t.p, .n_sources = t.n, .title = title};
	rs_reason_write(&in, buf, sizeof(buf));
	cr_assert_str_eq(buf, "related to an item you bought");
	const rs_reason_kind bt = RS_REASON_BOUGHT_TOGETHER;
	t.s[0].source = "bought_together";
	in.prefer = &bt;
	in.n_prefer = 1;
	rs_reason_write(&in, buf, sizeof(buf));
	cr_assert_str_eq(buf, "often bought together with an item you bought");
}

/* "you", "your": words a list for everyone must not use */
static int
personal(const char *s)
{
	return strstr(s, "you") != NULL;
}

Test(reason, a_list_for_everyone_never_claims_personalization)
{
	static const struct {
		const char *source;
		uint32_t rank;
		int64_t because;
		int64_t anchor;
		const char *want;
	} cases[] = {
	        {"covisit", 1, 5, 5, "often viewed together with this item"},
	        {"bought_together", 1, 5, 5, "often bought together with this item"},
	        {"itemknn", 2, 5, 5, "similar to this item"},
	        {"metadata", 2, 5, 5, "similar to this item"},
	        {"category", 3, 0, 5, "popular in Knives"},
	        {"popular", 1, 0, 0, "trending now"},
	        {"als", 1, 0, 5, "related to this item"},
	        {"covisit", 1, 5, 0, "recommended"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_src t = {0};
		src(&t, cases[i].source, 1.0f, cases[i].rank, cases[i].because);
		say(NULL, cases[i].anchor, &t, "Home/Kitchen/Knives", 0, NULL, 0);
		cr_assert_str_eq(buf, cases[i].want, "case %zu", i);
		cr_assert(!personal(buf), "case %zu: %s", i, buf);
	}
}

Test(reason, history_summary_keeps_each_item_once_with_its_strongest_event)
{
	static const int64_t ev[][2] = {{9, VIEW}, {3, BUY}, {9, CART}, {3, VIEW}, {5, NOPE}};
	rs_reason_hist h = hist(ev, 5);
	cr_assert_eq(h.n, 3);
	cr_assert_eq(h.items[0].id, 3);
	cr_assert_eq(h.items[1].id, 5);
	cr_assert(h.items[1].rejected);
	cr_assert_eq(h.items[2].id, 9);
	cr_assert_gt(h.items[0].verb, h.items[2].verb); /* bought over added to the cart */
}
