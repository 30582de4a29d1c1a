#include "simulate.h"

#include "dio.h"
#include "opts.h"
#include "params.h"
#include "pipeline.h"
#include "sim_model.h"
#include "world.h"
#include "rs_pg.h"
#include "rs_time.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SIM_MAX_VARIANTS 4
#define SIM_MAX_K        100
#define SIM_REC_ID_MAX   128 /* the gateway's rec_ids are 32 hex digits */
#define SIM_DAY_MS       86400000LL
#define SIM_WAIT_MS      60000 /* for the day's events / the impressions to be stored */
#define SIM_RETRIES      5     /* of a degraded answer */
#define SIM_MAX_DAYS     60
#define SIM_VERSION_MAX  200 /* a model version's name (the gateway's GW_EXP_VERSION_MAX) */

typedef struct sim_variant {
	char name[33];
	const char *version; /* NULL = the popular list or a kind */
	const char *kind;    /* NAME=kind:KIND: the newest published version of KIND */
} sim_variant;

typedef struct sim_opts {
	const char *url, *dsn, *key, *key_file, *admin_token, *json_out, *name;
	const char *metric;
	long shop_users, shop_items;
	uint64_t shop_seed, seed;
	long customers;
	int days, k, keep_running;
	int retrain;            /* --retrain: publish a version per kind between days */
	const char *models_dir; /* --models-dir: where --retrain's versions go */
	sim_variant variants[SIM_MAX_VARIANTS];
	int nvariants;
} sim_opts;

typedef struct sim {
	const sim_opts *o;
	dio_world world;
	CURL *curl;
	char *buf; /* the answer being received */
	size_t len, cap;
	char key_hdr[320], admin_hdr[320];
	PGconn *pg;
	long long exp_id;
	int64_t base_ms; /* midnight (UTC) of the first simulated day */
	int tty;
	/* what was sent, per variant (the report's numbers come from the gateway) */
	long lists, imps, events, degraded;
	/* kind variants: the version the gateway serves now, and the one each day's answers
	 * named (every answer is checked against it) */
	char serving[SIM_MAX_VARIANTS][SIM_VERSION_MAX + 1];
	char day_version[SIM_MAX_DAYS][SIM_MAX_VARIANTS][SIM_VERSION_MAX + 1];
	char err[512];
} sim;

static int sim_fail(sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
sim_fail(sim *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- HTTP (libcurl, one keep-alive connection) ---- */

static size_t
sim_write_cb(char *p, size_t size, size_t n, void *ud)
{
	sim *s = ud;
	size_t add = size * n;
	if (s->len + add + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 16384;
		while (cap < s->len + add + 1)
			cap *= 2;
		char *b = realloc(s->buf, cap);
		if (b == NULL)
			return 0;
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, add);
	s->len += add;
	s->buf[s->len] = '\0';
	return add;
}

/* One request; the JSON answer into *out (may be NULL) when the status is want. 0 or -1. */
static int
sim_http(sim *s, const char *method, const char *path, const char *body, int admin, long want,
         json_t **out)
{
	char url[1024];
	struct curl_slist *h = NULL;
	long status = 0;
	json_error_t jerr;

	if (out != NULL)
		*out = NULL;
	snprintf(url, sizeof(url), "%s%s", s->o->url, path);
	s->len = 0;
	if (s->buf != NULL)
		s->buf[0] = '\0';
	h = curl_slist_append(h, admin ? s->admin_hdr : s->key_hdr);
	if (h != NULL && body != NULL)
		h = curl_slist_append(h, "Content-Type: application/json");
	if (h == NULL)
		return sim_fail(s, "out of memory");
	curl_easy_setopt(s->curl, CURLOPT_URL, url);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, "");
	} else {
		curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(s->curl, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, NULL);
	}
	CURLcode rc = curl_easy_perform(s->curl);
	curl_slist_free_all(h);
	if (rc != CURLE_OK)
		return sim_fail(s, "%s %s: %s", method, url, curl_easy_strerror(rc));
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != want)
		return sim_fail(s, "%s %s: HTTP %ld: %.300s", method, path, status,
		                s->buf != NULL ? s->buf : "");
	if (out != NULL) {
		*out = json_loadb(s->buf != NULL ? s->buf : "", s->len, 0, &jerr);
		if (*out == NULL)
			return sim_fail(s, "%s %s: answer is not JSON: %s", method, path,
			                jerr.text);
	}
	return 0;
}

/* ---- PostgreSQL: the start's time, and waiting for the stored rows ---- */

static int
sim_sql_long(sim *s, const char *sql, int nparams, const char *const *params, long long *out)
{
	PGresult *res = PQexecParams(s->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	int ok = rs_pg_result(s->pg, res, PGRES_TUPLES_OK) == 0 && PQntuples(res) == 1;
	if (ok)
		*out = PQgetisnull(res, 0, 0) ? 0 : atoll(PQgetvalue(res, 0, 0));
	else
		sim_fail(s, "PostgreSQL: %s", PQerrorMessage(s->pg));
	PQclear(res);
	return ok ? 0 : -1;
}

/* Waits until sql (one count) reaches want. */
static int
sim_wait_count(sim *s, const char *what, const char *sql, const char *param, long long want)
{
	long long n = -1;
	for (int waited = 0; waited <= SIM_WAIT_MS; waited += 50) {
		if (sim_sql_long(s, sql, 1, &param, &n) != 0)
			return -1;
		if (n >= want)
			return 0;
		rs_sleep_ms(50);
	}
	return sim_fail(s, "%s: %lld of %lld stored after %d s", what, n, want, SIM_WAIT_MS / 1000);
}

/* Waits until rs-feature holds customer u's (0-based) last event at ts (the customer's
 * history shows it), so the next day's list sees the whole day. */
static int
sim_wait_features(sim *s, long u, int64_t ts)
{
	char path[96];
	snprintf(path, sizeof(path), "/v1/users/%ld/history?limit=200", u + 1);
	for (int waited = 0; waited <= SIM_WAIT_MS; waited += 20) {
		json_t *h = NULL, *e;
		size_t i;
		int seen = 0;
		if (sim_http(s, "GET", path, NULL, 0, 200, &h) != 0)
			return -1;
		json_array_foreach(json_object_get(h, "events"), i, e) seen |=
		        json_integer_value(json_object_get(e, "ts_ms")) == ts;
		json_decref(h);
		if (seen)
			return 0;
		rs_sleep_ms(20);
	}
	return sim_fail(s,
	                "rs-feature did not show customer %ld's event at %" PRId64 " within %d s",
	                u + 1, ts, SIM_WAIT_MS / 1000);
}

/* Waits until rs-candidate's snapshot (popularity, co-visitation: rebuilt from the event store
 * every RS_CANDIDATE_REFRESH_MS) holds every stored event: the gateway's /metrics shows
 * rs_candidate_events equal to the event store's count (the default 90-day window holds the
 * shop and the simulated days). */
static int
sim_wait_candidates(sim *s)
{
	long long want = 0, have = -1;
	if (sim_sql_long(s, "select count(*) from events", 0, NULL, &want) != 0)
		return -1;
	for (int waited = 0; waited <= SIM_WAIT_MS; waited += 50) {
		if (sim_http(s, "GET", "/metrics", NULL, 1, 200, NULL) != 0)
			return -1;
		for (const char *l = s->buf; l != NULL && *l;
		     l = strchr(l, '\n'), l = l ? l + 1 : l)
			if (strncmp(l, "rs_candidate_events", 19) == 0 &&
			    (l[19] == ' ' || l[19] == '{')) {
				const char *sp = strchr(l, ' ');
				have = sp != NULL ? (long long) strtod(sp + 1, NULL) : -1;
			}
		if (have == want)
			break;
		rs_sleep_ms(50);
	}
	if (have != want)
		return sim_fail(s,
		                "rs-candidate's snapshot holds %lld events, the store %lld, "
		                "after %d s",
		                have, want, SIM_WAIT_MS / 1000);
	/* and the gateway's cached popular list (the popular variant's) refreshed since */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int waited = 0; waited <= SIM_WAIT_MS; waited += 50) {
		json_t *pop = NULL;
		if (sim_http(s, "GET", "/v1/popular?k=1", NULL, 0, 200, &pop) != 0)
			return -1;
		json_int_t age = json_integer_value(json_object_get(pop, "age_ms"));
		json_decref(pop);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double since = (double) (t1.tv_sec - t0.tv_sec) * 1e3 +
		               (double) (t1.tv_nsec - t0.tv_nsec) / 1e6;
		if ((double) age < since)
			return 0;
		rs_sleep_ms(50);
	}
	return sim_fail(s, "the gateway's popular list was not refreshed within %d s",
	                SIM_WAIT_MS / 1000);
}

/* ---- the experiment ---- */

static int
sim_create_experiment(sim *s)
{
	const sim_opts *o = s->o;
	json_t *vars = json_array(), *e = NULL;
	char salt[64], name[101], path[96];
	for (int i = 0; i < o->nvariants; i++) {
		json_t *v = json_pack("{s:s,s:f}", "name", o->variants[i].name, "share",
		                      1.0 / o->nvariants);
		if (o->variants[i].version != NULL)
			json_object_set_new(v, "model_version",
			                    json_string(o->variants[i].version));
		else if (o->variants[i].kind != NULL)
			json_object_set_new(v, "model_kind", json_string(o->variants[i].kind));
		else
			json_object_set_new(v, "strategy", json_string("popular"));
		json_array_append_new(vars, v);
	}
	snprintf(salt, sizeof(salt), "rs-train-simulate-%" PRIu64 "-%" PRIu64, o->seed,
	         o->shop_seed);
	if (o->name != NULL)
		snprintf(name, sizeof(name), "%s", o->name);
	else
		snprintf(name, sizeof(name), "simulation, seed %" PRIu64 ", %d days", o->seed,
		         o->days);
	json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:o}", "name", name, "hypothesis",
	                         "rs-train simulate: the generated shop's hidden tastes decide",
	                         "primary_metric", o->metric, "salt", salt, "variants", vars);
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL)
		return sim_fail(s, "out of memory");
	int rv = sim_http(s, "POST", "/v1/admin/experiments", text, 1, 201, &e);
	free(text);
	if (rv != 0)
		return -1;
	s->exp_id = json_integer_value(json_object_get(e, "id"));
	json_decref(e);
	if (s->exp_id <= 0)
		return sim_fail(s, "the created experiment has no id");
	snprintf(path, sizeof(path), "/v1/admin/experiments/%lld/start", s->exp_id);
	if (sim_http(s, "POST", path, NULL, 1, 200, NULL) != 0)
		return -1;
	/* The admin route starts it now; the simulated days are in the past, so the start moves
	 * to the first simulated midnight (the only write through the DSN). */
	char id[32], ms[32];
	snprintf(id, sizeof(id), "%lld", s->exp_id);
	snprintf(ms, sizeof(ms), "%" PRId64, s->base_ms);
	const char *p[2] = {id, ms};
	PGresult *res = PQexecParams(s->pg,
	                             "update experiments set started_at = to_timestamp($2::bigint "
	                             "/ 1000.0) where experiment_id = $1 and status = 'running'",
	                             2, NULL, p, NULL, NULL, 0);
	int ok = rs_pg_result(s->pg, res, PGRES_COMMAND_OK) == 0 &&
	         strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	return ok ? 0
	          : sim_fail(s, "could not set the experiment's start: %s", PQerrorMessage(s->pg));
}

/* ---- model kinds and --retrain ---- */

/* The version variant i must be answered by: its fixed one, for a kind the one the gateway
 * serves now (sim_wait_serving), NULL for the popular list. */
static const char *
sim_expected(const sim *s, int i)
{
	const sim_variant *v = &s->o->variants[i];
	return v->version != NULL ? v->version : v->kind != NULL ? s->serving[i] : NULL;
}

static int
sim_has_kinds(const sim_opts *o)
{
	for (int i = 0; i < o->nvariants; i++)
		if (o->variants[i].kind != NULL)
			return 1;
	return 0;
}

/* Waits until the gateway serves every kind variant i with want[i] (NULL: any version), as
 * GET /v1/admin/experiments/{id} says (serving_version: its in-memory copy, refreshed every
 * RS_GATEWAY_EXPERIMENTS_REFRESH_MS); the versions into s->serving. */
static int
sim_wait_serving(sim *s, const char *const *want)
{
	const sim_opts *o = s->o;
	char path[96];
	snprintf(path, sizeof(path), "/v1/admin/experiments/%lld", s->exp_id);
	for (int waited = 0; waited <= SIM_WAIT_MS; waited += 50) {
		json_t *e = NULL;
		int ready = 1;
		if (sim_http(s, "GET", path, NULL, 1, 200, &e) != 0)
			return -1;
		json_t *vs = json_object_get(e, "variants");
		for (int i = 0; i < o->nvariants; i++) {
			if (o->variants[i].kind == NULL)
				continue;
			const char *sv = json_string_value(
			        json_object_get(json_array_get(vs, (size_t) i), "serving_version"));
			if (sv == NULL ||
			    (want != NULL && want[i] != NULL && strcmp(sv, want[i]) != 0))
				ready = 0;
			else
				snprintf(s->serving[i], sizeof(s->serving[i]), "%s", sv);
		}
		json_decref(e);
		if (ready)
			return 0;
		rs_sleep_ms(50);
	}
	return sim_fail(s, "the gateway did not serve the experiment's new versions within %d s",
	                SIM_WAIT_MS / 1000);
}

/* --retrain after day d (0-based): one `rs-train pipeline --quick --models KIND
 * --no-activate` (in process: tr_pipeline_run) per kind the experiment follows, on the event
 * store as it stands (the days so far included), then a wait until the gateway serves them. */
static int
sim_retrain(sim *s, int d)
{
	const sim_opts *o = s->o;
	char published[SIM_MAX_VARIANTS][64];
	const char *want[SIM_MAX_VARIANTS] = {0};
	for (int i = 0; i < o->nvariants; i++) {
		const char *kind = o->variants[i].kind;
		if (kind == NULL)
			continue;
		for (int j = 0; j < i && want[i] == NULL; j++) /* a kind trains once */
			if (o->variants[j].kind != NULL && strcmp(o->variants[j].kind, kind) == 0)
				want[i] = want[j];
		if (want[i] != NULL)
			continue;
		tr_pipeline_opts po;
		tr_pipeline_result res;
		tr_error err;
		tr_pipeline_opts_defaults(&po);
		po.dsn = o->dsn;
		po.models_dir = o->models_dir;
		po.models = kind;
		po.tune = 0;         /* --quick */
		po.base.cand_n = 50; /* --quick's two-stage candidates */
		po.activate = 0;     /* the active version stays as it was */
		po.out = NULL;
		if (tr_pipeline_run(&po, &res, &err) != 0)
			return sim_fail(s, "retraining %s after day %d: %s", kind, d + 1, err.msg);
		if (strcmp(res.model, kind) != 0)
			return sim_fail(s, "retraining %s after day %d published a %s model", kind,
			                d + 1, res.model);
		snprintf(published[i], sizeof(published[i]), "%s", res.version);
		want[i] = published[i];
		fprintf(stderr,
		        "%srs-train simulate: retrained after day %d: %s -> %s (NDCG@20 %.4f on "
		        "the pipeline's test split, %.1f s; active still %s)\n",
		        s->tty ? "\n" : "", d + 1, kind, res.version, res.ndcg, res.seconds,
		        res.previous[0] ? res.previous : "none");
	}
	return sim_wait_serving(s, want);
}

/* ---- one visit ---- */

typedef struct sim_day_stats {
	long visits, clicks, carts, orders;
} sim_day_stats;

/* The list a customer was shown today. */
typedef struct sim_shown {
	long items[SIM_MAX_K]; /* 0-based item indexes */
	size_t n;
	int64_t t, last_ts; /* the visit; the customer's last event (0 = none yet) */
	char rec_id[SIM_REC_ID_MAX + 1], variant[33];
} sim_shown;

static void
sim_ev(json_t *evs, const char *id, long user, json_int_t item, const char *type, int64_t ts,
       const char *rec_id, const char *variant, int pos, double price)
{
	json_t *e = json_pack("{s:s,s:I,s:I,s:s,s:I,s:s,s:i}", "event_id", id, "user_id",
	                      (json_int_t) user, "item_id", item, "type", type, "ts",
	                      (json_int_t) ts, "rec_id", rec_id, "position", pos);
	if (variant != NULL)
		json_object_set_new(e, "variant", json_string(variant));
	if (price > 0)
		json_object_set_new(e, "price", json_real(price));
	json_array_append_new(evs, e);
}

/* Customer u (0-based) visits at t: the list (the gateway records it as served). */
static int
sim_fetch(sim *s, long u, int64_t t, sim_shown *sh)
{
	const sim_opts *o = s->o;
	char path[128];
	json_t *rec = NULL;
	int rv = -1;

	snprintf(path, sizeof(path), "/v1/users/%ld/recommendations?k=%d", u + 1, o->k);
	/* a degraded answer (a service late or down) is not the variant's list: asked again */
	for (int attempt = 0;; attempt++) {
		if (sim_http(s, "GET", path, NULL, 0, 200, &rec) != 0)
			return -1;
		if (!json_is_true(json_object_get(rec, "degraded")) || attempt == SIM_RETRIES)
			break;
		s->degraded++;
		json_decref(rec);
		rec = NULL;
		rs_sleep_ms(100 << attempt);
	}
	if (json_is_true(json_object_get(rec, "degraded"))) {
		sim_fail(s, "customer %ld: degraded answers %d times: %s", u + 1, SIM_RETRIES + 1,
		         json_string_value(json_object_get(rec, "degraded_reason")));
		goto out;
	}
	const char *rec_id = json_string_value(json_object_get(rec, "rec_id"));
	const char *variant = json_string_value(json_object_get(rec, "variant"));
	const char *mv = json_string_value(json_object_get(rec, "model_version"));
	json_t *list = json_object_get(rec, "items");
	if (rec_id == NULL || !json_is_array(list)) {
		sim_fail(s, "customer %ld: the answer has no rec_id or items", u + 1);
		goto out;
	}
	size_t idn = strlen(rec_id);
	if (idn == 0 || idn > SIM_REC_ID_MAX ||
	    strspn(rec_id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-") !=
	            idn) {
		sim_fail(s, "customer %ld: the answer's rec_id \"%.40s\" is not an id", u + 1,
		         rec_id);
		goto out;
	}
	if (json_integer_value(json_object_get(rec, "experiment")) != s->exp_id ||
	    variant == NULL) {
		sim_fail(s, "customer %ld is not in experiment %lld (another one running?)", u + 1,
		         s->exp_id);
		goto out;
	}
	for (int i = 0; i < o->nvariants; i++)
		if (strcmp(o->variants[i].name, variant) == 0 && sim_expected(s, i) != NULL &&
		    (mv == NULL || strcmp(mv, sim_expected(s, i)) != 0)) {
			sim_fail(s, "customer %ld: variant %s answered by version %s, not %s",
			         u + 1, variant, mv != NULL ? mv : "(none)", sim_expected(s, i));
			goto out;
		}
	size_t n = json_array_size(list);
	if (n > SIM_MAX_K)
		n = SIM_MAX_K;
	sh->n = n;
	sh->t = t;
	sh->last_ts = 0;
	snprintf(sh->rec_id, sizeof(sh->rec_id), "%s", rec_id);
	snprintf(sh->variant, sizeof(sh->variant), "%s", variant);
	if (n == 0) {
		rv = 0;
		goto out;
	}
	for (size_t p = 0; p < n; p++)
		sh->items[p] = (long) json_integer_value(
		                       json_object_get(json_array_get(list, p), "item_id")) -
		               1;
	s->lists++;
	s->imps += (long) n;
	rv = 0;
out:
	json_decref(rec);
	return rv;
}

/* The day's served lists as the gateway recorded them (one impressions row each, at the real
 * time they were served): waits until all are stored, removes the experiment's degraded lists
 * (asked again, never shown to the simulated customer) and moves each list to its simulated
 * visit time. ids / ms: PostgreSQL array literals of the day's rec_ids and visit times (n). */
static int
sim_served_lists(sim *s, const char *ids, const char *ms, long n)
{
	char exp[32];
	snprintf(exp, sizeof(exp), "%lld", s->exp_id);
	if (n == 0)
		return 0;
	if (sim_wait_count(s, "the served lists",
	                   "select count(*) from impressions where rec_id = any ($1::text[])", ids,
	                   n) != 0)
		return -1;
	const char *del[1] = {exp}, *upd[2] = {ids, ms};
	PGresult *r = PQexecParams(s->pg,
	                           "delete from impressions where experiment_id = $1::bigint and "
	                           "degraded",
	                           1, NULL, del, NULL, NULL, 0);
	int ok = rs_pg_result(s->pg, r, PGRES_COMMAND_OK) == 0;
	PQclear(r);
	if (ok) {
		r = PQexecParams(s->pg,
		                 "update impressions i set ts = to_timestamp(v.ms / 1000.0) from "
		                 "unnest($1::text[], $2::bigint[]) v(rec_id, ms) "
		                 "where i.rec_id = v.rec_id",
		                 2, NULL, upd, NULL, NULL, 0);
		ok = rs_pg_result(s->pg, r, PGRES_COMMAND_OK) == 0;
		PQclear(r);
	}
	return ok ? 0 : sim_fail(s, "PostgreSQL: %s", PQerrorMessage(s->pg));
}

/* Customer u's reaction on day d to the list it was shown (r: its stream after the visit's
 * draws), posted as events. *appeal: the list's. */
static int
sim_react(sim *s, long u, int d, dio_rng *r, sim_shown *sh, double *appeal, sim_day_stats *st)
{
	const sim_opts *o = s->o;
	char eid[96];
	sim_action act[SIM_MAX_K];
	const long *items = sh->items;
	const char *rec_id = sh->rec_id, *variant = sh->variant;
	size_t n = sh->n;
	int64_t t = sh->t;
	char *text;

	st->visits++;
	*appeal = 0;
	if (n == 0)
		return 0;
	long intent = (long) dio_world_intent(&s->world, u, r);
	*appeal = sim_decide(&s->world, u, intent, items, n, r, act);
	/* the visit itself (the list's first item, always examined), then the funnel */
	json_t *evs = json_array();
	int ne = 0;
	snprintf(eid, sizeof(eid), "sim%" PRIu64 "-u%ld-d%d-%d", o->seed, u + 1, d, ne++);
	sim_ev(evs, eid, u + 1, items[0] + 1, "view", t + 1000, rec_id, variant, 1, 0);
	int64_t at = t + 2000, last_ts = t + 1000;
	for (size_t p = 0; p < n; p++) {
		const sim_action *a = &act[p];
		if (!a->clicked)
			continue;
		double price = s->world.items[items[p]].price;
		at += 15000;
		snprintf(eid, sizeof(eid), "sim%" PRIu64 "-u%ld-d%d-%d", o->seed, u + 1, d, ne++);
		sim_ev(evs, eid, u + 1, items[p] + 1, "click", at, rec_id, variant, (int) p + 1, 0);
		last_ts = at;
		st->clicks++;
		if (a->carted) {
			snprintf(eid, sizeof(eid), "sim%" PRIu64 "-u%ld-d%d-%d", o->seed, u + 1, d,
			         ne++);
			sim_ev(evs, eid, u + 1, items[p] + 1, "add_to_cart", at + 20000, rec_id,
			       variant, (int) p + 1, price);
			last_ts = at + 20000;
			st->carts++;
		}
	}
	at += 60000;
	for (size_t p = 0; p < n; p++) {
		if (!act[p].bought)
			continue;
		at += 5000;
		snprintf(eid, sizeof(eid), "sim%" PRIu64 "-u%ld-d%d-%d", o->seed, u + 1, d, ne++);
		sim_ev(evs, eid, u + 1, items[p] + 1, "purchase", at, rec_id, variant, (int) p + 1,
		       s->world.items[items[p]].price);
		last_ts = at;
		st->orders++;
	}
	json_t *eb = json_pack("{s:O}", "events", evs);
	text = json_dumps(eb, JSON_COMPACT);
	json_decref(eb);
	json_decref(evs);
	if (text == NULL || sim_http(s, "POST", "/v1/events", text, 0, 202, NULL) != 0) {
		free(text);
		return text == NULL ? sim_fail(s, "out of memory") : -1;
	}
	free(text);
	s->events += ne;
	sh->last_ts = last_ts;
	return 0;
}

static void
sim_progress(sim *s, int d, long done, long total, const sim_day_stats *st)
{
	if (s->tty) {
		int width = 30, fill = total > 0 ? (int) (width * done / total) : width;
		fprintf(stderr, "\rday %d/%d [%.*s%*s] %ld/%ld customers", d + 1, s->o->days, fill,
		        "##############################", width - fill, "", done, total);
		if (done == total)
			fprintf(stderr, "\n");
	} else if (done == total) {
		fprintf(stderr,
		        "rs-train simulate: day %d/%d: %ld visits, %ld clicks, %ld add-to-carts, "
		        "%ld orders\n",
		        d + 1, s->o->days, st->visits, st->clicks, st->carts, st->orders);
	}
}

/* ---- the report ---- */

static double
sim_num(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static void
sim_print_est(FILE *f, json_t *e, double scale, const char *unit)
{
	if (!json_is_object(e)) {
		fprintf(f, " %28s", "-");
		return;
	}
	char b[64];
	snprintf(b, sizeof(b), "%.3f%s [%.3f, %.3f]", scale * sim_num(e, "value"), unit,
	         scale * sim_num(e, "lo"), scale * sim_num(e, "hi"));
	fprintf(f, " %28s", b);
}

static const struct {
	const char *key, *label, *unit;
	double scale;
} SIM_KPIS[] = {
        {"ctr", "CTR", "%", 100},
        {"conversion", "conversion", "%", 100},
        {"gmv_per_customer", "GMV/customer", "", 1},
        {"retention_d1", "retention d1", "%", 100},
};
#define SIM_NKPIS (sizeof(SIM_KPIS) / sizeof(SIM_KPIS[0]))

static void
sim_print_report(FILE *f, json_t *rep)
{
	json_t *vars = json_object_get(rep, "variants");
	size_t i;
	json_t *v;
	fprintf(f, "\nexperiment %lld \"%s\": KPIs with 95 %% intervals (the gateway's report)\n",
	        (long long) json_integer_value(
	                json_object_get(json_object_get(rep, "experiment"), "id")),
	        json_string_value(json_object_get(json_object_get(rep, "experiment"), "name")));
	fprintf(f, "%-12s %8s %8s %7s", "variant", "exposed", "lists", "orders");
	for (size_t k = 0; k < SIM_NKPIS; k++)
		fprintf(f, " %28s", SIM_KPIS[k].label);
	fprintf(f, "\n");
	json_array_foreach(vars, i, v)
	{
		json_t *t = json_object_get(v, "totals");
		fprintf(f, "%-12s %8lld %8lld %7lld", json_string_value(json_object_get(v, "name")),
		        (long long) json_integer_value(json_object_get(t, "exposed")),
		        (long long) json_integer_value(json_object_get(t, "impressions")),
		        (long long) json_integer_value(json_object_get(t, "orders")));
		for (size_t k = 0; k < SIM_NKPIS; k++)
			sim_print_est(f, json_object_get(t, SIM_KPIS[k].key), SIM_KPIS[k].scale,
			              SIM_KPIS[k].unit);
		fprintf(f, "\n");
	}
	/* Lift over the control: the difference of the report's estimates, its 95 % interval
	 * sqrt(se_a^2 + se_b^2) and a two-sided z test (the report's own comparison for the
	 * primary metric follows). */
	json_t *ctl = json_object_get(json_array_get(vars, 0), "totals");
	fprintf(f,
	        "\nlift over %s (difference, 95 %% interval, two-sided z test on the report's "
	        "estimates):\n",
	        json_string_value(json_object_get(json_array_get(vars, 0), "name")));
	json_array_foreach(vars, i, v)
	{
		if (i == 0)
			continue;
		json_t *t = json_object_get(v, "totals");
		for (size_t k = 0; k < SIM_NKPIS; k++) {
			json_t *a = json_object_get(ctl, SIM_KPIS[k].key);
			json_t *b = json_object_get(t, SIM_KPIS[k].key);
			fprintf(f, "  %-12s %-14s", json_string_value(json_object_get(v, "name")),
			        SIM_KPIS[k].label);
			if (!json_is_object(a) || !json_is_object(b)) {
				fprintf(f, " undefined\n");
				continue;
			}
			double va = sim_num(a, "value"), vb = sim_num(b, "value");
			double se = sqrt(pow(sim_num(a, "se"), 2) + pow(sim_num(b, "se"), 2));
			double diff = vb - va, z = se > 0 ? diff / se : NAN;
			double p = isfinite(z) ? erfc(fabs(z) / sqrt(2.0)) : NAN;
			double sc = SIM_KPIS[k].scale;
			fprintf(f,
			        " lift %+7.1f %%  diff %+.3f%s [%+.3f, %+.3f]  z %+.2f  p %.2g  "
			        "%s\n",
			        va != 0 ? 100 * diff / va : NAN, sc * diff, SIM_KPIS[k].unit,
			        sc * (diff - 1.96 * se), sc * (diff + 1.96 * se), z, p,
			        p < 0.05 ? "significant" : "not significant");
		}
	}
	json_t *prim = json_object_get(rep, "primary");
	fprintf(f, "\nprimary metric %s (the report's test):\n",
	        json_string_value(json_object_get(prim, "metric")));
	json_array_foreach(json_object_get(prim, "comparisons"), i, v)
	{
		fprintf(f, "  %-12s lift %+.1f %%  %s p %.2g  %s\n",
		        json_string_value(json_object_get(v, "variant")), 100 * sim_num(v, "lift"),
		        json_string_value(json_object_get(v, "test")), sim_num(v, "p_value"),
		        json_is_true(json_object_get(v, "significant")) ? "significant"
		                                                        : "not significant");
	}
	json_t *srm = json_object_get(rep, "srm");
	fprintf(f, "sample ratio: chi2 %.2f, p %.2g%s\n", sim_num(srm, "chi2"),
	        sim_num(srm, "p_value"),
	        json_is_true(json_object_get(srm, "flagged")) ? " FLAGGED" : " (not flagged)");
}

/* The report's day rows of the model variants with the version that served each day. */
static void
sim_print_days(const sim *s, FILE *f, json_t *rep)
{
	const sim_opts *o = s->o;
	fprintf(f, "\nper day (the report's day rows; the version that served the variant's lists "
	           "that day):\n");
	fprintf(f, "%-12s %-10s %-28s %8s %8s %28s %28s\n", "variant", "day", "version", "exposed",
	        "lists", "CTR", "GMV/customer");
	for (int i = 0; i < o->nvariants; i++) {
		json_t *days = NULL, *v, *dj;
		size_t j;
		json_array_foreach(json_object_get(rep, "variants"), j,
		                   v) if (strcmp(json_string_value(json_object_get(v, "name")),
		                                 o->variants[i].name) == 0) days =
		        json_object_get(v, "days");
		for (int d = 0; d < o->days; d++) {
			char day[16];
			time_t t = (time_t) (s->base_ms / 1000 + (int64_t) d * 86400);
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(day, sizeof(day), "%Y-%m-%d", &tm);
			const char *ver = o->variants[i].kind != NULL      ? s->day_version[d][i]
			                  : o->variants[i].version != NULL ? o->variants[i].version
			                                                   : "(popular list)";
			json_t *row = NULL;
			json_array_foreach(
			        days, j,
			        dj) if (strcmp(json_string_value(json_object_get(dj, "day")),
			                       day) == 0) row = dj;
			fprintf(f, "%-12s %-10s %-28s", o->variants[i].name, day, ver);
			if (row == NULL) {
				fprintf(f, " %8s\n", "-");
				continue;
			}
			fprintf(f, " %8lld %8lld",
			        (long long) json_integer_value(json_object_get(row, "exposed")),
			        (long long) json_integer_value(
			                json_object_get(row, "impressions")));
			sim_print_est(f, json_object_get(row, "ctr"), 100, "%");
			sim_print_est(f, json_object_get(row, "gmv_per_customer"), 1, "");
			fprintf(f, "\n");
		}
	}
}

/* ---- the run ---- */

/* The customers' state across days: who comes back, what each was shown, and a day's served
 * lists as "{"id",...}" and "{ms,...}" (sim_served_lists). */
typedef struct sim_days {
	long C;
	unsigned char *active;
	sim_shown *shown;
	char *served_ids, *served_ms;
} sim_days;

/* The event ids of this run start with it: "sim<seed>-" (with a % for like). */
static void
sim_event_prefix(const sim *s, char *buf, size_t n)
{
	snprintf(buf, n, "sim%" PRIu64 "-%%", s->o->seed);
}

/* The shop must be the one the world describes, and nothing may follow its history. 0 or -1
 * (s->err). */
static int
sim_check_shop(sim *s)
{
	const sim_opts *o = s->o;
	char prefix[64], id[32];
	const char *pp = prefix;
	long long n;

	if (sim_sql_long(s, "select count(*) from items", 0, NULL, &n) != 0)
		return -1;
	if (n != o->shop_items)
		return sim_fail(
		        s,
		        "the shop has %lld items, not --shop-items %ld: generate it with the "
		        "same --seed/--users/--items",
		        n, o->shop_items);
	sim_event_prefix(s, prefix, sizeof(prefix));
	if (sim_sql_long(s, "select count(*) from events where event_id like $1", 1, &pp, &n) != 0)
		return -1;
	if (n > 0)
		return sim_fail(s,
		                "this shop already holds a simulation with --seed %" PRIu64
		                " (%lld events): use a freshly generated shop",
		                o->seed, n);
	snprintf(id, sizeof(id), "%" PRId64, s->base_ms);
	pp = id;
	if (sim_sql_long(
	            s, "select count(*) from events where ts >= to_timestamp($1::bigint / 1000.0)",
	            1, &pp, &n) != 0)
		return -1;
	if (n > 0)
		return sim_fail(s,
		                "the shop has %lld events after %" PRId64
		                " (the first simulated day): generate it with --end %" PRId64,
		                n, s->base_ms / 1000, s->base_ms / 1000);
	return 0;
}

/* Day d: every active customer's list first (so no list depends on another customer's events
 * of the same day), then their reactions, then a wait until the events are stored and in
 * rs-feature. 0 or -1 (s->err). */
static int
sim_day(sim *s, sim_days *b, int d)
{
	const sim_opts *o = s->o;
	char prefix[64];
	sim_day_stats st = {0};
	long total = 0, done = 0;

	sim_event_prefix(s, prefix, sizeof(prefix));
	for (long u = 0; u < b->C; u++)
		total += b->active[u];
	/* --retrain: the days so far (waited for below) train the versions of this one */
	if (d > 0 && o->retrain && sim_retrain(s, d - 1) != 0)
		return -1;
	for (int i = 0; i < o->nvariants; i++)
		memcpy(s->day_version[d][i], s->serving[i], sizeof(s->serving[i]));
	if (sim_wait_candidates(s) != 0)
		return -1;
	long nserved = 0;
	size_t idlen = 0, mslen = 0;
	b->served_ids[idlen++] = '{';
	b->served_ms[mslen++] = '{';
	for (long u = 0; u < b->C; u++) {
		dio_rng r;
		if (!b->active[u])
			continue;
		sim_rng(&r, o->seed, u, d);
		(void) dio_rng_unif(&r); /* back */
		double when = dio_rng_unif(&r);
		int64_t t = s->base_ms + d * SIM_DAY_MS + 8 * 3600000LL +
		            (int64_t) (when * 12 * 3600000.0);
		if (sim_fetch(s, u, t, &b->shown[u]) != 0)
			return -1;
		if (b->shown[u].n > 0) {
			idlen += (size_t) snprintf(b->served_ids + idlen, SIM_REC_ID_MAX + 4,
			                           "%s\"%s\"", nserved ? "," : "",
			                           b->shown[u].rec_id);
			mslen += (size_t) snprintf(b->served_ms + mslen, 24, "%s%" PRId64,
			                           nserved ? "," : "", t);
			nserved++;
		}
		if (++done % 50 == 0)
			sim_progress(s, d, done / 2, total, &st);
	}
	for (long u = 0; u < b->C; u++) {
		dio_rng r;
		sim_rng(&r, o->seed, u, d);
		double back = dio_rng_unif(&r), appeal = 0;
		(void) dio_rng_unif(&r); /* when */
		int was = b->active[u];
		if (was) {
			if (sim_react(s, u, d, &r, &b->shown[u], &appeal, &st) != 0)
				return -1;
			if (++done % 50 == 0 || done == 2 * total)
				sim_progress(s, d, done / 2, total, &st);
		}
		b->active[u] = was ? back < sim_p_return(appeal) : back < SIM_P_REACTIVATE;
	}
	if (total == 0)
		sim_progress(s, d, 0, 0, &st);
	snprintf(b->served_ids + idlen, 2, "}");
	snprintf(b->served_ms + mslen, 2, "}");
	if (sim_served_lists(s, b->served_ids, b->served_ms, nserved) != 0)
		return -1;
	if (sim_wait_count(s, "the simulated events",
	                   "select count(*) from events where event_id like $1", prefix,
	                   s->events) != 0)
		return -1;
	for (long u = 0; u < b->C; u++)
		if (b->shown[u].last_ts > 0 && sim_wait_features(s, u, b->shown[u].last_ts) != 0)
			return -1;
	for (long u = 0; u < b->C; u++)
		b->shown[u].last_ts = 0;
	return 0;
}

/* The experiment stopped (unless --keep-running) and its report printed (and written). 0 or -1
 * (s->err). */
static int
sim_report(sim *s)
{
	const sim_opts *o = s->o;
	char id[32];
	const char *pp;

	snprintf(id, sizeof(id), "%lld", s->exp_id);
	pp = id;
	if (sim_wait_count(s, "the impressions",
	                   "select count(*) from impressions where experiment_id = $1", pp,
	                   s->lists) != 0)
		return -1;
	char path[128];
	if (!o->keep_running) {
		snprintf(path, sizeof(path), "/v1/admin/experiments/%lld/stop", s->exp_id);
		if (sim_http(s, "POST", path, NULL, 1, 200, NULL) != 0)
			return -1;
	}
	/* The simulation wrote a week of events and impressions in minutes, faster than
	 * autovacuum refreshes the planner's statistics: right after a run the report took
	 * 24-33 s; on the same data with the statistics removed 4.5-5 s, with them ~0.5 s. */
	PGresult *an = PQexec(s->pg, "analyze events, impressions");
	if (rs_pg_result(s->pg, an, PGRES_COMMAND_OK) != 0)
		fprintf(stderr, "rs-train simulate: analyze failed (the report may be slow): %s",
		        PQerrorMessage(s->pg));
	PQclear(an);
	json_t *rep = NULL;
	struct timespec r0, r1;
	snprintf(path, sizeof(path), "/v1/admin/experiments/%lld/report", s->exp_id);
	clock_gettime(CLOCK_MONOTONIC, &r0);
	if (sim_http(s, "GET", path, NULL, 1, 200, &rep) != 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &r1);
	fprintf(stderr, "rs-train simulate: the report took %.1f s\n",
	        (double) (r1.tv_sec - r0.tv_sec) + (double) (r1.tv_nsec - r0.tv_nsec) / 1e9);
	printf("simulated: %d days, %ld lists, %ld impressions, %ld events (experiment %lld)\n",
	       o->days, s->lists, s->imps, s->events, s->exp_id);
	if (s->degraded > 0)
		fprintf(stderr, "rs-train simulate: %ld degraded answers were asked again\n",
		        s->degraded);
	sim_print_report(stdout, rep);
	if (sim_has_kinds(o))
		sim_print_days(s, stdout, rep);
	if (o->json_out != NULL) {
		json_object_del(rep, "request_id");
		if (json_dump_file(rep, o->json_out, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
			json_decref(rep);
			sim_fail(s, "cannot write %s: %s", o->json_out, strerror(errno));
			return -1;
		}
	}
	json_decref(rep);
	return 0;
}

static int
sim_run(sim *s)
{
	const sim_opts *o = s->o;
	int rv = -1;
	sim_days b = {.C = o->customers > 0 ? o->customers : o->shop_users};

	b.active = calloc((size_t) b.C, 1);
	b.shown = calloc((size_t) b.C, sizeof(*b.shown));
	b.served_ids = malloc((size_t) b.C * (SIM_REC_ID_MAX + 3) + 3);
	b.served_ms = malloc((size_t) b.C * 22 + 3);
	if (b.active == NULL || b.shown == NULL || b.served_ids == NULL || b.served_ms == NULL) {
		rv = sim_fail(s, "out of memory");
		goto out;
	}
	if (sim_check_shop(s) != 0 || sim_create_experiment(s) != 0)
		goto out;
	fprintf(stderr,
	        "rs-train simulate: experiment %lld running, %d days from %" PRId64
	        " (UTC midnight), %ld customers, k %d\n",
	        s->exp_id, o->days, s->base_ms / 1000, b.C, o->k);
	if (sim_has_kinds(o) && sim_wait_serving(s, NULL) != 0)
		goto out;
	memset(b.active, 1, (size_t) b.C);
	for (int d = 0; d < o->days; d++)
		if (sim_day(s, &b, d) != 0)
			goto out;
	rv = sim_report(s);
out:
	free(b.active);
	free(b.shown);
	free(b.served_ids);
	free(b.served_ms);
	return rv;
}

/* ---- options ---- */

static const char sim_usage_text[] =
        "usage: rs-train simulate --url URL --dsn DSN --admin-token T --api-key-file F\n"
        "                         --variant NAME=popular|VERSION|kind:KIND ... [options]\n"
        "A closed-loop A/B test on the generated shop: creates and starts an experiment\n"
        "(the first --variant is the control, equal shares), then each of --days simulated\n"
        "days (the UTC days before today) every active customer asks the gateway for\n"
        "recommendations (the gateway records the list served) and clicks, adds to the cart and "
        "buys as\n"
        "the generator's hidden taste model says (position bias; a good list makes a\n"
        "return the next day likelier), through POST /v1/events with rec_id and position.\n"
        "Prints each variant's KPIs with 95 % intervals and the lift over the control\n"
        "from GET /v1/admin/experiments/{id}/report. Same --seed, same fresh shop: same\n"
        "events and numbers. A kind:KIND variant serves the newest published version of\n"
        "KIND; with --retrain, after each day but the last, every such KIND is retrained\n"
        "on the event store as it stands (rs-train pipeline --quick --models KIND\n"
        "--no-activate, into --models-dir) and the next day is served by the new versions.\n";

static int sim_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sim_usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "rs-train simulate: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (rs-train simulate --help)\n");
	return 2;
}

static int
sim_variant_parse(sim_opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (o->nvariants == SIM_MAX_VARIANTS)
		return sim_usage_error("at most %d --variant", SIM_MAX_VARIANTS);
	if (eq == NULL || eq == arg || eq[1] == '\0' || (size_t) (eq - arg) > 32)
		return sim_usage_error(
		        "--variant %s: expected NAME=popular, NAME=VERSION or NAME=kind:KIND", arg);
	sim_variant *v = &o->variants[o->nvariants];
	memcpy(v->name, arg, (size_t) (eq - arg));
	v->name[eq - arg] = '\0';
	for (const char *c = v->name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' ||
		      *c == '-'))
			return sim_usage_error("--variant %s: the name may hold a-z, 0-9, _ and -",
			                       arg);
	for (int i = 0; i < o->nvariants; i++)
		if (strcmp(o->variants[i].name, v->name) == 0)
			return sim_usage_error("--variant %s: the name is given twice", v->name);
	v->version = strcmp(eq + 1, "popular") == 0 ? NULL : eq + 1;
	v->kind = NULL;
	if (strncmp(eq + 1, "kind:", 5) == 0) {
		tr_kind kind;
		tr_error err;
		if (tr_kind_parse(eq + 6, &kind, &err) != 0)
			return sim_usage_error("--variant %s: %s", arg, err.msg);
		v->kind = tr_kind_name(kind); /* the registry's spelling (params->>'model') */
		v->version = NULL;
	}
	o->nvariants++;
	return 0;
}

static int
sim_read_key(const char *path, char *out, size_t n)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	int ok = fgets(out, (int) n, f) != NULL;
	fclose(f);
	out[strcspn(out, "\r\n")] = '\0';
	return ok && out[0] ? 0 : -1;
}

/* sim_opt_error: simulate's own wording of a bad value or an unknown option */
static int
sim_opt_error(const tr_opts_spec *s, const tr_opt *o, const char *arg)
{
	(void) s;
	if (o == NULL)
		return sim_usage_error("unknown option or missing value: %s", arg);
	if (strcmp(o->name, "days") == 0 || strcmp(o->name, "k") == 0)
		return sim_usage_error("bad value for --%s (%.0f-%.0f): %s", o->name, o->lo, o->hi,
		                       arg);
	return sim_usage_error("bad value for --%s: %s", o->name, arg);
}

static int
sim_opt_variant(const char *cmd, const tr_opt *o, const char *arg)
{
	(void) cmd;
	return sim_variant_parse(o->dst, arg) != 0 ? 2 : 0;
}

static int
sim_opt_metric(const char *cmd, const tr_opt *o, const char *arg)
{
	(void) cmd;
	if (strcmp(arg, "ctr") != 0 && strcmp(arg, "add_to_cart_rate") != 0 &&
	    strcmp(arg, "conversion") != 0 && strcmp(arg, "gmv_per_customer") != 0)
		return sim_usage_error("bad value for --metric: %s (ctr, add_to_cart_rate, "
		                       "conversion, gmv_per_customer)",
		                       arg);
	((sim_opts *) o->dst)->metric = arg;
	return 0;
}

/* sim_parse: the options into *o (defaults first); -1 to go on, else the exit code */
static int
sim_parse(int argc, char **argv, sim_opts *o)
{
	long shop_seed = 42, seed = 1, days = 7, k = 10;
	int first, rv;
	const tr_opt t[] = {
	        TR_OPT_STR("url", &o->url, "URL", "the gateway (http://host:port)"),
	        TR_OPT_STR("dsn", &o->dsn, "DSN",
	                   "the shop's PostgreSQL (checks, the start's time, waits)"),
	        TR_OPT_STR("admin-token", &o->admin_token, "T",
	                   "the gateway's RS_ADMIN_TOKEN (default: $RS_ADMIN_TOKEN)"),
	        TR_OPT_STR("api-key-file", &o->key_file, "F",
	                   "a file holding an API key (rs-gateway apikey create)"),
	        TR_OPT_STR("api-key", &o->key, "KEY", "the key itself (default: $RS_API_KEY)"),
	        TR_OPT_FN("variant", sim_opt_variant, o, "NAME=WHAT",
	                  "2-4 times: WHAT 'popular', a published model version,\n"
	                  "or kind:KIND (the newest published version of KIND,\n"
	                  "e.g. kind:two-stage)"),
	        TR_OPT_LONG("shop-seed", &shop_seed, 0, (double) LONG_MAX, "S",
	                    "the shop's `rs-train generate --seed` (default 42)"),
	        TR_OPT_LONG("shop-users", &o->shop_users, 1, 100000000, "N",
	                    "its --users (default 1000)"),
	        TR_OPT_LONG("shop-items", &o->shop_items, 1, 100000000, "M",
	                    "its --items (default 3000)"),
	        TR_OPT_LONG("customers", &o->customers, 1, 100000000, "C",
	                    "simulate customers 1..C (default: all --shop-users)"),
	        TR_OPT_LONG("days", &days, 1, SIM_MAX_DAYS, "D",
	                    "simulated days, 1-60 (default 7); the shop's history\n"
	                    "must end at the first one (generate --end)"),
	        TR_OPT_LONG("k", &k, 1, SIM_MAX_K, "K", "list length, 1-100 (default 10)"),
	        TR_OPT_LONG("seed", &seed, 0, (double) LONG_MAX, "X",
	                    "the simulation's random seed (default 1)"),
	        TR_OPT_FN("metric", sim_opt_metric, o, "M",
	                  "primary metric: ctr, add_to_cart_rate, conversion,\n"
	                  "gmv_per_customer (default)"),
	        TR_OPT_STR("name", &o->name, "TEXT", "the experiment's name"),
	        TR_OPT_STR("json", &o->json_out, "FILE",
	                   "also write the report (JSON, without request_id)"),
	        TR_OPT_FLAG("keep-running", &o->keep_running,
	                    "leave the experiment running at the end"),
	        TR_OPT_FLAG("retrain", &o->retrain,
	                    "after each day but the last, publish a version of every\n"
	                    "kind:KIND variant's kind trained on the event store as\n"
	                    "it stands (the active version stays); the next day's\n"
	                    "lists come from them"),
	        TR_OPT_STR("models-dir", &o->models_dir, "DIR",
	                   "--retrain's version folders: the services' RS_MODEL_DIR"),
	};
	const tr_opts_spec spec = {
	        "simulate", sim_usage_text, t, sizeof(t) / sizeof(t[0]), sim_opt_error, 1};

	if ((rv = tr_opts_parse(&spec, argc, argv, &first)) != -1)
		return rv;
	o->shop_seed = (uint64_t) shop_seed;
	o->seed = (uint64_t) seed;
	o->days = (int) days;
	o->k = (int) k;
	if (first < argc)
		return sim_usage_error("unexpected argument: %s", argv[first]);
	return -1;
}

int
tr_cmd_simulate(int argc, char **argv)
{
	sim_opts o = {.shop_users = 1000,
	              .shop_items = 3000,
	              .metric = "gmv_per_customer",
	              .admin_token = getenv("RS_ADMIN_TOKEN"),
	              .key = getenv("RS_API_KEY")};
	int c;

	if ((c = sim_parse(argc, argv, &o)) != -1)
		return c;
	if (o.url == NULL || o.dsn == NULL)
		return sim_usage_error("--url and --dsn are required");
	if (o.admin_token == NULL || o.admin_token[0] == '\0')
		return sim_usage_error("--admin-token (or RS_ADMIN_TOKEN) is required");
	if (o.nvariants < 2)
		return sim_usage_error(
		        "give 2-4 --variant NAME=popular|VERSION|kind:KIND (the first "
		        "is the control)");
	if (o.retrain && !sim_has_kinds(&o))
		return sim_usage_error("--retrain needs a --variant NAME=kind:KIND to retrain");
	if (o.retrain && o.models_dir == NULL)
		return sim_usage_error("--retrain needs --models-dir (the services' RS_MODEL_DIR)");
	if (!o.retrain && o.models_dir != NULL)
		return sim_usage_error("--models-dir is used only with --retrain");
	if (o.customers > o.shop_users)
		return sim_usage_error("--customers %ld is more than --shop-users %ld", o.customers,
		                       o.shop_users);

	sim s = {.o = &o, .tty = isatty(STDERR_FILENO)};
	char key[256];
	if (o.key_file != NULL) {
		if (sim_read_key(o.key_file, key, sizeof(key)) != 0)
			return sim_usage_error("--api-key-file %s: cannot read a key", o.key_file);
		o.key = key;
	}
	if (o.key == NULL || o.key[0] == '\0')
		return sim_usage_error("--api-key-file (or --api-key, RS_API_KEY) is required");
	snprintf(s.key_hdr, sizeof(s.key_hdr), "Authorization: Bearer %s", o.key);
	snprintf(s.admin_hdr, sizeof(s.admin_hdr), "Authorization: Bearer %s", o.admin_token);
	s.base_ms = ((int64_t) time(NULL) / 86400 - o.days) * SIM_DAY_MS;

	int rv = 1;
	dio_rng r;
	dio_rng_seed(&r, o.shop_seed);
	if (dio_world_build(&s.world, &r, o.shop_users, o.shop_items, 25) != 0) {
		fprintf(stderr, "rs-train simulate: out of memory\n");
		return 1;
	}
	s.pg = PQconnectdb(o.dsn);
	if (PQstatus(s.pg) != CONNECTION_OK) {
		sim_fail(&s, "cannot connect to PostgreSQL: %s", PQerrorMessage(s.pg));
		goto done;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || (s.curl = curl_easy_init()) == NULL) {
		sim_fail(&s, "cannot initialise libcurl");
		goto done;
	}
	curl_easy_setopt(s.curl, CURLOPT_WRITEFUNCTION, sim_write_cb);
	curl_easy_setopt(s.curl, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(s.curl, CURLOPT_TIMEOUT, 300L); /* the report can take a while */
	curl_easy_setopt(s.curl, CURLOPT_NOSIGNAL, 1L);
	if (sim_run(&s) == 0)
		rv = 0;
done:
	if (rv != 0)
		fprintf(stderr, "%srs-train simulate: %s\n", s.tty ? "\n" : "", s.err);
	if (s.curl != NULL) {
		curl_easy_cleanup(s.curl);
		curl_global_cleanup();
	}
	PQfinish(s.pg);
	free(s.buf);
	dio_world_free(&s.world);
	return rv;
}
