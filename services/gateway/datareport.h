/* datareport: GET /v1/admin/data/report (admin only): the data report over the
 * event store, computed by one SQL statement (the figures and definitions of `rs-train describe`,
 * services/trainer/describe.h) and cached for GW_DATAREPORT_TTL_S seconds. One report is computed
 * at a time; requests meanwhile wait for it and share it. The statement runs read-only with JIT
 * off and its own timeout (GW_DATAREPORT_TIMEOUT), since it scans every event (about 3.6 s for
 * 165k events on the 2-core box under load). */
#ifndef GW_DATAREPORT_H
#define GW_DATAREPORT_H

#include "req.h"

#define GW_DATAREPORT_TTL_S   60
#define GW_DATAREPORT_TIMEOUT "60s"

typedef struct gw_datareport gw_datareport;

int gw_datareport_open(gw_datareport **out, int ttl_s);
void gw_datareport_close(gw_datareport *d);

/* GET /v1/admin/data/report: {report, computed_at, age_s, max_age_s, request_id}. A report older
 * than max_age_s is recomputed; when that fails the last one is served (age_s > max_age_s shows
 * it), and without any, 503. */
void gw_handle_admin_data_report(gw_server *srv, gw_req *req);

#endif
