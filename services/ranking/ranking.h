/* rs-ranking: second-stage scoring with reasons (METHOD_RANK).
 *
 * Handlers (handler.c) compute features (featurize.h) for the candidates, score them with the
 * current scorer (scorer.h) and explain each pick (reasons.h). Item titles and categories for
 * the reasons come from a catalog (catalog.h) that a background thread reloads from PostgreSQL;
 * the database is never on the request path. Only main.c and tests include this header. */
#ifndef RANKING_H
#define RANKING_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>

#include "catalog.h"
#include "featurize.h"
#include "labels.h"
#include "reasons.h"
#include "rs_model.h"
#include "rs_log.h"
#include "rs_metrics.h"
#include "rs_rpc.h"
#include "scorer.h"

#define RANK_MAX_K          1000 /* a request asking for more is invalid */
#define RANK_MAX_CANDIDATES 10000
#define RANK_MAX_HISTORY    10000

typedef struct rank_config {
	const char *pg_dsn;
	const char *url;          /* RS_RANKING_URL */
	const char *metrics_addr; /* RS_RANKING_METRICS_ADDR: /metrics listener */
	int workers;
	int max_conns; /* RS_RANKING_MAX_CONNS: RPC connections served at once */
	rs_log_level log_level;
	int rpc_transport;     /* rs_rpc_transport */
	int default_k;         /* items returned when the request says k = 0 */
	int refresh_ms;        /* catalog reload period */
	int pg_timeout_ms;     /* statement_timeout of the catalog query */
	const char *model_dir; /* RS_MODEL_DIR: relative model_versions.path resolves here */
	int model_poll_ms;     /* check of the active version; 0 = only rank_model_check */
	int model_cache;       /* other versions kept open for requests that name one */
} rank_config;

typedef struct rank_state {
	rank_config rs_cfg;
	rank_scorer *rs_scorer;        /* reference-counted, swapped on a new model version */
	pthread_mutex_t rs_cat_mu;     /* guards the rs_catalog pointer */
	rank_catalog *rs_catalog;      /* NULL until the first load */
	pthread_mutex_t rs_refresh_mu; /* one reload at a time; guards rs_pg */
	PGconn *rs_pg;
	char *rs_dsn;
	pthread_t rs_thread;
	int rs_thread_started;
	atomic_int rs_stop;
	atomic_int rs_pg_ok;
	double rs_started_ms;
	rs_model_slot *rs_slot;   /* the active model version */
	rs_model_watch *rs_watch; /* follows model_versions; a swap installs a scorer for it */
	rs_metric *rs_catalog_items;
	rs_metric
	        *rs_missing_sources; /* model sources absent from a request (counted per source) */
	rs_metric *rs_xgb_ms, *rs_linear_ms; /* scoring time per request (rows + predict) */
	rs_metric *rs_ranker_active;         /* 1 while the learned ranker serves, 0 = linear */
	rs_metric *rs_ranker_fallbacks;      /* versions served by the linear scorer */
} rank_state;

/* rank_open: scorer, state and the catalog thread (first load at once, in the background; a
 * database that is down is not an error: reasons then name items by id). Returns 0 and *out,
 * RS_EINVAL, RS_ENOMEM. */
int rank_open(rank_state **out, const rank_config *cfg);

/* rank_close: stop the thread, free everything (after the RPC server closed). NULL: no-op. */
void rank_close(rank_state *st);

/* rank_refresh_catalog: reload item titles and categories now (blocking). Returns 0,
 * RS_EUNAVAIL, RS_EDB, RS_ENOMEM; on error the current catalog stays. */
int rank_refresh_catalog(rank_state *st);

/* rank_current_scorer: a reference to the scorer in use; drop with rank_scorer_unref. */
rank_scorer *rank_current_scorer(rank_state *st);

/* rank_set_scorer: make s (whose reference moves to the state) the scorer of new requests;
 * requests in flight finish with the old one, which is destroyed after the last of them. */
void rank_set_scorer(rank_state *st, rank_scorer *s);

/* rank_current_catalog: a reference (NULL before the first load); drop with
 * rank_catalog_unref. */
rank_catalog *rank_current_catalog(rank_state *st);

/* rank_model_check: look for a newly activated model version now (blocking); on a change the
 * scorer is replaced: the version's learned ranker (ranker.h) when it has one with serving data
 * of a known feature layout, else the linear scorer reporting the new version (logged as
 * ranking.ranker_fallback). Returns 0 or the RS_E* of rs_model_watch_check. */
int rank_model_check(rank_state *st);

/* rank_use_version: install the scorer for version m (NULL: none active) as the watch's swap
 * does: the learned ranker when m has one we can serve, else the linear scorer reporting m's
 * version (logged as ranking.ranker_fallback, counted in rs_ranking_ranker_fallbacks_total).
 * m stays the caller's (the ranker takes its own reference). Returns 0 when the learned ranker
 * serves, else why not (RS_ENOTFOUND: no ranker or serving data, RS_EVERSION, ...; the linear
 * scorer then serves), or RS_ENOMEM (nothing changed). */
int rank_use_version(rank_state *st, rs_model *m);

/* rank_version_scorer: the scorer of version m for the requests that name it (m is the
 * caller's reference from rs_model_watch_get): built on first use and owned by m (its aux,
 * set up by the watch's prepare callback), so it closes with m; learned when m has a ranker we
 * can serve, else the linear scorer reporting m's version. Returns a scorer reference (drop it
 * with rank_scorer_unref before m), or NULL when out of memory. */
rank_scorer *rank_version_scorer(rank_state *st, rs_model *m);

/* The RPC routes (ud = rank_state *): RANK, HEALTH (ready once the scorer is loaded). */
extern const rs_rpc_route rank_routes[];

#endif
