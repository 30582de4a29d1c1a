#include "session.h"

#include "rs_err.h"

#include <sodium.h>
#include <string.h>

#define SESSION_PAYLOAD 34 /* version, user id, role, expiry, session id */
#define SESSION_RAW     (SESSION_PAYLOAD + crypto_auth_BYTES)

_Static_assert(crypto_auth_KEYBYTES == GW_SESSION_KEYBYTES, "crypto_auth key size");
_Static_assert(crypto_auth_BYTES == 32, "crypto_auth tag size");

static void
put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char) (v & 0xff);
}

static uint64_t
get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

void
gw_session_new(gw_session *s, int64_t user_id, int admin, int64_t now_ms, int ttl_s)
{
	s->s_user_id = user_id;
	s->s_admin = admin ? 1 : 0;
	s->s_expires_ms = now_ms + (int64_t) ttl_s * 1000;
	randombytes_buf(s->s_id, sizeof(s->s_id));
}

int
gw_session_encode(const unsigned char key[GW_SESSION_KEYBYTES], const gw_session *s, char *out,
                  size_t n)
{
	unsigned char raw[SESSION_RAW];

	if (n < sodium_base64_ENCODED_LEN(SESSION_RAW, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		return RS_EINVAL;
	raw[0] = GW_SESSION_VERSION;
	put_be64(raw + 1, (uint64_t) s->s_user_id);
	raw[9] = s->s_admin ? 2 : 1;
	put_be64(raw + 10, (uint64_t) s->s_expires_ms);
	memcpy(raw + 18, s->s_id, GW_SESSION_IDBYTES);
	crypto_auth(raw + SESSION_PAYLOAD, raw, SESSION_PAYLOAD, key);
	sodium_bin2base64(out, n, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return 0;
}

int
gw_session_decode(const unsigned char key[GW_SESSION_KEYBYTES], const char *token, int64_t now_ms,
                  gw_session *out)
{
	unsigned char raw[SESSION_RAW];
	size_t len = 0;

	if (token == NULL || strlen(token) != GW_SESSION_TOKEN_LEN ||
	    sodium_base642bin(raw, sizeof(raw), token, GW_SESSION_TOKEN_LEN, NULL, &len, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    len != SESSION_RAW)
		return RS_EINVAL;
	if (crypto_auth_verify(raw + SESSION_PAYLOAD, raw, SESSION_PAYLOAD, key) != 0)
		return RS_EINVAL;
	if (raw[0] != GW_SESSION_VERSION || (raw[9] != 1 && raw[9] != 2))
		return RS_EINVAL;
	out->s_user_id = (int64_t) get_be64(raw + 1);
	out->s_admin = raw[9] == 2;
	out->s_expires_ms = (int64_t) get_be64(raw + 10);
	memcpy(out->s_id, raw + 18, GW_SESSION_IDBYTES);
	if (out->s_user_id <= 0)
		return RS_EINVAL;
	return now_ms >= out->s_expires_ms ? RS_ETIMEDOUT : 0;
}
