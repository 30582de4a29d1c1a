/* rs-feature: each user's recent history, served in one request (METHOD_USER_FEATURES).
 *
 * The state is a bounded per-user cache (cache.h) in front of PostgreSQL (store.h), kept current
 * by ingest's event stream (sub.h). One background thread applies stream events and maintains
 * the database connections; handlers (handler.c) never reconnect or wait past their deadline.
 * Only main.c and tests include this header. */
#ifndef FEATURE_H
#define FEATURE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cache.h"
#include "fold.h"
#include "rs_model.h"
#include "rs_log.h"
#include "rs_metrics.h"
#include "rs_rpc.h"
#include "store.h"
#include "sub.h"

#define FEAT_MAX_EVENTS_LIMIT 1000 /* a request asking for more is invalid */
#define FEAT_MAX_HYPOTHETICAL 100  /* what-if events per request */

typedef struct feat_config {
	const char *pg_dsn;
	const char *url;          /* RS_FEATURE_URL: where the RPC server listens */
	const char *pub_url;      /* RS_INGEST_PUB_URL: ingest's event stream; "" disables it */
	const char *metrics_addr; /* RS_FEATURE_METRICS_ADDR: /metrics listener */
	int workers;
	int max_conns; /* RS_FEATURE_MAX_CONNS: RPC connections served at once */
	rs_log_level log_level;
	int rpc_transport;     /* rs_rpc_transport */
	int max_events;        /* default history length per request */
	int history_cap;       /* events kept per cached user (and the most a request gets) */
	int cache_users;       /* users kept in memory (LRU) */
	int cache_ttl_ms;      /* reload a cached user from PostgreSQL after this long */
	int pg_timeout_ms;     /* statement_timeout, and the wait when a request has no deadline */
	const char *model_dir; /* RS_MODEL_DIR: relative model_versions.path resolves here */
	int model_poll_ms;     /* check of the active version; 0 = only feat_model_check */
	int model_cache;       /* other versions kept open for requests that name one */
} feat_config;

typedef struct feat_state {
	feat_config fs_cfg;
	feat_cache *fs_cache;
	feat_store *fs_store;
	feat_sub *fs_sub; /* NULL when pub_url is "" */
	pthread_t fs_thread;
	int fs_thread_started;
	atomic_int fs_stop;
	double fs_started_ms;
	rs_model_slot *fs_slot;   /* the active model version (its aux: fold.h's Gram matrix) */
	rs_model_watch *fs_watch; /* follows model_versions into fs_slot */
	rs_metric *fs_hits, *fs_misses, *fs_pg_fail, *fs_fold_ms;
	rs_metric *fs_emb_hits; /* embeddings not folded again (feat_cache_emb_get) */
} feat_state;

/* feat_open: cache, database pool (a database that is down is not an error), stream
 * subscriber and the background thread. Returns 0 and *out, RS_EINVAL, RS_ENOMEM. */
int feat_open(feat_state **out, const feat_config *cfg);

/* feat_close: stop the background thread and free everything, after the RPC server that
 * uses the state has been closed. NULL is a no-op. */
void feat_close(feat_state *st);

/* feat_model_check: look for a newly activated model version now (blocking). Returns 0 or
 * the RS_E* of rs_model_watch_check. */
int feat_model_check(feat_state *st);

/* The RPC routes (ud = feat_state *): USER_FEATURES and HEALTH (ready = PostgreSQL usable). */
extern const rs_rpc_route feat_routes[];

#endif
