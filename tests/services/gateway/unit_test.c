/* Parsers and the metrics merge, without HTTP. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
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
	gw_events_fini(&ev);
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
	gw_events_fini(&ev);
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
