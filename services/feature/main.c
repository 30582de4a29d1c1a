/* rs-feature: its configuration table and what it opens; common/rs_svc.c runs it. */
#include <cblas.h>
#include <stdio.h>

#include "feature.h"
#include "rs_blas.h"
#include "rs_cfg.h"
#include "rs_rpc.h"
#include "rs_svc.h"

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

static int
feat_svc_open(void **out, const void *cfg)
{
	feat_state *st = NULL;
	int rv = feat_open(&st, cfg);

	*out = st;
	return rv;
}

static void
feat_svc_close(void *st)
{
	feat_close(st);
}

static void
feat_svc_describe(void *st, const void *cfg, char *buf, size_t n)
{
	char blas[96];
	(void) st;
	rs_blas_describe(blas, sizeof(blas));
	snprintf(buf, n, " pub=%s%s", ((const feat_config *) cfg)->pub_url, blas);
}

int
main(void)
{
	static feat_config cfg;
	const rs_svc svc = {.name = "feature",
	                    .cfg_fields = feat_cfg_fields,
	                    .cfg = &cfg,
	                    .at = RS_SVC_FIELDS(feat_config),
	                    .routes = feat_routes,
	                    .open = feat_svc_open,
	                    .close = feat_svc_close,
	                    .describe = feat_svc_describe};

	rs_blas_init(); /* returns on the kernels this CPU should have */
	/* Requests run in parallel on the RPC workers; a BLAS call splitting itself over the same
	 * cores only adds hand-offs (sgemv 20,000 x 64 takes ~0.12 ms on one thread). */
	openblas_set_num_threads(1);
	return rs_svc_main(&svc);
}
