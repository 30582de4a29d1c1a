/* snapshot: the PostgreSQL event store as an event log for training.
 * Reads events (user_id, item_id, type, value, ts) with one COPY ... TO STDOUT in (ts, event_id)
 * order, so ids get their codes in order of first appearance and a snapshot of the same rows
 * always gives the same dataset and fingerprint. Timestamps become epoch seconds. */
#ifndef TR_SNAPSHOT_H
#define TR_SNAPSHOT_H

#include <libpq-fe.h>
#include <stdint.h>

#include "events.h"

typedef struct tr_snapshot_info {
	int64_t events;  /* rows read */
	int64_t catalog; /* rows in items */
	double t_min, t_max;
} tr_snapshot_info;

/* tr_snapshot_events: append every event to log (initialised by the caller). 0, or RS_EDB /
 * RS_EUNAVAIL with PostgreSQL's message, or RS_ECORRUPT for a row that does not parse. */
int tr_snapshot_events(PGconn *conn, tr_event_log *log, tr_snapshot_info *info, tr_error *err);

#endif
