/* The learned ranker online = offline: rs-train fits and publishes a tiny two-stage model,
 * rs-ranking loads the version and, given the candidates rs-train generated for a user (each
 * source's raw score and rank) and the user's history, computes the same feature rows and the
 * same scores. Also: versions without serving data fall back to the linear scorer, and
 * switching between a linear and a learned version under load fails no request.
 * No database: the service runs against one that is down, versions are installed with
 * rank_use_version (what the model watch's swap callback calls). */
#include <criterion/criterion.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xgboost/c_api.h>

#include "events.h"
#include "forest.h"
#include "load.h"
#include "model.h"
#include "pg_fixture.h"
#include "publish.h"
#include "ranker.h"
#include "ranker_retrieval.h"
#include "ranking.h"
#include "ranking.pb-c.h"
#include "rpc_listen.h"
#include "rs_err.h"
#include "rs_model.h"
#include "rs_rankfeat.h"
#include "rs_rpc.h"
#include "rs_time.h"
#include "twostage.h"

#define DOWN_DSN "host=127.0.0.1 port=1 user=postgres dbname=none"

static rank_state *st;
static rs_rpc_server *srv;
static rs_rpc_client *cli;
static char url[64], root[64], mdir[128], vdir[128], vold[128], vals[128];
static tr_dataset ds;
static tr_model model;
/* The published version's ranker sources, as rs-candidate opens them (v-xgb, opened on first
 * use, closed by teardown). */
static rs_model *vm;
static rs_ranksrc *vsrc;

/* run "<what> '<dir>'<tail>" (rm -rf of the test folder, rm -f of the rankfeat files) */
static void
sh(const char *what, const char *dir, const char *tail)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s '%s'%s", what, dir, tail);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* 60 users walk a cycle of 24 items (numeric ids 101..124) with a second, user-dependent
 * stride, so als, itemknn and pop all see structure; timestamps in seconds. */
static void
write_train(const char *path)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "user,item,timestamp\n");
	for (int u = 0; u < 60; u++)
		for (int s = 0; s < 9; s++) {
			int it = (u + s * (1 + u % 3)) % 24;
			fprintf(f, "%d,%d,%d\n", 1000 + u, 101 + it, 1700000000 + u * 100 + s * 10);
		}
	fclose(f);
}

static void
fit_publish(void)
{
	tr_params p;
	tr_error err;
	char train[160];

	snprintf(root, sizeof(root), "/tmp/rs-rank-xgb-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	snprintf(train, sizeof(train), "%s/train.csv", root);
	snprintf(mdir, sizeof(mdir), "%s/model", root);
	snprintf(vdir, sizeof(vdir), "%s/v-xgb", root);
	snprintf(vold, sizeof(vold), "%s/v-old", root);
	snprintf(vals, sizeof(vals), "%s/v-als", root);
	write_train(train);
	cr_assert_eq(tr_dataset_load(train, &ds, &err), 0, "%s", err.msg);
	tr_params_defaults(&p);
	snprintf(p.sources, sizeof(p.sources), "als,itemknn,pop");
	snprintf(p.holdout, sizeof(p.holdout), "leave-one-out");
	p.factors = 8;
	p.iterations = 5;
	p.cand_n = 10;
	p.trees = 30;
	p.depth = 4;
	p.nthreads = 1;
	cr_assert_eq(tr_model_fit(TR_TWOSTAGE, &p, &ds, &model, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_model_save(&model, &ds, mdir, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_publish(mdir, vdir, NULL, &err), 0, "%s", err.msg);
}

static void
start(const char *dsn, int poll_ms)
{
	rank_config cfg = {
	        .pg_dsn = dsn,
	        .url = url,
	        .workers = 2,
	        .log_level = RS_LOG_WARN,
	        .default_k = 20,
	        .refresh_ms = 60000,
	        .pg_timeout_ms = 5000,
	        .model_dir = "",
	        .model_poll_ms = poll_ms,
	        .model_cache = 2,
	};
	snprintf(url, sizeof(url), "%s", T_RPC_LISTEN);
	rs_log_init("ranking-test", RS_LOG_ERROR);
	cr_assert_eq(rank_open(&st, &cfg), 0);
	cr_assert_eq(rs_rpc_server_open(&srv, url, 2, rank_routes, st), 0);
	snprintf(url, sizeof(url), "%s", rs_rpc_server_url(srv));
	cr_assert_eq(rs_rpc_client_open(&cli, url), 0);
	for (int i = 0; i < 200 && rs_rpc_client_connected(cli) == 0; i++)
		usleep(5000);
	cr_assert_gt(rs_rpc_client_connected(cli), 0);
}

static void
setup(void)
{
	fit_publish();
	start(DOWN_DSN, 0);
}

static void
teardown(void)
{
	rs_rpc_client_close(cli);
	rs_rpc_server_close(srv);
	rank_close(st);
	rs_ranksrc_destroy(vsrc);
	rs_model_unref(vm);
	vsrc = NULL;
	vm = NULL;
	tr_model_fini(&model);
	tr_dataset_fini(&ds);
	if (root[0] != '\0')
		sh("rm -rf", root, "");
}

TestSuite(ranker, .init = setup, .fini = teardown, .timeout = 60);

/* thread CPU time in ms (the machine is shared) */
static double
cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static int
use(const char *dir, const char *version)
{
	rs_model *m;
	char err[256];
	cr_assert_eq(rs_model_open(dir, version, &m, err, sizeof(err)), 0, "%s", err);
	int rv = rank_use_version(st, m);
	rs_model_unref(m);
	return rv;
}

static int64_t
item_id(int32_t code)
{
	return atoll(tr_ids_name(ds.items, code));
}

/* rs-candidate's answer for rs-train's candidates of user u under the request's history
 * (ranker_retrieval.h: pop and itemknn scored as rs-candidate scores them, als with rs-train's
 * scores): req->retrieval. Call again after changing req->recent. */
static void
attach_retrieval(rs_arena *a, Rs__RankRequest *req, const tr_twostage_row *row)
{
	static pthread_mutex_t open_mu = PTHREAD_MUTEX_INITIALIZER; /* load threads call this too */
	char err[256];
	pthread_mutex_lock(&open_mu);
	if (vm == NULL) {
		cr_assert_eq(rs_model_open(vdir, "v-xgb", &vm, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(rs_ranksrc_open(vm, &vsrc, err, sizeof(err)), 0, "%s", err);
	}
	pthread_mutex_unlock(&open_mu);
	req->retrieval = rr_retrieval(a, &model, &ds, row, vm, vsrc, req->recent, req->n_recent,
	                              err, sizeof(err));
	cr_assert_not_null(req->retrieval, "%s", err);
}

/* One user's request as the gateway sends it for this model: the user's history and
 * rs-candidate's answer for the candidates rs-train generated. All memory in the arena. */
typedef struct req_buf {
	Rs__RankRequest req;
	Rs__RequestHeader hdr;
} req_buf;

static Rs__RankRequest *
build_request(rs_arena *a, int32_t u, const tr_twostage_row *row)
{
	req_buf *b = rs_arena_alloc(a, sizeof(*b));
	int64_t pb = ds.u_ptr[u], pe = ds.u_ptr[u + 1];
	size_t nh = (size_t) (pe - pb);

	rs__rank_request__init(&b->req);
	rs__request_header__init(&b->hdr);
	b->hdr.request_id = "xgb";
	b->hdr.deadline_unix_ms = rs_now_ms() + 5000;
	b->req.header = &b->hdr;
	b->req.user_id = atoll(tr_ids_name(ds.users, u));
	b->req.k = (uint32_t) row->n;
	b->req.explain = 1;
	b->req.recent = rs_arena_alloc(a, nh * sizeof(void *));
	for (size_t i = 0; i < nh; i++) {
		Rs__HistoryEvent *h = rs_arena_alloc(a, sizeof(*h));
		rs__history_event__init(h);
		h->item_id = item_id(ds.u_items[pb + (int64_t) i]);
		h->ts_ms = (int64_t) (ds.u_ts[pb + (int64_t) i] * 1000.0);
		h->type = RS__EVENT_TYPE__EVENT_VIEW;
		b->req.recent[nh - 1 - i] = h; /* newest first, like rs-feature */
	}
	b->req.n_recent = nh;
	attach_retrieval(a, &b->req, row);
	return &b->req;
}

static Rs__RankResponse *
rank(rs_arena *a, Rs__RankRequest *req)
{
	Rs__RankResponse *r = NULL;
	Rs__Status status;
	char err[256] = "";
	int rv = rs_rpc_request(cli, RS__METHOD__METHOD_RANK, &req->base,
	                        &rs__rank_response__descriptor, 5000, a, (void **) &r, &status, err,
	                        sizeof(err));
	cr_assert_eq(rv, 0, "rpc: %s", rs_strerror(rv));
	cr_assert_eq(status, RS__STATUS__STATUS_OK, "status %d: %s", status, err);
	return r;
}

/* the response against rs-train's rows and scores for user u; returns the max |diff| */
static double
compare_user(int32_t u)
{
	tr_twostage_row row;
	tr_error err;
	rs_arena *a;
	double maxd = 0;

	cr_assert_eq(tr_twostage_user(model.ts, &ds, u, &row, &err), 0, "%s", err.msg);
	cr_assert_gt(row.n, 1);
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	Rs__RankResponse *r = rank(a, build_request(a, u, &row));
	cr_assert_str_eq(r->header->model_version, "v-xgb");
	cr_assert_eq(r->n_items, (size_t) row.n);
	for (size_t i = 0; i < r->n_items; i++) {
		const Rs__RankedItem *it = r->items[i];
		int c = -1;
		for (int q = 0; q < row.n; q++)
			if (item_id(row.items[q]) == it->item_id)
				c = q;
		cr_assert_geq(c, 0);
		cr_assert_eq(it->n_features, (size_t) row.nfeat);
		for (int f = 0; f < row.nfeat; f++)
			cr_assert_eq(it->features[f]->value, row.feat[c * row.nfeat + f],
			             "user %d item %lld feature %s: online %.9g offline %.9g", u,
			             (long long) it->item_id, it->features[f]->name,
			             it->features[f]->value, row.feat[c * row.nfeat + f]);
		double d = fabs((double) it->score - (double) row.pred[c]);
		maxd = d > maxd ? d : maxd;
		cr_assert_lt(d, 1e-5, "user %d item %lld: online %.7g offline %.7g", u,
		             (long long) it->item_id, it->score, row.pred[c]);
		cr_assert_gt(strlen(it->reason), 0);
	}
	tr_twostage_row_fini(&row);
	rs_arena_destroy(a);
	return maxd;
}

Test(ranker, online_rows_and_scores_equal_rs_train)
{
	double maxd = 0, d;
	cr_assert_eq(use(vdir, "v-xgb"), 0);
	for (int32_t u = 0; u < ds.n_users; u += 7) {
		d = compare_user(u);
		maxd = d > maxd ? d : maxd;
	}
	cr_log_info("ranker: max |online - offline| score over users = %.3g", maxd);
}

Test(ranker, explain_names_the_ranker_features)
{
	tr_twostage_row row;
	tr_error err;
	rs_arena *a;
	const char *src[] = {"als", "itemknn", "pop"};
	char name[48];

	cr_assert_eq(use(vdir, "v-xgb"), 0);
	cr_assert_eq(tr_twostage_user(model.ts, &ds, 3, &row, &err), 0, "%s", err.msg);
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	Rs__RankResponse *r = rank(a, build_request(a, 3, &row));
	cr_assert_gt(r->n_items, 0);
	for (int f = 0; f < row.nfeat; f++) {
		rs_rankfeat_name(src, 3, f, name, sizeof(name));
		cr_assert_str_eq(r->items[0]->features[f]->name, name);
	}
	cr_assert_str_eq(r->items[0]->features[0]->name, "als_norm");
	tr_twostage_row_fini(&row);
	rs_arena_destroy(a);
}

static void
assert_contributions_add_up(const Rs__RankResponse *r, double tol)
{
	for (size_t i = 0; i < r->n_items; i++) {
		const Rs__RankedItem *it = r->items[i];
		double sum = r->base_score;
		cr_assert_gt(it->n_features, 0, "item %zu has no features", i);
		for (size_t f = 0; f < it->n_features; f++) {
			const Rs__Feature *ft = it->features[f];
			cr_assert(ft->label != NULL && ft->label[0] != '\0' &&
			                  strcmp(ft->label, ft->name) != 0,
			          "feature %s has no label of its own", ft->name);
			sum += ft->contribution;
		}
		cr_assert_float_eq(sum, it->score, tol,
		                   "item %lld: base %g + contributions = %.7g, score %.7g",
		                   (long long) it->item_id, r->base_score, sum, it->score);
		if (i > 0)
			cr_assert_geq(r->items[i - 1]->score, it->score, "not best first");
	}
}

/* explain: every scored candidate (up to explain_items) with each feature's label, value and
 * contribution; the contributions (XGBoost's approximate, Saabas) plus base_score give the
 * score up to float rounding; without explain nothing of it is computed or sent. */
Test(ranker, explain_contributions_add_up_to_the_score_for_every_candidate)
{
	tr_twostage_row row;
	tr_error err;
	rs_arena *a;

	cr_assert_eq(use(vdir, "v-xgb"), 0);
	cr_assert_eq(tr_twostage_user(model.ts, &ds, 3, &row, &err), 0, "%s", err.msg);
	cr_assert_gt(row.n, 6);
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	Rs__RankRequest *req = build_request(a, 3, &row);
	req->k = 3;
	req->explain_items = (uint32_t) row.n; /* what the gateway asks: all it sent */
	Rs__RankResponse *r = rank(a, req);
	cr_assert_eq(r->n_items, (size_t) row.n);
	cr_assert_str_eq(r->ranker, "xgboost");
	cr_assert_str_eq(r->contributions, "approximate");
	cr_assert_neq(r->base_score, 0.0f);
	assert_contributions_add_up(r, 1e-4);
	/* the same row and score as the shortlist's (explain changes nothing it does not add) */
	req->explain_items = 0;
	Rs__RankResponse *k3 = rank(a, req);
	cr_assert_eq(k3->n_items, 3);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(k3->items[i]->item_id, r->items[i]->item_id);
		cr_assert_eq(k3->items[i]->score, r->items[i]->score);
		cr_assert_str_eq(k3->items[i]->reason, r->items[i]->reason);
	}
	/* explain_items caps the list: 5 > k, more than the candidates is all of them */
	req->explain_items = 5;
	cr_assert_eq(rank(a, req)->n_items, 5);
	req->explain_items = 10000;
	cr_assert_eq(rank(a, req)->n_items, (size_t) row.n);
	/* without explain: k items, no features, no explain fields */
	req->explain = 0;
	req->explain_items = (uint32_t) row.n;
	Rs__RankResponse *plain = rank(a, req);
	cr_assert_eq(plain->n_items, 3);
	cr_assert_eq(plain->items[0]->n_features, 0);
	cr_assert_str_eq(plain->ranker, "");
	cr_assert_str_eq(plain->contributions, "");
	cr_assert_eq(plain->base_score, 0.0f);
	cr_assert_eq(plain->items[0]->score, r->items[0]->score);
	tr_twostage_row_fini(&row);
	rs_arena_destroy(a);
}

/* rank_forest_predict's perfect-tree walks (a leaf above the tree's depth grown into a subtree
 * of copies; the portable walk over 8 rows transposed per block, the AVX-512 one over 16)
 * against XGBoost's predictor, bit for bit: 60 trees of depth 1 to 6 whose leaves sit at many
 * depths (min_child_weight stops splits early), 3,000 rows on the splits and 3,000 random ones
 * (some outside every split's range), predicted in blocks of every length 1..35 so every
 * short last block of either walk is walked. */
Test(ranker, forest_predict_bit_identical_to_xgboost_every_block_length)
{
	char path[192], err[256];
	rank_forest *f;
	BoosterHandle b;
	DMatrixHandle train, dm;
	enum { NT = 800, N = 6000, NF = 7 };
	bst_ulong len;
	const float *pred;
	float *xt = malloc(NT * NF * sizeof(float)), *y = malloc(NT * sizeof(float));
	float *x = malloc(N * NF * sizeof(float)), *sc = malloc(N * sizeof(float));
	uint64_t r = 3;
	cr_assert(xt != NULL && y != NULL && x != NULL && sc != NULL);
	for (int i = 0; i < NT; i++) {
		for (int j = 0; j < NF; j++) {
			r = r * 6364136223846793005ULL + 1442695040888963407ULL;
			xt[i * NF + j] = (float) (r >> 40) / (float) (1 << 20) - 8.0f;
		}
		y[i] = (xt[i * NF] > 0 ? 2.0f : -1.0f) * xt[i * NF + 1] +
		       xt[i * NF + 2] * xt[i * NF + 3] -
		       (xt[i * NF + 4] > 3 ? xt[i * NF + 5] : 0.0f);
	}
	cr_assert_eq(XGDMatrixCreateFromMat(xt, NT, NF, NAN, &train), 0);
	cr_assert_eq(XGDMatrixSetFloatInfo(train, "label", y, NT), 0);
	cr_assert_eq(XGBoosterCreate(&train, 1, &b), 0);
	XGBoosterSetParam(b, "min_child_weight", "25");
	XGBoosterSetParam(b, "nthread", "1");
	for (int it = 0; it < 60; it++) { /* max_depth 1..6 in turn: every depth a walk knows */
		char md[8];
		snprintf(md, sizeof(md), "%d", 1 + it % 6);
		XGBoosterSetParam(b, "max_depth", md);
		cr_assert_eq(XGBoosterUpdateOneIter(b, it, train), 0, "%s", XGBGetLastError());
	}
	snprintf(path, sizeof(path), "%s/forest-perfect.json", root);
	cr_assert_eq(XGBoosterSaveModel(b, path), 0, "%s", XGBGetLastError());
	cr_assert_eq(rank_forest_load(path, NF, &f, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rank_forest_trees(f), 60);

	rank_forest_sample_rows(f, x, N / 2, 11);
	for (int i = N / 2 * NF; i < N * NF; i++) {
		r = r * 6364136223846793005ULL + 1442695040888963407ULL;
		x[i] = (float) (r >> 40) / (float) (1 << 19) - 16.0f; /* twice the training range */
	}
	cr_assert_eq(XGDMatrixCreateFromMat(x, N, NF, NAN, &dm), 0);
	cr_assert_eq(XGBoosterPredict(b, dm, 0, 0, 0, &len, &pred), 0);
	cr_assert_eq(len, N);
	/* every walk this CPU can take (the portable one always), each bit for bit */
	const rank_forest_walk walks[] = {RANK_FOREST_WALK_PORTABLE, RANK_FOREST_WALK_AVX512};
	int walked = 0;
	cr_assert_eq(rank_forest_get_walk(f),
	             rank_forest_walk_available(RANK_FOREST_WALK_AVX512)
	                     ? RANK_FOREST_WALK_AVX512
	                     : RANK_FOREST_WALK_PORTABLE,
	             "a loaded forest takes the fastest walk");
	for (size_t k = 0; k < sizeof(walks) / sizeof(walks[0]); k++) {
		if (!rank_forest_walk_available(walks[k])) {
			cr_assert_eq(rank_forest_set_walk(f, walks[k]), RS_EINVAL);
			cr_log_warn("ranker: this CPU has no %s walk: not tested here",
			            rank_forest_walk_name(walks[k]));
			continue;
		}
		cr_assert_eq(rank_forest_set_walk(f, walks[k]), 0);
		memset(sc, 0xff, N * sizeof(float));
		for (size_t i = 0, blk = 1; i < N; i += blk, blk = blk % 35 + 1)
			rank_forest_predict(f, x + i * NF, N - i < blk ? N - i : blk, sc + i);
		int differ = 0;
		for (int i = 0; i < N; i++)
			differ += memcmp(&sc[i], &pred[i], sizeof(float)) != 0;
		cr_assert_eq(differ, 0, "%s walk: %d of %d scores differ from XGBoost's",
		             rank_forest_walk_name(walks[k]), differ, N);
		walked++;
	}
	cr_assert_geq(walked, 1);
	XGDMatrixFree(dm);
	XGDMatrixFree(train);
	XGBoosterFree(b);
	rank_forest_destroy(f);
	free(xt);
	free(y);
	free(x);
	free(sc);
}

/* The flat trees (forest.h) against XGBoost on a booster of 25 trees of depth 5 trained here
 * on synthetic data: scores bit for bit, and the contributions (rank_forest_contrib, which
 * the learned ranker's reasons and explain read) as XGBoost's approximate pred_contribs up to
 * float rounding; contributions of rows walked together equal those of each row alone. */
Test(ranker, forest_scores_and_contributions_equal_xgboost)
{
	char path[192], err[256];
	rank_forest *f;
	BoosterHandle b;
	DMatrixHandle train, dm;
	enum { NT = 600, N = 400, NF = 6 };
	const bst_ulong *shape;
	bst_ulong dim, len;
	const float *res;
	static const char cfg[] = "{\"type\": 3, \"training\": false, \"iteration_begin\": 0, "
	                          "\"iteration_end\": 0, \"strict_shape\": false}";
	float *xt = malloc(NT * NF * sizeof(float)), *y = malloc(NT * sizeof(float));
	uint64_t r = 1;
	cr_assert(xt != NULL && y != NULL);
	for (int i = 0; i < NT; i++) {
		for (int j = 0; j < NF; j++) {
			r = r * 6364136223846793005ULL + 1442695040888963407ULL;
			xt[i * NF + j] = (float) (r >> 40) / (float) (1 << 24);
		}
		y[i] = xt[i * NF] * 2 - xt[i * NF + 1] +
		       (xt[i * NF + 2] > 0.5f ? 1 : 0) * xt[i * NF + 3];
	}
	cr_assert_eq(XGDMatrixCreateFromMat(xt, NT, NF, NAN, &train), 0);
	cr_assert_eq(XGDMatrixSetFloatInfo(train, "label", y, NT), 0);
	cr_assert_eq(XGBoosterCreate(&train, 1, &b), 0);
	XGBoosterSetParam(b, "max_depth", "5");
	XGBoosterSetParam(b, "nthread", "1");
	for (int it = 0; it < 25; it++)
		cr_assert_eq(XGBoosterUpdateOneIter(b, it, train), 0, "%s", XGBGetLastError());
	snprintf(path, sizeof(path), "%s/forest-check.json", root);
	cr_assert_eq(XGBoosterSaveModel(b, path), 0, "%s", XGBGetLastError());
	cr_assert_eq(rank_forest_load(path, NF, &f, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rank_forest_trees(f), 25);

	float *x = malloc(N * NF * sizeof(float)), *sc = malloc(N * sizeof(float));
	float *a = malloc(N * (NF + 1) * sizeof(float)),
	      *one = malloc(N * (NF + 1) * sizeof(float));
	cr_assert(x != NULL && sc != NULL && a != NULL && one != NULL);
	rank_forest_sample_rows(f, x, N, 5);
	cr_assert_eq(XGDMatrixCreateFromMat(x, N, NF, NAN, &dm), 0);
	const float *pred;
	cr_assert_eq(XGBoosterPredict(b, dm, 0, 0, 0, &len, &pred), 0);
	cr_assert_eq(len, N);
	rank_forest_predict(f, x, N, sc);
	cr_assert_arr_eq(sc, pred, N * sizeof(float), "scores differ from XGBoost's");
	rank_forest_contrib(f, x, N, a);
	for (int i = 0; i < N; i++)
		rank_forest_contrib(f, x + i * NF, 1, one + i * (NF + 1));
	cr_assert_arr_eq(a, one, N * (NF + 1) * sizeof(float));
	cr_assert_eq(XGBoosterPredictFromDMatrix(b, dm, cfg, &shape, &dim, &res), 0, "%s",
	             XGBGetLastError());
	double maxd = 0;
	for (int i = 0; i < N * (NF + 1); i++) {
		double d = fabs((double) a[i] - (double) res[i]);
		maxd = d > maxd ? d : maxd;
	}
	cr_log_info("ranker: forest contributions vs XGBoost's (25 trees), max |diff| %.3g", maxd);
	cr_assert_lt(maxd, 1e-5);
	XGDMatrixFree(dm);
	XGDMatrixFree(train);
	XGBoosterFree(b);
	rank_forest_destroy(f);
	free(xt);
	free(y);
	free(x);
	free(sc);
	free(a);
	free(one);
}

/* how many times this process has path open (file descriptors) and mapped (/proc/self/maps) */
static void
open_counts(const char *path, int *fds, int *maps)
{
	char link[64], target[512], line[1024];
	FILE *f = fopen("/proc/self/maps", "r");
	*fds = *maps = 0;
	for (int fd = 0; fd < 4096; fd++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			*fds += strcmp(target, path) == 0;
		}
	}
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		size_t ll = strlen(line), pl = strlen(path);
		*maps += ll >= pl && strcmp(line + ll - pl, path) == 0;
	}
	fclose(f);
}

/* LMDB's rule: one environment per file per process. The learned ranker reads the version's
 * serving data through the version's rs_model (the model slot's), so serving it opens and maps
 * data.mdb once, not twice. */
Test(ranker, the_version_file_is_opened_and_mapped_once)
{
	char path[256], real[PATH_MAX];
	int fds, maps;
	snprintf(path, sizeof(path), "%s/data.mdb", vdir);
	cr_assert_not_null(realpath(path, real));
	rs_model *m;
	char err[256];
	cr_assert_eq(rs_model_open(vdir, "v-xgb", &m, err, sizeof(err)), 0, "%s", err);
	/* this process also plays rs-candidate (attach_retrieval), another process in production:
	 * it shares the version instead of opening the file again */
	cr_assert_null(vm);
	vm = rs_model_ref(m);
	cr_assert_eq(rs_ranksrc_open(vm, &vsrc, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rank_use_version(st, m), 0);
	open_counts(real, &fds, &maps);
	cr_assert_eq(fds, 1, "data.mdb open %d times", fds);
	cr_assert_eq(maps, 1, "data.mdb mapped %d times", maps);
	rs_model_unref(m); /* the scorer's ranker keeps the version */
	tr_twostage_row row;
	tr_error terr;
	rs_arena *a;
	cr_assert_eq(tr_twostage_user(model.ts, &ds, 2, &row, &terr), 0, "%s", terr.msg);
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	cr_assert_gt(rank(a, build_request(a, 2, &row))->n_items, 0);
	open_counts(real, &fds, &maps);
	cr_assert_eq(fds, 1, "after a request: data.mdb open %d times", fds);
	cr_assert_eq(maps, 1);
	tr_twostage_row_fini(&row);
	rs_arena_destroy(a);
	rs_ranksrc_destroy(vsrc);
	rs_model_unref(vm);
	vsrc = NULL;
	vm = NULL;
	/* back to the linear scorer: the version closes with its last user */
	cr_assert_neq(rank_use_version(st, NULL), 0);
	open_counts(real, &fds, &maps);
	cr_assert_eq(fds, 0);
	cr_assert_eq(maps, 0);
}

/* ---- reasons on the learned ranker's path ---- */

static const Rs__EventType hist_types[4] = {
        RS__EVENT_TYPE__EVENT_VIEW, RS__EVENT_TYPE__EVENT_ADD_TO_CART,
        RS__EVENT_TYPE__EVENT_PURCHASE, RS__EVENT_TYPE__EVENT_RATING};

/* the verb a reason must use for the strongest of these events on one item */
static const char *
verb_for(const Rs__RankRequest *req, int64_t id)
{
	int best = -1; /* view < rating < cart < purchase */
	static const int strength[4] = {0, 2, 3, 1};
	static const char *const verb[4] = {"viewed", "rated", "added", "bought"};
	for (size_t i = 0; i < req->n_recent; i++)
		for (int t = 0; t < 4; t++)
			if (req->recent[i]->item_id == id &&
			    req->recent[i]->type == hist_types[t] && strength[t] > best)
				best = strength[t];
	return best >= 0 ? verb[best] : NULL;
}

static Rs__SourceScore *
add_live_source(rs_arena *a, Rs__Candidate *cd, const char *name, uint32_t rank, int64_t because)
{
	Rs__SourceScore **sp = rs_arena_alloc(a, (cd->n_sources + 1) * sizeof(*sp));
	Rs__SourceScore *sc = rs_arena_alloc(a, sizeof(*sc));
	if (cd->n_sources > 0)
		memcpy(sp, cd->sources, cd->n_sources * sizeof(*sp));
	rs__source_score__init(sc);
	sc->source = (char *) name;
	sc->score = 1.0f / (float) rank;
	sc->rank = rank;
	sc->because_item = because;
	sp[cd->n_sources++] = sc;
	cd->sources = sp;
	return sc;
}

/* a source of it (rank >= 1) gives id */
static int
source_gives(const Rs__RankedItem *it, const char *name, int64_t id)
{
	for (size_t s = 0; s < it->n_sources; s++)
		if (it->sources[s]->rank >= 1 && it->sources[s]->because_item == id &&
		    (name == NULL || strcmp(it->sources[s]->source, name) == 0))
			return 1;
	return 0;
}

static int
has_source(const Rs__RankedItem *it, const char *name)
{
	for (size_t s = 0; s < it->n_sources; s++)
		if (it->sources[s]->rank >= 1 && strcmp(it->sources[s]->source, name) == 0)
			return 1;
	return 0;
}

/* With the learned ranker each reason names an item of the history that one of the item's own
 * sources gives, with the verb of the strongest event on it there; "trending now" only for an
 * item from the popular list; "recommended for you" only when nothing specific is true. The
 * candidates carry the live sources rs-candidate sends next to the model's (covisit and
 * bought_together with a because_item, popular), some of them naming an item that is not in
 * the history (which no reason may name), so the ranker's own nearest history item and the
 * sources disagree. */
Test(ranker, reasons_name_a_source_item_from_the_history_with_its_verb)
{
	int because = 0, trending = 0, generic = 0, together = 0;
	cr_assert_eq(use(vdir, "v-xgb"), 0);
	for (int32_t u = 0; u < ds.n_users; u += 5) {
		tr_twostage_row row;
		tr_error err;
		rs_arena *a;
		cr_assert_eq(tr_twostage_user(model.ts, &ds, u, &row, &err), 0, "%s", err.msg);
		cr_assert_eq(rs_arena_create(&a, 0), 0);
		Rs__RankRequest *req = build_request(a, u, &row);
		req->explain = 0;
		size_t nh = req->n_recent;
		for (size_t i = 0; i < nh; i++)
			req->recent[i]->type = hist_types[i % 4];
		for (size_t c = 0; c < req->retrieval->n_candidates; c++) {
			Rs__Candidate *cd = req->retrieval->candidates[c];
			int64_t h1 = req->recent[c % nh]->item_id,
			        h2 = req->recent[(c + 1) % nh]->item_id;
			switch (c % 4) {
			case 0: /* led by an item outside the history, and on the popular list */
				add_live_source(a, cd, "covisit", (uint32_t) c + 1, 999999);
				add_live_source(a, cd, "popular", (uint32_t) c + 1, 0);
				break;
			case 1:
				add_live_source(a, cd, "covisit", (uint32_t) c + 1, h1);
				break;
			case 2:
				add_live_source(a, cd, "bought_together", (uint32_t) c + 1, h2);
				add_live_source(a, cd, "covisit", (uint32_t) c + 20, h1);
				break;
			default: /* only the model's sources: nothing specific to say */
				break;
			}
		}
		Rs__RankResponse *r = rank(a, req);
		cr_assert_gt(r->n_items, 0);
		for (size_t i = 0; i < r->n_items; i++) {
			const Rs__RankedItem *it = r->items[i];
			const char *why = it->reason;
			char verb[16] = "";
			long long id = 0;
			int used = 0;
			if (sscanf(why, "because you added item %lld to your cart%n", &id, &used) ==
			            1 &&
			    why[used] == '\0') {
				snprintf(verb, sizeof(verb), "added");
			} else if (sscanf(why, "because you %15s item %lld%n", verb, &id, &used) ==
			                   2 &&
			           why[used] == '\0') {
			} else if (sscanf(why, "often bought together with item %lld%n", &id,
			                  &used) == 1 &&
			           why[used] == '\0') {
				cr_assert(source_gives(it, "bought_together", id), "%s", why);
				cr_assert_not_null(verb_for(req, id), "%s: not in the history",
				                   why);
				together++;
				continue;
			} else if (strcmp(why, "trending now") == 0) {
				cr_assert(has_source(it, "popular"),
				          "item %lld: trending now without the popular source",
				          (long long) it->item_id);
				trending++;
				continue;
			} else {
				cr_assert_str_eq(why, "recommended for you");
				int specific = has_source(it, "popular");
				for (size_t h = 0; h < nh; h++)
					specific |= source_gives(it, NULL, req->recent[h]->item_id);
				cr_assert(!specific, "item %lld: generic although a reason is true",
				          (long long) it->item_id);
				generic++;
				continue;
			}
			cr_assert(source_gives(it, NULL, id),
			          "\"%s\": no source of item %lld gives %lld", why,
			          (long long) it->item_id, id);
			cr_assert_not_null(verb_for(req, id), "\"%s\": %lld not in the history",
			                   why, id);
			cr_assert_str_eq(verb, verb_for(req, id), "\"%s\"", why);
			because++;
		}
		tr_twostage_row_fini(&row);
		rs_arena_destroy(a);
	}
	cr_log_info("ranker reasons: because %d, bought together %d, trending %d, generic %d",
	            because, together, trending, generic);
	cr_assert_gt(because, 0);
	cr_assert_gt(trending, 0);
	cr_assert_gt(generic, 0);
}

/* a version published before the serving data existed (no rankfeat files in the model
 * folder: no item_features db, no manifest ranker) and a version without a ranker at all */
Test(ranker, versions_without_serving_data_fall_back_to_linear)
{
	tr_error err;
	tr_model als;
	tr_params p;
	char adir[160];
	rs_arena *a;

	sh("rm -f", mdir, "/rankfeat*");
	cr_assert_eq(tr_publish(mdir, vold, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(use(vold, "v-old"), RS_ENOTFOUND);
	tr_params_defaults(&p);
	p.factors = 4;
	p.nthreads = 1;
	snprintf(adir, sizeof(adir), "%s/als", root);
	cr_assert_eq(tr_model_fit(TR_ALS, &p, &ds, &als, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_model_save(&als, &ds, adir, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_publish(adir, vals, NULL, &err), 0, "%s", err.msg);
	tr_model_fini(&als);
	cr_assert_eq(use(vals, "v-als"), RS_ENOTFOUND);
	/* the linear scorer serves and names the version */
	tr_twostage_row row;
	cr_assert_eq(tr_twostage_user(model.ts, &ds, 1, &row, &err), 0, "%s", err.msg);
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	Rs__RankResponse *r = rank(a, build_request(a, 1, &row));
	cr_assert_str_eq(r->header->model_version, "v-als");
	cr_assert_gt(r->n_items, 0);
	cr_assert_str_eq(r->items[0]->features[0]->name, "src_covisit");
	cr_assert_str_eq(r->ranker, "linear");
	cr_assert_str_eq(r->contributions, "exact");
	assert_contributions_add_up(r, 1e-5);
	tr_twostage_row_fini(&row);
	rs_arena_destroy(a);
}

/* ---- switching under load ---- */

static atomic_int stop_load, failed, served_xgb, served_lin;

static void *
load_thread(void *arg)
{
	tr_twostage_row *row = arg;
	rs_arena *a;
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	while (!atomic_load(&stop_load)) {
		Rs__RankResponse *r = NULL;
		Rs__Status status;
		int rv = rs_rpc_request(
		        cli, RS__METHOD__METHOD_RANK, &build_request(a, 5, row)->base,
		        &rs__rank_response__descriptor, 5000, a, (void **) &r, &status, NULL, 0);
		if (rv != 0 || status != RS__STATUS__STATUS_OK || r->n_items == 0)
			atomic_fetch_add(&failed, 1);
		else if (strcmp(r->header->model_version, "v-xgb") == 0 &&
		         r->items[0]->n_features > 0 &&
		         strcmp(r->items[0]->features[0]->name, "als_norm") == 0)
			atomic_fetch_add(&served_xgb, 1);
		else if (strcmp(r->header->model_version, "v-xgb") == 0)
			atomic_fetch_add(&failed,
			                 1); /* the learned version served by the linear scorer */
		else
			atomic_fetch_add(&served_lin, 1);
		rs_arena_reset(a);
	}
	rs_arena_destroy(a);
	return NULL;
}

Test(ranker, switching_linear_and_learned_under_load_fails_no_request)
{
	tr_twostage_row row;
	tr_error err;
	tr_model als;
	tr_params p;
	char adir[160];
	pthread_t th[3];

	tr_params_defaults(&p);
	p.factors = 4;
	p.nthreads = 1;
	snprintf(adir, sizeof(adir), "%s/als", root);
	cr_assert_eq(tr_model_fit(TR_ALS, &p, &ds, &als, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_model_save(&als, &ds, adir, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_publish(adir, vals, NULL, &err), 0, "%s", err.msg);
	tr_model_fini(&als);
	cr_assert_eq(tr_twostage_user(model.ts, &ds, 5, &row, &err), 0, "%s", err.msg);
	cr_assert_eq(use(vals, "v-als"), RS_ENOTFOUND);
	atomic_store(&stop_load, 0);
	atomic_store(&failed, 0);
	for (int t = 0; t < 3; t++)
		cr_assert_eq(pthread_create(&th[t], NULL, load_thread, &row), 0);
	for (int i = 0; i < 6; i++) {
		usleep(40000);
		cr_assert_eq(use(i % 2 == 0 ? vdir : vals, i % 2 == 0 ? "v-xgb" : "v-als"),
		             i % 2 == 0 ? 0 : RS_ENOTFOUND);
	}
	usleep(40000);
	atomic_store(&stop_load, 1);
	for (int t = 0; t < 3; t++)
		pthread_join(th[t], NULL);
	cr_log_info("ranker: switch under load: xgb %d linear %d failed %d",
	            atomic_load(&served_xgb), atomic_load(&served_lin), atomic_load(&failed));
	cr_assert_eq(atomic_load(&failed), 0);
	cr_assert_gt(atomic_load(&served_xgb), 0);
	cr_assert_gt(atomic_load(&served_lin), 0);
	tr_twostage_row_fini(&row);
}

/* per-request cost of the learned ranker (rows + predict of 150 candidates, then TreeSHAP for
 * the 20 shown): printed, bounded only loosely (sanitizer builds are slow) */
Test(ranker, cost_per_request)
{
	tr_twostage_row row;
	tr_error err;
	rs_arena *a;
	rs_model *m;
	rank_ranker *rk;
	char e[256];
	enum { NC = 150, ITER = 200 };

	cr_assert_eq(rs_model_open(vdir, "v-xgb", &m, e, sizeof(e)), 0, "%s", e);
	cr_assert_eq(rank_ranker_open(m, 1, &rk, e, sizeof(e)), 0, "%s", e);
	rs_model_unref(m);
	cr_assert_eq(tr_twostage_user(model.ts, &ds, 9, &row, &err), 0, "%s", err.msg);
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	Rs__RankRequest *req = build_request(a, 9, &row);
	/* 150 candidates: the user's, repeated (cost does not depend on the values) */
	const Rs__Candidate **cp = rs_arena_alloc(a, NC * sizeof(*cp));
	for (int i = 0; i < NC; i++)
		cp[i] = req->retrieval->candidates[i % row.n];
	int nf = rank_ranker_nfeat(rk), missing;
	float *x = rs_arena_alloc(a, NC * (size_t) nf * sizeof(float)), sc[NC];
	float *ct = rs_arena_alloc(a, 20 * (size_t) (nf + 1) * sizeof(float));
	int64_t because[NC];
	double t0 = cpu_ms(), t_rows = 0, t_pred = 0, t_shap = 0;
	for (int it = 0; it < ITER; it++) {
		double a0 = cpu_ms();
		cr_assert_eq(rank_ranker_rows(rk, req, cp, NC, a, x, because, &missing), 0);
		double a1 = cpu_ms();
		cr_assert_eq(rank_ranker_predict(rk, x, NC, sc, NULL), 0);
		double a2 = cpu_ms();
		cr_assert_eq(rank_ranker_predict(rk, x, 20, NULL, ct), 0);
		t_rows += a1 - a0;
		t_pred += a2 - a1;
		t_shap += cpu_ms() - a2;
	}
	/* the flat trees serve (equal to XGBoost at load); contributions add up to the score */
	cr_assert_eq(rank_ranker_uses_forest(rk), 1);
	for (int i = 0; i < 20; i++) {
		double sum = 0;
		for (int f = 0; f <= nf; f++)
			sum += ct[i * (nf + 1) + f];
		cr_assert_float_eq(sum, sc[i], 1e-4, "row %d: contributions %g, score %g", i, sum,
		                   sc[i]);
	}
	cr_log_info("ranker CPU per request (%d candidates, %d features, the tiny model): "
	            "rows %.3f ms, predict %.3f ms, contribs(20) %.3f ms, total %.3f ms",
	            NC, nf, t_rows / ITER, t_pred / ITER, t_shap / ITER, (cpu_ms() - t0) / ITER);
	rank_ranker_destroy(rk);
	tr_twostage_row_fini(&row);
	rs_arena_destroy(a);
}

/* ---- the model watch (PostgreSQL model_versions) installs the learned ranker ---- */

static fx_pg fx;
static char vx2[160], vx3[160];

static void
setup_watch(void)
{
	char sql[1024];
	tr_error err;
	tr_model als;
	tr_params p;
	char adir[160];

	fit_publish();
	tr_params_defaults(&p);
	p.factors = 4;
	p.nthreads = 1;
	snprintf(adir, sizeof(adir), "%s/als", root);
	cr_assert_eq(tr_model_fit(TR_ALS, &p, &ds, &als, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_model_save(&als, &ds, adir, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_publish(adir, vals, NULL, &err), 0, "%s", err.msg);
	tr_model_fini(&als);
	snprintf(vx2, sizeof(vx2), "%s/v-xgb2", root);
	snprintf(vx3, sizeof(vx3), "%s/v-xgb3", root);
	cr_assert_eq(tr_publish(mdir, vx2, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_publish(mdir, vx3, NULL, &err), 0, "%s", err.msg);
	fx_pg_setup(&fx, "rank_xw");
	snprintf(sql, sizeof(sql),
	         "insert into model_versions(version, path) values ('v-xgb', '%s'), ('v-als', "
	         "'%s'), ('v-xgb2', '%s'), ('v-xgb3', '%s'); select rs_model_activate('v-als')",
	         vdir, vals, vx2, vx3);
	fx_sql(&fx, sql);
	start(fx.dsn, 100);
}

static void
teardown_watch(void)
{
	teardown();
	fx_pg_teardown(&fx);
}

TestSuite(ranker_watch, .init = setup_watch, .fini = teardown_watch, .timeout = 60);

/* served_xgb counts responses of the learned ranker; wait until one arrives after a switch */
static void
wait_for(atomic_int *counter, int from)
{
	for (int i = 0; i < 400 && atomic_load(counter) <= from; i++)
		usleep(10000);
	cr_assert_gt(atomic_load(counter), from, "the switch did not reach the requests");
}

Test(ranker_watch, activation_switches_linear_to_learned_and_back_under_load)
{
	tr_twostage_row row;
	tr_error err;
	pthread_t th[2];

	cr_assert_eq(rank_model_check(st), 0);
	cr_assert_eq(tr_twostage_user(model.ts, &ds, 5, &row, &err), 0, "%s", err.msg);
	atomic_store(&stop_load, 0);
	atomic_store(&failed, 0);
	atomic_store(&served_xgb, 0);
	atomic_store(&served_lin, 0);
	for (int t = 0; t < 2; t++)
		cr_assert_eq(pthread_create(&th[t], NULL, load_thread, &row), 0);
	wait_for(&served_lin, 0);
	fx_sql(&fx, "select rs_model_activate('v-xgb')"); /* NOTIFY; the watch swaps */
	wait_for(&served_xgb, 0);
	int lin = atomic_load(&served_lin);
	fx_sql(&fx, "select rs_model_activate('v-als')"); /* rollback */
	usleep(300000);
	wait_for(&served_lin, lin);
	atomic_store(&stop_load, 1);
	for (int t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	cr_log_info("ranker_watch: xgb %d linear %d failed %d", atomic_load(&served_xgb),
	            atomic_load(&served_lin), atomic_load(&failed));
	cr_assert_eq(atomic_load(&failed), 0);
	tr_twostage_row_fini(&row);
}

static int
rank_status(rs_arena *a, Rs__RankRequest *req, Rs__RankResponse **out)
{
	Rs__Status status;
	int rv = rs_rpc_request(cli, RS__METHOD__METHOD_RANK, &req->base,
	                        &rs__rank_response__descriptor, 5000, a, (void **) out, &status,
	                        NULL, 0);
	cr_assert_eq(rv, 0, "rpc: %s", rs_strerror(rv));
	return (int) status;
}

/* A request that names a version is ranked by that version's scorer (here the learned ranker
 * of v-xgb, while the active v-als is served by the linear scorer to everyone else); an
 * unknown version is NOT_FOUND; at most model_cache (2) named versions stay loaded. */
Test(ranker_watch, a_named_version_ranks_one_request_and_the_active_one_the_rest)
{
	tr_twostage_row row;
	tr_error err;
	rs_arena *a;
	Rs__RankResponse *r;
	char names[128];

	cr_assert_eq(rank_model_check(st), 0);
	cr_assert_eq(tr_twostage_user(model.ts, &ds, 5, &row, &err), 0, "%s", err.msg);
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	Rs__RankRequest *req = build_request(a, 5, &row);
	req->header->model_version = "v-xgb";
	cr_assert_eq(rank_status(a, req, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "v-xgb");
	cr_assert_str_eq(r->items[0]->features[0]->name, "als_norm");
	cr_assert_str_eq(r->ranker, "xgboost");
	Rs__RankResponse *named = r;

	req->header->model_version = "";
	cr_assert_eq(rank_status(a, req, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "v-als");
	cr_assert_str_eq(r->items[0]->features[0]->name, "src_covisit");
	req->header->model_version = "v-als"; /* the active one by name */
	cr_assert_eq(rank_status(a, req, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "v-als");

	/* the same scores as the learned ranker installed as the active one */
	req->header->model_version = "no-such-version";
	cr_assert_eq(rank_status(a, req, &r), RS__STATUS__STATUS_NOT_FOUND);
	fx_sql(&fx, "select rs_model_activate('v-xgb')");
	cr_assert_eq(rank_model_check(st), 0);
	cr_assert_eq(rs_model_watch_cached(st->rs_watch, names, sizeof(names)), 0,
	             "the activated version left the cache: %s", names);
	req->header->model_version = "";
	cr_assert_eq(rank_status(a, req, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "v-xgb");
	for (size_t i = 0; i < r->n_items; i++) {
		cr_assert_eq(r->items[i]->item_id, named->items[i]->item_id);
		cr_assert_eq(r->items[i]->score, named->items[i]->score);
	}
	fx_sql(&fx, "select rs_model_activate('v-als')");
	cr_assert_eq(rank_model_check(st), 0);

	/* a third named version evicts the least recently used (v-xgb) */
	req->header->model_version = "v-xgb2";
	cr_assert_eq(rank_status(a, req, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "v-xgb2");
	req->header->model_version = "v-xgb3";
	cr_assert_eq(rank_status(a, req, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "v-xgb3");
	cr_assert_eq(rs_model_watch_cached(st->rs_watch, names, sizeof(names)), 2);
	cr_assert_str_eq(names, "v-xgb3,v-xgb2");
	req->header->model_version = "";
	cr_assert_eq(rank_status(a, req, &r), RS__STATUS__STATUS_OK);
	cr_assert_str_eq(r->header->model_version, "v-als");
	tr_twostage_row_fini(&row);
	rs_arena_destroy(a);
}

/* ---- a model trained on an event log (weights, explicit negatives): rs-ranking weighs the
 * request's raw history the way rs-train weighed the log ---- */

static tr_event_log evlog;

static void
setup_events(void)
{
	tr_params p;
	tr_error err;
	char buf[32], ib[32];

	snprintf(root, sizeof(root), "/tmp/rs-rank-xgbw-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	snprintf(mdir, sizeof(mdir), "%s/model", root);
	snprintf(vdir, sizeof(vdir), "%s/v-xgb", root);
	tr_event_log_init(&evlog);
	for (int u = 0; u < 60; u++)
		for (int s = 0; s < 10; s++) {
			int it = (u + s * (1 + u % 3)) % 24, type = s % 4 == 3   ? 4
			                                            : s % 3 == 1 ? 2
			                                                         : 1;
			double value = NAN;
			if (s == 8 && u % 5 == 0) { /* an explicit negative on an item not seen */
				it = (u + 17) % 24;
				type = 6;
			}
			if (s == 9 && u % 4 == 1) { /* a rating */
				type = 5;
				value = 1 + u % 5;
			}
			snprintf(buf, sizeof(buf), "%d", 1000 + u);
			snprintf(ib, sizeof(ib), "%d", 101 + it);
			tr_event_log_push(&evlog, buf, strlen(buf), ib, strlen(ib), type, value,
			                  1700000000.0 + u * 100 + s * 10);
			if (s == 2) /* the same item again: its weight adds up */
				tr_event_log_push(&evlog, buf, strlen(buf), ib, strlen(ib), 1, NAN,
				                  1700000000.0 + u * 100 + s * 10 + 5);
		}
	/* keep a copy of the events for the requests: tr_events_build consumes the log */
	tr_weights w;
	rs_event_weights_defaults(&w);
	cr_assert_eq(tr_events_build(&evlog, &w, &ds, &err), 0, "%s", err.msg);
	tr_params_defaults(&p);
	snprintf(p.sources, sizeof(p.sources), "als,itemknn,pop");
	snprintf(p.holdout, sizeof(p.holdout), "leave-one-out");
	p.factors = 8;
	p.iterations = 5;
	p.cand_n = 10;
	p.trees = 30;
	p.depth = 4;
	p.nthreads = 1;
	cr_assert_eq(tr_model_fit(TR_TWOSTAGE, &p, &ds, &model, &err), 0, "%s", err.msg);
	cr_assert(tr_dataset_is_weighted(&ds));
	cr_assert_gt(ds.n_neg, 0); /* the log has explicit negatives */
	cr_assert_eq(tr_model_save(&model, &ds, mdir, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_publish(mdir, vdir, NULL, &err), 0, "%s", err.msg);
	start(DOWN_DSN, 0);
}

static void
teardown_events(void)
{
	teardown();
	tr_event_log_fini(&evlog);
}

TestSuite(ranker_events, .init = setup_events, .fini = teardown_events, .timeout = 60);

Test(ranker_events, weighted_history_and_negatives_give_rs_train_rows)
{
	double maxd = 0;
	cr_assert_eq(use(vdir, "v-xgb"), 0);
	for (int32_t u = 0; u < 60; u += 3) {
		tr_twostage_row row;
		tr_error err;
		rs_arena *a;
		char uid[32];
		int32_t uc;

		snprintf(uid, sizeof(uid), "%d", 1000 + u);
		uc = tr_ids_find(ds.users, uid, strlen(uid));
		cr_assert_geq(uc, 0);
		cr_assert_eq(tr_twostage_user(model.ts, &ds, uc, &row, &err), 0, "%s", err.msg);
		cr_assert_eq(rs_arena_create(&a, 0), 0);
		Rs__RankRequest *req = build_request(a, uc, &row);
		/* the raw events of this user instead of the dataset's pairs */
		size_t ne = 0;
		req->recent = rs_arena_alloc(a, 64 * sizeof(void *));
		for (int s = 0; s < 10; s++) {
			int it = (u + s * (1 + u % 3)) % 24, type = s % 4 == 3   ? 4
			                                            : s % 3 == 1 ? 2
			                                                         : 1;
			double value = 0;
			if (s == 8 && u % 5 == 0) {
				it = (u + 17) % 24;
				type = 6;
			}
			if (s == 9 && u % 4 == 1) {
				type = 5;
				value = 1 + u % 5;
			}
			for (int rep = 0; rep < (s == 2 ? 2 : 1); rep++) {
				Rs__HistoryEvent *h = rs_arena_alloc(a, sizeof(*h));
				rs__history_event__init(h);
				h->item_id = 101 + it;
				h->type = (Rs__EventType) (rep ? 1 : type);
				h->value = rep ? 0 : value;
				h->ts_ms = (1700000000LL + u * 100 + s * 10 + rep * 5) * 1000;
				req->recent[ne++] = h;
			}
		}
		req->n_recent = ne;
		attach_retrieval(a, req, &row); /* rs-candidate's pop and itemknn of this history */
		Rs__RankResponse *r = rank(a, req);
		for (size_t i = 0; i < r->n_items; i++) {
			int c = -1;
			for (int q = 0; q < row.n; q++)
				if (item_id(row.items[q]) == r->items[i]->item_id)
					c = q;
			cr_assert_geq(c, 0);
			for (int f = 0; f < row.nfeat; f++)
				cr_assert_eq(r->items[i]->features[f]->value,
				             row.feat[c * row.nfeat + f],
				             "user %d item %lld %s: online %.9g offline %.9g", u,
				             (long long) r->items[i]->item_id,
				             r->items[i]->features[f]->name,
				             r->items[i]->features[f]->value,
				             row.feat[c * row.nfeat + f]);
			double d = fabs((double) r->items[i]->score - (double) row.pred[c]);
			maxd = d > maxd ? d : maxd;
		}
		tr_twostage_row_fini(&row);
		rs_arena_destroy(a);
	}
	cr_log_info("ranker_events: max |online - offline| score = %.3g", maxd);
	cr_assert_lt(maxd, 1e-5);
}
