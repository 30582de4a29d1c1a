/* snapshot: see snapshot.h. */
#include "snapshot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "opts.h"
#include "rs_err.h"
#include "rs_event.h"
#include "rs_pg.h"

/* one COPY text row: user \t item \t type \t value|\N \t epoch seconds */
static int
snap_row(tr_event_log *log, char *row, int len, tr_snapshot_info *info, tr_error *err)
{
	char *f[5], *p = row;
	int n = 0, type;
	double value = NAN, ts;

	if (len > 0 && row[len - 1] == '\n')
		row[len - 1] = '\0';
	else
		row[len] = '\0';
	f[n++] = p;
	while (n < 5 && (p = strchr(p, '\t')) != NULL) {
		*p++ = '\0';
		f[n++] = p;
	}
	if (n != 5 || (type = atoi(f[2])) < 1 || type >= RS_EVENT_NTYPES ||
	    tr_parse_double(f[4], &ts) != 0 ||
	    (strcmp(f[3], "\\N") != 0 && tr_parse_double(f[3], &value) != 0))
		return tr_error_set(err, RS_ECORRUPT, "events snapshot: unexpected row %lld",
		                    (long long) info->events + 1);
	tr_event_log_push(log, f[0], strlen(f[0]), f[1], strlen(f[1]), type, value, ts);
	if (info->events == 0 || ts < info->t_min)
		info->t_min = ts;
	if (info->events == 0 || ts > info->t_max)
		info->t_max = ts;
	info->events++;
	return 0;
}

int
tr_snapshot_events(PGconn *conn, tr_event_log *log, tr_snapshot_info *info, tr_error *err)
{
	PGresult *res;
	char *buf = NULL;
	int len, rv = 0;

	memset(info, 0, sizeof(*info));
	res = PQexec(conn, "select count(*) from items");
	if (rs_pg_result(conn, res, PGRES_TUPLES_OK) != 0) {
		rv = tr_error_set(err, RS_EDB, "items: %s", PQresultErrorMessage(res));
		PQclear(res);
		return rv;
	}
	info->catalog = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	res = PQexec(conn, "copy (select user_id, item_id, type, value, "
	                   "extract(epoch from ts)::float8 from events order by ts, event_id) "
	                   "to stdout");
	if (rs_pg_result(conn, res, PGRES_COPY_OUT) != 0) {
		rv = tr_error_set(err, RS_EDB, "events snapshot: %s", PQresultErrorMessage(res));
		PQclear(res);
		return rv;
	}
	PQclear(res);
	while ((len = PQgetCopyData(conn, &buf, 0)) > 0) {
		if (rv == 0)
			rv = snap_row(log, buf, len, info, err);
		PQfreemem(buf);
	}
	if (len == -2 && rv == 0)
		rv = tr_error_set(err, RS_EUNAVAIL, "events snapshot: %s", PQerrorMessage(conn));
	while ((res = PQgetResult(conn)) != NULL) { /* the COPY's final status */
		if (rv == 0 && rs_pg_result(conn, res, PGRES_COMMAND_OK) != 0)
			rv = tr_error_set(err, RS_EDB, "events snapshot: %s",
			                  PQresultErrorMessage(res));
		PQclear(res);
	}
	return rv;
}
