/* impressions: what a list showed, one `impressions` row per list, stored off the request path.
 *
 * Two producers share one bounded queue (RS_GATEWAY_IMPRESSIONS_QUEUE items) and its writer
 * thread, which has its own PostgreSQL connection, takes everything queued and COPYs it into
 * `impressions` (db/migrations/0007_impression_lists.sql) in one statement per batch (after the
 * first list of a batch it lets the lists of the next 100 ms gather, so at load one COPY and
 * commit carries many lists; gw_impressions_flush does not wait for that):
 *   - gw_impressions_record: the gateway's own record of every recommendation list it serves
 *     (recommend.c; surface GW_IMPRESSIONS_SERVED_SURFACE). Nothing on the request path waits
 *     for PostgreSQL; a full queue drops the list and counts it
 *     (rs_gateway_served_lists_total{result="dropped"}), the answer is never held up.
 *   - POST /v1/impressions: the lists a client draws that the gateway does not serve as
 *     recommendations (catalog pages, similar items, popular, ...). A full queue answers 503
 *     `overloaded` and keeps nothing.
 * Memory never grows without bound, also while PostgreSQL is down (the writer then retries
 * every second, keeping the queued lists). Closing flushes what is queued (one connection
 * attempt when there is none; what cannot be written then is dropped and counted).
 *
 * Body: {"rec_id": string (1..128 printable ASCII), "user_id": int >= 1, "model_version"?,
 * "variant"? (<= 128 printable ASCII), "surface"? (1..64 of [a-z0-9_-]), "items":
 * [{"item_id": int >= 1, "position": int >= 1}] (1..100, consecutive positions in list order:
 * items[i].position = items[0].position + i)} -> 202 {"accepted": n items}. A recommendation
 * list is the gateway's to record, never a client's: a body with "experiment" (only
 * recommendation answers have one) or with surface GW_IMPRESSIONS_SERVED_SURFACE is answered
 * 409 `recorded_by_gateway` and nothing is stored, so no list counts twice. Access
 * GW_ACCESS_EVENTS: a customer session may send only its own user_id (403 forbidden). */
#ifndef GW_IMPRESSIONS_H
#define GW_IMPRESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "req.h"

#define GW_IMPRESSIONS_MAX            100               /* items per list */
#define GW_IMPRESSIONS_QUEUE_DEFAULT  50000             /* RS_GATEWAY_IMPRESSIONS_QUEUE's default */
#define GW_IMPRESSIONS_SERVED_SURFACE "recommendations" /* the served lists' surface */

typedef struct gw_impressions gw_impressions;

/* gw_impressions_open: the queue (at most max_rows rows; 0 = the default) and its writer
 * thread for dsn (connected on first need). Returns 0, RS_EINVAL, RS_ENOMEM. */
int gw_impressions_open(gw_impressions **out, const char *dsn, int max_rows);

/* gw_impressions_close: write what is queued (bounded: see above), stop the thread, free.
 * NULL is a no-op. */
void gw_impressions_close(gw_impressions *im);

/* gw_impressions_flush: wait until everything queued before the call is written or dropped, at
 * most timeout_ms. Returns 0 or RS_ETIMEDOUT. (Tests and benchmarks.) */
int gw_impressions_flush(gw_impressions *im, int timeout_ms);

/* One recommendation list as the gateway served it. Strings may be NULL (= none). */
typedef struct gw_served_list {
	const char *l_rec_id; /* the answer's rec_id (required) */
	int64_t l_user_id;
	int64_t l_experiment; /* 0 = outside experiments */
	const char *l_variant;
	const char *l_model_version;
	int l_degraded;         /* the answer said degraded=true */
	const int64_t *l_items; /* in served order */
	size_t l_n;             /* 1..GW_IMPRESSIONS_MAX (more are cut) */
	int64_t l_ts_ms;        /* 0 = now */
} gw_served_list;

/* gw_impressions_record: queue the impression of a served list (copied; one allocation, one
 * mutex, no I/O). Returns 0, RS_EINVAL (no rec_id or items), RS_ENOMEM, or RS_EBUSY when
 * the queue is full or closing: the list is dropped and counted. */
int gw_impressions_record(gw_impressions *im, const gw_served_list *l);

/* POST /v1/impressions */
void gw_handle_impressions(gw_server *srv, gw_req *req);

#endif
