/* rank_ranker: see ranker.h. */
#include "ranker.h"

#include <jansson.h>
#include <lmdb.h> /* MDB_val: a row of the version, read through rs_model */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

#include "forest.h"
#include "rs_err.h"
#include "rs_log.h"

typedef struct ranker_booster {
	BoosterHandle h;
	pthread_mutex_t mu;
} ranker_booster;

struct rank_ranker {
	rs_model *model;
	int holds_model; /* 1: a reference on model (rank_ranker_open), 0: borrowed */
	int n_src, cand_n, knn_src, nfeat;
	char src[RS_RANKFEAT_MAX_SRC][32];
	rs_rankfeat_norm norm;
	rs_ranksrc_weights weights; /* rs-train's, for the user's items (rs_ranksrc.h) */
	char names_buf[RS_RANKFEAT_MAX][48];
	const char *names[RS_RANKFEAT_MAX];
	int group[RS_RANKFEAT_MAX];
	uint32_t n_items;
	float *item_feat; /* n_items x RS_RANKFEAT_ITEM */
	int has_knn;      /* the version has knn_rows (read through model: one environment) */
	int nb;
	ranker_booster *b;
	rank_forest
	        *forest; /* NULL: XGBoost's predictor (the forest differed from it, or failed) */
	atomic_uint next;
};

static int ranker_err(char *err, size_t errn, int rv, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int
ranker_err(char *err, size_t errn, int rv, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errn, fmt, ap);
	va_end(ap);
	return rv;
}

/* the manifest's published.ranker: sources, layout, names, normalisers */
static int
ranker_manifest(rank_ranker *r, const char *dir, char *err, size_t errn)
{
	char path[4096];
	json_error_t jerr;
	json_t *root, *rk, *srcs, *names;
	int rv = 0;
	const char *knn;

	snprintf(path, sizeof(path), "%s/" RS_MODEL_MANIFEST, dir);
	if ((root = json_load_file(path, 0, &jerr)) == NULL)
		return ranker_err(err, errn, RS_EIO, "%s: %s", path, jerr.text);
	rk = json_object_get(json_object_get(root, "published"), "ranker");
	srcs = json_object_get(rk, "sources");
	names = json_object_get(rk, "features");
	if (rk == NULL) {
		rv = ranker_err(err, errn, RS_ENOTFOUND, "%s: %s", path,
		                "no published.ranker (published before feature layout 1)");
		goto out;
	}
	if (json_integer_value(json_object_get(rk, "layout")) != RS_RANKFEAT_LAYOUT) {
		rv = ranker_err(err, errn, RS_EVERSION, "%s: %s", path,
		                "feature layout unknown to this rs-ranking");
		goto out;
	}
	r->n_src = (int) json_array_size(srcs);
	if (r->n_src < 1 || r->n_src > RS_RANKFEAT_MAX_SRC) {
		rv = ranker_err(err, errn, RS_ECORRUPT, "%s: %s", path, "bad ranker.sources");
		goto out;
	}
	const char *sp[RS_RANKFEAT_MAX_SRC];
	for (int s = 0; s < r->n_src; s++) {
		const char *v = json_string_value(json_array_get(srcs, (size_t) s));
		snprintf(r->src[s], sizeof(r->src[s]), "%s", v != NULL ? v : "");
		sp[s] = r->src[s];
	}
	r->nfeat = rs_rankfeat_nfeat(r->n_src);
	if ((int) json_array_size(names) != r->nfeat) {
		rv = ranker_err(err, errn, RS_EVERSION, "%s: %s", path,
		                "ranker.features has another length than layout 1");
		goto out;
	}
	for (int f = 0; f < r->nfeat; f++) {
		const char *v = json_string_value(json_array_get(names, (size_t) f));
		rs_rankfeat_name(sp, r->n_src, f, r->names_buf[f], sizeof(r->names_buf[f]));
		r->names[f] = r->names_buf[f];
		if (v == NULL || strcmp(v, r->names_buf[f]) != 0) {
			rv = ranker_err(err, errn, RS_EVERSION, "ranker.features: %s where %s",
			                v != NULL ? v : "?", r->names_buf[f]);
			goto out;
		}
		r->group[f] = -1;
		if (strncmp(v, "itemknn_", 8) == 0 || strncmp(v, "seq_", 4) == 0)
			r->group[f] = RANK_F_COVISIT;
		else if (strncmp(v, "pop_", 4) == 0 || strncmp(v, "item_log_", 9) == 0)
			r->group[f] = RANK_F_POPULAR;
	}
	r->cand_n = (int) json_integer_value(json_object_get(rk, "cand_n"));
	r->norm.tmax = json_number_value(json_object_get(rk, "tmax"));
	r->norm.span = json_number_value(json_object_get(rk, "span"));
	r->norm.mean_n = json_number_value(json_object_get(rk, "mean_n"));
	knn = json_string_value(json_object_get(rk, "knn_source"));
	if (rs_ranksrc_weights_init(&r->weights, json_is_true(json_object_get(rk, "weighted")),
	                            json_string_value(json_object_get(
	                                    json_object_get(root, "params"), "weights"))) != 0) {
		rv = ranker_err(err, errn, RS_ECORRUPT, "%s: %s", path, "bad params.weights");
		goto out;
	}
	r->knn_src = -1;
	for (int s = 0; s < r->n_src; s++)
		if (knn != NULL && strcmp(r->src[s], knn) == 0)
			r->knn_src = s;
	if (r->cand_n < 1 || !(r->norm.span > 0))
		rv = ranker_err(err, errn, RS_ECORRUPT, "%s: %s", path,
		                "bad ranker.cand_n or span");
out:
	json_decref(root);
	return rv;
}

/* item features (in memory), from the version's data (its rs_model's LMDB environment: a file
 * is never opened twice in a process) */
static int
ranker_lmdb(rank_ranker *r, const char *dir, char *err, size_t errn)
{
	rs_model_read rd;
	const void *data;
	size_t len;
	int rv;

	r->n_items = rs_model_n_items(r->model);
	if (!rs_model_has_db(r->model, RS_MODEL_DB_ITEM_FEATURES) ||
	    !rs_model_has_db(r->model, RS_MODEL_DB_TRANSITIONS))
		return ranker_err(err, errn, RS_ENOTFOUND, "%s: lmdb: %s", dir,
		                  "no " RS_MDB_ITEM_FEATURES "/" RS_MDB_TRANSITIONS " dbs");
	r->has_knn = rs_model_has_knn_rows(r->model);
	r->item_feat = calloc((size_t) r->n_items * RS_RANKFEAT_ITEM + 1, sizeof(float));
	if (r->item_feat == NULL)
		return RS_ENOMEM;
	if ((rv = rs_model_read_begin(r->model, &rd)) != 0)
		return ranker_err(err, errn, rv, "%s: lmdb: %s", dir, rs_strerror(rv));
	for (uint32_t i = 0; i < r->n_items; i++) {
		if ((rv = rs_model_get_code(r->model, &rd, RS_MODEL_DB_ITEM_FEATURES, i, &data,
		                            &len)) != 0) {
			rs_model_read_end(&rd);
			return ranker_err(err, errn, rv == RS_ENOTFOUND ? RS_ECORRUPT : rv,
			                  "%s: lmdb: " RS_MDB_ITEM_FEATURES " of code %u: %s", dir,
			                  i, rs_strerror(rv));
		}
		if (len != RS_RANKFEAT_ITEM * sizeof(float)) {
			rs_model_read_end(&rd);
			return ranker_err(err, errn, RS_ECORRUPT, "%s: %s", dir,
			                  "item_features value of another size");
		}
		memcpy(r->item_feat + (size_t) i * RS_RANKFEAT_ITEM, data, len);
	}
	rs_model_read_end(&rd);
	return 0;
}

/* The flat copy of the trees (forest.h) replaces XGBoost's predictor when it gives the same
 * scores, bit for bit, on rows along the model's split boundaries. */
enum { RANKER_CHECK_ROWS = 512 };

static void
ranker_forest(rank_ranker *r, const char *path)
{
	char err[256] = "";
	rank_forest *f = NULL;
	float *x = NULL, *a = NULL, *b = NULL;
	int rv = rank_forest_load(path, r->nfeat, &f, err, sizeof(err)), same = 0;

	if (rv == 0) {
		x = malloc(RANKER_CHECK_ROWS * (size_t) r->nfeat * sizeof(float));
		a = malloc(RANKER_CHECK_ROWS * sizeof(float));
		b = malloc(RANKER_CHECK_ROWS * sizeof(float));
	}
	if (x != NULL && a != NULL && b != NULL) {
		rank_forest_sample_rows(f, x, RANKER_CHECK_ROWS, 42);
		rank_forest_predict(f, x, RANKER_CHECK_ROWS, a);
		same = rank_ranker_predict(r, x, RANKER_CHECK_ROWS, b, NULL) == 0 &&
		       memcmp(a, b, RANKER_CHECK_ROWS * sizeof(float)) == 0;
		if (!same)
			snprintf(err, sizeof(err), "scores differ from xgboost's");
	}
	if (same) {
		r->forest = f;
	} else {
		rs_log_warn("ranking.forest_unused", "path=%s err=\"%s\" predictor=xgboost", path,
		            err[0] ? err : rs_strerror(rv != 0 ? rv : RS_ENOMEM));
		rank_forest_destroy(f);
	}
	free(x);
	free(a);
	free(b);
}

static int
ranker_boosters(rank_ranker *r, const char *dir, int n, char *err, size_t errn)
{
	char path[4096];
	float zero[RS_RANKFEAT_MAX] = {0}, s, c[RS_RANKFEAT_MAX + 1];

	snprintf(path, sizeof(path), "%s/" RS_MODEL_RANKER, dir);
	if ((r->b = calloc((size_t) n, sizeof(*r->b))) == NULL)
		return RS_ENOMEM;
	for (int i = 0; i < n; i++) {
		if (XGBoosterCreate(NULL, 0, &r->b[i].h) != 0 ||
		    XGBoosterLoadModel(r->b[i].h, path) != 0 ||
		    XGBoosterSetParam(r->b[i].h, "nthread", "1") != 0) {
			if (r->b[i].h != NULL)
				XGBoosterFree(r->b[i].h);
			r->b[i].h = NULL;
			return ranker_err(err, errn, RS_ECORRUPT, "%s: xgboost: %s", path,
			                  XGBGetLastError());
		}
		pthread_mutex_init(&r->b[i].mu, NULL);
		r->nb = i + 1;
	}
	/* first predictions configure the learner (not thread-safe): do them now, and check the
	 * model takes rows of our width */
	for (int i = 0; i < n; i++) {
		atomic_store(&r->next, (unsigned) i);
		if (rank_ranker_predict(r, zero, 1, &s, c) != 0)
			return ranker_err(err, errn, RS_ECORRUPT, "%s: xgboost: %s", path,
			                  XGBGetLastError());
	}
	atomic_store(&r->next, 0);
	ranker_forest(r, path);
	return 0;
}

static int
ranker_open(rs_model *m, int n_boosters, int hold, rank_ranker **out, char *err, size_t errn)
{
	rank_ranker *r;
	int rv;

	if (!rs_model_has_ranker(m))
		return ranker_err(err, errn, RS_ENOTFOUND, "%s: %s", rs_model_dir(m),
		                  "no ranker.json");
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return RS_ENOMEM;
	r->model = hold ? rs_model_ref(m) : m;
	r->holds_model = hold;
	atomic_init(&r->next, 0);
	if ((rv = ranker_manifest(r, rs_model_dir(m), err, errn)) != 0 ||
	    (rv = ranker_lmdb(r, rs_model_dir(m), err, errn)) != 0 ||
	    (rv = ranker_boosters(r, rs_model_dir(m), n_boosters > 0 ? n_boosters : 1, err,
	                          errn)) != 0) {
		if (rv == RS_ENOTFOUND && strstr(err, "lmdb") != NULL)
			snprintf(err, errn,
			         "%s: no item_features/transitions dbs (published before "
			         "feature layout 1)",
			         rs_model_dir(m));
		rank_ranker_destroy(r);
		return rv;
	}
	*out = r;
	return 0;
}

int
rank_ranker_open(rs_model *m, int n_boosters, rank_ranker **out, char *err, size_t errn)
{
	return ranker_open(m, n_boosters, 1, out, err, errn);
}

int
rank_ranker_open_borrowed(rs_model *m, int n_boosters, rank_ranker **out, char *err, size_t errn)
{
	return ranker_open(m, n_boosters, 0, out, err, errn);
}

void
rank_ranker_destroy(rank_ranker *r)
{
	if (r == NULL)
		return;
	rank_forest_destroy(r->forest);
	for (int i = 0; i < r->nb; i++) {
		XGBoosterFree(r->b[i].h);
		pthread_mutex_destroy(&r->b[i].mu);
	}
	free(r->b);
	free(r->item_feat);
	if (r->holds_model)
		rs_model_unref(r->model);
	free(r);
}

int
rank_ranker_uses_forest(const rank_ranker *r)
{
	return r->forest != NULL;
}

int
rank_ranker_nfeat(const rank_ranker *r)
{
	return r->nfeat;
}

const char *const *
rank_ranker_names(const rank_ranker *r)
{
	return r->names;
}

int
rank_ranker_reason_group(const rank_ranker *r, int f)
{
	return f >= 0 && f < r->nfeat ? r->group[f] : -1;
}

int
rank_ranker_predict(const rank_ranker *r, const float *x, size_t n, float *scores, float *contrib)
{
	rank_ranker *rw = (rank_ranker *) r; /* the pool cursor and locks only */
	ranker_booster *b = &rw->b[atomic_fetch_add(&rw->next, 1) % (unsigned) r->nb];
	char arr[160];
	static const char cfg_value[] =
	        "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
	        "\"iteration_end\": 0, \"strict_shape\": false, \"cache_id\": 0, "
	        "\"missing\": NaN}";
	static const char cfg_contrib[] = "{\"type\": 3, \"training\": false, \"iteration_begin\": "
	                                  "0, \"iteration_end\": 0, \"strict_shape\": false, "
	                                  "\"cache_id\": 0}";
	const bst_ulong *shape = NULL;
	bst_ulong dim = 0;
	const float *res = NULL;
	DMatrixHandle dm = NULL;
	int rv = 0;

	if (n == 0)
		return 0;
	if (r->forest != NULL) { /* checked equal to XGBoost at load; no lock */
		if (scores != NULL)
			rank_forest_predict(r->forest, x, n, scores);
		if (contrib != NULL)
			rank_forest_contrib(r->forest, x, n, contrib);
		return 0;
	}
	snprintf(arr, sizeof(arr),
	         "{\"data\": [%llu, true], \"shape\": [%zu, %d], \"typestr\": \"<f4\", "
	         "\"version\": 3}",
	         (unsigned long long) (uintptr_t) x, n, r->nfeat);
	pthread_mutex_lock(&b->mu);
	if (scores != NULL &&
	    XGBoosterPredictFromDense(b->h, arr, cfg_value, NULL, &shape, &dim, &res) != 0)
		rv = RS_EINTERNAL;
	else if (scores != NULL)
		memcpy(scores, res, n * sizeof(float)); /* the buffer is the booster's */
	if (rv == 0 && contrib != NULL) {
		if (XGDMatrixCreateFromMat(x, (bst_ulong) n, (bst_ulong) r->nfeat, NAN, &dm) != 0 ||
		    XGBoosterPredictFromDMatrix(b->h, dm, cfg_contrib, &shape, &dim, &res) != 0)
			rv = RS_EINTERNAL;
		else
			memcpy(contrib, res, n * (size_t) (r->nfeat + 1) * sizeof(float));
	}
	pthread_mutex_unlock(&b->mu);
	if (dm != NULL)
		XGDMatrixFree(dm);
	return rv;
}

/* ---- rows ---- */

static size_t
ranker_hash(uint32_t code, size_t mask)
{
	return (size_t) (((uint64_t) code * 0x9E3779B97F4A7C15ULL) >> 32) & mask;
}

/* out[i] = the value of candidate i's code in a published row (codes ascending, each once;
 * 0 where absent: out is zeroed), the candidates found through their codes' hash (hslot:
 * candidate index or -1; every candidate with the code) */
static void
row_scatter(const MDB_val *row, const uint32_t *codes, const int32_t *hslot, size_t mask,
            float *out)
{
	const unsigned char *p = row->mv_data;
	size_t len = p != NULL ? row->mv_size / 8 : 0;
	for (size_t k = 0; k < len; k++) {
		uint32_t c;
		memcpy(&c, p + k * 8, sizeof(c));
		for (size_t h = ranker_hash(c, mask); hslot[h] >= 0; h = (h + 1) & mask)
			if (codes[hslot[h]] == c)
				memcpy(&out[hslot[h]], p + k * 8 + 4, sizeof(float));
	}
}

int
rank_ranker_rows(const rank_ranker *r, const Rs__RankRequest *req, const Rs__Candidate *const *cand,
                 size_t n, rs_arena *a, float *x, int64_t *because, int *missing)
{
	size_t nh = req->n_recent, i;
	int s, t, nlast = 0, rv = 0;
	rs_ranksrc_event *ev = rs_arena_alloc(a, (nh ? nh : 1) * sizeof(*ev));
	uint32_t *codes = rs_arena_alloc(a, (n ? n : 1) * sizeof(*codes));
	const Rs__CandidatesResponse *cr = req->retrieval;
	int col[RS_RANKFEAT_MAX_SRC]; /* each source's column in the candidates' ranker_scores */
	rs_rankfeat_src st[RS_RANKFEAT_MAX_SRC];
	rs_rankfeat_user user = {0, 0, 0};
	rs_ranksrc_user u;
	int64_t last_id[RS_RANKFEAT_LAST];
	uint32_t last_code[RS_RANKFEAT_LAST];
	MDB_val trow[RS_RANKFEAT_LAST], krow[RS_RANKFEAT_LAST];
	rs_model_read rd = {NULL};

	*missing = 0;
	if (ev == NULL || codes == NULL)
		return RS_ENOMEM;
	/* the user's items as rs-train sees them (activity, recency, the last items) */
	for (i = 0; i < nh; i++) {
		const Rs__HistoryEvent *e = req->recent[i];
		ev[i] = (rs_ranksrc_event){e->item_id, e->ts_ms, (int32_t) e->type, e->value};
	}
	if ((rv = rs_ranksrc_user_build(r->model, &r->weights, ev, nh, a, &u)) != 0)
		return rv;
	user.n_items = (int64_t) u.npos;
	user.has_last = u.npos > 0;
	user.last_ts = u.npos > 0 ? (double) u.pos[u.npos - 1].ts_ms / 1000.0 : 0.0;
	for (i = u.npos; i > 0 && nlast < RS_RANKFEAT_LAST; i--) {
		last_id[nlast] = u.pos[i - 1].id;
		last_code[nlast++] = u.pos[i - 1].code;
	}
	for (i = 0; i < n; i++)
		if (rs_model_code(r->model, cand[i]->item_id, &codes[i]) != 0)
			codes[i] = UINT32_MAX;

	/* every source's scores, ranks and normalisers come from rs-candidate, which scored the
	 * candidates for this very version (rs_ranksrc.h); answered for another version (a switch
	 * between the two hops) they mean nothing here: every source counts as missing */
	int same = cr != NULL && cr->header != NULL && cr->header->model_version != NULL &&
	           strcmp(cr->header->model_version, rs_model_version(r->model)) == 0;
	for (s = 0; s < r->n_src; s++) {
		col[s] = -1;
		for (size_t q = 0; same && q < cr->n_ranker_sources && col[s] < 0; q++)
			if (cr->ranker_sources[q]->source != NULL &&
			    strcmp(cr->ranker_sources[q]->source, r->src[s]) == 0)
				col[s] = (int) q;
		if (col[s] < 0) {
			*missing += 1;
			rs_rankfeat_src_init(&st[s], 0.0f, 0.0f, 0);
		} else {
			const Rs__SourceStats *ss = cr->ranker_sources[col[s]];
			rs_rankfeat_src_init(&st[s], ss->top, ss->low, (int) ss->count);
		}
	}

	/* the last items' transition and kNN rows, read in place inside one read transaction */
	if (nlast > 0 && (rv = rs_model_read_begin(r->model, &rd)) != 0)
		return rv;
	for (t = 0; t < nlast; t++) {
		const void *data;
		size_t len;
		trow[t] = (MDB_val){0, NULL};
		krow[t] = (MDB_val){0, NULL};
		if (last_code[t] == UINT32_MAX)
			continue;
		if (rs_model_get_code(r->model, &rd, RS_MODEL_DB_TRANSITIONS, last_code[t], &data,
		                      &len) == 0)
			trow[t] = (MDB_val){len, (void *) data};
		if (r->knn_src >= 0 && r->has_knn &&
		    rs_model_knn_row(r->model, last_code[t], &data, &len) == 0)
			krow[t] = (MDB_val){len, (void *) data};
	}
	/* each last item's kNN and transition values for every candidate: one pass over each
	 * row (codes ascending) against a hash of the candidates' codes, instead of a binary
	 * search of each row for each candidate */
	float *lsim = rs_arena_alloc(a, (size_t) (nlast ? nlast : 1) * (n ? n : 1) * sizeof(float));
	float *ltr = rs_arena_alloc(a, (size_t) (nlast ? nlast : 1) * (n ? n : 1) * sizeof(float));
	size_t hcap = 16;
	while (hcap < 2 * n)
		hcap *= 2;
	int32_t *hslot = rs_arena_alloc(a, hcap * sizeof(int32_t));
	if (lsim == NULL || ltr == NULL || hslot == NULL) {
		rv = RS_ENOMEM;
		goto out;
	}
	memset(lsim, 0, (size_t) nlast * n * sizeof(float));
	memset(ltr, 0, (size_t) nlast * n * sizeof(float));
	memset(hslot, 0xff, hcap * sizeof(int32_t));
	for (i = 0; nlast > 0 && i < n; i++) {
		if (codes[i] == UINT32_MAX)
			continue;
		size_t h = ranker_hash(codes[i], hcap - 1);
		while (hslot[h] >= 0) /* a code twice (the same item twice) gets both */
			h = (h + 1) & (hcap - 1);
		hslot[h] = (int32_t) i;
	}
	for (t = 0; t < nlast; t++) {
		row_scatter(&krow[t], codes, hslot, hcap - 1, lsim + (size_t) t * n);
		row_scatter(&trow[t], codes, hslot, hcap - 1, ltr + (size_t) t * n);
	}
	for (i = 0; i < n; i++) {
		float v[RS_RANKFEAT_MAX_SRC], sim[RS_RANKFEAT_LAST], tr[RS_RANKFEAT_LAST];
		float unknown[RS_RANKFEAT_ITEM] = {0, 0, 1, 0}, best = 0;
		int32_t rk[RS_RANKFEAT_MAX_SRC];
		uint32_t c = codes[i];
		rs_rankfeat_cand rc = {
		        v,
		        rk,
		        c != UINT32_MAX ? r->item_feat + (size_t) c * RS_RANKFEAT_ITEM : unknown,
		        nlast,
		        sim,
		        tr};

		for (s = 0; s < r->n_src; s++) {
			v[s] = 0;
			rk[s] = r->cand_n + 1;
			if (col[s] < 0 || (size_t) col[s] >= cand[i]->n_ranker_scores ||
			    (size_t) col[s] >= cand[i]->n_ranker_ranks)
				continue;
			uint32_t q = cand[i]->ranker_ranks[col[s]];
			v[s] = cand[i]->ranker_scores[col[s]]; /* as rs-train's: -inf stays -inf */
			if (q >= 1 && q <= (uint32_t) r->cand_n)
				rk[s] = (int32_t) q;
		}
		because[i] = 0;
		for (t = 0; t < nlast; t++) {
			sim[t] = lsim[(size_t) t * n + i];
			tr[t] = ltr[(size_t) t * n + i];
			if (sim[t] + tr[t] > best) {
				best = sim[t] + tr[t];
				because[i] = last_id[t];
			}
		}
		rs_rankfeat_row(r->n_src, st, &r->norm, &user, &rc, x + i * (size_t) r->nfeat);
	}
out:
	rs_model_read_end(&rd);
	return rv;
}
