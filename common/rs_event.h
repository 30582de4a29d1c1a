/* rs_event: the event types of proto/event.proto (rs.EventType, the column events.type) and
 * what one event says about a customer's interest in an item. rs-train weighs its training
 * interactions with these weights and rs-candidate / rs-ranking rebuild a customer's items the
 * same way from the version's manifest (common/rs_ranksrc), so the three read one definition.
 *
 * Each event contributes a signed amount to its (user, item) pair (rs_event_amount):
 *   view +w_view, click +w_click, add_to_cart +w_add_to_cart, purchase +w_purchase,
 *   rating v: v >= rating_low: +w_rating * (v - rating_low + 1)   (3 -> 1x, 4 -> 2x, 5 -> 3x)
 *             v <  rating_low: -w_rating * (rating_low - v)        (2 -> -1x, 1 -> -2x)
 *             no value: +w_rating
 *   not_interested -w_not_interested
 * add_to_cart, purchase and a good rating override an earlier negative. Defaults
 * (rs_event_weights_defaults): view 1, click 2, add_to_cart 4, purchase 8, rating 2 (per star),
 * not_interested 8, rating_low 3 (a 1-5 scale: 1 and 2 stars are negatives). */
#ifndef RS_EVENT_H
#define RS_EVENT_H

#include <stddef.h>

#include "event.pb-c.h"

/* rs.EventType numbers run 1..RS_EVENT_NTYPES-1 (0 is EVENT_UNSPECIFIED). */
#define RS_EVENT_NTYPES 7

typedef struct rs_event_weights {
	double w[RS_EVENT_NTYPES]; /* by rs.EventType number; w[0] unused */
	double rating_low;         /* ratings below this are negatives */
} rs_event_weights;

/* rs_event_type_name: "view" .. "not_interested"; "" for a number outside 1..6. */
const char *rs_event_type_name(int type);

/* rs_event_type_parse: a name ("view" .. "not_interested", any case; also "cart",
 * "add-to-cart", "addtocart", "not-interested") or a number "1".."6"; -1 if neither. */
int rs_event_type_parse(const char *s);

void rs_event_weights_defaults(rs_event_weights *w);

/* rs_event_weights_parse: "view=1,click=2,add_to_cart=4,purchase=8,rating=2,not_interested=8,
 * rating_low=3" (any subset, applied on top of *w; spaces before a name allowed). Each weight
 * must be a number in [0, 1e6]. 0, or RS_EINVAL with the bad entry named in err. */
int rs_event_weights_parse(const char *spec, rs_event_weights *w, char *err, size_t errn);

/* rs_event_weights_format: the full spec of w (rs_event_weights_parse reads it back). */
void rs_event_weights_format(const rs_event_weights *w, char *buf, size_t n);

/* rs_event_seed_weight: what one event of `type` says about interest where the services pick
 * a customer's recent items without a version's weights (rs-candidate's retrieval seeds,
 * rs-ranking's history features): the default weight of a view, click, add_to_cart or
 * purchase (1, 2, 4, 8); 0 for the other types. */
float rs_event_seed_weight(int type);

/* rs_event_amount: the signed amount of one event of `type` with `value` (NAN: none);
 * *override = 1 for an event that wins over an earlier negative. 0 for an unknown type. */
double rs_event_amount(const rs_event_weights *w, int type, double value, int *override);

#endif
