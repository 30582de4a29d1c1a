/* An experiment end to end through the real stack: two published versions and the popular list
 * served at once under one running experiment. Every customer's answer names the experiment
 * and the variant the assignment rule gives (gw_exp_bucket) and comes from that variant's
 * version (or the popular list); the gateway stores every list it served (one impressions row:
 * the answer's rec_id, customer, experiment, variant, version and items in the order served),
 * a client's post of such a list is refused (409), events sent back with the answer's ids land
 * in PostgreSQL, and the report counts the served items and the clicks per variant; stopping the
 * experiment puts everyone back on the active version. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experiments.h"
#include "it_models.h"
#include "stack.h"

#define TOKEN  "it-exp-token-0123456789abcdef"
#define SALT   "it-experiment-salt-16+"
#define NUSERS 50

static test_stack st;

static void
kill_leftovers(void)
{
	stack_kill_all(&st);
}

static const char *const admin[] = {"Authorization: Bearer " TOKEN, NULL};
static char key_header[200];
static const char *const key[] = {key_header, NULL};

static json_t *
call(const char *method, const char *path, const char *body, const char *const *hdr, long want)
{
	http_reply r;
	json_error_t jerr;
	cr_assert_eq(http_do_h(&st, method, path, body, hdr, &r), 0, "%s %s failed", method, path);
	cr_assert_eq(r.status, want, "%s %s: status %ld, body %s", method, path, r.status, r.body);
	json_t *j = json_loads(r.body, 0, &jerr);
	cr_assert_not_null(j, "%s %s: not JSON: %s", method, path, r.body);
	http_reply_free(&r);
	return j;
}

static long
sql_long(const char *sql)
{
	char v[64];
	cr_assert_eq(stack_sql_value(&st, sql, v, sizeof(v)), 0, "%s", sql);
	return atol(v);
}

Test(experiments, two_versions_and_popular_served_at_once, .timeout = 180, .fini = kill_leftovers)
{
	char root[] = "/tmp/rs-it-exp-XXXXXX", path[160], body[1024];

	curl_global_init(CURL_GLOBAL_DEFAULT);
	fx_tmpdir(root);
	cr_assert_eq(stack_db_reset(&st, "rs_it_experiments"), 0);
	cr_assert_eq(stack_sql(&st, it_seed_sql), 0, "seeding failed");
	itm_publish(&st, root, "it-A", 0, "{}");
	itm_publish(&st, root, "it-B", 1, "{}");
	cr_assert_eq(stack_sql(&st, "select rs_model_activate('it-A');"), 0);
	char apikey[160];
	cr_assert_eq(stack_apikey(&st, "exp-test", apikey, sizeof(apikey)), 0);
	snprintf(key_header, sizeof(key_header), "Authorization: Bearer %s", apikey);
	st.extra_env[0] = "RS_ADMIN_TOKEN=" TOKEN;
	cr_assert_eq(stack_start(&st, 18800, 20000), 0, "stack did not become ready");

	json_t *e =
	        call("POST", "/v1/admin/experiments",
	             "{\"name\": \"A vs B vs popular\", \"primary_metric\": \"ctr\", \"salt\": "
	             "\"" SALT "\", \"variants\": [{\"name\": \"a\", \"model_version\": \"it-A\", "
	             "\"share\": 0.4}, {\"name\": \"b\", \"model_version\": \"it-B\", \"share\": "
	             "0.4}, {\"name\": \"pop\", \"strategy\": \"popular\", \"share\": 0.2}]}",
	             admin, 201);
	json_int_t id = json_integer_value(json_object_get(e, "id"));
	json_decref(e);
	/* before the start nobody is in it */
	json_t *rec = call("GET", "/v1/users/1/recommendations?k=5", NULL, key, 200);
	cr_assert(json_is_null(json_object_get(rec, "experiment")));
	cr_assert(json_is_null(json_object_get(rec, "variant")));
	json_decref(rec);
	snprintf(path, sizeof(path), "/v1/admin/experiments/%lld/start", (long long) id);
	json_decref(call("POST", path, NULL, admin, 200));

	/* the popular list every "pop" customer's answer is drawn from */
	json_t *pop = call("GET", "/v1/popular?k=40", NULL, key, 200);
	const double shares[3] = {0.4, 0.4, 0.2};
	static const char *const names[3] = {"a", "b", "pop"};
	int per[3] = {0}, clicks[3] = {0}, shown[3] = {0};
	static char rec_ids[NUSERS + 1][40], served[NUSERS + 1][400], mvs[NUSERS + 1][64];
	for (int u = 1; u <= NUSERS; u++) {
		snprintf(path, sizeof(path), "/v1/users/%d/recommendations?k=5", u);
		rec = call("GET", path, NULL, key, 200);
		int b = gw_exp_bucket(SALT, u, shares, 3);
		per[b]++;
		cr_assert_eq(json_integer_value(json_object_get(rec, "experiment")), id, "user %d",
		             u);
		cr_assert_str_eq(json_string_value(json_object_get(rec, "variant")), names[b],
		                 "user %d", u);
		cr_assert(!json_is_true(json_object_get(rec, "degraded")), "user %d degraded: %s",
		          u, json_string_value(json_object_get(rec, "degraded_reason")));
		const char *mv = json_string_value(json_object_get(rec, "model_version"));
		if (b < 2) {
			cr_assert_str_eq(mv, b == 0 ? "it-A" : "it-B", "user %d", u);
		} else {
			/* the popular list in its order (without what the customer bought) */
			size_t i, at = 0;
			json_t *it;
			json_t *pitems = json_object_get(pop, "items");
			json_array_foreach(json_object_get(rec, "items"), i, it)
			{
				json_int_t want =
				        json_integer_value(json_object_get(it, "item_id"));
				while (at < json_array_size(pitems) &&
				       json_integer_value(json_object_get(
				               json_array_get(pitems, at), "item_id")) != want)
					at++;
				cr_assert_lt(
				        at, json_array_size(pitems),
				        "user %d: item %lld is not on the popular list in order", u,
				        (long long) want);
			}
		}
		/* the gateway records what it served (checked below); a client that posts the same
		 * list is refused: it would count twice. A click on the first item for every other
		 * customer. */
		json_t *items = json_object_get(rec, "items");
		cr_assert_gt(json_array_size(items), 0, "user %d got no items", u);
		const char *rid = json_string_value(json_object_get(rec, "rec_id"));
		snprintf(rec_ids[u], sizeof(rec_ids[u]), "%s", rid);
		snprintf(mvs[u], sizeof(mvs[u]), "%s", mv != NULL ? mv : "");
		shown[b] += (int) json_array_size(items);
		size_t n = 0, sn = (size_t) snprintf(served[u], sizeof(served[u]), "{");
		n += (size_t) snprintf(body + n, sizeof(body) - n,
		                       "{\"rec_id\": \"%s\", \"user_id\": %d, \"variant\": \"%s\", "
		                       "\"experiment\": %lld, \"items\": [",
		                       rid, u, names[b], (long long) id);
		for (size_t i = 0; i < json_array_size(items); i++) {
			long long item = (long long) json_integer_value(
			        json_object_get(json_array_get(items, i), "item_id"));
			n += (size_t) snprintf(body + n, sizeof(body) - n,
			                       "%s{\"item_id\": %lld, \"position\": %zu}",
			                       i ? ", " : "", item, i + 1);
			sn += (size_t) snprintf(served[u] + sn, sizeof(served[u]) - sn, "%s%lld",
			                        i ? "," : "", item);
		}
		snprintf(body + n, sizeof(body) - n, "]}");
		snprintf(served[u] + sn, sizeof(served[u]) - sn, "}");
		json_decref(call("POST", "/v1/impressions", body, key, 409));
		if (u % 2 == 0) {
			snprintf(body, sizeof(body),
			         "{\"events\": [{\"event_id\": \"it-exp-click-%d\", \"user_id\": "
			         "%d, "
			         "\"item_id\": %lld, \"type\": \"click\", \"rec_id\": \"%s\", "
			         "\"variant\": "
			         "\"%s\", \"position\": 1}]}",
			         u, u,
			         (long long) json_integer_value(
			                 json_object_get(json_array_get(items, 0), "item_id")),
			         rid, names[b]);
			json_decref(call("POST", "/v1/events", body, key, 202));
			clicks[b]++;
		}
		/* the same customer, again: the same variant */
		json_t *again = call("GET", path, NULL, key, 200);
		cr_assert_str_eq(json_string_value(json_object_get(again, "variant")), names[b]);
		shown[b] += (int) json_array_size(json_object_get(again, "items"));
		json_decref(again);
		json_decref(rec);
	}
	json_decref(pop);
	cr_assert(per[0] > 0 && per[1] > 0 && per[2] > 0, "a variant got nobody: %d %d %d", per[0],
	          per[1], per[2]);

	/* what reached PostgreSQL, then the report */
	long imps = 0, evs = 0;
	for (int i = 0; i < 200 && (imps < 2 * NUSERS || evs < NUSERS / 2); i++) {
		imps = sql_long("select count(*) from impressions where experiment_id is not null");
		evs = sql_long("select count(*) from events where event_id like 'it-exp-click-%'");
		if (imps < 2 * NUSERS || evs < NUSERS / 2)
			usleep(50 * 1000);
	}
	cr_assert_eq(imps, 2 * NUSERS, "%ld served lists stored, 2 per customer asked for", imps);
	cr_assert_eq(evs, NUSERS / 2, "%ld clicks stored", evs);
	/* each stored list is the answer as served: its customer, experiment, variant, version
	 * and items in order */
	for (int u = 1; u <= NUSERS; u++) {
		char q[512], got[512], want[512];
		int b = gw_exp_bucket(SALT, u, shares, 3);
		snprintf(q, sizeof(q),
		         "select user_id || '|' || experiment_id || '|' || variant || '|' || "
		         "items::text || '|' || surface || '|' || degraded || '|' || "
		         "coalesce(model_version, '') from impressions where rec_id = '%s'",
		         rec_ids[u]);
		cr_assert_eq(stack_sql_value(&st, q, got, sizeof(got)), 0, "%s", q);
		snprintf(want, sizeof(want), "%d|%lld|%s|%s|recommendations|false|%s", u,
		         (long long) id, names[b], served[u], mvs[u]);
		cr_assert_str_eq(got, want, "user %d", u);
	}
	snprintf(path, sizeof(path), "/v1/admin/experiments/%lld/report", (long long) id);
	json_t *rep = call("GET", path, NULL, admin, 200);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(rep, "variants"), i, v)
	{
		json_t *t = json_object_get(v, "totals");
		cr_assert_str_eq(json_string_value(json_object_get(v, "name")), names[i]);
		cr_assert_eq(json_integer_value(json_object_get(t, "exposed")), per[i],
		             "variant %s", names[i]);
		cr_assert_eq(json_integer_value(json_object_get(t, "clicks")), clicks[i],
		             "variant %s", names[i]);
		cr_assert_eq(json_integer_value(json_object_get(t, "impressions")), shown[i],
		             "variant %s: every item of every list served to its customers",
		             names[i]);
		cr_assert_eq(json_array_size(json_object_get(v, "days")), 1);
	}
	cr_assert_eq(
	        json_array_size(json_object_get(json_object_get(rep, "primary"), "comparisons")),
	        2);
	json_decref(rep);

	/* the versions held at once: in each service the active one (it-A) plus the one other
	 * version the experiment serves (it-B) in its LRU; its heap (rs_model_bytes) printed */
	http_reply mr;
	cr_assert_eq(http_do(&st, "GET", "/metrics", NULL, &mr), 0);
	static const char *const svcs[3] = {"feature", "candidate", "ranking"};
	for (int k = 0; k < 3; k++) {
		char want[96], bytes_key[96];
		snprintf(want, sizeof(want), "rs_model_cache_versions{svc=\"%s\"} 1\n", svcs[k]);
		cr_assert(strstr(mr.body, want) != NULL,
		          "%s does not hold exactly one extra version", svcs[k]);
		snprintf(bytes_key, sizeof(bytes_key), "rs_model_cache_bytes{svc=\"%s\"} ",
		         svcs[k]);
		const char *b = strstr(mr.body, bytes_key);
		cr_assert_not_null(b);
		fprintf(stderr, "experiments: %s holds 1 extra version, %.0f bytes (40 items)\n",
		        svcs[k], strtod(b + strlen(bytes_key), NULL));
	}
	http_reply_free(&mr);

	/* stopped: everyone is back on the active version, outside any experiment */
	snprintf(path, sizeof(path), "/v1/admin/experiments/%lld/stop", (long long) id);
	json_decref(call("POST", path, NULL, admin, 200));
	for (int u = 1; u <= 10; u++) {
		snprintf(path, sizeof(path), "/v1/users/%d/recommendations?k=5", u);
		rec = call("GET", path, NULL, key, 200);
		cr_assert(json_is_null(json_object_get(rec, "experiment")), "user %d", u);
		cr_assert_str_eq(json_string_value(json_object_get(rec, "model_version")), "it-A");
		json_decref(rec);
	}
	fprintf(stderr, "experiments: per variant %d %d %d customers, clicks %d %d %d\n", per[0],
	        per[1], per[2], clicks[0], clicks[1], clicks[2]);

	cr_assert_eq(stack_stop(&st), 0, "a service did not exit 0 on SIGTERM");
	fx_rmtree(root);
	curl_global_cleanup();
}
