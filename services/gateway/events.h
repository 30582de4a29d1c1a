/* events: POST /v1/events. JSON (one event object, or {"events": [...]}) -> rs.EventBatch ->
 * ingest (METHOD_EVENT_BATCH) -> 202 {"accepted", "duplicates", "rejected": [{"index",
 * "reason"}]}.
 *
 * Whole-body failures are 400 (malformed JSON with line/column, wrong top-level shape, an
 * empty batch, or a single-event body whose event is invalid) or 413 (more than
 * GW_EVENTS_MAX events). In a batch, an event with a missing/mistyped field or an unknown
 * type is rejected on its own and the rest are sent on. */
#ifndef GW_EVENTS_H
#define GW_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "event.pb-c.h"
#include "req.h"
#include "rs_arena.h"

#define GW_EVENTS_MAX    1000
#define GW_EVENT_STR_MAX 128

typedef struct gw_event_reject {
	uint32_t index; /* position in the request body */
	const char *reason;
} gw_event_reject;

typedef struct gw_events {
	Rs__Event **e_events; /* the valid events, arena memory (strings too) */
	size_t e_n;
	uint32_t *e_index;           /* e_index[i]: body position of e_events[i] */
	size_t e_total;              /* events in the body */
	gw_event_reject *e_rejected; /* arena, room for ingest's rejections of e_events too */
	size_t e_nrejected;
	size_t e_rejected_cap;
	int e_single; /* the body was one event object */
} gw_events;

/* gw_events_parse: parse and validate body into out (all in arena a, nothing else to free).
 * Returns 0, or the HTTP status for a body that is unusable as a whole (400, 413; 500 when
 * out of memory) with *code and msg set. Implemented in events_parse.c. */
int gw_events_parse(const char *body, size_t len, rs_arena *a, gw_events *out, const char **code,
                    char *msg, size_t msgn);

/* POST /v1/events */
void gw_handle_events(gw_server *srv, gw_req *req);

#endif
