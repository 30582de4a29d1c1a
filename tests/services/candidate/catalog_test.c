/* rs-candidate and the catalog: changes applied to the snapshot on NOTIFY catalog (and by the
 * periodic check when a change slipped past the time-based read), withdrawn items absent from
 * every path, the filtered report against an independent count, the bought_together mode and
 * popular by category. Over inproc:// against a real PostgreSQL schema (pg_fixture.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "candidate.h"
#include "candidate.pb-c.h"
#include "pg_fixture.h"
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

/* The handler suite's shop: popularity 3 > 6 > 1 > 7 > 2 > 4 > 8, 9; users 40..42 viewed the
 * knife (1) then the sharpener (6), users 40 and 41 bought both, 42 bought the sharpener. */
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
setup(void)
{
	fx_pg_setup(&fx, "cand_c");
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

TestSuite(cand_catalog, .init = setup, .fini = teardown, .timeout = 30);

/* The periodic check every minute: within a test only NOTIFY (or an explicit call) brings a
 * catalog change. */
static void
start(void)
{
	cand_config cfg = {
	        .pg_dsn = fx.dsn,
	        .url = url,
	        .workers = 2,
	        .log_level = RS_LOG_WARN,
	        .refresh_ms = 60000,
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
	/* the background thread's first build, then it listens */
	for (int i = 0; i < 300 && rs_metric_count(st->cs_refresh_ok) == 0; i++)
		usleep(10 * 1000);
	cr_assert_gt(rs_metric_count(st->cs_refresh_ok), 0);
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

static Rs__HistoryEvent hist_ev[8];
static Rs__HistoryEvent *hist_ptr[8];

/* user 40 as the feature service would send them: viewed the knife (1), bought the cookbook
 * (5), not interested in the space novel (4) */
static void
user40(Rs__CandidatesRequest *req)
{
	struct {
		int64_t item;
		Rs__EventType type;
	} h[] = {{1, RS__EVENT_TYPE__EVENT_VIEW},
	         {5, RS__EVENT_TYPE__EVENT_PURCHASE},
	         {4, RS__EVENT_TYPE__EVENT_NOT_INTERESTED}};
	rs__candidates_request__init(req);
	for (size_t i = 0; i < 3; i++) {
		rs__history_event__init(&hist_ev[i]);
		hist_ev[i].item_id = h[i].item;
		hist_ev[i].type = h[i].type;
		hist_ev[i].ts_ms = rs_now_ms() - 60000 * (int64_t) (i + 1);
		hist_ptr[i] = &hist_ev[i];
	}
	req->user_id = 40;
	req->recent = hist_ptr;
	req->n_recent = 3;
}

static int
candidates(Rs__CandidatesRequest *req, Rs__CandidatesResponse **out)
{
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	h.request_id = "c";
	h.deadline_unix_ms = rs_now_ms() + 2000;
	req->header = &h;
	return call(RS__METHOD__METHOD_CANDIDATES, &req->base, out);
}

static int
similar(int64_t item, const char *mode, Rs__CandidatesResponse **out)
{
	Rs__SimilarRequest req = RS__SIMILAR_REQUEST__INIT;
	req.item_id = item;
	req.k = 50;
	req.mode = (char *) mode;
	return call(RS__METHOD__METHOD_SIMILAR, &req.base, out);
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

/* Polls until item's state in user 0's popular list is `present` (1/0), at most 1 s; the ms it
 * took, or -1. */
static double
wait_popular(int64_t item, int present)
{
	double t0 = rs_mono_ms();
	while (rs_mono_ms() - t0 < 1000) {
		Rs__CandidatesRequest req = RS__CANDIDATES_REQUEST__INIT;
		Rs__CandidatesResponse *r;
		cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
		if ((find(r, item) != NULL) == present)
			return rs_mono_ms() - t0;
		usleep(2000);
	}
	return -1;
}

/* When the last snapshot was built: the refresher thread writes it under cs_refresh_mu. */
static double
built_at(void)
{
	pthread_mutex_lock(&st->cs_refresh_mu);
	double v = st->cs_built_at_ms;
	pthread_mutex_unlock(&st->cs_refresh_mu);
	return v;
}

Test(cand_catalog, a_withdrawn_item_leaves_every_path_on_notify)
{
	Rs__CandidatesRequest req;
	Rs__CandidatesResponse *r;
	start();
	double built = built_at();
	/* before: the sharpener (6) is everywhere */
	rs__candidates_request__init(&req);
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_not_null(find(r, 6));
	cr_assert_eq(similar(1, "", &r), RS__STATUS__STATUS_OK);
	cr_assert_not_null(find(r, 6));

	fx_sql(&fx, "update items set available = false where item_id = 6");
	double ms = wait_popular(6, 0);
	cr_assert_geq(ms, 0, "the withdrawal did not reach the snapshot within 1 s");
	fprintf(stderr, "catalog_test: withdrawal visible after %.1f ms (NOTIFY -> apply)\n", ms);
	cr_assert_eq(built_at(), built, "a withdrawal must not rebuild co-visitation");

	/* popular for anonymous users, with and without a category */
	rs__candidates_request__init(&req);
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_gt(r->n_candidates, 3);
	cr_assert_null(find(r, 6));
	Rs__CandidateFilter f = RS__CANDIDATE_FILTER__INIT;
	f.category = "Home/Kitchen/Knives";
	req.filter = &f;
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_candidates, 1);
	cr_assert_eq(r->candidates[0]->item_id, 1);
	/* a user with history: covisit, bought_together, category and popular all skip it */
	user40(&req);
	req.user_id = 7; /* no purchases of their own in the window */
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_gt(r->n_candidates, 0);
	cr_assert_null(find(r, 6));
	/* similar and bought-together lists */
	cr_assert_eq(similar(1, "", &r), RS__STATUS__STATUS_OK);
	cr_assert_null(find(r, 6));
	cr_assert_eq(similar(1, "bought_together", &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_candidates, 0);
	/* its own similar list still answers (an item page of a withdrawn item) */
	cr_assert_eq(similar(6, "", &r), RS__STATUS__STATUS_OK);
	cr_assert_not_null(find(r, 1));

	/* back on sale: it returns, again without a rebuild */
	fx_sql(&fx, "update items set available = true where item_id = 6");
	cr_assert_geq(wait_popular(6, 1), 0);
	cr_assert_eq(built_at(), built);
}

Test(cand_catalog, a_new_item_and_a_new_price_show_within_a_second)
{
	Rs__CandidatesRequest req;
	Rs__CandidatesResponse *r;
	start();
	double t0 = rs_mono_ms(), seen_item = -1, seen_price = -1;
	fx_sql(&fx, "insert into items(item_id, title, category, price) "
	            "values (77, 'Bread Knife', 'Home/Kitchen/Knives', 30);"
	            "update items set price = 33.5 where item_id = 3");
	while (rs_mono_ms() - t0 < 1000 && (seen_item < 0 || seen_price < 0)) {
		if (seen_item < 0 && similar(1, "", &r) == RS__STATUS__STATUS_OK &&
		    find(r, 77) != NULL)
			seen_item = rs_mono_ms() - t0;
		rs__candidates_request__init(&req);
		cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
		if (seen_price < 0 && find(r, 3) != NULL && find(r, 3)->price == 33.5)
			seen_price = rs_mono_ms() - t0;
		usleep(2000);
	}
	fprintf(stderr,
	        "catalog_test: new item in similar after %.1f ms, new price in candidates after "
	        "%.1f ms\n",
	        seen_item, seen_price);
	cr_assert_geq(seen_item, 0, "the new item is not a similar item of its category peer");
	cr_assert_geq(seen_price, 0, "the new price did not show within 1 s");
	/* the new item has its category's peers at once, and carries its metadata */
	cr_assert_eq(similar(77, "", &r), RS__STATUS__STATUS_OK);
	cr_assert_not_null(find(r, 1));
	cr_assert_eq(similar(1, "", &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(find(r, 77)->title, "Bread Knife");
	cr_assert_float_eq(find(r, 77)->price, 30.0, 1e-9);
	cr_assert_not_null(source(find(r, 77), "category"));
}

Test(cand_catalog, the_periodic_check_finds_changes_the_notify_missed)
{
	Rs__CandidatesResponse *r;
	start();
	/* A writer whose change carries an old updated_at and sends no notification (what a
	 * transaction slower than the read margin looks like), and a deleted row. */
	fx_sql(&fx, "alter table items disable trigger user;"
	            "update items set price = 99, updated_at = now() - interval '1 hour' "
	            "where item_id = 2;"
	            "delete from items where item_id = 8;"
	            "alter table items enable trigger user");
	usleep(100 * 1000);
	cr_assert_eq(similar(3, "", &r), RS__STATUS__STATUS_OK);
	cr_assert_float_eq(find(r, 2)->price, 20.0, 1e-9, "nothing told the service yet");
	cr_assert_eq(cand_catalog_sync(st, 0), 0);
	cr_assert_eq(similar(3, "", &r), RS__STATUS__STATUS_OK);
	cr_assert_float_eq(find(r, 2)->price, 20.0, 1e-9, "the time-based read cannot see it");
	cr_assert_eq(cand_refresh(st), 0); /* what the periodic check runs */
	cr_assert_eq(similar(3, "", &r), RS__STATUS__STATUS_OK);
	cr_assert_float_eq(find(r, 2)->price, 99.0, 1e-9);
	cand_snap *s = cand_current(st);
	int64_t i8 = cand_snap_find(s, 8);
	cr_assert_geq(i8, 0, "events still name item 8");
	cr_assert_str_eq(s->items[i8].title, "", "the deleted row's metadata is gone");
	cr_assert_eq(s->items[i8].in_catalog, 0);
	cr_assert_eq(s->cat_count, 8);
	cand_snap_unref(s);
}

Test(cand_catalog, bought_together_mode_returns_only_bought_together_neighbours)
{
	Rs__CandidatesResponse *r;
	start();
	cr_assert_eq(similar(1, "bought_together", &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_candidates, 1);
	cr_assert_eq(r->candidates[0]->item_id, 6);
	cr_assert_eq(r->candidates[0]->n_sources, 1);
	cr_assert_str_eq(r->candidates[0]->sources[0]->source, "bought_together");
	cr_assert_eq(r->candidates[0]->sources[0]->because_item, 1);
	/* the plain similar list has more: category peers, co-visitation */
	cr_assert_eq(similar(1, "", &r), RS__STATUS__STATUS_OK);
	cr_assert_not_null(source(find(r, 6), "covisit"));
	/* the board was only viewed: nothing bought with it */
	cr_assert_eq(similar(2, "bought_together", &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_candidates, 0);
	cr_assert_eq(similar(1, "cheapest", &r), RS__STATUS__STATUS_INVALID);
	cr_assert_eq(similar(999, "bought_together", &r), RS__STATUS__STATUS_NOT_FOUND);
}

Test(cand_catalog, popular_by_category_is_the_popular_list_under_that_path)
{
	Rs__CandidatesRequest req;
	Rs__CandidatesResponse *all, *home;
	Rs__CandidateFilter f = RS__CANDIDATE_FILTER__INIT;
	start();
	rs__candidates_request__init(&req);
	cr_assert_eq(candidates(&req, &all), RS__STATUS__STATUS_OK);
	f.category = "Home";
	req.filter = &f;
	cr_assert_eq(candidates(&req, &home), RS__STATUS__STATUS_OK);
	/* independently: the global list, kept where the category is Home or below it */
	size_t j = 0;
	for (size_t i = 0; i < all->n_candidates; i++) {
		const char *c = all->candidates[i]->category;
		if (strcmp(c, "Home") != 0 && strncmp(c, "Home/", 5) != 0)
			continue;
		cr_assert_lt(j, home->n_candidates);
		cr_assert_eq(home->candidates[j]->item_id, all->candidates[i]->item_id,
		             "position %zu", j);
		j++;
	}
	cr_assert_eq(j, home->n_candidates);
	cr_assert_eq(j, 5); /* 3, 6, 1, 7, 2; never the Homeware vase */
	cr_assert_null(find(home, 9));
}

/* Count of rows of a one-column query. */
static long
sql_long(const char *sql)
{
	PGresult *res = PQexec(fx.conn, sql);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(res));
	long v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

/* The ids of a query, ascending, as "1,5,6". */
static void
sql_ids(const char *sql, char *out, size_t n)
{
	PGresult *res = PQexec(fx.conn, sql);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(res));
	size_t len = 0;
	out[0] = '\0';
	for (int i = 0; i < PQntuples(res); i++)
		len += (size_t) snprintf(out + len, n - len, "%s%s", i ? "," : "",
		                         PQgetvalue(res, i, 0));
	PQclear(res);
}

static const Rs__FilterCount *
filtered(const Rs__CandidatesResponse *r, const char *reason)
{
	for (size_t i = 0; i < r->n_filtered; i++)
		if (strcmp(r->filtered[i]->reason, reason) == 0)
			return r->filtered[i];
	return NULL;
}

static void
ids_text(const Rs__FilterCount *fc, char *out, size_t n)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; fc != NULL && i < fc->n_items; i++)
		len += (size_t) snprintf(out + len, n - len, "%s%lld", i ? "," : "",
		                         (long long) fc->items[i]);
}

Test(cand_catalog, filtered_counts_equal_an_independent_count)
{
	Rs__CandidatesRequest req;
	Rs__CandidatesResponse *r;
	Rs__CandidateFilter f = RS__CANDIDATE_FILTER__INIT;
	int64_t excl[] = {2, 999};
	start();
	fx_sql(&fx, "update items set available = false where item_id in (3, 6)");
	cr_assert_geq(wait_popular(3, 0), 0);
	user40(&req);
	req.k = 200; /* every source reads its whole list */
	f.exclude_items = excl;
	f.n_exclude_items = 2;
	req.filter = &f;
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);

	/* Independently, from the tables: the items a source reaches with k = 200 are every item
	 * with a positive-weight event in the window (popular, co-visitation) and every item of
	 * a seed's category (seeds: the viewed knife 1 and the bought cookbook 5). Each is
	 * counted under its first reason: purchased, not_interested, excluded, unavailable. */
	static const char reached[] =
	        "(select item_id from events where type between 1 and 4 union "
	        "select item_id from items where category in (select category from items where "
	        "item_id in (1, 5)))";
	static const char bought[] =
	        "(select item_id from events where user_id = 40 and type = 4 union select 5)";
	static const char dismissed[] =
	        "(select item_id from events where user_id = 40 and type = 6 union select 4)";
	char sql[1024], want[256], got[256];
	const struct {
		const char *reason, *set;
	} reasons[] = {
	        {"purchased", bought},
	        {"not_interested", dismissed},
	        {"excluded", "(select 2 union select 999)"},
	        {"unavailable", "(select item_id from items where not available)"},
	};
	char earlier[600] = "(select 0)";
	for (size_t i = 0; i < 4; i++) {
		snprintf(sql, sizeof(sql),
		         "select item_id from %s x where item_id in %s and item_id not in %s "
		         "order by 1",
		         reached, reasons[i].set, earlier);
		sql_ids(sql, want, sizeof(want));
		char count_sql[1100];
		snprintf(count_sql, sizeof(count_sql), "select count(*) from (%s) c", sql);
		long n = sql_long(count_sql);
		const Rs__FilterCount *fc = filtered(r, reasons[i].reason);
		if (n == 0) {
			cr_assert_null(fc, "%s: nothing to report", reasons[i].reason);
		} else {
			cr_assert_not_null(fc, "%s: missing", reasons[i].reason);
			cr_assert_eq(fc->count, (uint32_t) n, "%s", reasons[i].reason);
			ids_text(fc, got, sizeof(got));
			cr_assert_str_eq(got, want, "%s", reasons[i].reason);
		}
		size_t el = strlen(earlier);
		snprintf(earlier + el - 1, sizeof(earlier) - el + 1, " union %s)", reasons[i].set);
	}
	/* and what this shop makes of it, spelled out */
	ids_text(filtered(r, "purchased"), got, sizeof(got));
	cr_assert_str_eq(got, "1,5,6");
	ids_text(filtered(r, "unavailable"), got, sizeof(got));
	cr_assert_str_eq(got, "3");
	/* nothing reported was offered */
	for (size_t i = 0; i < r->n_filtered; i++)
		for (size_t j = 0; j < r->filtered[i]->n_items; j++)
			cr_assert_null(find(r, r->filtered[i]->items[j]));
	/* an anonymous request removes only what is withdrawn */
	rs__candidates_request__init(&req);
	cr_assert_eq(candidates(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_filtered, 1);
	cr_assert_str_eq(r->filtered[0]->reason, "unavailable");
	cr_assert_eq(r->filtered[0]->count, 2);
}

/* What the report costs: the same retrieval with and without recording removals, in process
 * (no RPC), many times. Printed, not asserted (timings are measured, never asserted). */
Test(cand_catalog, filtered_report_cost, .timeout = 60)
{
	cand_hist h[3] = {{1, rs_now_ms() - 60000, 0, 1},
	                  {5, rs_now_ms() - 120000, 0, 4},
	                  {4, rs_now_ms() - 180000, 0, 6}};
	cand_result out[200];
	cand_filtered fl[CAND_NWHY];
	size_t n;
	start();
	fx_sql(&fx, "update items set available = false where item_id in (3, 7)");
	cr_assert_geq(wait_popular(3, 0), 0);
	cand_snap *s = cand_current(st);
	for (int round = 0; round < 2; round++)
		for (int report = 0; report < 2; report++) {
			cand_model_in mi = {.filtered = report ? fl : NULL};
			double t0 = rs_mono_ms();
			for (int i = 0; i < 20000; i++)
				cr_assert_eq(cand_retrieve_ex(s, &mi, 40, h, 3, NULL, 200, out, &n),
				             0);
			if (round == 1)
				fprintf(stderr,
				        "catalog_test: retrieval %.2f us %s the filtered report "
				        "(%zu candidates)\n",
				        (rs_mono_ms() - t0) * 1000.0 / 20000,
				        report ? "with" : "without", n);
		}
	cr_assert_eq(fl[CAND_WHY_PURCHASED].count, 3);
	cr_assert_eq(fl[CAND_WHY_UNAVAILABLE].count, 2);
	cand_snap_unref(s);
}

/* ---- at the serving benchmark's scale, in memory (no database) ---- */

TestSuite(cand_catalog_perf, .timeout = 120);

/* 20,000 items in 40 categories, 5,000 users x 60 events (views, a tenth purchases, skewed
 * toward the low ids), 1,000 items withdrawn. Printed: what the filtered report adds to one
 * retrieval, and what applying a catalog change to the snapshot costs (the work a NOTIFY
 * triggers after its read). */
Test(cand_catalog_perf, filtered_report_and_catalog_apply_at_20000_items)
{
	const size_t n = 20000, users = 5000, per = 60, ne = users * per;
	cand_item_row *rows = malloc(n * sizeof(*rows));
	cand_event_row *ev = malloc(ne * sizeof(*ev));
	char(*cats)[16] = malloc(40 * sizeof(*cats));
	cand_result *out = malloc(200 * sizeof(*out));
	cand_filtered fl[CAND_NWHY];
	uint32_t x = 7;
	size_t got;
	cand_snap *s, *t;

	for (int c = 0; c < 40; c++)
		snprintf(cats[c], sizeof(cats[c]), "Dept%d/Cat%d", c % 8, c);
	for (size_t i = 0; i < n; i++)
		rows[i] = (cand_item_row){.id = (int64_t) (2 * i + 2), /* even ids: room between */
		                          .title = "t",
		                          .category = cats[i % 40],
		                          .price = 1.0 + (double) (i % 90),
		                          .has_price = 1,
		                          .in_stock = 1,
		                          .brand = "",
		                          .withdrawn = i % 20 == 7,
		                          .row_hash = (int32_t) i};
	for (size_t e = 0; e < ne; e++) {
		x = x * 1664525u + 1013904223u;
		uint32_t r = x >> 8;
		size_t item = (r % 100 < 60) ? r % 2000 : r % n; /* 60 % among the first 2,000 */
		ev[e] = (cand_event_row){.user_id = (int64_t) (1 + e / per),
		                         .item_id = (int64_t) (2 * item + 2),
		                         .ts_ms = 1700000000000LL + (int64_t) e,
		                         .type = r % 10 == 0 ? 4 : 1};
	}
	cand_build_params bp = {72 * 3.6e6, 50, 10, 50, 500};
	double t0 = rs_mono_ms();
	cr_assert_eq(cand_snap_build(rows, n, ev, ne, &bp, 1, &s), 0);
	double t_build = rs_mono_ms() - t0;

	/* user 17's own recent history as the feature service would send it */
	cand_hist h[20];
	size_t nh = 0;
	for (size_t e = 16 * per; e < 17 * per && nh < 20; e++)
		h[nh++] = (cand_hist){ev[e].item_id, ev[e].ts_ms, 0, ev[e].type};
	double best[2] = {1e9, 1e9};
	for (int rep = 0; rep < 30; rep++)
		for (int report = 0; report < 2; report++) {
			cand_model_in mi = {.filtered = report ? fl : NULL};
			double a = rs_mono_ms();
			cr_assert_eq(cand_retrieve_ex(s, &mi, 17, h, nh, NULL, 200, out, &got), 0);
			best[report] = fmin(best[report], rs_mono_ms() - a);
		}
	cr_assert_eq(got, 200);
	for (size_t i = 0; i < got; i++)
		cr_assert(!cand_snap_withdrawn(s, out[i].item), "a withdrawn item was offered");
	cr_assert_gt(fl[CAND_WHY_UNAVAILABLE].count, 0);
	fprintf(stderr,
	        "catalog_perf: build %.0f ms (%zu items, %zu events, %zu neighbours); retrieval "
	        "k=200 %.3f ms without / %.3f ms with the filtered report (best of 30; removed: "
	        "purchased %u, unavailable %u)\n",
	        t_build, s->n_items, ne, s->n_nbs, best[0], best[1], fl[CAND_WHY_PURCHASED].count,
	        fl[CAND_WHY_UNAVAILABLE].count);

	/* one changed row, one new id between two others, the whole catalog */
	cand_item_row one = rows[500], fresh = rows[500];
	one.price = 7.5;
	one.row_hash = -1;
	fresh.id = 1001; /* between 1000 and 1002: every later index moves */
	fresh.row_hash = -2;
	struct {
		const char *what;
		const cand_item_row *r;
		size_t n;
		int full;
	} cases[] = {{"one changed row", &one, 1, 0},
	             {"one new id", &fresh, 1, 0},
	             {"the whole catalog", rows, n, 1}};
	for (size_t c = 0; c < 3; c++) {
		double b = 1e9;
		for (int rep = 0; rep < 5; rep++) {
			double a = rs_mono_ms();
			cr_assert_eq(cand_snap_apply_catalog(s, cases[c].r, cases[c].n,
			                                     cases[c].full, &t),
			             0);
			b = fmin(b, rs_mono_ms() - a);
			if (rep < 4)
				cand_snap_unref(t);
		}
		fprintf(stderr, "catalog_perf: apply %s: %.2f ms (best of 5)\n", cases[c].what, b);
		if (c == 1) {
			/* the new id sits in order, and every neighbour still names the same item
			 */
			cr_assert_eq(t->n_items, s->n_items + 1);
			cr_assert_geq(cand_snap_find(t, 1001), 0);
			cr_assert_eq(t->n_nbs, s->n_nbs);
			for (size_t k = 0; k < s->n_nbs; k++)
				cr_assert_eq(t->ids[t->nbs[k].item], s->ids[s->nbs[k].item]);
			for (size_t k = 0; k < s->n_popular; k++)
				cr_assert_eq(t->ids[t->popular[k]], s->ids[s->popular[k]]);
			cr_assert_eq(t->n_withdrawn, s->n_withdrawn);
		}
		cand_snap_unref(t);
	}
	cand_snap_unref(s);
	free(rows);
	free(ev);
	free(cats);
	free(out);
}
