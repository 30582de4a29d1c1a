/* rs_idmap against a plain array searched linearly: interned indexes in order of first sight
 * through every rehash, ids <= 0 refused, and an index over a borrowed array with repeats and
 * non-positive ids (the lowest index wins, as rs_model's item codes need). */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "rs_err.h"
#include "rs_idmap.h"

/* the lowest index of key in k[0..n), or -1 (keys <= 0 never match): the expectation */
static int64_t
ref_find(const int64_t *k, size_t n, int64_t key)
{
	for (size_t i = 0; key > 0 && i < n; i++)
		if (k[i] == key)
			return (int64_t) i;
	return -1;
}

static unsigned
next(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

Test(idmap, empty_and_invalid)
{
	rs_idmap m;
	int fresh = -1;
	rs_idmap_init(&m);
	cr_expect_eq(rs_idmap_find(&m, 1), -1);
	cr_expect_eq(rs_idmap_intern(&m, 0, &fresh), RS_EINVAL);
	cr_expect_eq(rs_idmap_intern(&m, -5, &fresh), RS_EINVAL);
	cr_expect_eq(fresh, 0);
	cr_expect_eq(rs_idmap_count(&m), 0);
	cr_expect_eq(rs_idmap_intern(&m, INT64_MAX, &fresh), 0);
	cr_expect_eq(fresh, 1);
	cr_expect_eq(rs_idmap_find(&m, INT64_MAX), 0);
	cr_expect_eq(rs_idmap_find(&m, -1), -1);
	rs_idmap_fini(&m);
	rs_idmap_fini(&m); /* twice is harmless */
}

/* sequential, strided and random ids with repeats, against the array */
Test(idmap, intern_matches_linear_search)
{
	enum { NOPS = 30000 };
	int64_t *r = calloc(NOPS, sizeof(*r));
	size_t nref = 0;
	unsigned seed = 11;
	rs_idmap m;
	rs_idmap_init(&m);
	cr_assert_not_null(r);
	for (int op = 0; op < NOPS; op++) {
		int64_t key;
		switch (op % 3) {
		case 0:
			key = 1 + op % 2000;
			break; /* sequential */
		case 1:
			key = (int64_t) (op % 1000) << 32;
			break; /* the high bits only */
		default:
			key = 1 + (int64_t) (next(&seed) % 5000); /* random */
		}
		int64_t want = ref_find(r, nref, key);
		if (op % 5 == 0 && key > 0) {
			cr_assert_eq(rs_idmap_find(&m, key), want, "find %lld", (long long) key);
			continue;
		}
		int fresh;
		int64_t got = rs_idmap_intern(&m, key, &fresh);
		if (key <= 0) {
			cr_assert_eq(got, RS_EINVAL);
			continue;
		}
		int is_new = want < 0;
		if (is_new)
			r[want = (int64_t) nref++] = key;
		cr_assert_eq(got, want, "intern %lld", (long long) key);
		cr_assert_eq(fresh, is_new);
	}
	cr_assert_eq(rs_idmap_count(&m), nref);
	cr_expect_gt(nref, 5000);
	for (size_t i = 0; i < nref; i++) {
		cr_assert_eq(rs_idmap_key(&m, (uint32_t) i), r[i]);
		cr_assert_eq(rs_idmap_find(&m, r[i]), (int64_t) i);
	}
	cr_expect_gt(rs_idmap_bytes(&m), nref * sizeof(int64_t));
	rs_idmap_fini(&m);
	free(r);
}

Test(idmap, index_over_borrowed_keys)
{
	enum { N = 5000 };
	int64_t *k = malloc(N * sizeof(*k));
	unsigned seed = 3;
	rs_idmap m;
	cr_assert_not_null(k);
	for (size_t i = 0; i < N; i++) /* repeats, zeros and negatives among them */
		k[i] = (int64_t) (next(&seed) % 4000) - 200;
	rs_idmap_init(&m);
	cr_assert_eq(rs_idmap_index(&m, k, N), 0);
	cr_expect_eq(rs_idmap_count(&m), N);
	for (int64_t key = -300; key < 4000; key++)
		cr_assert_eq(rs_idmap_find(&m, key), ref_find(k, N, key), "key %lld",
		             (long long) key);
	cr_expect_eq(rs_idmap_intern(&m, 5, NULL), RS_EINVAL); /* the keys are not its own */
	cr_expect_eq(rs_idmap_index(&m, k, N), RS_EINVAL);     /* already built */
	rs_idmap_fini(&m);
	rs_idmap_init(&m);
	cr_assert_eq(rs_idmap_index(&m, NULL, 0), 0);
	cr_expect_eq(rs_idmap_find(&m, 1), -1);
	rs_idmap_fini(&m);
	free(k);
}
