/* Several ingest and several feature replicas (docs/DEPLOY.md "Every feature pod sees every
 * event"): two rs-ingest and two rs-feature processes, each feature dialling both ingest
 * publishers (RS_INGEST_PUB_URL as a list). One event enters through the gateway (ingest A),
 * one straight into ingest B; both feature processes must receive both on their stream. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.pb-c.h"
#include "event.pb-c.h"
#include "rs_arena.h"
#include "rs_probe.h"
#include "rs_rpc.h"
#include "rs_time.h"
#include "stack.h"

extern char **environ;

static test_stack st;
static pid_t extra[2] = {-1, -1}; /* ingest B, feature B */

static void
kill_leftovers(void)
{
	for (int i = 0; i < 2; i++)
		if (extra[i] > 0) {
			kill(extra[i], SIGKILL);
			waitpid(extra[i], NULL, 0);
			extra[i] = -1;
		}
	stack_kill_all(&st);
}

/* One more service process: rs-NAME with the inherited environment (minus RS_*, except the
 * transport switch) plus vars; output into the build folder's it-fanout-NAME.log. */
static pid_t
spawn_extra(const char *name, const char *const *vars)
{
	const char *build = getenv("RS_TEST_BUILD");
	char exe[512], logp[512];
	snprintf(exe, sizeof(exe), "%s/services/%s/rs-%s", build, name, name);
	snprintf(logp, sizeof(logp), "%s/it-fanout-%s.log", build, name);
	size_t n = 0, k = 0;
	while (environ[n] != NULL)
		n++;
	char **env = calloc(n + 16, sizeof(char *));
	cr_assert_not_null(env);
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "RS_", 3) != 0 ||
		    strncmp(environ[i], "RS_RPC_TRANSPORT=", 17) == 0)
			env[k++] = environ[i];
	for (size_t i = 0; vars[i] != NULL; i++)
		env[k++] = (char *) vars[i];
	env[k] = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	char *argv[] = {exe, NULL};
	pid_t pid;
	int rc = posix_spawn(&pid, exe, &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	cr_assert_eq(rc, 0, "cannot start %s: %s", exe, strerror(rc));
	return pid;
}

/* The value of an unlabelled counter in a service's METHOD_METRICS text, or -1. */
static long
metric(const char *url, const char *name)
{
	rs_rpc_client *c;
	rs_arena *a;
	Rs__MetricsRequest req = RS__METRICS_REQUEST__INIT;
	Rs__MetricsResponse *resp = NULL;
	Rs__Status status;
	char err[128], pat[128];
	long v = -1;
	cr_assert_eq(rs_rpc_client_open(&c, url), 0);
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	for (int i = 0; i < 200 && rs_rpc_client_connected(c) == 0; i++)
		usleep(10000);
	if (rs_rpc_request(c, RS__METHOD__METHOD_METRICS, &req.base,
	                   &rs__metrics_response__descriptor, 2000, a, (void **) &resp, &status,
	                   err, sizeof(err)) == 0 &&
	    status == RS__STATUS__STATUS_OK) {
		snprintf(pat, sizeof(pat), "\n%s ", name);
		const char *p = strstr(resp->text, pat);
		if (p != NULL)
			v = strtol(p + strlen(pat), NULL, 10);
	}
	rs_arena_destroy(a);
	rs_rpc_client_close(c);
	return v;
}

static void
wait_stream_complete(const char *url)
{
	char detail[256] = "";
	double t0 = rs_mono_ms();
	while (rs_mono_ms() - t0 < 15000) {
		if (rs_probe_health(url, 1000, detail, sizeof(detail)) == 1 &&
		    strstr(detail, "stream=connected") != NULL)
			return;
		usleep(50000);
	}
	cr_assert_fail("%s: stream never connected to both publishers: %s", url, detail);
}

Test(fanout, every_feature_process_receives_the_events_of_every_ingest, .timeout = 120,
     .fini = kill_leftovers)
{
	char key[160], key_header[200];
	char dsn[600], ing_b[64], pub_b[64], spool_b[300], feat_b[64], list[160], feat_a[64];
	char list_env[200], mh_ing_b[64], mh_feat_b[64];

	cr_assert_eq(stack_db_reset(&st, "rs_it_fanout"), 0);
	cr_assert_eq(stack_sql(&st, it_seed_sql), 0, "seeding failed");
	cr_assert_eq(stack_apikey(&st, "fanout-test", key, sizeof(key)), 0, "apikey create");
	snprintf(key_header, sizeof(key_header), "Authorization: Bearer %s", key);
	cr_assert_eq(stack_start(&st, 18460, 20000), 0, "stack did not become ready");

	int b = st.base_port;
	snprintf(list, sizeof(list), "tcp://127.0.0.1:%d,tcp://127.0.0.1:%d", b + 2, b + 7);
	snprintf(feat_a, sizeof(feat_a), "tcp://127.0.0.1:%d", b + 3);
	snprintf(dsn, sizeof(dsn), "RS_PG_DSN=%s", st.dsn);
	snprintf(ing_b, sizeof(ing_b), "RS_INGEST_URL=tcp://127.0.0.1:%d", b + 6);
	snprintf(pub_b, sizeof(pub_b), "RS_INGEST_PUB_URL=tcp://127.0.0.1:%d", b + 7);
	snprintf(spool_b, sizeof(spool_b), "RS_INGEST_SPOOL_DIR=%s/it-spool-fanout-%d",
	         getenv("RS_TEST_BUILD"), b);
	/* the extra replicas' metrics listeners on this stack's ports, never the defaults */
	snprintf(mh_ing_b, sizeof(mh_ing_b), "RS_INGEST_METRICS_ADDR=127.0.0.1:%d", b + 14);
	snprintf(mh_feat_b, sizeof(mh_feat_b), "RS_FEATURE_METRICS_ADDR=127.0.0.1:%d", b + 15);
	const char *ingest_vars[] = {dsn, ing_b, pub_b, spool_b, mh_ing_b, "RS_LOG_LEVEL=info",
	                             NULL};
	extra[0] = spawn_extra("ingest", ingest_vars);
	snprintf(feat_b, sizeof(feat_b), "RS_FEATURE_URL=tcp://127.0.0.1:%d", b + 8);
	snprintf(list_env, sizeof(list_env), "RS_INGEST_PUB_URL=%s", list);
	const char *feature_vars[] = {dsn, feat_b, list_env, mh_feat_b, "RS_LOG_LEVEL=info", NULL};
	extra[1] = spawn_extra("feature", feature_vars);
	/* feature A: restarted with both publishers (extra_env is read only on a (re)start). */
	cr_assert_eq(stack_stop_one(&st, 1), 0);
	st.extra_env[0] = list_env;
	cr_assert_eq(stack_start_one(&st, 1), 0);
	st.extra_env[0] = NULL;

	char url_b[64];
	snprintf(url_b, sizeof(url_b), "tcp://127.0.0.1:%d", b + 8);
	wait_stream_complete(feat_a);
	wait_stream_complete(url_b);
	long a0 = metric(feat_a, "rs_feature_stream_events_total");
	long b0 = metric(url_b, "rs_feature_stream_events_total");
	cr_assert(a0 >= 0 && b0 >= 0, "stream counters not exported (%ld, %ld)", a0, b0);

	/* Event 1 through the gateway: stored and published by ingest A. */
	const char *hdr[] = {key_header, NULL};
	http_reply r;
	cr_assert_eq(http_do_h(&st, "POST", "/v1/events",
	                       "{\"events\": [{\"event_id\": \"fan-a\", \"user_id\": 7, "
	                       "\"item_id\": 3, \"type\": \"click\"}]}",
	                       hdr, &r),
	             0);
	cr_assert_eq(r.status, 202, "POST /v1/events: %ld %s", r.status, r.body);
	http_reply_free(&r);
	/* Event 2 straight into ingest B, as a second replica behind the gateways would get it. */
	char ing_b_url[64];
	snprintf(ing_b_url, sizeof(ing_b_url), "tcp://127.0.0.1:%d", b + 6);
	rs_rpc_client *c;
	rs_arena *arena;
	cr_assert_eq(rs_rpc_client_open(&c, ing_b_url), 0);
	cr_assert_eq(rs_arena_create(&arena, 0), 0);
	for (int i = 0; i < 500 && rs_rpc_client_connected(c) == 0; i++)
		usleep(10000);
	Rs__Event ev = RS__EVENT__INIT, *evp = &ev;
	ev.event_id = "fan-b";
	ev.user_id = 7;
	ev.item_id = 4;
	ev.type = RS__EVENT_TYPE__EVENT_CLICK;
	ev.ts_ms = rs_now_ms();
	Rs__EventBatch batch = RS__EVENT_BATCH__INIT;
	batch.n_events = 1;
	batch.events = &evp;
	Rs__EventBatchResponse *resp = NULL;
	Rs__Status status;
	char err[128];
	cr_assert_eq(rs_rpc_request(c, RS__METHOD__METHOD_EVENT_BATCH, &batch.base,
	                            &rs__event_batch_response__descriptor, 5000, arena,
	                            (void **) &resp, &status, err, sizeof(err)),
	             0, "ingest B: %s", err);
	cr_assert_eq(status, RS__STATUS__STATUS_OK, "ingest B: %s", err);
	cr_assert_eq(resp->accepted, 1);
	rs_arena_destroy(arena);
	rs_rpc_client_close(c);

	/* Both feature processes receive both events on their stream, and nothing else. */
	long a1 = a0, b1 = b0;
	double t0 = rs_mono_ms();
	while ((a1 < a0 + 2 || b1 < b0 + 2) && rs_mono_ms() - t0 < 10000) {
		usleep(20000);
		a1 = metric(feat_a, "rs_feature_stream_events_total");
		b1 = metric(url_b, "rs_feature_stream_events_total");
	}
	usleep(200000);
	a1 = metric(feat_a, "rs_feature_stream_events_total");
	b1 = metric(url_b, "rs_feature_stream_events_total");
	cr_expect_eq(a1 - a0, 2, "feature A received %ld stream events, want 2 (one per ingest)",
	             a1 - a0);
	cr_expect_eq(b1 - b0, 2, "feature B received %ld stream events, want 2 (one per ingest)",
	             b1 - b0);
	cr_expect_eq(metric(ing_b_url, "rs_ingest_published_total"), 1,
	             "ingest B must have published exactly its own event");

	for (int i = 0; i < 2; i++) {
		kill(extra[i], SIGTERM);
		int ws;
		cr_expect_eq(waitpid(extra[i], &ws, 0), extra[i]);
		cr_expect(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "extra process %d did not exit 0",
		          i);
		extra[i] = -1;
	}
	cr_expect_eq(stack_stop(&st), 0);
}
