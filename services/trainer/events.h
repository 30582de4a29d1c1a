/* events: typed events (view, click, add_to_cart, purchase, rating, not_interested) ->
 * weighted implicit interactions plus explicit negatives (a tr_dataset).
 *
 * Each event contributes a signed amount to its (user, item) pair:
 *   view +w_view, click +w_click, add_to_cart +w_add_to_cart, purchase +w_purchase,
 *   rating v: v >= rating_low: +w_rating * (v - rating_low + 1)   (3 -> 1x, 4 -> 2x, 5 -> 3x)
 *             v <  rating_low: -w_rating * (rating_low - v)        (2 -> -1x, 1 -> -2x)
 *   not_interested -w_not_interested
 * A pair is an explicit negative (strength = the sum of its negative amounts) when it has a
 * negative event that no later add_to_cart, purchase or good rating overrides; otherwise it
 * is a positive with confidence weight = the sum of its positive amounts (pairs that sum to
 * 0 are dropped). Its time is its first event's. Defaults (tr_weights_defaults): view 1,
 * click 2, add_to_cart 4, purchase 8, rating 2 (per star), not_interested 8, rating_low 3
 * (a 1-5 scale: 1 and 2 stars are negatives). */
#ifndef TR_EVENTS_H
#define TR_EVENTS_H

#include <stdint.h>

#include "dataset.h"

/* rs.EventType numbers (proto/event.proto, column events.type) */
enum {
	TR_EV_VIEW = 1,
	TR_EV_CLICK = 2,
	TR_EV_ADD_TO_CART = 3,
	TR_EV_PURCHASE = 4,
	TR_EV_RATING = 5,
	TR_EV_NOT_INTERESTED = 6,
	TR_EV_NTYPES = 7
};

typedef struct tr_weights {
	double w[TR_EV_NTYPES]; /* by type number; w[0] unused */
	double rating_low;      /* ratings below this are negatives */
} tr_weights;

void tr_weights_defaults(tr_weights *w);

/* tr_weights_parse: "view=1,click=2,add_to_cart=4,purchase=8,rating=2,not_interested=8,
 * rating_low=3" (any subset, on top of *w). Weights must be >= 0. RS_EINVAL naming the bad
 * entry. */
int tr_weights_parse(const char *spec, tr_weights *w, tr_error *err);

/* tr_weights_format: the full spec of w (parseable by tr_weights_parse) into buf. */
void tr_weights_format(const tr_weights *w, char *buf, size_t n);

/* tr_event_type_parse: "view".."not_interested" (also "cart", "add-to-cart") or "1".."6";
 * -1 if unknown. */
int tr_event_type_parse(const char *s);

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
