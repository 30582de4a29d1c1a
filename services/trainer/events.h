/* events: typed events (view, click, add_to_cart, purchase, rating, not_interested) ->
 * weighted implicit interactions plus explicit negatives (a tr_dataset).
 *
 * Each event contributes a signed amount to its (user, item) pair (common/rs_event.h, shared
 * with the services that rebuild a customer's items the same way). A pair is an explicit
 * negative (strength = the sum of its negative amounts) when it has a negative event that no
 * later add_to_cart, purchase or good rating overrides; otherwise it is a positive with
 * confidence weight = the sum of its positive amounts (pairs that sum to 0 are dropped). Its
 * time is its first event's. */
#ifndef TR_EVENTS_H
#define TR_EVENTS_H

#include <stdint.h>

#include "dataset.h"
#include "rs_event.h"

/* rs-train's weights are rs_event's (rs_event_weights_defaults, _format, rs_event_type_parse). */
typedef rs_event_weights tr_weights;

/* tr_weights_parse: rs_event_weights_parse with the error in err (RS_EINVAL naming the bad
 * entry). */
int tr_weights_parse(const char *spec, tr_weights *w, tr_error *err);

/* An event log being collected: ids interned as they come. */
typedef struct tr_event_log {
	tr_ids *users, *items; /* owned until tr_events_build */
	int32_t *u, *i;
	int8_t *type;
	double *value; /* NAN when absent */
	double *ts;
	int64_t n, cap;
} tr_event_log;

void tr_event_log_init(tr_event_log *log);
void tr_event_log_push(tr_event_log *log, const char *user, size_t ulen, const char *item,
                       size_t ilen, int type, double value, double ts);
void tr_event_log_fini(tr_event_log *log);

/* tr_events_build: aggregate the log into *ds (ownership of the id tables moves to ds; the
 * log keeps nothing and may only be finished). No resulting positive is RS_EINVAL "no
 * interactions". */
int tr_events_build(tr_event_log *log, const tr_weights *w, tr_dataset *ds, tr_error *err);

#endif
