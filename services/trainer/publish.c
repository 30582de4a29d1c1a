/* publish: see publish.h. */
#include "publish.h"

#include <errno.h>
#include <jansson.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "csv.h"
#include "model.h"
#include "rs_err.h"
#include "rs_model_layout.h"
#include "rs_rankfeat.h"
#include "topk.h"
#include "twostage.h"

#define PUB_NEIGHBOURS 100
#define PUB_POPULAR    1000

typedef struct pub_items {
	char **ids;
	int32_t n, cap;
} pub_items;

static int
pub_item_row(void *vctx, char **vals, long line, tr_error *err)
{
	pub_items *c = vctx;
	(void) line;
	(void) err;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->ids = tr_xrealloc(c->ids, (size_t) c->cap * sizeof(char *));
	}
	c->ids[c->n++] = tr_xstrdup(vals[0]);
	return 0;
}

/* LMDB codes become RS_EIO with LMDB's text; translated here, where they enter */
static int
pub_mdb(int rc, const char *what, tr_error *err)
{
	return rc == 0 ? 0
	               : tr_error_set(err, rc == MDB_KEYEXIST ? RS_EEXIST : RS_EIO, "lmdb %s: %s",
	                              what, mdb_strerror(rc));
}

static int
pub_put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t kl, const void *v, size_t vl,
        unsigned flags, tr_error *err)
{
	MDB_val key = {kl, (void *) k}, val = {vl, (void *) v};

	return pub_mdb(mdb_put(txn, dbi, &key, &val, flags), "put", err);
}

/* a value under a string key (rs_model_layout.h's key names) */
static int
pub_put_str(MDB_txn *txn, MDB_dbi dbi, const char *k, const void *v, size_t vl, tr_error *err)
{
	return pub_put(txn, dbi, k, strlen(k), v, vl, 0, err);
}

static int
pub_copy(const char *from, const char *to, tr_error *err)
{
	char *buf = NULL;
	size_t len;
	FILE *f;
	int rv;

	if ((rv = tr_read_file(from, &buf, &len, err)) != 0)
		return rv;
	if ((f = fopen(to, "wb")) == NULL) {
		free(buf);
		return tr_error_set(err, RS_EIO, "%s: cannot create: %s", to, strerror(errno));
	}
	rv = fwrite(buf, 1, len, f) == len ? 0 : RS_EIO;
	rv |= fclose(f) != 0 ? RS_EIO : 0;
	free(buf);
	return rv ? tr_error_set(err, RS_EIO, "%s: write failed", to) : 0;
}

typedef struct pub_nb {
	uint32_t code;
	float sim;
} pub_nb;

/* The two-stage ranker's serving data (twostage.c ts_save_serving), when the model folder has
 * it (older folders do not: rs-ranking then keeps its linear scorer). */
typedef struct pub_rank {
	json_t *json; /* rankfeat.json */
	float *items; /* n_items x RS_RANKFEAT_ITEM */
	int64_t *tptr;
	int32_t *tidx;
	float *tshare;
} pub_rank;

static void
pub_rank_fini(pub_rank *r)
{
	json_decref(r->json);
	free(r->items);
	free(r->tptr);
	free(r->tidx);
	free(r->tshare);
	memset(r, 0, sizeof(*r));
}

static int
pub_rank_load(const char *model_dir, int32_t n_items, pub_rank *r, tr_error *err)
{
	char path[4096];
	json_error_t jerr;
	void *p = NULL;
	int64_t nnz;
	int rv;

	memset(r, 0, sizeof(*r));
	tr_path_join(path, sizeof(path), model_dir, "rankfeat.json");
	if ((r->json = json_load_file(path, 0, &jerr)) == NULL)
		return 0; /* an older model folder */
	if (json_integer_value(json_object_get(r->json, "layout")) != RS_RANKFEAT_LAYOUT) {
		rv = tr_error_set(
		        err, RS_EVERSION, "%s: feature layout %lld, this rs-train writes %d", path,
		        (long long) json_integer_value(json_object_get(r->json, "layout")),
		        RS_RANKFEAT_LAYOUT);
		goto fail;
	}
	if ((rv = tr_blob_read(model_dir, "rankfeat_items.f32",
	                       (size_t) n_items * RS_RANKFEAT_ITEM * sizeof(float), &p, err)) != 0)
		goto fail;
	r->items = p;
	if ((rv = tr_blob_read(model_dir, "rankfeat_trans_ptr.i64",
	                       ((size_t) n_items + 1) * sizeof(int64_t), &p, err)) != 0)
		goto fail;
	r->tptr = p;
	nnz = r->tptr[n_items];
	if ((rv = tr_blob_read(model_dir, "rankfeat_trans_idx.i32", (size_t) nnz * sizeof(int32_t),
	                       &p, err)) != 0)
		goto fail;
	r->tidx = p;
	if ((rv = tr_blob_read(model_dir, "rankfeat_trans_share.f32", (size_t) nnz * sizeof(float),
	                       &p, err)) != 0)
		goto fail;
	r->tshare = p;
	return 0;
fail:
	pub_rank_fini(r);
	return rv;
}

/* one CSR row (columns ascending) as {u32 code, f32 value}[] */
static int
pub_put_row(MDB_txn *txn, MDB_dbi dbi, uint32_t code, const int32_t *idx, const float *val,
            int64_t n, pub_nb **buf, int64_t *cap, tr_error *err)
{
	if (n > *cap) {
		*cap = n * 2;
		*buf = tr_xrealloc(*buf, (size_t) *cap * sizeof(pub_nb));
	}
	for (int64_t a = 0; a < n; a++)
		(*buf)[a] = (pub_nb){(uint32_t) idx[a], val[a]};
	return pub_put(txn, dbi, &code, sizeof(code), *buf, (size_t) n * sizeof(pub_nb), MDB_APPEND,
	               err);
}

/* item_features, transitions, knn_rows (the itemknn source's full rows), source_scores (the
 * pop source's scores) and the normalisers in meta */
static int
pub_ranker(MDB_txn *txn, const tr_model *m, const pub_rank *r, MDB_dbi d_meta, tr_error *err)
{
	MDB_dbi d_feat, d_trans, d_knn, d_src;
	pub_nb *buf = NULL;
	int64_t cap = 0;
	const tr_model *knn = NULL;
	int rv, s;
	uint32_t layout = RS_RANKFEAT_LAYOUT,
	         cand_n = (uint32_t) json_integer_value(json_object_get(r->json, "cand_n"));
	double norm[3] = {json_real_value(json_object_get(r->json, "tmax")),
	                  json_real_value(json_object_get(r->json, "span")),
	                  json_real_value(json_object_get(r->json, "mean_n"))};

	if ((rv = pub_mdb(
	             mdb_dbi_open(txn, RS_MDB_ITEM_FEATURES, MDB_CREATE | MDB_INTEGERKEY, &d_feat),
	             "dbi item_features", err)) != 0 ||
	    (rv = pub_mdb(
	             mdb_dbi_open(txn, RS_MDB_TRANSITIONS, MDB_CREATE | MDB_INTEGERKEY, &d_trans),
	             "dbi transitions", err)) != 0 ||
	    (rv = pub_mdb(mdb_dbi_open(txn, RS_MDB_KNN_ROWS, MDB_CREATE | MDB_INTEGERKEY, &d_knn),
	                  "dbi knn_rows", err)) != 0 ||
	    (rv = pub_mdb(mdb_dbi_open(txn, RS_MDB_SOURCE_SCORES, MDB_CREATE, &d_src),
	                  "dbi source_scores", err)) != 0)
		return rv;
	for (s = 0; s < tr_twostage_nsources(m->ts); s++) {
		const tr_model *sm = tr_twostage_source_model(m->ts, s);
		if (sm->kind == TR_ITEMKNN)
			knn = sm;
		if (sm->kind == TR_POP &&
		    (rv = pub_put(txn, d_src, RS_MDB_SOURCE_POP, strlen(RS_MDB_SOURCE_POP),
		                  sm->pop_score, (size_t) m->n_items * sizeof(float), 0, err)) != 0)
			return rv;
	}
	for (int32_t i = 0; i < m->n_items && rv == 0; i++) {
		uint32_t code = (uint32_t) i;
		rv = pub_put(txn, d_feat, &code, sizeof(code),
		             r->items + (size_t) i * RS_RANKFEAT_ITEM,
		             RS_RANKFEAT_ITEM * sizeof(float), MDB_APPEND, err);
		if (rv == 0)
			rv = pub_put_row(txn, d_trans, code, r->tidx + r->tptr[i],
			                 r->tshare + r->tptr[i], r->tptr[i + 1] - r->tptr[i], &buf,
			                 &cap, err);
		if (rv == 0 && knn != NULL)
			rv = pub_put_row(txn, d_knn, code, knn->knn.idx + knn->knn.ptr[i],
			                 knn->knn.val + knn->knn.ptr[i],
			                 knn->knn.ptr[i + 1] - knn->knn.ptr[i], &buf, &cap, err);
	}
	free(buf);
	if (rv == 0)
		rv = pub_put_str(txn, d_meta, RS_MDB_META_RANKFEAT, &layout, sizeof(layout), err);
	if (rv == 0)
		rv = pub_put_str(txn, d_meta, RS_MDB_META_CAND_N, &cand_n, sizeof(cand_n), err);
	if (rv == 0)
		rv = pub_put_str(txn, d_meta, RS_MDB_META_TMAX, &norm[0], sizeof(double), err);
	if (rv == 0)
		rv = pub_put_str(txn, d_meta, RS_MDB_META_SPAN, &norm[1], sizeof(double), err);
	if (rv == 0)
		rv = pub_put_str(txn, d_meta, RS_MDB_META_MEAN_N, &norm[2], sizeof(double), err);
	return rv;
}

int
tr_publish(const char *model_dir, const char *version_dir, const char *metrics_json, tr_error *err)
{
	tr_model m;
	pub_items items = {NULL, 0, 0};
	const tr_model *als = NULL, *knn = NULL;
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi d_items, d_codes, d_fac, d_nb, d_pop, d_meta;
	struct stat st;
	char path[4096], src[4096];
	int rv, s;
	int32_t i;
	size_t map;
	pub_nb *nb = tr_xmalloc(PUB_NEIGHBOURS * sizeof(pub_nb));
	int32_t *top = NULL;
	float *top_s = NULL;
	pub_rank rank;

	memset(&m, 0, sizeof(m));
	memset(&rank, 0, sizeof(rank));
	if (stat(version_dir, &st) == 0) {
		free(nb);
		return tr_error_set(err, RS_EEXIST,
		                    "%s exists; a published version is immutable, pick a "
		                    "new folder",
		                    version_dir);
	}
	if ((rv = tr_model_load(model_dir, &m, err)) != 0)
		goto out;
	tr_path_join(path, sizeof(path), model_dir, "items.txt");
	if ((rv = tr_lines_each(path, NULL, pub_item_row, &items, err)) != 0)
		goto out;
	if (items.n != m.n_items) {
		rv = tr_error_set(err, RS_ECORRUPT, "%s: %d ids for %d items", path, items.n,
		                  m.n_items);
		goto out;
	}
	if (m.kind == TR_ALS)
		als = &m;
	if (m.kind == TR_ITEMKNN)
		knn = &m;
	if (m.kind == TR_TWOSTAGE)
		for (s = 0; s < tr_twostage_nsources(m.ts); s++) {
			const tr_model *sm = tr_twostage_source_model(m.ts, s);
			if (sm->kind == TR_ALS)
				als = sm;
			if (sm->kind == TR_ITEMKNN)
				knn = sm;
		}
	if (m.kind == TR_TWOSTAGE && (rv = pub_rank_load(model_dir, m.n_items, &rank, err)) != 0)
		goto out;
	if ((rv = tr_mkdir_p(version_dir, err)) != 0)
		goto out;
	map = (size_t) m.n_items *
	              (64 + (als ? (size_t) als->als.f * 4 : 0) + PUB_NEIGHBOURS * sizeof(pub_nb)) *
	              2 +
	      (64u << 20);
	if (rank.json != NULL) /* features, pop scores, transitions, knn rows (x2: B-tree slack) */
		map += ((size_t) m.n_items * (RS_RANKFEAT_ITEM * 4 + 4 + 64) +
		        (size_t) rank.tptr[m.n_items] * sizeof(pub_nb) +
		        (knn ? (size_t) knn->knn.ptr[m.n_items] * sizeof(pub_nb) : 0)) *
		       2;
	if ((rv = pub_mdb(mdb_env_create(&env), "create", err)) != 0 ||
	    (rv = pub_mdb(mdb_env_set_maxdbs(env, RS_MODEL_MAX_DBS), "maxdbs", err)) != 0 ||
	    (rv = pub_mdb(mdb_env_set_mapsize(env, map), "mapsize", err)) != 0 ||
	    (rv = pub_mdb(mdb_env_open(env, version_dir, 0, 0644), "open", err)) != 0 ||
	    (rv = pub_mdb(mdb_txn_begin(env, NULL, 0, &txn), "begin", err)) != 0 ||
	    (rv = pub_mdb(mdb_dbi_open(txn, RS_MDB_ITEMS, MDB_CREATE | MDB_INTEGERKEY, &d_items),
	                  "dbi items", err)) != 0 ||
	    (rv = pub_mdb(mdb_dbi_open(txn, RS_MDB_ITEM_CODES, MDB_CREATE, &d_codes), "dbi codes",
	                  err)) != 0 ||
	    (rv = pub_mdb(
	             mdb_dbi_open(txn, RS_MDB_ITEM_FACTORS, MDB_CREATE | MDB_INTEGERKEY, &d_fac),
	             "dbi factors", err)) != 0 ||
	    (rv = pub_mdb(mdb_dbi_open(txn, RS_MDB_NEIGHBOURS, MDB_CREATE | MDB_INTEGERKEY, &d_nb),
	                  "dbi neighbours", err)) != 0 ||
	    (rv = pub_mdb(mdb_dbi_open(txn, RS_MDB_POPULAR, MDB_CREATE, &d_pop), "dbi popular",
	                  err)) != 0 ||
	    (rv = pub_mdb(mdb_dbi_open(txn, RS_MDB_META, MDB_CREATE, &d_meta), "dbi meta", err)) !=
	            0)
		goto out;
	for (i = 0; i < m.n_items && rv == 0; i++) {
		unsigned int code = (unsigned int) i;
		rv = pub_put(txn, d_items, &code, sizeof(code), items.ids[i], strlen(items.ids[i]),
		             MDB_APPEND, err);
		if (rv == 0)
			rv = pub_put(txn, d_codes, items.ids[i], strlen(items.ids[i]), &code,
			             sizeof(code), 0, err);
		if (rv == 0 && als != NULL)
			rv = pub_put(txn, d_fac, &code, sizeof(code),
			             als->als.V + (size_t) i * (size_t) als->als.f,
			             (size_t) als->als.f * sizeof(float), MDB_APPEND, err);
		if (rv == 0 && knn != NULL) {
			int64_t b = knn->knn.ptr[i], e = knn->knn.ptr[i + 1], p;
			int n = 0, a;
			/* the row holds targets by code; keep the best PUB_NEIGHBOURS by sim */
			for (p = b; p < e; p++) {
				pub_nb x = {(uint32_t) knn->knn.idx[p], knn->knn.val[p]};
				if (n < PUB_NEIGHBOURS)
					nb[n++] = x;
				else if (x.sim > nb[n - 1].sim)
					nb[n - 1] = x;
				else
					continue;
				for (a = n - 1; a > 0 && nb[a].sim > nb[a - 1].sim; a--) {
					pub_nb t = nb[a];
					nb[a] = nb[a - 1];
					nb[a - 1] = t;
				}
			}
			rv = pub_put(txn, d_nb, &code, sizeof(code), nb,
			             (size_t) n * sizeof(pub_nb), MDB_APPEND, err);
		}
	}
	if (rv != 0)
		goto out;
	{
		int k = m.n_items < PUB_POPULAR ? m.n_items : PUB_POPULAR, got, a;
		uint32_t f = als ? (uint32_t) als->als.f : 0, ni = (uint32_t) m.n_items;
		uint32_t *codes = tr_xmalloc((size_t) (k > 0 ? k : 1) * sizeof(uint32_t));
		top = tr_xmalloc((size_t) (k > 0 ? k : 1) * sizeof(int32_t));
		top_s = tr_xmalloc((size_t) (k > 0 ? k : 1) * sizeof(float));
		got = tr_topk(m.pop, m.n_items, k, top, top_s);
		for (a = 0; a < got; a++)
			codes[a] = (uint32_t) top[a];
		if ((rv = pub_put_str(txn, d_pop, RS_MDB_POPULAR_ALL, codes,
		                      (size_t) got * sizeof(uint32_t), err)) != 0 ||
		    (rv = pub_put_str(txn, d_meta, RS_MDB_META_FACTORS, &f, sizeof(f), err)) != 0 ||
		    (rv = pub_put_str(txn, d_meta, RS_MDB_META_ITEMS, &ni, sizeof(ni), err)) != 0 ||
		    (rv = pub_put_str(txn, d_meta, RS_MDB_META_MODEL, tr_kind_name(m.kind),
		                      strlen(tr_kind_name(m.kind)), err)) != 0) {
			free(codes);
			goto out;
		}
		free(codes);
	}
	if (rank.json != NULL && (rv = pub_ranker(txn, &m, &rank, d_meta, err)) != 0)
		goto out;
	rv = pub_mdb(mdb_txn_commit(txn), "commit", err);
	txn = NULL;
	if (rv != 0)
		goto out;
	/* manifest: the model's, plus what was published when and from where */
	{
		json_t *root, *pub, *metrics = NULL;
		json_error_t jerr;
		time_t now = time(NULL);
		char when[32];
		tr_path_join(src, sizeof(src), model_dir, "manifest.json");
		if ((root = json_load_file(src, 0, &jerr)) == NULL) {
			rv = tr_error_set(err, RS_EIO, "%s: %s", src, jerr.text);
			goto out;
		}
		if (metrics_json != NULL &&
		    (metrics = json_load_file(metrics_json, 0, &jerr)) == NULL) {
			json_decref(root);
			rv = tr_error_set(err, RS_EIO, "%s: %s", metrics_json, jerr.text);
			goto out;
		}
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
		pub = json_pack("{s:s, s:s, s:i, s:b, s:b}", "at", when, "from", model_dir,
		                "lmdb_layout", RS_MODEL_LAYOUT, "item_factors", als != NULL,
		                "neighbours", knn != NULL);
		if (metrics != NULL)
			json_object_set_new(pub, "metrics", metrics);
		if (rank.json != NULL) /* the ranker's feature names/order and layout */
			json_object_set(pub, "ranker", rank.json);
		json_object_set_new(root, "published", pub);
		tr_path_join(path, sizeof(path), version_dir, RS_MODEL_MANIFEST);
		if (json_dump_file(root, path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0)
			rv = tr_error_set(err, RS_EIO, "%s: cannot write", path);
		json_decref(root);
		if (rv != 0)
			goto out;
	}
	if (m.kind == TR_TWOSTAGE) {
		tr_path_join(src, sizeof(src), model_dir, "ranker.json");
		tr_path_join(path, sizeof(path), version_dir, RS_MODEL_RANKER);
		rv = pub_copy(src, path, err);
	}
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (env != NULL)
		mdb_env_close(env);
	for (i = 0; i < items.n; i++)
		free(items.ids[i]);
	free(items.ids);
	free(nb);
	free(top);
	free(top_s);
	pub_rank_fini(&rank);
	tr_model_fini(&m);
	return rv;
}
