/* ratelimit: failed attempts per key (a login, a client address) in a fixed window.
 *
 * A key's window opens at its first failure and lasts window_ms; once it holds `limit`
 * failures the key is blocked until the window ends (gw_ratelimit_blocked_s says for how many
 * seconds: the Retry-After value). A success may clear a key. Keys are kept as a keyed BLAKE2b
 * hash (16 bytes, random key per table), never as text. Memory is fixed at create time:
 * `capacity` entries; a new key in a full table takes the place of an entry whose window is over,
 * else of the one whose window opened first (so a flood of distinct keys can push old entries
 * out: the per-client limit is what bounds one client's flood). Every call scans the table
 * (O(capacity), a few µs at 4096 entries: meant for the login route, whose password check costs
 * far more). Thread-safe (one mutex). */
#ifndef GW_RATELIMIT_H
#define GW_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_ratelimit gw_ratelimit;

/* gw_ratelimit_create: a table of capacity (>= 1) entries; limit (>= 1) failures per window_ms
 * (>= 1000). Returns 0, RS_EINVAL or RS_ENOMEM. */
int gw_ratelimit_create(gw_ratelimit **out, size_t capacity, int limit, int64_t window_ms);

/* gw_ratelimit_destroy: free. NULL is a no-op. */
void gw_ratelimit_destroy(gw_ratelimit *rl);

/* gw_ratelimit_blocked_s: 0 when key may try at now_ms, else the whole seconds (>= 1, rounded
 * up) until its window ends. */
int gw_ratelimit_blocked_s(gw_ratelimit *rl, const char *key, int64_t now_ms);

/* gw_ratelimit_fail: count one failure of key at now_ms. */
void gw_ratelimit_fail(gw_ratelimit *rl, const char *key, int64_t now_ms);

/* gw_ratelimit_clear: forget key's failures. */
void gw_ratelimit_clear(gw_ratelimit *rl, const char *key);

/* gw_ratelimit_used: entries in use (never more than the capacity). */
size_t gw_ratelimit_used(gw_ratelimit *rl);

#endif
