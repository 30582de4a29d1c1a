/* gateway: configuration and the server object shared by the gateway's modules.
 *
 * One gw_server holds everything a request needs: the configuration, one rs_rpc client per
 * downstream, the popular-list cache and the HTTP daemon. Handlers (recommend.c, events.c,
 * health.c, metrics.c) receive it with the request; nothing else is global except the
 * process-wide metrics registry. */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H

#include <stddef.h>

#include "rs_log.h"
#include "rs_rpc.h"

typedef struct gw_config {
	const char *http_addr;   /* "host:port" to bind (IPv4 or [IPv6]); port 0 = ephemeral */
	int threads;             /* HTTP worker threads (MHD thread pool) */
	int deadline_ms;         /* one budget per recommendation request, split across hops */
	int version_deadline_ms; /* the budget of one that names a model version (an admin's;
	                            the first request for a version opens it): 0 = deadline_ms */
	const char *ingest_url;  /* NNG URLs of the downstreams */
	const char *feature_url;
	const char *candidate_url;
	const char *ranking_url;
	rs_log_level log_level;
	int rpc_transport;      /* rs_rpc_transport */
	int max_connections;    /* concurrent HTTP connections */
	int max_body;           /* request body limit in bytes (larger -> 413) */
	int idle_timeout_s;     /* idle keep-alive connections are closed after this */
	int events_timeout_ms;  /* POST /v1/events: how long ingest may take */
	int health_timeout_ms;  /* /readyz and /metrics: per-downstream probe budget */
	int popular_refresh_ms; /* background refresh of the popular list */
	int popular_k;          /* how many popular items are cached */
	int access_log;         /* 1: one info line per HTTP request */
	int candidates_min;     /* candidates asked for: max(candidates_min, 5k), at most 1000 */
	const char *pg_dsn;     /* PostgreSQL for admin, accounts and the catalog */
	int pg_pool;            /* connections in the gateway's pool */
	int pg_timeout_ms;      /* statement timeout, and the longest wait for a free connection */
	int impressions_queue;  /* impression items waiting for the writer (impressions.h) */
	int record_impressions; /* 1: record every served recommendation list (env default 1; a
	                         * zeroed struct, as the handler tests build, records nothing) */
	const char *ui_dir;     /* the built web UI (frontend/dist); "" = none */
	const char *model_dir;  /* RS_MODEL_DIR: published versions, opened before an activation */
	int experiments_refresh_ms; /* how often the running experiment is re-read (0: 1000) */
	int max_header;             /* request header bytes (more -> 431 JSON); 0 = 8192 */
	/* request rates per route class (rates.h: "N/s", "N/m", ":BURST", "off"); NULL = the
	 * defaults of rates.h */
	const char *rate_read;
	const char *rate_write;
	const char *rate_login;
	const char *rate_admin;
	const char *rate_ops;
	const char *rate_apikey; /* per API key, every route */
} gw_config;

/* gw_config_load: read every RS_GATEWAY_* / RS_*_URL variable (defaults in config.c).
 * Returns 0, or RS_EINVAL after naming the bad variable in err. cfg's strings point into the
 * environment or at static defaults. */
int gw_config_load(gw_config *cfg, char *err, size_t errn);

/* gw_config_log: log the effective configuration once (event cfg.effective). */
void gw_config_log(const gw_config *cfg);

enum gw_downstream {
	GW_INGEST = 0,
	GW_FEATURE,
	GW_CANDIDATE,
	GW_RANKING,
	GW_NDOWN,
};

/* "ingest", "feature", "candidate", "ranking" */
extern const char *const gw_downstream_names[GW_NDOWN];

typedef struct gw_popular gw_popular;
typedef struct gw_http gw_http;
typedef struct gw_auth gw_auth;
typedef struct gw_db gw_db;
typedef struct gw_static gw_static;
typedef struct gw_impressions gw_impressions;
typedef struct gw_account gw_account;
typedef struct gw_experiments gw_experiments;
typedef struct gw_limits gw_limits;

typedef struct gw_server {
	gw_config s_cfg;
	rs_rpc_client *s_clients[GW_NDOWN];
	gw_popular *s_popular;
	gw_http *s_http;
	gw_auth *s_auth;               /* credentials and access (auth.h) */
	gw_account *s_account;         /* login state: failure limits (account.h) */
	gw_db *s_db;                   /* PostgreSQL pool (db.h) */
	gw_static *s_static;           /* the web UI's files (static.h); NULL = no UI */
	gw_impressions *s_impressions; /* served and posted lists: queue + writer (impressions.h) */
	struct gw_datareport *s_datareport; /* GET /v1/admin/data/report cache (datareport.h) */
	gw_experiments *s_experiments;      /* the running experiment, assignment (experiments.h) */
	gw_limits *s_limits;                /* request rates per client (rates.h) */
} gw_server;

/* gw_server_open: dial the downstreams (in the background), start the popular-list refresher
 * and the HTTP server. *cfg is copied; its strings must outlive the server. Returns 0,
 * RS_EINVAL (bad address or URL), RS_EEXIST (address in use), RS_ENOMEM, RS_EIO. */
int gw_server_open(gw_server **out, const gw_config *cfg);

/* gw_server_port: the bound TCP port (useful when the configured port was 0). */
int gw_server_port(const gw_server *srv);

/* gw_server_close: stop accepting, let in-flight HTTP requests finish (bounded wait), stop the
 * refresher, close the clients, free everything. NULL is a no-op. */
void gw_server_close(gw_server *srv);

#endif
