/* registry: see registry.h. */
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"
#include "rs_pg.h"

int
tr_registry_connect(const char *dsn, PGconn **out, tr_error *err)
{
	PGconn *c = PQconnectdb(dsn);
	int rv;

	*out = NULL;
	if (PQstatus(c) != CONNECTION_OK) {
		rv = tr_error_set(err, RS_EUNAVAIL, "cannot connect to PostgreSQL (--dsn): %s",
		                  PQerrorMessage(c));
		PQfinish(c);
		return rv;
	}
	PQclear(PQexec(c, "set client_min_messages = warning"));
	*out = c;
	return 0;
}

/* reg_exec: one parameterized statement; the PostgreSQL message (trimmed) into err */
static int
reg_exec(PGconn *conn, const char *what, const char *sql, int n, const char *const *params,
         ExecStatusType want, PGresult **keep, tr_error *err)
{
	PGresult *r = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	int rv = rs_pg_result(conn, r, want);

	if (rv != 0) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
		msg[strcspn(msg, "\n")] = '\0';
		rv = tr_error_set(err, rv, "%s: %s", what, msg);
	}
	if (rv == 0 && keep != NULL)
		*keep = r;
	else
		PQclear(r);
	return rv;
}

int
tr_registry_run_start(PGconn *conn, const char *run_id, const char *command,
                      const char *params_json, const char *git_rev, tr_error *err)
{
	const char *p[4] = {run_id, command, params_json, git_rev};

	return reg_exec(conn, "training_runs",
	                "insert into training_runs (run_id, command, params, git_revision) "
	                "values ($1, $2, $3::jsonb, $4)",
	                4, p, PGRES_COMMAND_OK, NULL, err);
}

int
tr_registry_run_finish(PGconn *conn, const char *run_id, const char *status,
                       const char *params_json, const char *metrics_json,
                       const char *durations_json, const char *fingerprint,
                       const char *model_version, const char *error, tr_error *err)
{
	const char *p[8] = {run_id,      status,        metrics_json, durations_json,
	                    fingerprint, model_version, error,        params_json};

	return reg_exec(conn, "training_runs",
	                "update training_runs set finished_at = now(), status = $2, "
	                "metrics = coalesce($3::jsonb, metrics), "
	                "durations = coalesce($4::jsonb, durations), "
	                "data_fingerprint = coalesce($5, data_fingerprint), "
	                "model_version = coalesce($6, model_version), error = $7, "
	                "params = coalesce($8::jsonb, params) where run_id = $1",
	                8, p, PGRES_COMMAND_OK, NULL, err);
}

int
tr_registry_version_exists(PGconn *conn, const char *version, int *exists, tr_error *err)
{
	PGresult *r = NULL;
	int rv;

	*exists = 0;
	if ((rv = reg_exec(conn, "model_versions",
	                   "select 1 from model_versions where version = $1", 1, &version,
	                   PGRES_TUPLES_OK, &r, err)) != 0)
		return rv;
	*exists = PQntuples(r) > 0;
	PQclear(r);
	return 0;
}

int
tr_registry_version_run(PGconn *conn, const char *version, int *exists, char *run_id, size_t n,
                        tr_error *err)
{
	PGresult *r = NULL;
	int rv;

	*exists = 0;
	run_id[0] = '\0';
	if ((rv = reg_exec(conn, "model_versions",
	                   "select coalesce(run_id, '') from model_versions where version = $1", 1,
	                   &version, PGRES_TUPLES_OK, &r, err)) != 0)
		return rv;
	if (PQntuples(r) > 0) {
		*exists = 1;
		snprintf(run_id, n, "%s", PQgetvalue(r, 0, 0));
	}
	PQclear(r);
	return 0;
}

int
tr_registry_activate_new(PGconn *conn, const char *version, const char *path,
                         const char *metrics_json, const char *params_json, const char *fingerprint,
                         const char *run_id, int activate, char *prev, size_t n, tr_error *err)
{
	const char *p[6] = {version, path, metrics_json, params_json, fingerprint, run_id};
	PGresult *r = NULL;
	int rv;

	prev[0] = '\0';
	if ((rv = reg_exec(conn, "begin", "begin", 0, NULL, PGRES_COMMAND_OK, NULL, err)) != 0)
		return rv;
	if ((rv = reg_exec(
	             conn, "model_versions",
	             "insert into model_versions (version, path, metrics, params, "
	             "data_fingerprint, run_id, active) values ($1, $2, $3::jsonb, $4::jsonb, "
	             "$5, $6, false)",
	             6, p, PGRES_COMMAND_OK, NULL, err)) != 0 ||
	    (rv = activate ? reg_exec(conn, "rs_model_activate", "select rs_model_activate($1)", 1,
	                              &version, PGRES_TUPLES_OK, &r, err)
	                   : reg_exec(conn, "model_versions",
	                              "select (select version from model_versions where active)", 0,
	                              NULL, PGRES_TUPLES_OK, &r, err)) != 0) {
		PQclear(PQexec(conn, "rollback"));
		return rv;
	}
	if (!PQgetisnull(r, 0, 0))
		snprintf(prev, n, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	if ((rv = reg_exec(conn, "commit", "commit", 0, NULL, PGRES_COMMAND_OK, NULL, err)) != 0)
		PQclear(PQexec(conn, "rollback"));
	return rv;
}

void
tr_git_revision(char *buf, size_t n)
{
	const char *env = getenv("RS_GIT_REV");
	FILE *p;

	snprintf(buf, n, "unknown");
	if (env != NULL && env[0] != '\0') {
		snprintf(buf, n, "%s", env);
		return;
	}
	if ((p = popen("git rev-parse HEAD 2>/dev/null", "r")) == NULL)
		return;
	if (fgets(buf, (int) n, p) == NULL || buf[0] == '\0')
		snprintf(buf, n, "unknown");
	buf[strcspn(buf, "\n")] = '\0';
	pclose(p);
}
