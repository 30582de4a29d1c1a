/* rs_metrics_http: a service's own small HTTP listener for Prometheus, so every replica of every
 * service is scraped directly (the backends otherwise speak only NNG):
 *
 *   GET /metrics   the process registry (rs_metrics_render) with svc="<svc>" on every series
 *   GET /healthz   200 {"status":"ok"}: the process is up and its listener thread answers
 *
 * Anything else is 404 (405 for another method on those paths), with the JSON error body the
 * gateway uses. Readiness stays on the RPC path (METHOD_HEALTH through rs-probe), which checks
 * what a caller actually uses. One libmicrohttpd thread, a handful of connections: a scrape
 * every few seconds is all it serves. Built as its own library (rs_metrics_http) so only the
 * services that listen link libmicrohttpd. */
#ifndef RS_METRICS_HTTP_H
#define RS_METRICS_HTTP_H

typedef struct rs_metrics_http rs_metrics_http;

/* rs_metrics_http_start: listen on addr ("host:port", "[v6]:port"; port 0 = a free one, see
 * rs_metrics_http_port) as service svc (copied). addr "off" (or "") starts nothing: *out = NULL,
 * returns 0.
 * Returns 0, RS_EINVAL (addr is not host:port with a numeric host), RS_EEXIST (cannot listen),
 * RS_ENOMEM. */
int rs_metrics_http_start(rs_metrics_http **out, const char *addr, const char *svc);

/* rs_metrics_http_port: the bound TCP port (0 for NULL). */
int rs_metrics_http_port(const rs_metrics_http *h);

/* rs_metrics_http_stop: stop listening, finish the scrape in flight, free. NULL is a no-op. */
void rs_metrics_http_stop(rs_metrics_http *h);

#endif
