/* Observability through the real stack: each backend's own /metrics listener
 * (RS_<SVC>_METRICS_ADDR) counts the requests the gateway sent it, the event stream's lag, and a
 * request id given to the gateway reaches the log lines of every service that served it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rs_probe.h"
#include "rs_time.h"
#include "stack.h"

static test_stack st;
static char key_header[200];

static void
obs_fini(void)
{
	stack_kill_all(&st);
}

static void
obs_start(const char *db, int port)
{
	char key[160];
	cr_assert_eq(stack_db_reset(&st, db), 0);
	cr_assert_eq(stack_sql(&st, it_seed_sql), 0, "seeding failed");
	cr_assert_eq(stack_apikey(&st, "obs-test", key, sizeof(key)), 0, "apikey create");
	snprintf(key_header, sizeof(key_header), "Authorization: Bearer %s", key);
	cr_assert_eq(stack_start(&st, port, 20000), 0, "stack did not become ready");
}

/* GET /metrics of service idx's own listener (the gateway's HTTP port for idx 4). */
static char *
scrape(int idx)
{
	test_stack t = st;
	http_reply r;
	if (idx < 4)
		snprintf(t.url, sizeof(t.url), "http://127.0.0.1:%d", stack_metrics_port(&st, idx));
	cr_assert_eq(http_do(&t, "GET", "/metrics", NULL, &r), 0, "scrape of %s failed",
	             stack_svc_names[idx]);
	cr_assert_eq(r.status, 200, "%s: /metrics %ld", stack_svc_names[idx], r.status);
	cr_assert(strncmp(r.content_type, "text/plain; version=0.0.4", 25) == 0, "%s",
	          r.content_type);
	return r.body; /* the caller frees */
}

static double
value(const char *text, const char *series)
{
	double v = stack_metric(text, series);
	cr_assert_geq(v, 0, "series %s is not exported", series);
	return v;
}

#define RPC_OK(method, svc) \
	"rs_rpc_requests_total{method=\"" method "\",status=\"ok\",svc=\"" svc "\"}"
#define RPC_COUNT(method, svc) "rs_rpc_duration_ms_count{method=\"" method "\",svc=\"" svc "\"}"

static void
wait_stream(void)
{
	char url[64], detail[256] = "";
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", st.base_port + 3);
	double t0 = rs_mono_ms();
	while (rs_mono_ms() - t0 < 15000) {
		if (rs_probe_health(url, 1000, detail, sizeof(detail)) == 1 &&
		    strstr(detail, "stream=connected") != NULL)
			return;
		usleep(50000);
	}
	cr_assert_fail("feature never connected to ingest's stream: %s", detail);
}

Test(obs, every_service_is_scraped_on_its_own_listener, .fini = obs_fini, .timeout = 120)
{
	/* no background popular refresh calling candidate while the test counts, and a deadline
	 * a loaded machine meets (a degraded answer skips or fails a counted call) */
	st.extra_env[0] = "RS_GATEWAY_POPULAR_REFRESH_MS=600000";
	st.extra_env[1] = "RS_GATEWAY_DEADLINE_MS=5000";
	obs_start("rs_it_obs_metrics", 18500);
	wait_stream();
	const char *cred[] = {key_header, NULL};
	char *before[5], *after[5];
	/* one request first: user 1's history is then in feature's cache, so on a loaded machine
	 * no counted call waits for PostgreSQL past its deadline */
	http_reply w;
	cr_assert_eq(http_do_h(&st, "GET", "/v1/users/1/recommendations?k=5", NULL, cred, &w), 0);
	cr_assert_eq(w.status, 200, "%s", w.body);
	http_reply_free(&w);
	/* the gateway's popular refresher calls candidate every 250 ms until its first list is
	 * stored (then every RS_GATEWAY_POPULAR_REFRESH_MS): count from a quiet second on */
	const char *cands = "rs_rpc_requests_total{method=\"candidates\",status=\"ok\","
	                    "svc=\"candidate\"}";
	char *c0 = scrape(2);
	double q0 = rs_mono_ms(), quiet_since = q0, last = value(c0, cands);
	free(c0);
	while (rs_mono_ms() - quiet_since < 1000 && rs_mono_ms() - q0 < 20000) {
		usleep(100 * 1000);
		char *c = scrape(2);
		double v = value(c, cands);
		free(c);
		if (v != last) {
			last = v;
			quiet_since = rs_mono_ms();
		}
	}
	for (int i = 0; i < 5; i++)
		before[i] = scrape(i);

	/* 3 recommendations: one user_features, candidates and rank call each */
	for (int i = 0; i < 3; i++) {
		http_reply r;
		cr_assert_eq(
		        http_do_h(&st, "GET", "/v1/users/1/recommendations?k=5", NULL, cred, &r),
		        0);
		cr_assert_eq(r.status, 200, "%s", r.body);
		http_reply_free(&r);
	}
	/* 1 batch of 2 new events */
	http_reply r;
	cr_assert_eq(
	        http_do_h(&st, "POST", "/v1/events",
	                  "{\"events\": [{\"event_id\": \"obs-1\", \"user_id\": 2, \"item_id\": 7, "
	                  "\"type\": \"view\"}, {\"event_id\": \"obs-2\", \"user_id\": 3, "
	                  "\"item_id\": 8, \"type\": \"click\"}]}",
	                  cred, &r),
	        0);
	cr_assert_eq(r.status, 202, "%s", r.body);
	http_reply_free(&r);

	/* feature applies the two events from the stream (asynchronously) */
	double t0 = rs_mono_ms();
	double want_stream =
	        value(before[1], "rs_feature_stream_events_total{svc=\"feature\"}") + 2;
	for (;;) {
		after[1] = scrape(1);
		if (value(after[1], "rs_feature_stream_events_total{svc=\"feature\"}") >=
		            want_stream ||
		    rs_mono_ms() - t0 > 10000)
			break;
		free(after[1]);
		usleep(50000);
	}
	for (int i = 0; i < 5; i++)
		if (i != 1)
			after[i] = scrape(i);

	static const struct {
		int idx;
		const char *series;
		double delta;
	} want[] = {
	        {0, RPC_OK("event_batch", "ingest"), 1},
	        {0, RPC_COUNT("event_batch", "ingest"), 1},
	        {0, "rs_ingest_events_total{result=\"accepted\",svc=\"ingest\"}", 2},
	        {0, "rs_ingest_published_total{svc=\"ingest\"}", 2},
	        {1, RPC_OK("user_features", "feature"), 3},
	        {1, RPC_COUNT("user_features", "feature"), 3},
	        {1, "rs_feature_stream_events_total{svc=\"feature\"}", 2},
	        {1, "rs_feature_stream_lag_ms_count{svc=\"feature\"}", 2},
	        {2, RPC_OK("candidates", "candidate"), 3},
	        {2, RPC_COUNT("candidates", "candidate"), 3},
	        {3, RPC_OK("rank", "ranking"), 3},
	        {3, RPC_COUNT("rank", "ranking"), 3},
	        {4, "rs_gateway_hop_duration_ms_count{svc=\"gateway\",hop=\"ranking\"}", 3},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		double b = value(before[want[i].idx], want[i].series);
		double a = value(after[want[i].idx], want[i].series);
		cr_expect_eq(a - b, want[i].delta, "%s: %s moved by %g, want %g",
		             stack_svc_names[want[i].idx], want[i].series, a - b, want[i].delta);
	}
	/* no errors were counted, and each listener exports its own service's series only */
	static const char *const errs[] = {
	        "rs_rpc_requests_total{method=\"event_batch\",status=\"internal\",svc=\"ingest\"}",
	        "rs_rpc_requests_total{method=\"rank\",status=\"internal\",svc=\"ranking\"}",
	};
	cr_expect_eq(value(after[0], errs[0]), value(before[0], errs[0]));
	cr_expect_eq(value(after[3], errs[1]), value(before[3], errs[1]));
	cr_expect_not_null(strstr(after[0], "rs_ingest_spool_pending{svc=\"ingest\"} 0\n"), "%s",
	                   after[0]);
	cr_expect_not_null(
	        strstr(after[1], "rs_feature_cache_total{result=\"hit\",svc=\"feature\"}"));
	cr_expect_not_null(strstr(after[1], "rs_feature_stream_lag_last_ms{svc=\"feature\"} "));
	for (int i = 0; i < 4; i++) {
		char other[64];
		snprintf(other, sizeof(other), "svc=\"%s\"", stack_svc_names[(i + 1) % 4]);
		cr_expect_null(strstr(after[i], other), "%s exports %s", stack_svc_names[i], other);
	}
	/* the lag histogram holds the two events below its last bucket (+Inf only = lost) */
	cr_expect_eq(
	        value(after[1], "rs_feature_stream_lag_ms_bucket{svc=\"feature\",le=\"5000\"}") -
	                value(before[1],
	                      "rs_feature_stream_lag_ms_bucket{svc=\"feature\",le=\"5000\"}"),
	        2);
	/* the listener's liveness route */
	test_stack t = st;
	snprintf(t.url, sizeof(t.url), "http://127.0.0.1:%d", stack_metrics_port(&st, 3));
	cr_assert_eq(http_do(&t, "GET", "/healthz", NULL, &r), 0);
	cr_expect_eq(r.status, 200);
	http_reply_free(&r);
	for (int i = 0; i < 5; i++) {
		free(before[i]);
		free(after[i]);
	}
	cr_assert_eq(stack_stop(&st), 0);
}

/* Whether the log file of service idx holds a line with "req=<id>" and the event given. */
static int
log_has(int idx, const char *id, const char *event)
{
	char path[512], line[4096], want[160];
	snprintf(path, sizeof(path), "%s/it-%s.log", getenv("RS_TEST_BUILD"), stack_svc_names[idx]);
	snprintf(want, sizeof(want), " req=%s ", id);
	FILE *f = fopen(path, "r");
	int found = 0;
	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, want) != NULL && strstr(line, event) != NULL;
	fclose(f);
	return found;
}

Test(obs, a_request_id_reaches_every_services_log_lines, .fini = obs_fini, .timeout = 120)
{
	char id[64], hdr_id[96];
	/* unique per run: the log files are appended to across runs */
	snprintf(id, sizeof(id), "it-obs-%ld-%ld", (long) getpid(), (long) time(NULL));
	snprintf(hdr_id, sizeof(hdr_id), "X-Request-Id: %s", id);
	/* debug: the RPC servers' per-request line (rpc.request); a deadline a loaded machine
	 * meets, so every hop is called */
	st.extra_env[0] = "RS_LOG_LEVEL=debug";
	st.extra_env[1] = "RS_GATEWAY_DEADLINE_MS=5000";
	obs_start("rs_it_obs_reqid", 18520);
	const char *hdrs[] = {key_header, hdr_id, NULL};
	http_reply r;
	cr_assert_eq(http_do_h(&st, "GET", "/v1/users/1/recommendations?k=5", NULL, hdrs, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(r.request_id, id, "the answer's X-Request-Id");
	http_reply_free(&r);
	/* and an events batch: ingest's lines */
	cr_assert_eq(http_do_h(&st, "POST", "/v1/events",
	                       "{\"events\": [{\"event_id\": \"obs-r1\", \"user_id\": 4, "
	                       "\"item_id\": 9, \"type\": \"view\"}]}",
	                       hdrs, &r),
	             0);
	cr_assert_eq(r.status, 202, "%s", r.body);
	cr_assert_str_eq(r.request_id, id);
	http_reply_free(&r);
	/* a request without the header gets a fresh id back */
	const char *cred[] = {key_header, NULL};
	cr_assert_eq(http_do_h(&st, "GET", "/v1/users/1/recommendations?k=5", NULL, cred, &r), 0);
	cr_assert(r.request_id[0] != '\0' && strcmp(r.request_id, id) != 0, "fresh id: %s",
	          r.request_id);
	http_reply_free(&r);
	/* Stopped, so every line is written. */
	cr_assert_eq(stack_stop(&st), 0);
	cr_expect(log_has(4, id, "event=http.request"), "gateway: no line with req=%s", id);
	cr_expect(log_has(1, id, "event=rpc.request") && log_has(1, id, "method=user_features"),
	          "feature: no line with req=%s", id);
	cr_expect(log_has(2, id, "method=candidates"), "candidate: no line with req=%s", id);
	cr_expect(log_has(3, id, "method=rank"), "ranking: no line with req=%s", id);
	cr_expect(log_has(0, id, "event=ingest.batch"), "ingest: no line with req=%s", id);
}
