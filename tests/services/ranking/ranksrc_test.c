/* common/rs_ranksrc against rs-train: the pop and itemknn lists rs-candidate builds for the
 * learned ranker (what rs-ranking computed itself before) equal rs-train's for every user:
 * every item's score bit for bit (the user's items -inf under itemknn), each list's items and
 * ranks in rs-train's tr_topk order, and its normalisers (top, low, length).
 *
 * The data make the sparse itemknn sum take every path: items in 12 clusters of 10 that no
 * user crosses (a user's rows reach only its cluster, so most items score 0 and the list is
 * filled with them in code order, up to cand_n 30), and an event log with weights, explicit
 * negatives (not_interested, low ratings: rows subtracted, negative scores) and cand_n above
 * the catalog size (every finite score is in the list, the negatives last). Histories also
 * name an item the version does not know. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "load.h"
#include "model.h"
#include "publish.h"
#include "rs_arena.h"
#include "rs_err.h"
#include "stage1.h"
#include "rs_model.h"
#include "rs_ranksrc.h"
#include "topk.h"
#include "twostage.h"

#define NU 96
#define NI 120
#define NE 6 /* events per user */

static char root[64];

/* user u's event e: an item of its cluster (u % 12), a type and a rating value; weighted data
 * add a not_interested on another cluster's item and low ratings */
static void
event_of(int u, int e, int weighted, int *item, int *type, double *value)
{
	int cl = u % 12;
	*item = cl * 10 + (u * 3 + e * 7) % 10;
	*type = 1;
	*value = NAN;
	if (!weighted)
		return;
	*type = e % 3 == 0 ? 4 : e % 3 == 1 ? 2 : 1;
	if (e == 4 && u % 4 == 0) { /* an explicit negative on another cluster's item */
		*item = ((cl + 1) % 12) * 10 + u % 10;
		*type = 6;
	}
	if (e == 5 && u % 3 == 1) { /* a rating: low ones are negatives */
		*type = 5;
		*value = 1 + u % 5;
	}
}

static void
fit(int weighted, int cand_n, tr_dataset *ds, tr_model *m, char *vdir, size_t vn)
{
	tr_params p;
	tr_error err;
	char mdir[160], buf[32], ib[32];

	snprintf(root, sizeof(root), "/tmp/rs-ranksrc-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	snprintf(mdir, sizeof(mdir), "%s/model", root);
	snprintf(vdir, vn, "%s/v", root);
	if (weighted) {
		tr_event_log log;
		tr_weights w;
		tr_event_log_init(&log);
		for (int u = 0; u < NU; u++)
			for (int e = 0; e < NE; e++) {
				int it, type;
				double value;
				event_of(u, e, 1, &it, &type, &value);
				snprintf(buf, sizeof(buf), "%d", 1000 + u);
				snprintf(ib, sizeof(ib), "%d", 101 + it);
				tr_event_log_push(&log, buf, strlen(buf), ib, strlen(ib), type,
				                  value, 1700000000.0 + u * 100 + e * 10);
			}
		rs_event_weights_defaults(&w);
		cr_assert_eq(tr_events_build(&log, &w, ds, &err), 0, "%s", err.msg);
		tr_event_log_fini(&log);
		cr_assert_gt(ds->n_neg, 0);
	} else {
		char train[160];
		snprintf(train, sizeof(train), "%s/train.csv", root);
		FILE *f = fopen(train, "w");
		cr_assert_not_null(f);
		fprintf(f, "user,item,timestamp\n");
		for (int u = 0; u < NU; u++)
			for (int e = 0; e < NE; e++) {
				int it, type;
				double value;
				event_of(u, e, 0, &it, &type, &value);
				fprintf(f, "%d,%d,%d\n", 1000 + u, 101 + it,
				        1700000000 + u * 100 + e * 10);
			}
		fclose(f);
		cr_assert_eq(tr_dataset_load(train, ds, &err), 0, "%s", err.msg);
	}
	tr_params_defaults(&p);
	snprintf(p.sources, sizeof(p.sources), "als,itemknn,pop");
	snprintf(p.holdout, sizeof(p.holdout), "leave-one-out");
	p.factors = 4;
	p.iterations = 3;
	p.cand_n = cand_n;
	p.trees = 5;
	p.depth = 3;
	p.nthreads = 1;
	cr_assert_eq(tr_model_fit(TR_TWOSTAGE, &p, ds, m, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_model_save(m, ds, mdir, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_publish(mdir, vdir, NULL, &err), 0, "%s", err.msg);
}

/* every user's pop and itemknn lists online against rs-train's (tr_model_score of the
 * source, the user's items -inf, tr_topk) */
static void
check_all_users(int weighted, int cand_n)
{
	tr_dataset ds;
	tr_model m;
	rs_model *vm;
	rs_ranksrc *r;
	rs_arena *a;
	char vdir[160], err[256], cmd[256];
	int checked = 0, zero_filled = 0, negatives = 0;

	fit(weighted, cand_n, &ds, &m, vdir, sizeof(vdir));
	cr_assert_eq(rs_model_open(vdir, "v", &vm, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rs_ranksrc_open(vm, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rs_ranksrc_count(r), 3);
	cr_assert_eq(rs_ranksrc_cand_n(r), cand_n);
	cr_assert_eq(rs_ranksrc_weights_of(r)->weighted, weighted);
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	float *sc = malloc((size_t) ds.n_items * sizeof(float));
	float *raw = malloc((size_t) ds.n_items * sizeof(float));
	float *top_s = malloc((size_t) cand_n * sizeof(float));
	int32_t *top_i = malloc((size_t) cand_n * sizeof(int32_t));
	uint32_t *code_of = malloc((size_t) ds.n_items * sizeof(uint32_t));
	cr_assert(sc != NULL && raw != NULL && top_s != NULL && top_i != NULL && code_of != NULL);
	for (int32_t c = 0; c < ds.n_items; c++)
		cr_assert_eq(rs_model_code(vm, atoll(tr_ids_name(ds.items, c)), &code_of[c]), 0);

	for (int u = 0; u < NU; u++) {
		char uid[32];
		snprintf(uid, sizeof(uid), "%d", 1000 + u);
		int32_t uc = tr_ids_find(ds.users, uid, strlen(uid));
		cr_assert_geq(uc, 0);
		/* the raw history, newest first like rs-feature, plus an item the version does not
		 * know */
		rs_ranksrc_event ev[NE + 1];
		for (int e = 0; e < NE; e++) {
			int it, type;
			double value;
			event_of(u, e, weighted, &it, &type, &value);
			ev[NE - 1 - e] = (rs_ranksrc_event){
			        101 + it, (1700000000LL + u * 100 + e * 10) * 1000, type,
			        isnan(value) ? 0 : value};
		}
		ev[NE] = (rs_ranksrc_event){999999, 1800000000000LL, 1, 0};
		rs_ranksrc_user user;
		cr_assert_eq(
		        rs_ranksrc_user_build(vm, rs_ranksrc_weights_of(r), ev, NE + 1, a, &user),
		        0);
		cr_assert_eq(user.npos, (size_t) (ds.u_ptr[uc + 1] - ds.u_ptr[uc]) + 1,
		             "user %d: %zu positives, rs-train %lld + the unknown item", u,
		             user.npos, (long long) (ds.u_ptr[uc + 1] - ds.u_ptr[uc]));
		for (int s = 0; s < 3; s++) {
			int kind = rs_ranksrc_kind(r, s);
			if (kind != RS_RANKSRC_POP && kind != RS_RANKSRC_KNN) {
				cr_assert_str_eq(rs_ranksrc_name(r, s), "als");
				cr_assert_eq(kind, RS_RANKSRC_CALLER);
				continue;
			}
			const char *name = rs_ranksrc_name(r, s);
			cr_assert_str_eq(name, tr_twostage_source(m.ts, s));
			rs_ranksrc_list l;
			cr_assert_eq(rs_ranksrc_list_build(r, s, &user, a, &l), 0);
			tr_stage1_score(tr_twostage_source_model(m.ts, s), &ds, uc, sc);
			memcpy(raw, sc, (size_t) ds.n_items * sizeof(float));
			for (int64_t p = ds.u_ptr[uc]; p < ds.u_ptr[uc + 1]; p++)
				sc[ds.u_items[p]] = -INFINITY;
			int got = tr_topk(sc, ds.n_items, cand_n, top_i, top_s);
			/* the user's own items: -inf under itemknn, their published score under pop
			 * (offline they are never candidates; online they keep rs-ranking's old
			 * values) */
			if (kind == RS_RANKSRC_POP)
				memcpy(sc, raw, (size_t) ds.n_items * sizeof(float));
			cr_assert_eq(l.n, (uint32_t) got, "user %d %s: list of %u, rs-train %d", u,
			             name, l.n, got);
			cr_assert(memcmp(&l.top, got > 0 ? &top_s[0] : &(float){0}, 4) == 0 &&
			                  memcmp(&l.low, got > 0 ? &top_s[got - 1] : &(float){0},
			                         4) == 0,
			          "user %d %s: top/low %.9g/%.9g, rs-train %.9g/%.9g", u, name,
			          l.top, l.low, top_s[0], top_s[got - 1]);
			for (int32_t c = 0; c < ds.n_items; c++) {
				uint32_t rank, want = 0;
				float v = rs_ranksrc_list_score(&l, code_of[c], &rank);
				for (int q = 0; q < got && want == 0; q++)
					if (top_i[q] == c)
						want = (uint32_t) q + 1;
				cr_assert(memcmp(&v, &sc[c], sizeof(v)) == 0,
				          "user %d %s item %s: %.9g, rs-train %.9g", u, name,
				          tr_ids_name(ds.items, c), v, sc[c]);
				cr_assert_eq(rank, want, "user %d %s item %s: rank %u, rs-train %u",
				             u, name, tr_ids_name(ds.items, c), rank, want);
			}
			if (kind == RS_RANKSRC_KNN) {
				zero_filled += got > 0 && top_s[got - 1] == 0.0f;
				negatives += got > 0 && top_s[got - 1] < 0.0f;
			}
		}
		uint32_t rank;
		cr_assert_eq(rs_ranksrc_list_score(&(rs_ranksrc_list){0}, UINT32_MAX, &rank), 0.0f);
		checked++;
		rs_arena_reset(a);
	}
	cr_log_info("ranksrc (%s, cand_n %d): %d users, itemknn lists ending in zeros %d, in "
	            "negatives %d",
	            weighted ? "event log" : "pairs", cand_n, checked, zero_filled, negatives);
	/* the data reach the paths they are made for */
	if (weighted)
		cr_assert_gt(negatives, 0);
	else
		cr_assert_gt(zero_filled, 0);
	free(sc);
	free(raw);
	free(top_s);
	free(top_i);
	free(code_of);
	rs_arena_destroy(a);
	rs_ranksrc_destroy(r);
	rs_model_unref(vm);
	tr_model_fini(&m);
	tr_dataset_fini(&ds);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(ranksrc, .timeout = 60);

Test(ranksrc, pairs_lists_equal_rs_train_with_zero_fill)
{
	check_all_users(0, 30);
}

Test(ranksrc, event_log_lists_equal_rs_train_with_negatives)
{
	check_all_users(1, 200);
}

/* params.weights as rs-train writes them; a spec that does not parse is refused */
Test(ranksrc, weights)
{
	rs_ranksrc_weights w;
	cr_assert_eq(rs_ranksrc_weights_init(&w, 1, "view=1,click=3,purchase=9,rating_low=2.5"), 0);
	cr_assert_eq(w.ev.w[2], 3.0);
	cr_assert_eq(w.ev.w[4], 9.0);
	cr_assert_eq(w.ev.w[3], 4.0); /* the default */
	cr_assert_eq(w.ev.rating_low, 2.5);
	cr_assert_eq(rs_ranksrc_weights_init(&w, 1, "view=x"), -1);
	cr_assert_eq(rs_ranksrc_weights_init(&w, 1, "bogus=1"), -1);
	cr_assert_eq(rs_ranksrc_weights_init(&w, 0, "bogus=1"), 0); /* pairs: unused */
	cr_assert_eq(w.weighted, 0);
}
