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

#define RANKER_NOT_INTERESTED 6 /* rs.EventType: not a training interaction */

typedef struct ranker_booster {
	BoosterHandle h;
	pthread_mutex_t mu;
} ranker_booster;

struct rank_ranker {
	rs_model *model;
	int holds_model; /* 1: a reference on model (rank_ranker_open), 0: borrowed */
	int n_src, cand_n, knn_src, pop_src, nfeat;
	char src[RS_RANKFEAT_MAX_SRC][32];
	rs_rankfeat_norm norm;
	int weighted;               /* trained on an event log (services/trainer/events.h) */
	double ev_w[7], rating_low; /* its weights by rs.EventType number */
	char names_buf[RS_RANKFEAT_MAX][48];
	const char *names[RS_RANKFEAT_MAX];
	int group[RS_RANKFEAT_MAX];
	uint32_t n_items;
	float *item_feat;    /* n_items x RS_RANKFEAT_ITEM */
	float *pop;          /* n_items, when pop_src >= 0 */
	uint32_t *pop_order; /* codes by pop desc, code asc (rs-train's tr_topk order) */
	int has_knn;         /* the version has knn_rows (read through model: one environment) */
	int nb;
	ranker_booster *b;
	rank_forest
	        *forest; /* NULL: XGBoost's predictor (the forest differed from it, or failed) */
	atomic_uint next;
};

/* {u32 code, f32 value} entries as published (unaligned) */
typedef struct ranker_ent {
	uint32_t code;
	float v;
} ranker_ent;

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

static const float *ranker_pop_scores; /* qsort context (open is serialised by the caller) */
static pthread_mutex_t ranker_sort_mu = PTHREAD_MUTEX_INITIALIZER;

static int
ranker_cmp_pop(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
	float sx = ranker_pop_scores[x], sy = ranker_pop_scores[y];
	if (sx != sy)
		return sx > sy ? -1 : 1;
	return (x > y) - (x < y);
}

/* rs-train's event weights (services/trainer/events.h: tr_weights_defaults, the spec format of
 * tr_weights_format); spec NULL or "" = the defaults */
static int
ranker_weights(rank_ranker *r, const char *spec)
{
	static const char *const names[7] = {"",         "view",   "click",         "add_to_cart",
	                                     "purchase", "rating", "not_interested"};
	static const double defaults[7] = {0, 1, 2, 4, 8, 2, 8};
	char buf[256], *tok, *save = NULL;

	memcpy(r->ev_w, defaults, sizeof(defaults));
	r->rating_low = 3;
	snprintf(buf, sizeof(buf), "%s", spec != NULL ? spec : "");
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end;
		int k;
		if (eq == NULL)
			return -1;
		*eq = '\0';
		double v = strtod(eq + 1, &end);
		if (*end != '\0' || !isfinite(v))
			return -1;
		if (strcmp(tok, "rating_low") == 0) {
			r->rating_low = v;
			continue;
		}
		for (k = 1; k < 7 && strcmp(tok, names[k]) != 0; k++)
			;
		if (k == 7)
			return -1;
		r->ev_w[k] = v;
	}
	return 0;
}

/* rs-train's signed amount of one event (events.c ev_amount) */
static double
ranker_amount(const rank_ranker *r, int32_t type, double value, int *override)
{
	*override = 0;
	switch (type) {
	case 1:
	case 2:
		return r->ev_w[type];
	case 3:
	case 4:
		*override = 1;
		return r->ev_w[type];
	case 5:
		if (isnan(value))
			return r->ev_w[5];
		if (value < r->rating_low)
			return -r->ev_w[5] * (r->rating_low - value);
		*override = 1;
		return r->ev_w[5] * (value - r->rating_low + 1);
	case 6:
		return -r->ev_w[6];
	default:
		return 0;
	}
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
	r->weighted = json_is_true(json_object_get(rk, "weighted"));
	if (r->weighted &&
	    ranker_weights(r, json_string_value(json_object_get(json_object_get(root, "params"),
	                                                        "weights"))) != 0) {
		rv = ranker_err(err, errn, RS_ECORRUPT, "%s: %s", path, "bad params.weights");
		goto out;
	}
	r->knn_src = -1;
	r->pop_src = -1;
	for (int s = 0; s < r->n_src; s++) {
		if (knn != NULL && strcmp(r->src[s], knn) == 0)
			r->knn_src = s;
		if (strcmp(r->src[s], "pop") == 0)
			r->pop_src = s;
	}
	if (r->cand_n < 1 || !(r->norm.span > 0))
		rv = ranker_err(err, errn, RS_ECORRUPT, "%s: %s", path,
		                "bad ranker.cand_n or span");
out:
	json_decref(root);
	return rv;
}

/* item features (in memory), pop scores and order from the version's data (its rs_model's
 * LMDB environment: a file is never opened twice in a process) */
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
	r->has_knn = rs_model_has_db(r->model, RS_MODEL_DB_KNN_ROWS);
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
	if (r->pop_src >= 0) {
		if (rs_model_get(r->model, &rd, RS_MODEL_DB_SOURCE_SCORES, RS_MDB_SOURCE_POP,
		                 strlen(RS_MDB_SOURCE_POP), &data, &len) != 0 ||
		    len != (size_t) r->n_items * 4) {
			r->pop_src = -1; /* served as a missing source */
		} else {
			r->pop = malloc((size_t) r->n_items * sizeof(float) + 1);
			r->pop_order = malloc((size_t) r->n_items * sizeof(uint32_t) + 1);
			if (r->pop == NULL || r->pop_order == NULL) {
				rs_model_read_end(&rd);
				return RS_ENOMEM;
			}
			memcpy(r->pop, data, len);
			for (uint32_t i = 0; i < r->n_items; i++)
				r->pop_order[i] = i;
			pthread_mutex_lock(&ranker_sort_mu);
			ranker_pop_scores = r->pop;
			qsort(r->pop_order, r->n_items, sizeof(uint32_t), ranker_cmp_pop);
			pthread_mutex_unlock(&ranker_sort_mu);
		}
	}
	rs_model_read_end(&rd);
	return 0;
}

/* one row of the version's db (knn_rows, transitions) as an MDB_val; 0 or RS_E* */
static int
ranker_row(const rank_ranker *r, rs_model_read *rd, rs_model_db db, uint32_t code, MDB_val *v)
{
	const void *data = NULL;
	size_t len = 0;
	int rv = rs_model_get_code(r->model, rd, db, code, &data, &len);
	*v = (MDB_val){len, (void *) data};
	return rv;
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
	free(r->pop);
	free(r->pop_order);
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
	if (XGBoosterPredictFromDense(b->h, arr, cfg_value, NULL, &shape, &dim, &res) != 0)
		rv = RS_EINTERNAL;
	else
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

typedef struct hist_ent {
	int64_t id;
	int64_t ts;
	size_t pos;
	uint32_t code; /* UINT32_MAX: unknown to the version */
	float w;       /* rs-train's confidence weight (1 for unweighted data) */
	int32_t type;
	double value;
} hist_ent;

static int
cmp_hist_id(const void *a, const void *b)
{
	const hist_ent *x = a, *y = b;
	if (x->id != y->id)
		return (x->id > y->id) - (x->id < y->id);
	if (x->ts != y->ts)
		return (x->ts > y->ts) - (x->ts < y->ts);
	return (x->pos > y->pos) - (x->pos < y->pos);
}

static int
cmp_hist_time(const void *a, const void *b)
{
	const hist_ent *x = a, *y = b;
	if (x->ts != y->ts)
		return (x->ts > y->ts) - (x->ts < y->ts);
	return (x->pos > y->pos) - (x->pos < y->pos);
}

/* an event log's pairs: rs-train orders them by (time, item code) */
static int
cmp_hist_time_code(const void *a, const void *b)
{
	const hist_ent *x = a, *y = b;
	if (x->ts != y->ts)
		return (x->ts > y->ts) - (x->ts < y->ts);
	return (x->code > y->code) - (x->code < y->code);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
	return (x > y) - (x < y);
}

/* value of code in a published row (codes ascending), 0 if absent */
static float
row_lookup(const MDB_val *row, uint32_t code)
{
	const unsigned char *p = row->mv_data;
	size_t lo = 0, hi = row->mv_size / sizeof(ranker_ent);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		ranker_ent e;
		memcpy(&e, p + mid * sizeof(e), sizeof(e));
		if (e.code < code)
			lo = mid + 1;
		else if (e.code > code)
			hi = mid;
		else
			return e.v;
	}
	return 0.0f;
}

static const Rs__SourceScore *
cand_source(const Rs__Candidate *c, const char *name)
{
	for (size_t s = 0; s < c->n_sources; s++)
		if (c->sources[s]->source != NULL && strcmp(c->sources[s]->source, name) == 0)
			return c->sources[s];
	return NULL;
}

/* rs-train's tr_topk order: score descending, then code ascending; -inf and nan never */
static int
top_better(float sa, uint32_t ca, float sb, uint32_t cb)
{
	return sa > sb || (sa == sb && ca < cb);
}

/* the best cand_n codes of dense[n_items] as {code, rank} pairs sorted by code, and the
 * source's normalisers */
static int
ranker_top_list(const rank_ranker *r, const float *dense, rs_arena *a, uint32_t **list, int *got,
                rs_rankfeat_src *st)
{
	int k = r->cand_n, n = 0;
	uint32_t *best = rs_arena_alloc(a, (size_t) k * sizeof(uint32_t));
	uint32_t *pairs = rs_arena_alloc(a, 2 * (size_t) k * sizeof(uint32_t));

	if (best == NULL || pairs == NULL)
		return RS_ENOMEM;
	for (uint32_t c = 0; c < r->n_items; c++) { /* insertion into a sorted array of <= k */
		float sc = dense[c];
		int at;
		if (isnan(sc) || sc == -INFINITY)
			continue;
		if (n == k && !top_better(sc, c, dense[best[k - 1]], best[k - 1]))
			continue;
		at = n < k ? n++ : k - 1;
		while (at > 0 && top_better(sc, c, dense[best[at - 1]], best[at - 1])) {
			best[at] = best[at - 1];
			at--;
		}
		best[at] = c;
	}
	for (int q = 0; q < n; q++) {
		pairs[2 * q] = best[q];
		pairs[2 * q + 1] = (uint32_t) q + 1;
	}
	rs_rankfeat_src_init(st, n > 0 ? dense[best[0]] : 0.0f, n > 0 ? dense[best[n - 1]] : 0.0f,
	                     n);
	qsort(pairs, (size_t) n, 2 * sizeof(uint32_t), cmp_u32);
	*list = pairs;
	*got = n;
	return 0;
}

/* pop: the version's order, skipping the user's items */
static int
ranker_pop_list(const rank_ranker *r, const uint32_t *hcodes, size_t nhc, rs_arena *a,
                uint32_t **list, int *got, rs_rankfeat_src *st)
{
	uint32_t *pairs = rs_arena_alloc(a, 2 * (size_t) r->cand_n * sizeof(uint32_t));
	float top = 0, low = 0;
	int n = 0;

	if (pairs == NULL)
		return RS_ENOMEM;
	for (uint32_t q = 0; q < r->n_items && n < r->cand_n; q++) {
		uint32_t c = r->pop_order[q];
		if (bsearch(&c, hcodes, nhc, sizeof(uint32_t), cmp_u32) != NULL)
			continue;
		if (n == 0)
			top = r->pop[c];
		low = r->pop[c];
		pairs[2 * n] = c;
		pairs[2 * n + 1] = (uint32_t) n + 1;
		n++;
	}
	rs_rankfeat_src_init(st, top, low, n);
	qsort(pairs, (size_t) n, 2 * sizeof(uint32_t), cmp_u32);
	*list = pairs;
	*got = n;
	return 0;
}

/* itemknn: the sum of the user's items' kNN rows, added in the user's time order (rs-train's
 * tr_knn_score; float sums depend on the order), the user's items excluded */
/* add sign x w x the kNN row of code to dense (rs-train's tr_knn_score(_w): float products,
 * rows in the user's order, since float sums depend on the order) */
static void
ranker_knn_add(const rank_ranker *r, rs_model_read *txn, uint32_t code, float w, int sign,
               float *dense)
{
	MDB_val v;
	if (code == UINT32_MAX || ranker_row(r, txn, RS_MODEL_DB_KNN_ROWS, code, &v) != 0)
		return;
	const unsigned char *p = v.mv_data;
	for (size_t e = 0; e < v.mv_size / sizeof(ranker_ent); e++) {
		ranker_ent en;
		memcpy(&en, p + e * sizeof(en), sizeof(en));
		if (en.code >= r->n_items)
			continue;
		if (!r->weighted)
			dense[en.code] += en.v;
		else if (sign > 0)
			dense[en.code] += w * en.v;
		else
			dense[en.code] -= w * en.v;
	}
}

/* itemknn: the user's items' kNN rows (weighted, minus the explicit negatives' rows for an
 * event log), the user's items excluded */
static void
ranker_knn_scores(const rank_ranker *r, rs_model_read *txn, const hist_ent *h, size_t nd,
                  const hist_ent *ng, size_t nng, const uint32_t *hcodes, size_t nhc, float *dense)
{
	memset(dense, 0, (size_t) r->n_items * sizeof(float));
	for (size_t i = 0; i < nd; i++)
		ranker_knn_add(r, txn, h[i].code, h[i].w, 1, dense);
	for (size_t i = 0; i < nng; i++)
		ranker_knn_add(r, txn, ng[i].code, ng[i].w, -1, dense);
	for (size_t i = 0; i < nhc; i++)
		dense[hcodes[i]] = -INFINITY;
}

int
rank_ranker_rows(const rank_ranker *r, const Rs__RankRequest *req, const Rs__Candidate *const *cand,
                 size_t n, rs_arena *a, float *x, int64_t *because, int *missing)
{
	size_t nh = req->n_recent, nd = 0, i;
	int s, t, nlast = 0, rv = 0;
	hist_ent *h = rs_arena_alloc(a, (nh ? nh : 1) * sizeof(*h));
	hist_ent *ng = rs_arena_alloc(a, (nh ? nh : 1) * sizeof(*ng)); /* explicit negatives */
	size_t nng = 0;
	uint32_t *hcodes = rs_arena_alloc(a, (nh ? nh : 1) * sizeof(*hcodes));
	uint32_t *codes = rs_arena_alloc(a, (n ? n : 1) * sizeof(*codes));
	/* sources computed here (pop, itemknn): scores by code and their top list as {code, rank}
	 * pairs sorted by code */
	const float *iscore[RS_RANKFEAT_MAX_SRC] = {NULL};
	uint32_t *ilist[RS_RANKFEAT_MAX_SRC] = {NULL};
	int igot[RS_RANKFEAT_MAX_SRC] = {0};
	rs_rankfeat_src st[RS_RANKFEAT_MAX_SRC];
	rs_rankfeat_user user = {0, 0, 0};
	int64_t last_id[RS_RANKFEAT_LAST];
	uint32_t last_code[RS_RANKFEAT_LAST];
	MDB_val trow[RS_RANKFEAT_LAST], krow[RS_RANKFEAT_LAST];
	rs_model_read rd = {NULL}, *txn = &rd;
	size_t nhc = 0;

	*missing = 0;
	if (h == NULL || ng == NULL || hcodes == NULL || codes == NULL)
		return RS_ENOMEM;
	/* the user's items as rs-train sees them: each once, at its first time; for an event log
	 * (weighted) each item's events are summed with rs-train's weights into a positive (its
	 * first time) or an explicit negative (its last negative event's time) */
	for (i = 0; i < nh; i++) {
		const Rs__HistoryEvent *e = req->recent[i];
		if (e->item_id <= 0 || (!r->weighted && e->type == RANKER_NOT_INTERESTED))
			continue;
		h[nd] = (hist_ent){e->item_id, e->ts_ms,          i,       UINT32_MAX,
		                   1.0f,       (int32_t) e->type, e->value};
		if (rs_model_code(r->model, e->item_id, &h[nd].code) != 0)
			h[nd].code = UINT32_MAX;
		nd++;
	}
	qsort(h, nd, sizeof(*h), cmp_hist_id);
	size_t w = 0, b;
	for (i = 0; i < nd; i = b) {
		double pos = 0, neg = 0;
		int64_t t_neg = 0;
		int negative = 0;
		for (b = i; b < nd && h[b].id == h[i].id; b++) {
			int override = 0;
			double amt = r->weighted
			                     ? ranker_amount(r, h[b].type, h[b].value, &override)
			                     : 1;
			if (amt < 0) {
				neg -= amt;
				negative = 1;
				t_neg = h[b].ts;
			} else {
				pos += amt;
				if (override && amt > 0)
					negative = 0; /* a later purchase / good rating wins */
			}
		}
		if (r->weighted && negative && neg > 0) {
			ng[nng] = h[i];
			ng[nng].ts = t_neg;
			ng[nng++].w = (float) neg;
		} else if (pos > 0) {
			h[w] = h[i];
			h[w++].w = r->weighted ? (float) pos : 1.0f;
		}
	}
	nd = w;
	for (i = 0; i < nd; i++)
		if (h[i].code != UINT32_MAX)
			hcodes[nhc++] = h[i].code;
	qsort(hcodes, nhc, sizeof(uint32_t), cmp_u32);
	qsort(h, nd, sizeof(*h), r->weighted ? cmp_hist_time_code : cmp_hist_time);
	qsort(ng, nng, sizeof(*ng), cmp_hist_time_code);
	user.n_items = (int64_t) nd;
	user.has_last = nd > 0;
	user.last_ts = nd > 0 ? (double) h[nd - 1].ts / 1000.0 : 0.0;
	for (i = nd; i > 0 && nlast < RS_RANKFEAT_LAST; i--) {
		last_id[nlast] = h[i - 1].id;
		last_code[nlast++] = h[i - 1].code;
	}
	for (i = 0; i < n; i++)
		if (rs_model_code(r->model, cand[i]->item_id, &codes[i]) != 0)
			codes[i] = UINT32_MAX;

	/* the version's rows are read in place inside one read transaction */
	if ((nlast > 0 || (r->knn_src >= 0 && r->has_knn)) &&
	    (rv = rs_model_read_begin(r->model, &rd)) != 0)
		return rv;

	/* per-source normalisers; pop and itemknn are computed here from the version exactly as
	 * rs-train computes them (the user's whole list, not only the candidates sent) */
	for (s = 0; s < r->n_src; s++) {
		if (s == r->pop_src) {
			if ((rv = ranker_pop_list(r, hcodes, nhc, a, &ilist[s], &igot[s],
			                          &st[s])) != 0)
				goto out;
			iscore[s] = r->pop;
			continue;
		}
		if (s == r->knn_src && r->has_knn) {
			float *dense = rs_arena_alloc(a, ((size_t) r->n_items + 1) * sizeof(float));
			if (dense == NULL) {
				rv = RS_ENOMEM;
				goto out;
			}
			ranker_knn_scores(r, txn, h, nd, ng, nng, hcodes, nhc, dense);
			if ((rv = ranker_top_list(r, dense, a, &ilist[s], &igot[s], &st[s])) != 0)
				goto out;
			iscore[s] = dense;
			continue;
		}
		const Rs__SourceStats *ss = NULL;
		for (size_t q = 0; q < req->n_source_stats; q++)
			if (req->source_stats[q]->source != NULL &&
			    strcmp(req->source_stats[q]->source, r->src[s]) == 0)
				ss = req->source_stats[q];
		float top = 0, low = 0;
		int got = 0, seen = ss != NULL;
		for (i = 0; i < n; i++) {
			const Rs__SourceScore *sc = cand_source(cand[i], r->src[s]);
			if (sc == NULL)
				continue;
			seen = 1;
			if (sc->rank == 0 || sc->rank > (uint32_t) r->cand_n ||
			    !isfinite(sc->score))
				continue;
			if (got == 0 || sc->score > top)
				top = sc->score;
			if (got == 0 || sc->score < low)
				low = sc->score;
			got++;
		}
		*missing += !seen;
		if (ss != NULL)
			rs_rankfeat_src_init(&st[s], ss->top, ss->low, (int) ss->count);
		else
			rs_rankfeat_src_init(&st[s], top, low, got);
	}

	/* the last items' transition and kNN rows */
	for (t = 0; t < nlast; t++) {
		trow[t] = (MDB_val){0, NULL};
		krow[t] = (MDB_val){0, NULL};
		if (last_code[t] == UINT32_MAX)
			continue;
		if (ranker_row(r, txn, RS_MODEL_DB_TRANSITIONS, last_code[t], &trow[t]) != 0)
			trow[t] = (MDB_val){0, NULL};
		if (r->knn_src >= 0 && r->has_knn &&
		    ranker_row(r, txn, RS_MODEL_DB_KNN_ROWS, last_code[t], &krow[t]) != 0)
			krow[t] = (MDB_val){0, NULL};
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
			if (iscore[s] != NULL) {
				uint32_t *hit = c == UINT32_MAX
				                        ? NULL
				                        : bsearch(&c, ilist[s], (size_t) igot[s],
				                                  2 * sizeof(uint32_t), cmp_u32);
				v[s] = c != UINT32_MAX ? iscore[s][c] : 0;
				if (hit != NULL)
					rk[s] = (int32_t) hit[1];
				continue;
			}
			const Rs__SourceScore *sc = cand_source(cand[i], r->src[s]);
			if (sc == NULL)
				continue;
			v[s] = isfinite(sc->score) ? sc->score : 0;
			if (sc->rank >= 1 && sc->rank <= (uint32_t) r->cand_n)
				rk[s] = (int32_t) sc->rank;
		}
		because[i] = 0;
		for (t = 0; t < nlast; t++) {
			sim[t] = krow[t].mv_data != NULL && c != UINT32_MAX
			                 ? row_lookup(&krow[t], c)
			                 : 0;
			tr[t] = trow[t].mv_data != NULL && c != UINT32_MAX ? row_lookup(&trow[t], c)
			                                                   : 0;
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
