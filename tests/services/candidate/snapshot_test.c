/* cand_snap_build and retrieval on in-memory rows (no database). */
#include <criterion/criterion.h>
#include <string.h>

#include "retrieve.h"
#include "snapshot.h"

static const cand_build_params params = {
        .half_life_ms = 3600.0 * 1000.0, /* one hour */
        .covisit_n = 2,
        .covisit_span = 10,
        .user_items = 50,
        .category_top = 100,
};

static const cand_item_row items[] = {
        {10, "A", "X/Y", 1, 1, 1},
        {20, "B", "X/Y", 2, 1, 1},
        {30, "C", "X/Z", 3, 1, 1},
        {40, "D", "W", 4, 0, 1},
};

Test(snapshot, popularity_decays_with_half_life_relative_to_newest_event)
{
	const int64_t t = 1000LL * 3600 * 1000;
	cand_event_row ev[] = {
	        {1, 10, t, 0, 1},               /* view now: 1 */
	        {2, 20, t - 3600 * 1000, 0, 4}, /* purchase an hour earlier: 8 / 2 = 4 */
	        {3, 30, t - 7200 * 1000, 0, 6}, /* not_interested: 0 */
	        {4, 50, t, 0, 3},               /* add_to_cart of an item not in items: 4 */
	};
	cand_snap *s;
	cr_assert_eq(cand_snap_build(items, 4, ev, 4, &params, 7, &s), 0);
	cr_assert_eq(s->n_items, 5, "event-only item 50 becomes an item");
	cr_assert_float_eq(s->items[cand_snap_find(s, 10)].pop, 1.0f, 1e-5);
	cr_assert_float_eq(s->items[cand_snap_find(s, 20)].pop, 4.0f, 1e-5);
	cr_assert_float_eq(s->items[cand_snap_find(s, 30)].pop, 0.0f, 1e-9);
	cr_assert_eq(s->n_popular, 3);
	cr_assert_eq(s->items[s->popular[0]].id, 20); /* 4 == 4: smaller id first */
	cr_assert_eq(s->items[s->popular[1]].id, 50);
	cr_assert_eq(s->items[s->popular[2]].id, 10);
	cr_assert_str_eq(s->items[cand_snap_find(s, 50)].category, "");
	cr_assert_eq(s->fingerprint, 7);
	cand_snap_unref(s);
}

Test(snapshot, covisit_is_symmetric_normalised_and_bounded)
{
	/* Users 1..3 see 10 and 20; user 3 also 30 and 40. */
	cand_event_row ev[] = {
	        {1, 10, 1, 0, 1}, {1, 20, 2, 0, 1}, {2, 10, 1, 0, 1}, {2, 20, 2, 0, 1},
	        {3, 10, 1, 0, 1}, {3, 20, 2, 0, 1}, {3, 30, 3, 0, 1}, {3, 40, 4, 0, 1},
	};
	cand_snap *s;
	cr_assert_eq(cand_snap_build(items, 4, ev, 8, &params, 0, &s), 0);
	const cand_item *a = &s->items[cand_snap_find(s, 10)];
	cr_assert_eq(a->nb_len, 2, "covisit_n bounds the list");
	const cand_nb *nb = &s->nbs[a->nb_off];
	cr_assert_eq(s->items[nb[0].item].id, 20);
	cr_assert_float_eq(nb[0].score, 1.0f, 1e-5); /* always together: cosine 1 */
	cr_assert(nb[1].score < nb[0].score);
	const cand_item *b = &s->items[cand_snap_find(s, 20)];
	cr_assert_eq(s->items[s->nbs[b->nb_off].item].id, 10);
	cr_assert_float_eq(nb[0].cobought, 0.0f, 1e-9);
	cand_snap_unref(s);
}

Test(snapshot, category_filter_is_a_path_prefix)
{
	cand_event_row ev[] = {{1, 10, 1, 0, 1}};
	cand_snap *s;
	cr_assert_eq(cand_snap_build(items, 4, ev, 1, &params, 0, &s), 0);
	cand_filter f = {.category = "X"};
	cr_assert(cand_filter_pass(s, (uint32_t) cand_snap_find(s, 10), &f));
	cr_assert(cand_filter_pass(s, (uint32_t) cand_snap_find(s, 30), &f));
	cr_assert_not(cand_filter_pass(s, (uint32_t) cand_snap_find(s, 40), &f));
	f.category = "X/Y/";
	cr_assert(cand_filter_pass(s, (uint32_t) cand_snap_find(s, 20), &f));
	cr_assert_not(cand_filter_pass(s, (uint32_t) cand_snap_find(s, 30), &f));
	f.category = "X/";
	cr_assert(cand_filter_pass(s, (uint32_t) cand_snap_find(s, 30), &f));
	f.category = "/"; /* the root: everything */
	cr_assert(cand_filter_pass(s, (uint32_t) cand_snap_find(s, 40), &f));
	f = (cand_filter){.max_price = 10};
	cr_assert_not(cand_filter_pass(s, (uint32_t) cand_snap_find(s, 40), &f), "no price");
	cand_snap_unref(s);
}

Test(snapshot, empty_input_builds_an_empty_snapshot)
{
	cand_snap *s;
	cand_result out[4];
	size_t n = 9;
	cr_assert_eq(cand_snap_build(NULL, 0, NULL, 0, &params, 0, &s), 0);
	cr_assert_eq(s->n_items, 0);
	cr_assert_eq(cand_retrieve(s, 0, NULL, 0, NULL, 4, out, &n), 0);
	cr_assert_eq(n, 0);
	cand_snap_unref(s);
}

static int
cmp_pop_desc(const void *a, const void *b)
{
	const cand_item *x = *(const cand_item *const *) a, *y = *(const cand_item *const *) b;
	if (x->pop != y->pop)
		return x->pop < y->pop ? 1 : -1;
	return (x->id > y->id) - (x->id < y->id);
}

Test(snapshot, popular_top_k_matches_a_full_sort)
{
	enum { N = 2000 };
	static cand_event_row ev[N * 3];
	static const cand_item *all[N];
	size_t ne = 0;
	unsigned seed = 12345;
	for (int i = 0; i < N; i++) {
		int times = 1 + (int) ((seed = seed * 1103515245u + 12345u) >> 16) % 3;
		for (int t = 0; t < times; t++) /* ties on purpose: many items share a count */
			ev[ne++] = (cand_event_row){1 + t, 100 + i, 1, 0,
			                            (int32_t) (1 + (seed >> 8) % 4)};
	}
	cand_snap *s;
	cr_assert_eq(cand_snap_build(NULL, 0, ev, ne, &params, 0, &s), 0);
	for (size_t i = 0; i < s->n_items; i++)
		all[i] = &s->items[i];
	qsort(all, s->n_items, sizeof(*all), cmp_pop_desc);
	static const uint32_t ks[] = {1, 7, 37, 200, 999};
	for (size_t q = 0; q < sizeof(ks) / sizeof(ks[0]); q++) {
		cand_result out[999];
		size_t n;
		cr_assert_eq(cand_retrieve(s, 0, NULL, 0, NULL, ks[q], out, &n), 0);
		cr_assert_eq(n, ks[q]);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(s->items[out[i].item].id, all[i]->id, "k=%u position %zu",
			             ks[q], i);
	}
	cand_snap_unref(s);
}

Test(snapshot, exclusions_and_filters_hold_with_unknown_and_repeated_ids)
{
	/* users 1..3 viewed every item: each item is every other item's neighbour */
	cand_event_row ev[12];
	for (int u = 0; u < 3; u++)
		for (int i = 0; i < 4; i++)
			ev[u * 4 + i] = (cand_event_row){1 + u, 10 * (i + 1), 1000 * i + u, 0, 1};
	cand_snap *s;
	cr_assert_eq(cand_snap_build(items, 4, ev, 12, &params, 0, &s), 0);
	cand_hist h[] = {{10, 5000, 0, 1}};
	int64_t ex[] = {20, 999, 20, 5}; /* repeated, and ids the snapshot does not know */
	cand_filter f = {.category = "X", .exclude = ex, .n_exclude = 4};
	cand_result out[8];
	size_t n;
	cr_assert_eq(cand_retrieve(s, 9, h, 1, &f, 8, out, &n), 0);
	int saw30 = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t id = s->items[out[i].item].id;
		cr_assert(id != 20 && id != 40, "id %lld offered", (long long) id);
		saw30 |= id == 30;
	}
	cr_assert(saw30, "30 passes the filter and is a neighbour of 10");
	cand_snap_unref(s);
}
