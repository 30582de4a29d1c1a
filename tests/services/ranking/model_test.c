/* rs-ranking follows the active model version: every response names it, a switch (NOTIFY) or
 * rollback under load fails no request, and the info metric names it. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "model_fixture.h"
#include "pg_fixture.h"
#include "ranking.h"
#include "ranking.pb-c.h"
#include "rs_err.h"
#include "rpc_listen.h"
#include "rs_rpc.h"
#include "rs_time.h"

static fx_pg fx;
static rank_state *st;
static rs_rpc_server *srv;
static rs_rpc_client *cli;
static char url[64], root[64];

static const int64_t ids[3] = {1, 2, 3};
static const float Y[3 * 2] = {1, 0, 0, 1, 0.5f, 0.5f};

static void
write_version(const char *name)
{
	char dir[128];
	fx_model m = {.n_items = 3, .factors = 2, .ids = ids, .V = Y, .alpha = -1, .reg = -1};
	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	fx_model_write(dir, &m);
}

static void
setup(void)
{
	snprintf(root, sizeof(root), "/tmp/rs-rank-model-XXXXXX");
	fx_tmpdir(root);
	write_version("rv1");
	write_version("rv2");
	fx_pg_setup(&fx, "rank_m");
	fx_sql(&fx, "insert into items(item_id, title, category) values (1, 'a', 'X'), (2, 'b', "
	            "'X'), (3, 'c', 'Y');"
	            "insert into model_versions(version, path) values ('rv1', 'rv1'), ('rv2', "
	            "'rv2'); select rs_model_activate('rv1')");
}

static void
start(int poll_ms)
{
	rank_config cfg = {
	        .pg_dsn = fx.dsn,
	        .url = url,
	        .workers = 2,
	        .log_level = RS_LOG_WARN,
	        .default_k = 3,
	        .refresh_ms = 60000,
	        .pg_timeout_ms = 5000,
	        .model_dir = root,
	        .model_poll_ms = poll_ms,
	};
	snprintf(url, sizeof(url), "%s", T_RPC_LISTEN);
	rs_log_init("ranking-test", RS_LOG_WARN);
	cr_assert_eq(rank_open(&st, &cfg), 0);
	cr_assert_eq(rs_rpc_server_open(&srv, url, 2, rank_routes, st), 0);
	snprintf(url, sizeof(url), "%s", rs_rpc_server_url(srv));
	cr_assert_eq(rs_rpc_client_open(&cli, url), 0);
	for (int i = 0; i < 200 && rs_rpc_client_connected(cli) == 0; i++)
		usleep(5000);
	cr_assert_gt(rs_rpc_client_connected(cli), 0);
}

static void
teardown(void)
{
	rs_rpc_client_close(cli);
	rs_rpc_server_close(srv);
	rank_close(st);
	fx_pg_teardown(&fx);
	fx_rmtree(root);
}

TestSuite(rank_model, .init = setup, .fini = teardown, .timeout = 20);

static int
rank(rs_arena *a, Rs__RankResponse **out)
{
	Rs__RankRequest req = RS__RANK_REQUEST__INIT;
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	Rs__CandidatesResponse cr = RS__CANDIDATES_RESPONSE__INIT;
	Rs__Candidate c[3], *cp[3];
	Rs__Status status;
	char err[256];
	for (int i = 0; i < 3; i++) {
		rs__candidate__init(&c[i]);
		c[i].item_id = i + 1;
		c[i].score = 1.0f / (float) (i + 1);
		cp[i] = &c[i];
	}
	h.request_id = "r";
	h.deadline_unix_ms = rs_now_ms() + 2000;
	req.header = &h;
	req.user_id = 7;
	cr.candidates = cp;
	cr.n_candidates = 3;
	req.retrieval = &cr;
	int rv = rs_rpc_request(cli, RS__METHOD__METHOD_RANK, &req.base,
	                        &rs__rank_response__descriptor, 2000, a, (void **) out, &status,
	                        err, sizeof(err));
	return rv != 0 ? -1000 + rv : (int) status;
}

Test(rank_model, responses_name_the_active_version)
{
	Rs__RankResponse *r;
	rs_arena *a;
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	start(0);
	cr_assert_eq(rank(a, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "linear-v1"); /* not checked yet */
	cr_assert_eq(rank_model_check(st), 0);
	cr_assert_eq(rank(a, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "rv1");
	cr_assert_eq(r->n_items, 3);
	fx_sql(&fx, "update model_versions set active = false");
	cr_assert_eq(rank_model_check(st), 0);
	cr_assert_eq(rank(a, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "linear-v1");
	rs_arena_destroy(a);
}

typedef struct hammer {
	atomic_int stop, ok, failed, v1, v2;
} hammer;

static void *
hammer_run(void *arg)
{
	hammer *hm = arg;
	rs_arena *a;
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	while (!atomic_load(&hm->stop)) {
		Rs__RankResponse *r;
		rs_arena_reset(a);
		if (rank(a, &r) != RS__STATUS__STATUS_OK || r->n_items != 3) {
			atomic_fetch_add(&hm->failed, 1);
			continue;
		}
		atomic_fetch_add(&hm->ok, 1);
		if (strcmp(r->header->model_version, "rv1") == 0)
			atomic_fetch_add(&hm->v1, 1);
		else if (strcmp(r->header->model_version, "rv2") == 0)
			atomic_fetch_add(&hm->v2, 1);
	}
	rs_arena_destroy(a);
	return NULL;
}

static void
wait_for(atomic_int *c, int n)
{
	for (int i = 0; i < 400 && atomic_load(c) < n; i++)
		usleep(10000);
	cr_assert_geq(atomic_load(c), n);
}

Test(rank_model, switching_versions_fails_no_request)
{
	hammer hm;
	pthread_t t;
	memset(&hm, 0, sizeof(hm));
	start(60000); /* switches arrive by NOTIFY */
	cr_assert_eq(pthread_create(&t, NULL, hammer_run, &hm), 0);
	wait_for(&hm.v1, 20);
	fx_sql(&fx, "select rs_model_activate('rv2')");
	wait_for(&hm.v2, 20);
	int before = atomic_load(&hm.v1);
	fx_sql(&fx, "select rs_model_activate('rv1')");
	wait_for(&hm.v1, before + 20);
	atomic_store(&hm.stop, 1);
	pthread_join(t, NULL);
	cr_assert_eq(atomic_load(&hm.failed), 0, "%d failed of %d", atomic_load(&hm.failed),
	             atomic_load(&hm.ok));
	char *text = rs_metrics_render(NULL);
	cr_assert_not_null(strstr(text, "rs_model_info{version=\"rv1\"} 1"), "%s", text);
	free(text);
}
