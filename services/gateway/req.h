/* req: one HTTP request as the handlers see it, and the helpers that write its reply.
 *
 * The handlers know nothing of libmicrohttpd: http.c fills a gw_req, sets r_io to its lookup
 * functions and turns the reply left here into a response. Handlers depend on this module (and
 * on util, render, jsonw); nothing here depends on a handler or on the HTTP glue. */
#ifndef GW_REQ_H
#define GW_REQ_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gateway.h"
#include "jsonw.h"
#include "rs_arena.h"

#define GW_REQID_MAX  64
#define GW_MAX_PARAMS 4
#define GW_HDR_BUF    1536 /* room for the extra response headers (Set-Cookie, ...) */

/* Who is calling (auth.c resolves it before a handler runs). */
typedef enum gw_role {
	GW_ROLE_ANON = 0,
	GW_ROLE_CUSTOMER, /* a customer's session */
	GW_ROLE_ADMIN,    /* an admin's session or the admin token */
	GW_ROLE_API_KEY,  /* a marketplace backend holding an API key */
} gw_role;

typedef struct gw_principal {
	gw_role p_role;
	int64_t p_user_id; /* the session's user; 0 for tokens and keys */
	char p_name[72];   /* login, API key name or "admin-token" (for logs) */
	int p_session;     /* 1: from the session cookie */
	int p_stale;       /* 1: a session cookie was sent but is expired, forged or revoked */
	unsigned char p_session_id[16]; /* the session's random id (p_session only) */
	int64_t p_expires_ms;           /* when the session ends, unix ms (p_session only) */
	int p_bad_bearer; /* 1: a bearer token that is neither the admin token nor a live key */
} gw_principal;

/* What the HTTP glue lends a request: lookups into the connection (conn). */
typedef struct gw_req_io {
	const char *(*query)(void *conn, const char *key);
	const char *(*header)(void *conn, const char *name);
	const char *(*cookie)(void *conn, const char *name);
	/* the client's address as text ("127.0.0.1", "::1"); 0, or -1 when unknown */
	int (*client)(void *conn, char *buf, size_t n);
} gw_req_io;

typedef struct gw_req {
	gw_server *r_srv;
	void *r_conn; /* the glue's connection handle, only passed back to r_io */
	const gw_req_io *r_io;
	const char *r_method;
	const char *r_path; /* decoded path, no query string */
	const char *r_body; /* NUL-terminated copy of the body ("" when none) */
	size_t r_body_len;
	char r_request_id[GW_REQID_MAX + 1];
	const char *r_params[GW_MAX_PARAMS]; /* path captures, arena strings */
	int r_nparams;
	const char *r_route; /* route name for logs and metrics ("not_found" if none) */
	rs_arena *r_arena;   /* per request; destroyed after the handler returns */
	gw_principal r_who;  /* set by auth before the handler runs */
	/* the reply, written by gw_reply_* */
	unsigned r_status;
	char *r_resp; /* malloc'd, handed to the glue */
	size_t r_resp_len;
	int r_resp_fd; /* >= 0: the body is this file (r_resp_len bytes); the glue closes it */
	const char *r_ctype;
	const char *r_cache; /* Cache-Control; NULL = "no-store" */
	char r_allow[64];    /* Allow header for 405, "" otherwise */
	/* WWW-Authenticate for a 401 (static; NULL: the plain Bearer challenge) */
	const char *r_challenge;
	const char *r_note; /* short tag for the access log ("degraded", ...), static */
	/* extra response headers: "Name\0value\0" pairs */
	char r_hdrs[GW_HDR_BUF];
	size_t r_hdrs_len;
} gw_req;

/* The longest request path the gateway routes (bytes, without the query string); a longer one
 * is answered 414. */
#define GW_PATH_MAX 2048
/* The most query parameters one request may carry (400 beyond). */
#define GW_QUERY_MAX 32

/* gw_req_target: check the request target as the client sent it (before any
 * percent-decoding) and copy its path, still encoded, into path (GW_PATH_MAX bytes) for routing:
 * an encoded slash (%2F) never splits a path segment, so `/v1/users/1%2Frecommendations`
 * matches no route. Returns 0, or the HTTP status to answer with a message in err: 400 for a
 * NUL (%00) or a malformed escape anywhere in the target, a path that does not start with
 * "/", a query parameter given twice or more than GW_QUERY_MAX of them; 414 for a path of
 * GW_PATH_MAX bytes or more. */
unsigned gw_req_target(const char *uri, char *path, char *err, size_t errn);

/* gw_req_segment: the path segment s[0..n) percent-decoded into out (n + 1 bytes; '+' stays
 * '+'). Returns 0, or -1 for a malformed escape or an encoded NUL (which gw_req_target has
 * already refused in a routed path). */
int gw_req_segment(const char *s, size_t n, char *out);

/* gw_req_init: an empty request on conn (r_resp_fd = -1, JSON content type). */
void gw_req_init(gw_req *r, gw_server *srv, const gw_req_io *io, void *conn, const char *method,
                 const char *path);

/* gw_req_query: the value of query argument key, or NULL when absent (valid for the
 * request's lifetime). gw_req_header / gw_req_cookie: the same for a request header and a
 * cookie. gw_req_client: the client's address as text into buf (0, or -1). */
const char *gw_req_query(gw_req *r, const char *key);
const char *gw_req_header(gw_req *r, const char *name);
const char *gw_req_cookie(gw_req *r, const char *name);
int gw_req_client(gw_req *r, char *buf, size_t n);

/* gw_reply_header: add a response header (copied). Returns 0, or -1 when there is no room. */
int gw_reply_header(gw_req *r, const char *name, const char *value);

/* gw_reply_json: answer with status and body serialized compactly. Takes the reference to
 * body (decref'd here). Serialization failure becomes a 500 JSON error. */
void gw_reply_json(gw_req *r, unsigned status, json_t *body);

/* gw_reply_jw: answer with status and the JSON text in w (taken; w is empty afterwards). An
 * allocation failure while writing becomes a 500 JSON error. */
void gw_reply_jw(gw_req *r, unsigned status, gw_jw *w);

/* gw_reply_text: answer with a malloc'd text body the reply takes ownership of. */
void gw_reply_text(gw_req *r, unsigned status, const char *ctype, char *text, size_t len);

/* gw_reply_file: answer with the open file fd (size bytes; the reply owns fd). */
void gw_reply_file(gw_req *r, unsigned status, const char *ctype, int fd, size_t size);

/* gw_reply_error: {"error": {"code": code, "message": <formatted>}} with status. */
void gw_reply_error(gw_req *r, unsigned status, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* gw_reply_clear: drop a reply (body, file, extra headers) that was written. */
void gw_reply_clear(gw_req *r);

#endif
