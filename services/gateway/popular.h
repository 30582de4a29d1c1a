/* popular: the cached popular list, the fallback when the candidate service is down.
 *
 * The cache holds one packed CandidatesResponse. It is refreshed by a background thread
 * (a CandidatesRequest for user 0, "anonymous", every refresh_ms; every 250 ms while empty)
 * and also offered the live answers for users with no history. Readers get their own copy
 * unpacked into their arena, so the cache can be replaced at any time. The gateway's own
 * catalog writes patch it at once (gw_popular_catalog). */
#ifndef GW_POPULAR_H
#define GW_POPULAR_H

#include <stdint.h>

#include "candidate.pb-c.h"
#include "db.h"
#include "gateway.h"
#include "rs_arena.h"

/* gw_popular_create: an empty cache; with a client it also starts the refresher thread
 * (client may be NULL for tests). db (may be NULL) is asked, after every refresh that could not
 * reach the candidate service, which cached items were withdrawn meanwhile by any writer
 * (gw_popular_check_withdrawn), so the fallback never offers them. Returns 0, RS_ENOMEM. */
int gw_popular_create(gw_popular **out, rs_rpc_client *candidate, gw_db *db, int refresh_ms, int k,
                      int timeout_ms);

/* gw_popular_destroy: stop the refresher, free the cache. NULL is a no-op. */
void gw_popular_destroy(gw_popular *p);

/* gw_popular_store: replace the cache with a copy of resp. Returns 0, RS_ENOMEM. */
int gw_popular_store(gw_popular *p, const Rs__CandidatesResponse *resp);

/* gw_popular_offer: like store, but only when the cache is older than min_age_ms (live
 * answers arrive far more often than the list changes). */
void gw_popular_offer(gw_popular *p, const Rs__CandidatesResponse *resp, int min_age_ms);

/* gw_popular_offer_packed: gw_popular_offer for a packed CandidatesResponse (data, len; copied)
 * holding ncand candidates. */
void gw_popular_offer_packed(gw_popular *p, const uint8_t *data, size_t len, size_t ncand,
                             int min_age_ms);

/* gw_popular_load: the cached list, unpacked into arena (*out is arena memory) and its age.
 * Returns 0, RS_ENOTFOUND (never filled), RS_ENOMEM. */
int gw_popular_load(gw_popular *p, rs_arena *arena, Rs__CandidatesResponse **out, int64_t *age_ms);

/* One catalog change this gateway wrote (catalog.c): strings are copied. */
typedef struct gw_popular_patch {
	int64_t item_id;
	int available; /* 0: withdrawn, dropped from every list */
	const char *title;
	const char *category;
	double price; /* 0 = none */
} gw_popular_patch;

/* gw_popular_catalog: the cached list reflects the n changes now (withdrawn items leave it,
 * the others get the new title, category and price), and so does every list stored during
 * the next hold_ms (the candidate service may answer from before the change for a moment);
 * the refresher fetches a new list at once. Returns 0 or RS_ENOMEM (the cache is then left
 * to the next refresh). */
int gw_popular_catalog(gw_popular *p, const gw_popular_patch *c, size_t n, int hold_ms);

/* gw_popular_check_withdrawn: drop from the cached list the items PostgreSQL says are withdrawn
 * (items.available = false, by whoever wrote it), held like gw_popular_catalog's changes for one
 * refresh period. Returns how many were dropped (0 also when nothing is cached), or RS_EINVAL
 * (no database), RS_EUNAVAIL / RS_EDB, RS_ENOMEM. */
int gw_popular_check_withdrawn(gw_popular *p);

/* gw_popular_fetch: one CandidatesRequest for user 0 now; stores the answer on success.
 * Returns 0 or an RS_E* error (RS_EUNAVAIL, RS_ETIMEDOUT, RS_EPROTO...). */
int gw_popular_fetch(gw_popular *p, int timeout_ms, const char *request_id);

#endif
