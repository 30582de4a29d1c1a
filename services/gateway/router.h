/* router: the route table (method + path pattern -> access level and handler) and dispatch.
 * Patterns are literal segments plus "{name}" captures of one non-empty segment; captures land
 * in req->r_params in order. A path that matches no pattern gets 404, a path that matches only
 * with another method gets 405 with an Allow header. HEAD is served as GET. Before a handler
 * runs, auth (auth.h) resolves the caller, the caller's rate for the route's class is charged
 * (rates.h: 429 past it; 404/405 answers and the UI's files count as reads), then the route's
 * access level is checked. A GET/HEAD that
 * matches no route and is not an API path goes to the web UI's files (static.h) when served. */
#ifndef GW_ROUTER_H
#define GW_ROUTER_H

#include <stddef.h>

#include "auth.h"
#include "rates.h"
#include "req.h"

typedef void (*gw_handler)(gw_server *srv, gw_req *req);

typedef struct gw_route {
	const char *method;
	const char *pattern;
	const char *name; /* stable label for logs and metrics */
	gw_access access;
	gw_handler fn;
	gw_rate_class rate; /* whose request rate it counts against (rates.h) */
} gw_route;

/* The table, ending with a NULL method. */
extern const gw_route gw_routes[];

/* gw_route_names: the distinct route names (the table's, then "static" and "not_found"), for
 * the metric labels. Returns how many were written (at most max). */
size_t gw_route_names(const char **out, size_t max);

/* gw_route_match: 1 when path (still percent-encoded, as gw_req_target leaves it) matches
 * pattern, else 0. With capture, the captures are decoded into req's arena as r_params and
 * r_nparams (a capture with a bad escape does not match). */
int gw_route_match(const char *pattern, const char *path, gw_req *req, int capture);

/* gw_route_dispatch: find the route for req, set r_route and r_params, check access, run the
 * handler. Always leaves a reply in req. */
void gw_route_dispatch(gw_server *srv, gw_req *req);

#endif
