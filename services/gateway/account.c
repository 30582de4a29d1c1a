#include "account.h"
#include "auth.h"
#include "db.h"
#include "ratelimit.h"
#include "render.h"
#include "session.h"

#include "feature.pb-c.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_pg.h"
#include "rs_time.h"

#include <jansson.h>

#define ACCOUNT_WARM_MS 100 /* what a login may spend warming rs-feature for the customer */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(GW_PWHASH_STRBYTES == crypto_pwhash_STRBYTES, "argon2id string size");

struct gw_account {
	gw_ratelimit *ac_per_login;
	gw_ratelimit *ac_per_client;
	pthread_mutex_t ac_mu;
	int ac_have_dummy;
	char ac_dummy[GW_PWHASH_STRBYTES]; /* what an unknown login is checked against */
};

int
gw_account_open(gw_account **out)
{
	gw_account *acc = calloc(1, sizeof(*acc));
	int rv = RS_ENOMEM;
	if (acc == NULL)
		return RS_ENOMEM;
	pthread_mutex_init(&acc->ac_mu, NULL);
	if ((rv = gw_ratelimit_create(&acc->ac_per_login, GW_LOGIN_TRACKED,
	                              GW_LOGIN_FAILS_PER_LOGIN, GW_LOGIN_WINDOW_MS)) != 0 ||
	    (rv = gw_ratelimit_create(&acc->ac_per_client, GW_LOGIN_TRACKED,
	                              GW_LOGIN_FAILS_PER_CLIENT, GW_LOGIN_WINDOW_MS)) != 0) {
		gw_account_close(acc);
		return rv;
	}
	*out = acc;
	return 0;
}

void
gw_account_close(gw_account *acc)
{
	if (acc == NULL)
		return;
	gw_ratelimit_destroy(acc->ac_per_login);
	gw_ratelimit_destroy(acc->ac_per_client);
	pthread_mutex_destroy(&acc->ac_mu);
	free(acc);
}

int
gw_login_normalize(const char *in, char *out, size_t n)
{
	size_t len = strlen(in);
	if (len == 0 || len > GW_LOGIN_MAX || n <= len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char) in[i];
		if (c <= ' ' || c > '~')
			return -1;
		out[i] = (char) (c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	out[len] = '\0';
	return 0;
}

int
gw_password_hash(const char *password, char *out, size_t n)
{
	if (n < GW_PWHASH_STRBYTES)
		return RS_EINVAL;
	return crypto_pwhash_str(out, password, strlen(password),
	                         crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                         crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0
	               ? 0
	               : RS_ENOMEM;
}

/* The dummy hash, made on the first login attempt (known login or not, so no later answer's
 * time depends on whether it was made). NULL when out of memory. */
static const char *
account_dummy(gw_account *acc)
{
	pthread_mutex_lock(&acc->ac_mu);
	if (!acc->ac_have_dummy) {
		char pw[33];
		randombytes_buf(pw, sizeof(pw) - 1);
		for (size_t i = 0; i + 1 < sizeof(pw); i++)
			pw[i] = (char) ('a' + (unsigned char) pw[i] % 26);
		pw[sizeof(pw) - 1] = '\0';
		acc->ac_have_dummy =
		        gw_password_hash(pw, acc->ac_dummy, sizeof(acc->ac_dummy)) == 0;
		sodium_memzero(pw, sizeof(pw));
	}
	pthread_mutex_unlock(&acc->ac_mu);
	return acc->ac_have_dummy ? acc->ac_dummy : NULL;
}

/* Set-Cookie for token (NULL: an expired, empty cookie that makes the browser drop it). */
static void
account_cookie(gw_server *srv, gw_req *req, const char *token)
{
	char v[256];
	snprintf(v, sizeof(v), "%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s",
	         GW_SESSION_COOKIE, token != NULL ? token : "",
	         token != NULL ? gw_auth_session_ttl_s(srv->s_auth) : 0,
	         gw_auth_cookie_secure(srv->s_auth) ? "; Secure" : "");
	gw_reply_header(req, "Set-Cookie", v);
}

/* 200 Me */
static void
account_reply_me(gw_req *req, long long user_id, const char *login, const char *display, int admin,
                 int64_t expires_ms)
{
	gw_reply_json(req, 200,
	              json_pack("{s:I,s:o,s:o,s:s,s:I}", "user_id", (json_int_t) user_id, "login",
	                        gw_json_str(login), "display_name", gw_json_str(display), "role",
	                        admin ? "admin" : "customer", "expires_at",
	                        (json_int_t) expires_ms));
}

static void
account_db_down(gw_req *req)
{
	gw_reply_error(req, 503, "unavailable", "the account store (PostgreSQL) is unavailable");
}

/* Asks rs-feature for the customer's features once and drops the answer: the history is then in
 * its cache, so the first "For you" after a login is not a cold PostgreSQL read racing its share
 * of the recommendation deadline. At most ACCOUNT_WARM_MS; a failure changes nothing. */
static void
account_warm_features(gw_server *srv, gw_req *req, int64_t user_id)
{
	Rs__RequestHeader hdr = RS__REQUEST_HEADER__INIT;
	Rs__UserFeaturesRequest freq = RS__USER_FEATURES_REQUEST__INIT;
	Rs__Status st;
	void *resp = NULL;

	hdr.request_id = req->r_request_id;
	hdr.deadline_unix_ms = rs_now_ms() + ACCOUNT_WARM_MS;
	freq.header = &hdr;
	freq.user_id = user_id;
	rs_rpc_request(srv->s_clients[GW_FEATURE], RS__METHOD__METHOD_USER_FEATURES, &freq.base,
	               &rs__user_features_response__descriptor, ACCOUNT_WARM_MS, req->r_arena,
	               &resp, &st, NULL, 0);
}

void
gw_handle_login(gw_server *srv, gw_req *req)
{
	gw_account *acc = srv->s_account;
	json_error_t jerr;
	char login[GW_LOGIN_MAX + 1], client[64], wait_s[16];
	PGresult *res = NULL;
	int rv;

	json_t *body = json_loadb(req->r_body, req->r_body_len, 0, &jerr);
	if (body == NULL) {
		gw_reply_error(req, 400, "bad_json", "%s at line %d column %d", jerr.text,
		               jerr.line, jerr.column);
		return;
	}
	const char *l = json_string_value(json_object_get(body, "login"));
	const char *pw = json_string_value(json_object_get(body, "password"));
	if (!json_is_object(body) || l == NULL || pw == NULL) {
		gw_reply_error(req, 400, "bad_request",
		               "the body must be {\"login\": string, \"password\": string}");
		goto out;
	}
	size_t pwlen = strlen(pw);
	if (gw_login_normalize(l, login, sizeof(login)) != 0 || pwlen == 0 ||
	    pwlen > GW_PASSWORD_MAX) {
		gw_reply_error(req, 400, "bad_request",
		               "login must be 1-%d printable ASCII characters without spaces and "
		               "password 1-%d bytes",
		               GW_LOGIN_MAX, GW_PASSWORD_MAX);
		goto out;
	}
	if (gw_req_client(req, client, sizeof(client)) != 0)
		snprintf(client, sizeof(client), "unknown");

	/* Over a limit: refused before any password is checked. */
	int64_t now = rs_now_ms();
	int wait = gw_ratelimit_blocked_s(acc->ac_per_login, login, now);
	int wait_client = gw_ratelimit_blocked_s(acc->ac_per_client, client, now);
	if (wait_client > wait)
		wait = wait_client;
	if (wait > 0) {
		snprintf(wait_s, sizeof(wait_s), "%d", wait);
		gw_reply_header(req, "Retry-After", wait_s);
		gw_reply_error(req, 429, "too_many_attempts",
		               "too many failed logins: try again in %d s", wait);
		rs_log_warn("gw.login_limited", "req=%s client=%s by=%s retry_after_s=%d",
		            req->r_request_id, client, wait_client == wait ? "client" : "login",
		            wait);
		goto out;
	}

	const char *dummy = account_dummy(acc);
	if (dummy == NULL) {
		gw_reply_error(req, 503, "overloaded", "out of memory");
		goto out;
	}
	res = gw_db_query(
	        srv->s_db,
	        "select user_id, password_hash, role, coalesce(display_name, login), login "
	        "from users where login = $1",
	        1, (const char *const[]){login}, &rv);
	if (res == NULL || rs_pg_check(NULL, res, PGRES_TUPLES_OK, "login") != 0) {
		account_db_down(req);
		goto out;
	}
	/* Unknown login or no password: the same work against the dummy hash, the same answer. */
	int found = PQntuples(res) == 1 && !PQgetisnull(res, 0, 1);
	const char *hash = found ? PQgetvalue(res, 0, 1) : dummy;
	int ok = crypto_pwhash_str_verify(hash, pw, pwlen) == 0 && found;
	if (!ok) {
		gw_ratelimit_fail(acc->ac_per_login, login, now);
		gw_ratelimit_fail(acc->ac_per_client, client, now);
		rs_log_info("gw.login_failed", "req=%s client=%s", req->r_request_id, client);
		gw_reply_error(req, 401, "invalid_credentials", "wrong login or password");
		goto out;
	}
	gw_ratelimit_clear(acc->ac_per_login, login);
	long long user_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	int admin = strcmp(PQgetvalue(res, 0, 2), "admin") == 0;
	char token[GW_SESSION_TOKEN_LEN + 1];
	int64_t expires_ms;
	if (gw_auth_session_start(srv->s_auth, user_id, admin, token, sizeof(token), &expires_ms) !=
	    0) {
		gw_reply_error(req, 500, "internal", "cannot start a session for this account");
		goto out;
	}
	account_cookie(srv, req, token);
	sodium_memzero(token, sizeof(token));
	if (!admin)
		account_warm_features(srv, req, user_id);
	rs_log_info("gw.login", "req=%s user=%lld role=%s client=%s", req->r_request_id, user_id,
	            admin ? "admin" : "customer", client);
	account_reply_me(req, user_id, PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 3), admin,
	                 expires_ms);
out:
	PQclear(res);
	json_decref(body);
}

void
gw_handle_logout(gw_server *srv, gw_req *req)
{
	const gw_principal *who = &req->r_who;
	char sid[2 * GW_SESSION_IDBYTES + 1], exp[24];
	int rv;

	account_cookie(srv, req, NULL);
	if (!who->p_session) {
		gw_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
		return;
	}
	/* Refused here at once; other gateways learn it from sessions_revoked within their
	 * refresh period. Rows of sessions that have expired anyway are cleared on the way. */
	gw_auth_session_end(srv->s_auth, who);
	sodium_bin2hex(sid, sizeof(sid), who->p_session_id, GW_SESSION_IDBYTES);
	snprintf(exp, sizeof(exp), "%lld", (long long) who->p_expires_ms);
	PGresult *res =
	        gw_db_query(srv->s_db,
	                    "with gone as (delete from sessions_revoked where expires_at < now()) "
	                    "insert into sessions_revoked (session_id, expires_at) "
	                    "values (decode($1, 'hex'), to_timestamp($2::bigint / 1000.0)) "
	                    "on conflict do nothing",
	                    2, (const char *const[]){sid, exp}, &rv);
	int stored = res != NULL && rs_pg_check(NULL, res, PGRES_COMMAND_OK, "logout") == 0;
	PQclear(res);
	rs_log_info("gw.logout", "req=%s user=%lld stored=%d", req->r_request_id,
	            (long long) who->p_user_id, stored);
	if (!stored) {
		gw_reply_error(req, 503, "unavailable",
		               "logged out on this gateway, but PostgreSQL is unavailable: other "
		               "gateways accept the session until it expires");
		return;
	}
	gw_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
}

void
gw_handle_me(gw_server *srv, gw_req *req)
{
	const gw_principal *who = &req->r_who;
	char id[24];
	int rv;

	snprintf(id, sizeof(id), "%lld", (long long) who->p_user_id);
	PGresult *res = gw_db_query(srv->s_db,
	                            "select coalesce(login, ''), coalesce(display_name, login, '') "
	                            "from users where user_id = $1",
	                            1, (const char *const[]){id}, &rv);
	if (res == NULL || rs_pg_check(NULL, res, PGRES_TUPLES_OK, "me") != 0) {
		PQclear(res);
		account_db_down(req);
		return;
	}
	if (PQntuples(res) != 1) { /* the account is gone */
		PQclear(res);
		gw_reply_error(req, 401, "unauthorized", "session expired");
		return;
	}
	account_reply_me(req, who->p_user_id, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
	                 who->p_role == GW_ROLE_ADMIN, who->p_expires_ms);
	PQclear(res);
}
