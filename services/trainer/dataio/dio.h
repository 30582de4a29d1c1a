/* dio: internals of trainer_dataio: a deterministic RNG and the sink that loads catalog rows,
 * users and events into PostgreSQL (COPY, idempotent) and/or CSV files. Files are read with
 * csvr.h. */
#ifndef DIO_H
#define DIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- RNG: xoshiro256** seeded by splitmix64; same seed, same stream on every machine ---- */
typedef struct dio_rng {
	uint64_t s[4];
} dio_rng;

void dio_rng_seed(dio_rng *r, uint64_t seed);
uint64_t dio_rng_next(dio_rng *r);
double dio_rng_unif(dio_rng *r);                /* [0, 1) */
double dio_rng_normal(dio_rng *r);              /* N(0, 1) */
uint32_t dio_rng_below(dio_rng *r, uint32_t n); /* [0, n), n > 0 */
/* dio_rng_pick: index drawn with probability w[i] / sum(w) (cum = prefix sums, len n). */
size_t dio_rng_pick_cum(dio_rng *r, const double *cum, size_t n);

/* ---- the sink ---- */
typedef struct dio_item {
	int64_t id;
	const char *external_id; /* NULL = none */
	const char *title;
	const char *category;
	const char *brand;
	double price; /* < 0 = unknown */
	int in_stock;
	const char *attributes; /* JSON object text, NULL = {} */
} dio_item;

typedef struct dio_user {
	int64_t id;
	const char *external_id;
	const char *display_name;
} dio_user;

typedef struct dio_event {
	const char *event_id;
	int64_t user_id, item_id;
	int type; /* rs.EventType number */
	int has_value;
	double value;
	double price; /* <= 0 = unknown */
	int64_t ts_ms;
} dio_event;

typedef struct dio_stats {
	uint64_t items, users;       /* rows offered */
	uint64_t events, events_new; /* offered / newly stored (PostgreSQL) */
	uint64_t events_dup;         /* already stored (PostgreSQL) */
} dio_stats;

typedef struct dio_sink dio_sink;

/* dio_sink_open: dsn (NULL = no database) and/or outdir (NULL = no CSV; created if missing).
 * truncate: empty items/users/events/event_ids first (one transaction with the load of the first
 * chunk is not attempted; it happens at open). Returns 0 or RS_EUNAVAIL / RS_EIO / RS_ENOMEM
 * with a message in err. */
int dio_sink_open(dio_sink **out, const char *dsn, const char *outdir, int truncate, char *err,
                  size_t errn);
/* Rows are buffered and flushed in chunks (each chunk one transaction: COPY into a temp table,
 * then insert ... on conflict do nothing, so re-running a load stores nothing twice). Event
 * chunks also create missing users (customers) and placeholder items. 0 or RS_E* (err set). */
int dio_sink_item(dio_sink *s, const dio_item *it);
int dio_sink_user(dio_sink *s, const dio_user *u);
int dio_sink_event(dio_sink *s, const dio_event *e);
/* dio_sink_open_fn: a sink that hands every catalog row and event to callbacks instead of a
 * database or files (users are counted only), e.g. for `rs-train describe`. A callback's non-zero
 * return stops the load and is returned by the dio_sink_* call. */
typedef struct dio_sink_fns {
	int (*item)(void *ctx, const dio_item *it);
	int (*event)(void *ctx, const dio_event *e);
	void *ctx;
} dio_sink_fns;
int dio_sink_open_fn(dio_sink **out, const dio_sink_fns *fns);
/* dio_sink_close: flush everything, fill *st (may be NULL), free. Returns the first error. */
int dio_sink_close(dio_sink *s, dio_stats *st, char *err, size_t errn);

/* Parses "123" as a positive int64; 0 on success, -1 otherwise. */
int dio_parse_id(const char *s, int64_t *out);

#endif
