/* rs_topk against qsort with a plain float comparator (score desc, id asc): selections of
 * every k, streams through room of every size from k + 1, and the float helper. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rs_topk.h"

typedef struct ref {
	float score;
	uint32_t id;
} ref;

static int
cmp_ref(const void *a, const void *b)
{
	const ref *x = a, *y = b;
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return (x->id > y->id) - (x->id < y->id);
}

static unsigned
next(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

/* few distinct scores of both signs (ties decided by id), distinct ids */
static void
fill(ref *r, rs_topk_ent *e, size_t n, unsigned *seed, int distinct)
{
	static const float vals[] = {-INFINITY, -3.5f, -1.0f, -0.0f, 0.0f,  1e-30f,
	                             0.25f,     1.0f,  2.0f,  7.5f,  1e30f, INFINITY};
	for (size_t i = 0; i < n; i++) {
		float s = distinct ? (float) (next(seed) % 1000) - 500.0f
		                   : vals[next(seed) % (sizeof(vals) / sizeof(vals[0]))];
		uint32_t id = (uint32_t) ((next(seed) % 1000) * 1000 + i); /* distinct, shuffled */
		r[i] = (ref){s, id};
		e[i] = rs_topk_ent_of(s, id, (uint32_t) i);
	}
}

Test(topk, key_order_is_score_desc_then_id_asc)
{
	static const float s[] = {-INFINITY, -1e30f, -2.0f, -1e-30f, -0.0f, 0.0f,
	                          1e-38f,    1e-30f, 0.5f,  1.0f,    3e38f, INFINITY};
	size_t n = sizeof(s) / sizeof(s[0]);
	for (size_t a = 0; a < n; a++)
		for (size_t b = 0; b < n; b++)
			for (uint32_t ia = 0; ia < 3; ia++)
				for (uint32_t ib = 0; ib < 3; ib++) {
					int better = s[a] > s[b] || (s[a] == s[b] && ia < ib);
					cr_assert_eq(rs_topk_key(s[a], ia) > rs_topk_key(s[b], ib),
					             better, "%g/%u vs %g/%u", (double) s[a], ia,
					             (double) s[b], ib);
				}
	cr_assert_eq(rs_topk_key(-0.0f, 7), rs_topk_key(0.0f, 7));
	cr_assert(rs_topk_key(0.0f, UINT32_MAX) > rs_topk_key(-1e-45f, 0));
}

Test(topk, select_matches_a_full_sort_for_every_k)
{
	enum { N = 700 };
	static ref want[N];
	static rs_topk_ent a[N], c[N];
	unsigned seed = 7;
	fill(want, a, N, &seed, 0);
	qsort(want, N, sizeof(*want), cmp_ref);
	for (size_t k = 0; k <= N + 1; k += (k < 40 ? 1 : 37)) {
		memcpy(c, a, sizeof(a));
		rs_topk_select(c, N, k);
		for (size_t i = 0; i < k && i < N; i++)
			cr_assert(c[i].key == rs_topk_key(want[i].score, want[i].id) &&
			                  memcmp(&c[i].score, &a[c[i].val].score, sizeof(float)) ==
			                          0,
			          "k=%zu position %zu", k, i);
		/* the rest: the other entries, each once */
		static unsigned char seen[N];
		memset(seen, 0, sizeof(seen));
		for (size_t i = 0; i < N; i++) {
			cr_assert(c[i].val < N && !seen[c[i].val], "k=%zu: not a permutation", k);
			seen[c[i].val] = 1;
		}
	}
}

Test(topk, stream_keeps_the_best_k_best_first_for_every_length_and_room)
{
	enum { N = 300 };
	static ref want[N];
	static rs_topk_ent a[N], room[N + 8];
	unsigned seed = 99;
	for (size_t n = 0; n <= N; n += (n < 40 ? 1 : 13))
		for (size_t k = 0; k <= n + 2; k += (k < 12 ? 1 : 25)) {
			fill(want, a, n, &seed, (int) (n % 2));
			qsort(want, n, sizeof(*want), cmp_ref);
			rs_topk t; /* room from one more than k (a selection per entry) to 5 more */
			rs_topk_init(&t, room, k + 1 + n % 5, k);
			for (size_t i = 0; i < n; i++)
				rs_topk_push(&t, a[i]);
			size_t got = rs_topk_sorted(&t);
			cr_assert_eq(got, k < n ? k : n, "n=%zu k=%zu", n, k);
			for (size_t i = 0; i < got; i++)
				cr_assert(room[i].score == want[i].score &&
				                  a[room[i].val].key == room[i].key &&
				                  room[i].key ==
				                          rs_topk_key(want[i].score, want[i].id),
				          "n=%zu k=%zu position %zu", n, k, i);
		}
}

Test(topk, floats_skip_nan_and_minus_infinity)
{
	float s[9] = {1, 5, 3, 5, -INFINITY, 2, NAN, 3, -7};
	rs_topk_ent room[10];
	uint32_t idx[9];
	float sc[9];
	uint32_t want[4] = {1, 3, 2, 7};
	size_t n = rs_topk_floats(s, 9, 4, room, 5, idx, sc);
	cr_assert_eq(n, 4);
	for (int k = 0; k < 4; k++)
		cr_assert(idx[k] == want[k] && sc[k] == s[want[k]], "slot %d: %u", k, idx[k]);
	n = rs_topk_floats(s, 9, 9, room, 10, idx, NULL);
	cr_assert_eq(n, 7); /* -inf and NaN never returned */
	cr_assert(idx[5] == 0 && idx[6] == 8);
	cr_assert_eq(rs_topk_floats(s, 9, 0, room, 1, idx, sc), 0);
}
