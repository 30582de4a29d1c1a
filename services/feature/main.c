/* rs-feature: wiring only (config, logging, state, RPC server, wait for a stop signal). */
#include <cblas.h>
#include <stdio.h>
#include <time.h>

#include "feature.h"
#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_metrics_http.h"
#include "rs_proc.h"
#include "rs_rpc.h"

/* RS_CFG_INT takes its default as text: the literal is RS_MODEL_CACHE_DEFAULT */
_Static_assert(RS_MODEL_CACHE_DEFAULT == 2, "RS_*_MODEL_CACHE default");

static const rs_cfg_field feat_cfg_fields[] = {
        RS_CFG_SECRET("RS_PG_DSN", feat_config, pg_dsn,
                      "host=127.0.0.1 port=25432 user=postgres dbname=recsys"),
        RS_CFG_STR("RS_FEATURE_URL", feat_config, url, "tcp://127.0.0.1:7200"),
        RS_CFG_STR("RS_INGEST_PUB_URL", feat_config, pub_url, "tcp://127.0.0.1:7101"),
        RS_CFG_STR("RS_FEATURE_METRICS_ADDR", feat_config, metrics_addr, "127.0.0.1:7290"),
        RS_CFG_INT("RS_FEATURE_WORKERS", feat_config, workers, 4, 1, 64),
        RS_CFG_INT("RS_FEATURE_MAX_CONNS", feat_config, max_conns, 256, 1, 65536),
        RS_CFG_LEVEL("RS_LOG_LEVEL", feat_config, log_level, "info"),
        RS_CFG_ENUM("RS_RPC_TRANSPORT", feat_config, rpc_transport, "socket", RS_RPC_TRANSPORTS),
        RS_CFG_INT("RS_FEATURE_MAX_EVENTS", feat_config, max_events, 50, 1, 1000),
        RS_CFG_INT("RS_FEATURE_HISTORY_CAP", feat_config, history_cap, 200, 1, 1000),
        RS_CFG_INT("RS_FEATURE_CACHE_USERS", feat_config, cache_users, 100000, 1, 10000000),
        RS_CFG_INT("RS_FEATURE_CACHE_TTL_MS", feat_config, cache_ttl_ms, 300000, 0, 86400000),
        RS_CFG_INT("RS_FEATURE_PG_TIMEOUT_MS", feat_config, pg_timeout_ms, 500, 10, 60000),
        RS_CFG_STR("RS_MODEL_DIR", feat_config, model_dir, ""),
        RS_CFG_INT("RS_FEATURE_MODEL_POLL_MS", feat_config, model_poll_ms, 2000, 0, 3600000),
        RS_CFG_INT("RS_FEATURE_MODEL_CACHE", feat_config, model_cache, 2, 0, RS_MODEL_CACHE_MAX),
        RS_CFG_END,
};

int
main(void)
{
	feat_config cfg;
	feat_state *st = NULL;
	rs_rpc_server *srv = NULL;
	rs_metrics_http *mh = NULL;
	char err[256];
	int rv;

	if (rs_cfg_load(feat_cfg_fields, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "rs-feature: %s\n", err);
		return 2;
	}
	rs_log_init("feature", cfg.log_level);
	rs_rpc_set_transport((rs_rpc_transport) cfg.rpc_transport);
	rs_cfg_log(feat_cfg_fields, &cfg);
	rs_proc_install_signals();
	/* Requests run in parallel on the RPC workers; a BLAS call splitting itself over the same
	 * cores only adds hand-offs (sgemv 20,000 x 64 takes ~0.12 ms on one thread). */
	openblas_set_num_threads(1);

	if ((rv = feat_open(&st, &cfg)) != 0) {
		rs_log_error("feature.open_failed", "err=\"%s\"", rs_strerror(rv));
		goto out;
	}
	rs_rpc_server_cfg rcfg = {.workers = cfg.workers, .max_conns = cfg.max_conns};
	if ((rv = rs_rpc_server_start(&srv, cfg.url, &rcfg, feat_routes, st)) != 0) {
		rs_log_error("svc.listen_failed", "url=%s err=\"%s\"", cfg.url, rs_strerror(rv));
		goto out;
	}
	if ((rv = rs_metrics_http_start(&mh, cfg.metrics_addr, "feature")) != 0) {
		rs_log_error("svc.listen_failed", "metrics=%s err=\"%s\"", cfg.metrics_addr,
		             rs_strerror(rv));
		goto out;
	}
	rs_log_info("svc.ready", "url=%s metrics=%s pub=%s workers=%d", cfg.url, cfg.metrics_addr,
	            cfg.pub_url, cfg.workers);
	while (!rs_proc_stop_requested())
		nanosleep(&(struct timespec){.tv_nsec = 100 * 1000000L}, NULL);
	rs_log_info("svc.stopping", "reason=signal");
out:
	rs_rpc_server_close(srv); /* finishes in-flight requests */
	rs_metrics_http_stop(mh);
	feat_close(st);
	return rv == 0 ? 0 : 1;
}
