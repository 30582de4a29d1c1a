/* rs-ranking: wiring only (config, logging, state, RPC server, wait for a stop signal). */
#include <stdio.h>
#include <time.h>

#include "ranking.h"
#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_metrics_http.h"
#include "rs_proc.h"
#include "rs_rpc.h"

/* RS_CFG_INT takes its default as text: the literal is RS_MODEL_CACHE_DEFAULT */
_Static_assert(RS_MODEL_CACHE_DEFAULT == 2, "RS_*_MODEL_CACHE default");

static const rs_cfg_field rank_cfg_fields[] = {
        RS_CFG_SECRET("RS_PG_DSN", rank_config, pg_dsn,
                      "host=127.0.0.1 port=25432 user=postgres dbname=recsys"),
        RS_CFG_STR("RS_RANKING_URL", rank_config, url, "tcp://127.0.0.1:7400"),
        RS_CFG_STR("RS_RANKING_METRICS_ADDR", rank_config, metrics_addr, "127.0.0.1:7490"),
        RS_CFG_INT("RS_RANKING_WORKERS", rank_config, workers, 4, 1, 64),
        RS_CFG_INT("RS_RANKING_MAX_CONNS", rank_config, max_conns, 256, 1, 65536),
        RS_CFG_LEVEL("RS_LOG_LEVEL", rank_config, log_level, "info"),
        RS_CFG_ENUM("RS_RPC_TRANSPORT", rank_config, rpc_transport, "socket", RS_RPC_TRANSPORTS),
        RS_CFG_INT("RS_RANKING_K", rank_config, default_k, 20, 1, RANK_MAX_K),
        RS_CFG_INT("RS_RANKING_REFRESH_MS", rank_config, refresh_ms, 10000, 50, 3600000),
        RS_CFG_INT("RS_RANKING_PG_TIMEOUT_MS", rank_config, pg_timeout_ms, 10000, 100, 600000),
        RS_CFG_STR("RS_MODEL_DIR", rank_config, model_dir, ""),
        RS_CFG_INT("RS_RANKING_MODEL_POLL_MS", rank_config, model_poll_ms, 2000, 0, 3600000),
        RS_CFG_INT("RS_RANKING_MODEL_CACHE", rank_config, model_cache, 2, 0, RS_MODEL_CACHE_MAX),
        RS_CFG_END,
};

int
main(void)
{
	rank_config cfg;
	rank_state *st = NULL;
	rs_rpc_server *srv = NULL;
	rs_metrics_http *mh = NULL;
	char err[256];
	int rv;

	if (rs_cfg_load(rank_cfg_fields, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "rs-ranking: %s\n", err);
		return 2;
	}
	rs_log_init("ranking", cfg.log_level);
	rs_rpc_set_transport((rs_rpc_transport) cfg.rpc_transport);
	rs_cfg_log(rank_cfg_fields, &cfg);
	rs_proc_install_signals();

	if ((rv = rank_open(&st, &cfg)) != 0) {
		rs_log_error("ranking.open_failed", "err=\"%s\"", rs_strerror(rv));
		goto out;
	}
	/* The active version before the first request: the watch's own first check runs in the
	 * background, and a freshly restarted service answered with the linear scorer, naming
	 * linear-v1 while a published version was active (tests/fault, kill-ranking). A database
	 * that is down or a version that does not open leaves the linear scorer, as before. */
	(void) rank_model_check(st);
	rs_rpc_server_cfg rcfg = {.workers = cfg.workers, .max_conns = cfg.max_conns};
	if ((rv = rs_rpc_server_start(&srv, cfg.url, &rcfg, rank_routes, st)) != 0) {
		rs_log_error("svc.listen_failed", "url=%s err=\"%s\"", cfg.url, rs_strerror(rv));
		goto out;
	}
	if ((rv = rs_metrics_http_start(&mh, cfg.metrics_addr, "ranking")) != 0) {
		rs_log_error("svc.listen_failed", "metrics=%s err=\"%s\"", cfg.metrics_addr,
		             rs_strerror(rv));
		goto out;
	}
	/* the model watch (started by rank_open) may already have swapped the scorer: take a
	 * reference under the state's lock, never read st->rs_scorer bare */
	rank_scorer *sc = rank_current_scorer(st);
	rs_log_info("svc.ready", "url=%s metrics=%s workers=%d scorer=%s", cfg.url,
	            cfg.metrics_addr, cfg.workers, sc->version);
	rank_scorer_unref(sc);
	while (!rs_proc_stop_requested())
		nanosleep(&(struct timespec){.tv_nsec = 100 * 1000000L}, NULL);
	rs_log_info("svc.stopping", "reason=signal");
out:
	rs_rpc_server_close(srv); /* finishes in-flight requests */
	rs_metrics_http_stop(mh);
	rank_close(st);
	return rv == 0 ? 0 : 1;
}
