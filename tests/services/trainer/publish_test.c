#include <criterion/criterion.h>
#include <jansson.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "load.h"
#include "model.h"
#include "publish.h"
#include "runlog.h"
#include "rs_err.h"
#include "rs_model.h"
#include "rs_rankfeat.h"

TestSuite(publish, .fini = th_cleanup);

Test(publish, lmdb_holds_factors_ids_and_is_immutable)
{
	const char *train = th_write_tmp("user,item,timestamp\na,x,1\na,y,2\nb,x,1\nb,z,2\n"
	                                 "c,y,1\nc,z,2\n");
	const char *dir = th_tmpdir(), *base = th_tmpdir();
	char ver[512];
	tr_dataset ds;
	tr_model m;
	tr_params p;
	tr_error err;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi fac, ids;
	unsigned code = 1;
	MDB_val k = {sizeof(code), &code}, v, kid = {1, (void *) "z"};

	snprintf(ver, sizeof(ver), "%s/v1", base);
	tr_params_defaults(&p);
	p.factors = 4;
	cr_assert_eq(tr_dataset_load(train, &ds, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_model_fit(TR_ALS, &p, &ds, &m, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_model_save(&m, &ds, dir, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_publish(dir, ver, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_publish(dir, ver, NULL, &err), RS_EEXIST);
	cr_assert_eq(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 8);
	cr_assert_eq(mdb_env_open(env, ver, MDB_RDONLY, 0644), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "item_factors", MDB_INTEGERKEY, &fac), 0);
	cr_assert_eq(mdb_dbi_open(txn, "item_codes", 0, &ids), 0);
	cr_assert_eq(mdb_get(txn, fac, &k, &v), 0);
	cr_assert_eq(v.mv_size, 4 * sizeof(float));
	cr_assert_eq(memcmp(v.mv_data, m.als.V + 4, 4 * sizeof(float)), 0); /* item y = code 1 */
	cr_assert_eq(mdb_get(txn, ids, &kid, &v), 0);
	cr_assert_eq(v.mv_size, sizeof(unsigned));
	memcpy(&code, v.mv_data, sizeof(code)); /* LMDB values are not aligned */
	cr_assert_eq(code, 2u);                 /* z first appears third */
	mdb_txn_abort(txn);
	mdb_env_close(env);
	tr_model_fini(&m);
	tr_dataset_fini(&ds);
}

Test(publish, mlflow_run_folder)
{
	const char *train = th_write_tmp("user,item\na,x\na,y\nb,x\n"), *store = th_tmpdir();
	tr_dataset ds;
	tr_model m;
	tr_params p;
	tr_error err;
	char run_id[33], path[600];
	FILE *f;
	char line[128] = "";
	double v = 0;
	long long ms = 0;
	int step = -1;

	tr_params_defaults(&p);
	cr_assert_eq(tr_dataset_load(train, &ds, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_model_fit(TR_POP, &p, &ds, &m, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_runlog_fit(store, "exp", &m, train, "/m", run_id, &err), 0, "%s", err.msg);
	cr_assert_eq(strlen(run_id), 32);
	cr_assert_eq(tr_runlog_metric(store, "exp", run_id, "NDCG_at_20", 0.25, &err), 0, "%s",
	             err.msg);
	cr_assert_eq(tr_runlog_metric(store, "exp", "nope", "x", 1, &err), RS_ENOTFOUND);
	/* find the experiment folder through the run's params/model file */
	snprintf(path, sizeof(path), "ls -d %s/*/%s/params/model > %s/found", store, run_id, store);
	cr_assert_eq(system(path), 0);
	snprintf(path, sizeof(path), "%s/found", store);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(line, sizeof(line), f));
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	f = fopen(line, "r");
	cr_assert_not_null(f, "%s", line);
	cr_assert_not_null(fgets(path, sizeof(path), f));
	fclose(f);
	cr_assert_str_eq(path, "pop");
	strcpy(strstr(line, "/params/model"), "/metrics/NDCG_at_20");
	f = fopen(line, "r");
	cr_assert_not_null(f, "%s", line);
	cr_assert_eq(fscanf(f, "%lld %lf %d", &ms, &v, &step), 3);
	fclose(f);
	cr_assert_float_eq(v, 0.25, 1e-12);
	cr_assert_eq(step, 0);
	tr_model_fini(&m);
	tr_dataset_fini(&ds);
}

/* A two-stage model publishes what rs-ranking needs to compute its feature rows online:
 * item_features, transitions, knn_rows, the pop source's scores, the normalisers and, in the
 * manifest, the ranker's feature names and layout. */
Test(publish, two_stage_publishes_the_ranker_serving_data)
{
	const char *dir = th_tmpdir(), *base = th_tmpdir();
	char ver[512], path[600], csv[4096];
	size_t used = 0;
	tr_dataset ds;
	tr_model m;
	tr_params p;
	tr_error err;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi feat, trans, knn, meta, srcs;
	unsigned code = 0;
	MDB_val k = {sizeof(code), &code}, v, kl = {15, (void *) "rankfeat_layout"},
	        kp = {3, (void *) "pop"};
	uint32_t layout;

	used += (size_t) snprintf(csv, sizeof(csv), "user,item,timestamp\n");
	for (int u = 0; u < 30; u++)
		for (int s = 0; s < 6; s++)
			used += (size_t) snprintf(csv + used, sizeof(csv) - used, "u%d,i%d,%d\n", u,
			                          (u + s) % 12, u * 10 + s);
	snprintf(ver, sizeof(ver), "%s/v1", base);
	tr_params_defaults(&p);
	snprintf(p.sources, sizeof(p.sources), "itemknn,pop");
	snprintf(p.holdout, sizeof(p.holdout), "leave-one-out");
	p.cand_n = 6;
	p.trees = 5;
	p.nthreads = 1;
	cr_assert_eq(tr_dataset_load(th_write_tmp(csv), &ds, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_model_fit(TR_TWOSTAGE, &p, &ds, &m, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_model_save(&m, &ds, dir, &err), 0, "%s", err.msg);
	cr_assert_eq(tr_publish(dir, ver, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 16);
	cr_assert_eq(mdb_env_open(env, ver, MDB_RDONLY, 0644), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "item_features", MDB_INTEGERKEY, &feat), 0);
	cr_assert_eq(mdb_dbi_open(txn, "transitions", MDB_INTEGERKEY, &trans), 0);
	cr_assert_eq(mdb_dbi_open(txn, "knn_rows", MDB_INTEGERKEY, &knn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "source_scores", 0, &srcs), 0);
	cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	cr_assert_eq(mdb_get(txn, feat, &k, &v), 0);
	cr_assert_eq(v.mv_size, RS_RANKFEAT_ITEM * sizeof(float));
	/* i0 -> i1 is the only transition leaving i0: share 1 */
	cr_assert_eq(mdb_get(txn, trans, &k, &v), 0);
	cr_assert_eq(v.mv_size, 8u);
	float share;
	memcpy(&share, (char *) v.mv_data + 4, sizeof(share));
	cr_assert_float_eq(share, 1.0f, 1e-6);
	cr_assert_eq(mdb_get(txn, knn, &k, &v), 0);
	cr_assert_gt(v.mv_size, 0u);
	cr_assert_eq(mdb_get(txn, srcs, &kp, &v), 0);
	cr_assert_eq(v.mv_size, 12 * sizeof(float));
	cr_assert_eq(mdb_get(txn, meta, &kl, &v), 0);
	memcpy(&layout, v.mv_data, sizeof(layout));
	cr_assert_eq(layout, RS_RANKFEAT_LAYOUT);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	/* the readers' view (rs_model, one environment): every db of the ranker's serving data */
	rs_model *rm;
	rs_model_read rd;
	const void *data;
	size_t len;
	char rerr[256];
	cr_assert_eq(rs_model_open(ver, NULL, &rm, rerr, sizeof(rerr)), 0, "%s", rerr);
	for (int d = 0; d < RS_MODEL_NDB; d++)
		cr_assert(rs_model_has_db(rm, (rs_model_db) d), "db %d missing", d);
	cr_assert_eq(rs_model_read_begin(rm, &rd), 0);
	cr_assert_eq(rs_model_get_code(rm, &rd, RS_MODEL_DB_ITEM_FEATURES, 0, &data, &len), 0);
	cr_assert_eq(len, RS_RANKFEAT_ITEM * sizeof(float));
	cr_assert_eq(rs_model_get(rm, &rd, RS_MODEL_DB_SOURCE_SCORES, RS_MDB_SOURCE_POP,
	                          strlen(RS_MDB_SOURCE_POP), &data, &len),
	             0);
	cr_assert_eq(len, 12 * sizeof(float));
	cr_assert_eq(rs_model_get_code(rm, &rd, RS_MODEL_DB_TRANSITIONS, 99, &data, &len),
	             RS_ENOTFOUND);
	rs_model_read_end(&rd);
	rs_model_unref(rm);
	snprintf(path, sizeof(path), "%s/manifest.json", ver);
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr), *rk;
	cr_assert_not_null(root, "%s", jerr.text);
	rk = json_object_get(json_object_get(root, "published"), "ranker");
	cr_assert_eq(json_integer_value(json_object_get(rk, "layout")), RS_RANKFEAT_LAYOUT);
	cr_assert_eq(json_array_size(json_object_get(rk, "features")),
	             (size_t) rs_rankfeat_nfeat(2));
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(rk, "features"), 0)),
	                 "itemknn_norm");
	cr_assert_str_eq(json_string_value(json_object_get(rk, "knn_source")), "itemknn");
	json_decref(root);
	tr_model_fini(&m);
	tr_dataset_fini(&ds);
}
