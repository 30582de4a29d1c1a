#include "admin.h"
#include "db.h"
#include "render.h"

#include "rs_err.h"
#include "rs_log.h"
#include "rs_model.h"
#include "rs_pg.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_VERSION_MAX   200     /* bytes of a {version} path segment */
#define ADMIN_PG_NO_DATA    "P0002" /* rs_model_activate's errcode for an unknown version */
#define ADMIN_PG_UNDEF_FUNC "42883"

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
	/* run: the newest training_runs row that published this version (0003), or null. */
	static const char sql[] =
	        "select v.version, to_char(v.created_at at time zone 'UTC', "
	        "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), v.active, v.path, v.metrics::text, "
	        "v.params::text, r.run::text "
	        "from model_versions v left join lateral ("
	        "  select json_build_object('run_id', t.run_id, 'status', t.status, "
	        "    'started_at', to_char(t.started_at at time zone 'UTC', "
	        "      'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
	        "    'finished_at', to_char(t.finished_at at time zone 'UTC', "
	        "      'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
	        "    'durations', t.durations, 'data_fingerprint', t.data_fingerprint, "
	        "    'metrics', t.metrics, 'params', t.params) as run "
	        "  from training_runs t where t.model_version = v.version "
	        "  order by t.started_at desc limit 1) r on true "
	        "order by v.created_at desc, v.version desc";
	int rv;

	PGresult *res = gw_db_query(srv->s_db, sql, 0, NULL, &rv);
	if (res == NULL || rs_pg_check(NULL, res, PGRES_TUPLES_OK, "admin.models") != 0) {
		PQclear(res);
		reply_db_down(req);
		return;
	}
	json_t *models = json_array();
	json_t *active = json_null();
	for (int i = 0; i < PQntuples(res); i++) {
		int on = strcmp(PQgetvalue(res, i, 2), "t") == 0;
		json_t *m =
		        json_pack("{s:o,s:o,s:b,s:o,s:o,s:o,s:o}", "version",
		                  gw_json_str(PQgetvalue(res, i, 0)), "created_at",
		                  gw_json_str(PQgetvalue(res, i, 1)), "active", on, "path",
		                  gw_json_str(PQgetvalue(res, i, 3)), "metrics",
		                  json_column(res, i, 4), "params", json_column(res, i, 5), "run",
		                  PQgetisnull(res, i, 6) ? json_null() : json_column(res, i, 6));
		json_array_append_new(models, m);
		if (on) {
			json_decref(active);
			active = gw_json_str(PQgetvalue(res, i, 0));
		}
	}
	PQclear(res);
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

/* Opens the version's folder exactly as feature, candidate and ranking do (rs_model_path and
 * rs_model_open: manifest format and layout, LMDB meta pages, file size, every database) and
 * closes it. Returns 1 when it opens; else 0 with the reply sent (404 unknown, 422 the folder
 * is refused, 503 registry down). */
static int
admin_version_opens(gw_server *srv, gw_req *req, const char *version)
{
	char dir[4096], err[512] = "", q[256], qe[600];
	rs_model *m = NULL;
	int rv;

	PGresult *res = gw_db_query(srv->s_db, "select path from model_versions where version = $1",
	                            1, (const char *const[]){version}, &rv);
	if (res == NULL || rs_pg_check(NULL, res, PGRES_TUPLES_OK, "admin.version_path") != 0) {
		PQclear(res);
		reply_db_down(req);
		return 0;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		gw_reply_error(req, 404, "not_found", "no model version \"%s\"", version);
		return 0;
	}
	const char *mdir = srv->s_cfg.model_dir != NULL ? srv->s_cfg.model_dir : "";
	rv = rs_model_path(mdir, version, PQgetvalue(res, 0, 0), dir, sizeof(dir));
	PQclear(res);
	if (rv == 0 && (rv = rs_model_open(dir, version, &m, err, sizeof(err))) == 0) {
		rs_model_unref(m);
		return 1;
	}
	rs_log_warn("gw.model_activate_refused", "req=%s version=\"%s\" err=%s reason=\"%s\"",
	            req->r_request_id, rs_log_quote(q, sizeof(q), version), rs_err_name(rv),
	            rs_log_quote(qe, sizeof(qe), err[0] ? err : "folder path too long"));
	gw_reply_error(req, 422, "model_unusable",
	               "model version \"%s\" cannot be opened (%s): %s; the active version is "
	               "unchanged",
	               version, rs_err_name(rv), err[0] ? err : "folder path too long");
	return 0;
}

void
gw_handle_admin_activate(gw_server *srv, gw_req *req)
{
	const char *version = req->r_nparams > 0 ? req->r_params[0] : "";
	int rv;

	if (!version_ok(version)) {
		gw_reply_error(req, 400, "bad_request",
		               "version must be 1-%d bytes without control characters",
		               ADMIN_VERSION_MAX);
		return;
	}
	/* a version the services would refuse is never made the active row */
	if (!admin_version_opens(srv, req, version))
		return;
	PGresult *res = gw_db_query(srv->s_db, "select rs_model_activate($1)", 1,
	                            (const char *const[]){version}, &rv);
	if (res == NULL) {
		reply_db_down(req);
		return;
	}
	const char *state = rs_pg_sqlstate(res);
	if (state != NULL && strcmp(state, ADMIN_PG_NO_DATA) == 0) {
		PQclear(res);
		gw_reply_error(req, 404, "not_found", "no model version \"%s\"", version);
		return;
	}
	if (rs_pg_check(NULL, res, PGRES_TUPLES_OK, "admin.activate") != 0 || PQntuples(res) != 1) {
		int missing = state != NULL && strcmp(state, ADMIN_PG_UNDEF_FUNC) == 0;
		PQclear(res);
		if (missing)
			gw_reply_error(req, 500, "internal",
			               "rs_model_activate is missing: apply db/migrations");
		else
			reply_db_down(req);
		return;
	}
	json_t *prev = PQgetisnull(res, 0, 0) ? json_null() : gw_json_str(PQgetvalue(res, 0, 0));
	PQclear(res);
	char q[256], qp[256];
	rs_log_info(
	        "gw.model_activated", "req=%s version=\"%s\" previous=\"%s\" by=%s",
	        req->r_request_id, rs_log_quote(q, sizeof(q), version),
	        rs_log_quote(qp, sizeof(qp), json_is_string(prev) ? json_string_value(prev) : ""),
	        req->r_who.p_name);
	gw_reply_json(req, 200,
	              json_pack("{s:o,s:o,s:s}", "active", gw_json_str(version), "previous", prev,
	                        "request_id", req->r_request_id));
}
