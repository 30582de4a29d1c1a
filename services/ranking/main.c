/* rs-ranking: its configuration table and what it opens; common/rs_svc.c runs it. */
#include <stdio.h>

#include "ranking.h"
#include "rs_cfg.h"
#include "rs_rpc.h"
#include "rs_svc.h"

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

static int
rank_svc_open(void **out, const void *cfg)
{
	rank_state *st = NULL;
	int rv = rank_open(&st, cfg);

	*out = st;
	/* The active version before the first request: the watch's own first check runs in the
	 * background, and a freshly restarted service answered with the linear scorer, naming
	 * linear-v1 while a published version was active (tests/fault, kill-ranking). A database
	 * that is down or a version that does not open leaves the linear scorer, as before. */
	if (rv == 0)
		(void) rank_model_check(st);
	return rv;
}

static void
rank_svc_close(void *st)
{
	rank_close(st);
}

static void
rank_svc_describe(void *st, const void *cfg, char *buf, size_t n)
{
	/* the model watch (started by rank_open) may already have swapped the scorer: take a
	 * reference under the state's lock, never read st->rs_scorer bare */
	rank_scorer *sc = rank_current_scorer(st);

	(void) cfg;
	snprintf(buf, n, " scorer=%s", sc->version);
	rank_scorer_unref(sc);
}

int
main(void)
{
	static rank_config cfg;
	const rs_svc svc = {.name = "ranking",
	                    .cfg_fields = rank_cfg_fields,
	                    .cfg = &cfg,
	                    .at = RS_SVC_FIELDS(rank_config),
	                    .routes = rank_routes,
	                    .open = rank_svc_open,
	                    .close = rank_svc_close,
	                    .describe = rank_svc_describe};

	return rs_svc_main(&svc);
}
