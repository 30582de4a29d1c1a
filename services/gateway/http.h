/* http: the libmicrohttpd glue. Accumulates bodies (bounded), gives every request an id and
 * a gw_req, hands it to the router, and turns the handler's reply into an MHD response.
 * Only this file includes microhttpd.h. */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gateway.h"
#include "jsonw.h"
#include "rs_arena.h"

#define GW_REQID_MAX  64
#define GW_MAX_PARAMS 4

typedef struct gw_req {
	gw_server *r_srv;
	void *r_conn; /* struct MHD_Connection *, for query and header lookups */
	const char *r_method;
	const char *r_path; /* decoded path, no query string */
	const char *r_body; /* NUL-terminated copy of the body ("" when none) */
	size_t r_body_len;
	char r_request_id[GW_REQID_MAX + 1];
	const char *r_params[GW_MAX_PARAMS]; /* path captures, arena strings */
	int r_nparams;
	const char *r_route; /* route name for logs and metrics ("not_found" if none) */
	rs_arena *r_arena;   /* per request; destroyed after the reply is queued */
	/* the reply, written by gw_reply_* */
	unsigned r_status;
	char *r_resp; /* malloc'd, handed to MHD */
	size_t r_resp_len;
	const char *r_ctype;
	char r_allow[64]; /* Allow header for 405, "" otherwise */
	/* WWW-Authenticate for a 401 (static; NULL: the plain Bearer challenge) */
	const char *r_challenge;
	const char *r_note; /* short tag for the access log ("degraded", ...), static */
} gw_req;

/* gw_req_query: the value of query argument key, or NULL when absent (valid for the
 * request's lifetime). gw_req_header: the same for a request header. */
const char *gw_req_query(gw_req *r, const char *key);
const char *gw_req_header(gw_req *r, const char *name);

/* gw_reply_json: answer with status and body serialized compactly. Takes the reference to
 * body (decref'd here). Serialization failure becomes a 500 JSON error. */
void gw_reply_json(gw_req *r, unsigned status, json_t *body);

/* gw_reply_jw: answer with status and the JSON text in w (taken; w is empty afterwards). An
 * allocation failure while writing becomes a 500 JSON error. */
void gw_reply_jw(gw_req *r, unsigned status, gw_jw *w);

/* gw_reply_text: answer with a malloc'd text body the reply takes ownership of. */
void gw_reply_text(gw_req *r, unsigned status, const char *ctype, char *text, size_t len);

/* gw_reply_error: {"error": {"code": code, "message": <formatted>}} with status. */
void gw_reply_error(gw_req *r, unsigned status, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* gw_http_open: bind cfg->http_addr and start cfg->threads MHD threads that hand requests to
 * gw_route_dispatch. Returns 0, RS_EINVAL (bad address), RS_EEXIST (cannot bind), RS_ENOMEM. */
int gw_http_open(gw_http **out, gw_server *srv, const gw_config *cfg);

/* gw_http_port: the bound port. */
int gw_http_port(const gw_http *h);

/* gw_http_close: stop accepting, wait up to 5 s for in-flight requests, stop the threads.
 * NULL is a no-op. */
void gw_http_close(gw_http *h);

#endif
