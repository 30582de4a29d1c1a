#include "auth.h"
#include "session.h"
#include "util.h"

#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_time.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define AUTH_TOKEN_MIN 16 /* shorter admin tokens are refused at start */
#define AUTH_KEY_HEX   (2 * GW_SESSION_KEYBYTES)

struct gw_auth {
	int a_admin_token;                                    /* RS_ADMIN_TOKEN was set */
	unsigned char a_token_hash[crypto_generichash_BYTES]; /* BLAKE2b of the token */
	unsigned char a_session_key[GW_SESSION_KEYBYTES];
	int a_ttl_s;
	int a_cookie_secure;
	gw_authstore *a_store;
};

typedef struct auth_cfg {
	const char *admin_token;
	const char *session_key;
	const char *session_key_file;
	int session_ttl_s;
	int cookie_secure;
	int refresh_ms;
} auth_cfg;

static const rs_cfg_field auth_cfg_fields[] = {
        RS_CFG_SECRET("RS_ADMIN_TOKEN", auth_cfg, admin_token, ""),
        RS_CFG_SECRET("RS_SESSION_KEY", auth_cfg, session_key, ""),
        RS_CFG_STR("RS_SESSION_KEY_FILE", auth_cfg, session_key_file, ""),
        RS_CFG_INT("RS_SESSION_TTL_S", auth_cfg, session_ttl_s, 43200, 1, 2592000),
        RS_CFG_INT("RS_GATEWAY_COOKIE_SECURE", auth_cfg, cookie_secure, 0, 0, 1),
        RS_CFG_INT("RS_GATEWAY_AUTH_REFRESH_MS", auth_cfg, refresh_ms, 1000, 50, 600000),
        RS_CFG_END,
};

/* 64 hex characters (surrounding whitespace ignored) -> key. 0 or -1. */
static int
auth_key_from_hex(const char *text, size_t len, unsigned char key[GW_SESSION_KEYBYTES])
{
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ' ||
	                   text[len - 1] == '\t'))
		len--;
	while (len > 0 && (*text == ' ' || *text == '\t')) {
		text++;
		len--;
	}
	size_t got = 0;
	return len == AUTH_KEY_HEX &&
	                       sodium_hex2bin(key, GW_SESSION_KEYBYTES, text, len, NULL, &got,
	                                      NULL) == 0 &&
	                       got == GW_SESSION_KEYBYTES
	               ? 0
	               : -1;
}

/* Creates path (0600, must not exist) holding a new random key. 0, RS_EEXIST or RS_EIO. */
static int
auth_key_create(const char *path, unsigned char key[GW_SESSION_KEYBYTES])
{
	char hex[AUTH_KEY_HEX + 2];
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? RS_EEXIST : RS_EIO;
	randombytes_buf(key, GW_SESSION_KEYBYTES);
	sodium_bin2hex(hex, sizeof(hex), key, GW_SESSION_KEYBYTES);
	hex[AUTH_KEY_HEX] = '\n';
	int ok = write(fd, hex, AUTH_KEY_HEX + 1) == AUTH_KEY_HEX + 1 && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	sodium_memzero(hex, sizeof(hex));
	if (!ok) {
		unlink(path);
		return RS_EIO;
	}
	rs_log_info("gw.session_key_created", "path=\"%s\" mode=0600", path);
	return 0;
}

/* Reads the key in path, creating the file with a random key when it does not exist. */
static int
auth_key_file(const char *path, unsigned char key[GW_SESSION_KEYBYTES])
{
	char buf[256];
	struct stat sb;

	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			int rv = auth_key_create(path, key);
			if (rv == RS_EEXIST)
				continue; /* another process made it first: read theirs */
			if (rv != 0)
				rs_log_error("gw.auth_config",
				             "err=\"cannot create RS_SESSION_KEY_FILE %s: %s\"",
				             path, strerror(errno));
			return rv != 0 ? RS_EIO : 0;
		}
		if (fd < 0) {
			rs_log_error("gw.auth_config",
			             "err=\"cannot open RS_SESSION_KEY_FILE %s: %s\"", path,
			             strerror(errno));
			return RS_EIO;
		}
		ssize_t n = read(fd, buf, sizeof(buf));
		int st = fstat(fd, &sb);
		close(fd);
		int bad = n < 0 || auth_key_from_hex(buf, n > 0 ? (size_t) n : 0, key) != 0;
		sodium_memzero(buf, sizeof(buf));
		if (bad) {
			rs_log_error("gw.auth_config",
			             "err=\"RS_SESSION_KEY_FILE %s must hold 64 hex characters (32 "
			             "bytes)\"",
			             path);
			return RS_EINVAL;
		}
		if (st == 0 && (sb.st_mode & 077) != 0)
			rs_log_warn("gw.session_key_file_mode",
			            "path=\"%s\" mode=%04o hint=\"readable by others: chmod 600\"",
			            path, (unsigned) (sb.st_mode & 0777));
		return 0;
	}
	return RS_EIO;
}

/* The session key from RS_SESSION_KEY, RS_SESSION_KEY_FILE, or a random one for this process. */
static int
auth_session_key(const auth_cfg *cfg, unsigned char key[GW_SESSION_KEYBYTES], const char **from)
{
	if (cfg->session_key[0] != '\0' && cfg->session_key_file[0] != '\0') {
		rs_log_error("gw.auth_config",
		             "err=\"set RS_SESSION_KEY or RS_SESSION_KEY_FILE, not both\"");
		return RS_EINVAL;
	}
	if (cfg->session_key[0] != '\0') {
		*from = "RS_SESSION_KEY";
		if (auth_key_from_hex(cfg->session_key, strlen(cfg->session_key), key) != 0) {
			rs_log_error("gw.auth_config",
			             "err=\"RS_SESSION_KEY must be 64 hex characters (32 bytes)\"");
			return RS_EINVAL;
		}
		return 0;
	}
	if (cfg->session_key_file[0] != '\0') {
		*from = "RS_SESSION_KEY_FILE";
		return auth_key_file(cfg->session_key_file, key);
	}
	*from = "random";
	randombytes_buf(key, GW_SESSION_KEYBYTES);
	rs_log_warn("gw.session_key_ephemeral",
	            "hint=\"no RS_SESSION_KEY or RS_SESSION_KEY_FILE: sessions end when this "
	            "process does and are not valid on other gateways\"");
	return 0;
}

int
gw_auth_open(gw_auth **out, gw_db *db)
{
	auth_cfg cfg;
	char err[256];
	const char *key_from = "";
	gw_auth *a;
	int rv;

	if (rs_cfg_load(auth_cfg_fields, &cfg, err, sizeof(err)) != 0) {
		rs_log_error("gw.auth_config", "err=\"%s\"", err);
		return RS_EINVAL;
	}
	rs_cfg_log(auth_cfg_fields, &cfg);
	size_t tlen = strlen(cfg.admin_token);
	if (tlen > 0 && tlen < AUTH_TOKEN_MIN) {
		rs_log_error("gw.auth_config",
		             "err=\"RS_ADMIN_TOKEN must be at least %d characters\"",
		             AUTH_TOKEN_MIN);
		return RS_EINVAL;
	}
	if (sodium_init() < 0)
		return RS_EINTERNAL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return RS_ENOMEM;
	if ((rv = auth_session_key(&cfg, a->a_session_key, &key_from)) != 0 ||
	    (rv = gw_authstore_create(&a->a_store)) != 0)
		goto fail;
	a->a_admin_token = tlen > 0;
	if (a->a_admin_token)
		crypto_generichash(a->a_token_hash, sizeof(a->a_token_hash),
		                   (const unsigned char *) cfg.admin_token, tlen, NULL, 0);
	a->a_ttl_s = cfg.session_ttl_s;
	a->a_cookie_secure = cfg.cookie_secure;
	if (db != NULL) {
		/* A database that is down now only delays the keys: the refresher retries. */
		gw_authstore_load(a->a_store, db);
		if ((rv = gw_authstore_start(a->a_store, db, cfg.refresh_ms)) != 0)
			goto fail;
	}
	rs_log_info("gw.admin", "enabled=%d auth=%s", a->a_admin_token,
	            a->a_admin_token ? "bearer_token" : "none");
	rs_log_info("gw.auth", "session_key=%s session_ttl_s=%d cookie_secure=%d refresh_ms=%d",
	            key_from, a->a_ttl_s, a->a_cookie_secure, db != NULL ? cfg.refresh_ms : 0);
	*out = a;
	return 0;
fail:
	gw_auth_close(a);
	return rv;
}

void
gw_auth_close(gw_auth *a)
{
	if (a == NULL)
		return;
	gw_authstore_destroy(a->a_store);
	sodium_memzero(a, sizeof(*a));
	free(a);
}

int
gw_auth_session_ttl_s(const gw_auth *a)
{
	return a->a_ttl_s;
}

int
gw_auth_cookie_secure(const gw_auth *a)
{
	return a->a_cookie_secure;
}

gw_authstore *
gw_auth_store(gw_auth *a)
{
	return a->a_store;
}

void
gw_apikey_hash(const char *key, unsigned char out[GW_APIKEY_HASHBYTES])
{
	crypto_hash_sha256(out, (const unsigned char *) key, strlen(key));
}

int
gw_auth_session_start(gw_auth *a, int64_t user_id, int admin, char *token, size_t n,
                      int64_t *expires_ms)
{
	gw_session s;
	if (user_id <= 0)
		return RS_EINVAL;
	gw_session_new(&s, user_id, admin, rs_now_ms(), a->a_ttl_s);
	int rv = gw_session_encode(a->a_session_key, &s, token, n);
	if (rv == 0)
		*expires_ms = s.s_expires_ms;
	return rv;
}

int
gw_auth_session_end(gw_auth *a, const gw_principal *who)
{
	if (!who->p_session)
		return 0;
	return gw_authstore_revoke(a->a_store, who->p_session_id, who->p_expires_ms);
}

/* The bearer token of the request, or NULL. */
static const char *
auth_bearer(gw_req *req)
{
	const char *h = gw_req_header(req, "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return h;
}

/* 1 when tok is the admin token. Both sides are hashed to a fixed size first, so the
 * comparison takes the same time whatever the length or content of what was sent. */
static int
auth_is_admin_token(const gw_auth *a, const char *tok)
{
	unsigned char got[crypto_generichash_BYTES];
	if (!a->a_admin_token)
		return 0;
	crypto_generichash(got, sizeof(got), (const unsigned char *) tok, strlen(tok), NULL, 0);
	int same = sodium_memcmp(got, a->a_token_hash, sizeof(got)) == 0;
	sodium_memzero(got, sizeof(got));
	return same;
}

/* Fills who from the request's credentials; *bad_bearer = 1 for a bearer token that is
 * neither the admin token nor a live API key. */
static void
auth_resolve(gw_auth *a, gw_req *req, gw_principal *who, int *bad_bearer)
{
	const char *tok = auth_bearer(req);
	if (tok != NULL) {
		unsigned char h[GW_APIKEY_HASHBYTES];
		char name[GW_APIKEY_NAME_MAX];
		if (auth_is_admin_token(a, tok)) {
			who->p_role = GW_ROLE_ADMIN;
			strcpy(who->p_name, "admin-token");
			return;
		}
		gw_apikey_hash(tok, h);
		if (gw_authstore_key_find(a->a_store, h, name, sizeof(name))) {
			who->p_role = GW_ROLE_API_KEY;
			snprintf(who->p_name, sizeof(who->p_name), "key:%s", name);
			return;
		}
		*bad_bearer = 1;
		return;
	}
	const char *cookie = gw_req_cookie(req, GW_SESSION_COOKIE);
	if (cookie == NULL)
		return;
	gw_session s;
	if (gw_session_decode(a->a_session_key, cookie, rs_now_ms(), &s) != 0 ||
	    gw_authstore_is_revoked(a->a_store, s.s_id)) {
		who->p_stale = 1;
		return;
	}
	who->p_role = s.s_admin ? GW_ROLE_ADMIN : GW_ROLE_CUSTOMER;
	who->p_user_id = s.s_user_id;
	who->p_session = 1;
	memcpy(who->p_session_id, s.s_id, sizeof(who->p_session_id));
	who->p_expires_ms = s.s_expires_ms;
	snprintf(who->p_name, sizeof(who->p_name), "user:%lld", (long long) s.s_user_id);
}

/* 401 for a caller without usable credentials: a wrong bearer token (RFC 6750 section 3.1),
 * a stale session, or nothing at all (msg). */
static int
auth_deny_401(gw_req *req, int bad_bearer, const char *msg)
{
	if (bad_bearer) {
		req->r_challenge = "Bearer realm=\"recsys\", error=\"invalid_token\"";
		gw_reply_error(req, 401, "unauthorized", "the bearer token is not valid");
	} else if (req->r_who.p_stale) {
		gw_reply_error(req, 401, "unauthorized", "session expired");
	} else {
		gw_reply_error(req, 401, "unauthorized", "%s", msg);
	}
	return -1;
}

static int
auth_forbidden(gw_req *req, const char *msg)
{
	gw_reply_error(req, 403, "forbidden", "%s", msg);
	return -1;
}

static const char auth_need_any[] =
        "this route needs a session (POST /v1/auth/login) or \"Authorization: Bearer <key>\"";

void
gw_auth_resolve(gw_server *srv, gw_req *req)
{
	gw_principal *who = &req->r_who;

	memset(who, 0, sizeof(*who));
	if (srv->s_auth != NULL)
		auth_resolve(srv->s_auth, req, who, &who->p_bad_bearer);
}

int
gw_auth_check(gw_server *srv, gw_req *req, gw_access access)
{
	gw_auth_resolve(srv, req);
	return gw_auth_allow(srv, req, access);
}

int
gw_auth_allow(gw_server *srv, gw_req *req, gw_access access)
{
	gw_auth *a = srv->s_auth;
	gw_principal *who = &req->r_who;
	int bad_bearer = who->p_bad_bearer;

	switch (access) {
	case GW_ACCESS_PUBLIC:
		return 0;
	case GW_ACCESS_SESSION:
		if (who->p_session)
			return 0;
		return auth_deny_401(req, bad_bearer,
		                     "this route needs a session: log in with POST /v1/auth/login");
	case GW_ACCESS_USER: {
		int64_t id;
		if (who->p_role == GW_ROLE_ADMIN || who->p_role == GW_ROLE_API_KEY)
			return 0;
		if (who->p_role == GW_ROLE_CUSTOMER)
			return req->r_nparams > 0 && gw_parse_id(req->r_params[0], &id) == 0 &&
			                       id == who->p_user_id
			               ? 0
			               : auth_forbidden(req,
			                                "a customer may only see their own data");
		return auth_deny_401(req, bad_bearer, auth_need_any);
	}
	case GW_ACCESS_EVENTS:
		if (who->p_role != GW_ROLE_ANON)
			return 0; /* a customer's own user ids: checked by the handler */
		return auth_deny_401(req, bad_bearer, auth_need_any);
	case GW_ACCESS_WRITER:
		if (who->p_role == GW_ROLE_ADMIN || who->p_role == GW_ROLE_API_KEY)
			return 0;
		if (who->p_role == GW_ROLE_CUSTOMER)
			return auth_forbidden(req, "this route needs an API key or an admin");
		return auth_deny_401(req, bad_bearer,
		                     "this route needs \"Authorization: Bearer <key>\" or an admin "
		                     "session");
	case GW_ACCESS_ADMIN:
		if (who->p_role == GW_ROLE_ADMIN)
			return 0;
		if (who->p_role == GW_ROLE_CUSTOMER)
			return auth_forbidden(req, "this route is for admins");
		if (who->p_stale) /* an admin's session that ended: log in again */
			return auth_deny_401(req, bad_bearer, "");
		if (a == NULL || !a->a_admin_token) {
			gw_reply_error(
			        req, 403, "admin_disabled",
			        "admin routes are disabled: the gateway has no RS_ADMIN_TOKEN "
			        "and the caller no admin session");
			return -1;
		}
		if (who->p_role == GW_ROLE_API_KEY)
			return auth_forbidden(req, "an API key may not use admin routes");
		return auth_deny_401(req, bad_bearer,
		                     "this route needs an admin session or \"Authorization: Bearer "
		                     "<token>\"");
	}
	return auth_deny_401(req, bad_bearer, auth_need_any);
}
