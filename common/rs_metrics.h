/* rs_metrics: Prometheus counters, gauges and latency histograms in one process-wide
 * registry. Registration takes a lock (do it at startup or cache the pointer); updates
 * are lock-free atomics and safe from any thread. Metric objects live until exit. */
#ifndef RS_METRICS_H
#define RS_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct rs_metric rs_metric;

/* Get or create. name is the Prometheus metric name ("rs_requests_total"), labels the
 * text inside braces without them ("method=\"rank\",status=\"ok\"", or NULL).
 * The same (name, labels) always returns the same object. NULL only when out of memory. */
rs_metric *rs_metrics_counter(const char *name, const char *help, const char *labels);
rs_metric *rs_metrics_gauge(const char *name, const char *help, const char *labels);
/* Latency histogram in milliseconds with fixed buckets 0.1 .. 5000 ms. */
rs_metric *rs_metrics_histogram(const char *name, const char *help, const char *labels);

void rs_metric_add(rs_metric *m, uint64_t n);    /* counter; NULL is a no-op */
void rs_metric_set(rs_metric *m, double v);      /* gauge; NULL is a no-op */
void rs_metric_observe(rs_metric *m, double ms); /* histogram; NULL is a no-op */
uint64_t rs_metric_count(const rs_metric *m);    /* counter value or histogram count */

/* rs_metrics_render: the whole registry in text exposition format, as a malloc'd string
 * the caller frees. extra_labels (e.g. "svc=\"ranking\"", or NULL) is added to every series.
 * Returns NULL when out of memory. */
char *rs_metrics_render(const char *extra_labels);

#endif
