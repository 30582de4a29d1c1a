/* The serving path as the gateway drives it, in one process over the production transport
 * (rs_rpc's plain sockets over tcp, rpc_listen.h):
 * feature (history) -> candidate (with that history) -> ranking (candidates + history),
 * on the same seed data as tests/integration/system_test.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "candidate.h"
#include "candidate.pb-c.h"
#include "feature.h"
#include "feature.pb-c.h"
#include "pg_fixture.h"
#include "ranking.h"
#include "ranking.pb-c.h"
#include "rpc_listen.h"
#include "rs_rpc.h"
#include "rs_time.h"

/* 40 items in two categories, 50 customers: user u viewed (u % 20) + 1 and (u % 20) + 21
 * two days ago and bought (u % 20) + 1 a day ago. */
static const char seed_sql[] =
        "insert into items(item_id, external_id, title, category, brand, price, in_stock)\n"
        "  select i, 'sku-' || i, case when i <= 20 then 'Novel ' else 'Pan ' end || i,\n"
        "         case when i <= 20 then 'Books/Fiction' else 'Home/Kitchen' end, 'Acme',\n"
        "         10 + i, true from generate_series(1, 40) i;\n"
        "insert into users(user_id, external_id, display_name)\n"
        "  select u, 'u' || u, 'Customer ' || u from generate_series(1, 50) u;\n"
        "insert into events(event_id, user_id, item_id, type, ts)\n"
        "  select 'seed-v1-' || u, u, (u % 20) + 1, 1, now() - interval '2 days' from "
        "generate_series(1, 50) u\n"
        "  union all select 'seed-v2-' || u, u, (u % 20) + 21, 1, now() - interval '2 days' from "
        "generate_series(1, 50) u\n"
        "  union all select 'seed-p-' || u, u, (u % 20) + 1, 4, now() - interval '1 day' from "
        "generate_series(1, 50) u;\n";

static fx_pg fx;
static feat_state *feat;
static cand_state *cand;
static rank_state *rank;
static rs_rpc_server *srv[3];
static rs_rpc_client *cli[3];
static rs_arena *arena;

static void
open_pair(int i, const rs_rpc_route *routes, void *st)
{
	cr_assert_eq(rs_rpc_server_open(&srv[i], T_RPC_LISTEN, 2, routes, st), 0);
	cr_assert_eq(rs_rpc_client_open(&cli[i], rs_rpc_server_url(srv[i])), 0);
	for (int t = 0; t < 200 && rs_rpc_client_connected(cli[i]) == 0; t++)
		usleep(5000);
	cr_assert_gt(rs_rpc_client_connected(cli[i]), 0);
}

static void
setup(void)
{
	fx_pg_setup(&fx, "pipe_t");
	fx_sql(&fx, seed_sql);
	rs_log_init("pipeline-test", RS_LOG_WARN);
	feat_config fc = {.pg_dsn = fx.dsn,
	                  .pub_url = "",
	                  .workers = 2,
	                  .max_events = 50,
	                  .history_cap = 200,
	                  .cache_users = 1000,
	                  .cache_ttl_ms = 60000,
	                  .pg_timeout_ms = 1000};
	cand_config cc = {.pg_dsn = fx.dsn,
	                  .workers = 2,
	                  .refresh_ms = 60000,
	                  .default_k = 200,
	                  .window_days = 90,
	                  .max_events = 100000,
	                  .half_life_h = 72,
	                  .covisit_n = 50,
	                  .pg_timeout_ms = 5000};
	rank_config rc = {.pg_dsn = fx.dsn,
	                  .workers = 2,
	                  .default_k = 10,
	                  .refresh_ms = 60000,
	                  .pg_timeout_ms = 5000};
	cr_assert_eq(feat_open(&feat, &fc), 0);
	cr_assert_eq(cand_open(&cand, &cc), 0);
	cr_assert_eq(rank_open(&rank, &rc), 0);
	cr_assert_eq(cand_refresh(cand), 0);
	cr_assert_eq(rank_refresh_catalog(rank), 0);
	open_pair(0, feat_routes, feat);
	open_pair(1, cand_routes, cand);
	open_pair(2, rank_routes, rank);
	cr_assert_eq(rs_arena_create(&arena, 0), 0);
}

static void
teardown(void)
{
	for (int i = 0; i < 3; i++) {
		rs_rpc_client_close(cli[i]);
		rs_rpc_server_close(srv[i]);
	}
	rank_close(rank);
	cand_close(cand);
	feat_close(feat);
	rs_arena_destroy(arena);
	fx_pg_teardown(&fx);
}

TestSuite(pipeline, .init = setup, .fini = teardown, .timeout = 20);

typedef struct rec {
	size_t n;
	int64_t items[50];
	char reasons[50][128];
	char version[64];
} rec;

/* One recommendation the way the gateway makes it. */
static void
recommend(int64_t user, uint32_t k, rec *out)
{
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	Rs__UserFeaturesRequest freq = RS__USER_FEATURES_REQUEST__INIT;
	Rs__UserFeaturesResponse *fresp;
	Rs__CandidatesRequest creq = RS__CANDIDATES_REQUEST__INIT;
	Rs__CandidatesResponse *cresp;
	Rs__RankRequest rreq = RS__RANK_REQUEST__INIT;
	Rs__RankResponse *rresp;
	Rs__Status status;

	rs_arena_reset(arena);
	h.request_id = "pipe";
	h.deadline_unix_ms = rs_now_ms() + 3000;
	freq.header = creq.header = rreq.header = &h;
	freq.user_id = creq.user_id = rreq.user_id = user;
	cr_assert_eq(rs_rpc_request(cli[0], RS__METHOD__METHOD_USER_FEATURES, &freq.base,
	                            &rs__user_features_response__descriptor, 3000, arena,
	                            (void **) &fresp, &status, NULL, 0),
	             0);
	cr_assert_eq(status, RS__STATUS__STATUS_OK);
	creq.recent = rreq.recent = fresp->recent;
	creq.n_recent = rreq.n_recent = fresp->n_recent;
	cr_assert_eq(rs_rpc_request(cli[1], RS__METHOD__METHOD_CANDIDATES, &creq.base,
	                            &rs__candidates_response__descriptor, 3000, arena,
	                            (void **) &cresp, &status, NULL, 0),
	             0);
	cr_assert_eq(status, RS__STATUS__STATUS_OK);
	rreq.retrieval = cresp; /* candidate's answer as it came */
	rreq.k = k;
	cr_assert_eq(rs_rpc_request(cli[2], RS__METHOD__METHOD_RANK, &rreq.base,
	                            &rs__rank_response__descriptor, 3000, arena, (void **) &rresp,
	                            &status, NULL, 0),
	             0);
	cr_assert_eq(status, RS__STATUS__STATUS_OK);
	out->n = rresp->n_items < 50 ? rresp->n_items : 50;
	for (size_t i = 0; i < out->n; i++) {
		out->items[i] = rresp->items[i]->item_id;
		snprintf(out->reasons[i], sizeof(out->reasons[i]), "%s", rresp->items[i]->reason);
	}
	snprintf(out->version, sizeof(out->version), "%s", cresp->header->model_version);
}

static int
position(const rec *r, int64_t item)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->items[i] == item)
			return (int) i;
	return -1;
}

Test(pipeline, purchases_by_many_customers_make_the_top_pick)
{
	rec r;
	recommend(1, 10, &r);
	cr_assert_eq(r.n, 10);
	cr_assert_eq(position(&r, 2), -1, "user 1 bought item 2");
	fx_sql(&fx, "insert into events(event_id, user_id, item_id, type, ts) "
	            "select 'it-buy-' || u, u, 37, 4, now() from generate_series(10, 39) u");
	cr_assert_eq(cand_refresh(cand), 0);
	recommend(1, 10, &r);
	cr_assert_eq(position(&r, 37), 0, "item 37 is at %d", position(&r, 37));
	cr_assert(strlen(r.reasons[0]) > 0);
	recommend(12, 20, &r);
	cr_assert_eq(position(&r, 37), -1, "user 12 bought 37 but is offered it");
}

Test(pipeline, a_new_customers_first_event_changes_the_list)
{
	rec cold, warm;
	recommend(777, 10, &cold);
	cr_assert_eq(cold.n, 10);
	for (size_t i = 0; i < cold.n; i++)
		cr_assert_str_eq(cold.reasons[i], "trending now");
	fx_sql(&fx, "insert into events(event_id, user_id, item_id, type, ts) "
	            "values ('it-new-1', 777, 5, 1, now())");
	recommend(777, 10, &warm);
	cr_assert(memcmp(cold.items, warm.items, sizeof(cold.items[0]) * cold.n) != 0,
	          "the list did not react to the first event");
	/* Item 25 was viewed by everyone who viewed 5. */
	int p = position(&warm, 25);
	cr_assert_geq(p, 0);
	cr_assert_str_eq(warm.reasons[p], "because you viewed Novel 5");
}

Test(pipeline, latency_of_the_three_hops)
{
	rec r;
	const int n = 200;
	double t0 = rs_mono_ms();
	for (int i = 0; i < n; i++)
		recommend(1 + i % 50, 10, &r);
	double per = (rs_mono_ms() - t0) / n;
	fprintf(stderr, "pipeline: %.3f ms per recommendation (feature+candidate+ranking, tcp)\n",
	        per);
	cr_assert_lt(per, 50.0);
}
