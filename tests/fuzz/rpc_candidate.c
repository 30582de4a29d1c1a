/* Target rpc_candidate: METHOD_CANDIDATES and METHOD_SIMILAR bodies through rs-candidate's
 * handlers, over a snapshot built in memory (60 items in 3 categories, 40 users with 6 events
 * each: the one tests/services/candidate/fuzz_test.c uses). Properties: no memory error; a
 * well-formed reply with a known status. */
#include "service.h"

#include "candidate.h"

static cand_state *st;
static rs_rpc_server *srv;
static rs_arena *arena;

static void
setup(void)
{
	cand_config cfg = {.pg_dsn = "host=127.0.0.1 port=1 user=postgres dbname=none",
	                   .workers = 1,
	                   .log_level = RS_LOG_ERROR,
	                   .refresh_ms = 3600000,
	                   .default_k = 50,
	                   .window_days = 90,
	                   .max_events = 1000,
	                   .half_life_h = 72,
	                   .covisit_n = 20,
	                   .pg_timeout_ms = 1000};
	rs_log_init("fuzz-candidate", RS_LOG_ERROR);
	if (cand_open(&st, &cfg) != 0 || rs_arena_create(&arena, 0) != 0)
		abort();
	static cand_item_row items[60];
	static cand_event_row ev[240];
	static const char *cats[] = {"A/X", "A/Y", "B"};
	for (int i = 0; i < 60; i++)
		items[i] =
		        (cand_item_row){1 + i, "t", cats[i % 3], 1.0 + i, i % 4 != 0, i % 5 != 0};
	for (int u = 0; u < 40; u++)
		for (int e = 0; e < 6; e++)
			ev[u * 6 + e] =
			        (cand_event_row){u, 1 + (u * 7 + e * 3) % 60, e, 0, 1 + e % 6};
	cand_build_params bp = {3600e3, 20, 10, 50, 100};
	cand_snap *snap;
	if (cand_snap_build(items, 60, ev, 240, &bp, 1, &snap) != 0)
		abort();
	st->cs_snap = snap; /* owned by the state from here */
	srv = fuzz_rpc_server(cand_routes, st);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (st == NULL)
		setup();
	fuzz_service_one(srv, cand_routes, arena, data, size);
	return 0;
}
