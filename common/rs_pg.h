/* rs_pg: the thin layer over libpq every service uses. PGRES_* and connection states
 * become RS_E* here: a service names the status it expects (PGRES_TUPLES_OK, ...) and is told
 * 0 or RS_E*; services never test libpq codes themselves. Only parameterized SQL. */
#ifndef RS_PG_H
#define RS_PG_H

#include <libpq-fe.h>

/* rs_pg_connect: connect with dsn (a libpq conninfo or URI). Returns 0 and *out, or
 * RS_EUNAVAIL after logging event pg.connect_failed. */
int rs_pg_connect(const char *dsn, PGconn **out);

/* rs_pg_ensure: reconnect conn if it broke. Returns 0 if usable, RS_EUNAVAIL otherwise. */
int rs_pg_ensure(PGconn *conn);

/* rs_pg_reusable: 1 when conn is connected and idle outside a transaction (fit to hand to the
 * next user of a pool), else 0. */
int rs_pg_reusable(PGconn *conn);

/* rs_pg_check: 0 if res has status `want`, else RS_EDB (RS_EUNAVAIL if the connection is gone)
 * after logging event pg.query_failed with what. Does not PQclear. NULL res -> RS_EUNAVAIL.
 * conn may be NULL (a pooled connection already given back): a failed res is then RS_EDB. */
int rs_pg_check(PGconn *conn, PGresult *res, ExecStatusType want, const char *what);

/* rs_pg_result: rs_pg_check without the log line, for a caller that reports the failure in
 * its own words (a CLI's message, a trainer error): 0 if res has status want, RS_EUNAVAIL
 * for a NULL res or a broken conn, else RS_EDB. conn may be NULL (as for rs_pg_check). */
int rs_pg_result(PGconn *conn, const PGresult *res, ExecStatusType want);

/* rs_pg_sqlstate: the SQLSTATE (e.g. "23505") of a statement that failed; NULL when res is
 * NULL or the statement did not fail. */
const char *rs_pg_sqlstate(const PGresult *res);

/* rs_pg_exec: run sql with text params, expect `want`, clear the result. 0 or RS_E*. */
int rs_pg_exec(PGconn *conn, const char *sql, int nparams, const char *const *params,
               ExecStatusType want, const char *what);

#endif
