/* impressions: POST /v1/impressions, what a list showed, stored off the request path.
 *
 * The handler validates the body and puts it on a bounded queue (RS_GATEWAY_IMPRESSIONS_QUEUE
 * rows); a writer thread with its own PostgreSQL connection takes everything queued and COPYs
 * it into `impressions` in one statement per batch. A full queue answers 503 `overloaded` and
 * keeps nothing: memory never grows without bound, also while PostgreSQL is down (the writer
 * then retries every second, keeping the queued rows). Closing flushes what is queued (one
 * connection attempt when there is none; what cannot be written then is dropped and counted).
 *
 * Body: {"rec_id": string (1..128 printable ASCII), "user_id": int >= 1, "model_version"?,
 * "variant"? (<= 128 printable ASCII), "experiment"? (int >= 1: the recommendation answer's
 * experiment, stored as impressions.experiment_id), "surface"? (1..64 of [a-z0-9_-]), "items":
 * [{"item_id": int >= 1, "position": int >= 1}] (1..100)} -> 202 {"accepted": n}. Access
 * GW_ACCESS_EVENTS: a customer session may send only its own user_id (403 forbidden). */
#ifndef GW_IMPRESSIONS_H
#define GW_IMPRESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "req.h"

#define GW_IMPRESSIONS_MAX           100   /* items per request */
#define GW_IMPRESSIONS_QUEUE_DEFAULT 50000 /* RS_GATEWAY_IMPRESSIONS_QUEUE's default */

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

/* POST /v1/impressions */
void gw_handle_impressions(gw_server *srv, gw_req *req);

#endif
