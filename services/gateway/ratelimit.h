/* ratelimit: per-key limits in fixed memory: failed attempts in a fixed window (logins), and
 * token buckets (request rates per client, account or API key).
 *
 * Window mode (gw_ratelimit_create): a key's window opens at its first failure and lasts
 * window_ms; once it holds `limit` failures the key is blocked until the window ends
 * (gw_ratelimit_blocked_s says for how many seconds: the Retry-After value). A success may clear
 * a key.
 *
 * Bucket mode (gw_ratelimit_create_bucket): a key's bucket holds up to `burst` tokens and gains
 * `rate` tokens every `per_ms` (continuously); each request takes one (gw_ratelimit_take), and
 * an empty bucket says how many seconds until the next token (the Retry-After value). A key not
 * seen yet starts full, so a forgotten bucket is one that had refilled anyway.
 *
 * Keys are kept as a keyed BLAKE2b hash (16 bytes, random key per table), never as text. Memory
 * is fixed at create time: `capacity` entries. A key lives in a neighbourhood of at most
 * RL_PROBE (64) slots starting at its hash, so every call costs O(1) (one hash, a short scan); a
 * new key in a full neighbourhood takes the place of an entry that is over (window ended,
 * bucket full again), else of the one opened (window) or used (bucket) longest ago. So a flood
 * of distinct keys can push old entries out: the per-client limit is what bounds one client's
 * flood. Thread-safe (one mutex). */
#ifndef GW_RATELIMIT_H
#define GW_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_ratelimit gw_ratelimit;

/* gw_ratelimit_create: a window-mode table of capacity (>= 1) entries; limit (>= 1) failures
 * per window_ms (>= 1000). Returns 0, RS_EINVAL or RS_ENOMEM. */
int gw_ratelimit_create(gw_ratelimit **out, size_t capacity, int limit, int64_t window_ms);

/* gw_ratelimit_create_bucket: a bucket-mode table of capacity (>= 1) entries: rate (>= 1)
 * tokens every per_ms (>= 1) ms, at most burst (>= 1) held. Returns 0, RS_EINVAL or
 * RS_ENOMEM. */
int gw_ratelimit_create_bucket(gw_ratelimit **out, size_t capacity, int rate, int64_t per_ms,
                               int burst);

/* gw_ratelimit_destroy: free. NULL is a no-op. */
void gw_ratelimit_destroy(gw_ratelimit *rl);

/* gw_ratelimit_blocked_s (window mode): 0 when key may try at now_ms, else the whole seconds
 * (>= 1, rounded up) until its window ends. */
int gw_ratelimit_blocked_s(gw_ratelimit *rl, const char *key, int64_t now_ms);

/* gw_ratelimit_fail (window mode): count one failure of key at now_ms. */
void gw_ratelimit_fail(gw_ratelimit *rl, const char *key, int64_t now_ms);

/* gw_ratelimit_take (bucket mode): take one token from key's bucket at now_ms. 0: taken (the
 * request may go on); else the whole seconds (>= 1, rounded up) until the bucket holds one. */
int gw_ratelimit_take(gw_ratelimit *rl, const char *key, int64_t now_ms);

/* gw_ratelimit_clear: forget key's failures (or bucket). */
void gw_ratelimit_clear(gw_ratelimit *rl, const char *key);

/* gw_ratelimit_used: entries in use (never more than the capacity). */
size_t gw_ratelimit_used(gw_ratelimit *rl);

#endif
