/* rs_pg: the thin layer over libpq every service uses. PGRES_* and connection states
 * become RS_E* here; services never test libpq codes themselves. Only parameterized SQL. */
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

/* rs_pg_exec: run sql with text params, expect `want`, clear the result. 0 or RS_E*. */
int rs_pg_exec(PGconn *conn, const char *sql, int nparams, const char *const *params,
               ExecStatusType want, const char *what);

#endif
