/* manifest: see manifest.h. */
#include "manifest.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rs_err.h"

static json_t *manifest_params_base(const tr_params *p);

static json_t *
manifest_params(const tr_params *p)
{
	json_t *o = manifest_params_base(p);

	if (o != NULL && p->weights[0] != '\0')
		json_object_set_new(o, "weights", json_string(p->weights));
	return o;
}

static json_t *
manifest_params_base(const tr_params *p)
{
	return json_pack("{s:f, s:i, s:f, s:f, s:i, s:i, s:i, s:f, s:f, s:f, s:f, s:i, s:s, s:i,"
	                 " s:i, s:i, s:f, s:f, s:s, s:I, s:s, s:i}",
	                 "half_life", p->half_life, "k", p->knn_k, "shrink", p->shrink,
	                 "seq_weight", p->seq_weight, "factors", p->factors, "iterations",
	                 p->iterations, "cg_steps", p->cg_steps, "reg", p->reg, "alpha", p->alpha,
	                 "lambda", p->lambda, "max_mem_gb", p->max_mem_gb, "max_items",
	                 p->max_items, "sources", p->sources, "cand_n", p->cand_n, "trees",
	                 p->trees, "depth", p->depth, "eta", p->eta, "holdout_frac",
	                 p->holdout_frac, "objective", p->objective, "seed", (json_int_t) p->seed,
	                 "holdout", p->holdout, "fallback_source", p->fallback);
}

int
tr_manifest_write(const tr_model *m, const char *dir, tr_error *err)
{
	char path[4096], fp[32], when[32];
	time_t now = time(NULL);
	json_t *root;
	int rc;

	snprintf(fp, sizeof(fp), "%016" PRIx64, m->fingerprint);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	root = json_pack("{s:s, s:i, s:s, s:o, s:{s:s, s:i, s:i, s:I}, s:f, s:s, s:b}", "format",
	                 TR_MODEL_FORMAT, "format_version", TR_MODEL_FORMAT_VERSION, "model",
	                 tr_kind_name(m->kind), "params", manifest_params(&m->params), "data",
	                 "fingerprint", fp, "users", m->n_users, "items", m->n_items,
	                 "interactions", (json_int_t) m->nnz, "fit_seconds", m->fit_seconds,
	                 "created", when, "ease_dual", m->kind == TR_EASE && m->ease.dual);
	if (root == NULL)
		return tr_error_set(err, RS_EINTERNAL, "manifest: cannot build json");
	tr_path_join(path, sizeof(path), dir, "manifest.json");
	rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(root);
	if (rc != 0)
		return tr_error_set(err, RS_EIO, "%s: cannot write", path);
	return 0;
}

int
tr_manifest_read(const char *dir, tr_model *m, int *ease_dual, tr_error *err)
{
	char path[4096];
	json_error_t jerr;
	json_t *root, *params, *data;
	const char *format = NULL, *model = NULL, *fp = NULL, *sources = "", *objective = "";
	const char *holdout = "temporal-user";
	int version = -1, users = -1, items = -1, dual = 0, rv;
	json_int_t nnz = 0, seed = 0;
	double fit_s = 0;
	tr_params *p = &m->params;

	tr_path_join(path, sizeof(path), dir, "manifest.json");
	if ((root = json_load_file(path, 0, &jerr)) == NULL)
		return tr_error_set(err, RS_EIO, "%s: %s (is this a model folder?)", path,
		                    jerr.text);
	if (json_unpack_ex(root, &jerr, 0, "{s:s, s:i}", "format", &format, "format_version",
	                   &version) != 0 ||
	    strcmp(format, TR_MODEL_FORMAT) != 0) {
		json_decref(root);
		return tr_error_set(err, RS_EVERSION, "%s: not an rs-train model manifest", path);
	}
	if (version != TR_MODEL_FORMAT_VERSION) {
		json_decref(root);
		return tr_error_set(err, RS_EVERSION,
		                    "%s: model format version %d, this rs-train reads version %d; "
		                    "refit the model",
		                    path, version, TR_MODEL_FORMAT_VERSION);
	}
	tr_params_defaults(p);
	if (json_unpack_ex(root, &jerr, 0, "{s:s, s:o, s:o, s?f, s?b}", "model", &model, "params",
	                   &params, "data", &data, "fit_seconds", &fit_s, "ease_dual",
	                   &dual) != 0 ||
	    json_unpack_ex(data, &jerr, 0, "{s:s, s:i, s:i, s:I}", "fingerprint", &fp, "users",
	                   &users, "items", &items, "interactions", &nnz) != 0 ||
	    json_unpack_ex(params, &jerr, 0,
	                   "{s?F, s?i, s?F, s?F, s?i, s?i, s?i, s?F, s?F, s?F, s?F, s?i, s?s, s?i,"
	                   " s?i, s?i, s?F, s?F, s?s, s?I, s?s, s?i}",
	                   "half_life", &p->half_life, "k", &p->knn_k, "shrink", &p->shrink,
	                   "seq_weight", &p->seq_weight, "factors", &p->factors, "iterations",
	                   &p->iterations, "cg_steps", &p->cg_steps, "reg", &p->reg, "alpha",
	                   &p->alpha, "lambda", &p->lambda, "max_mem_gb", &p->max_mem_gb,
	                   "max_items", &p->max_items, "sources", &sources, "cand_n", &p->cand_n,
	                   "trees", &p->trees, "depth", &p->depth, "eta", &p->eta, "holdout_frac",
	                   &p->holdout_frac, "objective", &objective, "seed", &seed, "holdout",
	                   &holdout, "fallback_source", &p->fallback) != 0) {
		rv = tr_error_set(err, RS_ECORRUPT, "%s: %s", path, jerr.text);
		json_decref(root);
		return rv;
	}
	if ((rv = tr_kind_parse(model, &m->kind, err)) != 0 || users < 0 || items < 0) {
		json_decref(root);
		return rv ? rv : tr_error_set(err, RS_ECORRUPT, "%s: bad sizes", path);
	}
	{
		const char *weights = "";
		json_unpack(params, "{s?s}", "weights", &weights);
		snprintf(p->weights, sizeof(p->weights), "%s", weights);
	}
	snprintf(p->sources, sizeof(p->sources), "%s", sources);
	snprintf(p->objective, sizeof(p->objective), "%s", objective);
	snprintf(p->holdout, sizeof(p->holdout), "%s", holdout);
	p->seed = (uint64_t) seed;
	m->n_users = users;
	m->n_items = items;
	m->nnz = nnz;
	m->fit_seconds = fit_s;
	m->fingerprint = strtoull(fp, NULL, 16);
	*ease_dual = dual;
	json_decref(root);
	return 0;
}
