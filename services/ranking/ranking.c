/* rs-ranking state: scorer, catalog and the catalog reload thread. */
#include "ranking.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rs_err.h"
#include "rs_log.h"
#include "rs_pg.h"
#include "rs_time.h"

static const char catalog_sql[] = "select item_id, title, category from items";

rank_scorer *
rank_current_scorer(rank_state *st)
{
	pthread_mutex_lock(&st->rs_cat_mu);
	rank_scorer *s = rank_scorer_ref(st->rs_scorer);
	pthread_mutex_unlock(&st->rs_cat_mu);
	return s;
}

void
rank_set_scorer(rank_state *st, rank_scorer *s)
{
	pthread_mutex_lock(&st->rs_cat_mu);
	rank_scorer *old = st->rs_scorer;
	st->rs_scorer = s;
	pthread_mutex_unlock(&st->rs_cat_mu);
	rs_log_info("ranking.scorer_swapped", "from=%s to=%s", old != NULL ? old->version : "",
	            s->version);
	rank_scorer_unref(old);
}

rank_catalog *
rank_current_catalog(rank_state *st)
{
	pthread_mutex_lock(&st->rs_cat_mu);
	rank_catalog *c = rank_catalog_ref(st->rs_catalog);
	pthread_mutex_unlock(&st->rs_cat_mu);
	return c;
}

static int
refresh_connect(rank_state *st)
{
	char sql[64];
	int rv;

	if (st->rs_pg != NULL && PQstatus(st->rs_pg) == CONNECTION_OK)
		return 0;
	if (st->rs_pg != NULL) {
		PQfinish(st->rs_pg);
		st->rs_pg = NULL;
	}
	if ((rv = rs_pg_connect(st->rs_dsn, &st->rs_pg)) != 0)
		return rv;
	snprintf(sql, sizeof(sql), "set statement_timeout = %d", st->rs_cfg.pg_timeout_ms);
	if ((rv = rs_pg_exec(st->rs_pg, sql, 0, NULL, PGRES_COMMAND_OK, "ranking.set_timeout")) !=
	    0) {
		PQfinish(st->rs_pg);
		st->rs_pg = NULL;
	}
	return rv;
}

static int
refresh_locked(rank_state *st)
{
	PGresult *res;
	rank_catalog *cat = NULL;
	int rv;

	if ((rv = refresh_connect(st)) != 0)
		return rv;
	res = PQexecParams(st->rs_pg, catalog_sql, 0, NULL, NULL, NULL, NULL, 0);
	if ((rv = rs_pg_check(st->rs_pg, res, PGRES_TUPLES_OK, "ranking.catalog")) != 0) {
		PQclear(res);
		return rv;
	}
	size_t n = (size_t) PQntuples(res);
	int64_t *ids = malloc((n ? n : 1) * sizeof(*ids));
	const char **titles = malloc((n ? n : 1) * sizeof(*titles));
	const char **cats = malloc((n ? n : 1) * sizeof(*cats));
	rv = RS_ENOMEM;
	if (ids != NULL && titles != NULL && cats != NULL) {
		for (size_t i = 0; i < n; i++) {
			ids[i] = strtoll(PQgetvalue(res, (int) i, 0), NULL, 10);
			titles[i] = PQgetvalue(res, (int) i, 1);
			cats[i] = PQgetvalue(res, (int) i, 2);
		}
		rv = rank_catalog_create(ids, titles, cats, n, &cat);
	}
	free(ids);
	free(titles);
	free(cats);
	PQclear(res);
	if (rv != 0)
		return rv;
	rs_metric_set(st->rs_catalog_items, (double) cat->n);
	pthread_mutex_lock(&st->rs_cat_mu);
	rank_catalog *old = st->rs_catalog;
	st->rs_catalog = cat;
	pthread_mutex_unlock(&st->rs_cat_mu);
	if (old == NULL || old->n != cat->n)
		rs_log_info("ranking.catalog_loaded", "items=%zu", cat->n);
	rank_catalog_unref(old);
	return 0;
}

int
rank_refresh_catalog(rank_state *st)
{
	pthread_mutex_lock(&st->rs_refresh_mu);
	int rv = refresh_locked(st);
	pthread_mutex_unlock(&st->rs_refresh_mu);
	atomic_store(&st->rs_pg_ok, rv == 0 || rv == RS_ENOMEM);
	return rv;
}

static void *
rank_background(void *arg)
{
	rank_state *st = arg;
	int failures = 0;

	while (!atomic_load(&st->rs_stop)) {
		int rv = rank_refresh_catalog(st);
		if (rv != 0 && failures++ % 30 == 0)
			rs_log_warn("ranking.catalog_failed", "err=\"%s\" failures=%d",
			            rs_strerror(rv), failures);
		if (rv == 0)
			failures = 0;
		double until = rs_mono_ms() + st->rs_cfg.refresh_ms;
		while (!atomic_load(&st->rs_stop) && rs_mono_ms() < until)
			rs_sleep_ms(20);
	}
	return NULL;
}

/* The scorer of version m (NULL: none active): its learned ranker when it has one we can
 * serve, else the linear scorer reporting m's version. owned: the scorer becomes m's aux (its
 * ranker only borrows m). Returns 0 with the learned ranker, else why not (the linear scorer
 * is in *out), or RS_ENOMEM (*out NULL). */
static int
rank_build_scorer(rank_state *st, rs_model *m, int owned, rank_scorer **out)
{
	rank_scorer *s = NULL;
	rank_ranker *r = NULL;
	char err[512] = "";
	int rv = RS_ENOTFOUND;

	*out = NULL;
	if (m != NULL) {
		double t0 = rs_mono_ms();
		rv = owned ? rank_ranker_open_borrowed(m, st->rs_cfg.workers, &r, err, sizeof(err))
		           : rank_ranker_open(m, st->rs_cfg.workers, &r, err, sizeof(err));
		if (rv == 0 && (rv = rank_scorer_xgb_create(r, rs_model_version(m), &s)) != 0)
			rank_ranker_destroy(r);
		if (rv == 0)
			rs_log_info("ranking.ranker_loaded",
			            "version=%s features=%d boosters=%d predictor=%s ms=%.1f%s",
			            rs_model_version(m), rank_ranker_nfeat(r), st->rs_cfg.workers,
			            rank_ranker_uses_forest(r) ? "forest" : "xgboost",
			            rs_mono_ms() - t0, owned ? " for=named_requests" : "");
	}
	if (rv != 0) {
		if (m != NULL) {
			rs_log_warn("ranking.ranker_fallback",
			            "version=%s scorer=linear err=\"%s\"", rs_model_version(m),
			            err[0] ? err : rs_strerror(rv));
			rs_metric_add(st->rs_ranker_fallbacks, 1);
		}
		if (rank_scorer_linear_create(NULL, m != NULL ? rs_model_version(m) : NULL, &s) !=
		    0) {
			rs_log_error("ranking.scorer_failed", "err=\"%s\"", rs_strerror(RS_ENOMEM));
			return RS_ENOMEM;
		}
	}
	*out = s;
	return s->ranker != NULL ? 0 : rv;
}

/* A new active version (called from the watch thread, so loading never delays a request):
 * its learned ranker when it has one we can serve, else the linear scorer reporting it. The
 * old scorer serves until the swap and is destroyed after its last request. */
int
rank_use_version(rank_state *st, rs_model *m)
{
	rank_scorer *s;
	int rv = rank_build_scorer(st, m, 0, &s);

	if (s == NULL)
		return RS_ENOMEM;
	rs_metric_set(st->rs_ranker_active, s->ranker != NULL ? 1 : 0);
	rank_set_scorer(st, s);
	return rv;
}

/* ---- versions named by requests (the watch's cache) ---- */

/* A named version's scorer, built by the first request that needs it. */
typedef struct rank_vaux {
	pthread_mutex_t mu;
	rank_scorer *s; /* NULL until built */
} rank_vaux;

static void
rank_vaux_free(void *p)
{
	rank_vaux *v = p;
	if (v == NULL)
		return;
	rank_scorer_unref(v->s); /* its ranker borrowed the version, which is closing now */
	pthread_mutex_destroy(&v->mu);
	free(v);
}

/* The watch's prepare callback, for the active version and every cached one: only the empty
 * holder. The active version's scorer is built by the swap (rank_use_version), a named
 * version's on its first request (rank_version_scorer), so no version loads its boosters
 * twice. */
static int
rank_version_prepare(void *ud, rs_model *m)
{
	rank_vaux *v = calloc(1, sizeof(*v));
	(void) ud;
	if (v == NULL)
		return RS_ENOMEM;
	pthread_mutex_init(&v->mu, NULL);
	rs_model_set_aux(m, v, rank_vaux_free);
	return 0;
}

rank_scorer *
rank_version_scorer(rank_state *st, rs_model *m)
{
	rank_vaux *v = rs_model_aux(m);
	rank_scorer *s = NULL;

	if (v == NULL) /* opened without the prepare callback (tests): a scorer of its own */
		return rank_build_scorer(st, m, 0, &s) == RS_ENOMEM ? NULL : s;
	pthread_mutex_lock(&v->mu); /* one build; requests for the same version wait for it */
	if (v->s == NULL)
		(void) rank_build_scorer(st, m, 1, &v->s);
	s = rank_scorer_ref(v->s);
	pthread_mutex_unlock(&v->mu);
	return s;
}

static void
rank_model_swapped(void *ud, rs_model *m)
{
	(void) rank_use_version(ud, m);
	/* A version that requests named before it was activated (the watch moves it out of its
	 * cache) may hold a scorer of its own: the active scorer serves those requests now. */
	rank_vaux *v = m != NULL ? rs_model_aux(m) : NULL;
	if (v != NULL) {
		pthread_mutex_lock(&v->mu);
		rank_scorer *old = v->s;
		v->s = NULL;
		pthread_mutex_unlock(&v->mu);
		rank_scorer_unref(old); /* requests still using it hold m: its ranker stays valid */
	}
}

int
rank_model_check(rank_state *st)
{
	return rs_model_watch_check(st->rs_watch);
}

int
rank_open(rank_state **out, const rank_config *cfg)
{
	rank_state *st;
	int rv;

	if (cfg->pg_dsn == NULL || cfg->default_k < 1 || cfg->default_k > RANK_MAX_K ||
	    cfg->refresh_ms < 1)
		return RS_EINVAL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return RS_ENOMEM;
	st->rs_cfg = *cfg;
	st->rs_started_ms = rs_mono_ms();
	pthread_mutex_init(&st->rs_cat_mu, NULL);
	pthread_mutex_init(&st->rs_refresh_mu, NULL);
	atomic_init(&st->rs_stop, 0);
	atomic_init(&st->rs_pg_ok, 0);
	st->rs_catalog_items = rs_metrics_gauge("rs_ranking_catalog_items",
	                                        "Items with titles known to ranking", NULL);
	st->rs_missing_sources = rs_metrics_counter(
	        "rs_ranking_missing_sources_total",
	        "Ranker sources no candidate of a request carried (scored as 0)", NULL);
	st->rs_xgb_ms = rs_metrics_histogram("rs_ranking_score_ms", "Scoring time per request",
	                                     "scorer=\"xgboost\"");
	st->rs_linear_ms = rs_metrics_histogram("rs_ranking_score_ms", "Scoring time per request",
	                                        "scorer=\"linear\"");
	st->rs_ranker_active = rs_metrics_gauge(
	        "rs_ranking_ranker_active", "1 while the learned ranker serves, 0 linear", NULL);
	st->rs_ranker_fallbacks = rs_metrics_counter(
	        "rs_ranking_ranker_fallbacks_total",
	        "Model versions served by the linear scorer (no ranker or serving data)", NULL);
	/* A connect attempt must not hang on an unreachable host (keyword DSNs only). */
	size_t n = strlen(cfg->pg_dsn) + 32;
	if ((st->rs_dsn = malloc(n)) == NULL) {
		rv = RS_ENOMEM;
		goto fail;
	}
	if (strstr(cfg->pg_dsn, "connect_timeout") == NULL && strstr(cfg->pg_dsn, "://") == NULL)
		snprintf(st->rs_dsn, n, "%s connect_timeout=2", cfg->pg_dsn);
	else
		snprintf(st->rs_dsn, n, "%s", cfg->pg_dsn);
	if ((rv = rank_scorer_linear_create(NULL, NULL, &st->rs_scorer)) != 0)
		goto fail;
	rs_model_watch_config wc = {
	        .pg_dsn = cfg->pg_dsn,
	        .model_dir = cfg->model_dir != NULL ? cfg->model_dir : "",
	        .poll_ms = cfg->model_poll_ms,
	        .svc = "ranking",
	        .prepare = rank_version_prepare,
	        .swapped = rank_model_swapped,
	        .ud = st,
	        .cache_size = cfg->model_cache,
	};
	if ((rv = rs_model_slot_create(&st->rs_slot)) != 0 ||
	    (rv = rs_model_watch_start(&st->rs_watch, &wc, st->rs_slot)) != 0)
		goto fail;
	if (pthread_create(&st->rs_thread, NULL, rank_background, st) != 0) {
		rv = RS_ENOMEM;
		goto fail;
	}
	st->rs_thread_started = 1;
	*out = st;
	return 0;
fail:
	rank_close(st);
	return rv;
}

void
rank_close(rank_state *st)
{
	if (st == NULL)
		return;
	atomic_store(&st->rs_stop, 1);
	if (st->rs_thread_started)
		pthread_join(st->rs_thread, NULL);
	rs_model_watch_stop(st->rs_watch);
	rs_model_slot_destroy(st->rs_slot);
	rank_catalog_unref(st->rs_catalog);
	rank_scorer_unref(st->rs_scorer);
	if (st->rs_pg != NULL)
		PQfinish(st->rs_pg);
	pthread_mutex_destroy(&st->rs_cat_mu);
	pthread_mutex_destroy(&st->rs_refresh_mu);
	free(st->rs_dsn);
	free(st);
}
