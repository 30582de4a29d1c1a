/* model_fixture: writes a published model version folder exactly as
 * services/trainer/publish.c lays it out (publish.h), with the LMDB API, for serving tests:
 *   DIR/manifest.json (format RS_MODEL_FORMAT, params, published.lmdb_layout: rs_model_layout.h)
 *   DIR/data.mdb      items, item_codes, item_factors, neighbours, popular, meta
 * Header-only (static functions) so every test folder can include it. Aborts the test on error. */
#ifndef MODEL_FIXTURE_H
#define MODEL_FIXTURE_H

#include <criterion/criterion.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rs_model_layout.h"

typedef struct fx_nb {
	uint32_t code;
	float sim;
} fx_nb;

typedef struct fx_model {
	uint32_t n_items;
	uint32_t factors;        /* 0: no item_factors */
	const int64_t *ids;      /* code -> item id (written as decimal text) */
	const float *V;          /* n_items x factors, or NULL */
	const fx_nb *const *nb;  /* per code, best first, or NULL (no neighbours) */
	const uint32_t *nb_len;  /* per code */
	const uint32_t *popular; /* codes, best first */
	uint32_t n_popular;
	double alpha, reg; /* manifest params (< 0: left out) */
	int layout;        /* published.lmdb_layout (0: 1) */
	const char *kind;  /* NULL: "als" */
	int ranker;        /* write a ranker.json placeholder */
} fx_model;

static void
fx_mdb(int rc, const char *what)
{
	cr_assert_eq(rc, 0, "lmdb %s: %s", what, mdb_strerror(rc));
}

static void
fx_put(MDB_txn *txn, MDB_dbi d, const void *k, size_t kl, const void *v, size_t vl)
{
	MDB_val key = {kl, (void *) k}, val = {vl, (void *) v};
	fx_mdb(mdb_put(txn, d, &key, &val, 0), "put");
}

static void
fx_model_write(const char *dir, const fx_model *m)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi d_items, d_codes, d_fac, d_nb, d_pop, d_meta;
	char path[4096], id[32];
	FILE *f;

	cr_assert_eq(mkdir(dir, 0755), 0, "mkdir %s", dir);
	fx_mdb(mdb_env_create(&env), "create");
	fx_mdb(mdb_env_set_maxdbs(env, RS_MODEL_MAX_DBS), "maxdbs");
	fx_mdb(mdb_env_set_mapsize(env, (size_t) 64 << 20), "mapsize");
	fx_mdb(mdb_env_open(env, dir, 0, 0644), "open");
	fx_mdb(mdb_txn_begin(env, NULL, 0, &txn), "begin");
	fx_mdb(mdb_dbi_open(txn, RS_MDB_ITEMS, MDB_CREATE | MDB_INTEGERKEY, &d_items), "items");
	fx_mdb(mdb_dbi_open(txn, RS_MDB_ITEM_CODES, MDB_CREATE, &d_codes), "codes");
	fx_mdb(mdb_dbi_open(txn, RS_MDB_ITEM_FACTORS, MDB_CREATE | MDB_INTEGERKEY, &d_fac), "fac");
	fx_mdb(mdb_dbi_open(txn, RS_MDB_NEIGHBOURS, MDB_CREATE | MDB_INTEGERKEY, &d_nb), "nb");
	fx_mdb(mdb_dbi_open(txn, RS_MDB_POPULAR, MDB_CREATE, &d_pop), "pop");
	fx_mdb(mdb_dbi_open(txn, RS_MDB_META, MDB_CREATE, &d_meta), "meta");
	for (uint32_t c = 0; c < m->n_items; c++) {
		unsigned int code = c;
		snprintf(id, sizeof(id), "%lld", (long long) m->ids[c]);
		fx_put(txn, d_items, &code, sizeof(code), id, strlen(id));
		fx_put(txn, d_codes, id, strlen(id), &code, sizeof(code));
		if (m->V != NULL && m->factors > 0)
			fx_put(txn, d_fac, &code, sizeof(code), m->V + (size_t) c * m->factors,
			       m->factors * sizeof(float));
		if (m->nb != NULL)
			fx_put(txn, d_nb, &code, sizeof(code), m->nb[c],
			       m->nb_len[c] * sizeof(fx_nb));
	}
	fx_put(txn, d_pop, RS_MDB_POPULAR_ALL, strlen(RS_MDB_POPULAR_ALL),
	       m->popular != NULL ? (const void *) m->popular : "",
	       m->n_popular * sizeof(uint32_t));
	uint32_t fac = m->V != NULL ? m->factors : 0, ni = m->n_items;
	const char *kind = m->kind != NULL ? m->kind : "als";
	fx_put(txn, d_meta, RS_MDB_META_FACTORS, strlen(RS_MDB_META_FACTORS), &fac, sizeof(fac));
	fx_put(txn, d_meta, RS_MDB_META_ITEMS, strlen(RS_MDB_META_ITEMS), &ni, sizeof(ni));
	fx_put(txn, d_meta, RS_MDB_META_MODEL, strlen(RS_MDB_META_MODEL), kind, strlen(kind));
	fx_mdb(mdb_txn_commit(txn), "commit");
	mdb_env_close(env);

	snprintf(path, sizeof(path), "%s/" RS_MODEL_MANIFEST, dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fprintf(f, "{\n  \"format\": \"" RS_MODEL_FORMAT "\",\n  \"format_version\": 1,\n");
	fprintf(f, "  \"model\": \"%s\",\n  \"params\": {\"factors\": %u", kind, m->factors);
	if (m->alpha >= 0)
		fprintf(f, ", \"alpha\": %.17g", m->alpha);
	if (m->reg >= 0)
		fprintf(f, ", \"reg\": %.17g", m->reg);
	fprintf(f,
	        "},\n  \"data\": {\"fingerprint\": \"00\", \"users\": 1, \"items\": %u, "
	        "\"interactions\": 1},\n",
	        m->n_items);
	fprintf(f,
	        "  \"published\": {\"at\": \"2026-11-28T00:00:00Z\", \"from\": \"fixture\", "
	        "\"lmdb_layout\": %d, \"item_factors\": %s, \"neighbours\": %s}\n}\n",
	        m->layout ? m->layout : RS_MODEL_LAYOUT, fac ? "true" : "false",
	        m->nb ? "true" : "false");
	fclose(f);
	if (m->ranker) {
		snprintf(path, sizeof(path), "%s/" RS_MODEL_RANKER, dir);
		cr_assert_not_null(f = fopen(path, "w"));
		fputs("{}\n", f);
		fclose(f);
	}
}

/* fx_tmpdir: a fresh empty folder under /tmp (template like "/tmp/rs-model-XXXXXX"). */
static void
fx_tmpdir(char *tmpl)
{
	cr_assert_not_null(mkdtemp(tmpl), "mkdtemp %s", tmpl);
}

/* fx_rmtree: remove a fixture tree (two levels: versions folder / version / files). */
static void
fx_rmtree(const char *dir)
{
	char cmd[4200];
	if (dir == NULL || strncmp(dir, "/tmp/", 5) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

#endif
