/* feat_cache: each active user's recent history in memory, bounded in users (LRU) and in
 * events per user. Loaded from PostgreSQL on first sight (feat_cache_put) and kept current
 * by the event stream (feat_cache_apply). Thread-safe: one mutex; every call is O(history).
 *
 * Consistency: an entry carries the subscriber epoch it was loaded under; a lookup with a
 * different epoch misses, so a reconnect of the event stream (which may have lost events)
 * invalidates everything at once. Events applied during a load are kept in a small ring and
 * merged into the entry when the load lands (de-duplicated by event id). */
#ifndef FEAT_CACHE_H
#define FEAT_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct feat_event {
	int64_t item_id;
	int64_t ts_ms;
	double value;
	uint64_t id_hash; /* feat_event_id_hash(event_id); 0 = unknown (never de-duplicated) */
	int32_t type;     /* rs.EventType number */
} feat_event;

typedef struct feat_cache feat_cache;

/* feat_cache_create: room for max_users users of at most max_events events each.
 * Returns 0 and *out, RS_EINVAL (a bound is 0), RS_ENOMEM. */
int feat_cache_create(feat_cache **out, size_t max_users, uint32_t max_events);

/* feat_cache_destroy: free everything. NULL is a no-op. */
void feat_cache_destroy(feat_cache *c);

/* feat_cache_get: copy the newest min(max_n, cached) events of user into out (newest first).
 * Hits only an entry loaded under `epoch`, younger than ttl_ms (ttl_ms <= 0: no limit) and
 * holding the newest max_n events (its load asked for at least max_n, or got all there were).
 * Returns 0 (and *n, *total, *known, and *gen when gen is not NULL: the generation of this
 * state of the history, for feat_cache_emb_*) or RS_ENOTFOUND. */
int feat_cache_get(feat_cache *c, int64_t user_id, uint64_t epoch, int ttl_ms, uint32_t max_n,
                   feat_event *out, uint32_t *n, uint64_t *total, int *known, uint64_t *gen);

/* feat_cache_put: store what PostgreSQL returned for user (ev newest first, n events, of
 * `total` stored, for a load of at most `limit` events: n < limit or n == total means all of
 * them), replacing any older entry, then merge events of that user that arrived on the stream
 * meanwhile. The entry serves requests for up to min(limit, max_events) events, any number
 * when it holds all; the stream keeps that many newest events in it. Evicts the least recently used
 * user beyond max_users. Returns 0 or RS_ENOMEM (the cache is unchanged); *gen (when gen is not
 * NULL): the generation of the stored history when it is exactly ev (for feat_cache_emb_*), 0 when
 * stream events were merged into it. */
int feat_cache_put(feat_cache *c, int64_t user_id, uint64_t epoch, const feat_event *ev, uint32_t n,
                   uint64_t total, int known, uint32_t limit, uint64_t *gen);

/* feat_cache_apply: one event from the stream. Updates the user's entry if cached (ignores a
 * duplicate event id) and remembers it for loads in flight. Returns 1 if an entry changed. */
int feat_cache_apply(feat_cache *c, int64_t user_id, const feat_event *e);

/* The user's embedding memoized with the history it was folded from (fold.h costs ~0.1 ms of
 * CPU per request; a history changes far less often than it is read). */

/* feat_cache_emb_get: the embedding memoized for user's history of generation gen (from
 * feat_cache_get), folded from its newest n events with the version named `version` into f
 * floats: copies them into out (when *rv > 0) and returns 0 with *rv, what feat_fold_user
 * returned (the history items the version knew; 0: no embedding). RS_ENOTFOUND when the
 * history changed since, or for another version, n or f. */
int feat_cache_emb_get(feat_cache *c, int64_t user_id, uint64_t gen, const char *version,
                       uint32_t n, uint32_t f, float *out, int *rv);

/* feat_cache_emb_put: memoize feat_fold_user's result rv (and emb, f floats, when rv > 0) for
 * user's history of generation gen folded from its newest n events with `version`; nothing
 * when the history changed meanwhile (or the user left the cache). Returns 0 or RS_ENOMEM. */
int feat_cache_emb_put(feat_cache *c, int64_t user_id, uint64_t gen, const char *version,
                       uint32_t n, uint32_t f, const float *emb, int rv);

/* feat_cache_users: number of users cached. */
size_t feat_cache_users(feat_cache *c);

/* feat_event_id_hash: 64-bit FNV-1a of an event id; "" and NULL give 0. */
uint64_t feat_event_id_hash(const char *event_id);

#endif
