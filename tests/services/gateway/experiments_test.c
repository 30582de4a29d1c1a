/* Experiments over real HTTP against a gateway on a real PostgreSQL schema (pg_fixture.h, so
 * 0006_experiments is applied as every suite applies migrations; no downstream is needed):
 * the admin routes and what they refuse (nothing changed), the assignment rule (stable, within
 * chi-square tolerance of the shares, the running experiment as the gateway assigns it), every
 * KPI of the report on a small hand-made event set whose answers are worked out below, the
 * attribution rules and their window edges, and the sample-ratio check on a skewed set. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_fixture.h"
#include "experiments.h"
#include "expstats.h"
#include "gateway.h"
#include "pg_fixture.h"

#define E_TOKEN "experiments-test-admin-token-0123456789"
#define E_AUTH  "Authorization: Bearer " E_TOKEN
#define E_PI    3.14159265358979323846

static fx_pg fx;
static gw_server *gw;
static char base[64];

static void
setup(void)
{
	fx_pg_setup(&fx, "gw_exp");
	fx_sql(&fx, "insert into model_versions (version, path) values ('v1', '/nonexistent/v1'), "
	            "('v2', '/nonexistent/v2'), ('v3', '/nonexistent/v3')");
	gw_config cfg = t_config();
	cfg.pg_dsn = fx.dsn;
	cfg.experiments_refresh_ms = 60000; /* the test reloads itself */
	rs_log_init("gateway-experiments-test", RS_LOG_WARN);
	setenv("RS_ADMIN_TOKEN", E_TOKEN, 1);
	cr_assert_eq(gw_server_open(&gw, &cfg), 0);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", gw_server_port(gw));
}

static void
teardown(void)
{
	gw_server_close(gw);
	gw = NULL;
	fx_pg_teardown(&fx);
}

TestSuite(experiments, .init = setup, .fini = teardown, .timeout = 60);

typedef struct e_resp {
	long status;
	char *body;
	size_t len;
	json_t *json;
} e_resp;

static size_t
e_write(char *p, size_t sz, size_t nm, void *ud)
{
	e_resp *r = ud;
	size_t n = sz * nm;
	char *nb = realloc(r->body, r->len + n + 1);
	if (nb == NULL)
		return 0;
	memcpy(nb + r->len, p, n);
	r->len += n;
	nb[r->len] = '\0';
	r->body = nb;
	return n;
}

static void
e_http(const char *method, const char *path, const char *body, e_resp *out)
{
	char url[1024];
	struct curl_slist *h = NULL;
	json_error_t jerr;
	CURL *c = curl_easy_init();
	cr_assert_not_null(c);
	memset(out, 0, sizeof(*out));
	snprintf(url, sizeof(url), "%s%s", base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, e_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	h = curl_slist_append(h, "Expect:");
	h = curl_slist_append(h, E_AUTH);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
	}
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(h);
	cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_cleanup(c);
	if (out->body == NULL)
		out->body = calloc(1, 1);
	out->json = json_loads(out->body, 0, &jerr);
}

static void
e_free(e_resp *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* The answer's JSON (status checked); the caller json_decrefs it. */
static json_t *
e_ok(const char *method, const char *path, const char *body, long status)
{
	e_resp r;
	e_http(method, path, body, &r);
	cr_assert_eq(r.status, status, "%s %s: %ld %s", method, path, r.status, r.body);
	cr_assert_not_null(r.json, "%s %s: not JSON: %s", method, path, r.body);
	json_t *j = json_incref(r.json);
	e_free(&r);
	return j;
}

static void
e_expect(const char *method, const char *path, const char *body, long status, const char *code,
         const char *needle)
{
	e_resp r;
	e_http(method, path, body, &r);
	cr_assert_eq(r.status, status, "%s %s: %ld %s", method, path, r.status, r.body);
	json_t *e = json_object_get(r.json, "error");
	cr_assert(json_is_object(e), "%s %s: %s", method, path, r.body);
	cr_assert_str_eq(json_string_value(json_object_get(e, "code")), code, "%s", r.body);
	if (needle != NULL)
		cr_assert(strstr(json_string_value(json_object_get(e, "message")), needle) != NULL,
		          "%s %s: message %s lacks \"%s\"", method, path, r.body, needle);
	e_free(&r);
}

/* Everything stored about experiments, as one string: a change anywhere changes it. */
static void
state(char *out, size_t n)
{
	PGresult *r = PQexec(
	        fx.conn,
	        "select (select count(*) || ':' || coalesce(md5(string_agg(concat_ws('|', "
	        "experiment_id, name, hypothesis, primary_metric, salt, status, started_at, "
	        "stopped_at), ',' order by experiment_id)), '') from experiments) || '/' || "
	        "(select count(*) || ':' || coalesce(md5(string_agg(concat_ws('|', experiment_id, "
	        "position, name, strategy, model_version, model_kind, share), ',' order by "
	        "experiment_id, position)), '') from experiment_variants)");
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
	snprintf(out, n, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
}

static const char *const good_body =
        "{\"name\": \"two-stage vs popular\", \"hypothesis\": \"lists earn more\", "
        "\"primary_metric\": \"gmv_per_customer\", \"salt\": \"0123456789abcdef-salt\", "
        "\"variants\": [{\"name\": \"control\", \"strategy\": \"popular\", \"share\": 0.5}, "
        "{\"name\": \"treat\", \"model_version\": \"v1\", \"share\": 0.5}]}";

Test(experiments, admin_routes_refuse_bad_input_and_change_nothing)
{
	char before[160], after[160];
	json_t *j = e_ok("POST", "/v1/admin/experiments", good_body, 201);
	json_int_t id = json_integer_value(json_object_get(j, "id"));
	cr_assert_gt(id, 0);
	cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "draft");
	cr_assert_str_eq(json_string_value(json_object_get(j, "salt")), "0123456789abcdef-salt");
	cr_assert_str_eq(json_string_value(json_object_get(j, "primary_metric")),
	                 "gmv_per_customer");
	json_t *vs = json_object_get(j, "variants");
	cr_assert_eq(json_array_size(vs), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(vs, 0), "strategy")),
	                 "popular");
	cr_assert(json_is_null(json_object_get(json_array_get(vs, 0), "model_version")));
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(vs, 1), "model_version")),
	                 "v1");
	cr_assert(json_is_null(json_object_get(j, "started_at")));
	json_decref(j);

	state(before, sizeof(before));
	static const struct {
		const char *body, *needle;
	} bad[] = {
	        {"{\"name\": \"x\", \"primary_metric\": \"ctr\", \"variants\": [{\"name\": \"a\", "
	         "\"model_version\": \"v1\", \"share\": 0.5}, {\"name\": \"b\", \"model_version\": "
	         "\"v2\", \"share\": 0.4}]}",
	         "sum to 1"},
	        {"{\"name\": \"x\", \"primary_metric\": \"ctr\", \"variants\": [{\"name\": \"a\", "
	         "\"model_version\": \"v1\", \"share\": 0.6}, {\"name\": \"b\", \"model_version\": "
	         "\"v2\", \"share\": 0.6}]}",
	         "sum to 1"},
	        {"{\"name\": \"x\", \"primary_metric\": \"ctr\", \"variants\": [{\"name\": \"a\", "
	         "\"model_version\": \"v1\", \"share\": 0.5}, {\"name\": \"b\", \"model_version\": "
	         "\"no-such-version\", \"share\": 0.5}]}",
	         "not published"},
	        {"{\"name\": \"x\", \"primary_metric\": \"revenue\", \"variants\": []}",
	         "primary_metric"},
	        {"{\"name\": \"x\", \"primary_metric\": \"ctr\", \"variants\": [{\"name\": \"a\", "
	         "\"model_version\": \"v1\", \"share\": 1}]}",
	         "2-4 variants"},
	        {"{\"name\": \"x\", \"primary_metric\": \"ctr\", \"variants\": [{\"name\": \"a\", "
	         "\"model_version\": \"v1\", \"share\": 0.5}, {\"name\": \"a\", \"strategy\": "
	         "\"popular\", \"share\": 0.5}]}",
	         "variants[1].name is used"},
	        {"{\"name\": \"x\", \"primary_metric\": \"ctr\", \"variants\": [{\"name\": \"a\", "
	         "\"strategy\": \"popular\", \"model_version\": \"v1\", \"share\": 0.5}, "
	         "{\"name\": "
	         "\"b\", \"strategy\": \"popular\", \"share\": 0.5}]}",
	         "variants[0].model_version must be absent"},
	        {"{\"name\": \"x\", \"primary_metric\": \"ctr\", \"variants\": [{\"name\": \"a\", "
	         "\"model_version\": \"v1\", \"share\": 0.4}, {\"name\": \"b\", \"model_version\": "
	         "\"v2\", \"share\": 0.3}, {\"name\": \"c\", \"model_version\": \"v3\", \"share\": "
	         "0.3}]}",
	         "at most 2 distinct model versions"},
	        {"{\"name\": \"x\", \"primary_metric\": \"ctr\", \"variants\": [{\"name\": \"A!\", "
	         "\"model_version\": \"v1\", \"share\": 0.5}, {\"name\": \"b\", \"model_version\": "
	         "\"v2\", \"share\": 0.5}]}",
	         "variants[0].name"},
	        {"{\"name\": \"x\", \"primary_metric\": \"ctr\", \"salt\": \"short\", "
	         "\"variants\": "
	         "[{\"name\": \"a\", \"model_version\": \"v1\", \"share\": 0.5}, {\"name\": \"b\", "
	         "\"model_version\": \"v2\", \"share\": 0.5}]}",
	         "salt"},
	        {"{\"name\": \"x\", \"primary_metric\": \"ctr\", \"variants\": [{\"name\": \"a\", "
	         "\"model_version\": \"v1\", \"share\": 0}, {\"name\": \"b\", \"model_version\": "
	         "\"v2\", \"share\": 1}]}",
	         "share must be a number in (0, 1]"},
	        {"{\"primary_metric\": \"ctr\"}", "name"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		e_expect("POST", "/v1/admin/experiments", bad[i].body, 400, "bad_request",
		         bad[i].needle);
	e_expect("POST", "/v1/admin/experiments", "{\"name\": ", 400, "bad_json", NULL);
	state(after, sizeof(after));
	cr_assert_str_eq(before, after, "a refused create changed the store");

	/* start, overlap refused, stop, the other one starts, a stopped one never again */
	char path[96], path2[96];
	snprintf(path, sizeof(path), "/v1/admin/experiments/%lld/start", (long long) id);
	j = e_ok("POST", path, NULL, 200);
	cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "running");
	cr_assert(json_is_string(json_object_get(j, "started_at")));
	json_decref(j);
	json_decref(e_ok("POST", path, NULL, 200)); /* already running: unchanged */
	j = e_ok("POST", "/v1/admin/experiments", good_body, 201);
	json_int_t id2 = json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	state(before, sizeof(before));
	snprintf(path2, sizeof(path2), "/v1/admin/experiments/%lld/start", (long long) id2);
	e_expect("POST", path2, NULL, 409, "conflict", "may not overlap");
	snprintf(path2, sizeof(path2), "/v1/admin/experiments/%lld/stop", (long long) id2);
	e_expect("POST", path2, NULL, 409, "conflict", "draft");
	state(after, sizeof(after));
	cr_assert_str_eq(before, after, "a refused start changed the store");

	/* the gateway assigns from the running experiment */
	gw_exp_assignment a;
	double shares[2] = {0.5, 0.5};
	for (int64_t u = 1; u <= 50; u++) {
		gw_experiments_assign(gw->s_experiments, u, &a);
		cr_assert_eq(a.a_experiment, id);
		int b = gw_exp_bucket("0123456789abcdef-salt", u, shares, 2);
		cr_assert_str_eq(a.a_variant, b == 0 ? "control" : "treat");
		cr_assert_eq(a.a_popular, b == 0);
		cr_assert_str_eq(a.a_version, b == 0 ? "" : "v1");
	}

	snprintf(path, sizeof(path), "/v1/admin/experiments/%lld/stop", (long long) id);
	j = e_ok("POST", path, NULL, 200);
	cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "stopped");
	json_decref(j);
	gw_experiments_assign(gw->s_experiments, 7, &a);
	cr_assert_eq(a.a_experiment, 0, "a stopped experiment still assigns");
	snprintf(path2, sizeof(path2), "/v1/admin/experiments/%lld/start", (long long) id2);
	json_decref(e_ok("POST", path2, NULL, 200));
	snprintf(path, sizeof(path), "/v1/admin/experiments/%lld/start", (long long) id);
	e_expect("POST", path, NULL, 409, "conflict", "stopped");

	j = e_ok("GET", "/v1/admin/experiments", NULL, 200);
	cr_assert_eq(json_array_size(json_object_get(j, "experiments")), 2);
	cr_assert_eq(json_integer_value(json_object_get(j, "running")), id2);
	cr_assert_eq(json_integer_value(json_object_get(
	                     json_array_get(json_object_get(j, "experiments"), 0), "id")),
	             id2, "newest first");
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/admin/experiments/%lld", (long long) id);
	j = e_ok("GET", path, NULL, 200);
	cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "stopped");
	cr_assert(json_is_string(json_object_get(j, "stopped_at")));
	json_decref(j);
	e_expect("GET", "/v1/admin/experiments/999999", NULL, 404, "not_found", NULL);
	e_expect("GET", "/v1/admin/experiments/abc", NULL, 400, "bad_request", NULL);
	e_expect("POST", "/v1/admin/experiments/999999/start", NULL, 404, "not_found", NULL);
	e_expect("GET", "/v1/admin/experiments/999999/report", NULL, 404, "not_found", NULL);
}

/* A variant that follows a model kind: the newest published version of the kind (its
 * params->>'model', as rs-train pipeline registers it) is served, a newer one after the next
 * refresh; a kind without a version, a variant naming both, a malformed kind and too many
 * versions (a kind counting as one) are refused with nothing stored. */
Test(experiments, a_model_kind_variant_serves_the_newest_version_of_the_kind)
{
	char before[160], after[160], path[96];
	fx_sql(&fx, "insert into model_versions (version, path, params, created_at) values "
	            "('ts-old', '/nonexistent/ts-old', '{\"model\": \"two-stage\"}', "
	            "now() - interval '2 hours'), "
	            "('ts-new', '/nonexistent/ts-new', '{\"model\": \"two-stage\"}', "
	            "now() - interval '1 hour'), "
	            "('als-1', '/nonexistent/als-1', '{\"model\": \"als\"}', now())");
	static const char *const kind_body =
	        "{\"name\": \"follows two-stage\", \"primary_metric\": \"ctr\", \"salt\": "
	        "\"kind-salt-0123456789\", \"variants\": [{\"name\": \"control\", "
	        "\"strategy\": \"popular\", \"share\": 0.5}, {\"name\": \"ts\", "
	        "\"model_kind\": \"two-stage\", \"share\": 0.5}]}";
	json_t *j = e_ok("POST", "/v1/admin/experiments", kind_body, 201);
	json_int_t id = json_integer_value(json_object_get(j, "id"));
	json_t *v1 = json_array_get(json_object_get(j, "variants"), 1);
	cr_assert_str_eq(json_string_value(json_object_get(v1, "strategy")), "model");
	cr_assert_str_eq(json_string_value(json_object_get(v1, "model_kind")), "two-stage");
	cr_assert(json_is_null(json_object_get(v1, "model_version")));
	cr_assert(json_is_null(json_object_get(v1, "serving_version")), "a draft serves nothing");
	cr_assert(json_is_null(
	        json_object_get(json_array_get(json_object_get(j, "variants"), 0), "model_kind")));
	json_decref(j);

	state(before, sizeof(before));
	static const struct {
		const char *body, *needle;
	} bad[] = {
	        {"{\"name\": \"x\", \"primary_metric\": \"ctr\", \"variants\": [{\"name\": "
	         "\"a\", \"strategy\": \"popular\", \"share\": 0.5}, {\"name\": \"b\", "
	         "\"model_kind\": \"ease\", \"share\": 0.5}]}",
	         "no published model version is of kind \"ease\""},
	        {"{\"name\": \"x\", \"primary_metric\": \"ctr\", \"variants\": [{\"name\": "
	         "\"a\", \"strategy\": \"popular\", \"share\": 0.5}, {\"name\": \"b\", "
	         "\"model_kind\": \"two-stage\", \"model_version\": \"ts-new\", \"share\": "
	         "0.5}]}",
	         "variants[1] names both model_version and model_kind"},
	        {"{\"name\": \"x\", \"primary_metric\": \"ctr\", \"variants\": [{\"name\": "
	         "\"a\", \"strategy\": \"popular\", \"model_kind\": \"als\", \"share\": 0.5}, "
	         "{\"name\": \"b\", \"model_kind\": \"two-stage\", \"share\": 0.5}]}",
	         "variants[0].model_kind must be absent"},
	        {"{\"name\": \"x\", \"primary_metric\": \"ctr\", \"variants\": [{\"name\": "
	         "\"a\", \"strategy\": \"popular\", \"share\": 0.5}, {\"name\": \"b\", "
	         "\"model_kind\": \"Two Stage\", \"share\": 0.5}]}",
	         "variants[1].model_kind must be a model kind"},
	        {"{\"name\": \"x\", \"primary_metric\": \"ctr\", \"variants\": [{\"name\": "
	         "\"a\", \"model_version\": \"v1\", \"share\": 0.4}, {\"name\": \"b\", "
	         "\"model_version\": \"v2\", \"share\": 0.3}, {\"name\": \"c\", "
	         "\"model_kind\": \"als\", \"share\": 0.3}]}",
	         "a model kind counting as one"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		e_expect("POST", "/v1/admin/experiments", bad[i].body, 400, "bad_request",
		         bad[i].needle);
	state(after, sizeof(after));
	cr_assert_str_eq(before, after, "a refused create changed the store");
	/* the same kind twice and one fixed version: two distinct versions, accepted */
	json_decref(e_ok("POST", "/v1/admin/experiments",
	                 "{\"name\": \"x\", \"primary_metric\": \"ctr\", \"variants\": "
	                 "[{\"name\": \"a\", \"model_version\": \"v1\", \"share\": 0.4}, "
	                 "{\"name\": \"b\", \"model_kind\": \"als\", \"share\": 0.3}, "
	                 "{\"name\": \"c\", \"model_kind\": \"als\", \"share\": 0.3}]}",
	                 201));

	/* running: the kind's newest version (ts-new; als-1 is newer but of another kind) */
	snprintf(path, sizeof(path), "/v1/admin/experiments/%lld/start", (long long) id);
	json_decref(e_ok("POST", path, NULL, 200));
	double shares[2] = {0.5, 0.5};
	gw_exp_assignment a;
	for (int round = 0; round < 2; round++) {
		const char *want = round == 0 ? "ts-new" : "ts-newest";
		for (int64_t u = 1; u <= 20; u++) {
			gw_experiments_assign(gw->s_experiments, u, &a);
			int b = gw_exp_bucket("kind-salt-0123456789", u, shares, 2);
			cr_assert_eq(a.a_experiment, id);
			cr_assert_eq(a.a_popular, b == 0);
			cr_assert_str_eq(a.a_version, b == 0 ? "" : want, "customer %lld",
			                 (long long) u);
		}
		snprintf(path, sizeof(path), "/v1/admin/experiments/%lld", (long long) id);
		j = e_ok("GET", path, NULL, 200);
		json_t *vs = json_object_get(j, "variants");
		cr_assert(json_is_null(json_object_get(json_array_get(vs, 0), "serving_version")));
		cr_assert_str_eq(json_string_value(
		                         json_object_get(json_array_get(vs, 1), "serving_version")),
		                 want);
		json_decref(j);
		/* a newer two-stage version is published (not activated): the next refresh */
		fx_sql(&fx, "insert into model_versions (version, path, params) values "
		            "('ts-newest', '/nonexistent/ts-newest', '{\"model\": \"two-stage\"}') "
		            "on conflict do nothing");
		cr_assert_eq(gw_experiments_reload(gw->s_experiments), 0);
	}
}

Test(experiments, assignment_is_stable_and_within_the_shares)
{
	const double shares[3] = {0.5, 0.3, 0.2};
	const int n = 30000;
	int count[3] = {0}, moved = 0;
	for (int64_t u = 1; u <= n; u++) {
		int b = gw_exp_bucket("a-salt-of-16-bytes", u, shares, 3);
		cr_assert(b >= 0 && b < 3);
		cr_assert_eq(b, gw_exp_bucket("a-salt-of-16-bytes", u, shares, 3), "not stable");
		count[b]++;
		moved += b != gw_exp_bucket("another-salt-16-bytes", u, shares, 3);
	}
	double chi2 = 0;
	for (int i = 0; i < 3; i++) {
		double e = n * shares[i];
		chi2 += (count[i] - e) * (count[i] - e) / e;
	}
	/* 13.82 = the chi-square quantile 0.999 with 2 degrees of freedom */
	cr_assert_lt(chi2, 13.82, "counts %d %d %d: chi2 %.2f", count[0], count[1], count[2], chi2);
	/* another salt reshuffles: independent buckets agree with probability sum(s^2) = 0.38 */
	cr_assert(fabs((double) moved / n - 0.62) < 0.02, "moved %d of %d", moved, n);
	/* one variant with everything; the edges of the unit interval */
	const double one[2] = {1e-9, 1 - 1e-9};
	int first = 0;
	for (int64_t u = 1; u <= 1000; u++)
		first += gw_exp_bucket("a-salt-of-16-bytes", u, one, 2) == 0;
	cr_assert_leq(first, 1);
}

Test(experiments, statistics_match_closed_forms)
{
	/* Student's t: df 1 (Cauchy) p = 1 - 2 atan(|t|) / pi, df 2 p = 1 - |t| / sqrt(2 + t^2) */
	const double ts[] = {0.1, 0.83205, 1.5, 4.0, 12.7};
	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		double t = ts[i];
		cr_assert_float_eq(gw_es_t_p2(t, 1), 1 - 2 * atan(t) / E_PI, 1e-10, "t %g", t);
		cr_assert_float_eq(gw_es_t_p2(-t, 2), 1 - t / sqrt(2 + t * t), 1e-10, "t %g", t);
		cr_assert_float_eq(gw_es_norm_p2(t), erfc(t / sqrt(2)), 1e-15);
	}
	/* chi-square: df 2 Q = exp(-x/2), df 1 Q = erfc(sqrt(x/2)) */
	const double xs[] = {0.01, 0.5, 3.0, 13.82, 64.0};
	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
		double x = xs[i];
		cr_assert(fabs(gw_es_chi2_q(x, 2) - exp(-x / 2)) <
		                  1e-12 * fmax(1, exp(-x / 2)) + 1e-15,
		          "x %g: %.17g", x, gw_es_chi2_q(x, 2));
		cr_assert(fabs(gw_es_chi2_q(x, 1) - erfc(sqrt(x / 2))) <
		                  1e-10 * erfc(sqrt(x / 2)) + 1e-15,
		          "x %g: %.17g vs %.17g", x, gw_es_chi2_q(x, 1), erfc(sqrt(x / 2)));
	}
	/* two proportions 30/100 vs 20/100: pooled 0.25, se sqrt(0.25 0.75 0.02) */
	double z, p;
	gw_es_two_prop(30, 100, 20, 100, &z, &p);
	cr_assert_float_eq(z, 0.1 / sqrt(0.25 * 0.75 * 0.02), 1e-12);
	cr_assert_float_eq(p, erfc(fabs(z) / sqrt(2)), 1e-12);
}

/* The hand-made experiment: started 2026-11-01 00:00 UTC, control (popular, customers 1, 2)
 * and treat (v1, customers 3, 4), primary metric gmv_per_customer. */
static const char hand_sql[] =
        "insert into items (item_id, title, price) select g, 'item ' || g, 5 * g "
        "from generate_series(1, 10) g;\n"
        "insert into experiments (name, primary_metric, salt, status, started_at) values "
        "('hand', 'gmv_per_customer', '0123456789abcdef', 'running', '2026-11-01T00:00Z');\n"
        "insert into experiment_variants select experiment_id, 0, 'control', 'popular', null, 0.5 "
        "from experiments; "
        "insert into experiment_variants select experiment_id, 1, 'treat', 'model', 'v1', 0.5 "
        "from experiments;\n"
        /* pre-period activity (the 28 days before the start): customer 1 two events, 3 one,
         * 4 three; 2 none. Items: 1 by three customers, 2 by two, 3 by one. */
        "insert into events (event_id, user_id, item_id, type, ts) values "
        "('p1', 1, 1, 1, '2026-10-20T10:00Z'), ('p2', 1, 2, 1, '2026-10-21T10:00Z'), "
        "('p3', 3, 1, 1, '2026-10-22T10:00Z'), ('p4', 4, 1, 1, '2026-10-23T10:00Z'), "
        "('p5', 4, 2, 1, '2026-10-24T10:00Z'), ('p6', 4, 3, 1, '2026-10-25T10:00Z'), "
        "('p0', 2, 9, 1, '2026-09-01T10:00Z');\n" /* before the pre-period: not counted */
        /* the lists shown (one row per list, items in the order shown) */
        "insert into impressions (rec_id, user_id, items, variant, experiment_id, ts) "
        "select r, u, i::bigint[], v, (select experiment_id from experiments), t::timestamptz "
        "from (values ('c1', 1, '{1,2,3}', 'control', '2026-11-01T10:00Z'), "
        "('c2', 2, '{1,2}', 'control', '2026-11-01T11:00Z'), "
        "('t1', 3, '{4,5}', 'treat', '2026-11-01T09:00Z'), "
        "('t2', 4, '{4,1}', 'treat', '2026-11-01T12:00Z'), "
        "('t3', 4, '{5}', 'treat', '2026-11-02T13:00Z')) s(r, u, i, v, t);\n"
        /* a list outside the experiment */
        "insert into impressions (rec_id, user_id, items, ts) values "
        "('other', 2, '{1}', '2026-11-01T11:01Z');\n"
        "insert into events (event_id, user_id, item_id, type, price, ts, rec_id) values "
        /* customer 1: click and purchase from list c1 (rule 1), back the next day */
        "('e1', 1, 2, 2, null, '2026-11-01T10:05Z', 'c1'), "
        "('e2', 1, 2, 4, 20, '2026-11-01T10:10Z', 'c1'), "
        "('e3', 1, 7, 1, null, '2026-11-02T08:00Z', null), "
        /* customer 2: a click from the list outside the experiment: rule 1 keeps it out
         * although c2 showed item 1 ten minutes before */
        "('e4', 2, 1, 2, null, '2026-11-01T11:05Z', 'other'), "
        /* customer 3: click and add-to-cart without rec_id (window rule, list t1), a purchase
         * exactly 24 h after t1 (the window's edge: included), price from the event */
        "('e5', 3, 4, 2, null, '2026-11-01T09:30Z', null), "
        "('e6', 3, 4, 3, null, '2026-11-01T09:31Z', null), "
        "('e7', 3, 4, 4, 40, '2026-11-02T09:00Z', null), "
        /* customer 4: a click 24 h + 1 s after t2 showed item 1 (outside the window), a
         * purchase from t3 with its rec_id (the event's price 10, not the catalog's 25), and
         * activity on day 7 */
        "('e8', 4, 1, 2, null, '2026-11-02T12:00:01Z', null), "
        "('e9', 4, 5, 4, 10, '2026-11-02T13:30Z', 't3'), "
        "('e10', 4, 3, 1, null, '2026-11-08T10:00Z', null), "
        /* a view is never attributed, whatever it carries */
        "('e11', 1, 3, 1, null, '2026-11-01T10:20Z', 'c1');\n";

static json_t *
variant_of(json_t *report, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(report, "variants"), i,
	                   v) if (strcmp(json_string_value(json_object_get(v, "name")), name) ==
	                          0) return v;
	cr_assert_fail("no variant %s", name);
	return NULL;
}

static double
num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_assert(json_is_number(v), "%s is not a number", key);
	return json_number_value(v);
}

/* a equals b to the 10 significant digits the gateway prints (JSON_REAL_PRECISION(10)) */
static int
close_to(double a, double b)
{
	return fabs(a - b) <= 1e-8 * fmax(1, fabs(b));
}
#define near(a, b, ...) cr_assert(close_to((a), (b)), __VA_ARGS__)

/* KPI key of o: {value, se, lo, hi} checked against value and se (lo/hi = value -+ 1.96 se). */
static void
kpi(json_t *o, const char *key, double value, double se)
{
	json_t *k = json_object_get(o, key);
	cr_assert(json_is_object(k), "%s: %s", key, json_dumps(o, 0));
	near(num(k, "value"), value, "%s value %.12g", key, num(k, "value"));
	near(num(k, "se"), se, "%s se %.12g", key, num(k, "se"));
	near(num(k, "lo"), value - 1.959963984540054 * se, "%s lo %.12g", key, num(k, "lo"));
	near(num(k, "hi"), value + 1.959963984540054 * se, "%s hi %.12g", key, num(k, "hi"));
}

static json_t *
day_of(json_t *v, const char *day)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(v, "days"), i,
	                   d) if (strcmp(json_string_value(json_object_get(d, "day")), day) ==
	                          0) return d;
	cr_assert_fail("no day %s", day);
	return NULL;
}

Test(experiments, every_kpi_on_a_hand_made_set)
{
	fx_sql(&fx, hand_sql);
	e_resp r;
	e_http("GET", "/v1/admin/experiments/1/report", NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *rep = r.json;
	cr_assert_eq(json_integer_value(json_object_get(rep, "catalog_items")), 10);
	cr_assert_eq(json_integer_value(
	                     json_object_get(json_object_get(rep, "attribution"), "window_hours")),
	             24);

	/* control: customer 1 (3 impressions, 1 click, 1 order of 20), customer 2 (2 impressions,
	 * nothing attributed) */
	json_t *c = json_object_get(variant_of(rep, "control"), "totals");
	cr_assert_eq(num(c, "exposed"), 2);
	cr_assert_eq(num(c, "impressions"), 5);
	cr_assert_eq(num(c, "clicks"), 1);
	cr_assert_eq(num(c, "add_to_carts"), 0);
	cr_assert_eq(num(c, "orders"), 1);
	cr_assert_eq(num(c, "buyers"), 1);
	near(num(c, "gmv"), 20, "gmv %.12g", num(c, "gmv"));
	/* CTR 1/5; units (imps, clicks) (3,1), (2,0): var x 0.5, var y 0.5, cov 0.5,
	 * se^2 = (0.5 - 2 0.2 0.5 + 0.04 0.5) / (2 2.5^2) = 0.0256 */
	kpi(c, "ctr", 0.2, 0.16);
	kpi(c, "add_to_cart_rate", 0, 0);
	kpi(c, "conversion", 0.5, sqrt(0.25 / 2));
	kpi(c, "gmv_per_customer", 10, 10); /* (20, 0): s^2 200, se sqrt(200/2) */
	kpi(c, "arppu", 20, 0);
	kpi(c, "aov", 20, 0);
	/* retention: both first exposed on 11-01; 1 came back on 11-02, nobody on 11-08 */
	kpi(c, "retention_d1", 0.5, sqrt(0.25 / 2));
	kpi(c, "retention_d7", 0, 0);
	near(num(c, "coverage"), 0.3, "coverage %.12g",
	     num(c, "coverage")); /* items 1, 2, 3 of 10 */
	/* novelty: N = 3 pre-period customers; item 1 by 3 -> -log2(4/4) = 0, item 2 by 2 ->
	 * -log2(3/4), item 3 by 1 -> 1; shown 1, 2, 3, 1, 2 */
	near(num(c, "novelty"), (2 * -log2(0.75) + 1) / 5, "novelty %.12g", num(c, "novelty"));
	near(num(c, "ltv"), 10, "ltv %.12g", num(c, "ltv"));
	/* 2 days of data per customer (11-01 and 11-02): 10 * 30 / 2 */
	near(num(c, "ltv_projected_30d"), 150, "ltv_projected_30d %.12g",
	     num(c, "ltv_projected_30d"));

	/* treat: customer 3 (2 impressions, click + add-to-cart + order of 40 by the window rule,
	 * the order exactly at the edge), customer 4 (2 + 1 impressions, the click 1 s outside the
	 * window not counted, an order of 10 by rec_id on 11-02) */
	json_t *t = json_object_get(variant_of(rep, "treat"), "totals");
	cr_assert_eq(num(t, "exposed"), 2);
	cr_assert_eq(num(t, "impressions"), 5);
	cr_assert_eq(num(t, "clicks"), 1);
	cr_assert_eq(num(t, "add_to_carts"), 1);
	cr_assert_eq(num(t, "orders"), 2);
	cr_assert_eq(num(t, "buyers"), 2);
	near(num(t, "gmv"), 50, "gmv %.12g", num(t, "gmv"));
	/* units (2,1), (3,0): cov -0.5: se^2 = (0.5 + 0.2 + 0.02) / 12.5 = 0.0576 */
	kpi(t, "ctr", 0.2, 0.24);
	kpi(t, "add_to_cart_rate", 0.2, 0.24);
	kpi(t, "conversion", 1, 0);
	kpi(t, "gmv_per_customer", 25, 15); /* (40, 10): s^2 450 */
	kpi(t, "arppu", 25, 15);
	kpi(t, "aov", 25, sqrt(450.0 / 2 / 1));      /* units (1, 40), (1, 10): x constant */
	kpi(t, "retention_d1", 1, 0);                /* 3 and 4 both active on 11-02 */
	kpi(t, "retention_d7", 0.5, sqrt(0.25 / 2)); /* 4 on 11-08 */
	near(num(t, "coverage"), 0.3, "coverage %.12g", num(t, "coverage")); /* items 4, 5, 1 */
	near(num(t, "novelty"), (2 + 2 + 2 + 0 + 2) / 5.0, "novelty %.12g", num(t, "novelty"));
	near(num(t, "ltv_projected_30d"), 375, "ltv_projected_30d %.12g",
	     num(t, "ltv_projected_30d"));

	/* per day: treat on 11-01 (3 and 4), on 11-02 (4 only); cumulative LTV */
	json_t *t1 = day_of(variant_of(rep, "treat"), "2026-11-01");
	json_t *t2 = day_of(variant_of(rep, "treat"), "2026-11-02");
	cr_assert_eq(num(t1, "exposed"), 2);
	cr_assert_eq(num(t1, "impressions"), 4);
	cr_assert_eq(num(t1, "orders"), 1);
	near(num(t1, "gmv"), 40, "gmv %.12g", num(t1, "gmv"));
	cr_assert_eq(num(t1, "new_customers"), 2);
	near(num(t1, "ltv"), 20, "ltv %.12g", num(t1, "ltv"));
	near(num(t1, "novelty"), 1.5, "novelty %.12g", num(t1, "novelty"));
	kpi(t1, "gmv_per_customer", 20, sqrt(800.0 / 2)); /* (40, 0) */
	cr_assert_eq(num(t2, "exposed"), 1);
	cr_assert_eq(num(t2, "impressions"), 1);
	cr_assert_eq(num(t2, "clicks"), 0);
	near(num(t2, "gmv"), 10, "gmv %.12g", num(t2, "gmv"));
	cr_assert_eq(num(t2, "new_customers"), 0);
	near(num(t2, "ltv"), 25, "ltv %.12g", num(t2, "ltv"));
	near(num(t2, "coverage"), 0.1, "coverage %.12g", num(t2, "coverage"));
	cr_assert(json_is_null(json_object_get(t2, "retention_d1")), "no cohort on 11-02");
	cr_assert_eq(json_array_size(json_object_get(variant_of(rep, "control"), "days")), 1);

	/* the primary metric: Welch's t on GMV per customer, 25 - 10 = 15, se^2 = 225 + 100 */
	json_t *pc =
	        json_array_get(json_object_get(json_object_get(rep, "primary"), "comparisons"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(pc, "test")), "welch_t");
	cr_assert_str_eq(json_string_value(json_object_get(pc, "variant")), "treat");
	near(num(pc, "diff"), 15, "diff %.12g", num(pc, "diff"));
	near(num(pc, "lift"), 1.5, "lift %.12g", num(pc, "lift"));
	near(num(pc, "statistic"), 15 / sqrt(325), "statistic %.12g", num(pc, "statistic"));
	near(num(pc, "df"), 325.0 * 325 / (225.0 * 225 + 100 * 100), "df %.12g", num(pc, "df"));
	near(num(pc, "diff_lo"), 15 - 1.959963984540054 * sqrt(325), "diff_lo %.12g",
	     num(pc, "diff_lo"));
	cr_assert(num(pc, "p_value") > 0.4 && num(pc, "p_value") < 0.6, "p %g", num(pc, "p_value"));
	cr_assert(json_is_false(json_object_get(pc, "significant")));

	/* SRM: 2 and 2 at 50/50 */
	json_t *srm = json_object_get(rep, "srm");
	near(num(srm, "chi2"), 0, "chi2 %.12g", num(srm, "chi2"));
	cr_assert(json_is_false(json_object_get(srm, "flagged")));

	/* CUPED on GMV with x = pre-period events (1: 2, 2: 0, 3: 1, 4: 3): pooled var x 5/3,
	 * cov(x, gmv) 5/3, theta 1, mean x 1.5. Control: 10 - (1 - 1.5) = 10.5, adjusted variance
	 * 200 - 2 20 + 2 = 162 (se 9, reduction 0.19); treat: 25 - 0.5 = 24.5, 450 + 60 + 2 = 512
	 * (se 16). */
	json_t *cg = json_object_get(json_object_get(rep, "cuped"), "gmv_per_customer");
	near(num(cg, "theta"), 1, "theta %.12g", num(cg, "theta"));
	near(num(cg, "pre_mean"), 1.5, "pre_mean %.12g", num(cg, "pre_mean"));
	json_t *cv0 = json_array_get(json_object_get(cg, "variants"), 0);
	json_t *cv1 = json_array_get(json_object_get(cg, "variants"), 1);
	kpi(cv0, "adjusted", 10.5, 9);
	near(num(cv0, "variance_reduction"), 0.19, "variance_reduction %.12g",
	     num(cv0, "variance_reduction"));
	kpi(cv1, "adjusted", 24.5, 16);
	kpi(cv1, "unadjusted", 25, 15);
	json_t *cc = json_array_get(
	        json_object_get(json_object_get(rep, "cuped"), "primary_comparisons"), 0);
	near(num(cc, "diff"), 14, "diff %.12g", num(cc, "diff"));
	near(num(cc, "statistic"), 14 / sqrt(81.0 + 256), "statistic %.12g", num(cc, "statistic"));

	/* attribution in SQL: which rule took each event */
	PGresult *q =
	        PQexec(fx.conn, "select string_agg(event_id || ':' || variant || ':' || rule, "
	                        "',' order by event_id) from "
	                        "rs_experiment_attributed(1, interval '24 hours')");
	cr_assert_eq(PQresultStatus(q), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(q));
	cr_assert_str_eq(PQgetvalue(q, 0, 0),
	                 "e1:control:rec_id,e2:control:rec_id,e5:treat:window,e6:treat:window,"
	                 "e7:treat:window,e9:treat:rec_id");
	PQclear(q);
	e_free(&r);

	/* a 1-hour window: customer 3's purchase 24 h after the list is no longer attributed */
	e_http("GET", "/v1/admin/experiments/1/report?window_hours=1", NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	t = json_object_get(variant_of(r.json, "treat"), "totals");
	cr_assert_eq(num(t, "orders"), 1);
	near(num(t, "gmv"), 10, "gmv %.12g", num(t, "gmv"));
	e_free(&r);
	e_expect("GET", "/v1/admin/experiments/1/report?window_hours=0", NULL, 400, "bad_request",
	         NULL);
}

Test(experiments, srm_is_flagged_on_a_skewed_set)
{
	fx_sql(&fx, "insert into experiments (name, primary_metric, salt, status, started_at) "
	            "values ('skew', 'ctr', '0123456789abcdef', 'running', '2026-11-01T00:00Z');"
	            "insert into experiment_variants values (1, 0, 'a', 'model', 'v1', 0.5), "
	            "(1, 1, 'b', 'model', 'v2', 0.5);"
	            "insert into impressions (rec_id, user_id, items, variant, experiment_id, ts) "
	            "select 'r' || g, g, '{1}', case when g <= 90 then 'a' else 'b' end, 1, "
	            "'2026-11-01T10:00Z' from generate_series(1, 100) g;");
	json_t *rep = e_ok("GET", "/v1/admin/experiments/1/report", NULL, 200);
	json_t *srm = json_object_get(rep, "srm");
	/* 90 and 10 where 50 and 50 were expected: (40^2 / 50) 2 = 64, df 1 */
	near(num(srm, "chi2"), 64, "chi2 %.12g", num(srm, "chi2"));
	cr_assert_eq(json_integer_value(json_object_get(srm, "df")), 1);
	cr_assert_float_eq(num(srm, "p_value"), erfc(sqrt(32.0)), 1e-20);
	cr_assert(json_is_true(json_object_get(srm, "flagged")));
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(srm, "observed"), "a")),
	             90);
	json_decref(rep);
	/* 52 and 48: chi2 0.16, not flagged */
	fx_sql(&fx,
	       "update impressions set variant = case when user_id <= 52 then 'a' else 'b' end");
	rep = e_ok("GET", "/v1/admin/experiments/1/report", NULL, 200);
	srm = json_object_get(rep, "srm");
	near(num(srm, "chi2"), 0.16, "chi2 %.12g", num(srm, "chi2"));
	cr_assert(json_is_false(json_object_get(srm, "flagged")));
	json_decref(rep);
}
