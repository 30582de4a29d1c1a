/* authstore: the credentials the gateway checks without asking PostgreSQL on the request path:
 * the SHA-256 hashes of the API keys that are not revoked (table api_keys) and the ids of the
 * sessions logged out before their expiry (table sessions_revoked).
 *
 * Both sets live in memory as sorted arrays behind one read-write lock; a lookup is a binary
 * search under the read lock. A background thread reloads both from PostgreSQL every period
 * (RS_GATEWAY_AUTH_REFRESH_MS), so a key created or revoked with `rs-gateway apikey`, or a
 * logout on another gateway, takes effect here within one period. A failed reload keeps the
 * last sets (logged once, on change). Sessions this process revokes (gw_authstore_revoke) are
 * refused at once and stay refused until they expire even if the database never learns of them
 * (at most GW_AUTHSTORE_LOCAL_MAX such entries; past that the one expiring first is dropped). */
#ifndef GW_AUTHSTORE_H
#define GW_AUTHSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "session.h"

#define GW_APIKEY_HASHBYTES    32 /* SHA-256 */
#define GW_APIKEY_NAME_MAX     64
#define GW_AUTHSTORE_LOCAL_MAX 65536

typedef struct gw_apikey {
	unsigned char k_hash[GW_APIKEY_HASHBYTES];
	char k_name[GW_APIKEY_NAME_MAX]; /* for logs (truncated) */
} gw_apikey;

typedef struct gw_revoked {
	unsigned char r_id[GW_SESSION_IDBYTES];
	int64_t r_expires_ms;
} gw_revoked;

typedef struct gw_authstore gw_authstore;

/* gw_authstore_create: empty sets. Returns 0 or RS_ENOMEM. */
int gw_authstore_create(gw_authstore **out);

/* gw_authstore_destroy: stop the refresher (if started), free. NULL is a no-op. */
void gw_authstore_destroy(gw_authstore *st);

/* gw_authstore_key_find: 1 when hash is a live API key (its name copied into name, n bytes),
 * else 0. Never blocks on the database. */
int gw_authstore_key_find(gw_authstore *st, const unsigned char hash[GW_APIKEY_HASHBYTES],
                          char *name, size_t n);

/* gw_authstore_is_revoked: 1 when session id was logged out, else 0. */
int gw_authstore_is_revoked(gw_authstore *st, const unsigned char id[GW_SESSION_IDBYTES]);

/* gw_authstore_keys_replace: the API key set becomes keys[0..n) (copied). 0 or RS_ENOMEM (the
 * old set stays). */
int gw_authstore_keys_replace(gw_authstore *st, const gw_apikey *keys, size_t n);

/* gw_authstore_revoked_replace: the revoked set becomes rows[0..n) plus this process's own
 * revocations that have not expired at now_ms (copied). 0 or RS_ENOMEM (the old set stays). */
int gw_authstore_revoked_replace(gw_authstore *st, const gw_revoked *rows, size_t n,
                                 int64_t now_ms);

/* gw_authstore_revoke: refuse session id from now until expires_ms (this process). 0 or
 * RS_ENOMEM. */
int gw_authstore_revoke(gw_authstore *st, const unsigned char id[GW_SESSION_IDBYTES],
                        int64_t expires_ms);

/* gw_authstore_load: one reload of both sets from db. 0, or RS_EUNAVAIL / RS_EDB (the sets
 * are unchanged). */
int gw_authstore_load(gw_authstore *st, gw_db *db);

/* gw_authstore_start: reload from db every period_ms in a background thread (the first reload
 * after one period: call gw_authstore_load first for a synchronous one). 0 or RS_EIO. */
int gw_authstore_start(gw_authstore *st, gw_db *db, int period_ms);

/* gw_authstore_counts: sizes of the sets (keys, revoked sessions), for logs and tests. */
void gw_authstore_counts(gw_authstore *st, size_t *keys, size_t *revoked);

#endif
