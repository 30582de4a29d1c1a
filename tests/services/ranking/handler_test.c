/* rs-ranking handlers over the production transport (tcp, rs_rpc_sp) (the catalog comes from a real
 * PostgreSQL schema). */
#include <criterion/criterion.h>
#include <math.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.pb-c.h"
#include "pg_fixture.h"
#include "rpc_raw.h"
#include "ranking.h"
#include "ranking.pb-c.h"
#include "rs_err.h"
#include "rpc_listen.h"
#include "rs_rpc.h"
#include "rs_time.h"

static fx_pg fx;
static rank_state *st;
static rs_rpc_server *srv;
static rs_rpc_client *cli;
static rs_arena *arena;
static char url[64];

static const char seed_sql[] = "insert into items(item_id, title, category, price) values\n"
                               "  (100, 'Chef Knife', 'Home/Kitchen/Knives', 50),\n"
                               "  (101, 'Espresso Beans', 'Food/Coffee', 12),\n"
                               "  (102, 'Milk Frother', 'Home/Kitchen', 30);\n";

static void
start(const char *dsn)
{
	rank_config cfg = {
	        .pg_dsn = dsn,
	        .url = url,
	        .workers = 2,
	        .log_level = RS_LOG_WARN,
	        .default_k = 3,
	        .refresh_ms = 60000,
	        .pg_timeout_ms = 5000,
	};
	snprintf(url, sizeof(url), "%s", T_RPC_LISTEN);
	rs_log_init("ranking-test", RS_LOG_WARN);
	cr_assert_eq(rank_open(&st, &cfg), 0);
	cr_assert_eq(rs_rpc_server_open(&srv, url, 2, rank_routes, st), 0);
	snprintf(url, sizeof(url), "%s", rs_rpc_server_url(srv));
	cr_assert_eq(rs_rpc_client_open(&cli, url), 0);
	for (int i = 0; i < 200 && rs_rpc_client_connected(cli) == 0; i++)
		usleep(5000);
	cr_assert_gt(rs_rpc_client_connected(cli), 0);
	cr_assert_eq(rs_arena_create(&arena, 0), 0);
}

static void
setup(void)
{
	fx_pg_setup(&fx, "rank_t");
	fx_sql(&fx, seed_sql);
}

static void
teardown(void)
{
	rs_rpc_client_close(cli);
	rs_rpc_server_close(srv);
	rank_close(st);
	rs_arena_destroy(arena);
	fx_pg_teardown(&fx);
}

/* Tests that need item titles from PostgreSQL. */
TestSuite(ranking, .init = setup, .fini = teardown, .timeout = 20);

/* Tests that need no database: the service runs against one that is down. */
#define DOWN_DSN "host=127.0.0.1 port=1 user=postgres dbname=none"
static void
setup_nodb(void)
{
}
TestSuite(ranking_nodb, .init = setup_nodb, .fini = teardown, .timeout = 20);

/* The request: user 5 viewed the knife (2 h ago), bought beans (1 h), has the frother in the
 * cart (30 min); five candidates, each led by a different signal. */
#define NC 5
static Rs__Candidate cand[NC];
static Rs__Candidate *cand_p[NC];
static Rs__SourceScore src[NC][2];
static Rs__SourceScore *src_p[NC][2];
static Rs__HistoryEvent hist[3];
static Rs__HistoryEvent *hist_p[3];
static Rs__RequestHeader hdr = RS__REQUEST_HEADER__INIT;
static Rs__CandidatesResponse retrieval = RS__CANDIDATES_RESPONSE__INIT; /* candidate's answer */

static void
add_source(int i, const char *name, float score, int64_t because)
{
	Rs__SourceScore *s = &src[i][cand[i].n_sources];
	rs__source_score__init(s);
	s->source = (char *) name;
	s->score = score;
	s->rank = 1;
	s->because_item = because;
	src_p[i][cand[i].n_sources] = s;
	cand[i].n_sources++;
}

static void
fill_request(Rs__RankRequest *req)
{
	static const struct {
		int64_t id;
		const char *title, *category;
	} c[NC] = {{1, "Sharpener", "Home/Kitchen/Knives"},
	           {2, "Grinder", "Food/Coffee"},
	           {3, "Bestseller", "Books"},
	           {4, "Pan", "Home/Kitchen"},
	           {102, "Milk Frother", "Home/Kitchen"}};
	int64_t now = rs_now_ms();
	for (int i = 0; i < NC; i++) {
		rs__candidate__init(&cand[i]);
		cand[i].item_id = c[i].id;
		cand[i].title = (char *) c[i].title;
		cand[i].category = (char *) c[i].category;
		cand[i].price = 10 + i;
		cand[i].sources = src_p[i];
		cand_p[i] = &cand[i];
	}
	add_source(0, "covisit", 5.0f, 100);
	add_source(1, "bought_together", 3.0f, 101);
	add_source(1, "covisit", 0.1f, 101);
	add_source(2, "popular", 100.0f, 0);
	add_source(3, "category", 2.0f, 0);
	add_source(3, "popular", 10.0f, 0);
	add_source(4, "popular", 1.0f, 0);
	static const struct {
		int64_t item;
		Rs__EventType type;
		int64_t age_ms;
	} h[3] = {{102, RS__EVENT_TYPE__EVENT_ADD_TO_CART, 1800000},
	          {101, RS__EVENT_TYPE__EVENT_PURCHASE, 3600000},
	          {100, RS__EVENT_TYPE__EVENT_VIEW, 7200000}};
	for (int i = 0; i < 3; i++) {
		rs__history_event__init(&hist[i]);
		hist[i].item_id = h[i].item;
		hist[i].type = h[i].type;
		hist[i].ts_ms = now - h[i].age_ms;
		hist_p[i] = &hist[i];
	}
	hdr.request_id = "t";
	hdr.deadline_unix_ms = now + 2000;
	req->header = &hdr;
	req->user_id = 5;
	retrieval.candidates = cand_p;
	retrieval.n_candidates = NC;
	req->retrieval = &retrieval;
	req->recent = hist_p;
	req->n_recent = 3;
}

static int
rank(Rs__RankRequest *req, Rs__RankResponse **out)
{
	Rs__Status status;
	char err[256];
	int rv = rs_rpc_request(cli, RS__METHOD__METHOD_RANK, &req->base,
	                        &rs__rank_response__descriptor, 2000, arena, (void **) out, &status,
	                        err, sizeof(err));
	return rv != 0 ? -1000 + rv : (int) status;
}

Test(ranking, orders_by_score_with_reasons)
{
	Rs__RankRequest req = RS__RANK_REQUEST__INIT;
	Rs__RankResponse *r;
	start(fx.dsn);
	cr_assert_eq(rank_refresh_catalog(st), 0);
	fill_request(&req);
	req.k = 10;
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "linear-v1");
	cr_assert_eq(r->n_items, NC);
	static const int64_t want[NC] = {1, 2, 3, 4, 102};
	for (int i = 0; i < NC; i++)
		cr_assert_eq(r->items[i]->item_id, want[i], "position %d: %lld (score %f)", i,
		             (long long) r->items[i]->item_id, r->items[i]->score);
	for (int i = 1; i < NC; i++)
		cr_assert_geq(r->items[i - 1]->score, r->items[i]->score);
	/* The knife is not a candidate: its title comes from the items table. */
	cr_assert_str_eq(r->items[0]->reason, "because you viewed Chef Knife");
	cr_assert_str_eq(r->items[1]->reason, "often bought together with Espresso Beans");
	cr_assert_str_eq(r->items[2]->reason, "trending now");
	cr_assert_str_eq(r->items[3]->reason, "popular in Kitchen");
	cr_assert_str_eq(r->items[0]->title, "Sharpener");
	cr_assert_str_eq(r->items[0]->category, "Home/Kitchen/Knives");
	cr_assert_float_eq(r->items[0]->price, 10.0, 1e-9);
	cr_assert_eq(r->items[0]->n_sources, 1);
	cr_assert_str_eq(r->items[0]->sources[0]->source, "covisit");
	cr_assert_eq(r->items[0]->n_features, 0, "features only when explain");
}

Test(ranking_nodb, k_bounds_the_answer_and_defaults_from_config)
{
	Rs__RankRequest req = RS__RANK_REQUEST__INIT;
	Rs__RankResponse *r;
	start(DOWN_DSN);
	fill_request(&req);
	req.k = 2;
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_items, 2);
	cr_assert_eq(r->items[0]->item_id, 1);
	req.k = 0;
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_items, 3); /* default_k */
}

Test(ranking, explain_returns_named_features)
{
	Rs__RankRequest req = RS__RANK_REQUEST__INIT;
	Rs__RankResponse *r;
	start(fx.dsn);
	cr_assert_eq(rank_refresh_catalog(st), 0);
	fill_request(&req);
	req.k = 10;
	req.explain = 1;
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_OK);
	const Rs__RankedItem *top = r->items[0];
	cr_assert_eq(top->n_features, RANK_NF);
	float covisit = -1, affinity = -1, seen = -1;
	for (size_t f = 0; f < top->n_features; f++) {
		if (strcmp(top->features[f]->name, "src_covisit") == 0)
			covisit = top->features[f]->value;
		if (strcmp(top->features[f]->name, "category_affinity") == 0)
			affinity = top->features[f]->value;
		if (strcmp(top->features[f]->name, "seen_count") == 0)
			seen = top->features[f]->value;
	}
	cr_assert_float_eq(covisit, 1.0f, 1e-6);
	/* History weight 13 (view 1 + purchase 8 + cart 4): same category 1, same top level 4. */
	cr_assert_float_eq(affinity, (1.0f + 0.5f * 4.0f) / 13.0f, 1e-5);
	cr_assert_float_eq(seen, 0.0f, 1e-9);
}

Test(ranking_nodb, duplicate_candidates_are_ranked_once)
{
	Rs__RankRequest req = RS__RANK_REQUEST__INIT;
	Rs__RankResponse *r;
	start(DOWN_DSN);
	fill_request(&req);
	cand_p[3] = &cand[0]; /* item 1 twice, item 4 gone */
	req.k = 10;
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_items, NC - 1);
}

Test(ranking_nodb, database_down_still_ranks_with_ids_in_reasons)
{
	Rs__RankRequest req = RS__RANK_REQUEST__INIT;
	Rs__RankResponse *r;
	start(DOWN_DSN);
	cr_assert_eq(rank_refresh_catalog(st), RS_EUNAVAIL);
	fill_request(&req);
	req.k = 10;
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->items[0]->item_id, 1);
	cr_assert_str_eq(r->items[0]->reason, "because you viewed item 100");
	for (size_t i = 0; i < r->n_items; i++)
		if (r->items[i]->item_id == 2)
			cr_assert_str_eq(r->items[i]->reason,
			                 "often bought together with item 101");
}

Test(ranking_nodb, bad_requests_are_invalid)
{
	Rs__RankRequest req = RS__RANK_REQUEST__INIT;
	Rs__RankResponse *r;
	start(DOWN_DSN);
	cr_assert_eq(
	        rpc_raw_call(url, RS__METHOD__METHOD_RANK, (const uint8_t *) "\x2a\x10\x08", 3),
	        RS__STATUS__STATUS_INVALID);
	fill_request(&req);
	req.k = RANK_MAX_K + 1;
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_INVALID);
	req.k = 5;
	req.user_id = -3;
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_INVALID);
	req.user_id = 5;
	cand[2].item_id = 0;
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_INVALID);
	cand[2].item_id = 3;
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_OK);
	/* Non-finite scores count as 0 instead of breaking the order. */
	src[0][0].score = NAN;
	cand[1].score = INFINITY;
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_OK);
	for (size_t i = 0; i < r->n_items; i++)
		cr_assert(isfinite(r->items[i]->score));
	/* No candidates is not an error: an empty list. */
	retrieval.n_candidates = 0;
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_items, 0);
}

Test(ranking_nodb, health_is_ready_with_the_scorer)
{
	Rs__HealthRequest req = RS__HEALTH_REQUEST__INIT;
	Rs__HealthResponse *resp;
	Rs__Status status;
	start(DOWN_DSN);
	cr_assert_eq(rs_rpc_request(cli, RS__METHOD__METHOD_HEALTH, &req.base,
	                            &rs__health_response__descriptor, 1000, arena, (void **) &resp,
	                            &status, NULL, 0),
	             0);
	cr_assert_eq(status, RS__STATUS__STATUS_OK);
	cr_assert(resp->ready);
	cr_assert_str_eq(resp->header->model_version, "linear-v1");
}

Test(ranking_nodb, a_swapped_scorer_serves_the_next_request)
{
	Rs__RankRequest req = RS__RANK_REQUEST__INIT;
	Rs__RankResponse *r;
	rank_scorer *pop_only;
	float w[RANK_NF] = {0};
	start(DOWN_DSN);
	fill_request(&req);
	req.k = 10;
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->items[0]->item_id, 1);
	/* Hold the old scorer like a request in flight would. */
	rank_scorer *old = rank_current_scorer(st);
	w[RANK_F_POPULAR] = 1.0f;
	cr_assert_eq(rank_scorer_linear_create(w, "linear-popular", &pop_only), 0);
	rank_set_scorer(st, pop_only);
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "linear-popular");
	cr_assert_eq(r->items[0]->item_id, 3, "the popular item leads under the new scorer");
	cr_assert_str_eq(old->version, "linear-v1", "the old scorer lives while referenced");
	rank_scorer_unref(old);
}

/* The linear scorer's explain: each feature's contribution is its weight x its value (stated
 * "exact"), so base_score (0: no intercept) + the contributions is the score; every feature has
 * a label; explain_items extends the answer past k up to all candidates, best first. */
Test(ranking_nodb, linear_explain_contributions_are_exact_and_labelled)
{
	Rs__RankRequest req = RS__RANK_REQUEST__INIT;
	Rs__RankResponse *r;
	start(DOWN_DSN);
	fill_request(&req);
	req.k = 2;
	req.explain = 1;
	req.explain_items = NC;
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_items, NC);
	cr_assert_str_eq(r->ranker, "linear");
	cr_assert_str_eq(r->contributions, "exact");
	cr_assert_eq(r->base_score, 0.0f);
	for (size_t i = 0; i < r->n_items; i++) {
		const Rs__RankedItem *it = r->items[i];
		double sum = 0;
		cr_assert_eq(it->n_features, RANK_NF);
		for (size_t f = 0; f < it->n_features; f++) {
			const Rs__Feature *ft = it->features[f];
			cr_assert_str_eq(ft->name, rank_feature_names[f]);
			cr_assert_float_eq(ft->contribution, rank_linear_weights[f] * ft->value,
			                   1e-7, "%s", ft->name);
			cr_assert(ft->label != NULL && strcmp(ft->label, ft->name) != 0, "%s",
			          ft->name);
			sum += ft->contribution;
		}
		cr_assert_float_eq(sum, it->score, 1e-6, "item %lld", (long long) it->item_id);
		cr_assert_gt(strlen(it->reason), 0);
		if (i > 0)
			cr_assert_geq(r->items[i - 1]->score, it->score);
	}
	cr_assert_str_eq(r->items[0]->features[0]->label, "co-visited with your recent items");
	/* explain_items 3: k 2 plus one */
	req.explain_items = 3;
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_items, 3);
	/* no explain_items: the k items only */
	req.explain_items = 0;
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_items, 2);
	cr_assert_eq(r->items[0]->n_features, RANK_NF);
}

Test(ranking_nodb, an_unknown_named_version_is_not_found)
{
	Rs__RankRequest req = RS__RANK_REQUEST__INIT;
	Rs__RankResponse *r;
	start(DOWN_DSN);
	fill_request(&req);
	hdr.model_version = "no-such-version";
	/* the registry is down here: the version cannot be looked up */
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_UNAVAILABLE);
	hdr.model_version = "linear-v1"; /* the scorer in use, by name: no lookup */
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "linear-v1");
	hdr.model_version = "";
}

Test(ranking, an_unpublished_named_version_is_not_found)
{
	Rs__RankRequest req = RS__RANK_REQUEST__INIT;
	Rs__RankResponse *r;
	start(fx.dsn);
	fill_request(&req);
	hdr.model_version = "no-such-version";
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_NOT_FOUND);
	hdr.model_version = "";
	cr_assert_eq(rank(&req, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "linear-v1");
}

/* The best k of many candidates, with equal scores among them: every k answers the first k
 * of the whole order (score descending, equal scores in candidate order), whether the service
 * picks the few best or sorts all. */
Test(ranking_nodb, the_best_k_are_the_first_k_of_the_whole_order)
{
	enum { N = 300 };
	static Rs__Candidate many[N];
	static Rs__Candidate *many_p[N];
	static Rs__SourceScore ms[N];
	static Rs__SourceScore *ms_p[N];
	static const char *const names[] = {"covisit", "popular", "category"};
	Rs__RankRequest req = RS__RANK_REQUEST__INIT;
	Rs__CandidatesResponse cr = RS__CANDIDATES_RESPONSE__INIT;
	Rs__RankResponse *all, *few;
	start(DOWN_DSN);
	fill_request(&req);
	for (int i = 0; i < N; i++) {
		rs__candidate__init(&many[i]);
		many[i].item_id = 1000 + i;
		/* three candidates alike in a row: equal scores */
		many[i].score = (float) ((i / 3 * 7) % 13);
		rs__source_score__init(&ms[i]);
		ms[i].source = (char *) names[i / 3 % 3];
		ms[i].score = (float) ((i / 3 * 5) % 11);
		ms[i].rank = 1;
		ms_p[i] = &ms[i];
		many[i].sources = &ms_p[i];
		many[i].n_sources = 1;
		many_p[i] = &many[i];
	}
	cr.candidates = many_p;
	cr.n_candidates = N;
	req.retrieval = &cr;
	req.k = N;
	cr_assert_eq(rank(&req, &all), RS__STATUS__STATUS_OK);
	cr_assert_eq(all->n_items, N);
	int ties = 0;
	for (size_t i = 1; i < N; i++) {
		cr_assert(all->items[i - 1]->score >= all->items[i]->score);
		ties += all->items[i - 1]->score == all->items[i]->score;
	}
	cr_assert_gt(ties, 100, "the candidates share scores");
	static int64_t ids[N]; /* the next calls reuse the arena */
	for (size_t i = 0; i < N; i++)
		ids[i] = all->items[i]->item_id;
	for (size_t i = 1; i < N; i++) /* equal scores keep the candidate order */
		if (all->items[i - 1]->score == all->items[i]->score)
			cr_assert_lt(ids[i - 1], ids[i]);
	static const uint32_t ks[] = {1, 2, 5, 10, 32, 33, 299};
	for (size_t q = 0; q < sizeof(ks) / sizeof(ks[0]); q++) {
		req.k = ks[q];
		cr_assert_eq(rank(&req, &few), RS__STATUS__STATUS_OK);
		cr_assert_eq(few->n_items, ks[q]);
		for (size_t i = 0; i < ks[q]; i++)
			cr_assert_eq(few->items[i]->item_id, ids[i], "k=%u: item %zu", ks[q], i);
	}
}
