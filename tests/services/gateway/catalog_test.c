/* The catalog routes, POST /v1/impressions and event positions, over real HTTP against a
 * gateway on a real PostgreSQL schema (pg_fixture.h; no downstream is needed): validation
 * answers 400 naming the field and leaves the catalog exactly as it was; writes need a writer;
 * the popular cache follows the gateway's own writes. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "config_fixture.h"
#include "events.h"
#include "gateway.h"
#include "impressions.h"
#include "pg_fixture.h"
#include "popular.h"
#include "rs_arena.h"
#include "rs_time.h"

#define C_TOKEN "catalog-test-admin-token-0123456789"
#define C_AUTH  "Authorization: Bearer " C_TOKEN

static fx_pg fx;
static gw_server *gw;
static char base[64];

static const char seed_sql[] =
        "insert into items(item_id, title, category, brand, price, attributes) values\n"
        "  (1, 'Chef Knife', 'Home/Kitchen/Knives', 'Acme', 50, '{\"steel\": \"VG-10\"}'),\n"
        "  (2, 'Cutting Board', 'Home/Kitchen', '', 20, '{}'),\n"
        "  (3, 'Vase', 'Homeware', '', null, '{}');\n";

static void
start_gateway(const char *dsn, int queue)
{
	gw_config cfg = t_config();
	cfg.pg_dsn = dsn;
	cfg.pg_timeout_ms = 2000;
	cfg.impressions_queue = queue;
	rs_log_init("gateway-catalog-test", RS_LOG_WARN);
	setenv("RS_ADMIN_TOKEN", C_TOKEN, 1);
	cr_assert_eq(gw_server_open(&gw, &cfg), 0);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", gw_server_port(gw));
}

static void
setup(void)
{
	fx_pg_setup(&fx, "gw_cat");
	fx_sql(&fx, seed_sql);
	start_gateway(fx.dsn, 0);
}

static void
teardown(void)
{
	gw_server_close(gw);
	gw = NULL;
	fx_pg_teardown(&fx);
}

TestSuite(catalog, .init = setup, .fini = teardown, .timeout = 30);

typedef struct c_resp {
	long status;
	char *body;
	size_t len;
	json_t *json;
} c_resp;

static size_t
c_write(char *p, size_t sz, size_t nm, void *ud)
{
	c_resp *r = ud;
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

/* One request; auth is an extra header ("Authorization: ...") or NULL. */
static void
c_http(const char *method, const char *path, const char *body, const char *auth, c_resp *out)
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
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, c_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	h = curl_slist_append(h, "Expect:");
	if (auth != NULL)
		h = curl_slist_append(h, auth);
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
c_free(c_resp *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* The request answers status with an error whose code is code and whose message contains
 * needle (NULL: not checked). */
static void
c_expect(const char *method, const char *path, const char *body, const char *auth, long status,
         const char *code, const char *needle)
{
	c_resp r;
	c_http(method, path, body, auth, &r);
	cr_assert_eq(r.status, status, "%s %s: %ld %s", method, path, r.status, r.body);
	json_t *e = json_object_get(r.json, "error");
	cr_assert(json_is_object(e), "%s %s: %s", method, path, r.body);
	cr_assert_str_eq(json_string_value(json_object_get(e, "code")), code, "%s", r.body);
	if (needle != NULL)
		cr_assert(strstr(json_string_value(json_object_get(e, "message")), needle) != NULL,
		          "%s %s: message %s lacks \"%s\"", method, path, r.body, needle);
	c_free(&r);
}

/* Everything about the catalog, as one string: a change anywhere changes it. */
static void
catalog_state(char *out, size_t n)
{
	PGresult *r = PQexec(fx.conn, "select count(*) || ':' || coalesce(md5(string_agg("
	                              "concat_ws('|', item_id, title, category, brand, price, "
	                              "available, attributes, updated_at), ',' order by item_id)), "
	                              "'') from items");
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
	snprintf(out, n, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
}

static long
sql_long(const char *sql)
{
	PGresult *r = PQexec(fx.conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	long v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

Test(catalog, bad_input_is_a_400_naming_the_field_and_changes_nothing)
{
	char before[128], after[128];
	char *big = malloc(20000);
	catalog_state(before, sizeof(before));

	c_expect("PUT", "/v1/items/9", "{\"title\": \"x\",", C_AUTH, 400, "bad_json", "line 1");
	c_expect("PUT", "/v1/items/9", "[1]", C_AUTH, 400, "bad_request", "object");
	c_expect("PUT", "/v1/items/9", "{\"category\": \"Home\"}", C_AUTH, 400, "bad_request",
	         "title is required");
	c_expect("PUT", "/v1/items/9", "{\"title\": \"\", \"category\": \"Home\"}", C_AUTH, 400,
	         "bad_request", "title must not be empty");
	c_expect("PUT", "/v1/items/9", "{\"title\": \"Pan\"}", C_AUTH, 400, "bad_request",
	         "category is required");
	c_expect("PUT", "/v1/items/9", "{\"title\": \"Pan\", \"category\": \"Home//Kitchen\"}",
	         C_AUTH, 400, "bad_request", "category must be path segments");
	c_expect("PUT", "/v1/items/9",
	         "{\"title\": \"Pan\", \"category\": \"Home\", \"price\": -1}", C_AUTH, 400,
	         "bad_request", "price must not be negative");
	c_expect("PUT", "/v1/items/9",
	         "{\"title\": \"Pan\", \"category\": \"Home\", \"price\": \"12\"}", C_AUTH, 400,
	         "bad_request", "price must be a number");
	c_expect("PUT", "/v1/items/9",
	         "{\"title\": \"Pan\", \"category\": \"Home\", \"available\": \"yes\"}", C_AUTH,
	         400, "bad_request", "available must be true or false");
	c_expect("PUT", "/v1/items/9",
	         "{\"title\": \"Pan\", \"category\": \"Home\", \"colour\": 1}", C_AUTH, 400,
	         "bad_request", "unknown field \"colour\"");
	c_expect("PUT", "/v1/items/9",
	         "{\"title\": \"Pan\", \"category\": \"Home\", \"item_id\": 10}", C_AUTH, 400,
	         "bad_request", "item_id must equal");
	c_expect("PUT", "/v1/items/9",
	         "{\"title\": \"Pan\", \"category\": \"Home\", \"attributes\": [1]}", C_AUTH, 400,
	         "bad_request", "attributes must be an object");
	c_expect("PUT", "/v1/items/9",
	         "{\"title\": \"Pan\", \"title\": \"Pot\", \"category\": \"H\"}", C_AUTH, 400,
	         "bad_json", "duplicate");
	snprintf(big, 20000,
	         "{\"title\": \"Pan\", \"category\": \"Home\", \"attributes\": "
	         "{\"notes\": \"");
	size_t n = strlen(big);
	memset(big + n, 'x', 16400);
	snprintf(big + n + 16400, 20000 - n - 16400, "\"}}");
	c_expect("PUT", "/v1/items/9", big, C_AUTH, 400, "bad_request", "larger than 16 KiB");
	char longtitle[700];
	snprintf(longtitle, sizeof(longtitle), "{\"title\": \"%0301d\", \"category\": \"Home\"}",
	         0);
	c_expect("PUT", "/v1/items/9", longtitle, C_AUTH, 400, "bad_request", "title is longer");
	c_expect("PUT", "/v1/items/0", "{\"title\": \"Pan\", \"category\": \"Home\"}", C_AUTH, 400,
	         "bad_request", "item id");
	/* a batch with one bad element: 400 naming it, and none of the good ones stored */
	c_expect("POST", "/v1/items",
	         "{\"items\": [{\"item_id\": 20, \"title\": \"A\", \"category\": \"Home\"},"
	         "{\"item_id\": 21, \"title\": \"B\", \"category\": \"Home\", \"price\": -5},"
	         "{\"item_id\": 22, \"title\": \"C\", \"category\": \"Home\"}]}",
	         C_AUTH, 400, "bad_request", "items[1].price must not be negative");
	c_expect("POST", "/v1/items",
	         "{\"items\": [{\"item_id\": 20, \"title\": \"A\", \"category\": \"Home\"}, 5]}",
	         C_AUTH, 400, "bad_request", "items[1] must be an object");
	c_expect("POST", "/v1/items", "{\"items\": [{\"title\": \"A\", \"category\": \"Home\"}]}",
	         C_AUTH, 400, "bad_request", "items[0].item_id must be a positive integer");
	c_expect("POST", "/v1/items",
	         "{\"items\": [{\"item_id\": 20, \"title\": \"A\", \"category\": \"Home\"},"
	         "{\"item_id\": 20, \"title\": \"B\", \"category\": \"Home\"}]}",
	         C_AUTH, 400, "bad_request", "items[1].item_id 20 repeats items[0]");
	c_expect("POST", "/v1/items", "{\"items\": []}", C_AUTH, 400, "bad_request", "non-empty");
	c_expect("POST", "/v1/items", "{\"things\": []}", C_AUTH, 400, "bad_request", "unknown");
	/* more than 1000 */
	size_t cap = 1100 * 64, len = 0;
	char *many = malloc(cap);
	len += (size_t) snprintf(many, cap, "{\"items\": [");
	for (int i = 0; i < 1001; i++)
		len += (size_t) snprintf(
		        many + len, cap - len,
		        "%s{\"item_id\": %d, \"title\": \"T\", \"category\": \"H\"}", i ? "," : "",
		        100 + i);
	snprintf(many + len, cap - len, "]}");
	c_expect("POST", "/v1/items", many, C_AUTH, 400, "bad_request", "at most 1000");
	free(many);
	c_expect("DELETE", "/v1/items/777", NULL, C_AUTH, 404, "not_found", "777");
	/* writes need a writer */
	c_expect("PUT", "/v1/items/9", "{\"title\": \"Pan\", \"category\": \"Home\"}", NULL, 401,
	         "unauthorized", NULL);
	c_expect("POST", "/v1/items",
	         "{\"items\": [{\"item_id\": 20, \"title\": \"A\", \"category\": \"Home\"}]}", NULL,
	         401, "unauthorized", NULL);
	c_expect("DELETE", "/v1/items/1", NULL, "Authorization: Bearer wrong-token-0123456789", 401,
	         "unauthorized", NULL);
	c_expect("GET", "/v1/items?include_unavailable=1", NULL, NULL, 403, "forbidden", NULL);
	c_expect("GET", "/v1/items?per_page=101", NULL, NULL, 400, "bad_request", "per_page");
	c_expect("GET", "/v1/items?page=0", NULL, NULL, 400, "bad_request", "page");
	c_expect("GET", "/v1/items?sort=cheapest", NULL, NULL, 400, "bad_request", "sort");
	c_expect("GET", "/v1/items/abc", NULL, NULL, 400, "bad_request", NULL);
	c_expect("GET", "/v1/items/12345", NULL, NULL, 404, "not_found", NULL);

	catalog_state(after, sizeof(after));
	cr_assert_str_eq(after, before, "a refused request changed the catalog");
	free(big);
}

Test(catalog, put_then_get_returns_every_field_and_a_second_put_updates)
{
	c_resp r;
	c_http("PUT", "/v1/items/501",
	       "{\"title\": \"Santoku \\u00e9 Knife\", \"category\": \"Home/Kitchen/Knives\", "
	       "\"brand\": \"Acme\", \"price\": 49.9, \"available\": true, "
	       "\"attributes\": {\"steel\": \"VG-10\", \"len_cm\": 18}}",
	       C_AUTH, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_is_true(json_object_get(r.json, "created")), "%s", r.body);
	json_t *it = json_object_get(r.json, "item");
	cr_assert_eq(json_integer_value(json_object_get(it, "item_id")), 501);
	cr_assert_str_eq(json_string_value(json_object_get(it, "title")), "Santoku \xc3\xa9 Knife");
	cr_assert_float_eq(json_number_value(json_object_get(it, "price")), 49.9, 1e-9);
	c_free(&r);
	c_http("GET", "/v1/items/501", NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *g = r.json;
	cr_assert_str_eq(json_string_value(json_object_get(g, "category")), "Home/Kitchen/Knives");
	cr_assert_str_eq(json_string_value(json_object_get(g, "brand")), "Acme");
	cr_assert(json_is_true(json_object_get(g, "available")));
	json_t *attrs = json_object_get(g, "attributes");
	cr_assert_str_eq(json_string_value(json_object_get(attrs, "steel")), "VG-10");
	cr_assert_eq(json_integer_value(json_object_get(attrs, "len_cm")), 18);
	char created[32];
	cr_assert(json_is_string(json_object_get(g, "created_at")));
	snprintf(created, sizeof(created), "%s",
	         json_string_value(json_object_get(g, "created_at")));
	cr_assert_eq(strlen(created), 24, "ISO with ms and Z: %s", created);
	cr_assert_eq(created[23], 'Z');
	cr_assert_eq(sql_long("select count(*) from items where item_id = 501 and price = 49.90 "
	                      "and attributes->>'steel' = 'VG-10' and title = 'Santoku é Knife'"),
	             1);
	c_free(&r);
	usleep(20 * 1000);
	/* a second PUT replaces: no brand or attributes now, price null */
	c_http("PUT", "/v1/items/501", "{\"title\": \"Santoku\", \"category\": \"Home/Kitchen\"}",
	       C_AUTH, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_is_false(json_object_get(r.json, "created")));
	it = json_object_get(r.json, "item");
	cr_assert(json_is_null(json_object_get(it, "price")));
	cr_assert_str_eq(json_string_value(json_object_get(it, "brand")), "");
	cr_assert_eq(json_object_size(json_object_get(it, "attributes")), 0);
	cr_assert_str_eq(json_string_value(json_object_get(it, "created_at")), created);
	cr_assert(strcmp(json_string_value(json_object_get(it, "updated_at")), created) > 0);
	c_free(&r);
	/* a CatalogItem as read can be sent back (read-only fields are ignored) */
	c_http("GET", "/v1/items/1", NULL, NULL, &r);
	char *back = json_dumps(r.json, JSON_COMPACT);
	c_free(&r);
	c_http("PUT", "/v1/items/1", back, C_AUTH, &r);
	free(back);
	cr_assert_eq(r.status, 200, "%s", r.body);
	c_free(&r);
}

Test(catalog, a_batch_is_all_or_nothing_and_counts_what_it_created)
{
	c_resp r;
	c_http("POST", "/v1/items",
	       "{\"items\": [{\"item_id\": 2, \"title\": \"Board\", \"category\": "
	       "\"Home/Kitchen\", "
	       "\"price\": 22},"
	       "{\"item_id\": 30, \"title\": \"Wok\", \"category\": \"Home/Kitchen\"},"
	       "{\"item_id\": 31, \"title\": \"Lid\", \"category\": \"Home/Kitchen\", "
	       "\"available\": false}]}",
	       C_AUTH, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "upserted")), 3);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "created")), 2);
	c_free(&r);
	cr_assert_eq(sql_long("select count(*) from items"), 5);
	cr_assert_eq(sql_long("select count(*) from items where item_id = 2 and price = 22 and "
	                      "title = 'Board'"),
	             1);
	cr_assert_eq(sql_long("select count(*) from items where item_id = 31 and not available"),
	             1);
}

Test(catalog, withdrawal_keeps_the_row_and_hides_it_from_the_shop)
{
	c_resp r;
	c_http("DELETE", "/v1/items/2", NULL, C_AUTH, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_is_false(json_object_get(json_object_get(r.json, "item"), "available")));
	c_free(&r);
	cr_assert_eq(sql_long("select count(*) from items where item_id = 2 and not available"), 1);
	c_http("GET", "/v1/items?category=Home", NULL, NULL, &r);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 1, "%s", r.body);
	c_free(&r);
	c_http("GET", "/v1/items?category=Home&include_unavailable=1", NULL, C_AUTH, &r);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 2, "%s", r.body);
	c_free(&r);
	c_http("GET", "/v1/categories", NULL, NULL, &r);
	cr_assert_str_eq(r.body, "{\"categories\":[{\"path\":\"Home/Kitchen/Knives\",\"items\":1},"
	                         "{\"path\":\"Homeware\",\"items\":1}]}");
	c_free(&r);
	/* the item page still has it */
	c_http("GET", "/v1/items/2", NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert(json_is_false(json_object_get(r.json, "available")));
	c_free(&r);
}

Test(catalog, search_pages_and_category_prefix)
{
	c_resp r;
	fx_sql(&fx, "insert into items(item_id, title, category, price) select g, "
	            "'Pan no. ' || g, case when g % 2 = 0 then 'Home/Kitchen/Pans' "
	            "else 'Home/Pans%' end, g from generate_series(100, 129) g");
	c_http("GET", "/v1/items?q=PAN&per_page=7&page=2&sort=price_desc", NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 30, "%s", r.body);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "page")), 2);
	json_t *items = json_object_get(r.json, "items");
	cr_assert_eq(json_array_size(items), 7);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(items, 0), "item_id")), 122);
	c_free(&r);
	/* past the end: no items, the total still said */
	c_http("GET", "/v1/items?q=pan&per_page=7&page=9", NULL, NULL, &r);
	cr_assert_eq(json_array_size(json_object_get(r.json, "items")), 0);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 30);
	c_free(&r);
	/* two words must both be in the title; LIKE wildcards are literal */
	c_http("GET", "/v1/items?q=no.%20117", NULL, NULL, &r);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 1, "%s", r.body);
	c_free(&r);
	c_http("GET", "/v1/items?q=%25", NULL, NULL, &r);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 0, "%s", r.body);
	c_free(&r);
	/* "Home/Kitchen" is itself and below, "Home/Pans%" is not under "Home/Pans" */
	c_http("GET", "/v1/items?category=Home/Kitchen&per_page=100", NULL, NULL, &r);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 17, "%s", r.body);
	c_free(&r);
	c_http("GET", "/v1/items?category=Home/Pans", NULL, NULL, &r);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 0, "%s", r.body);
	c_free(&r);
	c_http("GET", "/v1/items?category=Home", NULL, NULL, &r);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 32, "%s", r.body);
	c_free(&r);
	/* relevance: where the word appears first, then shorter titles */
	c_http("GET", "/v1/items?q=knife", NULL, NULL, &r);
	cr_assert_eq(json_integer_value(json_object_get(
	                     json_array_get(json_object_get(r.json, "items"), 0), "item_id")),
	             1);
	c_free(&r);
}

/* ---- impressions ---- */

Test(catalog, impressions_are_queued_then_written_one_row_per_list)
{
	c_resp r;
	c_http("POST", "/v1/impressions",
	       "{\"rec_id\": \"rec-1\", \"user_id\": 7, \"model_version\": \"v1\", \"variant\": "
	       "\"b\", \"surface\": \"similar\", \"items\": [{\"item_id\": 3, \"position\": 1}, "
	       "{\"item_id\": 1, \"position\": 2}, {\"item_id\": 2, \"position\": 3}]}",
	       C_AUTH, &r);
	cr_assert_eq(r.status, 202, "%s", r.body);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "accepted")), 3);
	c_free(&r);
	c_http("POST", "/v1/impressions",
	       "{\"rec_id\": \"rec-\\\\2\", \"user_id\": 8, \"items\": [{\"item_id\": 9, "
	       "\"position\": 4}]}",
	       C_AUTH, &r);
	cr_assert_eq(r.status, 202, "%s", r.body);
	c_free(&r);
	/* a client time (unix ms, or ISO-8601) is the list's time */
	c_http("POST", "/v1/impressions",
	       "{\"rec_id\": \"rec-ts\", \"user_id\": 9, \"ts\": 1764324000000, \"items\": "
	       "[{\"item_id\": 5, \"position\": 1}]}",
	       C_AUTH, &r);
	cr_assert_eq(r.status, 202, "%s", r.body);
	c_free(&r);
	c_http("POST", "/v1/impressions",
	       "{\"rec_id\": \"rec-iso\", \"user_id\": 9, \"ts\": \"2025-11-28T10:00:00Z\", "
	       "\"items\": [{\"item_id\": 6, \"position\": 1}]}",
	       C_AUTH, &r);
	cr_assert_eq(r.status, 202, "%s", r.body);
	c_free(&r);
	cr_assert_eq(gw_impressions_flush(gw->s_impressions, 5000), 0);
	cr_assert_eq(sql_long("select count(*) from impressions where rec_id = 'rec-ts' and ts = "
	                      "'2025-11-28 10:00:00+00' and items = '{5}'"),
	             1);
	cr_assert_eq(sql_long("select count(*) from impressions where rec_id = 'rec-iso' and ts = "
	                      "'2025-11-28 10:00:00+00' and items = '{6}'"),
	             1);
	/* one row per list, the items in the order of their positions */
	cr_assert_eq(sql_long("select count(*) from impressions where rec_id = 'rec-1' and "
	                      "user_id = 7 and model_version = 'v1' and variant = 'b' and "
	                      "surface = 'similar' and items = '{3,1,2}' and first_position = 1 "
	                      "and experiment_id is null and not degraded and "
	                      "ts > now() - interval '1 minute'"),
	             1);
	cr_assert_eq(sql_long("select count(*) from impressions where rec_id = 'rec-\\2' and "
	                      "surface is null and model_version is null and items = '{9}' and "
	                      "first_position = 4"),
	             1);
	/* bad input: 400, nothing queued */
	const char *bad[][2] = {
	        {"{\"rec_id\": \"r\", \"user_id\": 1, \"items\": []}", "items must be"},
	        {"{\"rec_id\": \"r\", \"user_id\": 0, \"items\": [{\"item_id\": 1, \"position\": "
	         "1}]}",
	         "user_id"},
	        {"{\"user_id\": 1, \"items\": [{\"item_id\": 1, \"position\": 1}]}", "rec_id"},
	        {"{\"rec_id\": \"r\", \"user_id\": 1, \"items\": [{\"item_id\": 1, \"position\": "
	         "0}]}",
	         "items[0].position"},
	        {"{\"rec_id\": \"r\", \"user_id\": 1, \"items\": [{\"item_id\": 1, \"position\": "
	         "1},"
	         "{\"position\": 2}]}",
	         "items[1].item_id"},
	        {"{\"rec_id\": \"r\", \"user_id\": 1, \"surface\": \"For You\", \"items\": "
	         "[{\"item_id\": 1, \"position\": 1}]}",
	         "surface"},
	        {"{\"rec_id\": \"r\", \"user_id\": 1, \"ts\": \"yesterday\", \"items\": "
	         "[{\"item_id\": 1, \"position\": 1}]}",
	         "ts must be"},
	        {"{\"rec_id\": \"r\", \"user_id\": 1, \"ts\": 5000000000000, \"items\": "
	         "[{\"item_id\": 1, \"position\": 1}]}",
	         "ts must be"},
	        {"{\"rec_id\": \"r\", \"user_id\": 1, \"items\": [{\"item_id\": 1, \"position\": "
	         "2}, {\"item_id\": 2, \"position\": 4}]}",
	         "items[1].position must follow"},
	        {"{\"rec_id\": \"r\", \"user_id\": 1, \"items\": [{\"item_id\": 1, \"position\": "
	         "2}, {\"item_id\": 2, \"position\": 1}]}",
	         "items[1].position must follow"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		c_expect("POST", "/v1/impressions", bad[i][0], C_AUTH, 400, "bad_request",
		         bad[i][1]);
	c_expect("POST", "/v1/impressions", "{\"rec_id\": ", C_AUTH, 400, "bad_json", NULL);
	/* a recommendation list is the gateway's to record (it stores what it served): a body
	 * naming an experiment, or the served lists' surface, is refused whole */
	c_expect("POST", "/v1/impressions",
	         "{\"rec_id\": \"r\", \"user_id\": 1, \"experiment\": 3, \"variant\": \"a\", "
	         "\"items\": [{\"item_id\": 1, \"position\": 1}]}",
	         C_AUTH, 409, "recorded_by_gateway", "records the recommendation lists");
	c_expect("POST", "/v1/impressions",
	         "{\"rec_id\": \"r\", \"user_id\": 1, \"surface\": \"" GW_IMPRESSIONS_SERVED_SURFACE
	         "\", \"items\": [{\"item_id\": 1, \"position\": 1}]}",
	         C_AUTH, 409, "recorded_by_gateway", NULL);
	c_expect("POST", "/v1/impressions",
	         "{\"rec_id\": \"r\", \"user_id\": 1, \"items\": [{\"item_id\": 1, \"position\": "
	         "1}]}",
	         NULL, 401, "unauthorized", NULL);
	cr_assert_eq(gw_impressions_flush(gw->s_impressions, 5000), 0);
	cr_assert_eq(sql_long("select count(*) from impressions"), 4);
}

Test(catalog, a_full_impressions_queue_answers_503_and_keeps_memory_bounded)
{
	char body[4096];
	size_t n = 0;
	c_resp r;
	/* a gateway whose database is gone: nothing drains its 100-row queue */
	gw_server_close(gw);
	start_gateway("host=127.0.0.1 port=1 dbname=none connect_timeout=1", 100);
	n += (size_t) snprintf(body, sizeof(body),
	                       "{\"rec_id\": \"r\", \"user_id\": 1, \"items\": [");
	for (int i = 0; i < 60; i++)
		n += (size_t) snprintf(body + n, sizeof(body) - n,
		                       "%s{\"item_id\": %d, \"position\": %d}", i ? "," : "", i + 1,
		                       i + 1);
	snprintf(body + n, sizeof(body) - n, "]}");
	c_http("POST", "/v1/impressions", body, C_AUTH, &r);
	cr_assert_eq(r.status, 202, "%s", r.body);
	c_free(&r);
	c_expect("POST", "/v1/impressions", body, C_AUTH, 503, "overloaded", "full");
	/* closing does not hang on the dead database: what cannot be written is dropped */
	double t0 = rs_mono_ms();
	gw_server_close(gw);
	gw = NULL;
	cr_assert_lt(rs_mono_ms() - t0, 8000.0);
	start_gateway(fx.dsn, 0); /* for teardown */
}

/* ---- the popular cache follows the gateway's own writes ---- */

Test(catalog, own_writes_patch_the_popular_cache_even_over_an_older_list)
{
	rs_arena *a;
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	Rs__CandidatesResponse resp = RS__CANDIDATES_RESPONSE__INIT;
	Rs__Candidate c[3], *cp[3];
	for (int i = 0; i < 3; i++) {
		rs__candidate__init(&c[i]);
		c[i].item_id = i + 1;
		c[i].title = "old";
		c[i].category = "Home";
		c[i].price = 10;
		cp[i] = &c[i];
	}
	resp.candidates = cp;
	resp.n_candidates = 3;
	cr_assert_eq(gw_popular_store(gw->s_popular, &resp), 0);
	c_resp r;
	c_http("DELETE", "/v1/items/2", NULL, C_AUTH, &r);
	cr_assert_eq(r.status, 200);
	c_free(&r);
	c_http("PUT", "/v1/items/1",
	       "{\"title\": \"New\", \"category\": \"Home/Kitchen\", "
	       "\"price\": 12.5}",
	       C_AUTH, &r);
	cr_assert_eq(r.status, 200);
	c_free(&r);
	Rs__CandidatesResponse *got;
	cr_assert_eq(gw_popular_load(gw->s_popular, a, &got, NULL), 0);
	cr_assert_eq(got->n_candidates, 2);
	cr_assert_eq(got->candidates[0]->item_id, 1);
	cr_assert_str_eq(got->candidates[0]->title, "New");
	cr_assert_float_eq(got->candidates[0]->price, 12.5, 1e-9);
	cr_assert_eq(got->candidates[1]->item_id, 3);
	/* a list the candidate service computed before the change is patched when stored */
	cr_assert_eq(gw_popular_store(gw->s_popular, &resp), 0);
	cr_assert_eq(gw_popular_load(gw->s_popular, a, &got, NULL), 0);
	cr_assert_eq(got->n_candidates, 2);
	cr_assert_str_eq(got->candidates[0]->category, "Home/Kitchen");
	rs_arena_destroy(a);
}

/* Another writer (an importer, another gateway) withdraws an item while the candidate service
 * cannot answer: the refresher asks PostgreSQL and the fallback list drops it. */
Test(catalog, the_fallback_list_drops_items_withdrawn_by_any_writer)
{
	rs_arena *a;
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	Rs__CandidatesResponse resp = RS__CANDIDATES_RESPONSE__INIT;
	Rs__Candidate c[3], *cp[3];
	for (int i = 0; i < 3; i++) {
		rs__candidate__init(&c[i]);
		c[i].item_id = 3 - i; /* 3, 2, 1 */
		cp[i] = &c[i];
	}
	resp.candidates = cp;
	resp.n_candidates = 3;
	cr_assert_eq(gw_popular_store(gw->s_popular, &resp), 0);
	cr_assert_eq(gw_popular_check_withdrawn(gw->s_popular), 0, "nothing is withdrawn yet");
	fx_sql(&fx, "update items set available = false where item_id = 3");
	cr_assert_eq(gw_popular_check_withdrawn(gw->s_popular), 1);
	Rs__CandidatesResponse *got;
	cr_assert_eq(gw_popular_load(gw->s_popular, a, &got, NULL), 0);
	cr_assert_eq(got->n_candidates, 2);
	cr_assert_eq(got->candidates[0]->item_id, 2);
	cr_assert_eq(got->candidates[1]->item_id, 1);
	/* a list computed before the withdrawal and stored now is patched too */
	cr_assert_eq(gw_popular_store(gw->s_popular, &resp), 0);
	cr_assert_eq(gw_popular_load(gw->s_popular, a, &got, NULL), 0);
	cr_assert_eq(got->n_candidates, 2);
	c_resp r;
	c_http("GET", "/v1/popular?k=10", NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *items = json_object_get(r.json, "items");
	cr_assert_eq(json_array_size(items), 2, "%s", r.body);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(items, 0), "item_id")), 2);
	c_free(&r);
	rs_arena_destroy(a);
}

/* ---- events: position ---- */

Test(catalog, event_position_is_a_positive_integer_or_absent)
{
	rs_arena *a;
	gw_events ev;
	const char *code;
	char msg[256];
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	const char *body =
	        "{\"events\": ["
	        "{\"user_id\": 1, \"item_id\": 2, \"type\": \"click\", \"rec_id\": "
	        "\"r1\", \"position\": 3},"
	        "{\"user_id\": 1, \"item_id\": 2, \"type\": \"click\", \"position\": null},"
	        "{\"user_id\": 1, \"item_id\": 2, \"type\": \"click\", \"position\": 0},"
	        "{\"user_id\": 1, \"item_id\": 2, \"type\": \"click\", \"position\": -2},"
	        "{\"user_id\": 1, \"item_id\": 2, \"type\": \"click\", \"position\": 1.5},"
	        "{\"user_id\": 1, \"item_id\": 2, \"type\": \"click\", \"position\": \"4\"},"
	        "{\"user_id\": 1, \"item_id\": 2, \"type\": \"click\", \"position\": "
	        "2147483648}]}";
	cr_assert_eq(gw_events_parse(body, strlen(body), a, &ev, &code, msg, sizeof(msg)), 0);
	cr_assert_eq(ev.e_n, 2);
	cr_assert_eq(ev.e_events[0]->position, 3);
	cr_assert_eq(ev.e_events[1]->position, 0);
	cr_assert_eq(ev.e_nrejected, 5);
	for (size_t i = 0; i < ev.e_nrejected; i++) {
		cr_assert_eq(ev.e_rejected[i].index, 2 + i);
		cr_assert(strstr(ev.e_rejected[i].reason, "position") != NULL);
	}
	const char *single =
	        "{\"user_id\": 1, \"item_id\": 2, \"type\": \"view\", \"position\": 0}";
	cr_assert_eq(gw_events_parse(single, strlen(single), a, &ev, &code, msg, sizeof(msg)), 400);
	cr_assert_str_eq(code, "invalid_event");
	rs_arena_destroy(a);
}
