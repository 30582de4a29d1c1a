/* The whole system, end to end: PostgreSQL, the five services as processes, real HTTP. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stack.h"

static test_stack st;
static char key_header[200]; /* the API key of the marketplace's backend (stack_apikey) */
static const char *cred[] = {key_header, NULL};

static void
kill_leftovers(void)
{
	stack_kill_all(&st);
}

static void
start_stack(const char *db, int port)
{
	cr_assert_eq(stack_db_reset(&st, db), 0);
	cr_assert_eq(stack_sql(&st, it_seed_sql), 0, "seeding failed");
	char key[160];
	cr_assert_eq(stack_apikey(&st, "system-test", key, sizeof(key)), 0, "apikey create");
	snprintf(key_header, sizeof(key_header), "Authorization: Bearer %s", key);
	cr_assert_eq(stack_start(&st, port, 20000), 0, "stack did not become ready");
}

static json_t *
get_json(const char *path, long want_status)
{
	http_reply r;
	json_error_t jerr;
	cr_assert_eq(http_do_h(&st, "GET", path, NULL, cred, &r), 0, "GET %s failed", path);
	cr_assert_eq(r.status, want_status, "GET %s: status %ld, body %s", path, r.status, r.body);
	cr_assert(strstr(r.content_type, "application/json") != NULL, "GET %s: content type %s",
	          path, r.content_type);
	json_t *j = json_loads(r.body, 0, &jerr);
	cr_assert_not_null(j, "GET %s: not JSON: %s", path, r.body);
	http_reply_free(&r);
	return j;
}

static int
rec_position(json_t *rec, long long item)
{
	json_t *items = json_object_get(rec, "items");
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		if (json_integer_value(json_object_get(it, "item_id")) == item)
			return (int) i;
	}
	return -1;
}

static void
post_events(const char *body, int want_accepted)
{
	http_reply r;
	json_error_t jerr;
	cr_assert_eq(http_do_h(&st, "POST", "/v1/events", body, cred, &r), 0);
	cr_assert_eq(r.status, 202, "POST /v1/events: %ld %s", r.status, r.body);
	json_t *j = json_loads(r.body, 0, &jerr);
	cr_assert_not_null(j);
	cr_assert_eq(json_integer_value(json_object_get(j, "accepted")), want_accepted, "%s",
	             r.body);
	json_decref(j);
	http_reply_free(&r);
}

Test(system, posted_events_change_recommendations, .timeout = 120, .fini = kill_leftovers)
{
	char body[8192];
	size_t n = 0;

	start_stack("rs_it_events", 18180);

	json_t *before = get_json("/v1/users/1/recommendations?k=10", 200);
	cr_assert_gt(json_array_size(json_object_get(before, "items")), 0, "no recommendations");
	cr_assert_str_neq(json_string_value(json_object_get(before, "model_version")), "");
	json_decref(before);

	/* Customers 10..39 buy item 37: it must become the top pick for user 1, who has not. */
	n += (size_t) snprintf(body + n, sizeof(body) - n, "{\"events\": [");
	for (int u = 10; u < 40; u++)
		n += (size_t) snprintf(
		        body + n, sizeof(body) - n,
		        "%s{\"event_id\": \"it-buy-%d\", \"user_id\": %d, \"item_id\": 37, "
		        "\"type\": \"purchase\"}",
		        u > 10 ? "," : "", u, u);
	snprintf(body + n, sizeof(body) - n, "]}");
	post_events(body, 30);

	/* Retrying the same batch stores nothing twice. */
	http_reply r;
	cr_assert_eq(http_do_h(&st, "POST", "/v1/events", body, cred, &r), 0);
	cr_assert_eq(r.status, 202);
	cr_assert(strstr(r.body, "\"duplicates\": 30") != NULL ||
	                  strstr(r.body, "\"duplicates\":30") != NULL,
	          "retry: %s", r.body);
	http_reply_free(&r);
	char count[32];
	cr_assert_eq(stack_sql_value(&st,
	                             "select count(*) from events where item_id = 37 and type = 4",
	                             count, sizeof(count)),
	             0);
	cr_assert_str_eq(count, "30", "purchases stored: %s", count);

	int pos = -1;
	for (int tries = 0; tries < 50 && pos != 0; tries++) {
		json_t *rec = get_json("/v1/users/1/recommendations?k=10", 200);
		pos = rec_position(rec, 37);
		json_decref(rec);
		if (pos != 0)
			usleep(100 * 1000);
	}
	cr_assert_eq(pos, 0, "item 37 bought by 30 customers is not user 1's top pick");

	/* A buyer is not offered what they just bought. */
	json_t *buyer = get_json("/v1/users/12/recommendations?k=20", 200);
	cr_assert_eq(rec_position(buyer, 37), -1, "user 12 bought 37 but is offered it");
	json_decref(buyer);

	/* A brand-new customer's first event changes their list within a second. */
	json_t *cold = get_json("/v1/users/777/recommendations?k=10", 200);
	char *cold_s = json_dumps(json_object_get(cold, "items"), JSON_COMPACT);
	json_decref(cold);
	post_events("{\"event_id\": \"it-new-1\", \"user_id\": 777, \"item_id\": 5, \"type\": "
	            "\"view\"}",
	            1);
	int changed = 0;
	for (int tries = 0; tries < 20 && !changed; tries++) {
		json_t *warm = get_json("/v1/users/777/recommendations?k=10", 200);
		char *warm_s = json_dumps(json_object_get(warm, "items"), JSON_COMPACT);
		changed = strcmp(warm_s, cold_s) != 0;
		free(warm_s);
		json_decref(warm);
		if (!changed)
			usleep(50 * 1000);
	}
	free(cold_s);
	cr_assert(changed, "user 777's recommendations did not react to their first event");

	cr_assert_eq(stack_stop(&st), 0, "a service did not exit 0 on SIGTERM");
}

static void
expect_error(const char *method, const char *path, const char *body, long status)
{
	http_reply r;
	json_error_t jerr;
	cr_assert_eq(http_do_h(&st, method, path, body, cred, &r), 0, "%s %s failed", method, path);
	cr_assert_eq(r.status, status, "%s %s: got %ld %s", method, path, r.status, r.body);
	cr_assert(strstr(r.content_type, "application/json") != NULL, "%s %s: content type %s",
	          method, path, r.content_type);
	json_t *j = json_loads(r.body, 0, &jerr);
	cr_assert_not_null(j, "%s %s: error body is not JSON: %s", method, path, r.body);
	json_t *e = json_object_get(j, "error");
	cr_assert(json_is_object(e), "%s %s: no error object: %s", method, path, r.body);
	cr_assert(json_is_string(json_object_get(e, "message")), "%s", r.body);
	json_decref(j);
	http_reply_free(&r);
}

Test(system, bad_requests_get_json_errors, .timeout = 120, .fini = kill_leftovers)
{
	start_stack("rs_it_errors", 18280);
	expect_error("GET", "/v1/users/abc/recommendations?k=5", NULL, 400);
	expect_error("GET", "/v1/users/-3/recommendations?k=5", NULL, 400);
	expect_error("GET", "/v1/users/1/recommendations?k=0", NULL, 400);
	expect_error("GET", "/v1/users/1/recommendations?k=100000", NULL, 400);
	expect_error("GET", "/v1/users/1/recommendations?k=ten", NULL, 400);
	expect_error("GET", "/v1/nothing-here", NULL, 404);
	expect_error("POST", "/v1/events", "{\"events\": [", 400);
	expect_error("POST", "/v1/events", "[1, 2", 400);
	/* Nothing bad was stored, and the services are still up. */
	char count[32];
	cr_assert_eq(stack_sql_value(&st, "select count(*) from events where event_id like 'it-%'",
	                             count, sizeof(count)),
	             0);
	cr_assert_str_eq(count, "0");
	json_t *ok = get_json("/readyz", 200);
	json_decref(ok);
	cr_assert_eq(stack_stop(&st), 0, "a service did not exit 0 on SIGTERM");
}

Test(system, a_downstream_that_is_down_never_hangs_the_gateway, .timeout = 120,
     .fini = kill_leftovers)
{
	start_stack("rs_it_down", 18380);

	/* Ranking down: still 200, in candidate order, marked degraded. */
	stack_kill(&st, 3);
	json_t *rec = get_json("/v1/users/1/recommendations?k=5", 200);
	cr_assert(json_is_true(json_object_get(rec, "degraded")), "ranking down but not degraded");
	cr_assert_gt(json_array_size(json_object_get(rec, "items")), 0);
	json_decref(rec);
	json_t *ready = get_json("/readyz", 503);
	json_decref(ready);

	/* Ingest down: a clear 503 JSON quickly, never a hang. */
	stack_kill(&st, 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_error("POST", "/v1/events", "{\"user_id\": 1, \"item_id\": 2, \"type\": \"view\"}",
	             503);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms =
	        (double) (t1.tv_sec - t0.tv_sec) * 1e3 + (double) (t1.tv_nsec - t0.tv_nsec) / 1e6;
	cr_assert_lt(ms, 3000.0, "503 took %.0f ms", ms);
	cr_assert_eq(stack_stop(&st), 0, "a service did not exit 0 on SIGTERM");
}
