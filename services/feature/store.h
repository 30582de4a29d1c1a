/* feat_store: the feature service's PostgreSQL access, a small pool of connections.
 *
 * Requests never wait longer than their deadline: queries are sent asynchronously and polled
 * with the time left; a connection whose query ran out of time is handed to
 * feat_store_maintain() to be reset, never reused mid-query. Broken connections are
 * reconnected by feat_store_maintain() (called from a background thread), never on the
 * request path, so a database that is down costs a request nothing but RS_EUNAVAIL. Reconnect
 * waits double from 100 ms up to 500 ms, with jitter; a request that finds no usable
 * connection makes the next maintenance pass try at once, whatever the wait. */
#ifndef FEAT_STORE_H
#define FEAT_STORE_H

#include <stdint.h>

#include "cache.h"

typedef struct feat_store feat_store;

/* feat_store_open: a pool of nconns connections to dsn, each with statement_timeout
 * stmt_timeout_ms. Connects once now; a database that is down is not an error (the pool
 * reconnects later). Returns 0 and *out, RS_EINVAL, RS_ENOMEM. */
int feat_store_open(feat_store **out, const char *dsn, int nconns, int stmt_timeout_ms);

/* feat_store_close: close every connection. Callers must have stopped using it. NULL: no-op. */
void feat_store_close(feat_store *s);

/* feat_store_load_user: the user's newest `limit` events (newest first) into out (room for
 * limit), the number of events stored for them and whether they are known (a users row or
 * any event). deadline_unix_ms bounds the wait (0: the pool's statement timeout).
 * Returns 0, RS_EUNAVAIL (no usable connection), RS_ETIMEDOUT, RS_EDB. */
int feat_store_load_user(feat_store *s, int64_t user_id, uint32_t limit, int64_t deadline_unix_ms,
                         feat_event *out, uint32_t *n, uint64_t *total, int *known);

/* feat_store_maintain: reconnect broken connections (with backoff, or at once when a request
 * found none usable) and ping an idle one now and then. Blocking; call it from one background
 * thread only, often (the feature service: every 50 ms; it returns at once when nothing is
 * due). */
void feat_store_maintain(feat_store *s);

/* feat_store_stats: the reconnect schedule so far (tests, logs): failed connect attempts,
 * attempts a request asked for before their wait was over, the last wait drawn and the cap. Read
 * it from the thread that calls feat_store_maintain. */
typedef struct feat_store_stat {
	unsigned long fails;
	unsigned long wakes;
	double last_wait_ms;
	double max_wait_ms;
} feat_store_stat;
void feat_store_stats(feat_store *s, feat_store_stat *out);

/* feat_store_ready: 1 when at least one connection is usable. */
int feat_store_ready(feat_store *s);

#endif
