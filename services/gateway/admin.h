/* admin: the gateway's administration routes under /v1/admin/ (model versions: list, activate =
 * roll forward or back). They are the only gateway routes that read PostgreSQL; the
 * recommendation path never does.
 *
 * Access: gw_admin_authorize decides who may call an admin route. Today one shared bearer token
 * (RS_ADMIN_TOKEN, compared in constant time); when it is unset every admin route answers 403
 * `admin_disabled`. The UI issue's logins with roles replace only gw_admin_authorize: it returns
 * a principal (name, role) and the handlers check the role, so the routes stay as they are.
 *
 * The PostgreSQL connection (RS_PG_DSN) is opened on the first admin request, kept, reset when
 * it breaks, and used by one admin request at a time (a mutex). */
#ifndef GW_ADMIN_H
#define GW_ADMIN_H

#include "gateway.h"
#include "http.h"

typedef struct gw_admin gw_admin;

/* gw_admin_open: read RS_ADMIN_TOKEN and RS_PG_DSN (copied) and log whether admin is enabled.
 * Does not connect. Returns 0, RS_EINVAL (bad configuration, named in the log) or RS_ENOMEM. */
int gw_admin_open(gw_admin **out);

/* gw_admin_close: close the connection, wipe the token, free. NULL is a no-op. */
void gw_admin_close(gw_admin *a);

/* Who is calling an admin route. */
typedef struct gw_principal {
	const char *p_name; /* "admin-token" for the shared token */
	const char *p_role; /* "admin" */
} gw_principal;

/* gw_admin_authorize: 0 and *who when req may use admin routes; otherwise the error reply is
 * already in req (403 admin_disabled, 401 unauthorized) and the result is -1. */
int gw_admin_authorize(gw_server *srv, gw_req *req, gw_principal *who);

/* GET /v1/admin/models: every model_versions row, newest first. */
void gw_handle_admin_models(gw_server *srv, gw_req *req);

/* POST /v1/admin/models/{version}/activate: select rs_model_activate($1); 404 for an unknown
 * version. */
void gw_handle_admin_activate(gw_server *srv, gw_req *req);

#endif
