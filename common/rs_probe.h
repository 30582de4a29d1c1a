/* rs_probe: ask a service whether it is ready (METHOD_HEALTH), for container health checks and
 * Kubernetes exec probes of the services that speak only NNG (ingest, feature, candidate,
 * ranking; the gateway has GET /readyz). */
#ifndef RS_PROBE_H
#define RS_PROBE_H

#include <stddef.h>

/* rs_probe_health: dial url, wait for the connection and the reply within timeout_ms in all.
 * Returns 1 when the service answered ready, 0 when it answered not ready, or an RS_E* error
 * (RS_EUNAVAIL: nothing accepted the connection in time; RS_ETIMEDOUT: no reply in time;
 * RS_EINVAL: bad url). detail (size detailn, may be NULL) gets the service's detail text or
 * the error text. */
int rs_probe_health(const char *url, int timeout_ms, char *detail, size_t detailn);

#endif
