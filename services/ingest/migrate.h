/* migrate: apply db/migrations/NNNN_*.sql in version order (the C twin of scripts/migrate.sh).
 * Each pending migration runs in one transaction with its schema_migrations row, under
 * pg_advisory_xact_lock(7100001); applied versions are skipped. */
#ifndef ING_MIGRATE_H
#define ING_MIGRATE_H

#include <libpq-fe.h>

/* ing_migrate: apply pending migrations from dir over conn. *applied (may be NULL) gets the
 * number applied. Returns 0, RS_EIO (dir or file unreadable), RS_EDB/RS_EUNAVAIL (logged). */
int ing_migrate(PGconn *conn, const char *dir, int *applied);

#endif
