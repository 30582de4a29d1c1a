/* session: the session cookie's token, signed with libsodium's crypto_auth (HMAC-SHA-512-256).
 *
 * Token = base64url without padding (sodium's URLSAFE_NO_PADDING) of 66 bytes:
 *   version (1 byte, GW_SESSION_VERSION) | user id (8, big-endian) | role (1: 1 customer,
 *   2 admin) | expiry (8, unix ms, big-endian) | session id (16 random bytes) | MAC (32 bytes,
 *   crypto_auth over the 34 bytes before it).
 * Nothing in it is secret (the user id and role are readable); the MAC makes it unforgeable
 * without the key. The server keeps no state per session except the ids of sessions that were
 * logged out before they expired (authstore.h). Pure functions: no allocation, thread-safe. */
#ifndef GW_SESSION_H
#define GW_SESSION_H

#include <stddef.h>
#include <stdint.h>

#define GW_SESSION_VERSION   1
#define GW_SESSION_KEYBYTES  32 /* crypto_auth_KEYBYTES */
#define GW_SESSION_IDBYTES   16
#define GW_SESSION_TOKEN_LEN 88 /* characters of a token */

typedef struct gw_session {
	int64_t s_user_id;
	int s_admin;          /* 1: role admin, 0: customer */
	int64_t s_expires_ms; /* unix ms */
	unsigned char s_id[GW_SESSION_IDBYTES];
} gw_session;

/* gw_session_new: a session for user_id that ends ttl_s seconds after now_ms, with a fresh
 * random session id. */
void gw_session_new(gw_session *s, int64_t user_id, int admin, int64_t now_ms, int ttl_s);

/* gw_session_encode: the token of s signed with key into out (n >= GW_SESSION_TOKEN_LEN + 1,
 * NUL-terminated). Returns 0 or RS_EINVAL (no room). */
int gw_session_encode(const unsigned char key[GW_SESSION_KEYBYTES], const gw_session *s, char *out,
                      size_t n);

/* gw_session_decode: check token against key and now_ms. Returns 0 with *out filled,
 * RS_EINVAL for anything malformed, of another version or not signed with key (forged,
 * tampered, wrong key), RS_ETIMEDOUT for a genuine token past its expiry (*out filled too). */
int gw_session_decode(const unsigned char key[GW_SESSION_KEYBYTES], const char *token,
                      int64_t now_ms, gw_session *out);

#endif
