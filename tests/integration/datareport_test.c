/* GET /v1/admin/data/report against a known event set in PostgreSQL: the figures worked out by
 * hand (the same set as tests/services/trainer/describe_test.c, stored in the event store, where
 * item 5 is one of ingest's placeholder rows and only catalog prices count), the whole report
 * equal to `rs-train describe --dsn` on the same database (two implementations: SQL and C), the
 * cache (a new event does not show until the report is recomputed) and who may call it. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stack.h"

#define TOKEN "it-datareport-token-0123456789abcdef"

static test_stack st;

static void
kill_leftovers(void)
{
	stack_kill_all(&st);
}

static const char *const auth[] = {"Authorization: Bearer " TOKEN, NULL};

/* R = 1700000000 = 2023-11-14T22:13:20Z. u1: i1 view R, cart R+60, purchase R+120 and R+22 d,
 * i2 view R+180 twice (a duplicate); u2: i1 view R+3600, i3 view R+5600, cart R+5700, i5 view
 * R+5800; u3: 70 views of i4 every 0.5 s from R+20 d (a bot); u4: i3 purchase R+25 d, i2 view
 * tomorrow (future), i1 view at 1000 s after 1970. */
static const char FIXTURE[] =
        "insert into items (item_id, title, category, price) values "
        "  (1, 'A', 'Cat/A', 10.00), (2, 'B', 'Cat/A', 20.00), (3, 'C', 'Cat/B', 40.00), "
        "  (4, 'D', 'Cat/B', null);"
        "insert into items (item_id, attributes) values (5, '{\"placeholder\": true}');"
        "insert into events (event_id, user_id, item_id, type, value, price, ts) "
        "select 'e' || row_number() over (), u, i, t, null, p, to_timestamp(s) from ("
        "  select * from (values (1, 1, 1, null::numeric, 1700000000::float8),"
        "    (1, 1, 3, null, 1700000060), (1, 1, 4, 12.00, 1700000120),"
        "    (1, 1, 4, null, 1701900800), (1, 2, 1, null, 1700000180),"
        "    (1, 2, 1, null, 1700000180), (2, 1, 1, null, 1700003600),"
        "    (2, 3, 1, null, 1700005600), (2, 3, 3, null, 1700005700),"
        "    (2, 5, 1, 5.00, 1700005800), (4, 3, 4, null, 1702160000),"
        "    (4, 2, 1, null, extract(epoch from now()) + 86400), (4, 1, 1, null, 1000)"
        "  ) as v(u, i, t, p, s)"
        "  union all select 3, 4, 1, null, 1701728000 + k * 0.5 from generate_series(0, 69) k"
        ") w;";

static json_t *
get_report(const char *const *hdr, long want)
{
	http_reply r;
	json_error_t jerr;
	cr_assert_eq(http_do_h(&st, "GET", "/v1/admin/data/report", NULL, hdr, &r), 0);
	cr_assert_eq(r.status, want, "status %ld, body %.300s", r.status, r.body);
	json_t *j = json_loads(r.body, 0, &jerr);
	cr_assert_not_null(j, "not JSON: %.300s", r.body);
	http_reply_free(&r);
	return j;
}

static const json_t *
at(const json_t *o, const char *path)
{
	char buf[200], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k != NULL; k = strtok_r(NULL, ".", &save)) {
		cr_assert(json_is_object(o), "%s: no object above '%s'", path, k);
		o = json_object_get(o, k);
		cr_assert_not_null(o, "%s: no key '%s'", path, k);
	}
	return o;
}

static void
is_num(const json_t *r, const char *path, double want)
{
	const json_t *v = at(r, path);
	cr_assert(json_is_number(v), "%s is not a number", path);
	cr_assert(fabs(json_number_value(v) - want) < 1e-6, "%s = %.9g, want %.9g", path,
	          json_number_value(v), want);
}

static const json_t *
find_cat(const json_t *arr, const char *name)
{
	for (size_t k = 0; k < json_array_size(arr); k++) {
		const json_t *c = json_object_get(json_array_get(arr, k), "category");
		if (json_is_string(c) && strcmp(json_string_value(c), name) == 0)
			return json_array_get(arr, k);
	}
	return NULL;
}

/* Every leaf of a (the C report) equals the same leaf of b (the SQL one); arrays of objects
 * with a "category" are matched by category. Differences are appended to diffs. */
static void
same(const json_t *a, const json_t *b, const char *where, int depth, json_t *diffs)
{
	char sub[400];
	if (json_is_object(a) && json_is_object(b)) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *) a, k, v)
		{
			if (depth == 0 &&
			    (strcmp(k, "source") == 0 || strcmp(k, "format") == 0 ||
			     strcmp(k, "definitions") == 0 || strcmp(k, "seconds") == 0))
				continue;
			snprintf(sub, sizeof(sub), "%s.%s", where, k);
			if (json_object_get(b, k) == NULL)
				json_array_append_new(diffs,
				                      json_sprintf("%s: missing in SQL", sub));
			else
				same(v, json_object_get(b, k), sub, depth + 1, diffs);
		}
		json_object_foreach((json_t *) b, k,
		                    v) if (json_object_get(a, k) == NULL && depth > 0)
		        json_array_append_new(diffs, json_sprintf("%s.%s: missing in C", where, k));
		return;
	}
	if (json_is_array(a) && json_is_array(b)) {
		if (json_array_size(a) != json_array_size(b)) {
			json_array_append_new(diffs,
			                      json_sprintf("%s: %zu vs %zu entries", where,
			                                   json_array_size(a), json_array_size(b)));
			return;
		}
		for (size_t k = 0; k < json_array_size(a); k++) {
			const json_t *x = json_array_get(a, k), *y = json_array_get(b, k);
			const json_t *c = json_object_get(x, "category");
			if (json_is_string(c)) {
				y = find_cat(b, json_string_value(c));
				snprintf(sub, sizeof(sub), "%s[%s]", where, json_string_value(c));
			} else {
				snprintf(sub, sizeof(sub), "%s[%zu]", where, k);
			}
			if (y == NULL)
				json_array_append_new(diffs,
				                      json_sprintf("%s: missing in SQL", sub));
			else
				same(x, y, sub, depth + 1, diffs);
		}
		return;
	}
	if (json_is_number(a) && json_is_number(b)) {
		double x = json_number_value(a), y = json_number_value(b);
		if (fabs(x - y) > 1e-6 * (fabs(x) > 1 ? fabs(x) : 1))
			json_array_append_new(diffs,
			                      json_sprintf("%s: C %.10g, SQL %.10g", where, x, y));
		return;
	}
	if (!json_equal((json_t *) a, (json_t *) b)) {
		char *x = json_dumps(a, JSON_ENCODE_ANY | JSON_COMPACT),
		     *y = json_dumps(b, JSON_ENCODE_ANY | JSON_COMPACT);
		json_array_append_new(diffs, json_sprintf("%s: C %.80s, SQL %.80s", where, x, y));
		free(x);
		free(y);
	}
}

Test(datareport, figures_agree_with_hand_and_with_rs_train, .timeout = 120, .fini = kill_leftovers)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	cr_assert_eq(stack_db_reset(&st, "rs_it_datareport"), 0);
	cr_assert_eq(stack_sql(&st, FIXTURE), 0, "fixture failed");
	st.extra_env[0] = "RS_ADMIN_TOKEN=" TOKEN;
	cr_assert_eq(stack_start(&st, 18800, 20000), 0, "stack did not become ready");

	/* who may call it: admins only */
	json_decref(get_report(NULL, 401));
	json_t *resp = get_report(auth, 200);
	const json_t *r = at(resp, "report");
	is_num(resp, "max_age_s", 60);
	cr_assert_leq(json_integer_value(at(resp, "age_s")), 1);

	/* by hand (see describe_test.c for the working) */
	is_num(r, "counts.events", 83);
	is_num(r, "counts.users", 4);
	is_num(r, "counts.items", 5);
	is_num(r, "counts.catalog_items", 4); /* item 5 is a placeholder */
	is_num(r, "counts.pairs", 9);
	is_num(r, "counts.density", 0.45);
	is_num(r, "counts.by_type.view", 78);
	is_num(r, "counts.by_type.add_to_cart", 2);
	is_num(r, "counts.by_type.purchase", 3);
	cr_assert_str_eq(json_string_value(at(r, "time.first")), "2023-11-14T22:13:20Z");
	cr_assert_str_eq(json_string_value(at(r, "time.last")), "2023-12-09T22:13:20Z");
	is_num(r, "time.days", 26);
	is_num(r, "time.events_per_day.mean", 81.0 / 26.0);
	cr_assert_eq(json_integer_value(json_array_get(at(r, "time.series"), 20)), 70);
	is_num(r, "user_activity.median", 4);
	is_num(r, "user_activity.gini", 203.0 / 332.0);
	is_num(r, "item_popularity.gini", 282.0 / 415.0);
	is_num(r, "item_popularity.top1pct_share", 70.0 / 83.0);
	is_num(r, "funnel.overall.view_to_cart", 0.25);
	is_num(r, "funnel.overall.cart_to_purchase", 0.5);
	is_num(r, "funnel.overall.view_to_purchase", 0.125);
	const json_t *cat_a = find_cat(at(r, "funnel.by_category"), "Cat/A");
	cr_assert_not_null(cat_a);
	is_num(cat_a, "view_to_cart", 0.2);
	is_num(r, "repeat_purchase.repeat_pair_rate", 0.5);
	is_num(r, "repeat_purchase.repeat_buyer_rate", 0.5);
	is_num(r, "sessions.count", 6);
	is_num(r, "sessions.duration_s.max", 200);
	is_num(r, "cold.cold_user_share", 2.0 / 3.0);
	is_num(r, "cold.cold_item_share", 1.0 / 3.0);
	/* catalog prices only: 10, 20, 40 */
	const json_t *all = find_cat(at(r, "prices.by_category"), "(all)");
	cr_assert_not_null(all);
	is_num(all, "median", 20);
	is_num(all, "mean", 70.0 / 3.0);
	is_num(r, "quality.duplicates", 1);
	is_num(r, "quality.unknown_item_events", 1);
	is_num(r, "quality.future_events", 1);
	is_num(r, "quality.before_epoch_events", 1);
	is_num(r, "quality.bots.users", 1);
	cr_assert_str_eq(json_string_value(json_array_get(at(r, "quality.bots.user_ids"), 0)), "3");

	/* the whole report equals rs-train describe --dsn's */
	char out[512], cmd[2048];
	snprintf(out, sizeof(out), "%s/it-datareport-%d.json", getenv("RS_TEST_BUILD"),
	         (int) getpid());
	snprintf(cmd, sizeof(cmd),
	         "'%s/services/trainer/rs-train' describe --dsn '%s' --json '%s' --quiet "
	         "2>/dev/null",
	         getenv("RS_TEST_BUILD"), st.dsn, out);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	json_error_t jerr;
	json_t *c = json_load_file(out, 0, &jerr);
	unlink(out);
	cr_assert_not_null(c, "%s", jerr.text);
	json_t *diffs = json_array();
	same(c, r, "report", 0, diffs);
	char *d = json_dumps(diffs, JSON_INDENT(1));
	cr_assert_eq(json_array_size(diffs), 0, "C and SQL differ: %s", d);
	free(d);
	json_decref(diffs);
	json_decref(c);

	/* cached: a new event does not show in the next answer (same computed_at) */
	cr_assert_eq(stack_sql(&st, "insert into events (event_id, user_id, item_id, type, ts) "
	                            "values ('late', 9, 1, 1, to_timestamp(1702000000))"),
	             0);
	json_t *again = get_report(auth, 200);
	cr_assert_str_eq(json_string_value(at(again, "computed_at")),
	                 json_string_value(at(resp, "computed_at")));
	is_num(at(again, "report"), "counts.events", 83);
	json_decref(again);
	json_decref(resp);
	cr_assert_eq(stack_stop(&st), 0);
}
