/* ranker_agree: for a fitted two-stage model folder and its train.csv, publish the version
 * (unless VERSION_DIR exists), load its learned ranker the way rs-ranking does, and for N users
 * compare rs-ranking's rows and scores (from rs-train's candidates with the pop and itemknn
 * scores, ranks and normalisers rs-candidate computes (common/rs_ranksrc.h), rs-train's als and
 * ease scores, and the history) with rs-train's; print the agreement and the cost per request
 * (rows, predict of all candidates, contributions of the top 20 that every request computes
 * for its reasons, what explain adds: contributions of every candidate, and rs-candidate's
 * share: the pop and itemknn lists).
 *
 *   ranker_agree MODEL_DIR TRAIN_CSV VERSION_DIR [USERS (200)]
 *
 * Example (ML-100K, the model of bench/accuracy/ci_smoke.sh):
 *   RS_WORK=/tmp/w bench/accuracy/ci_smoke.sh
 *   build/bench/ranker/ranker_agree /tmp/w/m_two-stage /tmp/w/split/train.csv /tmp/w/v1 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "load.h"
#include "model.h"
#include "publish.h"
#include "ranker.h"
#include "ranker_retrieval.h"
#include "ranking.pb-c.h"
#include "rs_arena.h"
#include "rs_err.h"
#include "rs_model.h"
#include "rs_time.h"
#include "twostage.h"

/* thread CPU time in ms: the machine is shared, wall time would measure the neighbours */
static double
cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static int64_t
id_of(const tr_ids *ids, int32_t code)
{
	return atoll(tr_ids_name(ids, code));
}

/* The request rs-ranking gets for this user: the history, and rs-candidate's answer for
 * rs-train's candidates (ranker_retrieval.h: pop and itemknn scored as rs-candidate scores
 * them, als and ease with rs-train's scores). */
static Rs__RankRequest *
build(rs_arena *a, const tr_model *m, const tr_dataset *ds, int32_t u, const tr_twostage_row *row,
      rs_model *vm, const rs_ranksrc *rsrc)
{
	Rs__RankRequest *req = rs_arena_alloc(a, sizeof(*req));
	int64_t pb = ds->u_ptr[u], pe = ds->u_ptr[u + 1];
	size_t nh = (size_t) (pe - pb);
	char err[256];

	rs__rank_request__init(req);
	req->recent = rs_arena_alloc(a, (nh ? nh : 1) * sizeof(void *));
	for (size_t i = 0; i < nh; i++) {
		Rs__HistoryEvent *h = rs_arena_alloc(a, sizeof(*h));
		rs__history_event__init(h);
		h->item_id = id_of(ds->items, ds->u_items[pb + (int64_t) i]);
		h->ts_ms = (int64_t) (ds->u_ts[pb + (int64_t) i] * 1000.0);
		h->type = RS__EVENT_TYPE__EVENT_VIEW;
		req->recent[i] = h;
	}
	req->n_recent = nh;
	req->retrieval = rr_retrieval(a, m, ds, row, vm, rsrc, req->recent, nh, err, sizeof(err));
	if (req->retrieval == NULL) {
		fprintf(stderr, "ranker_agree: %s\n", err);
		exit(1);
	}
	return req;
}

int
main(int argc, char **argv)
{
	tr_dataset ds;
	tr_model m;
	tr_error err;
	rs_model *rm;
	rs_ranksrc *rsrc;
	rank_ranker *rk;
	struct stat sb;
	char e[512];
	int nusers = argc > 4 ? atoi(argv[4]) : 200, done = 0;
	long rows_total = 0, rows_exact = 0, cands = 0;
	double maxd = 0, t_rows = 0, t_pred = 0, t_shap = 0, t_explain = 0, max_contrib = 0;
	double t_cand = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: ranker_agree MODEL_DIR TRAIN_CSV VERSION_DIR [USERS]\n");
		return 2;
	}
	if (tr_dataset_load(argv[2], &ds, &err) != 0 || tr_model_load(argv[1], &m, &err) != 0 ||
	    (stat(argv[3], &sb) != 0 && tr_publish(argv[1], argv[3], NULL, &err) != 0)) {
		fprintf(stderr, "ranker_agree: %s\n", err.msg);
		return 1;
	}
	if (m.kind != TR_TWOSTAGE || tr_twostage_fallback(m.ts) >= 0) {
		fprintf(stderr, "ranker_agree: not a two-stage model ranking by its ranker\n");
		return 1;
	}
	if (rs_model_open(argv[3], NULL, &rm, e, sizeof(e)) != 0 ||
	    rank_ranker_open(rm, 1, &rk, e, sizeof(e)) != 0 ||
	    rs_ranksrc_open(rm, &rsrc, e, sizeof(e)) != 0) {
		fprintf(stderr, "ranker_agree: %s\n", e);
		return 1;
	}
	int nf = rank_ranker_nfeat(rk);
	for (int32_t u = 0; u < ds.n_users && done < nusers; u += 1 + ds.n_users / nusers) {
		tr_twostage_row row;
		rs_arena *a;
		int missing;
		if (tr_twostage_user(m.ts, &ds, u, &row, &err) != 0 || row.n == 0) {
			tr_twostage_row_fini(&row);
			continue;
		}
		rs_arena_create(&a, 0);
		double tc = cpu_ms();
		Rs__RankRequest *req = build(a, &m, &ds, u, &row, rm, rsrc);
		t_cand += cpu_ms() - tc;
		float *x = rs_arena_alloc(a, (size_t) row.n * (size_t) nf * sizeof(float));
		float *sc = rs_arena_alloc(a, (size_t) row.n * sizeof(float));
		float *ct = rs_arena_alloc(a, (size_t) row.n * (size_t) (nf + 1) * sizeof(float));
		float *se = rs_arena_alloc(a, (size_t) row.n * sizeof(float));
		int64_t *because = rs_arena_alloc(a, (size_t) row.n * sizeof(int64_t));
		double t0 = cpu_ms();
		if (rank_ranker_rows(rk, req,
		                     (const Rs__Candidate *const *) req->retrieval->candidates,
		                     (size_t) row.n, a, x, because, &missing) != 0 ||
		    missing != 0) {
			fprintf(stderr, "ranker_agree: rows failed (missing %d)\n", missing);
			return 1;
		}
		double t1 = cpu_ms();
		rank_ranker_predict(rk, x, (size_t) row.n, sc, NULL);
		double t2 = cpu_ms();
		rank_ranker_predict(rk, x, row.n < 20 ? (size_t) row.n : 20, NULL, ct);
		double t3 = cpu_ms();
		rank_ranker_predict(rk, x, (size_t) row.n, se, ct); /* explain: every candidate */
		double t4 = cpu_ms();
		rank_ranker_predict(rk, x, (size_t) row.n, sc,
		                    NULL); /* scores again (ct overwrote) */
		t_rows += t1 - t0;
		t_pred += t2 - t1;
		t_shap += t3 - t2;
		t_explain += (t4 - t3) - (t3 - t2);
		for (int c = 0; c < row.n; c++) { /* contributions + bias = score */
			double sum = 0, d;
			for (int f = 0; f <= nf; f++)
				sum += ct[(size_t) c * (nf + 1) + (size_t) f];
			d = fabs(sum - (double) se[c]);
			max_contrib = d > max_contrib ? d : max_contrib;
		}
		for (int c = 0; c < row.n; c++) {
			double d = fabs((double) sc[c] - (double) row.pred[c]);
			maxd = d > maxd ? d : maxd;
			rows_exact += memcmp(x + (size_t) c * nf, row.feat + (size_t) c * nf,
			                     (size_t) nf * sizeof(float)) == 0;
			rows_total++;
		}
		cands += row.n;
		done++;
		tr_twostage_row_fini(&row);
		rs_arena_destroy(a);
	}
	printf("ranker_agree: %d users, %.1f candidates/user, %d features: rows identical %ld/%ld, "
	       "max |online - offline| score %.3g\n",
	       done, done ? (double) cands / done : 0, nf, rows_exact, rows_total, maxd);
	printf("ranker_agree: predictor %s\n", rank_ranker_uses_forest(rk) ? "forest" : "xgboost");
	printf("ranker_agree: CPU per request: rows %.3f ms, predict %.3f ms, contributions (top "
	       "20) %.3f ms, total %.3f ms (rs-candidate's pop and itemknn lists and scores of "
	       "these candidates, rs_ranksrc: %.3f ms)\n",
	       t_rows / done, t_pred / done, t_shap / done, (t_rows + t_pred + t_shap) / done,
	       t_cand / done);
	printf("ranker_agree: explain (contributions of every candidate instead of the top 20) "
	       "adds %.3f ms CPU per request; max |base + contributions - score| %.3g\n",
	       t_explain / done, max_contrib);
	rank_ranker_destroy(rk);
	rs_ranksrc_destroy(rsrc);
	rs_model_unref(rm);
	tr_model_fini(&m);
	tr_dataset_fini(&ds);
	return rows_exact == rows_total && maxd < 1e-5 ? 0 : 1;
}
