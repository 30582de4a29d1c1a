/* rs_pg against a real PostgreSQL: the verbs that turn libpq's statuses into RS_E* codes. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <string.h>

#include "pg_fixture.h"
#include "rs_err.h"
#include "rs_pg.h"

static fx_pg fx;

static void
setup(void)
{
	fx_pg_setup(&fx, "rs_pg");
	fx_sql(&fx, "create table pg_t (id int primary key)");
}

static void
teardown(void)
{
	fx_pg_teardown(&fx);
}

TestSuite(rs_pg, .init = setup, .fini = teardown);

Test(rs_pg, rows_are_rows_and_not_a_command)
{
	PGresult *r = PQexec(fx.conn, "select 1");
	cr_assert_eq(rs_pg_result(fx.conn, r, PGRES_TUPLES_OK), 0);
	cr_assert_eq(rs_pg_result(fx.conn, r, PGRES_COMMAND_OK), RS_EDB);
	cr_assert_eq(rs_pg_check(fx.conn, r, PGRES_COMMAND_OK, "test"), RS_EDB);
	cr_assert_null(rs_pg_sqlstate(r), "a statement that worked has no SQLSTATE");
	PQclear(r);
}

Test(rs_pg, a_failed_statement_names_its_sqlstate)
{
	const char *const one[] = {"1"};
	cr_assert_eq(rs_pg_exec(fx.conn, "insert into pg_t values ($1::int)", 1, one,
	                        PGRES_COMMAND_OK, "test"),
	             0);
	PGresult *r = PQexecParams(fx.conn, "insert into pg_t values ($1::int)", 1, NULL, one, NULL,
	                           NULL, 0);
	cr_assert_eq(rs_pg_result(fx.conn, r, PGRES_COMMAND_OK), RS_EDB);
	cr_assert_eq(rs_pg_result(NULL, r, PGRES_COMMAND_OK), RS_EDB, "no connection: RS_EDB");
	cr_assert_str_eq(rs_pg_sqlstate(r), "23505"); /* unique_violation */
	PQclear(r);
	cr_assert_eq(rs_pg_exec(fx.conn, "insert into pg_t values ($1::int)", 1, one,
	                        PGRES_COMMAND_OK, "test"),
	             RS_EDB);
}

Test(rs_pg, copy_in_is_its_own_status)
{
	PGresult *r = PQexec(fx.conn, "copy pg_t (id) from stdin");
	cr_assert_eq(rs_pg_result(fx.conn, r, PGRES_COPY_IN), 0);
	cr_assert_eq(rs_pg_result(fx.conn, r, PGRES_COMMAND_OK), RS_EDB);
	PQclear(r);
	cr_assert_eq(PQputCopyData(fx.conn, "7\n8\n", 4), 1);
	cr_assert_eq(PQputCopyEnd(fx.conn, NULL), 1);
	int ends = 0;
	while ((r = PQgetResult(fx.conn)) != NULL) {
		cr_assert_eq(rs_pg_result(fx.conn, r, PGRES_COMMAND_OK), 0, "%s",
		             PQresultErrorMessage(r));
		cr_assert_str_eq(PQcmdTuples(r), "2");
		ends++;
		PQclear(r);
	}
	cr_assert_eq(ends, 1);
}

Test(rs_pg, no_result_or_a_lost_connection_is_unavailable)
{
	cr_assert_eq(rs_pg_result(fx.conn, NULL, PGRES_TUPLES_OK), RS_EUNAVAIL);
	cr_assert_eq(rs_pg_result(NULL, NULL, PGRES_TUPLES_OK), RS_EUNAVAIL);
	cr_assert_eq(rs_pg_check(NULL, NULL, PGRES_TUPLES_OK, "test"), RS_EUNAVAIL);
	cr_assert_null(rs_pg_sqlstate(NULL));

	PGconn *c = NULL;
	cr_assert_eq(rs_pg_connect(fx.dsn, &c), 0);
	cr_assert_eq(rs_pg_reusable(c), 1);
	PGresult *r = PQexec(c, "select pg_terminate_backend(pg_backend_pid())");
	cr_assert_neq(rs_pg_result(c, r, PGRES_TUPLES_OK), 0, "the backend ended mid-statement");
	PQclear(r);
	r = PQexec(c, "select 1");
	cr_assert_eq(PQstatus(c), CONNECTION_BAD);
	cr_assert_eq(rs_pg_result(c, r, PGRES_TUPLES_OK), RS_EUNAVAIL);
	cr_assert_eq(rs_pg_check(c, r, PGRES_TUPLES_OK, "test"), RS_EUNAVAIL);
	cr_assert_eq(rs_pg_reusable(c), 0);
	PQclear(r);
	cr_assert_eq(rs_pg_ensure(c), 0, "rs_pg_ensure reconnects");
	cr_assert_eq(rs_pg_reusable(c), 1);
	PQfinish(c);
}
