/* Parsers and the metrics merge, without HTTP. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "jsonw.h"
#include "render.h"
#include "req.h"
#include "metrics.h"
#include "util.h"

Test(util, ids_are_positive_plain_integers)
{
	int64_t v;
	cr_assert_eq(gw_parse_id("42", &v), 0);
	cr_assert_eq(v, 42);
	cr_assert_eq(gw_parse_id("9223372036854775807", &v), 0);
	cr_assert_neq(gw_parse_id("9223372036854775808", &v), 0);
	cr_assert_neq(gw_parse_id("0", &v), 0);
	cr_assert_neq(gw_parse_id("-1", &v), 0);
	cr_assert_neq(gw_parse_id("+1", &v), 0);
	cr_assert_neq(gw_parse_id("1a", &v), 0);
	cr_assert_neq(gw_parse_id("", &v), 0);
	cr_assert_neq(gw_parse_id(NULL, &v), 0);
}

Test(util, iso8601_with_zone_and_fraction)
{
	int64_t ms;
	cr_assert_eq(gw_parse_iso8601("1970-01-01T00:00:01Z", &ms), 0);
	cr_assert_eq(ms, 1000);
	cr_assert_eq(gw_parse_iso8601("2026-11-28T10:00:00.123Z", &ms), 0);
	cr_assert_eq(ms, 1795860000123LL);
	cr_assert_eq(gw_parse_iso8601("2026-11-28T11:00:00.123+01:00", &ms), 0);
	cr_assert_eq(ms, 1795860000123LL);
	cr_assert_eq(gw_parse_iso8601("2026-11-28 05:30:00-0430", &ms), 0);
	cr_assert_eq(ms, 1795860000000LL);
	cr_assert_neq(gw_parse_iso8601("2026-11-28T10:00:00", &ms), 0, "no zone");
	cr_assert_neq(gw_parse_iso8601("2026-13-28T10:00:00Z", &ms), 0);
	cr_assert_neq(gw_parse_iso8601("yesterday", &ms), 0);
	cr_assert_neq(gw_parse_iso8601("2026-11-28T10:00:00Zjunk", &ms), 0);
}

Test(events, parse_maps_fields_and_rejects_per_event)
{
	rs_arena *a;
	gw_events ev;
	const char *code = NULL;
	char msg[256];
	const char *body = "{\"events\": [{\"event_id\": \"e1\", \"user_id\": 3, \"item_id\": 4,"
	                   " \"type\": \"rating\", \"value\": 4.5, \"price\": 1.25, \"ts\": 5,"
	                   " \"rec_id\": \"r\", \"variant\": \"A\"},"
	                   " {\"user_id\": 3, \"item_id\": 4.5, \"type\": \"view\"},"
	                   " {\"user_id\": 3, \"item_id\": 4, \"type\": \"view\", \"ts\": true},"
	                   " {\"user_id\": 3, \"item_id\": 4, \"type\": \"view\", \"price\": -1},"
	                   " {\"user_id\": 3, \"item_id\": 4, \"type\": \"not_interested\"}]}";
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	cr_assert_eq(gw_events_parse(body, strlen(body), a, &ev, &code, msg, sizeof(msg)), 0, "%s",
	             msg);
	cr_assert_eq(ev.e_total, 5);
	cr_assert_eq(ev.e_n, 2);
	cr_assert_eq(ev.e_nrejected, 3);
	cr_assert_eq(ev.e_rejected[0].index, 1);
	cr_assert_eq(ev.e_rejected[1].index, 2);
	cr_assert_eq(ev.e_rejected[2].index, 3);
	const Rs__Event *e = ev.e_events[0];
	cr_assert_str_eq(e->event_id, "e1");
	cr_assert_eq(e->user_id, 3);
	cr_assert_eq(e->type, RS__EVENT_TYPE__EVENT_RATING);
	cr_assert(e->has_value);
	cr_assert_float_eq(e->value, 4.5, 1e-9);
	cr_assert_float_eq(e->price, 1.25, 1e-9);
	cr_assert_eq(e->ts_ms, 5);
	cr_assert_str_eq(e->variant, "A");
	cr_assert_eq(ev.e_index[1], 4);
	cr_assert_eq(ev.e_events[1]->type, RS__EVENT_TYPE__EVENT_NOT_INTERESTED);
	cr_assert_eq(ev.e_events[1]->has_value, 0);
	rs_arena_destroy(a);
}

/* Parses body into ev with a fresh arena (returned in *a); the status of gw_events_parse. */
static int
t_parse(const char *body, size_t len, rs_arena **a, gw_events *ev, const char **code, char *msg,
        size_t msgn)
{
	cr_assert_eq(rs_arena_create(a, 0), 0);
	*code = NULL;
	return gw_events_parse(body, len, *a, ev, code, msg, msgn);
}

Test(events, streaming_parse_skips_what_it_does_not_keep)
{
	rs_arena *a;
	gw_events ev;
	const char *code;
	char msg[256];
	/* unknown keys with nested values, a nested value in a known field, elements that are not
	 * objects (an array, a number, null), keys that look like fields at the wrong depth */
	const char *body =
	        "{\"meta\": {\"events\": [1], \"user_id\": 9}, \"events\": ["
	        "{\"user_id\": 1, \"item_id\": 2, \"type\": \"view\", \"x\": [{\"user_id\": 5}],"
	        " \"attrs\": {\"a\": [1, {\"b\": null}]}},"
	        "[{\"user_id\": 1, \"item_id\": 2, \"type\": \"view\"}], 7, null,"
	        "{\"user_id\": {\"v\": 1}, \"item_id\": 2, \"type\": \"view\"},"
	        "{\"user_id\": 3, \"item_id\": 4, \"type\": \"click\", \"event_id\": "
	        "\"a\\u00e9\\n\"}"
	        "], \"trailer\": true}";
	cr_assert_eq(t_parse(body, strlen(body), &a, &ev, &code, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(ev.e_total, 6);
	cr_assert_eq(ev.e_n, 2);
	cr_assert_eq(ev.e_events[0]->user_id, 1);
	cr_assert_eq(ev.e_index[1], 5);
	cr_assert_str_eq(ev.e_events[1]->event_id, "a\xc3\xa9\n");
	cr_assert_eq(ev.e_nrejected, 4);
	for (uint32_t i = 0; i < 3; i++) {
		cr_assert_eq(ev.e_rejected[i].index, i + 1);
		cr_assert_str_eq(ev.e_rejected[i].reason, "event must be an object");
	}
	cr_assert_str_eq(ev.e_rejected[3].reason, "user_id must be a positive integer");
	cr_assert_geq(ev.e_rejected_cap, ev.e_nrejected + ev.e_n);
	rs_arena_destroy(a);
}

Test(events, streaming_parse_single_event_and_field_errors)
{
	rs_arena *a;
	gw_events ev;
	const char *code;
	char msg[256];
	const char *one = "{\"user_id\": 1, \"item_id\": 2, \"type\": \"purchase\", \"value\": 2,"
	                  " \"price\": 3, \"ts\": \"2026-11-28T10:00:00Z\", \"rec_id\": null}";
	cr_assert_eq(t_parse(one, strlen(one), &a, &ev, &code, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert(ev.e_single);
	cr_assert_eq(ev.e_n, 1);
	cr_assert_eq(ev.e_events[0]->ts_ms, 1795860000000LL);
	cr_assert_float_eq(ev.e_events[0]->value, 2.0, 1e-12);
	cr_assert_float_eq(ev.e_events[0]->price, 3.0, 1e-12);
	cr_assert_str_eq(ev.e_events[0]->rec_id, "");
	rs_arena_destroy(a);

	static const struct {
		const char *body;
		const char *reason;
	} bad[] = {
	        {"{\"user_id\": 1, \"item_id\": 2}", "type is required"},
	        {"{\"user_id\": 1, \"item_id\": 2, \"type\": [\"view\"]}", "type must be one of"},
	        {"{\"user_id\": 0, \"item_id\": 2, \"type\": \"view\"}", "user_id must be"},
	        {"{\"user_id\": \"1\", \"item_id\": 2, \"type\": \"view\"}", "user_id must be"},
	        {"{\"user_id\": 1, \"item_id\": 2, \"type\": \"view\", \"event_id\": "
	         "\"a\\u0000b\"}",
	         "event_id must be"},
	        {"{\"user_id\": 1, \"item_id\": 2, \"type\": \"view\", \"ts\": "
	         "\"2026-11-28\\u0000Z\"}",
	         "ts must be an ISO-8601"},
	        {"{\"user_id\": 1, \"item_id\": 2, \"type\": \"view\", \"ts\": 1e3}",
	         "ts must be unix"},
	        {"{\"user_id\": 1, \"item_id\": 2, \"type\": \"view\", \"value\": \"5\"}",
	         "value must be a number"},
	        {"{\"user_id\": 1, \"item_id\": 2, \"type\": \"view\", \"price\": {}}",
	         "price must be a number"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(
		        t_parse(bad[i].body, strlen(bad[i].body), &a, &ev, &code, msg, sizeof(msg)),
		        400, "%s", bad[i].body);
		cr_assert_str_eq(code, "invalid_event");
		cr_assert(strncmp(msg, bad[i].reason, strlen(bad[i].reason)) == 0, "%s: %s",
		          bad[i].body, msg);
		rs_arena_destroy(a);
	}

	/* a long event_id is rejected by its length, whatever it holds */
	char longid[400];
	int n = snprintf(longid, sizeof(longid),
	                 "{\"user_id\": 1, \"item_id\": 2, \"type\": \"view\", \"event_id\": \"");
	memset(longid + n, 'x', 300);
	snprintf(longid + n + 300, sizeof(longid) - (size_t) n - 300, "\"}");
	cr_assert_eq(t_parse(longid, strlen(longid), &a, &ev, &code, msg, sizeof(msg)), 400);
	cr_assert(strstr(msg, "event_id") != NULL, "%s", msg);
	rs_arena_destroy(a);
}

Test(events, streaming_parse_whole_body_errors)
{
	rs_arena *a;
	gw_events ev;
	const char *code;
	char msg[256];
	static const struct {
		const char *body;
		size_t len; /* 0: strlen */
		int status;
		const char *code;
		const char *in_msg;
	} cases[] = {
	        {"", 0, 400, "bad_json", "line 1"},
	        {"{\"events\": [{}", 0, 400, "bad_json", "column 15"},
	        {"{\n\"events\": [\n{\"user_id\": 1,,}]}", 0, 400, "bad_json", "line 3 column 15"},
	        {"{\"events\": [{\"event_id\": \"\xff\"}]}", 0, 400, "bad_json", "malformed JSON"},
	        {"{\"user_id\": 99999999999999999999999}", 0, 400, "bad_json", "malformed JSON"},
	        {"{\"a\": 1} {\"b\": 2}", 0, 400, "bad_json", "malformed JSON"},
	        {"{\"a\": 1}\0", 9, 400, "bad_json", "malformed JSON"},
	        {"\"view\"", 0, 400, "bad_request", "body must be"},
	        {"[{\"user_id\": 1, \"item_id\": 2, \"type\": \"view\"}]", 0, 400, "bad_request",
	         "body must be"},
	        {"{\"events\": {\"user_id\": 1}}", 0, 400, "bad_request",
	         "events must be an array"},
	        {"{\"events\": null}", 0, 400, "bad_request", "events must be an array"},
	        {"{\"events\": [], \"user_id\": 1}", 0, 400, "bad_request", "must not be empty"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].body);
		cr_assert_eq(t_parse(cases[i].body, len, &a, &ev, &code, msg, sizeof(msg)),
		             cases[i].status, "case %zu: %s", i, msg);
		cr_assert_str_eq(code, cases[i].code, "case %zu: %s", i, msg);
		cr_assert(strstr(msg, cases[i].in_msg) != NULL, "case %zu: %s", i, msg);
		rs_arena_destroy(a);
	}
	/* a repeated "events" key: the last one counts */
	const char *twice = "{\"events\": [1, 2, 3], \"events\": [{\"user_id\": 1, \"item_id\": 2,"
	                    " \"type\": \"view\"}]}";
	cr_assert_eq(t_parse(twice, strlen(twice), &a, &ev, &code, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(ev.e_total, 1);
	cr_assert_eq(ev.e_n, 1);
	cr_assert_eq(ev.e_nrejected, 0);
	rs_arena_destroy(a);
}

Test(events, too_many_events_is_413)
{
	rs_arena *a;
	gw_events ev;
	const char *code = NULL;
	char msg[256];
	size_t cap = 64 * (GW_EVENTS_MAX + 2), n = 0;
	char *body = malloc(cap);
	n += (size_t) snprintf(body, cap, "{\"events\": [");
	for (int i = 0; i <= GW_EVENTS_MAX; i++)
		n += (size_t) snprintf(body + n, cap - n, "%s{}", i ? "," : "");
	snprintf(body + n, cap - n, "]}");
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	cr_assert_eq(gw_events_parse(body, strlen(body), a, &ev, &code, msg, sizeof(msg)), 413);
	cr_assert_str_eq(code, "too_many_events");
	rs_arena_destroy(a);
	free(body);
}

Test(metrics, merge_groups_families_and_labels_each_service)
{
	const char *gwtext = "# HELP a_total A\n# TYPE a_total counter\na_total{x=\"1\"} 3\n";
	const char *ds = "# HELP a_total A\n# TYPE a_total counter\na_total{x=\"1\"} 5\n"
	                 "# HELP h_ms H\n# TYPE h_ms histogram\nh_ms_bucket{le=\"1\"} 1\n"
	                 "h_ms_sum 0.5\nh_ms_count 1\n";
	const char *parts[3] = {gwtext, NULL, ds};
	const char *svcs[3] = {"gateway", "feature", "ranking"};
	char *out = gw_metrics_merge(parts, svcs, 3);
	cr_assert_not_null(out);
	cr_assert_str_eq(out, "# HELP a_total A\n# TYPE a_total counter\n"
	                      "a_total{svc=\"gateway\",x=\"1\"} 3\n"
	                      "a_total{svc=\"ranking\",x=\"1\"} 5\n"
	                      "# HELP h_ms H\n# TYPE h_ms histogram\n"
	                      "h_ms_bucket{svc=\"ranking\",le=\"1\"} 1\n"
	                      "h_ms_sum{svc=\"ranking\"} 0.5\n"
	                      "h_ms_count{svc=\"ranking\"} 1\n");
	free(out);
}

/* jsonw writes what json_dumps(JSON_COMPACT | JSON_REAL_PRECISION(10)) writes for the same
 * values built with render.h's helpers. */
static void
jw_same(gw_jw *w, json_t *j)
{
	size_t len = 0;
	char *got = gw_jw_take(w, &len);
	char *want = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10) | JSON_ENCODE_ANY);
	cr_assert_not_null(got);
	cr_assert_not_null(want);
	cr_assert_str_eq(got, want);
	cr_assert_eq(len, strlen(want));
	free(got);
	free(want);
	json_decref(j);
}

/* gw_jw_fmt_g writes what snprintf's %.*g writes: random floats and doubles over the range it
 * formats itself and around it, powers of ten and their neighbours, exact ties */
static void
fmt_g_same(double v, int prec)
{
	char got[64], want[64];
	int n = gw_jw_fmt_g(got, sizeof(got), prec, v);
	int m = snprintf(want, sizeof(want), "%.*g", prec, v);
	cr_assert_str_eq(got, want, "%%.%dg of %a", prec, v);
	cr_assert_eq(n, m);
}

Test(jsonw, fmt_g_matches_printf)
{
	static const double fixed[] = {12345.25, 12345.75, 0.5,       1.5,       2.5,    1234.5,
	                               99999.95, 999999.5, 1e-4,      0.0001001, 1e-5,   0.0,
	                               -0.0,     NAN,      -INFINITY, 1e22,      5e-324, 123456.5};
	static const int precs[] = {6, 10, 1, 3, 17};
	uint64_t s = 7;
	for (size_t p = 0; p < sizeof(precs) / sizeof(precs[0]); p++) {
		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
			fmt_g_same(fixed[i], precs[p]);
			fmt_g_same(-fixed[i], precs[p]);
		}
		for (int k = -6; k <= 12; k++) {
			double t = pow(10.0, k);
			fmt_g_same(t, precs[p]);
			fmt_g_same(nextafter(t, 0), precs[p]);
			fmt_g_same(nextafter(t, INFINITY), precs[p]);
			fmt_g_same((double) nextafterf((float) t, 0), precs[p]);
			fmt_g_same((double) nextafterf((float) t, INFINITY), precs[p]);
			/* what rounds up to the next power: 0.99999995 10^k and its neighbours */
			double r = t * (1 - 0.5 * pow(10.0, -precs[p]));
			fmt_g_same(r, precs[p]);
			fmt_g_same(nextafter(r, 0), precs[p]);
			fmt_g_same(nextafter(r, INFINITY), precs[p]);
		}
	}
	for (int i = 0; i < 400000; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		uint64_t r = s >> 11;
		/* a value between 1e-6 and 1e12, as a float or a double; ties: few binary digits */
		double mant = 1.0 + (double) (r & 0xFFFFF) / (double) (1 << 20);
		double v = ldexp(mant, (int) ((r >> 20) % 60) - 20);
		if (i % 3 == 0)
			v = (double) (float) v;
		if (i % 5 == 0)
			v = ldexp(floor(v * 1024), -10);
		fmt_g_same(i % 2 ? v : -v, i % 4 < 2 ? 6 : 10);
	}
}

Test(jsonw, matches_jansson)
{
	static const float f32s[] = {0.98f,    0.0f,     -1.5f,     1.0f,      3.14159265f, 1e-5f,
	                             1.23e-7f, 12345.6f, 999999.4f, 999999.6f, 1234567.0f,  4.2e12f,
	                             -0.0f,    NAN,      INFINITY,  1e-38f};
	static const double reals[] = {0.0, 1.0, 19.99,          1e21, -2.5e-7, 123456789012.0,
	                               0.1, NAN, 1234.5678901234};
	static const double mss[] = {0.0, 1.2345678, 12.3456, 1000.0, -3.0, 0.0004999};
	static const int64_t ints[] = {0, 1, -1, 42, INT64_MAX, INT64_MIN, 1234567890123};
	static const char *const strs[] = {"",
	                                   "plain",
	                                   "quo\"te\\back/slash",
	                                   "tab\tnl\ncr\r\b\f",
	                                   "ctl\x01\x1f\x7f",
	                                   "Küche Ā €",
	                                   "bad\xff\xc3(x\xe2\x82",
	                                   "emoji \xf0\x9f\x98\x80",
	                                   "sur\xed\xa0\x80rogate"};
	gw_jw w;
	for (size_t i = 0; i < sizeof(f32s) / sizeof(f32s[0]); i++) {
		gw_jw_init(&w, 8);
		gw_jw_f32(&w, f32s[i]);
		jw_same(&w, gw_json_f32(f32s[i]));
	}
	for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
		gw_jw_init(&w, 8);
		gw_jw_real(&w, reals[i]);
		jw_same(&w, gw_json_num(reals[i]));
	}
	for (size_t i = 0; i < sizeof(mss) / sizeof(mss[0]); i++) {
		gw_jw_init(&w, 8);
		gw_jw_ms(&w, mss[i]);
		jw_same(&w, gw_json_ms(mss[i]));
	}
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		gw_jw_init(&w, 8);
		gw_jw_int(&w, ints[i]);
		jw_same(&w, json_integer(ints[i]));
	}
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		gw_jw_init(&w, 8);
		gw_jw_str(&w, strs[i]);
		jw_same(&w, gw_json_str(strs[i]));
	}
	/* Structure and embedded jansson values. */
	gw_jw_init(&w, 8);
	gw_jw_lit(&w, "{\"a\":[");
	gw_jw_bool(&w, 1);
	gw_jw_lit(&w, ",");
	gw_jw_bool(&w, 0);
	gw_jw_lit(&w, "],\"b\":");
	gw_jw_json(&w, json_pack("{s:i,s:[s,f]}", "x", 1, "y", "z", 0.5));
	gw_jw_lit(&w, "}");
	jw_same(&w, json_pack("{s:[b,b],s:{s:i,s:[s,f]}}", "a", 1, 0, "b", "x", 1, "y", "z", 0.5));
}

/* A ranked item renders like the jansson tree the gateway used to build, as it came from
 * ranking (which fills title, category, price and the sources). */
Test(jsonw, ranked_item)
{
	Rs__SourceScore s1 = RS__SOURCE_SCORE__INIT, s2 = RS__SOURCE_SCORE__INIT;
	Rs__SourceScore *srcs[2] = {&s1, &s2};
	Rs__RankedItem it = RS__RANKED_ITEM__INIT;
	s1.source = "covisit";
	s1.score = 0.75f;
	s1.rank = 3;
	s1.because_item = 77;
	s2.source = "als";
	s2.score = 0.125f;
	s2.rank = 9;
	it.item_id = 5;
	it.score = 0.98f;
	it.reason = "often viewed together with items you viewed";
	it.title = "Chef \"knife\"";
	it.category = "Home/Kitchen";
	it.price = 19.99;
	it.n_sources = 2;
	it.sources = srcs;
	gw_jw w;
	gw_jw_init(&w, 8);
	gw_render_ranked(&w, &it);
	json_t *want = json_pack("{s:I,s:o,s:s,s:s,s:s,s:o,s:[{s:s,s:o,s:i,s:i},{s:s,s:o,s:i}]}",
	                         "item_id", (json_int_t) 5, "score", gw_json_f32(0.98f), "reason",
	                         "often viewed together with items you viewed", "title",
	                         "Chef \"knife\"", "category", "Home/Kitchen", "price",
	                         gw_json_num(19.99), "sources", "source", "covisit", "score",
	                         gw_json_f32(0.75f), "rank", 3, "because_item", 77, "source", "als",
	                         "score", gw_json_f32(0.125f), "rank", 9);
	jw_same(&w, want);
}

/* the request target as sent: the routed path stays encoded; what is refused and why */
Test(req, target_checks_and_keeps_the_encoded_path)
{
	char path[GW_PATH_MAX], err[160];
	cr_assert_eq(gw_req_target("/v1/users/1%2Frecommendations?k=3", path, err, sizeof(err)), 0);
	cr_assert_str_eq(path, "/v1/users/1%2Frecommendations");
	cr_assert_eq(gw_req_target("/v1/items?category=Home%2FKitchen&q=chef+knife", path, err,
	                           sizeof(err)),
	             0);
	cr_assert_str_eq(path, "/v1/items");
	cr_assert_eq(gw_req_target("/a?x&y=&z=1", path, err, sizeof(err)), 0);
	cr_assert_eq(gw_req_target("/a?&&", path, err, sizeof(err)), 0);
	cr_assert_eq(gw_req_target("/a%00b", path, err, sizeof(err)), 400);
	cr_assert(strstr(err, "NUL") != NULL, "%s", err);
	cr_assert_eq(gw_req_target("/a%4", path, err, sizeof(err)), 400);
	cr_assert(strstr(err, "malformed") != NULL, "%s", err);
	cr_assert_eq(gw_req_target("/a%g0", path, err, sizeof(err)), 400);
	cr_assert_eq(gw_req_target("*", path, err, sizeof(err)), 400);
	cr_assert_eq(gw_req_target("/a?v=%00", path, err, sizeof(err)), 400);
	cr_assert_eq(gw_req_target("/a?k=1&k=2", path, err, sizeof(err)), 400);
	cr_assert_str_eq(err, "query parameter \"k\" is given more than once");
	/* the same name however it is written */
	cr_assert_eq(gw_req_target("/a?user+id=1&user%20id=2", path, err, sizeof(err)), 400);
	char q[8 + 8 * (GW_QUERY_MAX + 1)] = "/a?";
	for (int i = 0; i <= GW_QUERY_MAX; i++)
		snprintf(q + strlen(q), sizeof(q) - strlen(q), "p%d=1&", i);
	cr_assert_eq(gw_req_target(q, path, err, sizeof(err)), 400);
	q[strlen(q) - 6] = '\0'; /* GW_QUERY_MAX parameters: fine */
	cr_assert_eq(gw_req_target(q, path, err, sizeof(err)), 0, "%s", err);
	char longp[GW_PATH_MAX + 2];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	cr_assert_eq(gw_req_target(longp, path, err, sizeof(err)), 414);
	longp[GW_PATH_MAX - 1] = '\0'; /* GW_PATH_MAX - 1 bytes: fine */
	cr_assert_eq(gw_req_target(longp, path, err, sizeof(err)), 0);
}

Test(req, a_path_segment_is_captured_decoded)
{
	char out[32];
	cr_assert_eq(gw_req_segment("v1%2Fb+c%41", 11, out), 0);
	cr_assert_str_eq(out, "v1/b+cA");
	cr_assert_eq(gw_req_segment("abc", 2, out), 0);
	cr_assert_str_eq(out, "ab");
	cr_assert_eq(gw_req_segment("a%0", 3, out), -1);
	cr_assert_eq(gw_req_segment("a%00", 4, out), -1);
}
