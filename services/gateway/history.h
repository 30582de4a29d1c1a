/* history: GET /v1/users/{id}/history?limit= - the customer's recent events, newest first,
 * from rs-feature (UserFeaturesRequest, the active version; the same history recommendations
 * are computed from), each with the item's title, category and price from the catalog (one
 * query through the gateway's PostgreSQL pool). Access USER (auth.c decides before the
 * handler runs). */
#ifndef GW_HISTORY_H
#define GW_HISTORY_H

#include "req.h"

#define GW_HISTORY_DEFAULT 50
#define GW_HISTORY_MAX     200 /* rs-feature keeps at most RS_FEATURE_HISTORY_CAP (200) */

void gw_handle_history(gw_server *srv, gw_req *req);

#endif
