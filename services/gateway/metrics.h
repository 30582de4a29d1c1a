/* metrics: the gateway's own Prometheus series and GET /metrics.
 *
 *   rs_gateway_http_requests_total{route,status}   counter
 *   rs_gateway_http_duration_ms{route}             histogram (request start to reply queued)
 *   rs_gateway_hop_duration_ms{hop}                histogram per downstream call
 *   rs_gateway_hop_failures_total{hop,reason}      counter (unavailable, timeout, error)
 *   rs_gateway_degraded_total{reason}              counter (feature, candidate, ranking)
 *   rs_gateway_popular_age_ms                      gauge (age of the cached popular list)
 *
 * GET /metrics renders these (svc="gateway") followed by each reachable downstream's
 * METHOD_METRICS text with svc="<name>" added to every series; families are merged so each
 * name has one HELP/TYPE. Updates are lock-free after gw_metrics_init. */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stddef.h>

#define GW_METRICS_MAX_ROUTES 64

/* gw_metrics_init: register every series, with a counter per (route, status) for the n route
 * names given (the route table's: router.h gw_route_names). Call before serving; later calls
 * register nothing new. */
void gw_metrics_init(const char *const *routes, size_t n);

void gw_metrics_http(const char *route, unsigned status, double ms);
void gw_metrics_hop(const char *hop, double ms, const char *failure /* NULL = ok */);
void gw_metrics_degraded(const char *reason);
void gw_metrics_popular_age(double ms);

/* gw_metrics_merge: append downstream exposition text to the gateway's, grouping samples
 * by family and adding svc="<svc>" to each sample. parts[i]/svcs[i] for i < n; NULL parts
 * are skipped. Returns a malloc'd string or NULL (out of memory). Exposed for tests. */
char *gw_metrics_merge(const char *const *parts, const char *const *svcs, int n);

#endif
