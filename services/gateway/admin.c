#include "admin.h"
#include "render.h"

#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_pg.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ADMIN_TOKEN_MIN     16  /* shorter tokens are refused at start */
#define ADMIN_VERSION_MAX   200 /* bytes of a {version} path segment */
#define ADMIN_STMT_TIMEOUT  "5000"
#define ADMIN_PG_NO_DATA    "P0002" /* rs_model_activate's errcode for an unknown version */
#define ADMIN_PG_UNDEF_FUNC "42883"

struct gw_admin {
	int a_enabled;                                        /* RS_ADMIN_TOKEN was set */
	unsigned char a_token_hash[crypto_generichash_BYTES]; /* BLAKE2b of the token */
	char *a_dsn;                                          /* RS_PG_DSN + connect_timeout */
	pthread_mutex_t a_mu;                                 /* one admin query at a time */
	PGconn *a_pg;                                         /* NULL until the first request */
};

typedef struct admin_cfg {
	const char *token;
	const char *pg_dsn;
} admin_cfg;

static const rs_cfg_field admin_cfg_fields[] = {
        RS_CFG_SECRET("RS_ADMIN_TOKEN", admin_cfg, token, ""),
        RS_CFG_STR("RS_PG_DSN", admin_cfg, pg_dsn,
                   "host=127.0.0.1 port=25432 user=postgres dbname=recsys"),
        RS_CFG_END,
};

int
gw_admin_open(gw_admin **out)
{
	admin_cfg cfg;
	char err[256];
	gw_admin *a;

	if (rs_cfg_load(admin_cfg_fields, &cfg, err, sizeof(err)) != 0) {
		rs_log_error("gw.admin_config", "err=\"%s\"", err);
		return RS_EINVAL;
	}
	size_t tlen = strlen(cfg.token);
	if (tlen > 0 && tlen < ADMIN_TOKEN_MIN) {
		rs_log_error("gw.admin_config",
		             "err=\"RS_ADMIN_TOKEN must be at least %d characters\"",
		             ADMIN_TOKEN_MIN);
		return RS_EINVAL;
	}
	if (sodium_init() < 0)
		return RS_EINTERNAL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return RS_ENOMEM;
	/* A connect attempt must not hold an HTTP thread long (keyword DSNs only). */
	size_t n = strlen(cfg.pg_dsn) + 32;
	if ((a->a_dsn = malloc(n)) == NULL) {
		free(a);
		return RS_ENOMEM;
	}
	if (strstr(cfg.pg_dsn, "connect_timeout") == NULL && strstr(cfg.pg_dsn, "://") == NULL)
		snprintf(a->a_dsn, n, "%s connect_timeout=2", cfg.pg_dsn);
	else
		snprintf(a->a_dsn, n, "%s", cfg.pg_dsn);
	a->a_enabled = tlen > 0;
	if (a->a_enabled)
		crypto_generichash(a->a_token_hash, sizeof(a->a_token_hash),
		                   (const unsigned char *) cfg.token, tlen, NULL, 0);
	pthread_mutex_init(&a->a_mu, NULL);
	rs_log_info("gw.admin", "enabled=%d auth=%s", a->a_enabled,
	            a->a_enabled ? "bearer_token" : "none");
	*out = a;
	return 0;
}

void
gw_admin_close(gw_admin *a)
{
	if (a == NULL)
		return;
	if (a->a_pg != NULL)
		PQfinish(a->a_pg);
	pthread_mutex_destroy(&a->a_mu);
	sodium_memzero(a->a_token_hash, sizeof(a->a_token_hash));
	free(a->a_dsn);
	free(a);
}

/* ---- access ---- */

int
gw_admin_authorize(gw_server *srv, gw_req *req, gw_principal *who)
{
	gw_admin *a = srv->s_admin;
	unsigned char got[crypto_generichash_BYTES];
	const char *h, *tok;

	if (a == NULL || !a->a_enabled) {
		gw_reply_error(req, 403, "admin_disabled",
		               "admin routes are disabled: the gateway has no RS_ADMIN_TOKEN");
		return -1;
	}
	h = gw_req_header(req, "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		gw_reply_error(req, 401, "unauthorized",
		               "admin routes need \"Authorization: Bearer <token>\"");
		return -1;
	}
	tok = h + 7;
	while (*tok == ' ')
		tok++;
	/* Both sides are hashed to a fixed size first, so the comparison takes the same time
	 * whatever the length or content of what was sent. */
	crypto_generichash(got, sizeof(got), (const unsigned char *) tok, strlen(tok), NULL, 0);
	int same = sodium_memcmp(got, a->a_token_hash, sizeof(got)) == 0;
	sodium_memzero(got, sizeof(got));
	if (!same) {
		/* RFC 6750 section 3.1 */
		req->r_challenge = "Bearer realm=\"recsys\", error=\"invalid_token\"";
		gw_reply_error(req, 401, "unauthorized", "the bearer token is not valid");
		return -1;
	}
	who->p_name = "admin-token";
	who->p_role = "admin";
	return 0;
}

/* ---- PostgreSQL ---- */

/* Runs sql on the admin connection (a_mu held), connecting on first use and once more if the
 * connection broke (a restarted server). Returns the result (the caller PQclears it; it may be
 * an error result of a live connection) or NULL with RS_EUNAVAIL in *rv. */
static PGresult *
admin_query(gw_admin *a, const char *sql, int nparams, const char *const *params, int *rv)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (a->a_pg == NULL) {
			if ((*rv = rs_pg_connect(a->a_dsn, &a->a_pg)) != 0)
				return NULL;
			/* rs_model_activate locks model_versions: never wait on it for long. */
			if (rs_pg_exec(a->a_pg, "select set_config('statement_timeout', $1, false)",
			               1, (const char *const[]){ADMIN_STMT_TIMEOUT},
			               PGRES_TUPLES_OK, "admin.statement_timeout") != 0) {
				PQfinish(a->a_pg);
				a->a_pg = NULL;
				continue;
			}
		}
		PGresult *res = PQexecParams(a->a_pg, sql, nparams, NULL, params, NULL, NULL, 0);
		if (res != NULL && PQstatus(a->a_pg) == CONNECTION_OK) {
			*rv = 0;
			return res;
		}
		PQclear(res);
		PQfinish(a->a_pg);
		a->a_pg = NULL;
	}
	*rv = RS_EUNAVAIL;
	return NULL;
}

static void
reply_db_down(gw_req *req)
{
	gw_reply_error(req, 503, "unavailable", "the model registry (PostgreSQL) is unavailable");
}

/* A jsonb column as JSON (an empty object when it does not parse). */
static json_t *
json_column(PGresult *res, int row, int col)
{
	json_error_t jerr;
	json_t *v = PQgetisnull(res, row, col)
	                    ? NULL
	                    : json_loads(PQgetvalue(res, row, col), JSON_DECODE_ANY, &jerr);
	return v != NULL ? v : json_object();
}

void
gw_handle_admin_models(gw_server *srv, gw_req *req)
{
	static const char sql[] =
	        "select version, to_char(created_at at time zone 'UTC', "
	        "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), active, path, metrics::text, params::text "
	        "from model_versions order by created_at desc, version desc";
	gw_admin *a = srv->s_admin;
	gw_principal who;
	int rv;

	if (gw_admin_authorize(srv, req, &who) != 0)
		return;
	pthread_mutex_lock(&a->a_mu);
	PGresult *res = admin_query(a, sql, 0, NULL, &rv);
	if (res == NULL || rs_pg_check(a->a_pg, res, PGRES_TUPLES_OK, "admin.models") != 0) {
		PQclear(res);
		pthread_mutex_unlock(&a->a_mu);
		reply_db_down(req);
		return;
	}
	json_t *models = json_array();
	json_t *active = json_null();
	for (int i = 0; i < PQntuples(res); i++) {
		int on = strcmp(PQgetvalue(res, i, 2), "t") == 0;
		json_t *m = json_pack("{s:o,s:o,s:b,s:o,s:o,s:o}", "version",
		                      gw_json_str(PQgetvalue(res, i, 0)), "created_at",
		                      gw_json_str(PQgetvalue(res, i, 1)), "active", on, "path",
		                      gw_json_str(PQgetvalue(res, i, 3)), "metrics",
		                      json_column(res, i, 4), "params", json_column(res, i, 5));
		json_array_append_new(models, m);
		if (on) {
			json_decref(active);
			active = gw_json_str(PQgetvalue(res, i, 0));
		}
	}
	PQclear(res);
	pthread_mutex_unlock(&a->a_mu);
	gw_reply_json(req, 200,
	              json_pack("{s:o,s:o,s:s}", "models", models, "active", active, "request_id",
	                        req->r_request_id));
}

/* A {version} path segment: 1..ADMIN_VERSION_MAX bytes, no control characters. */
static int
version_ok(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > ADMIN_VERSION_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) v[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

void
gw_handle_admin_activate(gw_server *srv, gw_req *req)
{
	gw_admin *a = srv->s_admin;
	const char *version = req->r_nparams > 0 ? req->r_params[0] : "";
	gw_principal who;
	int rv;

	if (gw_admin_authorize(srv, req, &who) != 0)
		return;
	if (!version_ok(version)) {
		gw_reply_error(req, 400, "bad_request",
		               "version must be 1-%d bytes without control characters",
		               ADMIN_VERSION_MAX);
		return;
	}
	pthread_mutex_lock(&a->a_mu);
	PGresult *res = admin_query(a, "select rs_model_activate($1)", 1,
	                            (const char *const[]){version}, &rv);
	if (res == NULL) {
		pthread_mutex_unlock(&a->a_mu);
		reply_db_down(req);
		return;
	}
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (PQresultStatus(res) == PGRES_FATAL_ERROR && state != NULL &&
	    strcmp(state, ADMIN_PG_NO_DATA) == 0) {
		PQclear(res);
		pthread_mutex_unlock(&a->a_mu);
		gw_reply_error(req, 404, "not_found", "no model version \"%s\"", version);
		return;
	}
	if (rs_pg_check(a->a_pg, res, PGRES_TUPLES_OK, "admin.activate") != 0 ||
	    PQntuples(res) != 1) {
		int missing = state != NULL && strcmp(state, ADMIN_PG_UNDEF_FUNC) == 0;
		PQclear(res);
		pthread_mutex_unlock(&a->a_mu);
		if (missing)
			gw_reply_error(req, 500, "internal",
			               "rs_model_activate is missing: apply db/migrations");
		else
			reply_db_down(req);
		return;
	}
	json_t *prev = PQgetisnull(res, 0, 0) ? json_null() : gw_json_str(PQgetvalue(res, 0, 0));
	PQclear(res);
	pthread_mutex_unlock(&a->a_mu);
	char q[256], qp[256];
	rs_log_info(
	        "gw.model_activated", "req=%s version=\"%s\" previous=\"%s\" by=%s",
	        req->r_request_id, rs_log_quote(q, sizeof(q), version),
	        rs_log_quote(qp, sizeof(qp), json_is_string(prev) ? json_string_value(prev) : ""),
	        who.p_name);
	gw_reply_json(req, 200,
	              json_pack("{s:o,s:o,s:s}", "active", gw_json_str(version), "previous", prev,
	                        "request_id", req->r_request_id));
}
