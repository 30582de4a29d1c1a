/* Rollback is one admin call: two published versions, activate B over HTTP while customers keep
 * asking for recommendations, see B in the answers, roll back to A, see A again; no request
 * fails meanwhile. Also who may call the admin routes (401, 403) and the 400/404/405 answers. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "it_models.h"
#include "stack.h"

#define TOKEN "it-admin-token-0123456789abcdef"

static test_stack st;

static void
kill_leftovers(void)
{
	stack_kill_all(&st);
}
static const char *const auth[] = {"Authorization: Bearer " TOKEN, NULL};
/* the customers' traffic comes from the marketplace's backend: an API key */
static char key_header[200];
static const char *const key[] = {key_header, NULL};

static json_t *
call_json(const char *method, const char *path, const char *const *hdr, long want)
{
	http_reply r;
	json_error_t jerr;
	cr_assert_eq(http_do_h(&st, method, path, NULL, hdr, &r), 0, "%s %s failed", method, path);
	cr_assert_eq(r.status, want, "%s %s: status %ld, body %s", method, path, r.status, r.body);
	cr_assert(strstr(r.content_type, "application/json") != NULL, "%s %s: content type %s",
	          method, path, r.content_type);
	/* a 401 names the scheme (RFC 7235), and a wrong token says so (RFC 6750) */
	int wrong_token = hdr != NULL && strncmp(hdr[0], "Authorization: Bearer ", 22) == 0;
	if (want == 401)
		cr_assert_str_eq(r.www_authenticate,
		                 wrong_token ? "Bearer realm=\"recsys\", error=\"invalid_token\""
		                             : "Bearer realm=\"recsys\"",
		                 "%s %s", method, path);
	else
		cr_assert_str_eq(r.www_authenticate, "", "%s %s", method, path);
	json_t *j = json_loads(r.body, 0, &jerr);
	cr_assert_not_null(j, "%s %s: not JSON: %s", method, path, r.body);
	http_reply_free(&r);
	return j;
}

/* An error answer with this status and error code. */
static void
expect_error(const char *method, const char *path, const char *const *hdr, long want,
             const char *code)
{
	json_t *j = call_json(method, path, hdr, want);
	json_t *e = json_object_get(j, "error");
	cr_assert_str_eq(json_string_value(json_object_get(e, "code")), code, "%s %s", method,
	                 path);
	cr_assert(json_is_string(json_object_get(e, "message")));
	json_decref(j);
}

/* Background customers: recommendations back to back, every answer checked. */
typedef struct load {
	atomic_int stop;
	int requests, failed, degraded;
	char versions[4][64];
	int nversions, version_overflow;
	char first_failure[300];
} load;

static void
load_note_version(load *l, const char *v)
{
	for (int i = 0; i < l->nversions; i++)
		if (strcmp(l->versions[i], v) == 0)
			return;
	if (l->nversions < 4)
		snprintf(l->versions[l->nversions++], sizeof(l->versions[0]), "%s", v);
	else
		l->version_overflow = 1;
}

static void *
load_run(void *arg)
{
	load *l = arg;
	char path[96];
	for (int i = 0; !atomic_load(&l->stop); i++) {
		http_reply r;
		json_error_t jerr;
		snprintf(path, sizeof(path), "/v1/users/%d/recommendations?k=5", i % 50 + 1);
		int rc = http_do_h(&st, "GET", path, NULL, key, &r);
		l->requests++;
		json_t *j = rc == 0 && r.status == 200 ? json_loads(r.body, 0, &jerr) : NULL;
		if (j == NULL) {
			if (l->failed++ == 0)
				snprintf(l->first_failure, sizeof(l->first_failure),
				         "%s: rc %d status %ld %s", path, rc, r.status,
				         r.body != NULL ? r.body : "");
		} else {
			if (json_is_true(json_object_get(j, "degraded")))
				l->degraded++;
			const char *v = json_string_value(json_object_get(j, "model_version"));
			load_note_version(l, v != NULL ? v : "(none)");
			json_decref(j);
		}
		http_reply_free(&r);
	}
	return NULL;
}

/* Polls user 1's recommendations until they report version v (at most timeout_ms). */
static int
wait_version(const char *v, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		json_t *j = call_json("GET", "/v1/users/1/recommendations?k=5", key, 200);
		int same = strcmp(json_string_value(json_object_get(j, "model_version")), v) == 0;
		json_decref(j);
		if (same)
			return waited;
		usleep(50 * 1000);
	}
	return -1;
}

static void
activate(const char *version, const char *want_previous)
{
	char path[200];
	snprintf(path, sizeof(path), "/v1/admin/models/%s/activate", version);
	json_t *j = call_json("POST", path, auth, 200);
	cr_assert_str_eq(json_string_value(json_object_get(j, "active")), version);
	cr_assert_str_eq(json_string_value(json_object_get(j, "previous")), want_previous);
	json_decref(j);
}

/* SIGTERM the gateway, start it again with the current extra_env, wait for /healthz. */
static void
restart_gateway(void)
{
	http_reply r = {0};
	int up = 0;
	cr_assert_eq(stack_stop_one(&st, 4), 0, "the gateway did not exit 0 on SIGTERM");
	cr_assert_eq(stack_start_one(&st, 4), 0);
	for (int tries = 0; tries < 100 && !up; tries++) {
		up = http_do(&st, "GET", "/healthz", NULL, &r) == 0 && r.status == 200;
		http_reply_free(&r);
		if (!up)
			usleep(100 * 1000);
	}
	cr_assert(up, "the gateway did not come back");
}

Test(admin, rollback_is_one_call_and_no_request_fails, .timeout = 120, .fini = kill_leftovers)
{
	char root[] = "/tmp/rs-it-admin-XXXXXX";

	curl_global_init(CURL_GLOBAL_DEFAULT);
	fx_tmpdir(root);
	cr_assert_eq(stack_db_reset(&st, "rs_it_admin"), 0);
	cr_assert_eq(stack_sql(&st, it_seed_sql), 0, "seeding failed");
	itm_publish(&st, root, "it-A", 0, "{\"ndcg@10\": 0.31, \"recall@20\": 0.42}");
	itm_publish(&st, root, "it-B", 1, "{\"ndcg@10\": 0.35, \"recall@20\": 0.47}");
	cr_assert_eq(stack_sql(&st, "select rs_model_activate('it-A');"), 0);
	/* it-A's training runs: the newest one is the version's `run`; it-B has none */
	cr_assert_eq(
	        stack_sql(&st,
	                  "insert into training_runs (run_id, command, started_at, finished_at, "
	                  "status, params, metrics, data_fingerprint, durations, model_version) "
	                  "values ('run-a-old', 'pipeline', now() - interval '2 days', null, "
	                  "'failed', '{}', '{}', null, '{}', 'it-A'), "
	                  "('run-a', 'pipeline', now() - interval '1 hour', now(), 'finished', "
	                  "'{\"factors\": 8}', '{\"als\": {\"NDCG@20\": 0.31}}', "
	                  "'0123456789abcdef', '{\"fit\": 1.5}', 'it-A');"),
	        0);
	char apikey[160];
	cr_assert_eq(stack_apikey(&st, "admin-test", apikey, sizeof(apikey)), 0);
	snprintf(key_header, sizeof(key_header), "Authorization: Bearer %s", apikey);
	cr_assert_eq(stack_account(&st, "ops", "admin", 0, "it-ops-password"), 0);
	cr_assert_eq(stack_account(&st, "u3", "customer", 3, "it-customer-password"), 0);
	st.extra_env[0] = "RS_ADMIN_TOKEN=" TOKEN;
	cr_assert_eq(stack_start(&st, 18200, 20000), 0, "stack did not become ready");
	cr_assert_geq(wait_version("it-A", 10000), 0, "the services never reported it-A");

	/* The registry as the admin UI sees it. */
	json_t *list = call_json("GET", "/v1/admin/models", auth, 200);
	json_t *models = json_object_get(list, "models");
	cr_assert_eq(json_array_size(models), 2, "models: %zu", json_array_size(models));
	cr_assert_str_eq(json_string_value(json_object_get(list, "active")), "it-A");
	size_t i;
	json_t *m;
	json_array_foreach(models, i, m)
	{
		const char *v = json_string_value(json_object_get(m, "version"));
		cr_assert(v != NULL && (strcmp(v, "it-A") == 0 || strcmp(v, "it-B") == 0));
		cr_assert_eq(json_is_true(json_object_get(m, "active")), strcmp(v, "it-A") == 0);
		cr_assert(json_is_string(json_object_get(m, "created_at")));
		cr_assert(
		        json_is_number(json_object_get(json_object_get(m, "metrics"), "ndcg@10")));
		json_t *run = json_object_get(m, "run");
		if (strcmp(v, "it-B") == 0) {
			cr_assert(json_is_null(run), "it-B has no training run");
			continue;
		}
		cr_assert_str_eq(json_string_value(json_object_get(run, "run_id")), "run-a");
		cr_assert_str_eq(json_string_value(json_object_get(run, "status")), "finished");
		cr_assert_str_eq(json_string_value(json_object_get(run, "data_fingerprint")),
		                 "0123456789abcdef");
		cr_assert(json_is_string(json_object_get(run, "started_at")));
		cr_assert(json_is_string(json_object_get(run, "finished_at")));
		cr_assert_float_eq(json_number_value(json_object_get(
		                           json_object_get(json_object_get(run, "metrics"), "als"),
		                           "NDCG@20")),
		                   0.31, 1e-9);
		cr_assert_float_eq(json_number_value(json_object_get(
		                           json_object_get(run, "durations"), "fit")),
		                   1.5, 1e-9);
		cr_assert_eq(json_integer_value(
		                     json_object_get(json_object_get(run, "params"), "factors")),
		             8);
	}
	json_decref(list);

	/* An admin's session works like the token; a customer's does not. */
	char ops[200], cust[200];
	cr_assert_eq(stack_login(&st, "ops", "it-ops-password", ops, sizeof(ops), NULL), 200);
	cr_assert_eq(stack_login(&st, "u3", "it-customer-password", cust, sizeof(cust), NULL), 200);
	const char *const ops_h[] = {ops, NULL}, *const cust_h[] = {cust, NULL};
	list = call_json("GET", "/v1/admin/models", ops_h, 200);
	cr_assert_eq(json_array_size(json_object_get(list, "models")), 2);
	json_decref(list);
	json_t *again = call_json("POST", "/v1/admin/models/it-A/activate", ops_h, 200);
	cr_assert_str_eq(json_string_value(json_object_get(again, "previous")), "it-A");
	json_decref(again);
	expect_error("GET", "/v1/admin/models", cust_h, 403, "forbidden");
	expect_error("POST", "/v1/admin/models/it-B/activate", cust_h, 403, "forbidden");
	expect_error("GET", "/v1/admin/models", key, 403, "forbidden");

	/* Customers keep coming while the version goes A -> B -> A. */
	load l = {0};
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, load_run, &l), 0);
	usleep(300 * 1000);
	activate("it-B", "it-A");
	int ms_b = wait_version("it-B", 10000);
	usleep(300 * 1000);
	activate("it-A", "it-B");
	int ms_a = wait_version("it-A", 10000);
	usleep(300 * 1000);
	atomic_store(&l.stop, 1);
	pthread_join(th, NULL);
	cr_assert_geq(ms_b, 0, "B never showed in the answers");
	cr_assert_geq(ms_a, 0, "A never came back after the rollback");
	fprintf(stderr,
	        "admin: %d requests during A->B->A, %d failed, %d degraded; B after %d ms, A "
	        "after %d ms; versions seen:",
	        l.requests, l.failed, l.degraded, ms_b, ms_a);
	for (int k = 0; k < l.nversions; k++)
		fprintf(stderr, " %s", l.versions[k]);
	fprintf(stderr, "\n");
	cr_assert_eq(l.failed, 0, "%d of %d requests failed; first: %s", l.failed, l.requests,
	             l.first_failure);
	cr_assert_eq(l.degraded, 0, "%d of %d answers degraded", l.degraded, l.requests);
	cr_assert_gt(l.requests, 10);
	cr_assert_eq(l.version_overflow, 0);
	for (int k = 0; k < l.nversions; k++)
		cr_assert(strcmp(l.versions[k], "it-A") == 0 || strcmp(l.versions[k], "it-B") == 0,
		          "an answer reported version %s", l.versions[k]);

	/* The registry agrees, and re-activating the active version is harmless. */
	char active[64];
	cr_assert_eq(stack_sql_value(&st, "select version from model_versions where active", active,
	                             sizeof(active)),
	             0);
	cr_assert_str_eq(active, "it-A");
	activate("it-A", "it-A");

	/* Who may call, and what bad calls get. */
	const char *const wrong[] = {"Authorization: Bearer it-admin-token-0123456789abcdeX", NULL};
	const char *const basic[] = {"Authorization: Basic YWRtaW46YWRtaW4=", NULL};
	const char *const empty[] = {"Authorization: Bearer ", NULL};
	expect_error("GET", "/v1/admin/models", NULL, 401, "unauthorized");
	expect_error("GET", "/v1/admin/models", wrong, 401, "unauthorized");
	expect_error("GET", "/v1/admin/models", basic, 401, "unauthorized");
	expect_error("GET", "/v1/admin/models", empty, 401, "unauthorized");
	expect_error("POST", "/v1/admin/models/it-B/activate", NULL, 401, "unauthorized");
	expect_error("POST", "/v1/admin/models/it-B/activate", wrong, 401, "unauthorized");
	expect_error("POST", "/v1/admin/models/no-such-version/activate", auth, 404, "not_found");
	expect_error("POST", "/v1/admin/models/bad%01version/activate", auth, 400, "bad_request");
	expect_error("GET", "/v1/admin/models/it-B/activate", auth, 405, "method_not_allowed");
	expect_error("DELETE", "/v1/admin/models", auth, 405, "method_not_allowed");
	cr_assert_eq(stack_sql_value(&st, "select version from model_versions where active", active,
	                             sizeof(active)),
	             0);
	cr_assert_str_eq(active, "it-A", "a refused call changed the active version");
	/* /metrics counts the admin routes like any other (the 401s above). */
	http_reply mr;
	cr_assert_eq(http_do(&st, "GET", "/metrics", NULL, &mr), 0);
	cr_assert(strstr(mr.body, "route=\"admin_activate\",status=\"401\"} 2") != NULL &&
	                  strstr(mr.body, "route=\"admin_models\",status=\"401\"} 4") != NULL,
	          "admin requests not counted in /metrics");
	http_reply_free(&mr);

	/* The registry unreachable: admin answers 503, recommendations do not notice. */
	st.extra_env[1] = "RS_PG_DSN=host=127.0.0.1 port=1 user=postgres dbname=recsys";
	restart_gateway();
	expect_error("GET", "/v1/admin/models", auth, 503, "unavailable");
	expect_error("POST", "/v1/admin/models/it-B/activate", auth, 503, "unavailable");
	/* (a gateway that started without its database has no API keys yet: the token here) */
	json_t *rec = call_json("GET", "/v1/users/1/recommendations?k=5", auth, 200);
	cr_assert(!json_is_true(json_object_get(rec, "degraded")));
	json_decref(rec);

	/* Without RS_ADMIN_TOKEN the admin routes are off: 403, whatever is sent. */
	st.extra_env[0] = NULL; /* also drops the bad DSN */
	restart_gateway();
	expect_error("GET", "/v1/admin/models", NULL, 403, "admin_disabled");
	expect_error("GET", "/v1/admin/models", auth, 403, "admin_disabled");
	expect_error("POST", "/v1/admin/models/it-B/activate", auth, 403, "admin_disabled");
	/* ... except for an admin's session (a new login: the restarted gateway has a new
	 * per-process session key) */
	expect_error("GET", "/v1/admin/models", ops_h, 401, "unauthorized");
	cr_assert_eq(stack_login(&st, "ops", "it-ops-password", ops, sizeof(ops), NULL), 200);
	list = call_json("GET", "/v1/admin/models", ops_h, 200);
	json_decref(list);
	/* the customer's session of the previous process: ended (401, not admin_disabled) */
	expect_error("GET", "/v1/admin/models", cust_h, 401, "unauthorized");

	cr_assert_eq(stack_stop(&st), 0, "a service did not exit 0 on SIGTERM");
	fx_rmtree(root);
	curl_global_cleanup();
}
