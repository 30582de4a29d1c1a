/* recommend: GET /v1/users/{id}/recommendations (feature -> candidate -> ranking under one
 * deadline, with fallbacks), GET /v1/items/{id}/similar, /v1/items/{id}/bought-together and
 * GET /v1/popular (?category=: a live candidate call restricted to a category path). */
#ifndef GW_RECOMMEND_H
#define GW_RECOMMEND_H

#include "req.h"

void gw_handle_recommend(gw_server *srv, gw_req *req);
void gw_handle_similar(gw_server *srv, gw_req *req);
/* GET /v1/items/{id}/bought-together: like similar, from the bought_together lists only. */
void gw_handle_bought_together(gw_server *srv, gw_req *req);
void gw_handle_popular(gw_server *srv, gw_req *req);

#endif
