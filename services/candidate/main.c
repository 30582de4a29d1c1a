/* rs-candidate: wiring only (config, logging, state, RPC server, wait for a stop signal). */
#include <cblas.h>
#include <stdio.h>
#include <time.h>

#include "candidate.h"
#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_metrics_http.h"
#include "rs_proc.h"
#include "rs_rpc.h"

/* RS_CFG_INT takes its default as text: the literal is RS_MODEL_CACHE_DEFAULT */
_Static_assert(RS_MODEL_CACHE_DEFAULT == 2, "RS_*_MODEL_CACHE default");

static const rs_cfg_field cand_cfg_fields[] = {
        RS_CFG_SECRET("RS_PG_DSN", cand_config, pg_dsn,
                      "host=127.0.0.1 port=25432 user=postgres dbname=recsys"),
        RS_CFG_STR("RS_CANDIDATE_URL", cand_config, url, "tcp://127.0.0.1:7300"),
        RS_CFG_STR("RS_CANDIDATE_METRICS_ADDR", cand_config, metrics_addr, "127.0.0.1:7390"),
        RS_CFG_INT("RS_CANDIDATE_WORKERS", cand_config, workers, 4, 1, 64),
        RS_CFG_INT("RS_CANDIDATE_MAX_CONNS", cand_config, max_conns, 256, 1, 65536),
        RS_CFG_LEVEL("RS_LOG_LEVEL", cand_config, log_level, "info"),
        RS_CFG_ENUM("RS_RPC_TRANSPORT", cand_config, rpc_transport, "socket", RS_RPC_TRANSPORTS),
        RS_CFG_INT("RS_CANDIDATE_REFRESH_MS", cand_config, refresh_ms, 2000, 50, 3600000),
        RS_CFG_INT("RS_CANDIDATE_K", cand_config, default_k, 200, 1, CAND_MAX_K),
        RS_CFG_INT("RS_CANDIDATE_WINDOW_DAYS", cand_config, window_days, 90, 1, 36500),
        RS_CFG_INT("RS_CANDIDATE_MAX_EVENTS", cand_config, max_events, 1000000, 0, 100000000),
        RS_CFG_DOUBLE("RS_CANDIDATE_HALF_LIFE_H", cand_config, half_life_h, 72, 0.01, 100000),
        RS_CFG_INT("RS_CANDIDATE_COVISIT_N", cand_config, covisit_n, 50, 0, CAND_COVISIT_MAX),
        RS_CFG_INT("RS_CANDIDATE_PG_TIMEOUT_MS", cand_config, pg_timeout_ms, 30000, 100, 600000),
        RS_CFG_STR("RS_MODEL_DIR", cand_config, model_dir, ""),
        RS_CFG_INT("RS_CANDIDATE_MODEL_POLL_MS", cand_config, model_poll_ms, 2000, 0, 3600000),
        RS_CFG_INT("RS_CANDIDATE_MODEL_CACHE", cand_config, model_cache, 2, 0, RS_MODEL_CACHE_MAX),
        RS_CFG_STR("RS_CANDIDATE_STATE_DIR", cand_config, state_dir, ""),
        RS_CFG_END,
};

int
main(void)
{
	cand_config cfg;
	cand_state *st = NULL;
	rs_rpc_server *srv = NULL;
	rs_metrics_http *mh = NULL;
	char err[256];
	int rv;

	if (rs_cfg_load(cand_cfg_fields, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "rs-candidate: %s\n", err);
		return 2;
	}
	rs_log_init("candidate", cfg.log_level);
	rs_rpc_set_transport((rs_rpc_transport) cfg.rpc_transport);
	rs_cfg_log(cand_cfg_fields, &cfg);
	rs_proc_install_signals();
	/* Requests run in parallel on the RPC workers; a BLAS call splitting itself over the same
	 * cores only adds hand-offs (sgemv 20,000 x 64 takes ~0.12 ms on one thread). */
	openblas_set_num_threads(1);

	if ((rv = cand_open(&st, &cfg)) != 0) {
		rs_log_error("candidate.open_failed", "err=\"%s\"", rs_strerror(rv));
		goto out;
	}
	rs_rpc_server_cfg rcfg = {.workers = cfg.workers, .max_conns = cfg.max_conns};
	if ((rv = rs_rpc_server_start(&srv, cfg.url, &rcfg, cand_routes, st)) != 0) {
		rs_log_error("svc.listen_failed", "url=%s err=\"%s\"", cfg.url, rs_strerror(rv));
		goto out;
	}
	if ((rv = rs_metrics_http_start(&mh, cfg.metrics_addr, "candidate")) != 0) {
		rs_log_error("svc.listen_failed", "metrics=%s err=\"%s\"", cfg.metrics_addr,
		             rs_strerror(rv));
		goto out;
	}
	rs_log_info("svc.ready", "url=%s metrics=%s workers=%d refresh_ms=%d", cfg.url,
	            cfg.metrics_addr, cfg.workers, cfg.refresh_ms);
	while (!rs_proc_stop_requested())
		nanosleep(&(struct timespec){.tv_nsec = 100 * 1000000L}, NULL);
	rs_log_info("svc.stopping", "reason=signal");
out:
	rs_rpc_server_close(srv); /* finishes in-flight requests */
	rs_metrics_http_stop(mh);
	cand_close(st);
	return rv == 0 ? 0 : 1;
}
