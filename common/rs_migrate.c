/* rs_migrate: see rs_migrate.h. */
#include "rs_migrate.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"
#include "rs_log.h"
#include "rs_pg.h"

static int
migrate_name_ok(const char *n)
{
	size_t len = strlen(n);
	for (int i = 0; i < 4; i++)
		if (n[i] < '0' || n[i] > '9')
			return 0;
	return len > 9 && n[4] == '_' && strcmp(n + len - 4, ".sql") == 0;
}

static int
migrate_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static char *
migrate_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t) n + 1)) != NULL) {
		if (fread(buf, 1, (size_t) n, f) != (size_t) n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
		}
	}
	fclose(f);
	return buf;
}

/* Applies one file unless already recorded. 1 applied, 0 skipped, or RS_E*. */
static int
migrate_one(PGconn *conn, const char *dir, const char *name)
{
	char path[1024], version[256];
	const char *params[1] = {version};
	PGresult *res;
	int rv, skip;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(version, sizeof(version), "%.*s", (int) (strlen(name) - 4), name);
	char *sql = migrate_read(path);
	if (sql == NULL) {
		rs_log_error("migrate.read_failed", "path=%s", path);
		return RS_EIO;
	}
	if ((rv = rs_pg_exec(conn, "begin", 0, NULL, PGRES_COMMAND_OK, "begin")) != 0)
		goto out;
	if ((rv = rs_pg_exec(conn, "select pg_advisory_xact_lock(7100001)", 0, NULL,
	                     PGRES_TUPLES_OK, "migrate_lock")) != 0)
		goto rollback;
	res = PQexecParams(conn, "select 1 from schema_migrations where version = $1", 1, NULL,
	                   params, NULL, NULL, 0);
	if ((rv = rs_pg_check(conn, res, PGRES_TUPLES_OK, "migrate_check")) != 0) {
		PQclear(res);
		goto rollback;
	}
	skip = PQntuples(res) > 0;
	PQclear(res);
	if (skip) {
		rv = rs_pg_exec(conn, "rollback", 0, NULL, PGRES_COMMAND_OK, "rollback");
		goto out;
	}
	/* Simple-query protocol: a file may hold many statements. */
	res = PQexec(conn, sql);
	ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		rv = rs_pg_check(conn, res, PGRES_COMMAND_OK, version);
		PQclear(res);
		goto rollback;
	}
	PQclear(res);
	if ((rv = rs_pg_exec(conn, "insert into schema_migrations (version) values ($1)", 1, params,
	                     PGRES_COMMAND_OK, "migrate_record")) != 0)
		goto rollback;
	if ((rv = rs_pg_exec(conn, "commit", 0, NULL, PGRES_COMMAND_OK, "commit")) != 0)
		goto out;
	rs_log_info("migrate.applied", "version=%s", version);
	rv = 1;
	goto out;
rollback:
	rs_pg_exec(conn, "rollback", 0, NULL, PGRES_COMMAND_OK, "rollback");
out:
	free(sql);
	return rv;
}

int
rs_migrate_apply(PGconn *conn, const char *dir, int *applied)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rv = 0, count = 0;
	DIR *d;
	struct dirent *de;

	/* "already exists, skipping" notices are noise here */
	if ((rv = rs_pg_exec(conn, "set client_min_messages = warning", 0, NULL, PGRES_COMMAND_OK,
	                     "client_min_messages")) != 0)
		return rv;
	if ((rv = rs_pg_exec(conn,
	                     "create table if not exists schema_migrations (version text primary "
	                     "key, applied_at timestamptz not null default now())",
	                     0, NULL, PGRES_COMMAND_OK, "schema_migrations")) != 0)
		return rv;
	if ((d = opendir(dir)) == NULL) {
		rs_log_error("migrate.read_failed", "dir=%s", dir);
		return RS_EIO;
	}
	while ((de = readdir(d)) != NULL) {
		if (!migrate_name_ok(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nn = realloc(names, cap * sizeof(*nn));
			if (nn == NULL) {
				rv = RS_ENOMEM;
				break;
			}
			names = nn;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			rv = RS_ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (rv == 0 && n > 0)
		qsort(names, n, sizeof(*names), migrate_cmp);
	for (size_t i = 0; rv == 0 && i < n; i++) {
		int r = migrate_one(conn, dir, names[i]);
		if (r < 0)
			rv = r;
		else
			count += r;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (applied != NULL)
		*applied = count;
	return rv;
}
