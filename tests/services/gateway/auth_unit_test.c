/* The pieces of accounts and access without a server: the session token (session.c), the login
 * failure limiter (ratelimit.c) and the in-memory credential sets (authstore.c). */
#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#include "authstore.h"
#include "ratelimit.h"
#include "rs_err.h"
#include "session.h"

static unsigned char key[GW_SESSION_KEYBYTES], other_key[GW_SESSION_KEYBYTES];

static void
keys_init(void)
{
	cr_assert_geq(sodium_init(), 0);
	for (int i = 0; i < GW_SESSION_KEYBYTES; i++) {
		key[i] = (unsigned char) i;
		other_key[i] = (unsigned char) (i + 1);
	}
}

TestSuite(session, .init = keys_init);

#define NOW 1764324000000LL

Test(session, a_signed_token_decodes_to_what_was_signed)
{
	gw_session s, d;
	char tok[GW_SESSION_TOKEN_LEN + 1];
	gw_session_new(&s, 4242, 1, NOW, 3600);
	cr_assert_eq(s.s_expires_ms, NOW + 3600 * 1000LL);
	cr_assert_eq(gw_session_encode(key, &s, tok, sizeof(tok)), 0);
	cr_assert_eq(strlen(tok), GW_SESSION_TOKEN_LEN);
	/* base64url without padding: safe in a cookie as it is */
	cr_assert_eq(
	        strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
	        GW_SESSION_TOKEN_LEN, "%s", tok);
	cr_assert_eq(gw_session_decode(key, tok, NOW + 1000, &d), 0);
	cr_assert_eq(d.s_user_id, 4242);
	cr_assert_eq(d.s_admin, 1);
	cr_assert_eq(d.s_expires_ms, NOW + 3600 * 1000LL);
	cr_assert_arr_eq(d.s_id, s.s_id, GW_SESSION_IDBYTES);
	/* a customer's session, and session ids differ between sessions */
	gw_session c;
	gw_session_new(&c, 7, 0, NOW, 60);
	cr_assert_neq(memcmp(c.s_id, s.s_id, GW_SESSION_IDBYTES), 0);
	cr_assert_eq(gw_session_encode(key, &c, tok, sizeof(tok)), 0);
	cr_assert_eq(gw_session_decode(key, tok, NOW, &d), 0);
	cr_assert_eq(d.s_admin, 0);
	cr_assert_eq(d.s_user_id, 7);
	/* too small an output buffer */
	cr_assert_eq(gw_session_encode(key, &c, tok, GW_SESSION_TOKEN_LEN), RS_EINVAL);
}

Test(session, expiry_is_checked_against_now)
{
	gw_session s, d;
	char tok[GW_SESSION_TOKEN_LEN + 1];
	gw_session_new(&s, 5, 0, NOW, 1);
	cr_assert_eq(gw_session_encode(key, &s, tok, sizeof(tok)), 0);
	cr_assert_eq(gw_session_decode(key, tok, NOW + 999, &d), 0);
	cr_assert_eq(gw_session_decode(key, tok, NOW + 1000, &d), RS_ETIMEDOUT);
	cr_assert_eq(d.s_user_id, 5, "an expired token still says whose it was");
	cr_assert_eq(gw_session_decode(key, tok, NOW + 86400000LL, &d), RS_ETIMEDOUT);
}

Test(session, any_changed_character_or_key_is_refused)
{
	gw_session s, d;
	char tok[GW_SESSION_TOKEN_LEN + 1], bad[GW_SESSION_TOKEN_LEN + 2];
	gw_session_new(&s, 99, 0, NOW, 600);
	cr_assert_eq(gw_session_encode(key, &s, tok, sizeof(tok)), 0);
	/* every position: the version, user id, role, expiry, session id and MAC characters */
	for (size_t i = 0; i < GW_SESSION_TOKEN_LEN; i++) {
		memcpy(bad, tok, sizeof(tok));
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		cr_assert_eq(gw_session_decode(key, bad, NOW, &d), RS_EINVAL, "position %zu", i);
	}
	cr_assert_eq(gw_session_decode(other_key, tok, NOW, &d), RS_EINVAL, "another key");
	memcpy(bad, tok, sizeof(tok));
	bad[GW_SESSION_TOKEN_LEN - 1] = '\0';
	cr_assert_eq(gw_session_decode(key, bad, NOW, &d), RS_EINVAL, "truncated");
	snprintf(bad, sizeof(bad), "%sA", tok);
	cr_assert_eq(gw_session_decode(key, bad, NOW, &d), RS_EINVAL, "extended");
	cr_assert_eq(gw_session_decode(key, "", NOW, &d), RS_EINVAL);
	cr_assert_eq(gw_session_decode(key, NULL, NOW, &d), RS_EINVAL);
	memset(bad, '=', GW_SESSION_TOKEN_LEN);
	bad[GW_SESSION_TOKEN_LEN] = '\0';
	cr_assert_eq(gw_session_decode(key, bad, NOW, &d), RS_EINVAL, "not base64url");
}

/* The raw layout, signed correctly, but with fields the decoder must refuse. */
static void
sign_raw(unsigned char version, int64_t user, unsigned char role, char *tok, size_t n)
{
	unsigned char raw[66] = {0};
	raw[0] = version;
	for (int i = 0; i < 8; i++)
		raw[1 + i] = (unsigned char) ((uint64_t) user >> (56 - 8 * i));
	raw[9] = role;
	for (int i = 0; i < 8; i++)
		raw[10 + i] = (unsigned char) ((uint64_t) (NOW + 60000) >> (56 - 8 * i));
	crypto_auth(raw + 34, raw, 34, key);
	sodium_bin2base64(tok, n, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

Test(session, other_versions_roles_and_user_ids_are_refused_even_when_signed)
{
	char tok[GW_SESSION_TOKEN_LEN + 1];
	gw_session d;
	sign_raw(GW_SESSION_VERSION, 12, 1, tok, sizeof(tok));
	cr_assert_eq(gw_session_decode(key, tok, NOW, &d), 0, "the layout itself is right");
	cr_assert_eq(d.s_user_id, 12);
	sign_raw(GW_SESSION_VERSION + 1, 12, 1, tok, sizeof(tok));
	cr_assert_eq(gw_session_decode(key, tok, NOW, &d), RS_EINVAL, "version 2");
	sign_raw(GW_SESSION_VERSION, 12, 3, tok, sizeof(tok));
	cr_assert_eq(gw_session_decode(key, tok, NOW, &d), RS_EINVAL, "role 3");
	sign_raw(GW_SESSION_VERSION, 0, 1, tok, sizeof(tok));
	cr_assert_eq(gw_session_decode(key, tok, NOW, &d), RS_EINVAL, "user 0");
	sign_raw(GW_SESSION_VERSION, -5, 2, tok, sizeof(tok));
	cr_assert_eq(gw_session_decode(key, tok, NOW, &d), RS_EINVAL, "negative user");
}

#define MIN_MS (60 * 1000LL)

Test(ratelimit, the_limit_blocks_until_the_window_ends_and_says_how_long)
{
	gw_ratelimit *rl;
	cr_assert_eq(gw_ratelimit_create(&rl, 16, 5, 15 * MIN_MS), 0);
	for (int i = 0; i < 4; i++) {
		gw_ratelimit_fail(rl, "alice", NOW + i * 1000);
		cr_assert_eq(gw_ratelimit_blocked_s(rl, "alice", NOW + i * 1000), 0, "after %d",
		             i + 1);
	}
	gw_ratelimit_fail(rl, "alice", NOW + 10 * 1000);
	/* the window opened at the first failure: 15 min after NOW */
	cr_assert_eq(gw_ratelimit_blocked_s(rl, "alice", NOW + 10 * 1000), 15 * 60 - 10);
	cr_assert_eq(gw_ratelimit_blocked_s(rl, "alice", NOW + 14 * MIN_MS + 500), 60,
	             "59.5 s left round up to 60");
	cr_assert_eq(gw_ratelimit_blocked_s(rl, "alice", NOW + 15 * MIN_MS - 1), 1);
	cr_assert_eq(gw_ratelimit_blocked_s(rl, "alice", NOW + 15 * MIN_MS), 0, "window over");
	/* other keys are not affected; keys are exact (a login is lower-cased before) */
	cr_assert_eq(gw_ratelimit_blocked_s(rl, "bob", NOW + 20 * 1000), 0);
	cr_assert_eq(gw_ratelimit_blocked_s(rl, "Alice", NOW + 20 * 1000), 0);
	/* after the window a new one starts with the next failure */
	gw_ratelimit_fail(rl, "alice", NOW + 16 * MIN_MS);
	cr_assert_eq(gw_ratelimit_blocked_s(rl, "alice", NOW + 16 * MIN_MS), 0);
	gw_ratelimit_destroy(rl);
}

Test(ratelimit, clear_forgets_a_key)
{
	gw_ratelimit *rl;
	cr_assert_eq(gw_ratelimit_create(&rl, 4, 2, 60000), 0);
	gw_ratelimit_fail(rl, "k", NOW);
	gw_ratelimit_fail(rl, "k", NOW);
	cr_assert_eq(gw_ratelimit_blocked_s(rl, "k", NOW), 60);
	gw_ratelimit_clear(rl, "k");
	cr_assert_eq(gw_ratelimit_blocked_s(rl, "k", NOW), 0);
	cr_assert_eq(gw_ratelimit_used(rl), 0);
	gw_ratelimit_destroy(rl);
	cr_assert_eq(gw_ratelimit_create(&rl, 0, 2, 60000), RS_EINVAL);
	cr_assert_eq(gw_ratelimit_create(&rl, 4, 0, 60000), RS_EINVAL);
}

Test(ratelimit, memory_stays_bounded_and_the_oldest_window_makes_room)
{
	gw_ratelimit *rl;
	char k[32];
	cr_assert_eq(gw_ratelimit_create(&rl, 8, 3, 15 * MIN_MS), 0);
	/* "victim" is blocked first */
	for (int i = 0; i < 3; i++)
		gw_ratelimit_fail(rl, "victim", NOW);
	cr_assert_gt(gw_ratelimit_blocked_s(rl, "victim", NOW + 1), 0);
	/* 7 more keys fill the table; the victim stays */
	for (int i = 0; i < 7; i++) {
		snprintf(k, sizeof(k), "key-%d", i);
		gw_ratelimit_fail(rl, k, NOW + 1000 + i);
	}
	cr_assert_eq(gw_ratelimit_used(rl), 8);
	cr_assert_gt(gw_ratelimit_blocked_s(rl, "victim", NOW + 2000), 0);
	/* thousands of distinct keys: never more than 8 entries */
	for (int i = 0; i < 5000; i++) {
		snprintf(k, sizeof(k), "flood-%d", i);
		gw_ratelimit_fail(rl, k, NOW + 5000 + i);
		cr_assert_leq(gw_ratelimit_used(rl), 8);
	}
	/* the victim's window opened first, so it was the first pushed out */
	cr_assert_eq(gw_ratelimit_blocked_s(rl, "victim", NOW + 20000), 0);
	/* finished windows are reused before live ones are pushed out */
	gw_ratelimit_destroy(rl);
	cr_assert_eq(gw_ratelimit_create(&rl, 2, 1, 60000), 0);
	gw_ratelimit_fail(rl, "old", NOW);
	gw_ratelimit_fail(rl, "live", NOW + 30000);
	gw_ratelimit_fail(rl, "new", NOW + 61000); /* "old"'s window is over: its slot is reused */
	cr_assert_gt(gw_ratelimit_blocked_s(rl, "live", NOW + 61000), 0);
	cr_assert_gt(gw_ratelimit_blocked_s(rl, "new", NOW + 61000), 0);
	cr_assert_eq(gw_ratelimit_used(rl), 2);
	gw_ratelimit_destroy(rl);
}

Test(authstore, keys_are_found_by_hash_and_replaced_as_a_whole)
{
	gw_authstore *st;
	gw_apikey keys[3] = {{.k_name = "a"}, {.k_name = "b"}, {.k_name = "c"}};
	char name[GW_APIKEY_NAME_MAX];
	cr_assert_eq(gw_authstore_create(&st), 0);
	for (int i = 0; i < 3; i++)
		memset(keys[i].k_hash, 0x30 - i, GW_APIKEY_HASHBYTES);
	cr_assert_eq(gw_authstore_key_find(st, keys[0].k_hash, name, sizeof(name)), 0);
	cr_assert_eq(gw_authstore_keys_replace(st, keys, 3), 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(gw_authstore_key_find(st, keys[i].k_hash, name, sizeof(name)), 1);
		cr_assert_str_eq(name, keys[i].k_name);
	}
	unsigned char other[GW_APIKEY_HASHBYTES];
	memset(other, 0x31, sizeof(other));
	cr_assert_eq(gw_authstore_key_find(st, other, NULL, 0), 0);
	/* a reload without "b" (revoked): b stops working */
	keys[1] = keys[2];
	cr_assert_eq(gw_authstore_keys_replace(st, keys, 2), 0);
	memset(other, 0x2f, sizeof(other));
	cr_assert_eq(gw_authstore_key_find(st, other, NULL, 0), 0);
	cr_assert_eq(gw_authstore_key_find(st, keys[0].k_hash, NULL, 0), 1);
	cr_assert_eq(gw_authstore_keys_replace(st, NULL, 0), 0);
	cr_assert_eq(gw_authstore_key_find(st, keys[0].k_hash, NULL, 0), 0);
	gw_authstore_destroy(st);
}

Test(authstore, own_revocations_count_at_once_and_survive_reloads_until_they_expire)
{
	gw_authstore *st;
	gw_revoked db[2];
	unsigned char mine[GW_SESSION_IDBYTES], theirs[GW_SESSION_IDBYTES];
	size_t nk, nr;
	cr_assert_eq(gw_authstore_create(&st), 0);
	memset(mine, 0xaa, sizeof(mine));
	memset(theirs, 0xbb, sizeof(theirs));
	cr_assert_eq(gw_authstore_is_revoked(st, mine), 0);
	cr_assert_eq(gw_authstore_revoke(st, mine, NOW + 60000), 0);
	cr_assert_eq(gw_authstore_is_revoked(st, mine), 1, "refused at once");
	/* a reload from a database that has not got it (yet, or never): still refused */
	memcpy(db[0].r_id, theirs, sizeof(theirs));
	db[0].r_expires_ms = NOW + 60000;
	cr_assert_eq(gw_authstore_revoked_replace(st, db, 1, NOW), 0);
	cr_assert_eq(gw_authstore_is_revoked(st, mine), 1);
	cr_assert_eq(gw_authstore_is_revoked(st, theirs), 1, "another gateway's logout");
	gw_authstore_counts(st, &nk, &nr);
	cr_assert_eq(nr, 2);
	/* once the database has it, the own entry is dropped (no double count) */
	memcpy(db[1].r_id, mine, sizeof(mine));
	db[1].r_expires_ms = NOW + 60000;
	cr_assert_eq(gw_authstore_revoked_replace(st, db, 2, NOW), 0);
	gw_authstore_counts(st, &nk, &nr);
	cr_assert_eq(nr, 2);
	cr_assert_eq(gw_authstore_is_revoked(st, mine), 1);
	/* an own revocation the database never got is kept only until it expires */
	unsigned char lost[GW_SESSION_IDBYTES];
	memset(lost, 0xcc, sizeof(lost));
	cr_assert_eq(gw_authstore_revoke(st, lost, NOW + 1000), 0);
	cr_assert_eq(gw_authstore_revoked_replace(st, db, 2, NOW + 500), 0);
	cr_assert_eq(gw_authstore_is_revoked(st, lost), 1);
	cr_assert_eq(gw_authstore_revoked_replace(st, db, 2, NOW + 1000), 0);
	cr_assert_eq(gw_authstore_is_revoked(st, lost), 0);
	gw_authstore_counts(st, &nk, &nr);
	cr_assert_eq(nr, 2);
	cr_assert_eq(nk, 0);
	gw_authstore_destroy(st);
}
