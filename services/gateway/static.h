/* static: the built web UI (frontend/dist) served next to the API.
 *
 * GET/HEAD of a path that is not an API path (/v1/..., /healthz, /readyz, /metrics) serves the
 * file of that name under RS_GATEWAY_UI_DIR; a path without a file extension that names no file
 * is one of the UI's own routes and gets index.html. Hashed build assets (/assets/...) are
 * cached for a year ("immutable"), index.html must be revalidated ("no-cache", with an ETag).
 * A ".br" or ".gz" sibling written by the build is sent instead when the client accepts that
 * encoding. Paths with "." or ".." segments, backslashes or control characters are refused,
 * and a file that resolves (through symlinks) outside the folder is not served. */
#ifndef GW_STATIC_H
#define GW_STATIC_H

#include "req.h"

typedef struct gw_static gw_static;

/* gw_static_open: serve dir (must hold index.html). Returns 0, RS_ENOTFOUND (no such folder or
 * no index.html; logged), RS_ENOMEM. */
int gw_static_open(gw_static **out, const char *dir);

/* gw_static_close: NULL is a no-op. */
void gw_static_close(gw_static *s);

/* gw_static_claims: 1 when req (method and path) is the UI's to answer: GET or HEAD of a path
 * outside the API. */
int gw_static_claims(const gw_req *req);

/* gw_static_serve: answer req from the folder (200, 304, or a JSON 400/404). */
void gw_static_serve(gw_static *s, gw_req *req);

#endif
