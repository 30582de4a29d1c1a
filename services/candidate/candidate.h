/* rs-candidate: first-stage retrieval (METHOD_CANDIDATES, METHOD_SIMILAR).
 *
 * A background thread rebuilds a snapshot (snapshot.h) from PostgreSQL every refresh_ms and
 * swaps it in; handlers (handler.c) take a reference to the current snapshot and run the
 * retrieval (retrieve.h) without touching the database, so a database outage only freezes
 * the data. Only main.c and tests include this header. */
#ifndef CANDIDATE_H
#define CANDIDATE_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "modelsrc.h"
#include "retrieve.h"
#include "rs_model.h"
#include "rs_log.h"
#include "rs_metrics.h"
#include "rs_rpc.h"
#include "snapshot.h"

#define CAND_MAX_K        1000 /* a request asking for more candidates is invalid */
#define CAND_SIMILAR_K    20   /* SimilarRequest default k */
#define CAND_MAX_HISTORY  10000
#define CAND_MAX_EXCLUDED 10000
#define CAND_JOINS        4 /* joins kept: the active version, two named ones, one switching */

typedef struct cand_config {
	const char *pg_dsn;
	const char *url;          /* RS_CANDIDATE_URL */
	const char *metrics_addr; /* RS_CANDIDATE_METRICS_ADDR: /metrics listener */
	int workers;
	int max_conns; /* RS_CANDIDATE_MAX_CONNS: RPC connections served at once */
	rs_log_level log_level;
	int rpc_transport;     /* rs_rpc_transport */
	int refresh_ms;        /* rebuild period */
	int default_k;         /* candidates when the request says 0 */
	int window_days;       /* events newer than this feed the snapshot */
	int max_events;        /* at most this many (the newest) events per rebuild */
	double half_life_h;    /* popularity half-life */
	int covisit_n;         /* neighbours kept per item */
	int pg_timeout_ms;     /* statement_timeout of the refresh queries */
	const char *model_dir; /* RS_MODEL_DIR: relative model_versions.path resolves here */
	int model_poll_ms;     /* check of the active version; 0 = only cand_model_check */
	int model_cache;       /* other versions kept open for requests that name one */
	const char *state_dir; /* RS_CANDIDATE_STATE_DIR: the snapshot file's folder; "" = none */
} cand_config;

typedef struct cand_state {
	cand_config cs_cfg;
	pthread_mutex_t cs_snap_mu;    /* guards cs_snap (the pointer, not the snapshot) */
	cand_snap *cs_snap;            /* NULL until the first refresh */
	pthread_mutex_t cs_refresh_mu; /* one refresh at a time; guards cs_pg and the catalog */
	PGconn *cs_pg;
	int cs_listening; /* cs_pg LISTENs on channel catalog */
	/* PostgreSQL's now() just before the last catalog read: the next one asks for the rows
	 * changed since (minus a margin); "" = read the whole catalog. */
	char cs_cat_mark[48];
	char *cs_dsn; /* pg_dsn plus connect_timeout */
	/* the last build: when it ended, how long it took (under cs_refresh_mu: the refresher
	 * writes them while requests run) */
	double cs_built_at_ms, cs_build_ms;
	/* The last exact check of the events (refresh.c): its result, PostgreSQL's write
	 * counters of the event partitions just before it, and when it ran. */
	uint64_t cs_events_fp, cs_events_stats;
	long cs_events_count;
	int cs_events_window_empty, cs_events_valid;
	double cs_events_checked_ms;
	pthread_t cs_thread;
	int cs_thread_started;
	atomic_int cs_stop;
	atomic_int cs_pg_ok;
	double cs_started_ms;
	rs_model_slot *cs_slot;     /* the active model version (empty: live sources only) */
	rs_model_watch *cs_watch;   /* follows model_versions into cs_slot */
	pthread_mutex_t cs_join_mu; /* guards cs_joins */
	/* snapshot x model joins of the latest requests: one per version in use (the active one
	 * and those requests name), the least recently used replaced; NULL = free */
	cand_join *cs_joins[CAND_JOINS];
	uint64_t cs_join_used[CAND_JOINS], cs_join_tick;
	rs_metric *cs_refresh_ok, *cs_refresh_fail, *cs_refresh_ms, *cs_items, *cs_events;
	rs_metric *cs_cat_delta, *cs_cat_full, *cs_cat_ms;
	/* The snapshot file (snapfile.h): its path (NULL = none), a save asked for (a new build,
	 * another model version), and a hash of what the file holds (snapshot version, fingerprint,
	 * model version), so an unchanged pair is not written again. */
	char *cs_state_path;
	pthread_mutex_t cs_save_mu; /* one save at a time; guards cs_saved */
	atomic_int cs_save_pending;
	uint64_t cs_saved;
	int cs_loaded; /* the first snapshot came from the file (set before the thread starts) */
	rs_metric *cs_state_saved, *cs_state_save_fail, *cs_state_save_ms;
} cand_state;

/* cand_open: state and the refresh thread (first refresh at once, in the background; a
 * database that is down is not an error). With a state_dir, the snapshot file there is loaded
 * first (blocking, before the caller listens) when its format and build settings match and,
 * when PostgreSQL answers, the active model version is the one it was written with; its
 * catalog is then brought up to PostgreSQL's (cand_catalog_sync with verify). The refresh
 * thread then rebuilds behind it only if the events changed since (the fingerprint). A file
 * that is refused is logged (candidate.state_refused) and the service builds as without one.
 * Returns 0 and *out, RS_EINVAL, RS_ENOMEM. */
int cand_open(cand_state **out, const cand_config *cfg);

/* cand_close: stop the refresh thread and free everything, after the RPC server that uses the
 * state has been closed. NULL is a no-op. */
void cand_close(cand_state *st);

/* cand_state_save: write the current snapshot and the active model version's name to the
 * state folder's file now, unless it holds that pair already (blocking; the refresh thread
 * calls it after every build and after a model swap). Returns 0 (also: no state folder, no
 * snapshot), RS_EIO, RS_EINVAL. */
int cand_state_save(cand_state *st);

/* cand_refresh: rebuild the snapshot from PostgreSQL now (blocking; serialised with the
 * background thread, which rebuilds a changed input at most every 4 build-durations; this one
 * does not wait). Changed events rebuild everything; a changed catalog alone is applied to the
 * current snapshot (cand_catalog_sync with verify). An unchanged input keeps the current
 * snapshot. Returns 0, RS_EUNAVAIL (database down), RS_EDB, RS_ENOMEM; on error the current
 * snapshot stays. */
int cand_refresh(cand_state *st);

/* cand_catalog_sync: apply the catalog rows changed since the last read to the current
 * snapshot now (what a NOTIFY on channel catalog triggers). verify = 1 also compares the
 * catalog's row count and hash sum with the snapshot's in the same database snapshot and, on a
 * difference (a change the time-based read could not see), reads the whole catalog. Nothing
 * to do before the first build. Returns 0 or an RS_E* (the current snapshot stays). */
int cand_catalog_sync(cand_state *st, int verify);

/* cand_current: a reference to the current snapshot (NULL before the first refresh); drop it
 * with cand_snap_unref. */
cand_snap *cand_current(cand_state *st);

/* cand_model_check: look for a newly activated model version now (blocking). Returns 0 or
 * the RS_E* of rs_model_watch_check. */
int cand_model_check(cand_state *st);

/* cand_current_model: a reference to the active version (NULL if none); rs_model_unref. */
rs_model *cand_current_model(cand_state *st);

/* cand_join_get: the join of snap and model (built on first use of the pair, kept for the
 * CAND_JOINS most recently used versions of the current snapshot; NULL when model is NULL or
 * out of memory); drop with cand_join_unref. */
cand_join *cand_join_get(cand_state *st, cand_snap *snap, rs_model *model);

/* The RPC routes (ud = cand_state *): CANDIDATES, SIMILAR, HEALTH (ready = a snapshot). */
extern const rs_rpc_route cand_routes[];

#endif
