#include "rs_pg.h"
#include "rs_err.h"
#include "rs_log.h"

#include <stddef.h>

int
rs_pg_connect(const char *dsn, PGconn **out)
{
	PGconn *c = PQconnectdb(dsn);
	if (c == NULL)
		return RS_ENOMEM;
	if (PQstatus(c) != CONNECTION_OK) {
		char q[300];
		rs_log_warn("pg.connect_failed", "err=\"%s\"",
		            rs_log_quote(q, sizeof(q), PQerrorMessage(c)));
		PQfinish(c);
		return RS_EUNAVAIL;
	}
	*out = c;
	return 0;
}

int
rs_pg_ensure(PGconn *conn)
{
	if (PQstatus(conn) == CONNECTION_OK)
		return 0;
	PQreset(conn);
	return PQstatus(conn) == CONNECTION_OK ? 0 : RS_EUNAVAIL;
}

int
rs_pg_reusable(PGconn *conn)
{
	return conn != NULL && PQstatus(conn) == CONNECTION_OK &&
	       PQtransactionStatus(conn) == PQTRANS_IDLE;
}

int
rs_pg_result(PGconn *conn, const PGresult *res, ExecStatusType want)
{
	if (res != NULL && PQresultStatus(res) == want)
		return 0;
	if (res == NULL || (conn != NULL && PQstatus(conn) != CONNECTION_OK))
		return RS_EUNAVAIL;
	return RS_EDB;
}

const char *
rs_pg_sqlstate(const PGresult *res)
{
	if (res == NULL || PQresultStatus(res) != PGRES_FATAL_ERROR)
		return NULL;
	return PQresultErrorField(res, PG_DIAG_SQLSTATE);
}

int
rs_pg_check(PGconn *conn, PGresult *res, ExecStatusType want, const char *what)
{
	char q[300];
	int rv = rs_pg_result(conn, res, want);
	if (rv == 0)
		return 0;
	rs_log_warn("pg.query_failed", "what=%s err=\"%s\"", what,
	            rs_log_quote(q, sizeof(q),
	                         res != NULL    ? PQresultErrorMessage(res)
	                         : conn != NULL ? PQerrorMessage(conn)
	                                        : "no result"));
	return rv;
}

int
rs_pg_exec(PGconn *conn, const char *sql, int nparams, const char *const *params,
           ExecStatusType want, const char *what)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	int rv = rs_pg_check(conn, res, want, what);
	PQclear(res);
	return rv;
}
