/* rs_migrate: apply db/migrations/NNNN_*.sql in version order: the one way the schema is
 * built (`rs-ingest migrate`, which scripts/migrate.sh and the compose file's migration job
 * run, and the tests' private schemas in tests/support/pg_fixture.h). Each pending migration
 * runs in one transaction with its schema_migrations row (in the first schema of the
 * connection's search_path), under pg_advisory_xact_lock(7100001); applied versions are
 * skipped, so concurrent runs and re-runs are safe. */
#ifndef RS_MIGRATE_H
#define RS_MIGRATE_H

#include <libpq-fe.h>

/* rs_migrate_apply: apply pending migrations from dir over conn. *applied (may be NULL) gets the
 * number applied. Returns 0, RS_EIO (dir or file unreadable), RS_EDB/RS_EUNAVAIL (logged). */
int rs_migrate_apply(PGconn *conn, const char *dir, int *applied);

#endif
