/* validate: the per-event rules of rs-ingest (see README.md "Validation"). */
#ifndef ING_VALIDATE_H
#define ING_VALIDATE_H

#include <stdint.h>

#include "event.pb-c.h"

#define ING_ID_MAX_LEN    128
#define ING_MIN_TS_MS     946684800000LL /* 2000-01-01T00:00:00Z */
#define ING_MAX_FUTURE_MS (5 * 60 * 1000)
#define ING_RATING_MIN    0.0
#define ING_RATING_MAX    10.0
#define ING_PRICE_MAX     9999999999.99

/* ing_validate_event: NULL if ev is acceptable as-is (after ing_normalize_event), else a static
 * reason ("unknown type 9", ...) for the rejection list. now_ms is the current unix time. */
const char *ing_validate_event(const Rs__Event *ev, int64_t now_ms);

#endif
