/* auth: who is calling, and may they use this route.
 *
 * gw_auth_check runs before every handler (router.c) with the route's access level: it resolves
 * req->r_who from the request's credentials and either lets the handler run or leaves the
 * refusal (401/403 JSON) in req. Handlers that need finer rules (an event's user id, an
 * admin-only query parameter) read req->r_who; none of them parses credentials itself.
 *
 * Credentials, in this order:
 *  - `Authorization: Bearer <RS_ADMIN_TOKEN>`: admin (the token is kept only as its BLAKE2b
 *    hash; compared in constant time);
 *  - `Authorization: Bearer <API key>`: api_key (a marketplace backend): the SHA-256 of what is
 *    sent is looked up in the in-memory set of live keys (authstore.h; refreshed from
 *    PostgreSQL in the background, never on the request path);
 *  - any other bearer token is invalid (a sent bearer token is never combined with a cookie);
 *  - cookie `rs_session`: the session token (session.h) checked with the session key
 *    (RS_SESSION_KEY, RS_SESSION_KEY_FILE or a per-process random key): customer or admin,
 *    with the user id; an expired, forged or logged-out one marks the caller stale (anonymous;
 *    protected routes answer 401 "session expired").
 * Access levels: see gw_access and services/gateway/README.md ("Accounts and access"). */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include <stdint.h>

#include "authstore.h"
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

#define GW_SESSION_COOKIE "rs_session"

typedef struct gw_auth gw_auth;

/* gw_auth_open: read the configuration (RS_ADMIN_TOKEN, RS_SESSION_KEY / RS_SESSION_KEY_FILE,
 * RS_SESSION_TTL_S, RS_GATEWAY_COOKIE_SECURE, RS_GATEWAY_AUTH_REFRESH_MS), load or create the
 * session key, and log what is enabled. With db, the API keys and revoked sessions are loaded
 * once now (a database that is down only delays them) and then refreshed in the background.
 * Returns 0, RS_EINVAL (bad configuration or key file, named in the log), RS_EIO, RS_ENOMEM. */
int gw_auth_open(gw_auth **out, gw_db *db);

/* gw_auth_close: stop the refresher, wipe the secrets, free. NULL is a no-op. */
void gw_auth_close(gw_auth *a);

/* gw_auth_check: resolve req->r_who and check it against access. 0: the handler may run;
 * -1: the refusal is already in req (401 unauthorized, 403 forbidden / admin_disabled).
 * The same as gw_auth_resolve, then gw_auth_allow. */
int gw_auth_check(gw_server *srv, gw_req *req, gw_access access);

/* gw_auth_resolve: fill req->r_who from the request's credentials (anonymous when none are
 * valid; never replies). The router resolves first so the rate limit (rates.h) knows whom to
 * charge before access is decided. */
void gw_auth_resolve(gw_server *srv, gw_req *req);

/* gw_auth_allow: check the resolved req->r_who against access: 0, or -1 with the refusal in
 * req (as gw_auth_check). */
int gw_auth_allow(gw_server *srv, gw_req *req, gw_access access);

/* gw_auth_session_start: a new session for user_id (admin: role admin) that lasts
 * RS_SESSION_TTL_S: its token (NUL-terminated, n >= GW_SESSION_TOKEN_LEN + 1) and expiry
 * (unix ms). Returns 0 or RS_EINVAL. */
int gw_auth_session_start(gw_auth *a, int64_t user_id, int admin, char *token, size_t n,
                          int64_t *expires_ms);

/* gw_auth_session_end: refuse who's session from now on in this process (the caller records it
 * in sessions_revoked for the other gateways). No-op unless who->p_session. 0 or RS_ENOMEM. */
int gw_auth_session_end(gw_auth *a, const gw_principal *who);

/* The session lifetime (RS_SESSION_TTL_S) and whether cookies get `Secure`
 * (RS_GATEWAY_COOKIE_SECURE). */
int gw_auth_session_ttl_s(const gw_auth *a);
int gw_auth_cookie_secure(const gw_auth *a);

/* gw_auth_store: the API key and revoked-session sets (tests install keys through it). */
gw_authstore *gw_auth_store(gw_auth *a);

/* gw_apikey_hash: what api_keys.key_hash holds for key: SHA-256 of its bytes. */
void gw_apikey_hash(const char *key, unsigned char out[GW_APIKEY_HASHBYTES]);

#endif
