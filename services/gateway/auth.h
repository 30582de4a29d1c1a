/* auth: who is calling, and may they use this route.
 *
 * gw_auth_check runs before every handler (router.c) with the route's access level: it resolves
 * req->r_who from the request's credentials and either lets the handler run or leaves the
 * refusal (401/403 JSON) in req. Handlers that need finer rules (an event's user id, an
 * admin-only query parameter) read req->r_who; none of them parses credentials itself.
 *
 * Credentials: `Authorization: Bearer <RS_ADMIN_TOKEN>` (admin; the token is kept only as its
 * BLAKE2b hash and compared in constant time). */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include "gateway.h"
#include "req.h"

typedef enum gw_access {
	GW_ACCESS_PUBLIC = 0, /* anyone (credentials resolved if valid, never required) */
	GW_ACCESS_SESSION,    /* a valid session cookie */
	GW_ACCESS_USER,       /* r_params[0] is a user id: that customer, an admin, an API key */
	GW_ACCESS_EVENTS,     /* a customer (own events, checked by the handler), admin, API key */
	GW_ACCESS_WRITER,     /* an admin or an API key */
	GW_ACCESS_ADMIN,      /* an admin */
} gw_access;

typedef struct gw_auth gw_auth;

/* gw_auth_open: read the configuration (RS_ADMIN_TOKEN, at least 16 characters) and log what is
 * enabled. Returns 0, RS_EINVAL (bad configuration, named in the log) or RS_ENOMEM. */
int gw_auth_open(gw_auth **out);

/* gw_auth_close: wipe the secrets, free. NULL is a no-op. */
void gw_auth_close(gw_auth *a);

/* gw_auth_check: resolve req->r_who and check it against access. 0: the handler may run;
 * -1: the refusal is already in req (401 unauthorized, 403 forbidden / admin_disabled). */
int gw_auth_check(gw_server *srv, gw_req *req, gw_access access);

#endif
