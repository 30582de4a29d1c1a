#include "experiments.h"
#include "db.h"
#include "render.h"
#include "util.h"

#include "rs_err.h"
#include "rs_log.h"
#include "rs_pg.h"
#include "rs_proc.h"
#include "rs_time.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXP_HYPOTHESIS_MAX 2000
#define EXP_SHARE_EPS      1e-6
#define EXP_PG_UNIQUE      "23505"
#define EXP_PG_FOREIGN_KEY "23503"

/* ---- assignment ---- */

int
gw_exp_bucket(const char *salt, int64_t user, const double *shares, int n)
{
	unsigned char msg[8], h[8];
	uint64_t u64 = (uint64_t) user, x = 0;
	for (int i = 0; i < 8; i++)
		msg[i] = (unsigned char) (u64 >> (8 * i));
	crypto_generichash(h, sizeof(h), msg, sizeof(msg), (const unsigned char *) salt,
	                   strlen(salt));
	for (int i = 0; i < 8; i++)
		x |= (uint64_t) h[i] << (8 * i);
	double u = (double) (x >> 11) * 0x1.0p-53, acc = 0;
	for (int i = 0; i < n - 1; i++) {
		acc += shares[i];
		if (u < acc)
			return i;
	}
	return n - 1;
}

typedef struct exp_variant {
	char v_name[GW_EXP_VARIANT_NAME_MAX + 1];
	char v_kind[GW_EXP_VARIANT_NAME_MAX + 1]; /* "" = a fixed version or popular */
	char v_version[GW_EXP_VERSION_MAX + 1];   /* "" = popular (or a kind without versions) */
	double v_share;
} exp_variant;

typedef struct exp_running {
	int64_t r_id; /* 0 = none */
	char r_salt[GW_EXP_SALT_MAX + 1];
	int r_n;
	exp_variant r_v[GW_EXP_VARIANTS_MAX];
} exp_running;

struct gw_experiments {
	gw_db *e_db;
	int e_refresh_ms;
	pthread_mutex_t e_mu; /* guards e_run */
	exp_running e_run;
	pthread_mutex_t e_stop_mu;
	pthread_cond_t e_stop_cv;
	int e_stop;
	pthread_t e_thread;
	int e_started;
};

int
gw_experiments_reload(gw_experiments *e)
{
	/* a kind's variant: the newest published version of that kind (0008) */
	static const char sql[] =
	        "select x.experiment_id, x.salt, v.name, coalesce(v.model_version, (select "
	        "m.version from model_versions m where m.params->>'model' = v.model_kind order by "
	        "m.created_at desc, m.version desc limit 1), ''), v.share, "
	        "coalesce(v.model_kind, '') "
	        "from experiments x join experiment_variants v using (experiment_id) "
	        "where x.status = 'running' order by v.position";
	int rv;
	PGresult *res = gw_db_query(e->e_db, sql, 0, NULL, &rv);
	if (res == NULL || rs_pg_check(NULL, res, PGRES_TUPLES_OK, "gw.experiments.load") != 0) {
		PQclear(res);
		return RS_EUNAVAIL;
	}
	exp_running run = {0};
	int n = PQntuples(res);
	for (int i = 0; i < n && i < GW_EXP_VARIANTS_MAX; i++) {
		run.r_id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		snprintf(run.r_salt, sizeof(run.r_salt), "%s", PQgetvalue(res, i, 1));
		snprintf(run.r_v[i].v_name, sizeof(run.r_v[i].v_name), "%s", PQgetvalue(res, i, 2));
		snprintf(run.r_v[i].v_version, sizeof(run.r_v[i].v_version), "%s",
		         PQgetvalue(res, i, 3));
		run.r_v[i].v_share = strtod(PQgetvalue(res, i, 4), NULL);
		snprintf(run.r_v[i].v_kind, sizeof(run.r_v[i].v_kind), "%s", PQgetvalue(res, i, 5));
		run.r_n = i + 1;
	}
	PQclear(res);
	pthread_mutex_lock(&e->e_mu);
	exp_running was = e->e_run;
	e->e_run = run;
	pthread_mutex_unlock(&e->e_mu);
	if (was.r_id != run.r_id)
		rs_log_info("gw.experiment_running", "experiment=%lld variants=%d",
		            (long long) run.r_id, run.r_n);
	for (int i = 0; i < run.r_n; i++) {
		const exp_variant *v = &run.r_v[i];
		if (v->v_kind[0] == '\0' ||
		    (was.r_id == run.r_id && strcmp(was.r_v[i].v_version, v->v_version) == 0))
			continue;
		if (v->v_version[0] != '\0')
			rs_log_info("gw.experiment_version",
			            "experiment=%lld variant=%s kind=%s version=%s",
			            (long long) run.r_id, v->v_name, v->v_kind, v->v_version);
		else
			rs_log_warn(
			        "gw.experiment_version",
			        "experiment=%lld variant=%s kind=%s: no published version of the "
			        "kind (it serves the active version)",
			        (long long) run.r_id, v->v_name, v->v_kind);
	}
	return 0;
}

static void *
exp_main(void *arg)
{
	gw_experiments *e = arg;
	pthread_mutex_lock(&e->e_stop_mu);
	while (!e->e_stop) {
		pthread_mutex_unlock(&e->e_stop_mu);
		gw_experiments_reload(e);
		pthread_mutex_lock(&e->e_stop_mu);
		struct timespec until = rs_deadline_in(CLOCK_MONOTONIC, e->e_refresh_ms);
		while (!e->e_stop &&
		       pthread_cond_timedwait(&e->e_stop_cv, &e->e_stop_mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&e->e_stop_mu);
	return NULL;
}

int
gw_experiments_open(gw_experiments **out, gw_db *db, int refresh_ms)
{
	gw_experiments *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return RS_ENOMEM;
	e->e_db = db;
	e->e_refresh_ms = refresh_ms > 0 ? refresh_ms : GW_EXP_REFRESH_DEFAULT;
	pthread_mutex_init(&e->e_mu, NULL);
	pthread_mutex_init(&e->e_stop_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->e_stop_cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&e->e_thread, NULL, exp_main, e) != 0) {
		gw_experiments_close(e);
		return RS_ENOMEM;
	}
	e->e_started = 1;
	*out = e;
	return 0;
}

void
gw_experiments_close(gw_experiments *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&e->e_stop_mu);
	e->e_stop = 1;
	pthread_cond_broadcast(&e->e_stop_cv);
	pthread_mutex_unlock(&e->e_stop_mu);
	if (e->e_started)
		pthread_join(e->e_thread, NULL);
	pthread_cond_destroy(&e->e_stop_cv);
	pthread_mutex_destroy(&e->e_stop_mu);
	pthread_mutex_destroy(&e->e_mu);
	free(e);
}

void
gw_experiments_assign(gw_experiments *e, int64_t user, gw_exp_assignment *out)
{
	double shares[GW_EXP_VARIANTS_MAX];
	memset(out, 0, sizeof(*out));
	if (e == NULL)
		return;
	pthread_mutex_lock(&e->e_mu);
	const exp_running *r = &e->e_run;
	if (r->r_id != 0 && r->r_n > 0) {
		for (int i = 0; i < r->r_n; i++)
			shares[i] = r->r_v[i].v_share;
		int b = gw_exp_bucket(r->r_salt, user, shares, r->r_n);
		out->a_experiment = r->r_id;
		memcpy(out->a_variant, r->r_v[b].v_name, sizeof(out->a_variant));
		memcpy(out->a_version, r->r_v[b].v_version, sizeof(out->a_version));
		out->a_popular = r->r_v[b].v_version[0] == '\0' && r->r_v[b].v_kind[0] == '\0';
	}
	pthread_mutex_unlock(&e->e_mu);
}

/* ---- admin routes ---- */

static void
reply_db_down(gw_req *req)
{
	gw_reply_error(req, 503, "unavailable",
	               "the experiments store (PostgreSQL) is unavailable");
}

/* One experiment as JSON, built by PostgreSQL (the same shape everywhere). */
#define EXP_JSON_SQL                                                                            \
	"json_build_object('id', x.experiment_id, 'name', x.name, 'hypothesis', x.hypothesis, " \
	"'primary_metric', x.primary_metric, 'salt', x.salt, 'status', x.status, "              \
	"'created_at', to_char(x.created_at at time zone 'UTC', "                               \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "                                                \
	"'started_at', to_char(x.started_at at time zone 'UTC', "                               \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "                                                \
	"'stopped_at', to_char(x.stopped_at at time zone 'UTC', "                               \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "                                                \
	"'variants', (select json_agg(json_build_object('name', v.name, 'strategy', "           \
	"v.strategy, 'model_version', v.model_version, 'model_kind', v.model_kind, 'share', "   \
	"v.share) order by v.position) "                                                        \
	"from experiment_variants v where v.experiment_id = x.experiment_id))::text"

/* Sets each variant's "serving_version" of experiment j: the version this gateway's copy
 * serves it now when j is the running experiment (popular: null), else null. */
static void
exp_add_serving(gw_experiments *e, json_t *j)
{
	json_int_t id = json_integer_value(json_object_get(j, "id"));
	json_t *vs = json_object_get(j, "variants"), *v;
	size_t i;
	if (e == NULL)
		return;
	pthread_mutex_lock(&e->e_mu);
	const exp_running *r = &e->e_run;
	json_array_foreach(vs, i, v)
	{
		int here = r->r_id != 0 && r->r_id == id && i < (size_t) r->r_n &&
		           r->r_v[i].v_version[0] != '\0';
		json_object_set_new(v, "serving_version",
		                    here ? json_string(r->r_v[i].v_version) : json_null());
	}
	pthread_mutex_unlock(&e->e_mu);
}

/* The experiment row of id as JSON, or NULL with *rv (RS_ENOTFOUND or RS_EUNAVAIL). */
static json_t *
exp_fetch(gw_server *srv, const char *id, int *rv)
{
	static const char sql[] = "select " EXP_JSON_SQL " from experiments x "
	                          "where x.experiment_id = $1::bigint";
	json_error_t jerr;
	PGresult *res = gw_db_query(srv->s_db, sql, 1, (const char *const[]){id}, rv);
	if (res == NULL || rs_pg_check(NULL, res, PGRES_TUPLES_OK, "gw.experiments.get") != 0) {
		PQclear(res);
		*rv = RS_EUNAVAIL;
		return NULL;
	}
	json_t *j = PQntuples(res) == 1 ? json_loads(PQgetvalue(res, 0, 0), 0, &jerr) : NULL;
	*rv = PQntuples(res) == 1 ? (j != NULL ? 0 : RS_EUNAVAIL) : RS_ENOTFOUND;
	PQclear(res);
	if (j != NULL)
		exp_add_serving(srv->s_experiments, j);
	return j;
}

/* The {id} path segment as a decimal string; 0 after a 400 otherwise. */
static int
exp_id_param(gw_req *req, char *buf, size_t n)
{
	int64_t id;
	if (req->r_nparams < 1 || gw_parse_id(req->r_params[0], &id) != 0) {
		gw_reply_error(req, 400, "bad_request", "experiment id must be a positive integer");
		return 0;
	}
	snprintf(buf, n, "%lld", (long long) id);
	return 1;
}

static int
exp_printable(const char *s, size_t lo, size_t hi)
{
	size_t n = strlen(s);
	if (n < lo || n > hi)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int
exp_token(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > GW_EXP_VARIANT_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return 0;
	return 1;
}

static const char *const exp_metrics[] = {"ctr", "add_to_cart_rate", "conversion",
                                          "gmv_per_customer"};

/* Checks the create body; returns NULL or what is wrong (into why). Builds *variants: the
 * normalised [{"name","strategy","model_version","model_kind","share"}] for the insert and
 * *kinds: the distinct model kinds named (each must have a published version: the caller
 * checks). */
static const char *
exp_check(json_t *body, char *why, size_t n, json_t **variants, json_t **kinds)
{
	json_t *name = json_object_get(body, "name"), *hyp = json_object_get(body, "hypothesis");
	json_t *metric = json_object_get(body, "primary_metric"),
	       *salt = json_object_get(body, "salt");
	json_t *vs = json_object_get(body, "variants");
	const char *versions[GW_EXP_VARIANTS_MAX];
	int nversions = 0, nfixed = 0; /* distinct versions and kinds; fixed versions */
	double sum = 0;

	*variants = NULL;
	*kinds = NULL;
	if (!json_is_object(body))
		return "the body must be a JSON object";
	if (!json_is_string(name) || !exp_printable(json_string_value(name), 1, GW_EXP_NAME_MAX))
		return "name must be 1-100 characters without control characters";
	if (hyp != NULL && !json_is_null(hyp) &&
	    (!json_is_string(hyp) || !exp_printable(json_string_value(hyp), 0, EXP_HYPOTHESIS_MAX)))
		return "hypothesis must be at most 2000 characters without control characters";
	int known = 0;
	for (size_t i = 0; json_is_string(metric) && i < sizeof(exp_metrics) / sizeof(*exp_metrics);
	     i++)
		known |= strcmp(json_string_value(metric), exp_metrics[i]) == 0;
	if (!known)
		return "primary_metric must be one of ctr, add_to_cart_rate, conversion, "
		       "gmv_per_customer";
	if (salt != NULL && !json_is_null(salt) &&
	    (!json_is_string(salt) ||
	     !exp_printable(json_string_value(salt), GW_EXP_SALT_MIN, GW_EXP_SALT_MAX)))
		return "salt must be 16-64 printable ASCII characters";
	if (!json_is_array(vs) || json_array_size(vs) < 2 ||
	    json_array_size(vs) > GW_EXP_VARIANTS_MAX)
		return "variants must be an array of 2-4 variants";
	json_t *out = json_array(), *kset = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(vs, i, v)
	{
		json_t *vn = json_object_get(v, "name"), *mv = json_object_get(v, "model_version");
		json_t *st = json_object_get(v, "strategy"), *sh = json_object_get(v, "share");
		json_t *mk = json_object_get(v, "model_kind");
		const char *strategy = json_is_string(st) ? json_string_value(st) : "model";
		int has_kind = mk != NULL && !json_is_null(mk);
		const char *bad = NULL;
		if (!json_is_object(v))
			bad = "must be an object";
		else if (!json_is_string(vn) || !exp_token(json_string_value(vn)))
			bad = ".name must be 1-32 characters of a-z, 0-9, _ and -";
		else if (st != NULL && !json_is_null(st) &&
		         (!json_is_string(st) ||
		          (strcmp(strategy, "model") != 0 && strcmp(strategy, "popular") != 0)))
			bad = ".strategy must be \"model\" or \"popular\"";
		else if (strcmp(strategy, "popular") == 0 && mv != NULL && !json_is_null(mv))
			bad = ".model_version must be absent for the popular strategy";
		else if (strcmp(strategy, "popular") == 0 && has_kind)
			bad = ".model_kind must be absent for the popular strategy";
		else if (has_kind && mv != NULL && !json_is_null(mv))
			bad = " names both model_version and model_kind: give one";
		else if (has_kind && (!json_is_string(mk) || !exp_token(json_string_value(mk))))
			bad = ".model_kind must be a model kind (1-32 characters of a-z, 0-9, _ "
			      "and "
			      "-, e.g. \"two-stage\")";
		else if (strcmp(strategy, "model") == 0 && !has_kind &&
		         (!json_is_string(mv) ||
		          !exp_printable(json_string_value(mv), 1, GW_EXP_VERSION_MAX)))
			bad = ".model_version must name a published model version (or give "
			      "\"model_kind\" or \"strategy\": \"popular\")";
		else if (!json_is_number(sh) || !(json_number_value(sh) > 0) ||
		         json_number_value(sh) > 1)
			bad = ".share must be a number in (0, 1]";
		for (size_t j = 0; bad == NULL && j < i; j++)
			if (strcmp(json_string_value(
			                   json_object_get(json_array_get(vs, j), "name")),
			           json_string_value(vn)) == 0)
				bad = ".name is used by another variant";
		if (bad != NULL) {
			json_decref(out);
			json_decref(kset);
			snprintf(why, n, "variants[%zu]%s%s", i,
			         bad[0] == '.' || bad[0] == ' ' ? "" : " ", bad);
			return why;
		}
		if (has_kind) { /* a kind counts as one version (it serves one at a time) */
			int seen = 0;
			size_t j;
			json_t *k;
			json_array_foreach(kset, j, k) seen |=
			        strcmp(json_string_value(k), json_string_value(mk)) == 0;
			if (!seen) {
				json_array_append(kset, mk);
				nversions++;
			}
		} else if (strcmp(strategy, "model") == 0) {
			int seen = 0;
			for (int k = 0; k < nfixed; k++)
				seen |= strcmp(versions[k], json_string_value(mv)) == 0;
			if (!seen) {
				versions[nfixed++] = json_string_value(mv);
				nversions++;
			}
		}
		sum += json_number_value(sh);
		json_array_append_new(
		        out,
		        json_pack("{s:O,s:s,s:O,s:O,s:O}", "name", vn, "strategy", strategy,
		                  "model_version",
		                  strcmp(strategy, "model") == 0 && !has_kind ? mv : json_null(),
		                  "model_kind", has_kind ? mk : json_null(), "share", sh));
	}
	if (fabs(sum - 1.0) > EXP_SHARE_EPS) {
		json_decref(out);
		json_decref(kset);
		snprintf(why, n, "the variants' shares must sum to 1 (they sum to %.6g)", sum);
		return why;
	}
	if (nversions > GW_EXP_VERSIONS_MAX) {
		json_decref(out);
		json_decref(kset);
		snprintf(why, n,
		         "at most %d distinct model versions per experiment, a model kind counting "
		         "as one (every service keeps that many besides the active one loaded)",
		         GW_EXP_VERSIONS_MAX);
		return why;
	}
	*variants = out;
	*kinds = kset;
	return NULL;
}

/* Every kind of kinds (a JSON array of names) has a published version: 0, RS_EINVAL with
 * the first one without into why, or RS_EUNAVAIL. */
static int
exp_kinds_published(gw_server *srv, json_t *kinds, char *why, size_t n)
{
	static const char sql[] = "select k from jsonb_array_elements_text($1::jsonb) "
	                          "with ordinality a(k, i) where not exists (select 1 from "
	                          "model_versions m where m.params->>'model' = k) order by i "
	                          "limit 1";
	int rv;
	if (json_array_size(kinds) == 0)
		return 0;
	char *text = json_dumps(kinds, JSON_COMPACT);
	if (text == NULL)
		return RS_EUNAVAIL;
	PGresult *res = gw_db_query(srv->s_db, sql, 1, (const char *const[]){text}, &rv);
	free(text);
	if (res == NULL || rs_pg_check(NULL, res, PGRES_TUPLES_OK, "gw.experiments.kinds") != 0) {
		PQclear(res);
		return RS_EUNAVAIL;
	}
	rv = 0;
	if (PQntuples(res) > 0) {
		snprintf(why, n,
		         "no published model version is of kind \"%s\" (a variant's model_kind "
		         "needs one: rs-train pipeline --models %s)",
		         PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 0));
		rv = RS_EINVAL;
	}
	PQclear(res);
	return rv;
}

void
gw_handle_exp_create(gw_server *srv, gw_req *req)
{
	/* One statement: the experiment and its variants are stored together or not at all. */
	static const char sql[] =
	        "with x as (insert into experiments (name, hypothesis, primary_metric, salt) "
	        "values ($1, $2, $3, $4) returning *), "
	        "v as (insert into experiment_variants (experiment_id, position, name, strategy, "
	        "model_version, model_kind, share) select x.experiment_id, (o.n - 1)::int, "
	        "o.v->>'name', o.v->>'strategy', o.v->>'model_version', o.v->>'model_kind', "
	        "(o.v->>'share')::float8 "
	        "from x, jsonb_array_elements($5::jsonb) with ordinality o(v, n) returning 1) "
	        "select x.experiment_id, (select count(*) from v) from x";
	json_error_t jerr;
	char why[256], salt_buf[33], idbuf[24];
	json_t *variants, *kinds;
	int rv;

	json_t *body = json_loadb(req->r_body, req->r_body_len, 0, &jerr);
	if (body == NULL) {
		gw_reply_error(req, 400, "bad_json", "malformed JSON: %s at line %d column %d",
		               jerr.text, jerr.line, jerr.column);
		return;
	}
	const char *bad = exp_check(body, why, sizeof(why), &variants, &kinds);
	if (bad != NULL) {
		json_decref(body);
		gw_reply_error(req, 400, "bad_request", "%s; nothing was stored", bad);
		return;
	}
	rv = exp_kinds_published(srv, kinds, why, sizeof(why));
	json_decref(kinds);
	if (rv != 0) {
		json_decref(variants);
		json_decref(body);
		if (rv == RS_EINVAL)
			gw_reply_error(req, 400, "bad_request", "%s; nothing was stored", why);
		else
			reply_db_down(req);
		return;
	}
	json_t *salt = json_object_get(body, "salt"), *hyp = json_object_get(body, "hypothesis");
	if (!json_is_string(salt))
		rs_proc_random_id(salt_buf, sizeof(salt_buf)); /* 32 hex digits */
	char *vtext = json_dumps(variants, JSON_COMPACT);
	json_decref(variants);
	const char *params[5] = {json_string_value(json_object_get(body, "name")),
	                         json_is_string(hyp) ? json_string_value(hyp) : "",
	                         json_string_value(json_object_get(body, "primary_metric")),
	                         json_is_string(salt) ? json_string_value(salt) : salt_buf, vtext};
	PGresult *res = vtext != NULL ? gw_db_query(srv->s_db, sql, 5, params, &rv) : NULL;
	free(vtext);
	if (res == NULL) {
		json_decref(body);
		reply_db_down(req);
		return;
	}
	const char *state = rs_pg_sqlstate(res);
	if (state != NULL) {
		int fk = strcmp(state, EXP_PG_FOREIGN_KEY) == 0;
		PQclear(res);
		if (fk)
			gw_reply_error(req, 400, "bad_request",
			               "a variant names a model version that is not published; "
			               "nothing was stored");
		else
			reply_db_down(req);
		json_decref(body);
		return;
	}
	if (rs_pg_check(NULL, res, PGRES_TUPLES_OK, "gw.experiments.create") != 0 ||
	    PQntuples(res) != 1) {
		PQclear(res);
		json_decref(body);
		reply_db_down(req);
		return;
	}
	snprintf(idbuf, sizeof(idbuf), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	char q[256];
	rs_log_info("gw.experiment_created", "req=%s id=%s name=\"%s\" by=%s", req->r_request_id,
	            idbuf, rs_log_quote(q, sizeof(q), params[0]), req->r_who.p_name);
	json_decref(body);
	json_t *j = exp_fetch(srv, idbuf, &rv);
	if (j == NULL) {
		reply_db_down(req);
		return;
	}
	gw_reply_json(req, 201, j);
}

void
gw_handle_exp_list(gw_server *srv, gw_req *req)
{
	static const char sql[] = "select " EXP_JSON_SQL ", x.status = 'running' "
	                          "from experiments x order by x.experiment_id desc";
	json_error_t jerr;
	int rv;
	PGresult *res = gw_db_query(srv->s_db, sql, 0, NULL, &rv);
	if (res == NULL || rs_pg_check(NULL, res, PGRES_TUPLES_OK, "gw.experiments.list") != 0) {
		PQclear(res);
		reply_db_down(req);
		return;
	}
	json_t *list = json_array(), *running = json_null();
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *j = json_loads(PQgetvalue(res, i, 0), 0, &jerr);
		if (j == NULL)
			continue;
		exp_add_serving(srv->s_experiments, j);
		if (strcmp(PQgetvalue(res, i, 1), "t") == 0) {
			json_decref(running);
			running = json_incref(json_object_get(j, "id"));
		}
		json_array_append_new(list, j);
	}
	PQclear(res);
	gw_reply_json(req, 200,
	              json_pack("{s:o,s:o,s:s}", "experiments", list, "running", running,
	                        "request_id", req->r_request_id));
}

void
gw_handle_exp_get(gw_server *srv, gw_req *req)
{
	char id[24];
	int rv;
	if (!exp_id_param(req, id, sizeof(id)))
		return;
	json_t *j = exp_fetch(srv, id, &rv);
	if (j == NULL && rv == RS_ENOTFOUND)
		gw_reply_error(req, 404, "not_found", "no experiment %s", id);
	else if (j == NULL)
		reply_db_down(req);
	else
		gw_reply_json(req, 200, j);
}

/* start / stop: one conditional update; 0 rows -> 404 or 409 (from the row as it is). */
static void
exp_transition(gw_server *srv, gw_req *req, int start)
{
	static const char start_sql[] =
	        "update experiments set status = 'running', started_at = now() "
	        "where experiment_id = $1::bigint and status = 'draft' returning 1";
	static const char stop_sql[] =
	        "update experiments set status = 'stopped', stopped_at = now() "
	        "where experiment_id = $1::bigint and status = 'running' returning 1";
	char id[24];
	int rv;
	if (!exp_id_param(req, id, sizeof(id)))
		return;
	PGresult *res = gw_db_query(srv->s_db, start ? start_sql : stop_sql, 1,
	                            (const char *const[]){id}, &rv);
	if (res == NULL) {
		reply_db_down(req);
		return;
	}
	const char *state = rs_pg_sqlstate(res);
	if (state != NULL && strcmp(state, EXP_PG_UNIQUE) == 0) {
		PQclear(res);
		gw_reply_error(
		        req, 409, "conflict",
		        "another experiment is running: experiments may not overlap (stop it "
		        "first); nothing was changed");
		return;
	}
	if (rs_pg_check(NULL, res, PGRES_TUPLES_OK, "gw.experiments.transition") != 0) {
		PQclear(res);
		reply_db_down(req);
		return;
	}
	int changed = PQntuples(res) == 1;
	PQclear(res);
	json_t *j = exp_fetch(srv, id, &rv);
	if (j == NULL && rv == RS_ENOTFOUND) {
		gw_reply_error(req, 404, "not_found", "no experiment %s", id);
		return;
	}
	if (j == NULL) {
		reply_db_down(req);
		return;
	}
	const char *status = json_string_value(json_object_get(j, "status"));
	if (!changed && strcmp(status, start ? "running" : "stopped") == 0) {
		gw_reply_json(req, 200, j); /* already so: nothing to do (idempotent) */
		return;
	}
	if (!changed) {
		gw_reply_error(req, 409, "conflict", "experiment %s is %s: only a %s one can be %s",
		               id, status, start ? "draft" : "running",
		               start ? "started" : "stopped");
		json_decref(j);
		return;
	}
	gw_experiments_reload(srv->s_experiments); /* this gateway assigns from now on */
	rs_log_info("gw.experiment_transition", "req=%s id=%s status=%s by=%s", req->r_request_id,
	            id, start ? "running" : "stopped", req->r_who.p_name);
	gw_reply_json(req, 200, j);
}

void
gw_handle_exp_start(gw_server *srv, gw_req *req)
{
	exp_transition(srv, req, 1);
}

void
gw_handle_exp_stop(gw_server *srv, gw_req *req)
{
	exp_transition(srv, req, 0);
}
