/* POST /v1/admin/models/{version}/activate over real HTTP against a gateway on a real
 * PostgreSQL schema (pg_fixture.h) with version folders written like rs-train publishes them
 * (model_fixture.h): a folder the services would refuse (truncated data.mdb, another layout
 * version, missing) answers 422 model_unusable naming the problem and the active row stays; a
 * good one (also through RS_MODEL_DIR and an empty path) is activated. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_fixture.h"
#include "gateway.h"
#include "model_fixture.h"
#include "pg_fixture.h"

#define A_TOKEN "activate-test-admin-token-0123456789"
#define A_AUTH  "Authorization: Bearer " A_TOKEN

static fx_pg fx;
static gw_server *gw;
static char base[64];
static char root[] = "/tmp/rs-gw-act-XXXXXX";

static const int64_t ids[3] = {1, 2, 3};
static const float V[3 * 2] = {1, 0, 0, 1, 0.5f, 0.5f};
static const uint32_t pop[3] = {0, 1, 2};

static void
write_version(const char *name, int layout)
{
	char dir[256];
	fx_model m = {.n_items = 3,
	              .factors = 2,
	              .ids = ids,
	              .V = V,
	              .popular = pop,
	              .n_popular = 3,
	              .alpha = -1,
	              .reg = -1,
	              .layout = layout};
	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	fx_model_write(dir, &m);
}

static void
setup(void)
{
	char sql[2048], path[300];
	struct stat sb;

	fx_tmpdir(root);
	write_version("good", 1);
	write_version("trunc", 1);
	write_version("layout2", 2);
	write_version("relative", 1);
	snprintf(path, sizeof(path), "%s/trunc/data.mdb", root);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(truncate(path, sb.st_size / 2),
	             0); /* what the fault suite's model-trunc does */
	fx_pg_setup(&fx, "gw_act");
	/* absolute paths, an empty one (RS_MODEL_DIR/<version>) and one that does not exist */
	snprintf(sql, sizeof(sql),
	         "insert into model_versions(version, path) values"
	         " ('good', '%s/good'), ('trunc', '%s/trunc'), ('layout2', '%s/layout2'),"
	         " ('relative', ''), ('gone', '%s/gone');"
	         "select rs_model_activate('good');",
	         root, root, root, root);
	fx_sql(&fx, sql);

	gw_config cfg = t_config();
	cfg.log_level = RS_LOG_ERROR;
	cfg.pg_dsn = fx.dsn;
	cfg.impressions_queue = 100;
	cfg.experiments_refresh_ms = 60000;
	cfg.max_header = 8192;
	cfg.model_dir = root;
	rs_log_init("gateway-activate-test", RS_LOG_ERROR);
	setenv("RS_ADMIN_TOKEN", A_TOKEN, 1);
	cr_assert_eq(gw_server_open(&gw, &cfg), 0);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", gw_server_port(gw));
}

static void
teardown(void)
{
	gw_server_close(gw);
	gw = NULL;
	fx_pg_teardown(&fx);
	fx_rmtree(root);
}

TestSuite(activate, .init = setup, .fini = teardown, .timeout = 30);

typedef struct a_resp {
	long status;
	char *body;
	size_t len;
	json_t *json;
} a_resp;

static size_t
a_write(char *p, size_t sz, size_t nm, void *ud)
{
	a_resp *r = ud;
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
activate(const char *version, a_resp *out)
{
	char url[512];
	json_error_t jerr;
	struct curl_slist *h = curl_slist_append(NULL, A_AUTH);
	CURL *c = curl_easy_init();
	cr_assert_not_null(c);
	memset(out, 0, sizeof(*out));
	snprintf(url, sizeof(url), "%s/v1/admin/models/%s/activate", base, version);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "POST");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, a_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(h);
	cr_assert_eq(rc, CURLE_OK, "%s: %s", version, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_cleanup(c);
	out->json = json_loads(out->body != NULL ? out->body : "", 0, &jerr);
}

static void
a_free(a_resp *r)
{
	free(r->body);
	json_decref(r->json);
}

/* The active row, read from the table itself. */
static void
active_row(char *out, size_t n)
{
	PGresult *r = PQexec(fx.conn, "select coalesce(string_agg(version, ','), '') from "
	                              "model_versions where active");
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
	snprintf(out, n, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
}

/* version answers 422 model_unusable whose message names the version and contains needle, and
 * the active row is still "good". */
static void
refused(const char *version, const char *needle)
{
	a_resp r;
	char act[256];
	activate(version, &r);
	cr_assert_eq(r.status, 422, "%s: %ld %s", version, r.status, r.body);
	json_t *e = json_object_get(r.json, "error");
	cr_assert(json_is_object(e), "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(e, "code")), "model_unusable");
	const char *msg = json_string_value(json_object_get(e, "message"));
	cr_assert(msg != NULL && strstr(msg, version) != NULL && strstr(msg, needle) != NULL,
	          "%s: message %s lacks \"%s\"", version, r.body, needle);
	a_free(&r);
	active_row(act, sizeof(act));
	cr_assert_str_eq(act, "good", "a refused activation changed the registry");
}

Test(activate, a_truncated_data_file_is_refused_and_nothing_changes)
{
	refused("trunc", "truncated");
}

Test(activate, another_layout_version_is_refused_and_nothing_changes)
{
	refused("layout2", "layout version 2");
}

Test(activate, a_missing_folder_is_refused_and_nothing_changes)
{
	refused("gone", "RS_ENOTFOUND");
}

Test(activate, a_good_version_is_activated_through_model_dir)
{
	a_resp r;
	char act[256];
	activate("relative", &r); /* empty path: RS_MODEL_DIR/relative */
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "active")), "relative");
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "previous")), "good");
	a_free(&r);
	active_row(act, sizeof(act));
	cr_assert_str_eq(act, "relative");
	activate("no-such-version", &r);
	cr_assert_eq(r.status, 404, "%ld %s", r.status, r.body);
	a_free(&r);
	active_row(act, sizeof(act));
	cr_assert_str_eq(act, "relative");
}
