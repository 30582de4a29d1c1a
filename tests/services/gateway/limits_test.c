/* Request limits over real HTTP: per-client rates (429 + Retry-After), header size (431); the
 * token bucket and the rate specs on their own. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakes.h"
#include "ratelimit.h"
#include "rates.h"
#include "rs_err.h"
#include "rs_time.h"

static void
teardown(void)
{
	t_stop();
}

TestSuite(limits, .fini = teardown, .timeout = 30);

static void
tune_read_6_per_minute(gw_config *cfg)
{
	cfg->rate_read = "6/m:2"; /* a token every 10 s, two at most */
}

static void
tune_keys_and_accounts(gw_config *cfg)
{
	cfg->rate_read = "6/m:2";
	cfg->rate_apikey = "6/m:3";
}

/* The reply is a 429 JSON error "rate_limited" whose message names who was counted; returns
 * its Retry-After in seconds. */
static long
expect_429(t_resp *r, const char *by)
{
	cr_assert_eq(r->status, 429, "%ld %s", r->status, r->body);
	cr_assert(strstr(r->ctype, "application/json") != NULL, "%s", r->ctype);
	json_t *e = json_object_get(r->json, "error");
	cr_assert_str_eq(json_string_value(json_object_get(e, "code")), "rate_limited", "%s",
	                 r->body);
	cr_assert(strstr(json_string_value(json_object_get(e, "message")), by) != NULL, "%s",
	          r->body);
	char *end;
	long secs = strtol(r->retry_after, &end, 10);
	cr_assert(r->retry_after[0] != '\0' && *end == '\0', "Retry-After \"%s\"", r->retry_after);
	return secs;
}

Test(limits, a_client_address_over_its_read_rate_gets_429_with_the_right_retry_after)
{
	t_resp r;
	t_tune = tune_read_6_per_minute;
	t_start(T_ALL);
	t_cred = NULL; /* anonymous: counted by address (127.0.0.1) */
	double t2_sent = 0, t2_done = 0;
	for (int i = 0; i < 2; i++) {
		t2_sent = rs_mono_ms();
		t_http("GET", "/v1/popular?k=3", NULL, NULL, &r);
		t2_done = rs_mono_ms();
		cr_assert_eq(r.status, 200, "request %d: %ld %s", i, r.status, r.body);
		cr_assert_str_eq(r.retry_after, "");
		t_resp_free(&r);
	}
	/* the bucket is empty since the second request: the next token comes 10 s after it */
	t_http("GET", "/v1/items/7/similar", NULL, NULL, &r);
	long first = expect_429(&r, "read requests from this client address");
	cr_assert_eq(first, 10, "Retry-After %ld", first);
	t_resp_free(&r);
	/* an unknown path and the UI's files count as reads too */
	t_http("GET", "/v1/nothing-here", NULL, NULL, &r);
	expect_429(&r, "client address");
	t_resp_free(&r);
	/* a wrong bearer token is charged to the address before it is refused */
	t_http("GET", "/v1/popular", NULL, "Authorization: Bearer not-a-key", &r);
	expect_429(&r, "client address");
	t_resp_free(&r);
	/* other classes have their own buckets; the API key has its own */
	t_http("GET", "/healthz", NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	t_resp_free(&r);
	t_http("GET", "/v1/popular", NULL, T_CRED_API_KEY, &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	t_resp_free(&r);
	/* 1.5 s later the wait is 1.5 s shorter: ceil(10 - elapsed since the second request) */
	usleep(1500 * 1000);
	double sent = rs_mono_ms();
	t_http("GET", "/v1/popular", NULL, NULL, &r);
	double done = rs_mono_ms();
	long later = expect_429(&r, "client address");
	double lo = (sent - t2_done) / 1000.0, hi = (done - t2_sent) / 1000.0;
	long want_max = (long) (10.0 - lo) + ((10.0 - lo) > (long) (10.0 - lo));
	long want_min = (long) (10.0 - hi) + ((10.0 - hi) > (long) (10.0 - hi));
	cr_assert(later >= want_min && later <= want_max && later < 10,
	          "Retry-After %ld, want %ld..%ld (%.3f..%.3f s after the bucket emptied)", later,
	          want_min, want_max, lo, hi);
	t_resp_free(&r);
}

Test(limits, api_keys_and_accounts_have_buckets_of_their_own)
{
	t_resp r;
	char alice[512], bob[512];
	t_tune = tune_keys_and_accounts;
	t_start(T_ALL);
	t_session_cookie(5, 0, rs_now_ms() + 3600 * 1000, alice, sizeof(alice));
	t_session_cookie(6, 0, rs_now_ms() + 3600 * 1000, bob, sizeof(bob));
	/* the API key: 3 requests over all its routes, then 429 */
	t_http("GET", "/v1/popular", NULL, T_CRED_API_KEY, &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	t_resp_free(&r);
	t_http("GET", "/healthz", NULL, T_CRED_API_KEY, &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	t_resp_free(&r);
	t_http("GET", "/v1/users/9/recommendations?k=2", NULL, T_CRED_API_KEY, &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	t_resp_free(&r);
	t_http("GET", "/v1/popular", NULL, T_CRED_API_KEY, &r);
	cr_assert_eq(expect_429(&r, "from this API key"), 10);
	t_resp_free(&r);
	/* the admin token is a key of its own */
	t_http("GET", "/v1/popular", NULL, T_CRED_ADMIN, &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	t_resp_free(&r);
	/* a customer's session: the account's read bucket (2), whatever the address */
	for (int i = 0; i < 2; i++) {
		t_http("GET", "/v1/users/5/history", NULL, alice, &r);
		cr_assert_eq(r.status, 200, "%d: %ld %s", i, r.status, r.body);
		t_resp_free(&r);
	}
	t_http("GET", "/v1/users/5/recommendations", NULL, alice, &r);
	cr_assert_eq(expect_429(&r, "read requests from this account"), 10);
	t_resp_free(&r);
	/* another customer, and an anonymous client on the same address, are not affected */
	t_http("GET", "/v1/users/6/history", NULL, bob, &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	t_resp_free(&r);
	t_cred = NULL;
	t_http("GET", "/v1/popular", NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	t_resp_free(&r);
}

Test(limits, the_default_rates_let_a_burst_of_reads_through)
{
	t_resp r;
	t_start(T_ALL);
	t_cred = NULL;
	/* the default read rate holds a burst of 400 per address (rates.h) */
	for (int i = 0; i < 300; i++) {
		t_http("GET", "/healthz", NULL, NULL, &r);
		cr_assert_eq(r.status, i < 200 ? 200 : r.status, "%d", i); /* ops: burst 200 */
		t_resp_free(&r);
		t_http("GET", "/v1/items/7/similar?k=1", NULL, NULL, &r);
		cr_assert_eq(r.status, 200, "read %d: %ld %s", i, r.status, r.body);
		t_resp_free(&r);
	}
}

static void
tune_header_2k(gw_config *cfg)
{
	cfg->max_header = 2048;
}

/* A request with one X-Pad header of n bytes. */
static void
padded(size_t n, t_resp *r)
{
	char *h = malloc(n + 8);
	cr_assert_not_null(h);
	memcpy(h, "X-Pad: ", 7);
	memset(h + 7, 'a', n);
	h[7 + n] = '\0';
	t_http("GET", "/healthz", NULL, h, r);
	free(h);
}

Test(limits, headers_over_the_limit_get_a_json_431)
{
	t_resp r;
	t_tune = tune_header_2k;
	t_start(T_ALL);
	padded(1500, &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	t_resp_free(&r);
	padded(2100, &r);
	cr_assert_eq(r.status, 431, "%ld %s", r.status, r.body);
	cr_assert(strstr(r.ctype, "application/json") != NULL, "%s", r.ctype);
	cr_assert_str_eq(r.nosniff, "nosniff");
	json_t *e = json_object_get(r.json, "error");
	cr_assert_str_eq(json_string_value(json_object_get(e, "code")), "header_too_large", "%s",
	                 r.body);
	cr_assert(strstr(json_string_value(json_object_get(e, "message")), "at most 2048") != NULL,
	          "%s", r.body);
	t_resp_free(&r);
	/* past MHD's memory pool (4 x the limit, at least 32 KiB) MHD answers 431 itself, with
	 * its own HTML body (docs/SECURITY.md) */
	padded(40 * 1024, &r);
	cr_assert_eq(r.status, 431, "%ld %s", r.status, r.body);
	cr_assert_null(r.json, "%s", r.body);
	t_resp_free(&r);
	/* the server still answers afterwards */
	padded(10, &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	t_resp_free(&r);
}

#define NOW INT64_C(1700000000000)

Test(limits, token_bucket_refills_and_says_how_long_to_wait)
{
	gw_ratelimit *rl;
	cr_assert_eq(gw_ratelimit_create_bucket(&rl, 16, 6, 60000, 2), 0);
	cr_assert_eq(gw_ratelimit_take(rl, "a", NOW), 0);
	cr_assert_eq(gw_ratelimit_take(rl, "a", NOW), 0);
	cr_assert_eq(gw_ratelimit_take(rl, "a", NOW), 10, "empty: a token every 10 s");
	cr_assert_eq(gw_ratelimit_take(rl, "a", NOW + 1000), 9);
	cr_assert_eq(gw_ratelimit_take(rl, "a", NOW + 9001), 1, "999 ms left rounds up to 1 s");
	cr_assert_eq(gw_ratelimit_take(rl, "a", NOW + 10000), 0, "one token after 10 s");
	cr_assert_eq(gw_ratelimit_take(rl, "a", NOW + 10000), 10);
	cr_assert_eq(gw_ratelimit_take(rl, "b", NOW), 0, "another key: a full bucket");
	/* an hour idle refills to the burst (2), not more */
	cr_assert_eq(gw_ratelimit_take(rl, "a", NOW + 3600000), 0);
	cr_assert_eq(gw_ratelimit_take(rl, "a", NOW + 3600000), 0);
	cr_assert_gt(gw_ratelimit_take(rl, "a", NOW + 3600000), 0);
	/* a flood of distinct keys stays within the table */
	char k[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "flood-%d", i);
		gw_ratelimit_take(rl, k, NOW + 3600001);
		cr_assert_leq(gw_ratelimit_used(rl), 16);
	}
	gw_ratelimit_destroy(rl);
	cr_assert_eq(gw_ratelimit_create_bucket(&rl, 16, 0, 1000, 2), RS_EINVAL);
	cr_assert_eq(gw_ratelimit_create_bucket(&rl, 16, 1, 1000, 0), RS_EINVAL);
}

Test(limits, rate_specs_parse_and_bad_ones_stop_the_gateway)
{
	int rate, burst;
	int64_t per_ms;
	cr_assert_eq(gw_limits_parse("200/s", &rate, &per_ms, &burst), 0);
	cr_assert(rate == 200 && per_ms == 1000 && burst == 400);
	cr_assert_eq(gw_limits_parse("6/m:2", &rate, &per_ms, &burst), 0);
	cr_assert(rate == 6 && per_ms == 60000 && burst == 2);
	cr_assert_eq(gw_limits_parse("30/m", &rate, &per_ms, &burst), 0);
	cr_assert(rate == 30 && per_ms == 60000 && burst == 1);
	cr_assert_eq(gw_limits_parse("off", &rate, &per_ms, &burst), 0);
	cr_assert_eq(rate, 0);
	const char *bad[] = {
	        "", "0/s", "5", "5/h", "5/s:", "5/s:0", "abc", "5/s:2x", "-1/s", "5/sec"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(gw_limits_parse(bad[i], &rate, &per_ms, &burst), -1, "\"%s\"", bad[i]);
	gw_config cfg = {.rate_ops = "fast"};
	gw_limits *l = NULL;
	cr_assert_eq(gw_limits_open(&l, &cfg), RS_EINVAL);
	cr_assert_null(l);
	cfg.rate_ops = "off";
	cr_assert_eq(gw_limits_open(&l, &cfg), 0);
	gw_limits_close(l);
}
