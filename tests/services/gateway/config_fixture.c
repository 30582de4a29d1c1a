#include "config_fixture.h"

gw_config
t_config(void)
{
	return (gw_config){
	        .http_addr = "127.0.0.1:0",
	        .threads = 2,
	        .deadline_ms = 100,
	        .ingest_url = T_NOBODY,
	        .feature_url = T_NOBODY,
	        .candidate_url = T_NOBODY,
	        .ranking_url = T_NOBODY,
	        .log_level = RS_LOG_WARN,
	        .max_connections = 16,
	        .max_body = 1 << 20,
	        .idle_timeout_s = 10,
	        .events_timeout_ms = 100,
	        .health_timeout_ms = 50,
	        .popular_refresh_ms = 60000,
	        .popular_k = 10,
	        .access_log = 0,
	        .candidates_min = 100,
	        .pg_dsn = "host=127.0.0.1 port=1 dbname=none",
	        .pg_pool = 2,
	        .pg_timeout_ms = 5000,
	};
}
