/* The "how it works" inspector's data, through the real HTTP interface against the fake
 * downstreams (fake_servers.c): what_if / exclude / version on recommendations, the explain
 * answer (hops, feature, candidate and ranking details with the fakes' values, catalog) and
 * GET /v1/users/{id}/history. The test gateway has no database: the catalog part says so. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fakes.h"

static void
teardown(void)
{
	t_stop();
}

TestSuite(inspector, .fini = teardown, .timeout = 20);

static json_t *
get_ok(const char *path, const char *hdr, t_resp *r)
{
	t_http("GET", path, NULL, hdr, r);
	cr_assert_eq(r->status, 200, "GET %s: %ld %s", path, r->status, r->body);
	cr_assert_not_null(r->json, "GET %s: not JSON: %s", path, r->body);
	return r->json;
}

/* A 4xx whose message contains `part`. */
static void
expect_error_naming(const char *path, const char *hdr, long status, const char *code,
                    const char *part)
{
	t_resp r;
	t_http("GET", path, NULL, hdr, &r);
	cr_assert_eq(r.status, status, "GET %s: %ld %s", path, r.status, r.body);
	json_t *e = json_object_get(r.json, "error");
	cr_assert_str_eq(json_string_value(json_object_get(e, "code")), code, "%s", r.body);
	const char *msg = json_string_value(json_object_get(e, "message"));
	cr_assert(msg != NULL && strstr(msg, part) != NULL, "GET %s: message \"%s\" lacks \"%s\"",
	          path, msg, part);
	t_resp_free(&r);
}

Test(inspector, what_if_events_go_to_feature_and_are_echoed)
{
	t_resp r;
	t_start(T_ALL);
	json_t *b = get_ok("/v1/users/5/recommendations?k=3&what_if=purchase:42,view:43&explain=1",
	                   NULL, &r);
	cr_assert_eq(t_fake.last_feat_n_hyp, 2);
	cr_assert_eq(t_fake.last_feat_hyp_item0, 42);
	cr_assert_eq(t_fake.last_feat_hyp_type0, 4); /* purchase */
	json_t *wi = json_object_get(b, "what_if");
	cr_assert_eq(json_array_size(wi), 2, "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(wi, 0), "type")),
	                 "purchase");
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(wi, 0), "item_id")), 42);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(wi, 1), "type")), "view");
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(wi, 1), "item_id")), 43);
	/* feature's answer (what-if events folded in, newest first) is what candidate got */
	cr_assert_eq(t_fake.last_cand_n_recent, 4);
	json_t *recent = json_object_get(json_object_get(json_object_get(b, "explain"), "feature"),
	                                 "recent");
	cr_assert_eq(json_array_size(recent), 4);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(recent, 0), "item_id")), 43);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(recent, 1), "item_id")), 42);
	t_resp_free(&r);

	/* every type; without what_if nothing is sent or echoed */
	get_ok("/v1/users/5/recommendations?what_if=view:1,click:2,add_to_cart:3,purchase:4,"
	       "not_interested:5",
	       NULL, &r);
	cr_assert_eq(t_fake.last_feat_n_hyp, 5);
	cr_assert_eq(t_fake.last_feat_hyp_type0, 1);
	t_resp_free(&r);
	b = get_ok("/v1/users/5/recommendations", NULL, &r);
	cr_assert_eq(t_fake.last_feat_n_hyp, 0);
	cr_assert_null(json_object_get(b, "what_if"));
	t_resp_free(&r);
}

Test(inspector, bad_what_if_and_exclude_name_the_bad_part)
{
	const char *base = "/v1/users/5/recommendations?k=3&";
	char path[1400];
	t_start(T_ALL);
	int calls = t_fake.feature_calls;
	static const struct {
		const char *query, *part;
	} bad[] = {
	        {"what_if=buy:5", "\"buy:5\": unknown type"},
	        {"what_if=view:5,buy:6", "event 2 \"buy:6\""},
	        {"what_if=view:0", "\"view:0\": the item must be a positive integer"},
	        {"what_if=view:x", "\"view:x\""},
	        {"what_if=view:-3", "\"view:-3\""},
	        {"what_if=view:99999999999999999999999", "must be a positive integer"},
	        {"what_if=view:123456789012345678901234567890", "must be a positive integer"},
	        {"what_if=view", "\"view\": expected TYPE:ITEM"},
	        {"what_if=", "expected TYPE:ITEM"},
	        {"what_if=view:5,", "event 2 \"\": expected TYPE:ITEM"},
	        {"what_if=rating:5", "unknown type"},
	        {"exclude=5,x", "exclude item 2 \"x\": must be a positive integer"},
	        {"exclude=", "exclude item 1 \"\""},
	        {"exclude=0", "exclude item 1 \"0\""},
	        {"exclude=5,,6", "exclude item 2 \"\""},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", base, bad[i].query);
		expect_error_naming(path, NULL, 400, "bad_request", bad[i].part);
	}
	/* 11 what-if events, 101 excluded items: over the limits */
	size_t n = (size_t) snprintf(path, sizeof(path), "%swhat_if=view:1", base);
	for (int i = 2; i <= 11; i++)
		n += (size_t) snprintf(path + n, sizeof(path) - n, ",view:%d", i);
	expect_error_naming(path, NULL, 400, "bad_request", "at most 10 events");
	n = (size_t) snprintf(path, sizeof(path), "%sexclude=1", base);
	for (int i = 2; i <= 101; i++)
		n += (size_t) snprintf(path + n, sizeof(path) - n, ",%d", i);
	expect_error_naming(path, NULL, 400, "bad_request", "at most 100 items");
	cr_assert_eq(t_fake.feature_calls, calls, "a bad request reached the downstreams");
	/* exactly 10 and 100 are fine */
	t_resp r;
	n = (size_t) snprintf(path, sizeof(path), "%sexclude=1", base);
	for (int i = 2; i <= 100; i++)
		n += (size_t) snprintf(path + n, sizeof(path) - n, ",%d", i);
	get_ok(path, NULL, &r);
	cr_assert_eq(t_fake.last_cand_n_exclude, 100);
	t_resp_free(&r);
	n = (size_t) snprintf(path, sizeof(path), "%swhat_if=view:1", base);
	for (int i = 2; i <= 10; i++)
		n += (size_t) snprintf(path + n, sizeof(path) - n, ",click:%d", i);
	get_ok(path, NULL, &r);
	cr_assert_eq(t_fake.last_feat_n_hyp, 10);
	t_resp_free(&r);
}

Test(inspector, exclude_goes_to_the_candidate_filter)
{
	t_resp r;
	t_start(T_ALL);
	get_ok("/v1/users/5/recommendations?exclude=130,129,7", NULL, &r);
	cr_assert_eq(t_fake.last_cand_n_exclude, 3);
	cr_assert_eq(t_fake.last_cand_exclude0, 130);
	t_resp_free(&r);
	get_ok("/v1/users/5/recommendations", NULL, &r);
	cr_assert_eq(t_fake.last_cand_n_exclude, 0);
	t_resp_free(&r);
}

Test(inspector, version_is_for_admins_reaches_every_hop_and_names_the_answer)
{
	t_resp r;
	t_start(T_ALL);
	json_t *b =
	        get_ok("/v1/users/5/recommendations?k=3&version=2026-12-01.b", T_CRED_ADMIN, &r);
	cr_assert_str_eq(json_string_value(json_object_get(b, "model_version")), "2026-12-01.b");
	cr_assert_str_eq(t_fake.last_feat_version, "2026-12-01.b");
	cr_assert_str_eq(t_fake.last_cand_version, "2026-12-01.b");
	cr_assert_str_eq(t_fake.last_rank_version, "2026-12-01.b");
	t_resp_free(&r);
	/* without version= every hop serves its active version */
	b = get_ok("/v1/users/5/recommendations?k=3", T_CRED_ADMIN, &r);
	cr_assert_str_eq(json_string_value(json_object_get(b, "model_version")), "rank-v1");
	cr_assert_str_eq(t_fake.last_feat_version, "");
	cr_assert_str_eq(t_fake.last_cand_version, "");
	cr_assert_str_eq(t_fake.last_rank_version, "");
	t_resp_free(&r);

	/* a named version has its own budget (the first request opens it in three services):
	 * a feature hop of 120 ms degrades a plain answer (1/3 of 250 ms), not a named one */
	t_gateway()->s_cfg.version_deadline_ms = 1000;
	atomic_store(&t_fake.feature_delay_ms, 120);
	b = get_ok("/v1/users/5/recommendations?k=3&explain=1", T_CRED_ADMIN, &r);
	cr_assert(json_is_true(json_object_get(b, "degraded")), "%s", r.body);
	cr_assert_eq(
	        json_integer_value(json_object_get(json_object_get(b, "explain"), "deadline_ms")),
	        250);
	t_resp_free(&r);
	b = get_ok("/v1/users/5/recommendations?k=3&explain=1&version=2026-12-01.b", T_CRED_ADMIN,
	           &r);
	cr_assert(json_is_false(json_object_get(b, "degraded")), "%s", r.body);
	cr_assert_eq(
	        json_integer_value(json_object_get(json_object_get(b, "explain"), "deadline_ms")),
	        1000);
	t_resp_free(&r);
	atomic_store(&t_fake.feature_delay_ms, 0);

	/* a caller that is not an admin: 403 before any hop */
	int calls = t_fake.feature_calls;
	expect_error_naming("/v1/users/5/recommendations?version=2026-12-01.b", NULL, 403,
	                    "forbidden", "admins");
	cr_assert_eq(t_fake.feature_calls, calls);
	/* a version no service knows: 404 */
	expect_error_naming("/v1/users/5/recommendations?version=" T_MISSING_VERSION, T_CRED_ADMIN,
	                    404, "not_found", T_MISSING_VERSION);
	/* an empty name or one with control characters */
	expect_error_naming("/v1/users/5/recommendations?version=", T_CRED_ADMIN, 400,
	                    "bad_request", "version");
	expect_error_naming("/v1/users/5/recommendations?version=a%01b", T_CRED_ADMIN, 400,
	                    "bad_request", "control characters");
	/* candidate down: the cached popular list is the active version's, so a named version
	 * gets 503 where everyone else gets the degraded popular list */
	t_resp r2;
	for (int i = 0; i < 200; i++) { /* the refresher has filled the cache */
		t_http("GET", "/v1/popular?k=3", NULL, NULL, &r2);
		long st = r2.status;
		t_resp_free(&r2);
		if (st == 200)
			break;
		usleep(10 * 1000);
	}
	t_stop_fake(T_CANDIDATE);
	expect_error_naming("/v1/users/5/recommendations?version=2026-12-01.b", T_CRED_ADMIN, 503,
	                    "unavailable", "2026-12-01.b");
	b = get_ok("/v1/users/5/recommendations?k=3", T_CRED_ADMIN, &r);
	cr_assert(json_is_true(json_object_get(b, "degraded")));
	t_resp_free(&r);
}

/* explain.hops: feature, candidate, ranking and render, in order on one time axis from the
 * request's start, each within the total. */
Test(inspector, explain_hops_are_ordered_on_one_axis_within_the_total)
{
	t_resp r;
	t_start(T_ALL);
	atomic_store(&t_fake.feature_delay_ms, 5);
	atomic_store(&t_fake.ranking_delay_ms, 5);
	json_t *b = get_ok("/v1/users/5/recommendations?k=3&explain=1", NULL, &r);
	double total =
	        json_number_value(json_object_get(json_object_get(b, "timings_ms"), "total"));
	json_t *hops = json_object_get(json_object_get(b, "explain"), "hops");
	static const char *const names[] = {"feature", "candidate", "ranking", "render"};
	cr_assert_eq(json_array_size(hops), 4, "%s", r.body);
	double prev_end = 0;
	for (size_t i = 0; i < 4; i++) {
		json_t *h = json_array_get(hops, i);
		double start = json_number_value(json_object_get(h, "start_ms"));
		double ms = json_number_value(json_object_get(h, "ms"));
		cr_assert_str_eq(json_string_value(json_object_get(h, "name")), names[i]);
		cr_assert(json_is_true(json_object_get(h, "ok")));
		cr_assert_null(json_object_get(h, "error"));
		cr_assert_geq(start + 0.002, prev_end, "%s starts at %.3f before %.3f", names[i],
		              start, prev_end);
		prev_end = start + ms;
	}
	cr_assert_geq(json_number_value(json_object_get(json_array_get(hops, 0), "ms")), 4.5);
	cr_assert_leq(prev_end, total + 0.002, "the hops end at %.3f after the total %.3f",
	              prev_end, total);
	t_resp_free(&r);

	/* a failed hop says so; one that was not called is left out */
	t_stop_fake(T_RANKING);
	b = get_ok("/v1/users/5/recommendations?k=3&explain=1", NULL, &r);
	hops = json_object_get(json_object_get(b, "explain"), "hops");
	cr_assert_eq(json_array_size(hops), 4);
	json_t *rk = json_array_get(hops, 2);
	cr_assert_str_eq(json_string_value(json_object_get(rk, "name")), "ranking");
	cr_assert(json_is_false(json_object_get(rk, "ok")));
	cr_assert(json_is_string(json_object_get(rk, "error")));
	t_resp_free(&r);
	t_stop_fake(T_CANDIDATE); /* the cached popular list: ranking is not called */
	b = get_ok("/v1/users/5/recommendations?k=3&explain=1", NULL, &r);
	hops = json_object_get(json_object_get(b, "explain"), "hops");
	cr_assert_eq(json_array_size(hops), 3, "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(hops, 2), "name")),
	                 "render");
	t_resp_free(&r);
}

/* Every explain field carries the fake downstreams' values. */
Test(inspector, explain_fields_carry_the_downstreams_values)
{
	t_resp r;
	t_start(T_ALL);
	json_t *b = get_ok("/v1/users/5/recommendations?k=3&explain=1", NULL, &r);
	json_t *ex = json_object_get(b, "explain");

	json_t *fe = json_object_get(ex, "feature");
	cr_assert_float_eq(json_number_value(json_object_get(fe, "embedding_norm")), sqrt(0.30),
	                   1e-6, "%s", r.body); /* |(0.1, 0.2, 0.3, 0.4)| */
	json_t *nearest = json_object_get(fe, "nearest");
	cr_assert_eq(json_array_size(nearest), 5, "als ranks 1..5 only: %s", r.body);
	for (size_t i = 0; i < 5; i++) {
		json_t *n = json_array_get(nearest, i);
		cr_assert_eq(json_integer_value(json_object_get(n, "item_id")), 111 + (int) i);
		cr_assert_float_eq(json_number_value(json_object_get(n, "score")),
		                   0.06 - 0.01 * (double) i, 1e-6);
	}

	json_t *ce = json_object_get(ex, "candidate");
	json_t *stats = json_object_get(ce, "source_stats");
	cr_assert_eq(json_array_size(stats), 3);
	json_t *s2 = json_array_get(stats, 2);
	cr_assert_str_eq(json_string_value(json_object_get(s2, "source")), "als");
	cr_assert_eq(json_integer_value(json_object_get(s2, "count")), 5);
	cr_assert_float_eq(json_number_value(json_object_get(s2, "top")), 0.8, 1e-6);
	cr_assert_float_eq(json_number_value(json_object_get(s2, "low")), 0.3, 1e-6);
	json_t *filtered = json_object_get(ce, "filtered");
	cr_assert_eq(json_array_size(filtered), 1, "%s", r.body);
	json_t *f0 = json_array_get(filtered, 0);
	cr_assert_str_eq(json_string_value(json_object_get(f0, "reason")), "purchased");
	cr_assert_eq(json_integer_value(json_object_get(f0, "count")), 2);
	cr_assert_eq(json_array_size(json_object_get(f0, "items")), 2);
	cr_assert_eq(json_integer_value(json_array_get(json_object_get(f0, "items"), 1)), 9);

	/* ranking: every candidate sent was asked for and comes back explained */
	cr_assert_eq(t_fake.last_rank_explain_items, T_FAKE_NCAND);
	json_t *re = json_object_get(ex, "ranking");
	cr_assert_str_eq(json_string_value(json_object_get(re, "ranker")), "linear");
	cr_assert_str_eq(json_string_value(json_object_get(re, "contributions")), "exact");
	double base = json_number_value(json_object_get(re, "base_score"));
	cr_assert_float_eq(base, T_FAKE_BASE_SCORE, 1e-6);
	json_t *items = json_object_get(re, "items");
	cr_assert_eq(json_array_size(items), T_FAKE_NCAND);
	cr_assert_eq(json_array_size(json_object_get(b, "items")), 3, "the list stays k long");
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		double sum = base;
		size_t f;
		json_t *ft;
		cr_assert_eq(json_integer_value(json_object_get(it, "item_id")),
		             130 - (json_int_t) i);
		json_array_foreach(json_object_get(it, "features"), f, ft)
		{
			cr_assert(json_is_string(json_object_get(ft, "name")));
			cr_assert(json_is_string(json_object_get(ft, "label")));
			cr_assert(json_is_number(json_object_get(ft, "value")));
			sum += json_number_value(json_object_get(ft, "contribution"));
		}
		cr_assert_float_eq(sum, json_number_value(json_object_get(it, "score")), 1e-4);
	}
	json_t *ft0 = json_array_get(json_object_get(json_array_get(items, 0), "features"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(ft0, "label")),
	                 "the candidate's own score");

	/* no database in these tests: an empty catalog that says so */
	cr_assert(json_is_object(json_object_get(ex, "catalog")));
	cr_assert_eq(json_object_size(json_object_get(ex, "catalog")), 0);
	cr_assert(strstr(json_string_value(json_object_get(ex, "catalog_error")), "unavailable"),
	          "%s", r.body);
	t_resp_free(&r);

	/* without explain: none of it, and ranking is asked for k items only */
	b = get_ok("/v1/users/5/recommendations?k=3", NULL, &r);
	cr_assert_null(json_object_get(b, "explain"));
	cr_assert_eq(t_fake.last_rank_explain_items, 0);
	t_resp_free(&r);
}

Test(inspector, history_lists_the_feature_history_newest_first)
{
	t_resp r;
	t_start(T_ALL);
	json_t *b = get_ok("/v1/users/5/history?limit=7", NULL, &r);
	cr_assert_eq(t_fake.last_feat_max_events, 7);
	cr_assert_eq(json_integer_value(json_object_get(b, "user_id")), 5);
	json_t *ev = json_object_get(b, "events");
	cr_assert_eq(json_array_size(ev), 2, "%s", r.body);
	json_t *e0 = json_array_get(ev, 0), *e1 = json_array_get(ev, 1);
	cr_assert_eq(json_integer_value(json_object_get(e0, "item_id")), 7);
	cr_assert_str_eq(json_string_value(json_object_get(e0, "type")), "view");
	cr_assert_eq(json_integer_value(json_object_get(e0, "ts_ms")), 1700000000000LL);
	cr_assert_str_eq(json_string_value(json_object_get(e1, "type")), "purchase");
	cr_assert(json_is_string(json_object_get(e0, "title")));
	cr_assert(json_is_null(json_object_get(e0, "price")), "no catalog here: %s", r.body);
	cr_assert(json_is_string(json_object_get(b, "catalog_error")));
	t_resp_free(&r);
	get_ok("/v1/users/5/history", NULL, &r);
	cr_assert_eq(t_fake.last_feat_max_events, 50);
	t_resp_free(&r);
	expect_error_naming("/v1/users/5/history?limit=0", NULL, 400, "bad_request", "limit");
	expect_error_naming("/v1/users/5/history?limit=201", NULL, 400, "bad_request", "limit");
	expect_error_naming("/v1/users/x/history", NULL, 400, "bad_request", "user id");
	/* feature down: 503 */
	t_stop_fake(T_FEATURE);
	expect_error_naming("/v1/users/5/history", NULL, 503, "unavailable", "history");
}

Test(inspector, history_needs_user_access)
{
	t_resp r;
	t_start(T_ALL);
	t_cred = NULL; /* anonymous */
	t_http("GET", "/v1/users/5/history", NULL, NULL, &r);
	cr_assert_eq(r.status, 401, "%ld %s", r.status, r.body);
	t_resp_free(&r);
	get_ok("/v1/users/5/history", T_CRED_ADMIN, &r);
	t_resp_free(&r);
}
