#include "validate.h"

#include <math.h>
#include <string.h>

/* Ids and attribution strings: printable ASCII only, so they need no escaping anywhere
 * (logs, COPY, JSON) beyond the backslash. */
static int
validate_token(const char *s, int allow_space)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *) s; *p; p++, n++) {
		if (n >= ING_ID_MAX_LEN)
			return 0;
		if (*p > 0x7e || *p < (allow_space ? 0x20 : 0x21))
			return 0;
	}
	return 1;
}

const char *
ing_validate_event(const Rs__Event *ev, int64_t now_ms)
{
	if (ev->type < RS__EVENT_TYPE__EVENT_VIEW ||
	    ev->type > RS__EVENT_TYPE__EVENT_NOT_INTERESTED)
		return "unknown event type (want 1 view, 2 click, 3 add_to_cart, 4 purchase, 5 "
		       "rating, 6 not_interested)";
	if (ev->user_id <= 0)
		return "user_id missing or not positive";
	if (ev->item_id <= 0)
		return "item_id missing or not positive";
	if (ev->event_id != NULL && !validate_token(ev->event_id, 0))
		return "event_id longer than 128 characters or not printable ascii";
	if (ev->rec_id != NULL && !validate_token(ev->rec_id, 1))
		return "rec_id longer than 128 characters or not printable ascii";
	if (ev->variant != NULL && !validate_token(ev->variant, 1))
		return "variant longer than 128 characters or not printable ascii";
	if (ev->ts_ms != 0 && ev->ts_ms < ING_MIN_TS_MS)
		return "ts before 2000-01-01";
	if (ev->ts_ms > now_ms + ING_MAX_FUTURE_MS)
		return "ts more than 5 minutes in the future";
	if (!isfinite(ev->value))
		return "value is not a finite number";
	if (ev->type == RS__EVENT_TYPE__EVENT_RATING &&
	    (!ev->has_value || ev->value < ING_RATING_MIN || ev->value > ING_RATING_MAX))
		return "rating needs a value in [0, 10]";
	if (!isfinite(ev->price) || ev->price < 0 || ev->price > ING_PRICE_MAX)
		return "price out of range [0, 9999999999.99]";
	if (ev->position < 0)
		return "position must not be negative (0 = none)";
	return NULL;
}
