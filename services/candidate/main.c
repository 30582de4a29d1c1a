/* rs-candidate: its configuration table and what it opens; common/rs_svc.c runs it. */
#include <cblas.h>
#include <stdio.h>

#include "candidate.h"
#include "rs_blas.h"
#include "rs_cfg.h"
#include "rs_rpc.h"
#include "rs_svc.h"

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

static int
cand_svc_open(void **out, const void *cfg)
{
	cand_state *st = NULL;
	int rv = cand_open(&st, cfg);

	*out = st;
	return rv;
}

static void
cand_svc_close(void *st)
{
	cand_close(st);
}

static void
cand_svc_describe(void *st, const void *cfg, char *buf, size_t n)
{
	char blas[96];
	(void) st;
	rs_blas_describe(blas, sizeof(blas));
	snprintf(buf, n, " refresh_ms=%d%s", ((const cand_config *) cfg)->refresh_ms, blas);
}

int
main(void)
{
	static cand_config cfg;
	const rs_svc svc = {.name = "candidate",
	                    .cfg_fields = cand_cfg_fields,
	                    .cfg = &cfg,
	                    .at = RS_SVC_FIELDS(cand_config),
	                    .routes = cand_routes,
	                    .open = cand_svc_open,
	                    .close = cand_svc_close,
	                    .describe = cand_svc_describe};

	rs_blas_init(); /* returns on the kernels this CPU should have */
	/* Requests run in parallel on the RPC workers; a BLAS call splitting itself over the same
	 * cores only adds hand-offs (sgemv 20,000 x 64 takes ~0.12 ms on one thread). */
	openblas_set_num_threads(1);
	return rs_svc_main(&svc);
}
