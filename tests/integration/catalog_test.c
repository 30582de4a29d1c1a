/* The catalog API end to end: PostgreSQL, the five services as processes, real HTTP.
 * Upsert and read back, search and paging, category prefixes; a withdrawn item absent from
 * every list and fallback; a new item and a new price visible within a second (the times are
 * printed); event positions and impressions stored; bad input refused with nothing changed. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stack.h"

#define TOKEN "it-catalog-token-0123456789abcdef"
#define AUTHZ "Authorization: Bearer " TOKEN

static test_stack st;

static void
kill_leftovers(void)
{
	stack_kill_all(&st);
}

/* The shared seed, and every customer also bought (u % 20) + 21 with (u % 20) + 1: so item i
 * and i + 20 are bought together. */
static void
start(const char *db, int port)
{
	cr_assert_eq(stack_db_reset(&st, db), 0);
	cr_assert_eq(stack_sql(&st, it_seed_sql), 0, "seeding failed");
	cr_assert_eq(stack_sql(&st, "insert into events(event_id, user_id, item_id, type, ts) "
	                            "select 'seed-p2-' || u, u, (u % 20) + 21, 4, now() - "
	                            "interval '1 day' from generate_series(1, 50) u"),
	             0);
	st.extra_env[0] = "RS_ADMIN_TOKEN=" TOKEN;
	cr_assert_eq(stack_start(&st, port, 20000), 0, "stack did not become ready");
}

static double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

/* One request with the admin token; the status, and the body parsed (caller decrefs) into
 * *out when out is not NULL. */
static long
req(const char *method, const char *path, const char *body, json_t **out)
{
	static const char *const h[] = {AUTHZ, NULL};
	http_reply r;
	json_error_t jerr;
	cr_assert_eq(http_do_h(&st, method, path, body, h, &r), 0, "%s %s failed", method, path);
	long status = r.status;
	if (out != NULL) {
		*out = json_loads(r.body, 0, &jerr);
		cr_assert_not_null(*out, "%s %s: not JSON: %s", method, path, r.body);
	}
	http_reply_free(&r);
	return status;
}

static json_t *
get_ok(const char *path)
{
	json_t *j;
	long s = req("GET", path, NULL, &j);
	char *text = json_dumps(j, JSON_COMPACT);
	cr_assert_eq(s, 200, "GET %s: %ld %s", path, s, text);
	free(text);
	return j;
}

static int
has_item(json_t *answer, long long item)
{
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(answer, "items"), i, it)
	{
		if (json_integer_value(json_object_get(it, "item_id")) == item)
			return 1;
	}
	return 0;
}

static json_t *
find_item(json_t *answer, long long item)
{
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(answer, "items"), i, it)
	{
		if (json_integer_value(json_object_get(it, "item_id")) == item)
			return it;
	}
	return NULL;
}

static long
sql_long(const char *sql)
{
	char v[64];
	cr_assert_eq(stack_sql_value(&st, sql, v, sizeof(v)), 0, "%s", sql);
	return strtol(v, NULL, 10);
}

/* Polls path until item is absent (want 0) or present (want 1) in its items, at most 1 s;
 * the ms it took, or -1. */
static double
wait_item(const char *path, long long item, int want)
{
	double t0 = now_ms();
	do {
		json_t *j = get_ok(path);
		int has = has_item(j, item);
		json_decref(j);
		if (has == want)
			return now_ms() - t0;
		usleep(5000);
	} while (now_ms() - t0 < 1000);
	return -1;
}

Test(catalog, upsert_read_back_search_and_categories, .timeout = 120, .fini = kill_leftovers)
{
	json_t *j;
	start("rs_it_catalog_read", 18560);

	cr_assert_eq(
	        req("PUT", "/v1/items/1001",
	            "{\"title\": \"Carbon Steel Wok\", \"category\": \"Home/Kitchen/Pans\", "
	            "\"brand\": \"Acme\", \"price\": 39.95, \"attributes\": {\"diameter_cm\": 32, "
	            "\"handles\": [\"wood\"]}}",
	            &j),
	        200);
	cr_assert(json_is_true(json_object_get(j, "created")));
	json_decref(j);
	j = get_ok("/v1/items/1001");
	cr_assert_str_eq(json_string_value(json_object_get(j, "title")), "Carbon Steel Wok");
	cr_assert_str_eq(json_string_value(json_object_get(j, "category")), "Home/Kitchen/Pans");
	cr_assert_str_eq(json_string_value(json_object_get(j, "brand")), "Acme");
	cr_assert_float_eq(json_number_value(json_object_get(j, "price")), 39.95, 1e-9);
	cr_assert(json_is_true(json_object_get(j, "available")));
	json_t *attrs = json_object_get(j, "attributes");
	cr_assert_eq(json_integer_value(json_object_get(attrs, "diameter_cm")), 32);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(attrs, "handles"), 0)),
	                 "wood");
	cr_assert(json_is_string(json_object_get(j, "created_at")));
	cr_assert(json_is_string(json_object_get(j, "updated_at")));
	json_decref(j);
	cr_assert_eq(sql_long("select count(*) from items where item_id = 1001 and price = 39.95 "
	                      "and brand = 'Acme' and attributes->>'diameter_cm' = '32'"),
	             1);

	/* search: every title word, any case; pages cover the matches exactly once */
	j = get_ok("/v1/items?q=nOvEl&per_page=7");
	cr_assert_eq(json_integer_value(json_object_get(j, "total")), 20);
	json_decref(j);
	int seen[21] = {0}, pages = 0;
	for (int page = 1; page <= 3; page++) {
		char path[80];
		snprintf(path, sizeof(path), "/v1/items?q=novel&per_page=7&page=%d&sort=price_asc",
		         page);
		j = get_ok(path);
		size_t i;
		json_t *it;
		double last = -1;
		json_array_foreach(json_object_get(j, "items"), i, it)
		{
			long long id = json_integer_value(json_object_get(it, "item_id"));
			cr_assert(id >= 1 && id <= 20, "%lld is no novel", id);
			cr_assert_eq(seen[id], 0, "item %lld on two pages", id);
			seen[id] = 1;
			double p = json_number_value(json_object_get(it, "price"));
			cr_assert_geq(p, last, "price_asc");
			last = p;
		}
		cr_assert_eq(json_array_size(json_object_get(j, "items")), page < 3 ? 7 : 6);
		pages++;
		json_decref(j);
	}
	for (int id = 1; id <= 20; id++)
		cr_assert(seen[id], "novel %d never listed", id);
	j = get_ok("/v1/items?q=novel%2017");
	cr_assert_eq(json_integer_value(json_object_get(j, "total")), 1);
	cr_assert_str_eq(json_string_value(json_object_get(
	                         json_array_get(json_object_get(j, "items"), 0), "title")),
	                 "Novel 17");
	json_decref(j);

	/* category prefixes are whole path segments */
	j = get_ok("/v1/items?category=Home&per_page=100");
	cr_assert_eq(json_integer_value(json_object_get(j, "total")), 21);
	json_decref(j);
	j = get_ok("/v1/items?category=Home/Kitchen/Pans");
	cr_assert_eq(json_integer_value(json_object_get(j, "total")), 1);
	json_decref(j);
	j = get_ok("/v1/items?category=Hom");
	cr_assert_eq(json_integer_value(json_object_get(j, "total")), 0);
	json_decref(j);
	j = get_ok("/v1/categories");
	char *cats = json_dumps(json_object_get(j, "categories"), JSON_COMPACT);
	cr_assert_str_eq(cats,
	                 "[{\"path\":\"Books/Fiction\",\"items\":20},{\"path\":\"Home/"
	                 "Kitchen\",\"items\":20},{\"path\":\"Home/Kitchen/Pans\",\"items\":1}]");
	free(cats);
	json_decref(j);
	cr_assert_eq(stack_stop(&st), 0, "a service did not exit 0 on SIGTERM");
}

Test(catalog, a_withdrawn_item_leaves_every_list_and_fallback, .timeout = 180,
     .fini = kill_leftovers)
{
	json_t *j;
	char path[128];
	start("rs_it_catalog_withdraw", 18620);

	/* the most popular item: bought by everyone whose u % 20 names it */
	j = get_ok("/v1/popular?k=20");
	long long top = json_integer_value(
	        json_object_get(json_array_get(json_object_get(j, "items"), 0), "item_id"));
	json_decref(j);
	cr_assert_gt(top, 0);
	long long peer = top <= 20 ? top + 20 : top - 20; /* bought together with top */
	snprintf(path, sizeof(path), "/v1/items/%lld/bought-together", peer);
	cr_assert_geq(wait_item(path, top, 1), 0, "%lld is not bought together with %lld", top,
	              peer);
	/* users who have not bought it and get it recommended */
	int users[50], nu = 0;
	for (int u = 1; u <= 50 && nu < 5; u++) {
		char p[80];
		snprintf(p, sizeof(p), "/v1/users/%d/recommendations?k=40", u);
		j = get_ok(p);
		if (has_item(j, top))
			users[nu++] = u;
		json_decref(j);
	}
	cr_assert_gt(nu, 0, "nobody is offered the top item");

	snprintf(path, sizeof(path), "/v1/items/%lld", top);
	double t0 = now_ms();
	cr_assert_eq(req("DELETE", path, NULL, NULL), 200);
	/* the gateway's own popular list at once */
	j = get_ok("/v1/popular?k=100");
	cr_assert(!has_item(j, top), "the cached popular list still has the withdrawn item");
	json_decref(j);
	double worst = 0;
	const char *cat = top <= 20 ? "Books" : "Home";
	snprintf(path, sizeof(path), "/v1/popular?k=100&category=%s", cat);
	double ms = wait_item(path, top, 0);
	cr_assert_geq(ms, 0, "popular?category still has it after 1 s");
	for (int i = 0; i < nu; i++) {
		char p[80];
		snprintf(p, sizeof(p), "/v1/users/%d/recommendations?k=40", users[i]);
		ms = wait_item(p, top, 0);
		cr_assert_geq(ms, 0, "user %d is still offered it after 1 s", users[i]);
		worst = ms > worst ? ms : worst;
	}
	snprintf(path, sizeof(path), "/v1/items/%lld/similar?k=50", peer);
	cr_assert_geq(wait_item(path, top, 0), 0);
	snprintf(path, sizeof(path), "/v1/items/%lld/bought-together", peer);
	cr_assert_geq(wait_item(path, top, 0), 0);
	fprintf(stderr, "catalog it: withdrawal gone from every list %.0f ms after the DELETE\n",
	        now_ms() - t0);
	cr_assert_eq(sql_long("select count(*) from items where not available"), 1);
	j = get_ok("/v1/items?per_page=100");
	cr_assert_eq(json_integer_value(json_object_get(j, "total")), 39);
	cr_assert(!has_item(j, top));
	json_decref(j);

	/* fallbacks: ranking down (candidate order), then candidate down (the cached list) */
	stack_kill(&st, 3);
	for (int i = 0; i < nu; i++) {
		char p[80];
		snprintf(p, sizeof(p), "/v1/users/%d/recommendations?k=40", users[i]);
		j = get_ok(p);
		cr_assert(json_is_true(json_object_get(j, "degraded")));
		cr_assert(!has_item(j, top), "ranking down: user %d offered it", users[i]);
		json_decref(j);
	}
	stack_kill(&st, 2);
	for (int i = 0; i < nu; i++) {
		char p[80];
		snprintf(p, sizeof(p), "/v1/users/%d/recommendations?k=40", users[i]);
		j = get_ok(p);
		cr_assert(json_is_true(json_object_get(j, "degraded")));
		cr_assert_gt(json_array_size(json_object_get(j, "items")), 0);
		cr_assert(!has_item(j, top), "candidate down: user %d offered it", users[i]);
		json_decref(j);
	}
	j = get_ok("/v1/popular?k=100");
	cr_assert(!has_item(j, top));
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/popular?k=100&category=%s", cat);
	j = get_ok(path);
	cr_assert_gt(json_array_size(json_object_get(j, "items")), 0, "no cached fallback");
	cr_assert(!has_item(j, top));
	json_decref(j);
	cr_assert_eq(stack_stop(&st), 0, "a service did not exit 0 on SIGTERM");
}

Test(catalog, new_items_and_prices_show_within_a_second, .timeout = 120, .fini = kill_leftovers)
{
	json_t *j;
	start("rs_it_catalog_fresh", 18680);

	/* a new pan: one of pan 21's similar items (its category) */
	double t0 = now_ms();
	cr_assert_eq(req("PUT", "/v1/items/2001",
	                 "{\"title\": \"Pan 2001\", \"category\": \"Home/Kitchen\", \"price\": 5}",
	                 NULL),
	             200);
	double ms = wait_item("/v1/items/21/similar?k=50", 2001, 1);
	cr_assert_geq(ms, 0, "the new item is not similar to its category peer within 1 s");
	fprintf(stderr,
	        "catalog it: new item in similar %.0f ms after the PUT answered (%.0f ms "
	        "after it was sent)\n",
	        ms, now_ms() - t0);

	/* a new price for an item user 1 is offered */
	j = get_ok("/v1/users/1/recommendations?k=10");
	json_t *first = json_array_get(json_object_get(j, "items"), 0);
	long long item = json_integer_value(json_object_get(first, "item_id"));
	char body[256], path[64];
	snprintf(body, sizeof(body), "{\"title\": \"%s\", \"category\": \"%s\", \"price\": 77.25}",
	         json_string_value(json_object_get(first, "title")),
	         json_string_value(json_object_get(first, "category")));
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/items/%lld", item);
	t0 = now_ms();
	cr_assert_eq(req("PUT", path, body, NULL), 200);
	double sent = now_ms();
	int shown = 0;
	do {
		j = get_ok("/v1/users/1/recommendations?k=10");
		json_t *it = find_item(j, item);
		shown = it != NULL && json_number_value(json_object_get(it, "price")) == 77.25;
		json_decref(j);
		if (!shown)
			usleep(5000);
	} while (!shown && now_ms() - sent < 1000);
	cr_assert(shown, "the new price of %lld is not in the recommendations after 1 s", item);
	fprintf(stderr, "catalog it: new price in recommendations %.0f ms after the PUT answered\n",
	        now_ms() - sent);
	cr_assert_eq(stack_stop(&st), 0, "a service did not exit 0 on SIGTERM");
}

/* Everything the bad requests could have touched, as one string. */
static void
state(char *out, size_t n)
{
	cr_assert_eq(stack_sql_value(&st,
	                             "select (select count(*) || md5(string_agg(concat_ws('|', "
	                             "item_id, title, category, brand, price, available, "
	                             "attributes, updated_at), ',' order by item_id)) from items) "
	                             "|| '/' || (select count(*) from impressions) || '/' || "
	                             "(select count(*) from events)",
	                             out, n),
	             0);
}

Test(catalog, positions_impressions_and_bad_input, .timeout = 120, .fini = kill_leftovers)
{
	json_t *j;
	char before[128], after[128];
	start("rs_it_catalog_events", 18740);

	/* events carry their list position */
	cr_assert_eq(
	        req("POST", "/v1/events",
	            "{\"events\": [{\"event_id\": \"it-pos-1\", \"user_id\": 3, \"item_id\": 7, "
	            "\"type\": \"click\", \"rec_id\": \"rec-it\", \"position\": 4}, "
	            "{\"event_id\": \"it-pos-2\", \"user_id\": 3, \"item_id\": 8, \"type\": "
	            "\"view\"}]}",
	            &j),
	        202);
	cr_assert_eq(json_integer_value(json_object_get(j, "accepted")), 2);
	json_decref(j);
	cr_assert_eq(sql_long("select count(*) from events where event_id = 'it-pos-1' and "
	                      "position = 4 and rec_id = 'rec-it'"),
	             1);
	cr_assert_eq(sql_long("select count(*) from events where event_id = 'it-pos-2' and "
	                      "position is null"),
	             1);

	/* impressions of a list the gateway does not serve as recommendations: accepted at once,
	 * stored by the writer as one row, the items in order */
	cr_assert_eq(req("POST", "/v1/impressions",
	                 "{\"rec_id\": \"rec-it\", \"user_id\": 3, \"model_version\": \"live\", "
	                 "\"surface\": \"similar\", \"items\": [{\"item_id\": 8, \"position\": 1}, "
	                 "{\"item_id\": 7, \"position\": 2}, {\"item_id\": 9, \"position\": 3}]}",
	                 &j),
	             202);
	cr_assert_eq(json_integer_value(json_object_get(j, "accepted")), 3);
	json_decref(j);
	long rows = 0;
	for (int i = 0; i < 100 && rows < 1; i++) {
		rows = sql_long(
		        "select count(*) from impressions where rec_id = 'rec-it' and "
		        "user_id = 3 and surface = 'similar' and model_version = 'live' and "
		        "items = '{8,7,9}' and first_position = 1");
		if (rows < 1)
			usleep(20 * 1000);
	}
	cr_assert_eq(rows, 1, "the impression list was not stored within 2 s");

	/* bad input: 4xx, and nothing anywhere changed */
	state(before, sizeof(before));
	const struct {
		const char *method, *path, *body;
		long status;
	} bad[] = {
	        {"PUT", "/v1/items/5", "{\"title\": \"x\"", 400},
	        {"PUT", "/v1/items/5", "{\"category\": \"Books\"}", 400},
	        {"PUT", "/v1/items/5", "{\"title\": \"x\", \"category\": \"Books\", \"price\": -1}",
	         400},
	        {"POST", "/v1/items",
	         "{\"items\": [{\"item_id\": 5, \"title\": \"ok\", \"category\": \"Books\"}, "
	         "{\"item_id\": 6, \"title\": \"\", \"category\": \"Books\"}]}",
	         400},
	        {"DELETE", "/v1/items/999999", NULL, 404},
	        {"POST", "/v1/impressions", "{\"rec_id\": \"r\", \"user_id\": 3, \"items\": []}",
	         400},
	        {"POST", "/v1/impressions",
	         "{\"rec_id\": \"r\", \"user_id\": 3, \"items\": [{\"item_id\": 7, \"position\": "
	         "-1}]}",
	         400},
	        {"POST", "/v1/events",
	         "{\"user_id\": 3, \"item_id\": 7, \"type\": \"click\", \"position\": 0}", 400},
	        {"GET", "/v1/items?per_page=0", NULL, 400},
	        {"GET", "/v1/popular?category=%01x", NULL, 400},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long s = req(bad[i].method, bad[i].path, bad[i].body, &j);
		cr_assert_eq(s, bad[i].status, "%s %s: %ld", bad[i].method, bad[i].path, s);
		cr_assert(json_is_object(json_object_get(j, "error")), "%s %s", bad[i].method,
		          bad[i].path);
		json_decref(j);
	}
	/* writes without credentials */
	http_reply r;
	cr_assert_eq(http_do(&st, "PUT", "/v1/items/5",
	                     "{\"title\": \"x\", \"category\": \"Books\"}", &r),
	             0);
	cr_assert_eq(r.status, 401);
	http_reply_free(&r);
	usleep(300 * 1000); /* anything wrongly queued would be written by now */
	state(after, sizeof(after));
	cr_assert_str_eq(after, before, "a refused request changed something");
	cr_assert_eq(stack_stop(&st), 0, "a service did not exit 0 on SIGTERM");
}
