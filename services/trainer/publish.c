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

	memset(&m, 0, sizeof(m));
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
	if ((rv = tr_mkdir_p(version_dir, err)) != 0)
		goto out;
	map = (size_t) m.n_items *
	              (64 + (als ? (size_t) als->als.f * 4 : 0) + PUB_NEIGHBOURS * sizeof(pub_nb)) *
	              2 +
	      (64u << 20);
	if ((rv = pub_mdb(mdb_env_create(&env), "create", err)) != 0 ||
	    (rv = pub_mdb(mdb_env_set_maxdbs(env, 8), "maxdbs", err)) != 0 ||
	    (rv = pub_mdb(mdb_env_set_mapsize(env, map), "mapsize", err)) != 0 ||
	    (rv = pub_mdb(mdb_env_open(env, version_dir, 0, 0644), "open", err)) != 0 ||
	    (rv = pub_mdb(mdb_txn_begin(env, NULL, 0, &txn), "begin", err)) != 0 ||
	    (rv = pub_mdb(mdb_dbi_open(txn, "items", MDB_CREATE | MDB_INTEGERKEY, &d_items),
	                  "dbi items", err)) != 0 ||
	    (rv = pub_mdb(mdb_dbi_open(txn, "item_codes", MDB_CREATE, &d_codes), "dbi codes",
	                  err)) != 0 ||
	    (rv = pub_mdb(mdb_dbi_open(txn, "item_factors", MDB_CREATE | MDB_INTEGERKEY, &d_fac),
	                  "dbi factors", err)) != 0 ||
	    (rv = pub_mdb(mdb_dbi_open(txn, "neighbours", MDB_CREATE | MDB_INTEGERKEY, &d_nb),
	                  "dbi neighbours", err)) != 0 ||
	    (rv = pub_mdb(mdb_dbi_open(txn, "popular", MDB_CREATE, &d_pop), "dbi popular", err)) !=
	            0 ||
	    (rv = pub_mdb(mdb_dbi_open(txn, "meta", MDB_CREATE, &d_meta), "dbi meta", err)) != 0)
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
		if ((rv = pub_put(txn, d_pop, "all", 3, codes, (size_t) got * sizeof(uint32_t), 0,
		                  err)) != 0 ||
		    (rv = pub_put(txn, d_meta, "factors", 7, &f, sizeof(f), 0, err)) != 0 ||
		    (rv = pub_put(txn, d_meta, "items", 5, &ni, sizeof(ni), 0, err)) != 0 ||
		    (rv = pub_put(txn, d_meta, "model", 5, tr_kind_name(m.kind),
		                  strlen(tr_kind_name(m.kind)), 0, err)) != 0) {
			free(codes);
			goto out;
		}
		free(codes);
	}
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
		                "lmdb_layout", 1, "item_factors", als != NULL, "neighbours",
		                knn != NULL);
		if (metrics != NULL)
			json_object_set_new(pub, "metrics", metrics);
		json_object_set_new(root, "published", pub);
		tr_path_join(path, sizeof(path), version_dir, "manifest.json");
		if (json_dump_file(root, path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0)
			rv = tr_error_set(err, RS_EIO, "%s: cannot write", path);
		json_decref(root);
		if (rv != 0)
			goto out;
	}
	if (m.kind == TR_TWOSTAGE) {
		tr_path_join(src, sizeof(src), model_dir, "ranker.json");
		tr_path_join(path, sizeof(path), version_dir, "ranker.json");
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
	tr_model_fini(&m);
	return rv;
}
