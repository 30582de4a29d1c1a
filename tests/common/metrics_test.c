#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "rs_metrics.h"

Test(metrics, same_name_and_labels_give_the_same_series)
{
	rs_metric *a = rs_metrics_counter("t_same_total", "help", "k=\"v\"");
	rs_metric *b = rs_metrics_counter("t_same_total", "help", "k=\"v\"");
	rs_metric *c = rs_metrics_counter("t_same_total", "help", "k=\"w\"");
	cr_assert_eq(a, b);
	cr_assert_neq(a, c);
	rs_metric_add(a, 2);
	rs_metric_add(b, 3);
	cr_assert_eq(rs_metric_count(a), 5);
}

Test(metrics, render_groups_series_and_makes_cumulative_buckets)
{
	rs_metric *x1 = rs_metrics_counter("t_render_total", "things", "k=\"1\"");
	rs_metric *h = rs_metrics_histogram("t_render_ms", "latency", NULL);
	rs_metric *x2 = rs_metrics_counter("t_render_total", "things", "k=\"2\"");
	rs_metric *g = rs_metrics_gauge("t_render_gauge", "a gauge", NULL);
	rs_metric_add(x1, 1);
	rs_metric_add(x2, 7);
	rs_metric_observe(h, 0.2);
	rs_metric_observe(h, 3);
	rs_metric_observe(h, 10000);
	rs_metric_set(g, 2.5);
	char *text = rs_metrics_render("svc=\"t\"");
	cr_assert_not_null(text);
	/* One TYPE line per name even though the two series were registered apart. */
	const char *first = strstr(text, "# TYPE t_render_total counter");
	cr_assert_not_null(first);
	cr_assert_null(strstr(first + 1, "# TYPE t_render_total counter"));
	cr_assert_not_null(strstr(text, "t_render_total{k=\"2\",svc=\"t\"} 7\n"));
	cr_assert_not_null(strstr(text, "t_render_ms_bucket{svc=\"t\",le=\"0.25\"} 1\n"));
	cr_assert_not_null(strstr(text, "t_render_ms_bucket{svc=\"t\",le=\"5\"} 2\n"));
	cr_assert_not_null(strstr(text, "t_render_ms_bucket{svc=\"t\",le=\"5000\"} 2\n"));
	cr_assert_not_null(strstr(text, "t_render_ms_bucket{svc=\"t\",le=\"+Inf\"} 3\n"));
	cr_assert_not_null(strstr(text, "t_render_ms_count{svc=\"t\"} 3\n"));
	cr_assert_not_null(strstr(text, "t_render_gauge{svc=\"t\"} 2.5\n"));
	free(text);
}
