/* catalog: the shop's catalog routes, on the gateway's PostgreSQL pool (db.h).
 *
 *   GET    /v1/items?q=&category=&page=&per_page=&sort=&include_unavailable=   (PUBLIC)
 *   GET    /v1/items/{id}                                                     (PUBLIC)
 *   GET    /v1/categories                                                     (PUBLIC)
 *   PUT    /v1/items/{id}          one ItemWrite -> {"item", "created"}       (WRITER)
 *   POST   /v1/items               {"items": [ItemWrite + item_id]} (1..1000), all or nothing
 *   DELETE /v1/items/{id}          withdrawal: available = false, the row stays
 *
 * Every body is checked completely before anything is written: a 400 names the field (and the
 * element of a batch) and leaves the catalog as it was; a batch is one statement. After its own
 * write the gateway patches its cached popular list (popular.h: withdrawn items leave it at
 * once, prices and titles change) and asks for a fresh one; PostgreSQL notifies channel
 * `catalog` on commit (db/migrations/0005_catalog.sql), which rs-candidate applies to its
 * snapshot. Shapes: docs/openapi.yaml (CatalogItem, ItemWrite). */
#ifndef GW_CATALOG_H
#define GW_CATALOG_H

#include <stddef.h>

#include <jansson.h>

#include "req.h"

#define GW_ITEM_TEXT_MAX   300   /* characters of title, category, brand */
#define GW_ITEM_ATTRS_MAX  16384 /* bytes of attributes, compact JSON */
#define GW_ITEMS_BATCH_MAX 1000
#define GW_ITEMS_PAGE_MAX  100

void gw_handle_items_list(gw_server *srv, gw_req *req);
void gw_handle_item_get(gw_server *srv, gw_req *req);
void gw_handle_item_put(gw_server *srv, gw_req *req);
void gw_handle_items_post(gw_server *srv, gw_req *req);
void gw_handle_item_delete(gw_server *srv, gw_req *req);
void gw_handle_categories(gw_server *srv, gw_req *req);

/* gw_item_check: validate one ItemWrite object o (id: the item id from the path, or 0 when
 * o must carry its own "item_id", as in a batch). On success *norm is a new object with every
 * field present and normalised ({"item_id", "title", "category", "brand", "price" (number or
 * null), "available", "attributes"}); on failure msg names the field, prefixed with where
 * (e.g. "items[3]."). Returns 0 or -1. Exposed for tests. */
int gw_item_check(json_t *o, int64_t id, const char *where, json_t **norm, char *msg, size_t msgn);

#endif
