#include "fakes.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "config_fixture.h"
#include "popular.h"
#include "rs_rpc.h"
#include "rs_time.h"
#include "session.h"

#include <sodium.h>

#include "rpc_listen.h"

static rs_rpc_server *fakes[4]; /* ingest feature candidate ranking */
static gw_server *gw;
static CURL *curl;
static char base_url[64];
const char *t_cred;
void (*t_tune)(gw_config *cfg);

/* The fakes serve on the transport production uses (rpc_listen.h: tcp, a port the kernel
 * picks); a fake that is not started is an address nobody serves. */
static char fake_urls[4][64];

static int
fake_index(int which)
{
	switch (which) {
	case T_INGEST:
		return 0;
	case T_FEATURE:
		return 1;
	case T_CANDIDATE:
		return 2;
	default:
		return 3;
	}
}

void
t_start(int mask)
{
	gw_config cfg = t_config(); /* no database: the routes that need one answer 503 */
	/* GW_TEST_THREADS=0: the same suite with a thread per connection */
	if (getenv("GW_TEST_THREADS") != NULL)
		cfg.threads = atoi(getenv("GW_TEST_THREADS"));
	cfg.deadline_ms = 250;
	cfg.max_connections = 64;
	cfg.max_body = 4096;
	cfg.events_timeout_ms = 1000;
	cfg.health_timeout_ms = 1000; /* room for a slow (sanitized, loaded) machine */
	cfg.popular_refresh_ms = 100;
	cfg.popular_k = 50;
	cfg.pg_pool = 1;
	cfg.pg_timeout_ms = 500;
	memset(&t_fake, 0, sizeof(t_fake));
	rs_log_init("gateway-test", RS_LOG_WARN);
	setenv("RS_ADMIN_TOKEN", T_ADMIN_TOKEN, 1);
	setenv("RS_SESSION_KEY", T_SESSION_KEY, 1);
	unsetenv("RS_SESSION_KEY_FILE");
	t_cred = T_CRED_API_KEY;
	for (int i = 0; i < 4; i++) {
		snprintf(fake_urls[i], sizeof(fake_urls[i]), "%s", T_NOBODY);
		if (mask & (1 << i)) {
			cr_assert_eq(rs_rpc_server_open(&fakes[i], T_RPC_LISTEN, 2, fake_routes[i],
			                                NULL),
			             0, "fake %d", i);
			snprintf(fake_urls[i], sizeof(fake_urls[i]), "%s",
			         rs_rpc_server_url(fakes[i]));
		}
	}
	cfg.ingest_url = fake_urls[0];
	cfg.feature_url = fake_urls[1];
	cfg.candidate_url = fake_urls[2];
	cfg.ranking_url = fake_urls[3];
	if (t_tune != NULL)
		t_tune(&cfg);
	cr_assert_eq(gw_server_open(&gw, &cfg), 0, "gateway did not start");
	/* What the refresher would load from api_keys (no database here). */
	gw_apikey key = {.k_name = "test"};
	gw_apikey_hash(T_API_KEY, key.k_hash);
	cr_assert_eq(gw_authstore_keys_replace(gw_auth_store(gw->s_auth), &key, 1), 0);
	snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", gw_server_port(gw));
	for (int i = 0; i < 4; i++) {
		if (!(mask & (1 << i)))
			continue;
		for (int t = 0; t < 400 && rs_rpc_client_connected(gw->s_clients[i]) == 0; t++)
			usleep(5000);
		cr_assert_gt(rs_rpc_client_connected(gw->s_clients[i]), 0, "%s not connected",
		             fake_urls[i]);
	}
	/* the refresher's first fetch may run before its connection is up (then it retries in
	 * 250 ms): tests that stop the candidate fake expect the popular list cached */
	if (mask & T_CANDIDATE) {
		rs_arena *a;
		Rs__CandidatesResponse *pop = NULL;
		cr_assert_eq(rs_arena_create(&a, 0), 0);
		for (int t = 0; t < 400 && gw_popular_load(gw->s_popular, a, &pop, NULL) != 0; t++)
			usleep(5000);
		cr_assert_not_null(pop, "the popular list was never cached");
		rs_arena_destroy(a);
	}
	curl = curl_easy_init();
	cr_assert_not_null(curl);
}

gw_server *
t_gateway(void)
{
	return gw;
}

void
t_stop_fake(int which)
{
	int i = fake_index(which);
	rs_rpc_server_close(fakes[i]);
	fakes[i] = NULL;
	for (int t = 0; t < 400 && rs_rpc_client_connected(gw->s_clients[i]) > 0; t++)
		usleep(5000);
	cr_assert_eq(rs_rpc_client_connected(gw->s_clients[i]), 0);
}

void
t_close_gateway(void)
{
	gw_server_close(gw);
	gw = NULL;
}

void
t_stop(void)
{
	if (curl != NULL)
		curl_easy_cleanup(curl);
	curl = NULL;
	t_tune = NULL;
	gw_server_close(gw);
	gw = NULL;
	for (int i = 0; i < 4; i++) {
		rs_rpc_server_close(fakes[i]);
		fakes[i] = NULL;
	}
}

static size_t
t_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	t_resp *r = ud;
	size_t n = size * nmemb;
	char *nb = realloc(r->body, r->len + n + 1);
	if (nb == NULL)
		return 0;
	memcpy(nb + r->len, ptr, n);
	r->body = nb;
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static void
t_copy_header(const char *line, size_t n, const char *name, char *out, size_t outn)
{
	size_t nl = strlen(name);
	if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	const char *v = line + nl + 1;
	while (*v == ' ')
		v++;
	size_t vl = n - (size_t) (v - line);
	while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
		vl--;
	if (vl >= outn)
		vl = outn - 1;
	memcpy(out, v, vl);
	out[vl] = '\0';
}

static size_t
t_header(char *line, size_t size, size_t nmemb, void *ud)
{
	t_resp *r = ud;
	size_t n = size * nmemb;
	t_copy_header(line, n, "X-Request-Id", r->request_id, sizeof(r->request_id));
	t_copy_header(line, n, "Allow", r->allow, sizeof(r->allow));
	t_copy_header(line, n, "WWW-Authenticate", r->www_authenticate,
	              sizeof(r->www_authenticate));
	t_copy_header(line, n, "Set-Cookie", r->set_cookie, sizeof(r->set_cookie));
	t_copy_header(line, n, "Retry-After", r->retry_after, sizeof(r->retry_after));
	t_copy_header(line, n, "X-Content-Type-Options", r->nosniff, sizeof(r->nosniff));
	t_copy_header(line, n, "Content-Security-Policy", r->csp, sizeof(r->csp));
	t_copy_header(line, n, "X-Frame-Options", r->frame_options, sizeof(r->frame_options));
	return n;
}

/* One request on handle h into out (body parsed as JSON when it is); no assertions, so any
 * thread may call it. */
static CURLcode
t_perform(CURL *h, const char *method, const char *path, const char *body, const char *extra_header,
          t_resp *out)
{
	char url[4096]; /* room for the longest path the gateway routes */
	struct curl_slist *hdrs = NULL;
	char *ct = NULL;
	json_error_t jerr;

	memset(out, 0, sizeof(*out));
	size_t bl = strlen(base_url), pl = strlen(path);
	if (bl + pl >= sizeof(url))
		return CURLE_URL_MALFORMAT; /* never cut a test's path (any thread: no assert here)
		                             */
	memcpy(url, base_url, bl);
	memcpy(url + bl, path, pl + 1);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, t_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, t_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (extra_header != NULL)
		hdrs = curl_slist_append(hdrs, extra_header);
	if (t_cred != NULL &&
	    (extra_header == NULL || (strncasecmp(extra_header, "Authorization:", 14) != 0 &&
	                              strncasecmp(extra_header, "Cookie:", 7) != 0)))
		hdrs = curl_slist_append(hdrs, t_cred);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
	}
	double t0 = rs_mono_ms();
	CURLcode rc = curl_easy_perform(h);
	out->ms = rs_mono_ms() - t0;
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK)
		return rc;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &out->connects);
	snprintf(out->ctype, sizeof(out->ctype), "%s", ct != NULL ? ct : "");
	if (out->body == NULL)
		out->body = calloc(1, 1);
	out->json = json_loads(out->body, 0, &jerr);
	return CURLE_OK;
}

void
t_http(const char *method, const char *path, const char *body, const char *extra_header,
       t_resp *out)
{
	CURLcode rc = t_perform(curl, method, path, body, extra_header, out);
	cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
}

CURLcode
t_get_fresh(const char *path, t_resp *out)
{
	CURL *h = curl_easy_init();
	if (h == NULL) {
		memset(out, 0, sizeof(*out));
		return CURLE_FAILED_INIT;
	}
	CURLcode rc = t_perform(h, "GET", path, NULL, NULL, out);
	curl_easy_cleanup(h);
	return rc;
}

void
t_resp_free(t_resp *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

void
t_expect_error(const char *method, const char *path, const char *body, long status,
               const char *code)
{
	t_resp r;
	t_http(method, path, body, NULL, &r);
	cr_assert_eq(r.status, status, "%s %s: got %ld %s", method, path, r.status, r.body);
	cr_assert(strstr(r.ctype, "application/json") != NULL, "%s %s: content type %s", method,
	          path, r.ctype);
	/* an error is JSON data like every other answer: never sniffed, run or framed */
	cr_assert_str_eq(r.nosniff, "nosniff", "%s %s", method, path);
	cr_assert_str_eq(r.csp, "default-src 'none'; frame-ancestors 'none'", "%s %s", method,
	                 path);
	cr_assert_str_eq(r.frame_options, "DENY", "%s %s", method, path);
	cr_assert_not_null(r.json, "%s %s: not JSON: %s", method, path, r.body);
	json_t *e = json_object_get(r.json, "error");
	cr_assert(json_is_object(e), "%s %s: no error object: %s", method, path, r.body);
	cr_assert(json_is_string(json_object_get(e, "message")), "%s", r.body);
	cr_assert(json_is_string(json_object_get(e, "code")), "%s", r.body);
	if (code != NULL)
		cr_assert_str_eq(json_string_value(json_object_get(e, "code")), code, "%s %s: %s",
		                 method, path, r.body);
	cr_assert_neq(r.request_id[0], '\0', "no X-Request-Id on an error");
	t_resp_free(&r);
}

void
t_session_cookie(int64_t user_id, int admin, int64_t expires_ms, char *buf, size_t n)
{
	unsigned char key[GW_SESSION_KEYBYTES];
	char token[GW_SESSION_TOKEN_LEN + 1];
	gw_session s = {.s_user_id = user_id, .s_admin = admin, .s_expires_ms = expires_ms};
	cr_assert_eq(sodium_hex2bin(key, sizeof(key), T_SESSION_KEY, strlen(T_SESSION_KEY), NULL,
	                            NULL, NULL),
	             0);
	randombytes_buf(s.s_id, sizeof(s.s_id));
	cr_assert_eq(gw_session_encode(key, &s, token, sizeof(token)), 0);
	snprintf(buf, n, "Cookie: %s=%s", GW_SESSION_COOKIE, token);
}
