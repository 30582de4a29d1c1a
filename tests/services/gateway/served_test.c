/* The impression of record: every recommendation list the gateway serves is queued as one
 * `impressions` row (rec_id, customer, items in served order, model version, degraded flag)
 * and written by the impressions writer to a real PostgreSQL schema (pg_fixture.h), with the
 * fake downstreams of fakes.h answering. The answer itself is the expectation: what the stored
 * row says must be exactly what the customer was sent. Also: a degraded answer is recorded and
 * flagged, a what-if answer is not recorded, RS_GATEWAY_RECORD_IMPRESSIONS=0 records nothing,
 * and a full queue drops (and counts) the list while the answer is still served. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakes.h"
#include "gateway.h"
#include "impressions.h"
#include "pg_fixture.h"

static fx_pg fx;
static int s_record = 1;
static const char *s_dsn;
static int s_queue;

static void
tune(gw_config *cfg)
{
	cfg->pg_dsn = s_dsn;
	cfg->record_impressions = s_record;
	cfg->impressions_queue = s_queue;
}

static void
start(int record, const char *dsn, int queue)
{
	s_record = record;
	s_dsn = dsn;
	s_queue = queue;
	t_tune = tune;
	t_start(T_ALL);
}

static void
setup(void)
{
	fx_pg_setup(&fx, "gw_served");
}

static void
teardown(void)
{
	t_stop();
	fx_pg_teardown(&fx);
}

TestSuite(served, .init = setup, .fini = teardown, .timeout = 60);

static char *
sql_text(const char *sql)
{
	PGresult *r = PQexec(fx.conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	cr_assert_eq(PQntuples(r), 1, "%s: %d rows", sql, PQntuples(r));
	char *s = strdup(PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
	PQclear(r);
	return s;
}

static long
sql_long(const char *sql)
{
	char *s = sql_text(sql);
	long v = strtol(s, NULL, 10);
	free(s);
	return v;
}

/* The answer's item ids as a PostgreSQL array literal "{a,b,...}". */
static void
answer_items(json_t *answer, char *buf, size_t n)
{
	json_t *items = json_object_get(answer, "items");
	size_t len = (size_t) snprintf(buf, n, "{");
	cr_assert(json_is_array(items) && json_array_size(items) > 0, "no items");
	for (size_t i = 0; i < json_array_size(items); i++)
		len += (size_t) snprintf(buf + len, n - len, "%s%lld", i ? "," : "",
		                         (long long) json_integer_value(json_object_get(
		                                 json_array_get(items, i), "item_id")));
	snprintf(buf + len, n - len, "}");
}

/* The stored row of rec_id as "user|items|first_position|surface|model_version|variant|
 * experiment_id|degraded". */
static char *
stored(const char *rec_id)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "select user_id || '|' || items::text || '|' || first_position || '|' || "
	         "coalesce(surface, '-') || '|' || coalesce(model_version, '-') || '|' || "
	         "coalesce(variant, '-') || '|' || coalesce(experiment_id::text, '-') || '|' || "
	         "degraded from impressions where rec_id = '%s'",
	         rec_id);
	return sql_text(sql);
}

static json_t *
get_answer(const char *path)
{
	t_resp r;
	t_http("GET", path, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s: %ld %s", path, r.status, r.body);
	json_t *j = json_incref(r.json);
	t_resp_free(&r);
	return j;
}

Test(served, every_served_list_is_stored_as_served_and_degraded_ones_are_flagged)
{
	char want[512], items[256];
	start(1, fx.dsn, 0);
	json_t *a = get_answer("/v1/users/7/recommendations?k=5");
	cr_assert(json_is_false(json_object_get(a, "degraded")));
	const char *rec_id = json_string_value(json_object_get(a, "rec_id"));
	cr_assert_not_null(rec_id);
	answer_items(a, items, sizeof(items));
	cr_assert_eq(gw_impressions_flush(t_gateway()->s_impressions, 5000), 0);
	snprintf(want, sizeof(want), "7|%s|1|%s|%s|-|-|false", items, GW_IMPRESSIONS_SERVED_SURFACE,
	         json_string_value(json_object_get(a, "model_version")));
	char *got = stored(rec_id);
	cr_assert_str_eq(got, want);
	free(got);
	json_decref(a);

	/* ranking down: served in candidate order, degraded, and recorded as such */
	t_stop_fake(T_RANKING);
	a = get_answer("/v1/users/8/recommendations?k=3");
	cr_assert(json_is_true(json_object_get(a, "degraded")));
	rec_id = json_string_value(json_object_get(a, "rec_id"));
	answer_items(a, items, sizeof(items));
	cr_assert_eq(gw_impressions_flush(t_gateway()->s_impressions, 5000), 0);
	snprintf(want, sizeof(want), "8|%s|1|%s|%s|-|-|true", items, GW_IMPRESSIONS_SERVED_SURFACE,
	         json_string_value(json_object_get(a, "model_version")));
	got = stored(rec_id);
	cr_assert_str_eq(got, want);
	free(got);
	json_decref(a);

	/* a what-if answer is a hypothetical look, not a list shown: nothing stored */
	a = get_answer("/v1/users/9/recommendations?k=3&what_if=view:5");
	cr_assert_eq(gw_impressions_flush(t_gateway()->s_impressions, 5000), 0);
	cr_assert_eq(sql_long("select count(*) from impressions where user_id = 9"), 0);
	json_decref(a);
	cr_assert_eq(sql_long("select count(*) from impressions"), 2);

	/* the metric counts the recorded lists */
	t_resp r;
	t_http("GET", "/metrics", NULL, NULL, &r);
	cr_assert(strstr(r.body, "rs_gateway_served_lists_total{svc=\"gateway\",result="
	                         "\"recorded\"} 2") != NULL,
	          "%s", r.body);
	t_resp_free(&r);
}

Test(served, recording_off_stores_nothing)
{
	start(0, fx.dsn, 0);
	for (int u = 1; u <= 3; u++) {
		char path[64];
		snprintf(path, sizeof(path), "/v1/users/%d/recommendations?k=4", u);
		json_decref(get_answer(path));
	}
	cr_assert_eq(gw_impressions_flush(t_gateway()->s_impressions, 5000), 0);
	cr_assert_eq(sql_long("select count(*) from impressions"), 0);
}

Test(served, a_full_queue_drops_and_counts_the_list_and_still_answers)
{
	/* a database that is gone: nothing drains the 100-item queue; 10 lists of 10 fill it */
	start(1, "host=127.0.0.1 port=1 dbname=none connect_timeout=1", 100);
	for (int u = 1; u <= 13; u++) {
		char path[64];
		snprintf(path, sizeof(path), "/v1/users/%d/recommendations?k=10", u);
		json_t *a = get_answer(path);
		cr_assert_eq(json_array_size(json_object_get(a, "items")), 10);
		json_decref(a);
	}
	t_resp r;
	t_http("GET", "/metrics", NULL, NULL, &r);
	cr_assert(strstr(r.body, "rs_gateway_served_lists_total{svc=\"gateway\",result="
	                         "\"recorded\"} 10") != NULL,
	          "%s", r.body);
	cr_assert(strstr(r.body, "rs_gateway_served_lists_total{svc=\"gateway\",result="
	                         "\"dropped\"} 3") != NULL,
	          "%s", r.body);
	t_resp_free(&r);
}
