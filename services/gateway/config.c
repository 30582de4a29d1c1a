#include "gateway.h"
#include "rates.h"

#include "rs_cfg.h"
#include "rs_rpc.h"

static const rs_cfg_field gw_cfg_fields[] = {
        RS_CFG_STR("RS_GATEWAY_HTTP", gw_config, http_addr, "127.0.0.1:8080"),
        RS_CFG_INT("RS_GATEWAY_THREADS", gw_config, threads, 16, 0, 256),
        RS_CFG_INT("RS_GATEWAY_DEADLINE_MS", gw_config, deadline_ms, 250, 5, 60000),
        RS_CFG_INT("RS_GATEWAY_VERSION_DEADLINE_MS", gw_config, version_deadline_ms, 1000, 5,
                   60000),
        RS_CFG_STR("RS_INGEST_URL", gw_config, ingest_url, "tcp://127.0.0.1:7100"),
        RS_CFG_STR("RS_FEATURE_URL", gw_config, feature_url, "tcp://127.0.0.1:7200"),
        RS_CFG_STR("RS_CANDIDATE_URL", gw_config, candidate_url, "tcp://127.0.0.1:7300"),
        RS_CFG_STR("RS_RANKING_URL", gw_config, ranking_url, "tcp://127.0.0.1:7400"),
        RS_CFG_LEVEL("RS_LOG_LEVEL", gw_config, log_level, "info"),
        RS_CFG_ENUM("RS_RPC_TRANSPORT", gw_config, rpc_transport, "socket", RS_RPC_TRANSPORTS),
        RS_CFG_INT("RS_GATEWAY_MAX_CONNECTIONS", gw_config, max_connections, 1000, 1, 100000),
        RS_CFG_INT("RS_GATEWAY_MAX_BODY", gw_config, max_body, 1048576, 1024, 67108864),
        RS_CFG_INT("RS_GATEWAY_IDLE_TIMEOUT_S", gw_config, idle_timeout_s, 30, 1, 3600),
        RS_CFG_INT("RS_GATEWAY_EVENTS_TIMEOUT_MS", gw_config, events_timeout_ms, 2000, 10, 60000),
        RS_CFG_INT("RS_GATEWAY_HEALTH_TIMEOUT_MS", gw_config, health_timeout_ms, 200, 10, 10000),
        RS_CFG_INT("RS_GATEWAY_POPULAR_REFRESH_MS", gw_config, popular_refresh_ms, 2000, 50,
                   600000),
        RS_CFG_INT("RS_GATEWAY_POPULAR_K", gw_config, popular_k, 200, 1, 1000),
        RS_CFG_INT("RS_GATEWAY_ACCESS_LOG", gw_config, access_log, 1, 0, 1),
        RS_CFG_INT("RS_GATEWAY_CANDIDATES", gw_config, candidates_min, 100, 10, 1000),
        RS_CFG_STR("RS_PG_DSN", gw_config, pg_dsn,
                   "host=127.0.0.1 port=25432 user=postgres dbname=recsys"),
        RS_CFG_INT("RS_GATEWAY_PG_POOL", gw_config, pg_pool, 4, 1, 64),
        RS_CFG_INT("RS_GATEWAY_PG_TIMEOUT_MS", gw_config, pg_timeout_ms, 5000, 100, 60000),
        RS_CFG_INT("RS_GATEWAY_IMPRESSIONS_QUEUE", gw_config, impressions_queue, 50000, 100,
                   10000000),
        RS_CFG_INT("RS_GATEWAY_RECORD_IMPRESSIONS", gw_config, record_impressions, 1, 0, 1),
        RS_CFG_STR("RS_GATEWAY_UI_DIR", gw_config, ui_dir, ""),
        RS_CFG_STR("RS_MODEL_DIR", gw_config, model_dir, ""),
        RS_CFG_INT("RS_GATEWAY_EXPERIMENTS_REFRESH_MS", gw_config, experiments_refresh_ms, 1000, 50,
                   600000),
        RS_CFG_INT("RS_GATEWAY_MAX_HEADER", gw_config, max_header, 8192, 1024, 65536),
        RS_CFG_STR("RS_GATEWAY_RATE_READ", gw_config, rate_read, GW_RATE_READ_DEFAULT),
        RS_CFG_STR("RS_GATEWAY_RATE_WRITE", gw_config, rate_write, GW_RATE_WRITE_DEFAULT),
        RS_CFG_STR("RS_GATEWAY_RATE_LOGIN", gw_config, rate_login, GW_RATE_LOGIN_DEFAULT),
        RS_CFG_STR("RS_GATEWAY_RATE_ADMIN", gw_config, rate_admin, GW_RATE_ADMIN_DEFAULT),
        RS_CFG_STR("RS_GATEWAY_RATE_OPS", gw_config, rate_ops, GW_RATE_OPS_DEFAULT),
        RS_CFG_STR("RS_GATEWAY_RATE_APIKEY", gw_config, rate_apikey, GW_RATE_APIKEY_DEFAULT),
        RS_CFG_END,
};

const char *const gw_downstream_names[GW_NDOWN] = {"ingest", "feature", "candidate", "ranking"};

int
gw_config_load(gw_config *cfg, char *err, size_t errn)
{
	return rs_cfg_load(gw_cfg_fields, cfg, err, errn);
}

void
gw_config_log(const gw_config *cfg)
{
	rs_cfg_log(gw_cfg_fields, cfg);
}
