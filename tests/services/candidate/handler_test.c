/* rs-candidate handlers over the production transport (tcp, rs_rpc_sp) against a real PostgreSQL
 * schema (pg_fixture.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "candidate.h"
#include "candidate.pb-c.h"
#include "common.pb-c.h"
#include "pg_fixture.h"
#include "rpc_raw.h"
#include "rs_err.h"
#include "rpc_listen.h"
#include "rs_rpc.h"
#include "rs_time.h"

static fx_pg fx;
static cand_state *st;
static rs_rpc_server *srv;
static rs_rpc_client *cli;
static rs_arena *arena;
static char url[64];

/* Popularity (weights view 1, click 2, cart 4, purchase 8; all about an hour old):
 *   3 Frying Pan 5 purchases = 40; 6 Sharpener 3 views + 3 purchases = 27;
 *   1 Knife 3 views + 2 purchases = 19; 7 Espresso 3 carts = 12; 2 Board 10 views = 10.
 * Co-visitation: users 40..42 viewed Knife (1) then Sharpener (6); users 40, 41 bought both. */
static const char seed_sql[] =
        "insert into items(item_id, title, category, price, in_stock) values\n"
        "  (1, 'Chef Knife', 'Home/Kitchen/Knives', 50, true),\n"
        "  (2, 'Cutting Board', 'Home/Kitchen', 20, true),\n"
        "  (3, 'Frying Pan', 'Home/Kitchen', 35, true),\n"
        "  (4, 'Space Novel', 'Books/Fiction', 12, true),\n"
        "  (5, 'Cookbook', 'Books/Cooking', 25, true),\n"
        "  (6, 'Knife Sharpener', 'Home/Kitchen/Knives', 15, false),\n"
        "  (7, 'Espresso Machine', 'Home/Kitchen', 300, true),\n"
        "  (8, 'Mystery Novel', 'Books/Fiction', 10, true),\n"
        "  (9, 'Homeware Vase', 'Homeware', 5, true);\n"
        "insert into events(event_id, user_id, item_id, type, ts)\n"
        "  select 'p3-' || u, u, 3, 4, now() - interval '1 hour' from generate_series(20, 24) u\n"
        "  union all select 'c7-' || u, u, 7, 3, now() - interval '1 hour' from "
        "generate_series(25, 27) u\n"
        "  union all select 'v2-' || u, u, 2, 1, now() - interval '1 hour' from "
        "generate_series(30, 39) u\n"
        "  union all select 'v1-' || u, u, 1, 1, now() - interval '70 minutes' from "
        "generate_series(40, 42) u\n"
        "  union all select 'v6-' || u, u, 6, 1, now() - interval '65 minutes' from "
        "generate_series(40, 42) u\n"
        "  union all select 'b1-' || u, u, 1, 4, now() - interval '60 minutes' from "
        "generate_series(40, 41) u\n"
        "  union all select 'b6-' || u, u, 6, 4, now() - interval '60 minutes' from "
        "generate_series(40, 42) u\n"
        "  union all select 'v4-' || u, u, 4, 2, now() - interval '1 hour' from "
        "generate_series(50, 51) u\n"
        "  union all select 'v8-50', 50, 8, 1, now() - interval '2 hours'\n"
        "  union all select 'v9-60', 60, 9, 1, now() - interval '1 hour';\n";

static void
start_every(const char *dsn, int refresh_ms)
{
	cand_config cfg = {
	        .pg_dsn = dsn,
	        .url = url,
	        .workers = 2,
	        .log_level = RS_LOG_WARN,
	        .refresh_ms = refresh_ms,
	        .default_k = 200,
	        .window_days = 90,
	        .max_events = 100000,
	        .half_life_h = 72,
	        .covisit_n = 50,
	        .pg_timeout_ms = 5000,
	};
	snprintf(url, sizeof(url), "%s", T_RPC_LISTEN);
	rs_log_init("candidate-test", RS_LOG_WARN);
	cr_assert_eq(cand_open(&st, &cfg), 0);
	cr_assert_eq(rs_rpc_server_open(&srv, url, 2, cand_routes, st), 0);
	snprintf(url, sizeof(url), "%s", rs_rpc_server_url(srv));
	cr_assert_eq(rs_rpc_client_open(&cli, url), 0);
	for (int i = 0; i < 200 && rs_rpc_client_connected(cli) == 0; i++)
		usleep(5000);
	cr_assert_gt(rs_rpc_client_connected(cli), 0);
	cr_assert_eq(rs_arena_create(&arena, 0), 0);
}

static void
start(const char *dsn)
{
	start_every(dsn, 60000); /* tests refresh explicitly */
}

static void
setup(void)
{
	fx_pg_setup(&fx, "cand_t");
	fx_sql(&fx, seed_sql);
}

static void
teardown(void)
{
	rs_rpc_client_close(cli);
	rs_rpc_server_close(srv);
	cand_close(st);
	rs_arena_destroy(arena);
	fx_pg_teardown(&fx);
}

TestSuite(candidate, .init = setup, .fini = teardown, .timeout = 20);

static Rs__HistoryEvent hist_ev[8];
static Rs__HistoryEvent *hist_ptr[8];

/* History newest first: viewed the knife (1), bought the cookbook (5), not interested in the
 * space novel (4). */
static void
user_history(Rs__CandidatesRequest *req)
{
	int64_t now = rs_now_ms();
	struct {
		int64_t item;
		Rs__EventType type;
		int64_t age_ms;
	} h[] = {{1, RS__EVENT_TYPE__EVENT_VIEW, 60000},
	         {5, RS__EVENT_TYPE__EVENT_PURCHASE, 120000},
	         {4, RS__EVENT_TYPE__EVENT_NOT_INTERESTED, 180000}};
	for (size_t i = 0; i < 3; i++) {
		rs__history_event__init(&hist_ev[i]);
		hist_ev[i].item_id = h[i].item;
		hist_ev[i].type = h[i].type;
		hist_ev[i].ts_ms = now - h[i].age_ms;
		hist_ptr[i] = &hist_ev[i];
	}
	req->recent = hist_ptr;
	req->n_recent = 3;
}

static int
call(Rs__Method m, const ProtobufCMessage *req, Rs__CandidatesResponse **out)
{
	Rs__Status status;
	char err[256];
	int rv = rs_rpc_request(cli, m, req, &rs__candidates_response__descriptor, 2000, arena,
	                        (void **) out, &status, err, sizeof(err));
	return rv != 0 ? -1000 + rv : (int) status;
}

static int
candidates(Rs__CandidatesRequest *req, Rs__CandidatesResponse **out)
{
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	h.request_id = "t";
	h.deadline_unix_ms = rs_now_ms() + 2000;
	req->header = &h;
	return call(RS__METHOD__METHOD_CANDIDATES, &req->base, out);
}

static const Rs__Candidate *
find(const Rs__CandidatesResponse *r, int64_t item)
{
	for (size_t i = 0; i < r->n_candidates; i++)
		if (r->candidates[i]->item_id == item)
			return r->candidates[i];
	return NULL;
}

static const Rs__SourceScore *
source(const Rs__Candidate *c, const char *name)
{
	for (size_t i = 0; c != NULL && i < c->n_sources; i++)
		if (strcmp(c->sources[i]->source, name) == 0)
			return c->sources[i];
	return NULL;
}

Test(candidate, popular_order_follows_weighted_counts_for_a_new_user)
{
	Rs__CandidatesRequest req = RS__CANDIDATES_REQUEST__INIT;
	Rs__CandidatesResponse *r;
	start(fx.dsn);
	cr_assert_eq(cand_refresh(st), 0);
	req.user_id = 1000;
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_neq(r->header->model_version, "");
	cr_assert(strncmp(r->header->model_version, "live-pop-", 9) == 0, "%s",
	          r->header->model_version);
	cr_assert_geq(r->n_candidates, 5);
	cr_assert_eq(r->candidates[0]->item_id, 3);
	cr_assert_eq(r->candidates[1]->item_id, 6);
	cr_assert_eq(r->candidates[2]->item_id, 1);
	cr_assert_eq(r->candidates[3]->item_id, 7);
	cr_assert_eq(r->candidates[4]->item_id, 2);
	const Rs__SourceScore *p = source(r->candidates[0], "popular");
	cr_assert_not_null(p);
	cr_assert_eq(p->rank, 1);
	cr_assert_float_eq(p->score, 40.0f, 0.1f);
	cr_assert_str_eq(r->candidates[0]->title, "Frying Pan");
	cr_assert_str_eq(r->candidates[0]->category, "Home/Kitchen");
	cr_assert_float_eq(r->candidates[0]->price, 35.0, 1e-9);
	for (size_t i = 1; i < r->n_candidates; i++)
		cr_assert_geq(r->candidates[i - 1]->score, r->candidates[i]->score);
}

Test(candidate, history_gives_covisit_with_because_item_and_exclusions)
{
	Rs__CandidatesRequest req = RS__CANDIDATES_REQUEST__INIT;
	Rs__CandidatesResponse *r;
	start(fx.dsn);
	cr_assert_eq(cand_refresh(st), 0);
	req.user_id = 7;
	user_history(&req);
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	const Rs__Candidate *sharpener = find(r, 6);
	cr_assert_not_null(sharpener, "the knife's co-visited sharpener is missing");
	const Rs__SourceScore *cv = source(sharpener, "covisit");
	cr_assert_not_null(cv);
	cr_assert_eq(cv->because_item, 1);
	cr_assert_eq(cv->rank, 1);
	const Rs__SourceScore *bt = source(sharpener, "bought_together");
	cr_assert_not_null(bt, "users 40 and 41 bought knife and sharpener together");
	cr_assert_eq(bt->because_item, 1);
	cr_assert_eq(r->candidates[0]->item_id, 6, "co-visitation leads for a user with history");
	/* Category source: the knife's category. */
	cr_assert_not_null(source(sharpener, "category"));
	/* Purchased (5) and not_interested (4) items never come back. */
	cr_assert_null(find(r, 5));
	cr_assert_null(find(r, 4));
	/* A viewed (not bought) item may. */
	cr_assert_not_null(find(r, 3));
}

Test(candidate, filters_category_price_stock_and_exclude_list)
{
	Rs__CandidatesRequest req = RS__CANDIDATES_REQUEST__INIT;
	Rs__CandidateFilter f = RS__CANDIDATE_FILTER__INIT;
	Rs__CandidatesResponse *r;
	int64_t excl[] = {2};
	start(fx.dsn);
	cr_assert_eq(cand_refresh(st), 0);
	req.user_id = 7;
	user_history(&req);
	req.filter = &f;

	f.category = "Home";
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_gt(r->n_candidates, 0);
	for (size_t i = 0; i < r->n_candidates; i++)
		cr_assert(strncmp(r->candidates[i]->category, "Home/", 5) == 0,
		          "item %lld in %s passed the Home filter",
		          (long long) r->candidates[i]->item_id, r->candidates[i]->category);
	cr_assert_null(find(r, 9), "'Homeware' is not under 'Home'");

	f.category = "";
	f.max_price = 30;
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_gt(r->n_candidates, 0);
	for (size_t i = 0; i < r->n_candidates; i++)
		cr_assert_leq(r->candidates[i]->price, 30.0);
	cr_assert_null(find(r, 3)); /* 35 */

	f.max_price = 0;
	f.min_price = 30;
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	for (size_t i = 0; i < r->n_candidates; i++)
		cr_assert_geq(r->candidates[i]->price, 30.0);

	f.min_price = 0;
	f.in_stock_only = 1;
	f.exclude_items = excl;
	f.n_exclude_items = 1;
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_null(find(r, 6), "the sharpener is out of stock");
	cr_assert_null(find(r, 2), "item 2 is on the exclude list");
	cr_assert_not_null(find(r, 3));
}

Test(candidate, k_bounds_the_answer)
{
	Rs__CandidatesRequest req = RS__CANDIDATES_REQUEST__INIT;
	Rs__CandidatesResponse *r;
	start(fx.dsn);
	cr_assert_eq(cand_refresh(st), 0);
	req.user_id = 7;
	req.k = 2;
	user_history(&req);
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_candidates, 2);
}

Test(candidate, refresh_picks_up_new_events)
{
	Rs__CandidatesRequest req = RS__CANDIDATES_REQUEST__INIT;
	Rs__CandidatesResponse *r;
	start(fx.dsn);
	cr_assert_eq(cand_refresh(st), 0);
	req.user_id = 1000;
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->candidates[0]->item_id, 3);
	fx_sql(&fx, "insert into events(event_id, user_id, item_id, type, ts) "
	            "select 'p8-' || u, u, 8, 4, now() from generate_series(100, 109) u");
	cr_assert_eq(cand_refresh(st), 0);
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->candidates[0]->item_id, 8, "10 fresh purchases should lead");
	/* Unchanged data keeps the snapshot, and with it the version. */
	char v[64];
	snprintf(v, sizeof(v), "%s", r->header->model_version);
	cr_assert_eq(cand_refresh(st), 0);
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, v);
}

static int
similar(int64_t item, uint32_t k, Rs__CandidatesResponse **out)
{
	Rs__SimilarRequest req = RS__SIMILAR_REQUEST__INIT;
	req.item_id = item;
	req.k = k;
	return call(RS__METHOD__METHOD_SIMILAR, &req.base, out);
}

Test(candidate, similar_items_from_covisit_then_category)
{
	Rs__CandidatesResponse *r;
	start(fx.dsn);
	cr_assert_eq(cand_refresh(st), 0);
	cr_assert_eq(similar(1, 10, &r), RS__STATUS__STATUS_OK);
	cr_assert_gt(r->n_candidates, 0);
	cr_assert_eq(r->candidates[0]->item_id, 6);
	cr_assert_eq(source(r->candidates[0], "covisit")->because_item, 1);
	cr_assert_null(find(r, 1), "an item is not similar to itself");
	/* No co-visitation for the mystery novel: its category's popular items. */
	cr_assert_eq(similar(8, 10, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_candidates, 1);
	cr_assert_eq(r->candidates[0]->item_id, 4);
	cr_assert_not_null(source(r->candidates[0], "category"));
	cr_assert_eq(similar(999, 10, &r), RS__STATUS__STATUS_NOT_FOUND);
	cr_assert_eq(similar(0, 10, &r), RS__STATUS__STATUS_INVALID);
	cr_assert_eq(similar(1, CAND_MAX_K + 1, &r), RS__STATUS__STATUS_INVALID);
}

Test(candidate, bad_requests_are_invalid)
{
	Rs__CandidatesRequest req = RS__CANDIDATES_REQUEST__INIT;
	Rs__CandidateFilter f = RS__CANDIDATE_FILTER__INIT;
	Rs__CandidatesResponse *r;
	start(fx.dsn);
	cr_assert_eq(cand_refresh(st), 0);
	cr_assert_eq(rpc_raw_call(url, RS__METHOD__METHOD_CANDIDATES,
	                          (const uint8_t *) "\x22\x05\x01", 3),
	             RS__STATUS__STATUS_INVALID);
	cr_assert_eq(rpc_raw_call(url, RS__METHOD__METHOD_SIMILAR, (const uint8_t *) "\xff", 1),
	             RS__STATUS__STATUS_INVALID);
	req.k = CAND_MAX_K + 1;
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_INVALID);
	req.k = 10;
	req.user_id = -1;
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_INVALID);
	req.user_id = 1;
	req.filter = &f;
	f.min_price = 50;
	f.max_price = 10;
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_INVALID);
	f.min_price = -1;
	f.max_price = 0;
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_INVALID);
	f.min_price = NAN;
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_INVALID);
	req.filter = NULL;
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
}

static int
health(int *ready)
{
	Rs__HealthRequest req = RS__HEALTH_REQUEST__INIT;
	Rs__HealthResponse *resp;
	Rs__Status status;
	int rv = rs_rpc_request(cli, RS__METHOD__METHOD_HEALTH, &req.base,
	                        &rs__health_response__descriptor, 1000, arena, (void **) &resp,
	                        &status, NULL, 0);
	if (rv == 0)
		*ready = resp->ready;
	return rv != 0 ? rv : (int) status;
}

Test(candidate, ready_after_first_refresh_unavailable_without_data)
{
	Rs__CandidatesRequest req = RS__CANDIDATES_REQUEST__INIT;
	Rs__CandidatesResponse *r;
	int ready = -1;
	start("host=127.0.0.1 port=1 user=postgres dbname=none");
	cr_assert_eq(cand_refresh(st), RS_EUNAVAIL);
	cr_assert_eq(health(&ready), 0);
	cr_assert_eq(ready, 0);
	req.user_id = 1;
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_UNAVAILABLE);
}

Test(candidate, ready_when_data_loaded)
{
	int ready = -1;
	start(fx.dsn);
	cr_assert_eq(cand_refresh(st), 0);
	cr_assert_eq(health(&ready), 0);
	cr_assert_eq(ready, 1);
}

Test(candidate, serves_the_last_snapshot_while_the_database_is_gone_then_reconnects)
{
	Rs__CandidatesRequest req = RS__CANDIDATES_REQUEST__INIT;
	Rs__CandidatesResponse *r;
	char dsn[1200], sql[200], version[64];
	snprintf(dsn, sizeof(dsn), "%s application_name=cand_t_%d", fx.dsn, (int) getpid());
	start(dsn);
	/* Let the background thread's first refresh finish: it then sleeps for refresh_ms. */
	for (int i = 0; i < 200 && rs_metric_count(st->cs_refresh_ok) == 0; i++)
		usleep(10 * 1000);
	cr_assert_eq(rs_metric_count(st->cs_refresh_ok), 1);
	cr_assert_eq(cand_refresh(st), 0);
	req.user_id = 1000;
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	snprintf(version, sizeof(version), "%s", r->header->model_version);
	/* with a timeout, pg_terminate_backend waits until the backend is gone (without one it
	 * only signals it, and a statement sent at once may still be answered) */
	snprintf(sql, sizeof(sql),
	         "select pg_terminate_backend(pid, 10000) from pg_stat_activity "
	         "where application_name = 'cand_t_%d'",
	         (int) getpid());
	fx_sql(&fx, sql);
	fx_sql(&fx, "insert into events(event_id, user_id, item_id, type, ts) "
	            "select 'p8-' || u, u, 8, 4, now() from generate_series(100, 109) u");
	/* Until a refresh succeeds the old snapshot serves. The first refresh either sends its
	 * query on the dead connection and fails (the next one reconnects), or reconnects at once:
	 * the background thread waits for notifications on that connection's socket, and when it
	 * has read the server's goodbye first, libpq already calls the connection bad. */
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, version, "the old snapshot keeps serving");
	cr_assert_eq(r->candidates[0]->item_id, 3);
	if (cand_refresh(st) != 0) {
		cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
		cr_assert_str_eq(r->header->model_version, version,
		                 "the old snapshot keeps serving");
		cr_assert_eq(r->candidates[0]->item_id, 3);
		cr_assert_eq(cand_refresh(st), 0, "the next refresh reconnects");
	}
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->candidates[0]->item_id, 8);
}

static double
checked_at(void)
{
	pthread_mutex_lock(&st->cs_refresh_mu);
	double t = st->cs_events_checked_ms;
	pthread_mutex_unlock(&st->cs_refresh_mu);
	return t;
}

Test(candidate, background_refresh_scans_only_after_writes)
{
	Rs__CandidatesRequest req = RS__CANDIDATES_REQUEST__INIT;
	Rs__CandidatesResponse *r;
	start_every(fx.dsn, 50);
	for (int i = 0; i < 200 && rs_metric_count(st->cs_refresh_ok) == 0; i++)
		usleep(10 * 1000);
	req.user_id = 1000;
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->candidates[0]->item_id, 3);
	/* Once the seed's write counters have settled, checks every 50 ms scan no events: the
	 * last scan's time stands still for 600 ms. */
	fx_sql(&fx, "select pg_stat_force_next_flush()");
	int quiet = 0;
	for (int i = 0; i < 30 && !quiet; i++) {
		double t = checked_at();
		usleep(600 * 1000);
		quiet = checked_at() == t;
	}
	cr_assert(quiet, "the background loop kept scanning with nothing written");
	/* A backend publishes its write counts within 1-10 s of a commit; this one at once. */
	fx_sql(&fx, "insert into events(event_id, user_id, item_id, type, ts) "
	            "select 'p8-' || u, u, 8, 4, now() from generate_series(100, 109) u; "
	            "select pg_stat_force_next_flush()");
	int seen = 0;
	for (int i = 0; i < 100 && !seen; i++) {
		usleep(50 * 1000);
		cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
		seen = r->candidates[0]->item_id == 8;
	}
	cr_assert(seen, "10 fresh purchases did not reach the snapshot within 5 s");
	/* The catalog is read on every check: a new item in a category shows up at once, with no
	 * counters involved. */
	fx_sql(&fx,
	       "insert into items(item_id, title, category) values (77, 'New', 'Books/Fiction')");
	Rs__SimilarRequest sreq = RS__SIMILAR_REQUEST__INIT;
	sreq.item_id = 77;
	sreq.k = 10;
	int found = 0;
	for (int i = 0; i < 100 && !found; i++) {
		usleep(20 * 1000);
		found = call(RS__METHOD__METHOD_SIMILAR, &sreq.base, &r) == RS__STATUS__STATUS_OK;
	}
	cr_assert(found, "a new catalog item did not reach the snapshot within 2 s");
}

Test(candidate, purchases_older_than_the_request_history_are_excluded_too)
{
	Rs__CandidatesRequest req = RS__CANDIDATES_REQUEST__INIT;
	Rs__CandidatesResponse *r;
	start(fx.dsn);
	fx_sql(&fx, "insert into events(event_id, user_id, item_id, type, ts) "
	            "values ('ni-50', 50, 3, 6, now() - interval '1 hour')");
	cr_assert_eq(cand_refresh(st), 0);
	/* User 40 bought the knife (1) and the sharpener (6); the request carries no history. */
	req.user_id = 40;
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_gt(r->n_candidates, 0);
	cr_assert_null(find(r, 1));
	cr_assert_null(find(r, 6));
	cr_assert_not_null(find(r, 3));
	/* User 50 said not_interested to the pan (3); others still get it. */
	req.user_id = 50;
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_null(find(r, 3));
	cr_assert_not_null(find(r, 6));
	req.user_id = 0; /* anonymous */
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_not_null(find(r, 3));
}
