/* Target rpc_ranking: METHOD_RANK bodies (RankRequest: protobuf-c for the request, the
 * candidate list read by services/ranking/rankwire.c with common/rs_pbwire.h) through rs-ranking's
 * handler with the state it has before any model version is active (the linear scorer; the
 * catalog's database is unreachable, so reasons name items by id). Properties: no memory
 * error; a well-formed reply with a known status (see service.h, rpc.h). */
#include "service.h"

#include "ranking.h"

static rank_state *st;
static rs_rpc_server *srv;
static rs_arena *arena;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (st == NULL) {
		rank_config cfg = {.pg_dsn = "host=127.0.0.1 port=1 user=postgres dbname=none",
		                   .workers = 1,
		                   .log_level = RS_LOG_ERROR,
		                   .default_k = 10,
		                   .refresh_ms = 3600000,
		                   .pg_timeout_ms = 1000};
		rs_log_init("fuzz-ranking", RS_LOG_ERROR);
		if (rank_open(&st, &cfg) != 0 || rs_arena_create(&arena, 0) != 0)
			abort();
		srv = fuzz_rpc_server(rank_routes, st);
	}
	fuzz_service_one(srv, rank_routes, arena, data, size);
	return 0;
}
