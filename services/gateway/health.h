/* health: GET /healthz, GET /readyz, GET /metrics, and the parallel per-downstream probe that
 * /readyz and /metrics share. */
#ifndef GW_HEALTH_H
#define GW_HEALTH_H

#include "gateway.h"
#include "req.h"

typedef struct gw_probe {
	int p_ok;            /* the call returned STATUS_OK */
	int p_ready;         /* HEALTH: ready=true */
	const char *p_state; /* "ready", "not_ready", "unavailable", "timeout", "error" */
	char p_detail[192];
	double p_ms;
	char *p_text; /* METRICS: malloc'd exposition text, NULL otherwise; caller frees */
	char p_model_version[64];
} gw_probe;

/* gw_probe_all: send method (HEALTH or METRICS) to every downstream at once, each with
 * timeout_ms, and wait for all. out[i] is filled for downstream i. */
void gw_probe_all(gw_server *srv, Rs__Method method, int timeout_ms, const char *request_id,
                  gw_probe out[GW_NDOWN]);

void gw_handle_healthz(gw_server *srv, gw_req *req);
void gw_handle_readyz(gw_server *srv, gw_req *req);

/* GET /metrics: the gateway's series (svc="gateway") then each reachable downstream's. */
void gw_handle_metrics(gw_server *srv, gw_req *req);

#endif
