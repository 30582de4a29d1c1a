/* Malformed and mutated RankRequest bodies straight into the handler: never a crash, always a
 * known status. (ASan/UBSan in CI turn any memory error into a failure.) */
#include <criterion/criterion.h>
#include <string.h>

#include "ranking.h"
#include "ranking.pb-c.h"
#include "rs_arena.h"

static uint32_t
rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t) (*s >> 33);
}

Test(ranking_fuzz, mutated_bodies_never_crash)
{
	rank_state *st;
	rank_config cfg = {.pg_dsn = "host=127.0.0.1 port=1 user=postgres dbname=none",
	                   .workers = 1,
	                   .log_level = RS_LOG_ERROR,
	                   .default_k = 10,
	                   .refresh_ms = 60000,
	                   .pg_timeout_ms = 1000};
	rs_log_init("ranking-fuzz", RS_LOG_ERROR);
	cr_assert_eq(rank_open(&st, &cfg), 0);

	/* A valid request to mutate: 30 candidates with sources, a short history. */
	Rs__RankRequest req = RS__RANK_REQUEST__INIT;
	Rs__Candidate c[30], *cp[30];
	Rs__SourceScore s[30][2], *sp[30][2];
	Rs__HistoryEvent h[5], *hp[5];
	static const char *names[] = {"covisit", "popular", "category", "bought_together", "als"};
	for (int i = 0; i < 30; i++) {
		rs__candidate__init(&c[i]);
		c[i].item_id = 100 + i;
		c[i].score = (float) i;
		c[i].title = "t";
		c[i].category = i % 2 ? "A/B" : "";
		for (int j = 0; j < 2; j++) {
			rs__source_score__init(&s[i][j]);
			s[i][j].source = (char *) names[(i + j) % 5];
			s[i][j].score = (float) (i * j);
			s[i][j].because_item = i % 3 ? 1 + i % 5 : 0;
			sp[i][j] = &s[i][j];
		}
		c[i].sources = sp[i];
		c[i].n_sources = 2;
		cp[i] = &c[i];
	}
	for (int i = 0; i < 5; i++) {
		rs__history_event__init(&h[i]);
		h[i].item_id = 1 + i;
		h[i].type = (Rs__EventType) (1 + i);
		h[i].ts_ms = 1000000 * i;
		hp[i] = &h[i];
	}
	req.user_id = 9;
	req.k = 5;
	req.explain = 1;
	Rs__CandidatesResponse cr = RS__CANDIDATES_RESPONSE__INIT;
	cr.candidates = cp;
	cr.n_candidates = 30;
	req.retrieval = &cr;
	req.recent = hp;
	req.n_recent = 5;
	size_t n = rs__rank_request__get_packed_size(&req);
	uint8_t *valid = malloc(n), *buf = malloc(n + 64);
	rs__rank_request__pack(&req, valid);

	rs_arena *a;
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	rs_rpc_fn fn = NULL;
	for (const rs_rpc_route *r = rank_routes; r->fn != NULL; r++)
		if (r->method == RS__METHOD__METHOD_RANK)
			fn = r->fn;
	cr_assert_not_null(fn);
	uint64_t seed = 42;
	int ok = 0;
	for (int it = 0; it < 5000; it++) {
		size_t len = n;
		memcpy(buf, valid, n);
		switch (rnd(&seed) % 4) {
		case 0: /* flip bytes */
			for (int f = 1 + (int) (rnd(&seed) % 8); f > 0; f--)
				buf[rnd(&seed) % n] = (uint8_t) rnd(&seed);
			break;
		case 1: /* truncate */
			len = rnd(&seed) % n;
			break;
		case 2: /* random bytes */
			len = rnd(&seed) % (n + 64);
			for (size_t i = 0; i < len; i++)
				buf[i] = (uint8_t) rnd(&seed);
			break;
		default: /* the valid one */
			break;
		}
		rs_rpc_call call = {.arena = a,
		                    .method = RS__METHOD__METHOD_RANK,
		                    .body = buf,
		                    .body_len = len,
		                    .request_id = "",
		                    .status = 0};
		fn(st, &call);
		cr_assert(call.status == RS__STATUS__STATUS_OK ||
		                  call.status == RS__STATUS__STATUS_INVALID,
		          "iteration %d: status %d (%s)", it, call.status, call.error);
		ok += call.status == RS__STATUS__STATUS_OK;
		rs_arena_reset(a);
	}
	cr_assert_gt(ok, 1000, "the valid request should pass: %d ok", ok);
	rs_arena_destroy(a);
	free(valid);
	free(buf);
	rank_close(st);
}
