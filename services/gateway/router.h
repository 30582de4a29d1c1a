/* router: the route table (method + path pattern -> handler) and dispatch. Patterns are
 * literal segments plus "{name}" captures of one non-empty segment; captures land in
 * req->r_params in order. A path that matches no pattern gets 404, a path that matches only
 * with another method gets 405 with an Allow header. HEAD is served as GET. */
#ifndef GW_ROUTER_H
#define GW_ROUTER_H

#include "gateway.h"
#include "http.h"

typedef void (*gw_handler)(gw_server *srv, gw_req *req);

typedef struct gw_route {
	const char *method;
	const char *pattern;
	const char *name; /* stable label for logs and metrics */
	gw_handler fn;
} gw_route;

/* The table, ending with a NULL method. */
extern const gw_route gw_routes[];

/* gw_route_dispatch: find the route for req, set r_route and r_params, run the handler.
 * Always leaves a reply in req. */
void gw_route_dispatch(gw_server *srv, gw_req *req);

/* Handlers (one module per job). */
void gw_handle_recommend(gw_server *srv, gw_req *req); /* recommend.c */
void gw_handle_similar(gw_server *srv, gw_req *req);   /* recommend.c */
void gw_handle_popular(gw_server *srv, gw_req *req);   /* recommend.c */
void gw_handle_events(gw_server *srv, gw_req *req);    /* events.c */
void gw_handle_healthz(gw_server *srv, gw_req *req);   /* health.c */
void gw_handle_readyz(gw_server *srv, gw_req *req);    /* health.c */
void gw_handle_metrics(gw_server *srv, gw_req *req);   /* metrics.c */

#endif
