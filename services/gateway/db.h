/* db: the gateway's small pool of PostgreSQL connections (RS_PG_DSN, RS_GATEWAY_PG_POOL).
 *
 * Used by the routes that read or write the database directly: admin, accounts and sessions,
 * the catalog. The recommendation path never waits on it. Connections are opened on first use,
 * each with statement_timeout RS_GATEWAY_PG_TIMEOUT_MS, and replaced when they break. A caller
 * that finds every connection busy waits at most that long, then gets RS_EUNAVAIL. */
#ifndef GW_DB_H
#define GW_DB_H

#include <libpq-fe.h>

typedef struct gw_db gw_db;

/* gw_db_open: a pool of size connections to dsn (copied; connect_timeout=2 is added to keyword
 * DSNs). Does not connect. Returns 0, RS_EINVAL, RS_ENOMEM. */
int gw_db_open(gw_db **out, const char *dsn, int size, int timeout_ms);

/* gw_db_close: close every connection, free. No connection may be held. NULL ok. */
void gw_db_close(gw_db *d);

/* gw_db_acquire: a live connection for the caller alone (0), or RS_EUNAVAIL (database down or
 * the pool busy past the timeout). Give it back with gw_db_release; broken = 1 when the caller
 * saw it fail (it is closed and reopened later). */
int gw_db_acquire(gw_db *d, PGconn **out);
void gw_db_release(gw_db *d, PGconn *c, int broken);

/* gw_db_query: run one parameterized statement on a pooled connection, retried once on a
 * connection that turns out broken (a restarted server). Returns the result (the caller
 * PQclears it; it may be the error result of a live connection: check it with rs_pg_check),
 * or NULL with RS_EUNAVAIL in *rv. */
PGresult *gw_db_query(gw_db *d, const char *sql, int nparams, const char *const *params, int *rv);

#endif
