/* rs-feature's online embedding: the fold-in against a direct double-precision solve of the
 * same normal equations on a tiny fixture version, the reported version, a version switch
 * under load, and the fold-in time for 20,000 x 64. */
#include <criterion/criterion.h>
#include <math.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "model_fixture.h"
#include "feature.h"
#include "feature.pb-c.h"
#include "pg_fixture.h"
#include "rs_err.h"
#include "rpc_listen.h"
#include "rs_rpc.h"
#include "rs_time.h"

static fx_pg fx;
static feat_state *st;
static rs_rpc_server *srv;
static rs_rpc_client *cli;
static rs_arena *arena;
static char url[64], root[64];

/* user 1: view 10, click 11, purchase 10; user 2: one view of 12; user 4: viewed 10, then
 * not_interested in it; user 5: only an item the model does not know (13). */
static const char seed_sql[] =
        "insert into items(item_id, title) values (10, 'a'), (11, 'b'), (12, 'c'), (13, 'd');\n"
        "insert into events(event_id, user_id, item_id, type, ts) values\n"
        "  ('e1', 1, 10, 1, now() - interval '3 hours'),\n"
        "  ('e2', 1, 11, 2, now() - interval '2 hours'),\n"
        "  ('e3', 1, 10, 4, now() - interval '1 hour'),\n"
        "  ('e4', 2, 12, 1, now() - interval '1 day'),\n"
        "  ('e5', 4, 10, 1, now() - interval '2 hours'),\n"
        "  ('e6', 4, 10, 6, now() - interval '1 hour'),\n"
        "  ('e7', 5, 13, 1, now() - interval '1 hour');\n";

#define NI 5
#define NF 3
static const int64_t ids[NI] = {10, 11, 12, 20, 21};
static const float Y1[NI * NF] = {0.9f, 0.1f,  0.0f, 0.2f, 0.8f, 0.1f, 0.0f, 0.3f,
                                  0.7f, -0.4f, 0.2f, 0.1f, 0.3f, 0.3f, 0.3f};
static const float Y2[NI * NF] = {0.1f, 0.9f, 0.0f, 0.8f, 0.2f, 0.1f, 0.3f, 0.0f,
                                  0.7f, 0.2f, 0.2f, 0.1f, 0.3f, 0.3f, 0.3f};
static const double ALPHA = 1.5, REG = 0.5;

static void
write_version(const char *name, const float *Y)
{
	char dir[128];
	fx_model m = {.n_items = NI, .factors = NF, .ids = ids, .V = Y, .alpha = ALPHA, .reg = REG};
	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	fx_model_write(dir, &m);
}

static void
start_pub(int poll_ms, const char *pub_url)
{
	feat_config cfg = {
	        .pg_dsn = fx.dsn,
	        .url = url,
	        .pub_url = pub_url,
	        .workers = 2,
	        .log_level = RS_LOG_WARN,
	        .max_events = 50,
	        .history_cap = 100,
	        .cache_users = 1000,
	        .cache_ttl_ms = 60000,
	        .pg_timeout_ms = 1000,
	        .model_dir = root,
	        .model_poll_ms = poll_ms,
	        .model_cache = 2,
	};
	snprintf(url, sizeof(url), "%s", T_RPC_LISTEN);
	rs_log_init("feature-test", RS_LOG_WARN);
	cr_assert_eq(feat_open(&st, &cfg), 0);
	cr_assert_eq(rs_rpc_server_open(&srv, url, 2, feat_routes, st), 0);
	snprintf(url, sizeof(url), "%s", rs_rpc_server_url(srv));
	cr_assert_eq(rs_rpc_client_open(&cli, url), 0);
	for (int i = 0; i < 200 && rs_rpc_client_connected(cli) == 0; i++)
		usleep(5000);
	cr_assert_gt(rs_rpc_client_connected(cli), 0);
	cr_assert_eq(rs_arena_create(&arena, 0), 0);
}

static void
start(int poll_ms)
{
	start_pub(poll_ms, "");
}

static void
setup(void)
{
	snprintf(root, sizeof(root), "/tmp/rs-feat-model-XXXXXX");
	fx_tmpdir(root);
	write_version("fv1", Y1);
	write_version("fv2", Y2);
	write_version("fv3", Y2);
	write_version("fv4", Y1);
	fx_pg_setup(&fx, "feat_m");
	fx_sql(&fx, seed_sql);
	fx_sql(&fx, "insert into model_versions(version, path) values ('fv1', 'fv1'), ('fv2', "
	            "'fv2'), ('fv3', 'fv3'), ('fv4', 'fv4'); select rs_model_activate('fv1')");
}

static void
teardown(void)
{
	rs_rpc_client_close(cli);
	rs_rpc_server_close(srv);
	feat_close(st);
	rs_arena_destroy(arena);
	fx_pg_teardown(&fx);
	fx_rmtree(root);
}

TestSuite(feat_model, .init = setup, .fini = teardown, .timeout = 20);

/* One USER_FEATURES call served with `version` ("" = the active one) and the hypothetical
 * events hyp[0..nh) (what-if); returns the status (or -1000 + RS_E*). */
static int
features_ex(rs_arena *a, int64_t user, const char *version, Rs__HistoryEvent *const *hyp, size_t nh,
            Rs__UserFeaturesResponse **out)
{
	Rs__UserFeaturesRequest req = RS__USER_FEATURES_REQUEST__INIT;
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	Rs__Status status;
	char err[256];
	h.request_id = "f";
	h.deadline_unix_ms = rs_now_ms() + 2000;
	h.model_version = (char *) version;
	req.header = &h;
	req.user_id = user;
	req.n_hypothetical = nh;
	req.hypothetical = (Rs__HistoryEvent **) hyp;
	int rv = rs_rpc_request(cli, RS__METHOD__METHOD_USER_FEATURES, &req.base,
	                        &rs__user_features_response__descriptor, 2000, a, (void **) out,
	                        &status, err, sizeof(err));
	return rv != 0 ? -1000 + rv : (int) status;
}

static int
features(rs_arena *a, int64_t user, Rs__UserFeaturesResponse **out)
{
	Rs__UserFeaturesRequest req = RS__USER_FEATURES_REQUEST__INIT;
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	Rs__Status status;
	char err[256];
	h.request_id = "f";
	h.deadline_unix_ms = rs_now_ms() + 2000;
	req.header = &h;
	req.user_id = user;
	int rv = rs_rpc_request(cli, RS__METHOD__METHOD_USER_FEATURES, &req.base,
	                        &rs__user_features_response__descriptor, 2000, a, (void **) out,
	                        &status, err, sizeof(err));
	return rv != 0 ? -1000 + rv : (int) status;
}

/* The expected u in double precision: Gaussian elimination with partial pivoting. */
static void
direct_solve(const float *Y, const int *codes, const double *w, int nh, double *u)
{
	double A[NF][NF + 1];
	memset(A, 0, sizeof(A));
	for (int i = 0; i < NI; i++)
		for (int a = 0; a < NF; a++)
			for (int b = 0; b < NF; b++)
				A[a][b] += (double) Y[i * NF + a] * Y[i * NF + b];
	for (int a = 0; a < NF; a++)
		A[a][a] += REG;
	for (int h = 0; h < nh; h++) {
		const float *y = &Y[codes[h] * NF];
		double c = 1 + ALPHA * w[h];
		for (int a = 0; a < NF; a++) {
			for (int b = 0; b < NF; b++)
				A[a][b] += (c - 1) * y[a] * y[b];
			A[a][NF] += c * y[a];
		}
	}
	for (int p = 0; p < NF; p++) {
		int best = p;
		for (int r = p + 1; r < NF; r++)
			if (fabs(A[r][p]) > fabs(A[best][p]))
				best = r;
		for (int c = 0; c <= NF; c++) {
			double t = A[p][c];
			A[p][c] = A[best][c];
			A[best][c] = t;
		}
		for (int r = 0; r < NF; r++) {
			if (r == p)
				continue;
			double q = A[r][p] / A[p][p];
			for (int c = p; c <= NF; c++)
				A[r][c] -= q * A[p][c];
		}
	}
	for (int a = 0; a < NF; a++)
		u[a] = A[a][NF] / A[a][a];
}

Test(feat_model, fold_in_matches_a_direct_solve)
{
	Rs__UserFeaturesResponse *r;
	double u[NF];
	start(0);
	cr_assert_eq(feat_model_check(st), 0);

	/* user 1: item 10 strongest event purchase (3), item 11 click (1.5) */
	cr_assert_eq(features(arena, 1, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "fv1");
	cr_assert_eq(r->n_embedding, NF);
	direct_solve(Y1, (int[]){0, 1}, (double[]){3.0, 1.5}, 2, u);
	for (int a = 0; a < NF; a++)
		cr_assert_float_eq(r->embedding[a], u[a], 1e-4, "dim %d: %f vs %f", a,
		                   r->embedding[a], u[a]);

	/* user 2: one view is enough for a personal vector */
	cr_assert_eq(features(arena, 2, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_embedding, NF);
	direct_solve(Y1, (int[]){2}, (double[]){1.0}, 1, u);
	for (int a = 0; a < NF; a++)
		cr_assert_float_eq(r->embedding[a], u[a], 1e-4);

	/* no history, only a not_interested item, only unknown items: no embedding */
	cr_assert_eq(features(arena, 3, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_embedding, 0);
	cr_assert_str_eq(r->header->model_version, "fv1");
	cr_assert_eq(features(arena, 4, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_embedding, 0);
	cr_assert_eq(features(arena, 5, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_embedding, 0);
}

Test(feat_model, no_active_version_no_embedding)
{
	Rs__UserFeaturesResponse *r;
	fx_sql(&fx, "update model_versions set active = false");
	start(0);
	cr_assert_eq(feat_model_check(st), 0);
	cr_assert_eq(features(arena, 1, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_embedding, 0);
	cr_assert_str_eq(r->header->model_version, "");
	cr_assert_eq(r->n_recent, 3);
}

typedef struct hammer {
	atomic_int stop, ok, failed, v1, v2;
} hammer;

static void *
hammer_run(void *arg)
{
	hammer *hm = arg;
	rs_arena *a;
	double u1[NF], u2[NF];
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	direct_solve(Y1, (int[]){0, 1}, (double[]){3.0, 1.5}, 2, u1);
	direct_solve(Y2, (int[]){0, 1}, (double[]){3.0, 1.5}, 2, u2);
	while (!atomic_load(&hm->stop)) {
		Rs__UserFeaturesResponse *r;
		rs_arena_reset(a);
		if (features(a, 1, &r) != RS__STATUS__STATUS_OK || r->n_embedding != NF) {
			atomic_fetch_add(&hm->failed, 1);
			continue;
		}
		atomic_fetch_add(&hm->ok, 1);
		/* the vector must come from the factors of the version the header names */
		const double *u = strcmp(r->header->model_version, "fv1") == 0 ? u1 : u2;
		int good = strcmp(r->header->model_version, "fv1") == 0 ||
		           strcmp(r->header->model_version, "fv2") == 0;
		for (int d = 0; d < NF && good; d++)
			good = fabs(r->embedding[d] - u[d]) < 1e-4;
		atomic_fetch_add(!good ? &hm->failed : u == u1 ? &hm->v1 : &hm->v2, 1);
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

Test(feat_model, switching_versions_fails_no_request)
{
	hammer hm;
	pthread_t t;
	memset(&hm, 0, sizeof(hm));
	start(60000); /* switches arrive by NOTIFY */
	for (int i = 0; i < 300; i++) {
		rs_model *m = rs_model_slot_get(st->fs_slot);
		rs_model_unref(m);
		if (m != NULL)
			break;
		usleep(10000);
	}
	cr_assert_eq(pthread_create(&t, NULL, hammer_run, &hm), 0);
	wait_for(&hm.v1, 20);
	fx_sql(&fx, "select rs_model_activate('fv2')");
	wait_for(&hm.v2, 20);
	int before = atomic_load(&hm.v1);
	fx_sql(&fx, "select rs_model_activate('fv1')");
	wait_for(&hm.v1, before + 20);
	atomic_store(&hm.stop, 1);
	pthread_join(t, NULL);
	cr_assert_eq(atomic_load(&hm.failed), 0, "%d failed of %d", atomic_load(&hm.failed),
	             atomic_load(&hm.ok));
}

/* Fold-in cost at the serving benchmark's scale: 20,000 items x 64 factors, 50 history items. */
Test(feat_model, fold_in_time_20000x64)
{
	const uint32_t n = 20000, f = 64;
	char dir[128], err[256] = "";
	int64_t *big_ids = malloc(n * sizeof(*big_ids));
	float *Y = malloc((size_t) n * f * sizeof(float));
	uint32_t x = 7;
	rs_model *m;
	feat_event ev[50];
	float out[64];

	for (uint32_t i = 0; i < n; i++)
		big_ids[i] = 1000 + i;
	for (size_t i = 0; i < (size_t) n * f; i++) {
		x = x * 1664525u + 1013904223u;
		Y[i] = ((float) (x >> 8) / 16777216.0f - 0.5f) * 0.2f;
	}
	snprintf(dir, sizeof(dir), "%s/big", root);
	fx_model m_fx = {.n_items = n, .factors = f, .ids = big_ids, .V = Y, .alpha = 2, .reg = 10};
	fx_model_write(dir, &m_fx);
	double t0 = rs_mono_ms();
	cr_assert_eq(rs_model_open(dir, NULL, &m, err, sizeof(err)), 0, "%s", err);
	double t1 = rs_mono_ms();
	cr_assert_eq(feat_fold_prepare(NULL, m), 0);
	double t2 = rs_mono_ms();
	for (int i = 0; i < 50; i++)
		ev[i] = (feat_event){1000 + (int64_t) (i * 397) % n, 0, 0, 0, 1 + i % 4};
	double best = 1e9;
	for (int rep = 0; rep < 50; rep++) {
		double a = rs_mono_ms();
		cr_assert_eq(feat_fold_user(m, ev, 50, out), 50);
		best = fmin(best, rs_mono_ms() - a);
	}
	fprintf(stderr,
	        "fold-in 20000x64: open %.1f ms, Gram (ssyrk) %.2f ms, per user (50 items) "
	        "%.3f ms best of 50\n",
	        t1 - t0, t2 - t1, best);
	rs_model_unref(m);
	free(big_ids);
	free(Y);
}

/* A NaN in an item's factors fails the fold-in of a history with that item (no embedding, as
 * when LAPACKE's own NaN check refused it) and leaves the fold-in of other histories alone. */
Test(feat_model, a_nan_factor_fails_the_fold_in_that_uses_it)
{
	const uint32_t n = 3, f = 4;
	char dir[128], err[256] = "";
	int64_t nan_ids[3] = {1, 2, 3};
	float Y[12] = {0.5f, 0.1f, 0.0f, 0.2f, 0.1f, NAN, 0.3f, 0.0f, 0.2f, 0.2f, 0.4f, 0.1f};
	rs_model *m;
	float out[4];

	snprintf(dir, sizeof(dir), "%s/nan", root);
	fx_model m_fx = {.n_items = n, .factors = f, .ids = nan_ids, .V = Y, .alpha = 2, .reg = 10};
	fx_model_write(dir, &m_fx);
	cr_assert_eq(rs_model_open(dir, NULL, &m, err, sizeof(err)), 0, "%s", err);
	/* Y'Y over every item has NaNs in row and column 1: any history fails */
	cr_assert_eq(feat_fold_prepare(NULL, m), 0);
	feat_event ev[2] = {{1, 0, 0, 0, 1}, {3, 0, 0, 0, 4}};
	cr_assert_eq(feat_fold_user(m, ev, 2, out), RS_EINTERNAL);
	rs_model_unref(m);

	/* the same model without the NaN folds the same history */
	Y[5] = 0.3f;
	snprintf(dir, sizeof(dir), "%s/finite", root);
	fx_model_write(dir, &m_fx);
	cr_assert_eq(rs_model_open(dir, NULL, &m, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(feat_fold_prepare(NULL, m), 0);
	cr_assert_eq(feat_fold_user(m, ev, 2, out), 2);
	for (uint32_t a = 0; a < f; a++)
		cr_assert(isfinite(out[a]));
	rs_model_unref(m);
}

static void
assert_embedding(const Rs__UserFeaturesResponse *r, const double *u)
{
	cr_assert_eq(r->n_embedding, NF);
	for (int a = 0; a < NF; a++)
		cr_assert_float_eq(r->embedding[a], u[a], 1e-4, "dim %d: %f vs %f", a,
		                   r->embedding[a], u[a]);
}

/* A request that names a published version is served with it (fold-in with its factors, the
 * answer names it) while requests that name none keep the active one; an unknown version is
 * NOT_FOUND; at most model_cache (2) other versions stay open, the least recently used goes. */
Test(feat_model, a_named_version_serves_one_request_and_the_active_one_the_rest)
{
	Rs__UserFeaturesResponse *r;
	double u1[NF], u2[NF];
	char names[64];
	start(0);
	cr_assert_eq(feat_model_check(st), 0);
	direct_solve(Y1, (int[]){0, 1}, (double[]){3.0, 1.5}, 2, u1);
	direct_solve(Y2, (int[]){0, 1}, (double[]){3.0, 1.5}, 2, u2);

	cr_assert_eq(features_ex(arena, 1, "fv2", NULL, 0, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "fv2");
	assert_embedding(r, u2);
	cr_assert_eq(r->n_recent, 3);
	cr_assert_eq(features(arena, 1, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "fv1");
	assert_embedding(r, u1);
	cr_assert_eq(features_ex(arena, 1, "fv1", NULL, 0, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "fv1");
	cr_assert_eq(rs_model_watch_cached(st->fs_watch, names, sizeof(names)), 1);
	cr_assert_str_eq(names, "fv2", "the active version is not cached twice");

	cr_assert_eq(features_ex(arena, 1, "no-such-version", NULL, 0, &r),
	             RS__STATUS__STATUS_NOT_FOUND);

	/* a third named version evicts the least recently used one */
	cr_assert_eq(features_ex(arena, 1, "fv3", NULL, 0, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "fv3");
	assert_embedding(r, u2);
	cr_assert_eq(features_ex(arena, 1, "fv2", NULL, 0, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(features_ex(arena, 1, "fv4", NULL, 0, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "fv4");
	assert_embedding(r, u1);
	cr_assert_eq(rs_model_watch_cached(st->fs_watch, names, sizeof(names)), 2);
	cr_assert_str_eq(names, "fv4,fv2");
	cr_assert_eq(features(arena, 1, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "fv1");
	assert_embedding(r, u1);
}

static Rs__HistoryEvent *
hyp_event(Rs__HistoryEvent *e, int64_t item, Rs__EventType type)
{
	rs__history_event__init(e);
	e->item_id = item;
	e->type = type;
	e->ts_ms = 1; /* ignored: what-if events happen now */
	return e;
}

static int64_t
event_rows(void)
{
	PGresult *res = PQexec(fx.conn, "select count(*) from events");
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	int64_t n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return n;
}

/* What-if: hypothetical events join the returned history (newest first: the last one given is
 * the newest, all newer than what is stored) and the embedding is the fold-in of exactly that
 * history; nothing is stored (events table), cached (the user's cache entry, with the event
 * stream connected, still holds the stored history) or kept for the next request. */
Test(feat_model, hypothetical_events_fold_into_this_answer_only)
{
	Rs__UserFeaturesResponse *r;
	Rs__HistoryEvent e[3], *hyp[3];
	double u[NF];
	nng_socket pub;
	char pub_url[64];

	snprintf(pub_url, sizeof(pub_url), "inproc://feature-model-pub-%d", (int) getpid());
	cr_assert_eq(nng_pub0_open(&pub), 0);
	cr_assert_eq(nng_listen(pub, pub_url, NULL, 0), 0);
	start_pub(0, pub_url);
	cr_assert_eq(feat_model_check(st), 0);
	for (int i = 0; i < 400 && feat_sub_connected(st->fs_sub) == 0; i++)
		usleep(5000);
	cr_assert_gt(feat_sub_connected(st->fs_sub), 0);
	int64_t rows = event_rows();

	/* user 2 viewed 12 (code 2); what if they bought 10 (code 0) and then viewed 11? */
	cr_assert_eq(features(arena, 2, &r), RS__STATUS__STATUS_OK); /* loads the cache */
	int64_t stored_ts = r->recent[0]->ts_ms;
	hyp[0] = hyp_event(&e[0], 10, RS__EVENT_TYPE__EVENT_PURCHASE);
	hyp[1] = hyp_event(&e[1], 11, RS__EVENT_TYPE__EVENT_VIEW);
	int64_t t0 = rs_now_ms();
	cr_assert_eq(features_ex(arena, 2, "", hyp, 2, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_recent, 3);
	cr_assert_eq(r->recent[0]->item_id, 11);
	cr_assert_eq(r->recent[0]->type, RS__EVENT_TYPE__EVENT_VIEW);
	cr_assert_eq(r->recent[1]->item_id, 10);
	cr_assert_eq(r->recent[1]->type, RS__EVENT_TYPE__EVENT_PURCHASE);
	cr_assert_eq(r->recent[2]->item_id, 12);
	cr_assert_eq(r->recent[2]->ts_ms, stored_ts);
	cr_assert(r->recent[0]->ts_ms >= t0 && r->recent[0]->ts_ms > r->recent[1]->ts_ms &&
	          r->recent[1]->ts_ms > stored_ts);
	cr_assert_eq(r->total_events, 3);
	/* the fold-in of {10: purchase 3, 11: view 1, 12: view 1} */
	direct_solve(Y1, (int[]){0, 1, 2}, (double[]){3.0, 1.0, 1.0}, 3, u);
	assert_embedding(r, u);

	/* not_interested as a what-if takes the item out of the fold-in; with a named version */
	hyp[0] = hyp_event(&e[0], 12, RS__EVENT_TYPE__EVENT_NOT_INTERESTED);
	hyp[1] = hyp_event(&e[1], 11, RS__EVENT_TYPE__EVENT_ADD_TO_CART);
	cr_assert_eq(features_ex(arena, 2, "fv2", hyp, 2, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "fv2");
	cr_assert_eq(r->recent[1]->type, RS__EVENT_TYPE__EVENT_NOT_INTERESTED);
	direct_solve(Y2, (int[]){1}, (double[]){2.0}, 1, u);
	assert_embedding(r, u);

	/* a new user with only hypothetical events has a history and a vector */
	hyp[0] = hyp_event(&e[0], 11, RS__EVENT_TYPE__EVENT_CLICK);
	cr_assert_eq(features_ex(arena, 77, "", hyp, 1, &r), RS__STATUS__STATUS_OK);
	cr_assert(r->known_user);
	cr_assert_eq(r->n_recent, 1);
	direct_solve(Y1, (int[]){1}, (double[]){1.5}, 1, u);
	assert_embedding(r, u);

	/* nothing was kept: the next answer, the cache entry and the table are as before */
	cr_assert_eq(features(arena, 2, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_recent, 1);
	cr_assert_eq(r->recent[0]->item_id, 12);
	cr_assert_eq(r->total_events, 1);
	direct_solve(Y1, (int[]){2}, (double[]){1.0}, 1, u);
	assert_embedding(r, u);
	feat_event ev[8];
	uint32_t n = 0;
	uint64_t total = 0;
	int known = 0;
	cr_assert_eq(feat_cache_get(st->fs_cache, 2, feat_sub_epoch(st->fs_sub), 0, 8, ev, &n,
	                            &total, &known, NULL),
	             0, "user 2 is served from the stream-fed cache");
	cr_assert_eq(n, 1);
	cr_assert_eq(ev[0].item_id, 12);
	cr_assert_eq(total, 1);
	cr_assert_eq(feat_cache_get(st->fs_cache, 77, feat_sub_epoch(st->fs_sub), 0, 8, ev, &n,
	                            &total, &known, NULL),
	             0);
	cr_assert_eq(n, 0, "the what-if user's cache entry holds no hypothetical event");
	cr_assert_eq(event_rows(), rows, "a what-if request stored an event");
	cr_assert_eq(features(arena, 77, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_recent, 0);
	nng_close(pub);
}

/* The embedding is folded once per state of a cached history: a repeated request reads the
 * memoized one (rs_feature_embedding_memo_total counts it), an event that changes the history
 * and another version fold again, and what each answer carries is the fold-in of its own
 * history and version. */
Test(feat_model, embedding_is_folded_once_per_state_of_the_history)
{
	Rs__UserFeaturesResponse *r;
	double u[NF];
	nng_socket pub;
	char pub_url[64];

	snprintf(pub_url, sizeof(pub_url), "inproc://feature-model-pub-memo-%d", (int) getpid());
	cr_assert_eq(nng_pub0_open(&pub), 0);
	cr_assert_eq(nng_listen(pub, pub_url, NULL, 0), 0);
	start_pub(0, pub_url);
	cr_assert_eq(feat_model_check(st), 0);
	for (int i = 0; i < 400 && feat_sub_connected(st->fs_sub) == 0; i++)
		usleep(5000);
	cr_assert_gt(feat_sub_connected(st->fs_sub), 0);
	/* user 1: item 10 purchase (3), item 11 click (1.5) */
	direct_solve(Y1, (int[]){0, 1}, (double[]){3.0, 1.5}, 2, u);
	uint64_t memo0 = rs_metric_count(st->fs_emb_hits);
	/* loads the history, folds and memoizes */
	cr_assert_eq(features(arena, 1, &r), RS__STATUS__STATUS_OK);
	assert_embedding(r, u);
	cr_assert_eq(rs_metric_count(st->fs_emb_hits), memo0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(features(arena, 1, &r), RS__STATUS__STATUS_OK);
		assert_embedding(r, u);
	}
	cr_assert_eq(rs_metric_count(st->fs_emb_hits), memo0 + 3, "not folded again");

	/* another version: its own fold-in, not the memoized one */
	double u2[NF];
	direct_solve(Y2, (int[]){0, 1}, (double[]){3.0, 1.5}, 2, u2);
	cr_assert_eq(features_ex(arena, 1, "fv2", NULL, 0, &r), RS__STATUS__STATUS_OK);
	assert_embedding(r, u2);
	cr_assert_eq(features(arena, 1, &r), RS__STATUS__STATUS_OK);
	assert_embedding(r, u);

	/* the stream brings a view of 12: the next answer folds the new history */
	feat_event e = {.item_id = 12,
	                .ts_ms = rs_now_ms(),
	                .type = 1,
	                .id_hash = feat_event_id_hash("memo-e1")};
	cr_assert_eq(feat_cache_apply(st->fs_cache, 1, &e), 1);
	uint64_t memo1 = rs_metric_count(st->fs_emb_hits);
	direct_solve(Y1, (int[]){0, 1, 2}, (double[]){3.0, 1.5, 1.0}, 3, u);
	cr_assert_eq(features(arena, 1, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_recent, 4);
	assert_embedding(r, u);
	cr_assert_eq(rs_metric_count(st->fs_emb_hits), memo1, "a changed history is folded");
	cr_assert_eq(features(arena, 1, &r), RS__STATUS__STATUS_OK);
	assert_embedding(r, u);
	nng_close(pub);
}

Test(feat_model, bad_hypothetical_events_are_invalid)
{
	Rs__UserFeaturesResponse *r;
	Rs__HistoryEvent e[FEAT_MAX_HYPOTHETICAL + 1], *hyp[FEAT_MAX_HYPOTHETICAL + 1];
	start(0);
	hyp[0] = hyp_event(&e[0], 0, RS__EVENT_TYPE__EVENT_VIEW);
	cr_assert_eq(features_ex(arena, 1, "", hyp, 1, &r), RS__STATUS__STATUS_INVALID);
	hyp[0] = hyp_event(&e[0], 10, RS__EVENT_TYPE__EVENT_UNSPECIFIED);
	cr_assert_eq(features_ex(arena, 1, "", hyp, 1, &r), RS__STATUS__STATUS_INVALID);
	for (int i = 0; i <= FEAT_MAX_HYPOTHETICAL; i++)
		hyp[i] = hyp_event(&e[i], 10, RS__EVENT_TYPE__EVENT_VIEW);
	cr_assert_eq(features_ex(arena, 1, "", hyp, FEAT_MAX_HYPOTHETICAL + 1, &r),
	             RS__STATUS__STATUS_INVALID);
	cr_assert_eq(features_ex(arena, 1, "", hyp, FEAT_MAX_HYPOTHETICAL, &r),
	             RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_recent, FEAT_MAX_HYPOTHETICAL + 3);
}
