/* admin: the gateway's administration routes under /v1/admin/ (model versions: list, activate =
 * roll forward or back). Access (admin only) is checked by auth before a handler runs; the
 * handlers read and write PostgreSQL through the gateway's pool (db.h). */
#ifndef GW_ADMIN_H
#define GW_ADMIN_H

#include "req.h"

/* GET /v1/admin/models: every model_versions row, newest first, each with its training run
 * (the newest training_runs row whose model_version it is) or null. */
void gw_handle_admin_models(gw_server *srv, gw_req *req);

/* POST /v1/admin/models/{version}/activate: select rs_model_activate($1); 404 for an unknown
 * version. */
void gw_handle_admin_activate(gw_server *srv, gw_req *req);

#endif
