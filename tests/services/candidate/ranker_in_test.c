/* rs-candidate's inputs for the learned ranker, through its RPC handler: with a two-stage
 * version that rs-train fitted and published active, every candidate of a CANDIDATES answer
 * carries its score and rank under each of the ranker's sources, and ranker_sources their
 * normalisers. pop and itemknn are checked against rs-train itself for the same history (the
 * values rs-ranking used to compute from the version before it received them): every score
 * bit for bit against tr_model_score (the user's items -inf under itemknn), the rank in the
 * user's top cand_n list (rs-train's order, by a sort of every item), the list's top, low and
 * length; als against the answer's own als source where it retrieved the item (its score, its
 * rank within cand_n) and against factors . embedding elsewhere (rank 0), and its normalisers
 * against source_stats. A version without a learned
 * ranker, or a request without an embedding of the version (no als), sends what applies. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "candidate.h"
#include "candidate.pb-c.h"
#include "events.h"
#include "model.h"
#include "pg_fixture.h"
#include "publish.h"
#include "rs_err.h"
#include "stage1.h"
#include "rs_rpc.h"
#include "rs_time.h"
#include "twostage.h"

#define NU     60
#define NE     6 /* events per user */
#define CAND_N 30

static fx_pg fx;
static cand_state *st;
static rs_rpc_server *srv;
static rs_rpc_client *cli;
static rs_arena *arena;
static char url[64], root[64];
static tr_dataset ds;
static tr_model model;
static rs_model *vm;                            /* the published version, for als */
static float e4[4] = {0.3f, -0.2f, 0.5f, 0.1f}; /* the requests' embedding */

/* user u's event e: items in 12 clusters of 10 (ids 101..220) that no user crosses, so most
 * items score 0 under itemknn; purchases, clicks, views, a not_interested on another
 * cluster's item (an explicit negative) and low ratings */
static void
event_of(int u, int e, int *item, int *type, double *value)
{
	int cl = u % 12;
	*item = 101 + cl * 10 + (u * 3 + e * 7) % 10;
	*type = e % 3 == 0 ? 4 : e % 3 == 1 ? 2 : 1;
	*value = NAN;
	if (e == 4 && u % 4 == 0) {
		*item = 101 + ((cl + 1) % 12) * 10 + u % 10;
		*type = 6;
	}
	if (e == 5 && u % 3 == 1) {
		*type = 5;
		*value = 1 + u % 5;
	}
}

static int64_t
ts_of(int u, int e)
{
	return 1700000000LL + u * 100 + e * 10;
}

/* rs-train's top list (tr_topk's order: score descending, then code; -inf and nan never),
 * here by sorting every item */
static const float *ref_sc;

static int
ref_cmp(const void *a, const void *b)
{
	int32_t x = *(const int32_t *) a, y = *(const int32_t *) b;
	if (ref_sc[x] != ref_sc[y])
		return ref_sc[x] > ref_sc[y] ? -1 : 1;
	return (x > y) - (x < y);
}

static int
ref_topk(const float *sc, int32_t n, int k, int32_t *top_i, float *top_s)
{
	int32_t *all = malloc((size_t) n * sizeof(*all));
	int m = 0;
	cr_assert_not_null(all);
	for (int32_t i = 0; i < n; i++)
		if (!isnan(sc[i]) && sc[i] != -INFINITY)
			all[m++] = i;
	ref_sc = sc;
	qsort(all, (size_t) m, sizeof(*all), ref_cmp);
	m = m < k ? m : k;
	for (int q = 0; q < m; q++) {
		top_i[q] = all[q];
		top_s[q] = sc[all[q]];
	}
	free(all);
	return m;
}

static void
setup(void)
{
	tr_event_log log;
	tr_weights w;
	tr_params p;
	tr_error err;
	char buf[32], ib[32], mdir[128], vdir[128];
	size_t cap = 1 << 16, n = 0;
	char *sql = malloc(cap);

	snprintf(root, sizeof(root), "/tmp/rs-cand-rin-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	tr_event_log_init(&log);
	for (int u = 0; u < NU; u++)
		for (int e = 0; e < NE; e++) {
			int it, type;
			double value;
			event_of(u, e, &it, &type, &value);
			snprintf(buf, sizeof(buf), "%d", 1000 + u);
			snprintf(ib, sizeof(ib), "%d", it);
			tr_event_log_push(&log, buf, strlen(buf), ib, strlen(ib), type, value,
			                  (double) ts_of(u, e));
		}
	rs_event_weights_defaults(&w);
	cr_assert_eq(tr_events_build(&log, &w, &ds, &err), 0, "%s", err.msg);
	tr_event_log_fini(&log);
	tr_params_defaults(&p);
	snprintf(p.sources, sizeof(p.sources), "als,itemknn,pop");
	snprintf(p.holdout, sizeof(p.holdout), "leave-one-out");
	p.factors = 4;
	p.iterations = 3;
	p.cand_n = CAND_N;
	p.trees = 5;
	p.depth = 3;
	p.nthreads = 1;
	snprintf(mdir, sizeof(mdir), "%s/model", root);
	snprintf(vdir, sizeof(vdir), "%s/v-ts", root);
	cr_assert_eq(tr_model_fit(TR_TWOSTAGE, &p, &ds, &model, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_model_save(&model, &ds, mdir, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_publish(mdir, vdir, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(rs_model_open(vdir, "v-ts", &vm, mdir, sizeof(mdir)), 0, "%s", mdir);

	/* the catalog and the same events in PostgreSQL (the snapshot's live sources) */
	fx_pg_setup(&fx, "cand_rin");
	cr_assert_not_null(sql);
	n += (size_t) snprintf(sql + n, cap - n,
	                       "insert into items(item_id, title, category, price) select i, "
	                       "'Item ' || i, 'C/' || ((i - 101) / 10), 10 from "
	                       "generate_series(101, 220) i;\n"
	                       "insert into events(event_id, user_id, item_id, type, value, ts) "
	                       "values ");
	for (int u = 0; u < NU; u++)
		for (int e = 0; e < NE; e++) {
			int it, type;
			double value;
			event_of(u, e, &it, &type, &value);
			n += (size_t) snprintf(sql + n, cap - n,
			                       "%s('r-%d-%d', %d, %d, %d, %s, to_timestamp(%lld))",
			                       u + e == 0 ? "" : ", ", u, e, 1000 + u, it, type,
			                       isnan(value) ? "null"
			                                    : (value == 1   ? "1"
			                                       : value == 2 ? "2"
			                                       : value == 3 ? "3"
			                                       : value == 4 ? "4"
			                                                    : "5"),
			                       (long long) ts_of(u, e));
		}
	snprintf(sql + n, cap - n,
	         ";\ninsert into model_versions(version, path) values ('v-ts', '%s'); "
	         "select rs_model_activate('v-ts')",
	         vdir);
	fx_sql(&fx, sql);
	free(sql);

	cand_config cfg = {
	        .pg_dsn = fx.dsn,
	        .url = url,
	        .workers = 2,
	        .log_level = RS_LOG_WARN,
	        .refresh_ms = 60000,
	        .default_k = 50,
	        .window_days = 90,
	        .max_events = 100000,
	        .half_life_h = 72,
	        .covisit_n = 50,
	        .pg_timeout_ms = 5000,
	        .model_dir = root,
	        .model_poll_ms = 0,
	        .model_cache = 2,
	};
	snprintf(url, sizeof(url), "inproc://candidate-rin-test-%d", (int) getpid());
	rs_log_init("candidate-test", RS_LOG_WARN);
	cr_assert_eq(cand_open(&st, &cfg), 0);
	cr_assert_eq(rs_rpc_server_open(&srv, url, 2, cand_routes, st), 0);
	cr_assert_eq(rs_rpc_client_open(&cli, url), 0);
	for (int i = 0; i < 200 && rs_rpc_client_connected(cli) == 0; i++)
		usleep(5000);
	cr_assert_gt(rs_rpc_client_connected(cli), 0);
	cr_assert_eq(rs_arena_create(&arena, 0), 0);
	cr_assert_eq(cand_refresh(st), 0);
	cr_assert_eq(cand_model_check(st), 0);
}

static void
teardown(void)
{
	char cmd[128];
	rs_rpc_client_close(cli);
	rs_rpc_server_close(srv);
	cand_close(st);
	rs_arena_destroy(arena);
	fx_pg_teardown(&fx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_assert_eq(system(cmd), 0);
	rs_model_unref(vm);
	tr_model_fini(&model);
	tr_dataset_fini(&ds);
}

TestSuite(cand_ranker_in, .init = setup, .fini = teardown, .timeout = 60);

/* user u's CANDIDATES answer (its raw history newest first, like rs-feature's; with an
 * embedding of the version's 4 factors when emb) */
static Rs__CandidatesResponse *
ask(int u, int emb)
{
	static Rs__HistoryEvent ev[NE];
	static Rs__HistoryEvent *evp[NE];
	Rs__CandidatesRequest req = RS__CANDIDATES_REQUEST__INIT;
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	Rs__CandidatesResponse *r = NULL;
	Rs__Status status;
	char err[256] = "";

	for (int e = 0; e < NE; e++) {
		int it, type;
		double value;
		event_of(u, e, &it, &type, &value);
		rs__history_event__init(&ev[NE - 1 - e]);
		ev[NE - 1 - e].item_id = it;
		ev[NE - 1 - e].type = (Rs__EventType) type;
		ev[NE - 1 - e].value = isnan(value) ? 0 : value;
		ev[NE - 1 - e].ts_ms = ts_of(u, e) * 1000;
		evp[NE - 1 - e] = &ev[NE - 1 - e];
	}
	h.request_id = "rin";
	h.deadline_unix_ms = rs_now_ms() + 5000;
	req.header = &h;
	req.user_id = 1000 + u;
	req.k = 60;
	req.recent = evp;
	req.n_recent = NE;
	if (emb) {
		req.embedding = e4;
		req.n_embedding = 4;
	}
	int rv = rs_rpc_request(cli, RS__METHOD__METHOD_CANDIDATES, &req.base,
	                        &rs__candidates_response__descriptor, 5000, arena, (void **) &r,
	                        &status, err, sizeof(err));
	cr_assert_eq(rv, 0, "rpc: %s", rs_strerror(rv));
	cr_assert_eq(status, RS__STATUS__STATUS_OK, "%s", err);
	return r;
}

static const Rs__SourceScore *
source(const Rs__Candidate *c, const char *name)
{
	for (size_t i = 0; i < c->n_sources; i++)
		if (strcmp(c->sources[i]->source, name) == 0)
			return c->sources[i];
	return NULL;
}

static int
column(const Rs__CandidatesResponse *r, const char *name)
{
	for (size_t q = 0; q < r->n_ranker_sources; q++)
		if (strcmp(r->ranker_sources[q]->source, name) == 0)
			return (int) q;
	return -1;
}

Test(cand_ranker_in, pop_and_itemknn_equal_rs_train_als_its_retrieval)
{
	float *sc = malloc((size_t) ds.n_items * sizeof(float));
	float *raw = malloc((size_t) ds.n_items * sizeof(float));
	float top_s[CAND_N];
	int32_t top_i[CAND_N];
	int checked = 0, in_lists = 0, als_scored_only = 0;
	cr_assert(sc != NULL && raw != NULL);

	for (int u = 0; u < NU; u += 3) {
		char uid[32];
		snprintf(uid, sizeof(uid), "%d", 1000 + u);
		int32_t uc = tr_ids_find(ds.users, uid, strlen(uid));
		cr_assert_geq(uc, 0);
		Rs__CandidatesResponse *r = ask(u, 1);
		cr_assert_str_eq(r->header->model_version, "v-ts");
		cr_assert_eq(r->n_ranker_sources, 3, "als, itemknn and pop");
		cr_assert_gt(r->n_candidates, 10);
		for (int s = 0; s < 3; s++) {
			const char *name = tr_twostage_source(model.ts, s);
			int q = column(r, name);
			cr_assert_geq(q, 0, "no ranker source %s", name);
			const Rs__SourceStats *ss = r->ranker_sources[q];
			if (strcmp(name, "als") == 0) {
				/* the retrieval's own: its list's normalisers, each candidate's
				 * score and rank */
				const Rs__SourceStats *rs = NULL;
				for (size_t i = 0; i < r->n_source_stats; i++)
					if (strcmp(r->source_stats[i]->source, "als") == 0)
						rs = r->source_stats[i];
				cr_assert_not_null(rs);
				cr_assert(ss->top == rs->top && ss->low == rs->low &&
				          ss->count == rs->count && ss->count <= CAND_N);
				for (size_t i = 0; i < r->n_candidates; i++) {
					const Rs__Candidate *c = r->candidates[i];
					const Rs__SourceScore *a = source(c, "als");
					if (a != NULL) { /* retrieved by als */
						cr_assert_eq(c->ranker_scores[q], a->score);
						cr_assert_eq(c->ranker_ranks[q],
						             a->rank <= CAND_N ? a->rank : 0);
						continue;
					}
					uint32_t code;
					float d = 0;
					cr_assert_eq(rs_model_code(vm, c->item_id, &code), 0);
					for (int j = 0; j < 4; j++)
						d += rs_model_item_factors(vm)[code * 4 + j] *
						     e4[j];
					cr_assert(memcmp(&c->ranker_scores[q], &d, 4) == 0,
					          "item %lld: als %.9g, factors . embedding %.9g",
					          (long long) c->item_id, c->ranker_scores[q], d);
					cr_assert_eq(c->ranker_ranks[q], 0);
					als_scored_only++;
				}
				continue;
			}
			/* rs-train: the source's scores, the user's items out of the list */
			tr_stage1_score(tr_twostage_source_model(model.ts, s), &ds, uc, sc);
			memcpy(raw, sc, (size_t) ds.n_items * sizeof(float));
			for (int64_t p = ds.u_ptr[uc]; p < ds.u_ptr[uc + 1]; p++)
				sc[ds.u_items[p]] = -INFINITY;
			int got = ref_topk(sc, ds.n_items, CAND_N, top_i, top_s);
			if (strcmp(name, "pop") == 0)
				memcpy(sc, raw, (size_t) ds.n_items * sizeof(float));
			cr_assert_eq(ss->count, (uint32_t) got);
			cr_assert(memcmp(&ss->top, &top_s[0], 4) == 0 &&
			                  memcmp(&ss->low, &top_s[got - 1], 4) == 0,
			          "user %d %s: top/low %.9g/%.9g, rs-train %.9g/%.9g", u, name,
			          ss->top, ss->low, top_s[0], top_s[got - 1]);
			for (size_t i = 0; i < r->n_candidates; i++) {
				const Rs__Candidate *c = r->candidates[i];
				char id[32];
				snprintf(id, sizeof(id), "%lld", (long long) c->item_id);
				int32_t ic = tr_ids_find(ds.items, id, strlen(id));
				cr_assert_geq(ic, 0);
				uint32_t want = 0;
				for (int k = 0; k < got && want == 0; k++)
					if (top_i[k] == ic)
						want = (uint32_t) k + 1;
				cr_assert_eq(c->n_ranker_scores, 3);
				cr_assert_eq(c->n_ranker_ranks, 3);
				cr_assert(memcmp(&c->ranker_scores[q], &sc[ic], 4) == 0,
				          "user %d %s item %s: %.9g, rs-train %.9g", u, name, id,
				          c->ranker_scores[q], sc[ic]);
				cr_assert_eq(c->ranker_ranks[q], want,
				             "user %d %s item %s: rank %u, %u", u, name, id,
				             c->ranker_ranks[q], want);
				in_lists += want > 0;
			}
		}
		checked++;
		rs_arena_reset(arena);
	}
	cr_log_info("cand_ranker_in: %d users, candidates in a pop/itemknn list %d, not retrieved "
	            "by als %d",
	            checked, in_lists, als_scored_only);
	cr_assert_gt(in_lists, 0);
	cr_assert_gt(als_scored_only, 0);
	free(sc);
	free(raw);
}

/* without an embedding of the version als does not run: no als column, the others stay */
Test(cand_ranker_in, without_an_embedding_als_is_not_sent)
{
	Rs__CandidatesResponse *r = ask(4, 0);
	cr_assert_eq(r->n_ranker_sources, 2);
	cr_assert_lt(column(r, "als"), 0);
	cr_assert_geq(column(r, "itemknn"), 0);
	cr_assert_geq(column(r, "pop"), 0);
	for (size_t i = 0; i < r->n_candidates; i++) {
		cr_assert_eq(r->candidates[i]->n_ranker_scores, 2);
		cr_assert_null(source(r->candidates[i], "als"));
	}
}
