/* http: the libmicrohttpd glue. Accumulates bodies (bounded), gives every request an id and
 * a gw_req (req.h), hands it to the router, and turns the reply left in it into an MHD response
 * (extra headers, file bodies). Only this file includes microhttpd.h. */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include "gateway.h"

/* gw_http_open: bind cfg->http_addr and start cfg->threads MHD threads that hand requests to
 * gw_route_dispatch. Returns 0, RS_EINVAL (bad address), RS_EEXIST (cannot bind), RS_ENOMEM. */
int gw_http_open(gw_http **out, gw_server *srv, const gw_config *cfg);

/* gw_http_port: the bound port. */
int gw_http_port(const gw_http *h);

/* gw_http_close: stop accepting, wait up to 5 s for in-flight requests, stop the threads.
 * NULL is a no-op. */
void gw_http_close(gw_http *h);

#endif
