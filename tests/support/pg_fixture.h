/* pg_fixture: a private PostgreSQL schema per test suite, built by the project's migrations.
 *
 * fx_pg_setup() connects to RS_TEST_PG_DSN (the suite fails with a clear message if it is
 * unset), creates schema <prefix>_<pid>, applies db/migrations into it with rs_migrate (the
 * code `rs-ingest migrate` and scripts/migrate.sh run), and writes a DSN whose search_path
 * selects that schema (for the service under test). Needs rs_common.
 * fx_pg_teardown() drops the schema. Header-only; shared by every service suite (tests/support is
 * on each test's include path). */
#ifndef PG_FIXTURE_H
#define PG_FIXTURE_H

#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rs_migrate.h"

#ifndef RS_SOURCE_DIR
#error "RS_SOURCE_DIR must point at the source tree (for db/migrations)"
#endif

typedef struct fx_pg {
	PGconn *conn; /* search_path = schema */
	char schema[64];
	char dsn[1024]; /* RS_TEST_PG_DSN + options selecting the schema */
} fx_pg;

static void
fx_sql(fx_pg *fx, const char *sql)
{
	PGresult *r = PQexec(fx->conn, sql);
	ExecStatusType s = PQresultStatus(r);
	cr_assert(s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK, "sql failed: %s\n%s",
	          PQresultErrorMessage(r), sql);
	PQclear(r);
}

static void
fx_pg_setup(fx_pg *fx, const char *prefix)
{
	const char *base = getenv("RS_TEST_PG_DSN");
	char sql[256];

	cr_assert(base != NULL && base[0] != '\0',
	          "RS_TEST_PG_DSN is not set: these tests need PostgreSQL "
	          "(scripts/test.sh sets it; or export RS_TEST_PG_DSN=\"host=... dbname=...\")");
	snprintf(fx->schema, sizeof(fx->schema), "%s_%d", prefix, (int) getpid());
	if (strstr(base, "://") != NULL)
		snprintf(fx->dsn, sizeof(fx->dsn), "%s%soptions=-csearch_path%%3D%s", base,
		         strchr(base, '?') != NULL ? "&" : "?", fx->schema);
	else
		snprintf(fx->dsn, sizeof(fx->dsn), "%s options=-csearch_path=%s", base, fx->schema);
	fx->conn = PQconnectdb(base);
	cr_assert_eq(PQstatus(fx->conn), CONNECTION_OK, "cannot connect to RS_TEST_PG_DSN: %s",
	             PQerrorMessage(fx->conn));
	fx_sql(fx, "set client_min_messages = warning");
	snprintf(sql, sizeof(sql),
	         "drop schema if exists %s cascade; create schema %s; "
	         "set search_path = %s",
	         fx->schema, fx->schema, fx->schema);
	fx_sql(fx, sql);
	int applied = 0;
	cr_assert_eq(rs_migrate_apply(fx->conn, RS_SOURCE_DIR "/db/migrations", &applied), 0,
	             "migrations under %s/db/migrations failed (see the log above)", RS_SOURCE_DIR);
	cr_assert_gt(applied, 0, "no migrations under %s/db/migrations", RS_SOURCE_DIR);
}

static void
fx_pg_teardown(fx_pg *fx)
{
	char sql[160];
	if (fx->conn == NULL)
		return;
	snprintf(sql, sizeof(sql), "drop schema if exists %s cascade", fx->schema);
	PQclear(PQexec(fx->conn, sql));
	PQfinish(fx->conn);
	fx->conn = NULL;
}

#endif
