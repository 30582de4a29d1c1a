/* recommend: GET /v1/users/{id}/recommendations (feature -> candidate -> ranking under one
 * deadline, with fallbacks), GET /v1/items/{id}/similar and GET /v1/popular. */
#ifndef GW_RECOMMEND_H
#define GW_RECOMMEND_H

#include "req.h"

void gw_handle_recommend(gw_server *srv, gw_req *req);
void gw_handle_similar(gw_server *srv, gw_req *req);
void gw_handle_popular(gw_server *srv, gw_req *req);

#endif
