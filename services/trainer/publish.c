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

/* One publish: the model with its item ids, the models whose data is published (als, knn:
 * m itself or two-stage sources inside m, not owned), the ranker's serving data, the LMDB
 * environment and the databases of the one write transaction. tr_publish owns the rest
 * (pub_state_fini). */
typedef struct pub_state {
	const char *model_dir, *version_dir;
	tr_model m;
	pub_items items;
	const tr_model *als, *knn;
	pub_rank rank;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi d_items, d_codes, d_fac, d_nb, d_pop, d_meta;
} pub_state;

static void
pub_state_fini(pub_state *s)
{
	if (s->txn != NULL)
		mdb_txn_abort(s->txn);
	if (s->env != NULL)
		mdb_env_close(s->env);
	for (int32_t i = 0; i < s->items.n; i++)
		free(s->items.ids[i]);
	free(s->items.ids);
	pub_rank_fini(&s->rank);
	tr_model_fini(&s->m);
}

/* The model, its item ids (items.txt), which models provide factors and neighbours and, for
 * two-stage, the ranker's serving data. */
static int
pub_load(pub_state *s, tr_error *err)
{
	char path[4096];
	int rv;

	if ((rv = tr_model_load(s->model_dir, &s->m, err)) != 0)
		return rv;
	tr_path_join(path, sizeof(path), s->model_dir, "items.txt");
	if ((rv = tr_lines_each(path, NULL, pub_item_row, &s->items, err)) != 0)
		return rv;
	if (s->items.n != s->m.n_items)
		return tr_error_set(err, RS_ECORRUPT, "%s: %d ids for %d items", path, s->items.n,
		                    s->m.n_items);
	if (s->m.kind == TR_ALS)
		s->als = &s->m;
	if (s->m.kind == TR_ITEMKNN)
		s->knn = &s->m;
	if (s->m.kind != TR_TWOSTAGE)
		return 0;
	for (int k = 0; k < tr_twostage_nsources(s->m.ts); k++) {
		const tr_model *sm = tr_twostage_source_model(s->m.ts, k);
		if (sm->kind == TR_ALS)
			s->als = sm;
		if (sm->kind == TR_ITEMKNN)
			s->knn = sm;
	}
	return pub_rank_load(s->model_dir, s->m.n_items, &s->rank, err);
}

/* The LMDB map: twice what is written (B-tree slack) plus 64 MiB. */
static size_t
pub_map_size(const pub_state *s)
{
	const tr_model *als = s->als, *knn = s->knn;
	size_t n = (size_t) s->m.n_items;
	size_t map =
	        n * (64 + (als ? (size_t) als->als.f * 4 : 0) + PUB_NEIGHBOURS * sizeof(pub_nb)) *
	                2 +
	        (64u << 20);

	if (s->rank.json != NULL) /* features, pop scores, transitions, knn rows */
		map += (n * (RS_RANKFEAT_ITEM * 4 + 4 + 64) +
		        (size_t) s->rank.tptr[s->m.n_items] * sizeof(pub_nb) +
		        (knn ? (size_t) knn->knn.ptr[s->m.n_items] * sizeof(pub_nb) : 0)) *
		       2;
	return map;
}

/* The environment in version_dir, the write transaction and the databases every model has. */
static int
pub_open(pub_state *s, tr_error *err)
{
	MDB_txn **txn = &s->txn;
	int rv;

	if ((rv = pub_mdb(mdb_env_create(&s->env), "create", err)) != 0 ||
	    (rv = pub_mdb(mdb_env_set_maxdbs(s->env, RS_MODEL_MAX_DBS), "maxdbs", err)) != 0 ||
	    (rv = pub_mdb(mdb_env_set_mapsize(s->env, pub_map_size(s)), "mapsize", err)) != 0 ||
	    (rv = pub_mdb(mdb_env_open(s->env, s->version_dir, 0, 0644), "open", err)) != 0 ||
	    (rv = pub_mdb(mdb_txn_begin(s->env, NULL, 0, txn), "begin", err)) != 0)
		return rv;
	if ((rv = pub_mdb(
	             mdb_dbi_open(*txn, RS_MDB_ITEMS, MDB_CREATE | MDB_INTEGERKEY, &s->d_items),
	             "dbi items", err)) != 0 ||
	    (rv = pub_mdb(mdb_dbi_open(*txn, RS_MDB_ITEM_CODES, MDB_CREATE, &s->d_codes),
	                  "dbi codes", err)) != 0 ||
	    (rv = pub_mdb(mdb_dbi_open(*txn, RS_MDB_ITEM_FACTORS, MDB_CREATE | MDB_INTEGERKEY,
	                               &s->d_fac),
	                  "dbi factors", err)) != 0 ||
	    (rv = pub_mdb(
	             mdb_dbi_open(*txn, RS_MDB_NEIGHBOURS, MDB_CREATE | MDB_INTEGERKEY, &s->d_nb),
	             "dbi neighbours", err)) != 0 ||
	    (rv = pub_mdb(mdb_dbi_open(*txn, RS_MDB_POPULAR, MDB_CREATE, &s->d_pop), "dbi popular",
	                  err)) != 0)
		return rv;
	return pub_mdb(mdb_dbi_open(*txn, RS_MDB_META, MDB_CREATE, &s->d_meta), "dbi meta", err);
}

/* The best PUB_NEIGHBOURS of item i's kNN row (targets by code) by similarity, best first,
 * into nb; returns how many. */
static int
pub_neighbours(const tr_model *knn, int32_t i, pub_nb *nb)
{
	int n = 0, a;

	for (int64_t p = knn->knn.ptr[i]; p < knn->knn.ptr[i + 1]; p++) {
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
	return n;
}

/* Per item code: its id (items), the code of the id (item_codes), the ALS factors and the
 * neighbours when the model has them. */
static int
pub_item_rows(pub_state *s, tr_error *err)
{
	pub_nb *nb = tr_xmalloc(PUB_NEIGHBOURS * sizeof(pub_nb));
	const tr_model *als = s->als;
	int rv = 0;

	for (int32_t i = 0; i < s->m.n_items && rv == 0; i++) {
		unsigned int code = (unsigned int) i;
		const char *id = s->items.ids[i];
		rv = pub_put(s->txn, s->d_items, &code, sizeof(code), id, strlen(id), MDB_APPEND,
		             err);
		if (rv == 0)
			rv = pub_put(s->txn, s->d_codes, id, strlen(id), &code, sizeof(code), 0,
			             err);
		if (rv == 0 && als != NULL)
			rv = pub_put(s->txn, s->d_fac, &code, sizeof(code),
			             als->als.V + (size_t) i * (size_t) als->als.f,
			             (size_t) als->als.f * sizeof(float), MDB_APPEND, err);
		if (rv == 0 && s->knn != NULL) {
			int n = pub_neighbours(s->knn, i, nb);
			rv = pub_put(s->txn, s->d_nb, &code, sizeof(code), nb,
			             (size_t) n * sizeof(pub_nb), MDB_APPEND, err);
		}
	}
	free(nb);
	return rv;
}

/* The most popular PUB_POPULAR codes, and meta: factors, item count and the model kind. */
static int
pub_popular_meta(pub_state *s, tr_error *err)
{
	const tr_model *m = &s->m;
	int k = m->n_items < PUB_POPULAR ? m->n_items : PUB_POPULAR, got, a, rv;
	uint32_t f = s->als ? (uint32_t) s->als->als.f : 0, ni = (uint32_t) m->n_items;
	size_t cap = (size_t) (k > 0 ? k : 1);
	uint32_t *codes = tr_xmalloc(cap * sizeof(uint32_t));
	int32_t *top = tr_xmalloc(cap * sizeof(int32_t));
	float *top_s = tr_xmalloc(cap * sizeof(float));

	got = tr_topk(m->pop, m->n_items, k, top, top_s);
	for (a = 0; a < got; a++)
		codes[a] = (uint32_t) top[a];
	if ((rv = pub_put_str(s->txn, s->d_pop, RS_MDB_POPULAR_ALL, codes,
	                      (size_t) got * sizeof(uint32_t), err)) == 0 &&
	    (rv = pub_put_str(s->txn, s->d_meta, RS_MDB_META_FACTORS, &f, sizeof(f), err)) == 0 &&
	    (rv = pub_put_str(s->txn, s->d_meta, RS_MDB_META_ITEMS, &ni, sizeof(ni), err)) == 0)
		rv = pub_put_str(s->txn, s->d_meta, RS_MDB_META_MODEL, tr_kind_name(m->kind),
		                 strlen(tr_kind_name(m->kind)), err);
	free(codes);
	free(top);
	free(top_s);
	return rv;
}

/* The manifest: the model's, plus what was published when and from where. */
static int
pub_manifest(const pub_state *s, const char *metrics_json, tr_error *err)
{
	json_t *root, *pub, *metrics = NULL;
	json_error_t jerr;
	time_t now = time(NULL);
	char when[32], src[4096], path[4096];
	int rv = 0;

	tr_path_join(src, sizeof(src), s->model_dir, "manifest.json");
	if ((root = json_load_file(src, 0, &jerr)) == NULL)
		return tr_error_set(err, RS_EIO, "%s: %s", src, jerr.text);
	if (metrics_json != NULL && (metrics = json_load_file(metrics_json, 0, &jerr)) == NULL) {
		json_decref(root);
		return tr_error_set(err, RS_EIO, "%s: %s", metrics_json, jerr.text);
	}
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	pub = json_pack("{s:s, s:s, s:i, s:b, s:b}", "at", when, "from", s->model_dir,
	                "lmdb_layout", RS_MODEL_LAYOUT, "item_factors", s->als != NULL,
	                "neighbours", s->knn != NULL);
	if (metrics != NULL)
		json_object_set_new(pub, "metrics", metrics);
	if (s->rank.json != NULL) /* the ranker's feature names/order and layout */
		json_object_set(pub, "ranker", s->rank.json);
	json_object_set_new(root, "published", pub);
	tr_path_join(path, sizeof(path), s->version_dir, RS_MODEL_MANIFEST);
	if (json_dump_file(root, path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0)
		rv = tr_error_set(err, RS_EIO, "%s: cannot write", path);
	json_decref(root);
	return rv;
}

int
tr_publish(const char *model_dir, const char *version_dir, const char *metrics_json, tr_error *err)
{
	pub_state s = {.model_dir = model_dir, .version_dir = version_dir};
	char path[4096], src[4096];
	struct stat st;
	int rv;

	if (stat(version_dir, &st) == 0)
		return tr_error_set(err, RS_EEXIST,
		                    "%s exists; a published version is immutable, pick a "
		                    "new folder",
		                    version_dir);
	if ((rv = pub_load(&s, err)) != 0 || (rv = tr_mkdir_p(version_dir, err)) != 0 ||
	    (rv = pub_open(&s, err)) != 0 || (rv = pub_item_rows(&s, err)) != 0 ||
	    (rv = pub_popular_meta(&s, err)) != 0)
		goto out;
	if (s.rank.json != NULL && (rv = pub_ranker(s.txn, &s.m, &s.rank, s.d_meta, err)) != 0)
		goto out;
	rv = pub_mdb(mdb_txn_commit(s.txn), "commit", err);
	s.txn = NULL;
	if (rv != 0 || (rv = pub_manifest(&s, metrics_json, err)) != 0)
		goto out;
	if (s.m.kind == TR_TWOSTAGE) {
		tr_path_join(src, sizeof(src), model_dir, "ranker.json");
		tr_path_join(path, sizeof(path), version_dir, RS_MODEL_RANKER);
		rv = pub_copy(src, path, err);
	}
out:
	pub_state_fini(&s);
	return rv;
}
