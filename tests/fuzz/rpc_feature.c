/* Target rpc_feature: METHOD_USER_FEATURES bodies through rs-feature's handler with its state
 * when PostgreSQL is unreachable and the event stream is not connected (every request that
 * passes validation asks the database, which refuses at once). Properties: no memory error; a
 * well-formed reply with a known status. */
#include "service.h"

#include "feature.h"

static feat_state *st;
static rs_rpc_server *srv;
static rs_arena *arena;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (st == NULL) {
		feat_config cfg = {.pg_dsn = "host=127.0.0.1 port=1 user=postgres dbname=none",
		                   .pub_url = "",
		                   .workers = 1,
		                   .log_level = RS_LOG_ERROR,
		                   .max_events = 50,
		                   .history_cap = 100,
		                   .cache_users = 100,
		                   .cache_ttl_ms = 1000,
		                   .pg_timeout_ms = 100};
		rs_log_init("fuzz-feature", RS_LOG_ERROR);
		if (feat_open(&st, &cfg) != 0 || rs_arena_create(&arena, 0) != 0)
			abort();
		srv = fuzz_rpc_server(feat_routes, st);
	}
	fuzz_service_one(srv, feat_routes, arena, data, size);
	return 0;
}
