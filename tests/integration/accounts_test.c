/* Accounts, sessions, API keys and the privacy rule, end to end: PostgreSQL with the accounts
 * made by the real tool (`rs-gateway account set`, `rs-gateway apikey create/revoke`), the five
 * services as processes, real HTTP. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "stack.h"

#define TOKEN    "it-accounts-admin-token-0123456789"
#define PASSWORD "it-customer-pw-1"
#define ADMIN_PW "it-admin-pw-0001"

static test_stack st;
static char api_key[160], key_header[200];
static char keyfile_env[300];

static void
kill_leftovers(void)
{
	stack_kill_all(&st);
}

static double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

/* One call with at most one credential header; the reply parsed (freed by the caller). */
static json_t *
call(const char *method, const char *path, const char *body, const char *cred, long want,
     http_reply *keep)
{
	http_reply r;
	json_error_t jerr;
	const char *const hdr[] = {cred, NULL};
	cr_assert_eq(http_do_h(&st, method, path, body, cred != NULL ? hdr : NULL, &r), 0,
	             "%s %s failed", method, path);
	cr_assert_eq(r.status, want, "%s %s [%s]: %ld %s", method, path, cred ? cred : "", r.status,
	             r.body);
	json_t *j = json_loads(r.body, 0, &jerr);
	cr_assert_not_null(j, "%s %s: not JSON: %s", method, path, r.body);
	if (keep != NULL)
		*keep = r;
	else
		http_reply_free(&r);
	return j;
}

static void
expect_error(const char *method, const char *path, const char *body, const char *cred, long want,
             const char *code, const char *message)
{
	json_t *j = call(method, path, body, cred, want, NULL);
	json_t *e = json_object_get(j, "error");
	cr_assert_str_eq(json_string_value(json_object_get(e, "code")), code, "%s %s", method,
	                 path);
	if (message != NULL)
		cr_assert_str_eq(json_string_value(json_object_get(e, "message")), message, "%s %s",
		                 method, path);
	json_decref(j);
}

static long
count(const char *sql)
{
	char v[32];
	cr_assert_eq(stack_sql_value(&st, sql, v, sizeof(v)), 0, "%s", sql);
	return atol(v);
}

static void
restart_gateway(void)
{
	http_reply r = {0};
	int up = 0;
	cr_assert_eq(stack_stop_one(&st, 4), 0, "the gateway did not exit 0 on SIGTERM");
	cr_assert_eq(stack_start_one(&st, 4), 0);
	for (int tries = 0; tries < 100 && !up; tries++) {
		up = http_do(&st, "GET", "/healthz", NULL, &r) == 0 && r.status == 200;
		http_reply_free(&r);
		if (!up)
			usleep(100 * 1000);
	}
	cr_assert(up, "the gateway did not come back");
}

static void
start(const char *db)
{
	char root[] = "/tmp/rs-it-acc-XXXXXX";
	cr_assert_not_null(mkdtemp(root));
	cr_assert_eq(stack_db_reset(&st, db), 0);
	cr_assert_eq(stack_sql(&st, it_seed_sql), 0, "seeding failed");
	/* customers 1 and 2, an admin (a new user id), an API key: made by the tool */
	cr_assert_eq(stack_account(&st, "Cust-One", "customer", 1, PASSWORD), 0, "account set");
	cr_assert_eq(stack_account(&st, "cust-two", "customer", 2, PASSWORD), 0);
	cr_assert_eq(stack_account(&st, "boss", "admin", 0, ADMIN_PW), 0);
	cr_assert_eq(stack_apikey(&st, "shop-backend", api_key, sizeof(api_key)), 0);
	snprintf(key_header, sizeof(key_header), "Authorization: Bearer %s", api_key);
	snprintf(keyfile_env, sizeof(keyfile_env), "RS_SESSION_KEY_FILE=%s/session-key", root);
	st.extra_env[0] = "RS_ADMIN_TOKEN=" TOKEN;
	st.extra_env[1] = keyfile_env;
	st.extra_env[2] = "RS_GATEWAY_AUTH_REFRESH_MS=200";
	cr_assert_eq(stack_start(&st, 18320, 20000), 0, "stack did not become ready");
	struct stat sb;
	cr_assert_eq(stat(keyfile_env + strlen("RS_SESSION_KEY_FILE="), &sb), 0,
	             "the session key file was not created");
	cr_assert_eq(sb.st_mode & 0777, 0600, "session key file mode %o", sb.st_mode & 0777);
}

Test(accounts, sessions_keys_and_the_privacy_rule, .timeout = 180, .fini = kill_leftovers)
{
	char c1[200], c2[200], boss[200];
	http_reply r;
	start("rs_it_accounts");

	/* --- login: the cookie and /v1/me ------------------------------------------------ */
	int64_t t0 = (int64_t) time(NULL) * 1000;
	cr_assert_eq(stack_login(&st, "CUST-one", PASSWORD, c1, sizeof(c1), &r), 200, "%s", r.body);
	/* attributes in the contract's order; no Secure without RS_GATEWAY_COOKIE_SECURE */
	const char *attrs = strchr(r.set_cookie, ';');
	cr_assert_not_null(attrs, "%s", r.set_cookie);
	cr_assert_str_eq(attrs, "; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict");
	cr_assert_eq(strncmp(r.set_cookie, "rs_session=", 11), 0);
	cr_assert_eq(strlen(c1), strlen("Cookie: rs_session=") + 88, "%s", c1);
	json_error_t jerr;
	json_t *me = json_loads(r.body, 0, &jerr);
	http_reply_free(&r);
	cr_assert_eq(json_integer_value(json_object_get(me, "user_id")), 1);
	cr_assert_str_eq(json_string_value(json_object_get(me, "login")), "cust-one");
	cr_assert_str_eq(json_string_value(json_object_get(me, "display_name")), "Customer 1");
	cr_assert_str_eq(json_string_value(json_object_get(me, "role")), "customer");
	json_int_t exp = json_integer_value(json_object_get(me, "expires_at"));
	cr_assert(exp >= t0 + 43200000 - 5000 && exp <= t0 + 43200000 + 5000, "expires_at %lld",
	          (long long) exp);
	json_decref(me);
	me = call("GET", "/v1/me", NULL, c1, 200, NULL);
	cr_assert_eq(json_integer_value(json_object_get(me, "user_id")), 1);
	cr_assert_str_eq(json_string_value(json_object_get(me, "login")), "cust-one");
	cr_assert_eq(json_integer_value(json_object_get(me, "expires_at")), exp);
	json_decref(me);
	cr_assert_eq(stack_login(&st, "cust-two", PASSWORD, c2, sizeof(c2), NULL), 200);
	cr_assert_eq(stack_login(&st, "boss", ADMIN_PW, boss, sizeof(boss), &r), 200);
	me = json_loads(r.body, 0, &jerr);
	http_reply_free(&r);
	cr_assert_str_eq(json_string_value(json_object_get(me, "role")), "admin");
	json_decref(me);

	/* --- recommendations: own 200 with reasons, others 403, anonymous 401 -------------- */
	json_t *rec = call("GET", "/v1/users/1/recommendations?k=5", NULL, c1, 200, NULL);
	json_t *items = json_object_get(rec, "items");
	cr_assert_gt(json_array_size(items), 0, "no recommendations");
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		const char *why = json_string_value(json_object_get(it, "reason"));
		cr_assert(why != NULL && why[0] != '\0', "item %zu has no reason", i);
	}
	json_decref(rec);
	rec = call("GET", "/v1/users/1/recommendations?k=5&explain=1", NULL, c1, 200, NULL);
	/* user 1 viewed items 2 and 22 and bought 2 (it_seed_sql): the explain shows it */
	json_t *recent = json_object_get(
	        json_object_get(json_object_get(rec, "explain"), "feature"), "recent");
	cr_assert_eq(json_array_size(recent), 3, "explain.feature.recent");
	json_decref(rec);
	expect_error("GET", "/v1/users/2/recommendations?k=5", NULL, c1, 403, "forbidden", NULL);
	expect_error("GET", "/v1/users/2/recommendations?k=5&explain=1", NULL, c1, 403, "forbidden",
	             NULL);
	expect_error("GET", "/v1/users/1/recommendations?k=5", NULL, NULL, 401, "unauthorized",
	             NULL);
	expect_error("GET", "/v1/users/1/recommendations?k=5", NULL,
	             "Authorization: Bearer rsk_wrong-key-0123456789", 401, "unauthorized", NULL);
	json_decref(call("GET", "/v1/users/2/recommendations?k=5&explain=1", NULL, key_header, 200,
	                 NULL));
	json_decref(
	        call("GET", "/v1/users/2/recommendations?k=5&explain=1", NULL, boss, 200, NULL));
	json_decref(call("GET", "/v1/users/2/recommendations?k=5", NULL, c2, 200, NULL));
	/* public routes stay public */
	json_decref(call("GET", "/v1/items/2/similar?k=3", NULL, NULL, 200, NULL));

	/* --- events: only one's own; nothing stored otherwise ------------------------------ */
	long before = count("select count(*) from events");
	expect_error("POST", "/v1/events",
	             "{\"events\": [{\"event_id\": \"it-acc-1\", \"user_id\": 1, \"item_id\": 5, "
	             "\"type\": \"view\"}, {\"event_id\": \"it-acc-2\", \"user_id\": 2, "
	             "\"item_id\": 5, \"type\": \"purchase\"}]}",
	             c1, 403, "forbidden", NULL);
	expect_error("POST", "/v1/events",
	             "{\"event_id\": \"it-acc-3\", \"user_id\": 1, \"item_id\": 5, \"type\": "
	             "\"view\"}",
	             NULL, 401, "unauthorized", NULL);
	cr_assert_eq(count("select count(*) from events"), before, "a refused event was stored");
	json_t *acc = call("POST", "/v1/events",
	                   "{\"event_id\": \"it-acc-4\", \"user_id\": 1, \"item_id\": 5, \"type\": "
	                   "\"view\"}",
	                   c1, 202, NULL);
	cr_assert_eq(json_integer_value(json_object_get(acc, "accepted")), 1);
	json_decref(acc);
	acc = call(
	        "POST", "/v1/events",
	        "{\"event_id\": \"it-acc-5\", \"user_id\": 2, \"item_id\": 6, \"type\": \"view\"}",
	        key_header, 202, NULL);
	json_decref(acc);
	cr_assert_eq(
	        count("select count(*) from events where event_id in ('it-acc-4', 'it-acc-5')"), 2);
	cr_assert_eq(count("select count(*) from events where event_id like 'it-acc-%'"), 2);

	/* --- admin routes ------------------------------------------------------------------ */
	json_t *models = call("GET", "/v1/admin/models", NULL, boss, 200, NULL);
	cr_assert(json_is_array(json_object_get(models, "models")));
	json_decref(models);
	expect_error("GET", "/v1/admin/models", NULL, c1, 403, "forbidden", NULL);
	expect_error("POST", "/v1/admin/models/x/activate", NULL, c1, 403, "forbidden", NULL);
	expect_error("GET", "/v1/admin/models", NULL, key_header, 403, "forbidden", NULL);

	/* --- logout: the old cookie is refused, here and after a restart -------------------- */
	char c1_old[200];
	snprintf(c1_old, sizeof(c1_old), "%s", c1);
	json_t *out = call("POST", "/v1/auth/logout", NULL, c1, 200, &r);
	cr_assert(json_is_true(json_object_get(out, "ok")));
	cr_assert_str_eq(r.set_cookie, "rs_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
	http_reply_free(&r);
	json_decref(out);
	expect_error("GET", "/v1/me", NULL, c1_old, 401, "unauthorized", "session expired");
	expect_error("GET", "/v1/users/1/recommendations", NULL, c1_old, 401, "unauthorized",
	             "session expired");
	cr_assert_eq(count("select count(*) from sessions_revoked"), 1);

	/* --- a key made while the gateway runs works within the refresh period; revoked, it
	 * stops --------------------------------------------------------------------------- */
	char late[160], late_hdr[200];
	cr_assert_eq(stack_apikey(&st, "late", late, sizeof(late)), 0);
	double t_made = now_ms(), t_ok = -1;
	snprintf(late_hdr, sizeof(late_hdr), "Authorization: Bearer %s", late);
	for (int tries = 0; tries < 100 && t_ok < 0; tries++) {
		const char *const h[] = {late_hdr, NULL};
		cr_assert_eq(http_do_h(&st, "GET", "/v1/users/3/recommendations?k=2", NULL, h, &r),
		             0);
		if (r.status == 200)
			t_ok = now_ms() - t_made;
		else
			cr_assert_eq(r.status, 401, "%ld %s", r.status, r.body);
		http_reply_free(&r);
		if (t_ok < 0)
			usleep(20 * 1000);
	}
	cr_assert_geq(t_ok, 0, "a new key was not accepted within 2 s (refresh 200 ms)");
	cr_assert_eq(stack_tool(&st, "apikey revoke --name late"), 0);
	double t_rev = now_ms(), t_gone = -1;
	for (int tries = 0; tries < 100 && t_gone < 0; tries++) {
		const char *const h[] = {late_hdr, NULL};
		cr_assert_eq(http_do_h(&st, "GET", "/v1/users/3/recommendations?k=2", NULL, h, &r),
		             0);
		if (r.status == 401)
			t_gone = now_ms() - t_rev;
		http_reply_free(&r);
		if (t_gone < 0)
			usleep(20 * 1000);
	}
	cr_assert_geq(t_gone, 0, "a revoked key still worked after 2 s");
	fprintf(stderr,
	        "accounts: new key accepted after %.0f ms, revoked key refused after %.0f ms "
	        "(RS_GATEWAY_AUTH_REFRESH_MS=200)\n",
	        t_ok, t_gone);
	json_decref(call("GET", "/v1/users/3/recommendations?k=2", NULL, key_header, 200, NULL));

	/* --- wrong password and unknown login: the same answer, the same work ---------------- */
	http_reply wrong, unknown;
	double w_ms = 1e9, u_ms = 1e9;
	for (int k = 0; k < 2; k++) {
		double t = now_ms();
		cr_assert_eq(stack_login(&st, "cust-two", "not-the-password", NULL, 0, &wrong),
		             401);
		w_ms = fmin(w_ms, now_ms() - t);
		t = now_ms();
		cr_assert_eq(stack_login(&st, "nobody-here", "not-the-password", NULL, 0, &unknown),
		             401);
		u_ms = fmin(u_ms, now_ms() - t);
		cr_assert_str_eq(wrong.body, unknown.body);
		cr_assert_str_eq(wrong.content_type, unknown.content_type);
		cr_assert_str_eq(wrong.set_cookie, "");
		http_reply_free(&wrong);
		http_reply_free(&unknown);
	}
	expect_error("POST", "/v1/auth/login", "{\"login\": \"nobody\", \"password\": \"x\"}", NULL,
	             401, "invalid_credentials", "wrong login or password");
	fprintf(stderr, "accounts: wrong password %.1f ms, unknown login %.1f ms\n", w_ms, u_ms);
	/* an unknown login pays for a password check too (argon2id: tens of ms, a lookup alone
	 * well under one) */
	cr_assert_gt(u_ms, 0.3 * w_ms, "unknown login %.1f ms vs wrong password %.1f ms", u_ms,
	             w_ms);

	/* --- 5 failures for one login, the 6th attempt: 429 with Retry-After -------------- */
	for (int k = 0; k < 5; k++)
		expect_error("POST", "/v1/auth/login",
		             "{\"login\": \"cust-one\", \"password\": \"bad\"}", NULL, 401,
		             "invalid_credentials", NULL);
	cr_assert_eq(stack_login(&st, "cust-one", PASSWORD, NULL, 0, &r), 429, "%s", r.body);
	int retry = atoi(r.retry_after);
	cr_assert(retry > 880 && retry <= 900, "Retry-After: %s", r.retry_after);
	cr_assert(strstr(r.body, "too_many_attempts") != NULL, "%s", r.body);
	http_reply_free(&r);
	/* other logins are not blocked (10 failures from this client so far) */
	cr_assert_eq(stack_login(&st, "cust-two", PASSWORD, NULL, 0, NULL), 200);
	/* per client: 20 failures from one address block every login */
	for (int k = 0; k < 10; k++) {
		char body[128];
		snprintf(body, sizeof(body), "{\"login\": \"guess-%d\", \"password\": \"bad\"}", k);
		expect_error("POST", "/v1/auth/login", body, NULL, 401, "invalid_credentials",
		             NULL);
	}
	cr_assert_eq(stack_login(&st, "cust-two", PASSWORD, NULL, 0, &r), 429, "%s", r.body);
	http_reply_free(&r);

	/* --- restart: the session key file keeps sessions, logouts stay ------------------- */
	restart_gateway();
	json_decref(call("GET", "/v1/me", NULL, c2, 200, NULL));
	expect_error("GET", "/v1/me", NULL, c1_old, 401, "unauthorized", "session expired");

	/* --- an expired session (RS_SESSION_TTL_S=1), Secure cookies ----------------------- */
	st.extra_env[3] = "RS_SESSION_TTL_S=1";
	st.extra_env[4] = "RS_GATEWAY_COOKIE_SECURE=1";
	restart_gateway();
	char short_c[200];
	cr_assert_eq(stack_login(&st, "cust-two", PASSWORD, short_c, sizeof(short_c), &r), 200,
	             "%s", r.body);
	cr_assert_str_eq(strchr(r.set_cookie, ';'),
	                 "; Path=/; Max-Age=1; HttpOnly; SameSite=Strict; Secure");
	http_reply_free(&r);
	json_decref(call("GET", "/v1/users/2/recommendations?k=2", NULL, short_c, 200, NULL));
	usleep(1200 * 1000);
	expect_error("GET", "/v1/users/2/recommendations?k=2", NULL, short_c, 401, "unauthorized",
	             "session expired");
	expect_error("GET", "/v1/me", NULL, short_c, 401, "unauthorized", "session expired");

	cr_assert_eq(stack_stop(&st), 0, "a service did not exit 0 on SIGTERM");
}
