/* load: interactions and event logs from CSV files into a tr_dataset or a tr_event_log (the
 * files `rs-train fit --train`, `split` and `describe` read). It sits above dataset (the
 * structure) and events (the weighting of an event log), which do not know about files. */
#ifndef TR_LOAD_H
#define TR_LOAD_H

#include "dataset.h"
#include "events.h"

/* tr_dataset_load: read a user,item[,timestamp] CSV with header. An empty file (header
 * only) is RS_EINVAL "no interactions". On error *ds is left zeroed. A CSV with a `type`
 * column (event names or rs.EventType numbers) and/or a `value` column (a rating; without
 * `type` every row is a rating) is an event log: its rows are weighted and aggregated as
 * events.h describes, with the default weights. */
int tr_dataset_load(const char *path, tr_dataset *ds, tr_error *err);

/* tr_dataset_load_w: the same with the weights for an event log (NULL = defaults); a plain
 * user,item[,timestamp] CSV ignores them. */
int tr_dataset_load_w(const char *path, const tr_weights *w, tr_dataset *ds, tr_error *err);

/* tr_event_log_read_csv: the rows of a CSV that `fit --train` reads (user,item[,timestamp][,type]
 * [,value]) appended to log as events, with the same parsing and file:line errors. Rows without
 * a type are ratings when the file has a value column, else type 0 (an untyped interaction).
 * *has_ts: the file has a timestamp column (else ts is the row number). */
int tr_event_log_read_csv(const char *path, tr_event_log *log, int *has_ts, tr_error *err);

#endif
