/* Access levels over real HTTP (auth.c via the route table), against the fake downstreams: who
 * may read recommendations, post events, use the admin routes and /v1/me, and what a stale,
 * forged or logged-out session gets. No database: the API key is installed in the gateway's
 * key set the way the refresher would (fakes.c), and routes that need PostgreSQL answer 503
 * once access is granted. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "auth.h"
#include "fakes.h"
#include "rs_time.h"
#include "session.h"

static void
teardown(void)
{
	t_stop();
}

TestSuite(access, .fini = teardown, .timeout = 20);

#define HOUR_MS (3600 * 1000LL)

/* One request with exactly the credential cred ("" for none). */
static void
call(const char *method, const char *path, const char *body, const char *cred, t_resp *r)
{
	const char *saved = t_cred;
	t_cred = cred[0] != '\0' ? cred : NULL;
	t_http(method, path, body, NULL, r);
	t_cred = saved;
}

static const char *
err_code(const t_resp *r)
{
	return json_string_value(json_object_get(json_object_get(r->json, "error"), "code"));
}

static const char *
err_msg(const t_resp *r)
{
	return json_string_value(json_object_get(json_object_get(r->json, "error"), "message"));
}

static void
expect(const char *method, const char *path, const char *body, const char *cred, long status,
       const char *code)
{
	t_resp r;
	call(method, path, body, cred, &r);
	cr_assert_eq(r.status, status, "%s %s with [%s]: %ld %s", method, path, cred, r.status,
	             r.body);
	if (code != NULL)
		cr_assert_str_eq(err_code(&r), code, "%s %s with [%s]: %s", method, path, cred,
		                 r.body);
	t_resp_free(&r);
}

Test(access, recommendations_are_for_that_customer_an_admin_or_an_api_key)
{
	char own[160], other[160], admin[160];
	t_resp r;
	t_start(T_ALL);
	int64_t until = rs_now_ms() + HOUR_MS;
	t_session_cookie(42, 0, until, own, sizeof(own));
	t_session_cookie(43, 0, until, other, sizeof(other));
	t_session_cookie(9000, 1, until, admin, sizeof(admin));

	const char *path = "/v1/users/42/recommendations?k=3&explain=1";
	call("GET", path, NULL, own, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "user_id")), 42);
	cr_assert(json_is_object(json_object_get(r.json, "explain")), "own explain: %s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(
	                         json_array_get(json_object_get(r.json, "items"), 0), "reason")),
	                 "because you viewed Item 7");
	cr_assert_eq(t_fake.last_cand_user, 42);
	t_resp_free(&r);

	/* another customer learns nothing: 403 before any downstream is asked */
	int feature_calls = t_fake.feature_calls;
	call("GET", path, NULL, other, &r);
	cr_assert_eq(r.status, 403, "%s", r.body);
	cr_assert_str_eq(err_code(&r), "forbidden");
	cr_assert_null(strstr(r.body, "Item"), "%s", r.body);
	t_resp_free(&r);
	cr_assert_eq(t_fake.feature_calls, feature_calls, "a refused request reached feature");

	expect("GET", path, NULL, T_CRED_API_KEY, 200, NULL);
	expect("GET", path, NULL, T_CRED_ADMIN, 200, NULL);
	expect("GET", path, NULL, admin, 200, NULL);
	/* a customer's session with an id that is not theirs, even a malformed one */
	expect("GET", "/v1/users/abc/recommendations", NULL, own, 403, "forbidden");
	/* ... while a key holder gets the usual 400 for a bad id */
	expect("GET", "/v1/users/abc/recommendations", NULL, T_CRED_API_KEY, 400, "bad_request");

	/* anonymous: 401 with the Bearer challenge */
	call("GET", path, NULL, "", &r);
	cr_assert_eq(r.status, 401, "%s", r.body);
	cr_assert_str_eq(err_code(&r), "unauthorized");
	cr_assert_str_eq(r.www_authenticate, "Bearer realm=\"recsys\"");
	t_resp_free(&r);
	/* a wrong bearer token: 401 invalid_token (RFC 6750), even with a valid cookie */
	call("GET", path, NULL, "Authorization: Bearer rsk_not-a-key-0123456789", &r);
	cr_assert_eq(r.status, 401, "%s", r.body);
	cr_assert_str_eq(r.www_authenticate, "Bearer realm=\"recsys\", error=\"invalid_token\"");
	t_resp_free(&r);
	/* public routes ignore credentials they cannot use */
	expect("GET", "/v1/items/17/similar?k=2", NULL, "Authorization: Bearer wrong-wrong-wrong",
	       200, NULL);
	expect("GET", "/v1/items/17/similar?k=2", NULL, "Cookie: rs_session=forged", 200, NULL);
}

Test(access, a_stale_session_gets_401_session_expired)
{
	char expired[160], forged[160], wrong_key[200];
	t_resp r;
	t_start(T_ALL);
	t_session_cookie(42, 0, rs_now_ms() - 1, expired, sizeof(expired));
	t_session_cookie(42, 0, rs_now_ms() + HOUR_MS, forged, sizeof(forged));
	forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == 'A' ? 'B' : 'A'; /* the MAC */
	/* a well-formed session signed with another key */
	unsigned char other[GW_SESSION_KEYBYTES] = {1, 2, 3};
	char tok[GW_SESSION_TOKEN_LEN + 1];
	gw_session s;
	gw_session_new(&s, 42, 1, rs_now_ms(), 3600);
	cr_assert_eq(gw_session_encode(other, &s, tok, sizeof(tok)), 0);
	snprintf(wrong_key, sizeof(wrong_key), "Cookie: rs_session=%s", tok);
	const char *const stale[] = {expired, forged, wrong_key, "Cookie: rs_session=garbage"};
	for (size_t i = 0; i < 4; i++) {
		call("GET", "/v1/users/42/recommendations", NULL, stale[i], &r);
		cr_assert_eq(r.status, 401, "[%s]: %s", stale[i], r.body);
		cr_assert_str_eq(err_code(&r), "unauthorized");
		cr_assert_str_eq(err_msg(&r), "session expired", "[%s]", stale[i]);
		t_resp_free(&r);
		expect("GET", "/v1/me", NULL, stale[i], 401, "unauthorized");
		expect("POST", "/v1/events",
		       "{\"user_id\": 42, \"item_id\": 1, \"type\": \"view\"}", stale[i], 401,
		       "unauthorized");
		/* public routes still answer */
		expect("GET", "/v1/popular?k=1", NULL, stale[i], 200, NULL);
	}
	/* no cookie at all is not "expired" */
	call("GET", "/v1/users/42/recommendations", NULL, "", &r);
	cr_assert_str_neq(err_msg(&r), "session expired");
	t_resp_free(&r);
}

Test(access, a_customer_posts_only_their_own_events)
{
	char own[160];
	t_start(T_ALL);
	t_session_cookie(42, 0, rs_now_ms() + HOUR_MS, own, sizeof(own));
	expect("POST", "/v1/events", "{\"user_id\": 42, \"item_id\": 5, \"type\": \"view\"}", own,
	       202, NULL);
	cr_assert_eq(t_fake.ingest_calls, 1);
	cr_assert_eq(t_fake.last_ingest_n, 1);
	/* one event of another user in the batch: 403 and nothing goes to ingest */
	t_resp r;
	call("POST", "/v1/events",
	     "{\"events\": [{\"user_id\": 42, \"item_id\": 5, \"type\": \"click\"},"
	     " {\"user_id\": 43, \"item_id\": 6, \"type\": \"purchase\"}]}",
	     own, &r);
	cr_assert_eq(r.status, 403, "%s", r.body);
	cr_assert_str_eq(err_code(&r), "forbidden");
	cr_assert(strstr(err_msg(&r), "event 1") != NULL, "%s", r.body);
	t_resp_free(&r);
	cr_assert_eq(t_fake.ingest_calls, 1, "a refused batch reached ingest");
	/* an API key and the admin may post anyone's events */
	const char *batch = "{\"events\": [{\"user_id\": 43, \"item_id\": 6, \"type\": \"view\"},"
	                    " {\"user_id\": 44, \"item_id\": 7, \"type\": \"view\"}]}";
	expect("POST", "/v1/events", batch, T_CRED_API_KEY, 202, NULL);
	cr_assert_eq(t_fake.last_ingest_n, 2);
	expect("POST", "/v1/events", batch, T_CRED_ADMIN, 202, NULL);
	cr_assert_eq(t_fake.ingest_calls, 3);
	expect("POST", "/v1/events", batch, "", 401, "unauthorized");
	cr_assert_eq(t_fake.ingest_calls, 3);
}

Test(access, admin_routes_are_for_admin_sessions_and_the_token)
{
	char customer[160], admin[160];
	t_start(T_ALL);
	int64_t until = rs_now_ms() + HOUR_MS;
	t_session_cookie(42, 0, until, customer, sizeof(customer));
	t_session_cookie(9000, 1, until, admin, sizeof(admin));
	expect("GET", "/v1/admin/models", NULL, customer, 403, "forbidden");
	expect("POST", "/v1/admin/models/v1/activate", NULL, customer, 403, "forbidden");
	expect("GET", "/v1/admin/models", NULL, T_CRED_API_KEY, 403, "forbidden");
	expect("GET", "/v1/admin/models", NULL, "", 401, "unauthorized");
	/* allowed in: the handler then finds no database (503) */
	expect("GET", "/v1/admin/models", NULL, admin, 503, "unavailable");
	expect("GET", "/v1/admin/models", NULL, T_CRED_ADMIN, 503, "unavailable");
}

Test(access, me_needs_a_session_and_logout_ends_it_here_at_once)
{
	char own[160];
	t_resp r;
	t_start(T_ALL);
	t_session_cookie(42, 0, rs_now_ms() + HOUR_MS, own, sizeof(own));
	expect("GET", "/v1/me", NULL, "", 401, "unauthorized");
	expect("GET", "/v1/me", NULL, T_CRED_API_KEY, 401, "unauthorized");
	expect("GET", "/v1/me", NULL, T_CRED_ADMIN, 401, "unauthorized");
	expect("GET", "/v1/me", NULL, own, 503, "unavailable"); /* let in; no database */
	expect("GET", "/v1/users/42/recommendations", NULL, own, 200, NULL);

	/* logout without a database: refused here at once, the cookie is cleared, and the
	 * answer says the other gateways were not told */
	call("POST", "/v1/auth/logout", NULL, own, &r);
	cr_assert_eq(r.status, 503, "%s", r.body);
	cr_assert_str_eq(r.set_cookie, "rs_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
	t_resp_free(&r);
	call("GET", "/v1/users/42/recommendations", NULL, own, &r);
	cr_assert_eq(r.status, 401, "%s", r.body);
	cr_assert_str_eq(err_msg(&r), "session expired");
	t_resp_free(&r);
	/* a logout without a session is a plain 200 that clears the cookie */
	call("POST", "/v1/auth/logout", NULL, "", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_is_true(json_object_get(r.json, "ok")), "%s", r.body);
	cr_assert_str_eq(r.set_cookie, "rs_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
	t_resp_free(&r);
}

Test(access, login_checks_its_body_before_the_database)
{
	t_start(T_ALL);
	expect("POST", "/v1/auth/login", "{\"login\": ", "", 400, "bad_json");
	expect("POST", "/v1/auth/login", "[]", "", 400, "bad_request");
	expect("POST", "/v1/auth/login", "{\"login\": \"a\"}", "", 400, "bad_request");
	expect("POST", "/v1/auth/login", "{\"login\": 5, \"password\": \"x\"}", "", 400,
	       "bad_request");
	expect("POST", "/v1/auth/login", "{\"login\": \"a b\", \"password\": \"x\"}", "", 400,
	       "bad_request");
	expect("POST", "/v1/auth/login", "{\"login\": \"alice\", \"password\": \"\"}", "", 400,
	       "bad_request");
	/* a well-formed login needs the accounts: 503 without PostgreSQL, never a 401 */
	expect("POST", "/v1/auth/login", "{\"login\": \"alice\", \"password\": \"secret-pw\"}", "",
	       503, "unavailable");
	expect("GET", "/v1/auth/login", NULL, "", 405, "method_not_allowed");
}

Test(access, a_key_removed_from_the_set_stops_working)
{
	t_start(T_ALL);
	expect("GET", "/v1/users/1/recommendations", NULL, T_CRED_API_KEY, 200, NULL);
	/* what the refresher does after `rs-gateway apikey revoke` */
	cr_assert_eq(gw_authstore_keys_replace(gw_auth_store(t_gateway()->s_auth), NULL, 0), 0);
	expect("GET", "/v1/users/1/recommendations", NULL, T_CRED_API_KEY, 401, "unauthorized");
	/* the admin token is not in the set and keeps working */
	expect("GET", "/v1/users/1/recommendations", NULL, T_CRED_ADMIN, 200, NULL);
}
