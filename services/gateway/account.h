/* account: logging in and out (POST /v1/auth/login, POST /v1/auth/logout, GET /v1/me), and the
 * password rules the account tool (cli.c) shares.
 *
 * Login: the users row with that login (lower-cased), its argon2id hash checked with
 * crypto_pwhash_str_verify; an unknown login, or one without a password, costs the same work
 * against a dummy hash, and both answer the same 401 `invalid_credentials`. Failures are counted
 * per login (GW_LOGIN_FAILS_PER_LOGIN) and per client address (GW_LOGIN_FAILS_PER_CLIENT) in a
 * window of GW_LOGIN_WINDOW_MS (ratelimit.h); past either limit the answer is 429
 * `too_many_attempts` with Retry-After, before any password is checked. A success clears the
 * login's count (not the client's). The session itself is auth.h's (gw_auth_session_start). */
#ifndef GW_ACCOUNT_H
#define GW_ACCOUNT_H

#include <stddef.h>

#include "req.h"

#define GW_LOGIN_MAX              64
#define GW_PASSWORD_MIN           8 /* for new passwords (the tool); a login accepts any */
#define GW_PASSWORD_MAX           1024
#define GW_PWHASH_STRBYTES        128 /* crypto_pwhash_STRBYTES */
#define GW_LOGIN_FAILS_PER_LOGIN  5
#define GW_LOGIN_FAILS_PER_CLIENT 20
#define GW_LOGIN_WINDOW_MS        (15 * 60 * 1000)
#define GW_LOGIN_TRACKED          4096 /* logins and clients tracked by each limiter */

typedef struct gw_account gw_account;

/* gw_account_open: the failure limiters. Returns 0 or RS_ENOMEM. */
int gw_account_open(gw_account **out);

/* gw_account_close: free. NULL is a no-op. */
void gw_account_close(gw_account *acc);

/* gw_login_normalize: a login as stored: 1..GW_LOGIN_MAX printable ASCII characters without
 * spaces, lower-cased, into out (n > GW_LOGIN_MAX). Returns 0, or -1 when in is not one. */
int gw_login_normalize(const char *in, char *out, size_t n);

/* gw_password_hash: the argon2id string (crypto_pwhash_str, libsodium's interactive limits, the
 * same the login route's dummy hash uses) of password into out (n >= GW_PWHASH_STRBYTES).
 * Returns 0, or RS_ENOMEM (the hash needs 64 MiB). */
int gw_password_hash(const char *password, char *out, size_t n);

/* POST /v1/auth/login, POST /v1/auth/logout, GET /v1/me */
void gw_handle_login(gw_server *srv, gw_req *req);
void gw_handle_logout(gw_server *srv, gw_req *req);
void gw_handle_me(gw_server *srv, gw_req *req);

#endif
