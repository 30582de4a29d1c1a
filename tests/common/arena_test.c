#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "common.pb-c.h"
#include "rs_arena.h"

Test(arena, allocations_are_aligned_and_grow_past_a_chunk)
{
	rs_arena *a;
	cr_assert_eq(rs_arena_create(&a, 128), 0);
	for (int i = 0; i < 100; i++) {
		char *p = rs_arena_alloc(a, 37);
		cr_assert_not_null(p);
		cr_assert_eq((uintptr_t) p % 16, 0);
		memset(p, 0xab, 37);
	}
	char *big = rs_arena_alloc(a, 100000);
	cr_assert_not_null(big);
	memset(big, 1, 100000);
	cr_assert_geq(rs_arena_used(a), 100000 + 100 * 48);
	rs_arena_reset(a);
	cr_assert_eq(rs_arena_used(a), 0);
	cr_assert_str_eq(rs_arena_strdup(a, "hello"), "hello");
	cr_assert_null(rs_arena_alloc(a, (size_t) 1 << 30));
	rs_arena_destroy(a);
	rs_arena_destroy(NULL);
}

Test(arena, protobuf_messages_unpack_into_the_arena)
{
	rs_arena *a;
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	uint8_t buf[64];
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	h.request_id = "abc";
	h.deadline_unix_ms = 42;
	size_t n = rs__request_header__pack(&h, buf);
	Rs__RequestHeader *u = rs__request_header__unpack(rs_arena_pb(a), n, buf);
	cr_assert_not_null(u);
	cr_assert_str_eq(u->request_id, "abc");
	cr_assert_eq(u->deadline_unix_ms, 42);
	cr_assert_gt(rs_arena_used(a), 0);
	rs_arena_destroy(a);
}
