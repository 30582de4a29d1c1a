#include "auth.h"

#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_log.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AUTH_TOKEN_MIN 16 /* shorter admin tokens are refused at start */

struct gw_auth {
	int a_admin_token;                                    /* RS_ADMIN_TOKEN was set */
	unsigned char a_token_hash[crypto_generichash_BYTES]; /* BLAKE2b of the token */
};

typedef struct auth_cfg {
	const char *admin_token;
} auth_cfg;

static const rs_cfg_field auth_cfg_fields[] = {
        RS_CFG_SECRET("RS_ADMIN_TOKEN", auth_cfg, admin_token, ""),
        RS_CFG_END,
};

int
gw_auth_open(gw_auth **out)
{
	auth_cfg cfg;
	char err[256];
	gw_auth *a;

	if (rs_cfg_load(auth_cfg_fields, &cfg, err, sizeof(err)) != 0) {
		rs_log_error("gw.auth_config", "err=\"%s\"", err);
		return RS_EINVAL;
	}
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
	a->a_admin_token = tlen > 0;
	if (a->a_admin_token)
		crypto_generichash(a->a_token_hash, sizeof(a->a_token_hash),
		                   (const unsigned char *) cfg.admin_token, tlen, NULL, 0);
	rs_log_info("gw.admin", "enabled=%d auth=%s", a->a_admin_token,
	            a->a_admin_token ? "bearer_token" : "none");
	*out = a;
	return 0;
}

void
gw_auth_close(gw_auth *a)
{
	if (a == NULL)
		return;
	sodium_memzero(a->a_token_hash, sizeof(a->a_token_hash));
	free(a);
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

int
gw_auth_check(gw_server *srv, gw_req *req, gw_access access)
{
	const gw_auth *a = srv->s_auth;
	const char *tok = auth_bearer(req);
	gw_principal *who = &req->r_who;

	memset(who, 0, sizeof(*who));
	if (tok != NULL && a != NULL && auth_is_admin_token(a, tok)) {
		who->p_role = GW_ROLE_ADMIN;
		strcpy(who->p_name, "admin-token");
	}
	if (access == GW_ACCESS_PUBLIC || who->p_role == GW_ROLE_ADMIN)
		return 0;
	if (access == GW_ACCESS_ADMIN && (a == NULL || !a->a_admin_token)) {
		gw_reply_error(req, 403, "admin_disabled",
		               "admin routes are disabled: the gateway has no RS_ADMIN_TOKEN");
		return -1;
	}
	if (tok == NULL) {
		gw_reply_error(req, 401, "unauthorized",
		               "this route needs \"Authorization: Bearer <token>\"");
		return -1;
	}
	/* RFC 6750 section 3.1 */
	req->r_challenge = "Bearer realm=\"recsys\", error=\"invalid_token\"";
	gw_reply_error(req, 401, "unauthorized", "the bearer token is not valid");
	return -1;
}
