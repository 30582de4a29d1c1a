/* Malformed and mutated CandidatesRequest / SimilarRequest bodies straight into the handlers,
 * over an in-memory snapshot: never a crash, always a known status. */
#include <criterion/criterion.h>
#include <string.h>

#include "cand_snapshot.h"
#include "candidate.h"
#include "candidate.pb-c.h"
#include "rs_arena.h"

static uint32_t
rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t) (*s >> 33);
}

static rs_rpc_fn
route(Rs__Method m)
{
	for (const rs_rpc_route *r = cand_routes; r->fn != NULL; r++)
		if (r->method == m)
			return r->fn;
	return NULL;
}

static void
fuzz(cand_state *st, Rs__Method m, const uint8_t *valid, size_t n, int *ok)
{
	uint8_t *buf = malloc(n + 64);
	rs_arena *a;
	uint64_t seed = 7 + (uint64_t) m;
	rs_rpc_fn fn = route(m);
	cr_assert_not_null(fn);
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	for (int it = 0; it < 3000; it++) {
		size_t len = n;
		memcpy(buf, valid, n);
		switch (rnd(&seed) % 4) {
		case 0:
			for (int f = 1 + (int) (rnd(&seed) % 8); f > 0; f--)
				buf[rnd(&seed) % n] = (uint8_t) rnd(&seed);
			break;
		case 1:
			len = rnd(&seed) % n;
			break;
		case 2:
			len = rnd(&seed) % (n + 64);
			for (size_t i = 0; i < len; i++)
				buf[i] = (uint8_t) rnd(&seed);
			break;
		default:
			break;
		}
		rs_rpc_call call = {
		        .arena = a, .method = m, .body = buf, .body_len = len, .request_id = ""};
		fn(st, &call);
		cr_assert(call.status == RS__STATUS__STATUS_OK ||
		                  call.status == RS__STATUS__STATUS_INVALID ||
		                  call.status == RS__STATUS__STATUS_NOT_FOUND,
		          "iteration %d: status %d (%s)", it, call.status, call.error);
		*ok += call.status == RS__STATUS__STATUS_OK;
		rs_arena_reset(a);
	}
	rs_arena_destroy(a);
	free(buf);
}

Test(candidate_fuzz, mutated_bodies_never_crash)
{
	cand_state *st;
	/* 60 items in 3 categories, 40 users with 6 events each (tests/support/cand_snapshot.h) */
	cr_assert_eq(cand_fx_open(&st, "candidate-fuzz"), 0);

	Rs__CandidatesRequest req = RS__CANDIDATES_REQUEST__INIT;
	Rs__CandidateFilter f = RS__CANDIDATE_FILTER__INIT;
	Rs__HistoryEvent h[6], *hp[6];
	int64_t excl[3] = {2, 3, 4};
	for (int i = 0; i < 6; i++) {
		rs__history_event__init(&h[i]);
		h[i].item_id = 1 + i * 5;
		h[i].type = (Rs__EventType) (1 + i);
		h[i].ts_ms = 1000 * i;
		hp[i] = &h[i];
	}
	f.category = "A";
	f.max_price = 50;
	f.exclude_items = excl;
	f.n_exclude_items = 3;
	req.user_id = 3;
	req.k = 20;
	req.recent = hp;
	req.n_recent = 6;
	req.filter = &f;
	size_t n = rs__candidates_request__get_packed_size(&req);
	uint8_t *valid = malloc(n);
	rs__candidates_request__pack(&req, valid);
	int ok = 0;
	fuzz(st, RS__METHOD__METHOD_CANDIDATES, valid, n, &ok);
	cr_assert_gt(ok, 500, "%d ok", ok);
	free(valid);

	Rs__SimilarRequest sreq = RS__SIMILAR_REQUEST__INIT;
	sreq.item_id = 7;
	sreq.k = 10;
	n = rs__similar_request__get_packed_size(&sreq);
	valid = malloc(n);
	rs__similar_request__pack(&sreq, valid);
	ok = 0;
	fuzz(st, RS__METHOD__METHOD_SIMILAR, valid, n, &ok);
	cr_assert_gt(ok, 500, "%d ok", ok);
	free(valid);
	cand_close(st);
}
