/* rs-candidate with a published model version (fixture folders written like rs-train publish):
 * the als / itemknn / metadata sources, the reported version, and switching versions (notify
 * and rollback) while a thread keeps requesting. Also the exact top-K scorer's speed. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "factors.h"
#include "model_fixture.h"
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
static char url[64], root[64];

static const char seed_sql[] =
        "insert into items(item_id, title, category, brand, price, in_stock) values\n"
        "  (1, 'Chef Knife', 'Home/Kitchen/Knives', 'Acme', 50, true),\n"
        "  (2, 'Cutting Board', 'Home/Kitchen', '', 20, true),\n"
        "  (3, 'Frying Pan', 'Home/Kitchen', '', 35, true),\n"
        "  (4, 'Space Novel', 'Books/Fiction', '', 12, true),\n"
        "  (5, 'Cookbook', 'Books/Cooking', '', 25, true),\n"
        "  (6, 'Knife Sharpener', 'Home/Kitchen/Knives', 'Acme', 15, true),\n"
        "  (7, 'Espresso Machine', 'Home/Kitchen', '', 300, true),\n"
        "  (8, 'Mystery Novel', 'Books/Fiction', '', 10, true),\n"
        "  (10, 'Santoku Knife', 'Home/Kitchen/Knives', 'Acme', 45, true);\n"
        "insert into events(event_id, user_id, item_id, type, ts)\n"
        "  select 'p3-' || u, u, 3, 4, now() - interval '1 hour' from generate_series(20, 24) u;\n";

/* v1: item i (code i-1) */
static const int64_t ids[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const float V1[8 * 4] = {1,    0, 0, 0,    0, 1,    0,    0, 0, 0,    1,
                                0,    0, 0, 0,    1, 0.5f, 0.5f, 0, 0, 0.9f, 0,
                                0.1f, 0, 0, 0.8f, 0, 0.2f, 0,    0, 0, 0.9f};
/* v2: the same items, the last factor now points at the cutting board (2) */
static const float V2[8 * 4] = {1,    0, 0, 0,    0, 0,    0,    1,    0, 0,    1,
                                0,    0, 1, 0,    0, 0.5f, 0.5f, 0,    0, 0.9f, 0,
                                0.1f, 0, 0, 0.8f, 0, 0.2f, 0,    0.9f, 0, 0};
static const fx_nb nb_board[2] = {{6, 0.8f}, {2, 0.5f}}; /* 2 -> 7, 3 */
static const fx_nb *const nbs[8] = {NULL, nb_board, NULL, NULL, NULL, NULL, NULL, NULL};
static const uint32_t nb_len[8] = {0, 2, 0, 0, 0, 0, 0, 0};
static const uint32_t pop[3] = {2, 0, 1};

static void
write_version(const char *name, const float *V)
{
	char dir[128];
	fx_model m = {.n_items = 8,
	              .factors = 4,
	              .ids = ids,
	              .V = V,
	              .nb = nbs,
	              .nb_len = nb_len,
	              .popular = pop,
	              .n_popular = 3,
	              .alpha = 1,
	              .reg = 0.1};
	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	fx_model_write(dir, &m);
}

static void
start(int poll_ms)
{
	cand_config cfg = {
	        .pg_dsn = fx.dsn,
	        .url = url,
	        .workers = 2,
	        .log_level = RS_LOG_WARN,
	        .refresh_ms = 60000,
	        .default_k = 50,
	        .window_days = 90,
	        .max_events = 100000,
	        .half_life_h = 72,
	        .covisit_n = 50,
	        .pg_timeout_ms = 5000,
	        .model_dir = root,
	        .model_poll_ms = poll_ms,
	        .model_cache = 2,
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
	cr_assert_eq(cand_refresh(st), 0);
}

static void
setup(void)
{
	char sql[512];
	snprintf(root, sizeof(root), "/tmp/rs-cand-model-XXXXXX");
	fx_tmpdir(root);
	write_version("v1", V1);
	write_version("v2", V2);
	write_version("v2b", V2);
	write_version("v1b", V1);
	fx_pg_setup(&fx, "cand_m");
	fx_sql(&fx, seed_sql);
	/* v1 by absolute path, v2 relative to RS_MODEL_DIR */
	snprintf(sql, sizeof(sql),
	         "insert into model_versions(version, path) values ('v1', '%s/v1'), ('v2', 'v2'),"
	         " ('v2b', 'v2b'), ('v1b', 'v1b'); select rs_model_activate('v1')",
	         root);
	fx_sql(&fx, sql);
}

static void
teardown(void)
{
	rs_rpc_client_close(cli);
	rs_rpc_server_close(srv);
	cand_close(st);
	rs_arena_destroy(arena);
	fx_pg_teardown(&fx);
	fx_rmtree(root);
}

TestSuite(cand_model, .init = setup, .fini = teardown, .timeout = 20);

static Rs__HistoryEvent hev[4];
static Rs__HistoryEvent *hptr[4];
static float emb[4];

static void
request(Rs__CandidatesRequest *req, const float *e, size_t ne, int64_t item, Rs__EventType type)
{
	rs__candidates_request__init(req);
	req->user_id = 1000;
	if (e != NULL) {
		memcpy(emb, e, ne * sizeof(float));
		req->embedding = emb;
		req->n_embedding = ne;
	}
	if (item > 0) {
		rs__history_event__init(&hev[0]);
		hev[0].item_id = item;
		hev[0].type = type;
		hev[0].ts_ms = rs_now_ms() - 1000;
		hptr[0] = &hev[0];
		req->recent = hptr;
		req->n_recent = 1;
	}
}

/* One CANDIDATES call served with `version` ("" or NULL: the active one). */
static int
candidates_v(rs_arena *a, Rs__CandidatesRequest *req, const char *version,
             Rs__CandidatesResponse **out)
{
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	Rs__Status status;
	char err[256];
	h.request_id = "m";
	h.deadline_unix_ms = rs_now_ms() + 2000;
	h.model_version = (char *) version;
	req->header = &h;
	int rv = rs_rpc_request(cli, RS__METHOD__METHOD_CANDIDATES, &req->base,
	                        &rs__candidates_response__descriptor, 2000, a, (void **) out,
	                        &status, err, sizeof(err));
	return rv != 0 ? -1000 + rv : (int) status;
}

static int
candidates(rs_arena *a, Rs__CandidatesRequest *req, Rs__CandidatesResponse **out)
{
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	Rs__Status status;
	char err[256];
	h.request_id = "m";
	h.deadline_unix_ms = rs_now_ms() + 2000;
	req->header = &h;
	int rv = rs_rpc_request(cli, RS__METHOD__METHOD_CANDIDATES, &req->base,
	                        &rs__candidates_response__descriptor, 2000, a, (void **) out,
	                        &status, err, sizeof(err));
	return rv != 0 ? -1000 + rv : (int) status;
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

static const float toward4[4] = {0, 0, 0, 1};

Test(cand_model, als_top_k_reports_the_version)
{
	Rs__CandidatesRequest req;
	Rs__CandidatesResponse *r;
	start(0);
	cr_assert_eq(cand_model_check(st), 0);
	request(&req, toward4, 4, 0, 0);
	cr_assert_eq(candidates(arena, &req, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "v1");
	const Rs__SourceScore *a4 = source(find(r, 4), "als"), *a8 = source(find(r, 8), "als");
	cr_assert_not_null(a4);
	cr_assert_not_null(a8);
	cr_assert_eq(a4->rank, 1);
	cr_assert_float_eq(a4->score, 1.0f, 1e-6);
	cr_assert_eq(a8->rank, 2);
	cr_assert_float_eq(a8->score, 0.9f, 1e-6);
	cr_assert_eq(r->candidates[0]->item_id, 4); /* als + nothing else beats it */
	/* the live sources still run */
	cr_assert_not_null(source(find(r, 3), "popular"));
	/* a not_interested mark removes the best als item; the rest moves up */
	request(&req, toward4, 4, 4, RS__EVENT_TYPE__EVENT_NOT_INTERESTED);
	cr_assert_eq(candidates(arena, &req, &r), RS__STATUS__STATUS_OK);
	cr_assert_null(find(r, 4));
	cr_assert_eq(source(find(r, 8), "als")->rank, 1);
	/* a filter: only Home items; als still fills from the rest */
	request(&req, toward4, 4, 0, 0);
	Rs__CandidateFilter f = RS__CANDIDATE_FILTER__INIT;
	f.category = "Home";
	req.filter = &f;
	cr_assert_eq(candidates(arena, &req, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(source(find(r, 7), "als")->rank, 1);
	cr_assert_null(find(r, 8));
	/* an embedding of another size: no als, no error */
	request(&req, toward4, 3, 0, 0);
	cr_assert_eq(candidates(arena, &req, &r), RS__STATUS__STATUS_OK);
	cr_assert_null(source(find(r, 4), "als"));
	/* an embedding of another version is not used; of this version it is */
	request(&req, toward4, 4, 0, 0);
	req.embedding_version = "v2";
	cr_assert_eq(candidates(arena, &req, &r), RS__STATUS__STATUS_OK);
	cr_assert_null(source(find(r, 4), "als"));
	req.embedding_version = "v1";
	cr_assert_eq(candidates(arena, &req, &r), RS__STATUS__STATUS_OK);
	cr_assert_not_null(source(find(r, 4), "als"));
	/* a non-finite embedding is invalid */
	float bad[4] = {0, NAN, 0, 1};
	request(&req, bad, 4, 0, 0);
	cr_assert_eq(candidates(arena, &req, &r), RS__STATUS__STATUS_INVALID);
}

/* A request that names a published version is served with its sources (here its factors: v2
 * turns the last factor towards item 2) and named by it, while requests that name none keep
 * the active v1; an unknown version is NOT_FOUND; at most model_cache (2) other versions stay
 * open, the least recently used one goes. */
Test(cand_model, a_named_version_serves_one_request_and_the_active_one_the_rest)
{
	Rs__CandidatesRequest req;
	Rs__CandidatesResponse *r;
	char names[64];
	start(0);
	cr_assert_eq(cand_model_check(st), 0);
	request(&req, toward4, 4, 0, 0);
	req.embedding_version = "v2"; /* rs-feature folded it in with v2's factors */
	cr_assert_eq(candidates_v(arena, &req, "v2", &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "v2");
	cr_assert_eq(source(find(r, 2), "als")->rank, 1);
	cr_assert_float_eq(source(find(r, 2), "als")->score, 1.0f, 1e-6);
	cr_assert_neq(source(find(r, 4), "als")->rank, 1);
	/* the same request without a version: the active v1 (its embedding_version says v2, so
	 * v1 does not use it) */
	cr_assert_eq(candidates_v(arena, &req, NULL, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "v1");
	cr_assert_null(source(find(r, 4), "als"));
	req.embedding_version = "";
	cr_assert_eq(candidates_v(arena, &req, "", &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "v1");
	cr_assert_eq(source(find(r, 4), "als")->rank, 1);
	cr_assert_eq(candidates_v(arena, &req, "v1", &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(source(find(r, 4), "als")->rank, 1);

	cr_assert_eq(candidates_v(arena, &req, "no-such-version", &r),
	             RS__STATUS__STATUS_NOT_FOUND);

	/* similar items with a named version */
	Rs__SimilarRequest sr = RS__SIMILAR_REQUEST__INIT;
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	Rs__Status status;
	h.model_version = "v2";
	sr.header = &h;
	sr.item_id = 2;
	cr_assert_eq(rs_rpc_request(cli, RS__METHOD__METHOD_SIMILAR, &sr.base,
	                            &rs__candidates_response__descriptor, 2000, arena, (void **) &r,
	                            &status, NULL, 0),
	             0);
	cr_assert_eq(status, RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "v2");
	h.model_version = "no-such-version";
	cr_assert_eq(rs_rpc_request(cli, RS__METHOD__METHOD_SIMILAR, &sr.base,
	                            &rs__candidates_response__descriptor, 2000, arena, (void **) &r,
	                            &status, NULL, 0),
	             0);
	cr_assert_eq(status, RS__STATUS__STATUS_NOT_FOUND);

	/* a third named version evicts the least recently used one */
	cr_assert_eq(candidates_v(arena, &req, "v2b", &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(source(find(r, 2), "als")->rank, 1);
	cr_assert_eq(candidates_v(arena, &req, "v1b", &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "v1b");
	cr_assert_eq(source(find(r, 4), "als")->rank, 1);
	cr_assert_eq(rs_model_watch_cached(st->cs_watch, names, sizeof(names)), 2);
	cr_assert_str_eq(names, "v1b,v2b");
	cr_assert_eq(candidates_v(arena, &req, "v2", &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "v2");
	cr_assert_eq(candidates_v(arena, &req, NULL, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "v1");
}

/* A candidate names the sources that retrieved it (an item als did not retrieve has no als
 * entry: the learned ranker's als scores of every candidate travel in ranker_scores, see
 * ranker_in_test.c), and the response carries each source's list statistics. */
Test(cand_model, sources_name_what_retrieved_and_report_stats)
{
	Rs__CandidatesRequest req;
	Rs__CandidatesResponse *r;
	start(0);
	cr_assert_eq(cand_model_check(st), 0);
	request(&req, toward4, 4, 0, 0);
	req.k = 3; /* als keeps 4, 8, 7 (1, 0.9, 0.2); popular item 3 outranks 7 */
	cr_assert_eq(candidates(arena, &req, &r), RS__STATUS__STATUS_OK);
	cr_assert_not_null(find(r, 3));
	cr_assert_null(source(find(r, 3), "als"), "item 3 was not retrieved by als");
	cr_assert_not_null(source(find(r, 3), "popular"));
	cr_assert_eq(source(find(r, 4), "als")->rank, 1);
	cr_assert_eq(find(r, 3)->n_ranker_scores, 0, "no learned ranker: no ranker inputs");
	cr_assert_eq(r->n_ranker_sources, 0);
	const Rs__SourceStats *als = NULL, *popular = NULL;
	for (size_t i = 0; i < r->n_source_stats; i++) {
		if (strcmp(r->source_stats[i]->source, "als") == 0)
			als = r->source_stats[i];
		if (strcmp(r->source_stats[i]->source, "popular") == 0)
			popular = r->source_stats[i];
	}
	cr_assert_not_null(als);
	cr_assert_not_null(popular);
	cr_assert_eq(als->count, 3);
	cr_assert_float_eq(als->top, 1.0f, 1e-6);
	cr_assert_float_eq(als->low, 0.2f, 1e-6);
}

Test(cand_model, itemknn_and_metadata_for_new_items)
{
	Rs__CandidatesRequest req;
	Rs__CandidatesResponse *r;
	start(0);
	cr_assert_eq(cand_model_check(st), 0);
	request(&req, NULL, 0, 2, RS__EVENT_TYPE__EVENT_VIEW);
	cr_assert_eq(candidates(arena, &req, &r), RS__STATUS__STATUS_OK);
	const Rs__SourceScore *k7 = source(find(r, 7), "itemknn");
	cr_assert_not_null(k7);
	cr_assert_eq(k7->rank, 1);
	cr_assert_eq(k7->because_item, 2);
	cr_assert_float_eq(k7->score, 0.8f, 1e-6);
	cr_assert_eq(source(find(r, 3), "itemknn")->rank, 2);
	/* item 10 was added after training: a knife viewer gets it from its metadata */
	request(&req, NULL, 0, 1, RS__EVENT_TYPE__EVENT_VIEW);
	cr_assert_eq(candidates(arena, &req, &r), RS__STATUS__STATUS_OK);
	const Rs__SourceScore *m10 = source(find(r, 10), "metadata");
	cr_assert_not_null(m10);
	cr_assert_eq(m10->because_item, 1);
	cr_assert_null(source(find(r, 6), "metadata")); /* known to the model: not "new" */
	/* a viewer of the new item gets its category peers (no trained neighbours yet) */
	request(&req, NULL, 0, 10, RS__EVENT_TYPE__EVENT_VIEW);
	cr_assert_eq(candidates(arena, &req, &r), RS__STATUS__STATUS_OK);
	cr_assert_not_null(source(find(r, 1), "metadata"));
	cr_assert_not_null(source(find(r, 6), "metadata"));
	cr_assert_null(find(r, 10) != NULL ? source(find(r, 10), "metadata") : NULL);

	/* similar items of the new item: metadata neighbours at once */
	Rs__SimilarRequest sr = RS__SIMILAR_REQUEST__INIT;
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	Rs__Status status;
	char err[200];
	h.request_id = "s";
	sr.header = &h;
	sr.item_id = 10;
	cr_assert_eq(rs_rpc_request(cli, RS__METHOD__METHOD_SIMILAR, &sr.base,
	                            &rs__candidates_response__descriptor, 2000, arena, (void **) &r,
	                            &status, err, sizeof(err)),
	             0);
	cr_assert_eq(status, RS__STATUS__STATUS_OK, "%s", err);
	cr_assert_str_eq(r->header->model_version, "v1");
	cr_assert_geq(r->n_candidates, 2);
	cr_assert(r->candidates[0]->item_id == 1 || r->candidates[0]->item_id == 6);
	cr_assert_null(find(r, 10));
	/* similar items of a trained item include its trained neighbours */
	sr.item_id = 2;
	cr_assert_eq(rs_rpc_request(cli, RS__METHOD__METHOD_SIMILAR, &sr.base,
	                            &rs__candidates_response__descriptor, 2000, arena, (void **) &r,
	                            &status, err, sizeof(err)),
	             0);
	cr_assert_not_null(source(find(r, 7), "itemknn"));
}

/* A withdrawn item leaves the model's sources too: als (the best item for the embedding),
 * itemknn (a trained neighbour) and metadata (an item added after training), in candidates and
 * in similar items. */
Test(cand_model, withdrawn_items_leave_the_model_sources)
{
	Rs__CandidatesRequest req;
	Rs__CandidatesResponse *r;
	start(0);
	cr_assert_eq(cand_model_check(st), 0);
	request(&req, toward4, 4, 0, 0);
	cr_assert_eq(candidates(arena, &req, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(source(find(r, 4), "als")->rank, 1);
	fx_sql(&fx, "update items set available = false where item_id in (4, 7, 10)");
	cr_assert_eq(cand_catalog_sync(st, 0), 0);

	cr_assert_eq(candidates(arena, &req, &r), RS__STATUS__STATUS_OK);
	cr_assert_null(find(r, 4), "als still offers the withdrawn item");
	cr_assert_eq(source(find(r, 8), "als")->rank, 1, "the next als item moves up");
	int reported = 0;
	for (size_t i = 0; i < r->n_filtered; i++)
		if (strcmp(r->filtered[i]->reason, "unavailable") == 0)
			for (size_t j = 0; j < r->filtered[i]->n_items; j++)
				reported |= r->filtered[i]->items[j] == 4;
	cr_assert(reported, "the als item's removal is not reported");
	request(&req, NULL, 0, 2, RS__EVENT_TYPE__EVENT_VIEW); /* itemknn of 2: 7, 3 */
	cr_assert_eq(candidates(arena, &req, &r), RS__STATUS__STATUS_OK);
	cr_assert_null(find(r, 7));
	cr_assert_eq(source(find(r, 3), "itemknn")->rank, 1);
	request(&req, NULL, 0, 1, RS__EVENT_TYPE__EVENT_VIEW); /* metadata: the new knife 10 */
	cr_assert_eq(candidates(arena, &req, &r), RS__STATUS__STATUS_OK);
	cr_assert_null(find(r, 10));

	Rs__SimilarRequest sr = RS__SIMILAR_REQUEST__INIT;
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	Rs__Status status;
	char err[200];
	h.request_id = "s";
	sr.header = &h;
	int64_t seeds[] = {2, 1, 6};
	for (size_t q = 0; q < 3; q++) {
		sr.item_id = seeds[q];
		cr_assert_eq(rs_rpc_request(cli, RS__METHOD__METHOD_SIMILAR, &sr.base,
		                            &rs__candidates_response__descriptor, 2000, arena,
		                            (void **) &r, &status, err, sizeof(err)),
		             0);
		cr_assert_eq(status, RS__STATUS__STATUS_OK, "%s", err);
		cr_assert_null(find(r, 4));
		cr_assert_null(find(r, 7), "similar to %lld", (long long) seeds[q]);
		cr_assert_null(find(r, 10), "similar to %lld", (long long) seeds[q]);
	}
}

typedef struct hammer {
	atomic_int stop;
	atomic_int ok, failed, saw_v1, saw_v2;
} hammer;

static void *
hammer_run(void *arg)
{
	hammer *hm = arg;
	rs_arena *a;
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	while (!atomic_load(&hm->stop)) {
		Rs__CandidatesRequest req;
		Rs__CandidatesResponse *r;
		request(&req, toward4, 4, 0, 0);
		rs_arena_reset(a);
		int s = candidates(a, &req, &r);
		if (s != RS__STATUS__STATUS_OK) {
			atomic_fetch_add(&hm->failed, 1);
			continue;
		}
		atomic_fetch_add(&hm->ok, 1);
		/* the answer must come from the version it names */
		const Rs__Candidate *top = r->candidates[0];
		if (strcmp(r->header->model_version, "v1") == 0 && top->item_id == 4)
			atomic_fetch_add(&hm->saw_v1, 1);
		else if (strcmp(r->header->model_version, "v2") == 0 && top->item_id == 2)
			atomic_fetch_add(&hm->saw_v2, 1);
		else
			atomic_fetch_add(&hm->failed, 1);
	}
	rs_arena_destroy(a);
	return NULL;
}

static void
wait_for(atomic_int *counter, int at_least)
{
	for (int i = 0; i < 400 && atomic_load(counter) < at_least; i++)
		usleep(10000);
	cr_assert_geq(atomic_load(counter), at_least);
}

Test(cand_model, switching_versions_fails_no_request)
{
	hammer hm;
	pthread_t t;
	memset(&hm, 0, sizeof(hm));
	start(60000); /* the periodic check is far away: the switch comes by NOTIFY */
	wait_for(&hm.ok, 0);
	for (int i = 0; i < 300; i++) { /* the watch's first check, at start */
		rs_model *m = cand_current_model(st);
		rs_model_unref(m);
		if (m != NULL)
			break;
		usleep(10000);
	}
	cr_assert_eq(pthread_create(&t, NULL, hammer_run, &hm), 0);
	wait_for(&hm.saw_v1, 20);
	fx_sql(&fx, "select rs_model_activate('v2')");
	wait_for(&hm.saw_v2, 20);
	int v1_before = atomic_load(&hm.saw_v1);
	fx_sql(&fx, "select rs_model_activate('v1')"); /* rollback */
	wait_for(&hm.saw_v1, v1_before + 20);
	atomic_store(&hm.stop, 1);
	pthread_join(t, NULL);
	cr_assert_eq(atomic_load(&hm.failed), 0, "%d failed of %d", atomic_load(&hm.failed),
	             atomic_load(&hm.ok));
	/* the info metric names the active version */
	char *text = rs_metrics_render(NULL);
	cr_assert_not_null(strstr(text, "rs_model_info{version=\"v1\"} 1"), "%s", text);
	cr_assert_not_null(strstr(text, "rs_model_info{version=\"v2\"} 0"));
	free(text);
}

Test(cand_model, a_broken_version_is_refused_and_the_old_one_serves)
{
	Rs__CandidatesRequest req;
	Rs__CandidatesResponse *r;
	char dir[128];
	start(0);
	cr_assert_eq(cand_model_check(st), 0);
	snprintf(dir, sizeof(dir), "%s/v3", root);
	fx_model m = {.n_items = 8,
	              .factors = 4,
	              .ids = ids,
	              .V = V1,
	              .popular = pop,
	              .n_popular = 3,
	              .alpha = -1,
	              .reg = -1,
	              .layout = 7};
	fx_model_write(dir, &m);
	fx_sql(&fx, "insert into model_versions(version, path) values ('v3', 'v3'), ('gone', "
	            "'nowhere'); select rs_model_activate('v3')");
	cr_assert_eq(cand_model_check(st), RS_EVERSION);
	request(&req, toward4, 4, 0, 0);
	cr_assert_eq(candidates(arena, &req, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "v1");
	fx_sql(&fx, "select rs_model_activate('gone')");
	cr_assert_eq(cand_model_check(st), RS_ENOTFOUND);
	cr_assert_eq(candidates(arena, &req, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "v1");
	/* no active row at all: live sources only */
	fx_sql(&fx, "update model_versions set active = false");
	cr_assert_eq(cand_model_check(st), 0);
	cr_assert_eq(candidates(arena, &req, &r), RS__STATUS__STATUS_OK);
	cr_assert(strncmp(r->header->model_version, "live-pop-", 9) == 0);
}

/* The speed tests need no database: their own suite (same timeout as the others). */
static void
perf_setup(void)
{
	snprintf(root, sizeof(root), "/tmp/rs-cand-perf-XXXXXX");
	fx_tmpdir(root);
}

static void
perf_teardown(void)
{
	fx_rmtree(root);
}

TestSuite(cand_perf, .init = perf_setup, .fini = perf_teardown, .timeout = 20);

/* Exact scores over 20,000 x 64: both implementations agree; their times go to the log (the
 * README quotes them). */
Test(cand_perf, factor_scores_blas_and_loop)
{
	const size_t n = 20000, f = 64;
	float *V = malloc(n * f * sizeof(float)), *u = malloc(f * sizeof(float));
	float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
	uint32_t x = 12345;
	for (size_t i = 0; i < n * f; i++) {
		x = x * 1664525u + 1013904223u;
		V[i] = (float) (x >> 8) / 16777216.0f - 0.5f;
	}
	for (size_t j = 0; j < f; j++)
		u[j] = (float) j / 64.0f - 0.5f;
	double best_blas = 1e9, best_loop = 1e9;
	for (int rep = 0; rep < 15; rep++) {
		double t0 = rs_mono_ms();
		cand_factor_scores_blas(V, n, f, u, a);
		double t1 = rs_mono_ms();
		cand_factor_scores_loop(V, n, f, u, b);
		double t2 = rs_mono_ms();
		best_blas = fmin(best_blas, t1 - t0);
		best_loop = fmin(best_loop, t2 - t1);
	}
	for (size_t i = 0; i < n; i++)
		cr_assert_float_eq(a[i], b[i], 1e-4, "row %zu", i);
	fprintf(stderr, "factor_scores 20000x64: blas %.3f ms, loop %.3f ms (best of 15)\n",
	        best_blas, best_loop);
	free(V);
	free(u);
	free(a);
	free(b);
}

/* Retrieval with the model at the serving benchmark's scale: 20,000 catalog items, all in a
 * 64-factor version; one request = als top-200 (sgemv + selection) + itemknn + live sources. */
Test(cand_perf, retrieve_time_20000x64)
{
	const uint32_t n = 20000, f = 64;
	char dir[128], err[256] = "";
	static const char *cats[4] = {"A/x", "A/y", "B/z", "C"};
	cand_item_row *rows = malloc(n * sizeof(*rows));
	cand_event_row ev[64];
	int64_t *big_ids = malloc(n * sizeof(*big_ids));
	float *V = malloc((size_t) n * f * sizeof(float)), u[64];
	cand_result *out = malloc(200 * sizeof(*out));
	uint32_t x = 99;
	cand_snap *s;
	rs_model *m;
	cand_join *j;
	size_t got;

	for (uint32_t i = 0; i < n; i++) {
		big_ids[i] = 1 + i;
		rows[i] = (cand_item_row){1 + i, "t", cats[i % 4], 1.0 + i % 50, 1, 1, ""};
	}
	for (size_t i = 0; i < (size_t) n * f; i++) {
		x = x * 1664525u + 1013904223u;
		V[i] = (float) (x >> 8) / 16777216.0f - 0.5f;
	}
	for (uint32_t d = 0; d < f; d++)
		u[d] = (float) d / 64.0f - 0.5f;
	for (int e = 0; e < 64; e++)
		ev[e] = (cand_event_row){1 + e % 8, 1 + (e * 37) % n, 1000 + e, 0, 1};
	cand_build_params bp = {3.6e6, 50, 10, 50, 500};
	cr_assert_eq(cand_snap_build(rows, n, ev, 64, &bp, 1, &s), 0);
	snprintf(dir, sizeof(dir), "%s/big", root);
	fx_model mf = {.n_items = n, .factors = f, .ids = big_ids, .V = V, .alpha = -1, .reg = -1};
	fx_model_write(dir, &mf);
	cr_assert_eq(rs_model_open(dir, NULL, &m, err, sizeof(err)), 0, "%s", err);
	double t0 = rs_mono_ms();
	cr_assert_eq(cand_join_build(s, m, &j), 0);
	double t_join = rs_mono_ms() - t0, best = 1e9;
	cand_model_in mi = {j, u, f};
	cand_hist h[3] = {{38, 0, 0, 1}, {75, 0, 0, 1}, {112, 0, 0, 4}};
	for (int rep = 0; rep < 20; rep++) {
		double a = rs_mono_ms();
		cr_assert_eq(cand_retrieve_ex(s, &mi, 5, h, 3, NULL, 200, out, &got), 0);
		best = fmin(best, rs_mono_ms() - a);
	}
	cr_assert_eq(got, 200);
	int als = 0;
	for (size_t i = 0; i < got; i++)
		als += (out[i].has >> CAND_SRC_ALS) & 1;
	cr_assert_geq(als, 100);
	fprintf(stderr,
	        "retrieve 20000x64 k=200: join %.2f ms (once per snapshot/version), "
	        "request %.3f ms best of 20\n",
	        t_join, best);
	cand_join_unref(j);
	rs_model_unref(m);
	cand_snap_unref(s);
	free(rows);
	free(big_ids);
	free(V);
	free(out);
}

/* The als index (alsindex.h: items by decreasing norm, scored block by block until none left
 * can reach the list) answers exactly what scoring every item answers: the same version opened
 * twice, with and without its index, 19,999 items whose norms span three orders of magnitude
 * (plus copies of one row and zero rows, so scores tie, also at a list's end), 150 users'
 * embeddings (folded-in-like sums of items, and random ones), k 10, 100 and 200, with and
 * without a category filter that rejects most of the als list (the slices over every item):
 * every candidate, score, source, rank and because item identical, byte for byte. */
Test(cand_perf, als_index_answers_what_scoring_every_item_answers)
{
	const uint32_t n = 19999, f = 64; /* n % 4 = 3: sgemv's rows left over at a call's end */
	char dir[128], err[256] = "";
	static const char *cats[5] = {"A/x", "A/y", "B/z", "C", "D"};
	cand_item_row *rows = malloc(n * sizeof(*rows));
	cand_event_row ev[64];
	int64_t *ids_ = malloc(n * sizeof(*ids_));
	float *V = malloc((size_t) n * f * sizeof(float)), u[64];
	cand_result *a = calloc(200, sizeof(*a)), *b = calloc(200, sizeof(*b));
	uint32_t x = 7;
	cand_snap *s;
	rs_model *m_ix, *m_all;
	cand_join *j_ix, *j_all;
	size_t na, nb;

	cr_assert(rows != NULL && ids_ != NULL && V != NULL && a != NULL && b != NULL);
	for (uint32_t i = 0; i < n; i++) {
		ids_[i] = 1 + i;
		rows[i] = (cand_item_row){1 + i, "t", cats[i % 5], 1.0 + i % 50, 1, 1, ""};
	}
	for (uint32_t i = 0; i < n; i++) {
		x = x * 1664525u + 1013904223u;
		float scale = expf(-(float) (x >> 8) / 16777216.0f * 7.0f); /* 1 .. 1e-3 */
		for (uint32_t d = 0; d < f; d++) {
			x = x * 1664525u + 1013904223u;
			V[(size_t) i * f + d] = scale * ((float) (x >> 8) / 16777216.0f - 0.3f);
		}
	}
	for (uint32_t i = 100; i < 140; i++) /* copies of row 5: equal scores */
		memcpy(V + (size_t) i * f, V + 5 * (size_t) f, f * sizeof(float));
	for (uint32_t i = 200; i < 260; i++) /* zero rows: score 0 */
		memset(V + (size_t) i * f, 0, f * sizeof(float));
	for (int e = 0; e < 64; e++)
		ev[e] = (cand_event_row){1 + e % 8, 1 + (e * 37) % n, 1000 + e, 0, 1};
	cand_build_params bp = {3.6e6, 50, 10, 50, 500};
	cr_assert_eq(cand_snap_build(rows, n, ev, 64, &bp, 1, &s), 0);
	snprintf(dir, sizeof(dir), "%s/ix", root);
	fx_model mf = {.n_items = n, .factors = f, .ids = ids_, .V = V, .alpha = -1, .reg = -1};
	fx_model_write(dir, &mf);
	cr_assert_eq(rs_model_open(dir, NULL, &m_ix, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rs_model_open(dir, NULL, &m_all, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cand_vaux_prepare(NULL, m_ix), 0);
	cr_assert(cand_vaux_of(m_ix) != NULL && cand_vaux_of(m_ix)->als != NULL,
	          "the index was refused: sgemv's block scores differ from the whole's");
	cr_assert_null(cand_vaux_of(m_all));
	cr_assert_eq(cand_join_build(s, m_ix, &j_ix), 0);
	cr_assert_eq(cand_join_build(s, m_all, &j_all), 0);
	cand_filter cat = {.category = "D"};
	int compared = 0;
	for (int user = 0; user < 150; user++) {
		for (uint32_t d = 0; d < f; d++)
			u[d] = 0;
		if (user % 3 == 2) {
			for (uint32_t d = 0; d < f; d++) {
				x = x * 1664525u + 1013904223u;
				u[d] = (float) (x >> 8) / 16777216.0f - 0.5f;
			}
		} else {
			for (int q = 0; q < 20; q++) {
				x = x * 1664525u + 1013904223u;
				uint32_t it =
				        user % 3 == 0 ? 5 : (x >> 8) % n; /* user 0, 3, ...: ties */
				for (uint32_t d = 0; d < f; d++)
					u[d] += V[(size_t) it * f + d] / 20;
			}
		}
		cand_model_in mi_ix = {j_ix, u, f}, mi_all = {j_all, u, f};
		cand_hist h[3] = {{38, 0, 0, 1}, {75 + user, 0, 0, 1}, {112, 0, 0, 4}};
		static const uint32_t ks[3] = {10, 100, 200};
		for (int q = 0; q < 6; q++) {
			const cand_filter *flt = q % 2 ? &cat : NULL;
			memset(a, 0, 200 * sizeof(*a));
			memset(b, 0, 200 * sizeof(*b));
			cr_assert_eq(cand_retrieve_ex(s, &mi_ix, 5, h, 3, flt, ks[q / 2], a, &na),
			             0);
			cr_assert_eq(cand_retrieve_ex(s, &mi_all, 5, h, 3, flt, ks[q / 2], b, &nb),
			             0);
			cr_assert_eq(na, nb, "user %d k %u", user, ks[q / 2]);
			cr_assert_eq(memcmp(a, b, na * sizeof(*a)), 0, "user %d k %u filter %d",
			             user, ks[q / 2], q % 2);
			int als = 0;
			for (size_t i = 0; i < na; i++)
				als += (a[i].has >> CAND_SRC_ALS) & 1;
			cr_assert_gt(als, 0, "the als source ran");
			compared++;
		}
	}
	cr_assert_eq(compared, 900);
	cand_join_unref(j_ix);
	cand_join_unref(j_all);
	rs_model_unref(m_ix);
	rs_model_unref(m_all);
	cand_snap_unref(s);
	free(rows);
	free(ids_);
	free(V);
	free(a);
	free(b);
}
