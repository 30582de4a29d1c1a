/* pg_fixture: a private PostgreSQL schema per test suite, built by the project's migrations.
 *
 * fx_pg_setup() connects to RS_TEST_PG_DSN (the suite fails with a clear message if it is
 * unset), creates schema <prefix>_<pid>, applies db/migrations/NNNN_*.sql into it in version
 * order, and writes a DSN whose search_path selects that schema (for the service under test).
 * fx_pg_teardown() drops the schema. Header-only; shared by every service suite (tests/support is
 * on each test's include path). */
#ifndef PG_FIXTURE_H
#define PG_FIXTURE_H

#include <criterion/criterion.h>
#include <glob.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
fx_apply_file(fx_pg *fx, const char *path)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t) n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t) n, f), (size_t) n);
	buf[n] = '\0';
	fclose(f);
	fx_sql(fx, buf);
	free(buf);
}

static void
fx_pg_setup(fx_pg *fx, const char *prefix)
{
	const char *base = getenv("RS_TEST_PG_DSN");
	char sql[256];
	glob_t g;

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
	cr_assert_eq(glob(RS_SOURCE_DIR "/db/migrations/[0-9][0-9][0-9][0-9]_*.sql", 0, NULL, &g),
	             0, "no migrations under %s/db/migrations", RS_SOURCE_DIR);
	for (size_t i = 0; i < g.gl_pathc; i++) /* glob sorts: version order */
		fx_apply_file(fx, g.gl_pathv[i]);
	globfree(&g);
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
