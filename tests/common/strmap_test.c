/* rs_strmap against a plain array searched linearly: indexes in order of first sight, exact
 * byte strings (prefixes, embedded NULs, the empty string), growth through many rehashes,
 * clear, reserve and the pool in index order. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"
#include "rs_strmap.h"

typedef struct ref {
	char s[24];
	size_t len;
} ref;

/* the index of s in r[0..n), or -1: the independent expectation */
static int64_t
ref_find(const ref *r, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].len == len && memcmp(r[i].s, s, len) == 0)
			return (int64_t) i;
	return -1;
}

static unsigned
next(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

Test(strmap, empty_finds_nothing)
{
	rs_strmap m;
	rs_strmap_init(&m);
	cr_expect_eq(rs_strmap_find(&m, "a", 1), -1);
	cr_expect_eq(rs_strmap_find(&m, "", 0), -1);
	cr_expect_eq(rs_strmap_count(&m), 0);
	size_t len = 1;
	rs_strmap_pool(&m, &len);
	cr_expect_eq(len, 0);
	rs_strmap_fini(&m);
}

Test(strmap, exact_byte_strings)
{
	static const char *keys[] = {"ab", "a", "abc", "", "b"};
	rs_strmap m;
	int fresh = -1;
	rs_strmap_init(&m);
	for (size_t i = 0; i < 5; i++) {
		cr_assert_eq(rs_strmap_intern(&m, keys[i], strlen(keys[i]), &fresh), (int64_t) i);
		cr_expect_eq(fresh, 1);
	}
	/* "a\0b" and "a\0c" are two keys of three bytes, neither equal to "a" */
	cr_assert_eq(rs_strmap_intern(&m, "a\0b", 3, &fresh), 5);
	cr_assert_eq(rs_strmap_intern(&m, "a\0c", 3, &fresh), 6);
	cr_expect_eq(fresh, 1);
	cr_expect_eq(rs_strmap_intern(&m, "a\0b", 3, &fresh), 5);
	cr_expect_eq(fresh, 0);
	cr_expect_eq(rs_strmap_find(&m, "a", 1), 1);
	cr_expect_eq(rs_strmap_find(&m, "abcd", 3), 2); /* the length decides, not the NUL */
	cr_expect_eq(rs_strmap_find(&m, "abcd", 4), -1);
	cr_expect_eq(rs_strmap_find(&m, "c", 0), 3);
	cr_expect_eq(rs_strmap_count(&m), 7);
	cr_expect_str_eq(rs_strmap_str(&m, 2), "abc");
	cr_expect_eq(rs_strmap_len(&m, 3), 0);
	cr_expect_eq(rs_strmap_len(&m, 6), 3);
	cr_expect_eq(memcmp(rs_strmap_str(&m, 6), "a\0c", 4), 0);
	size_t len;
	const char *pool = rs_strmap_pool(&m, &len);
	static const char want[] = "ab\0a\0abc\0\0b\0a\0b\0a\0c"; /* with its final NUL */
	cr_assert_eq(len, sizeof(want));
	cr_expect_eq(memcmp(pool, want, len), 0);
	rs_strmap_fini(&m);
}

/* thousands of keys with many repeats, against the array, through every rehash */
Test(strmap, matches_linear_search)
{
	enum { NDISTINCT = 3000, NOPS = 20000 };
	ref *r = calloc(NDISTINCT, sizeof(*r));
	size_t nref = 0;
	unsigned seed = 7;
	rs_strmap m;
	rs_strmap_init(&m);
	cr_assert_not_null(r);
	for (int op = 0; op < NOPS; op++) {
		char key[24];
		int len = snprintf(key, sizeof(key), "u%u", next(&seed) % NDISTINCT);
		int64_t want = ref_find(r, nref, key, (size_t) len);
		if (op % 3 == 0) {
			cr_assert_eq(rs_strmap_find(&m, key, (size_t) len), want, "find %s", key);
			continue;
		}
		int fresh;
		int64_t got = rs_strmap_intern(&m, key, (size_t) len, &fresh);
		int is_new = want < 0;
		if (is_new) {
			memcpy(r[nref].s, key, (size_t) len + 1);
			r[nref].len = (size_t) len;
			want = (int64_t) nref++;
		}
		cr_assert_eq(got, want, "intern %s", key);
		cr_assert_eq(fresh, is_new, "fresh %s", key);
	}
	cr_assert_eq(rs_strmap_count(&m), nref);
	cr_expect_gt(nref, 2000);
	for (size_t i = 0; i < nref; i++) {
		cr_assert_str_eq(rs_strmap_str(&m, (uint32_t) i), r[i].s);
		cr_assert_eq(rs_strmap_len(&m, (uint32_t) i), r[i].len);
	}
	rs_strmap_fini(&m);
	free(r);
}

Test(strmap, fresh_only_on_first_sight)
{
	rs_strmap m;
	int fresh;
	rs_strmap_init(&m);
	cr_expect_eq(rs_strmap_intern(&m, "x", 1, &fresh), 0);
	cr_expect_eq(fresh, 1);
	cr_expect_eq(rs_strmap_intern(&m, "x", 1, &fresh), 0);
	cr_expect_eq(fresh, 0);
	cr_expect_eq(rs_strmap_intern(&m, "y", 1, NULL), 1);
	rs_strmap_fini(&m);
}

Test(strmap, clear_keeps_working)
{
	rs_strmap m;
	int fresh;
	rs_strmap_init(&m);
	cr_assert_eq(rs_strmap_reserve(&m, 100), 0);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 500; i++) {
			char key[16];
			int len = snprintf(key, sizeof(key), "%d-%d", round, i);
			cr_assert_eq(rs_strmap_intern(&m, key, (size_t) len, &fresh), i);
			cr_assert_eq(fresh, 1);
		}
		cr_assert_eq(rs_strmap_count(&m), 500);
		/* every key is found again, the first one of a reserved or cleared table too */
		for (int i = 0; i < 500; i++) {
			char key[16];
			int len = snprintf(key, sizeof(key), "%d-%d", round, i);
			cr_assert_eq(rs_strmap_find(&m, key, (size_t) len), i, "%s", key);
			cr_assert_eq(rs_strmap_intern(&m, key, (size_t) len, &fresh), i);
			cr_assert_eq(fresh, 0);
		}
		rs_strmap_clear(&m);
		cr_assert_eq(rs_strmap_count(&m), 0);
		cr_assert_eq(rs_strmap_find(&m, "0-0", 3), -1);
	}
	cr_expect_eq(rs_strmap_intern(&m, "0-0", 3, &fresh), 0);
	cr_expect_eq(fresh, 1);
	rs_strmap_fini(&m);
	cr_expect_eq(rs_strmap_count(&m), 0);
	rs_strmap_fini(&m); /* twice is harmless */
}
