/* Target rpc_candidate: METHOD_CANDIDATES and METHOD_SIMILAR bodies through rs-candidate's
 * handlers, over a snapshot built in memory (tests/support/cand_snapshot.h, the one
 * tests/services/candidate/fuzz_test.c uses). Properties: no memory error; a well-formed
 * reply with a known status. */
#include "service.h"

#include "cand_snapshot.h"
#include "candidate.h"

static cand_state *st;
static rs_rpc_server *srv;
static rs_arena *arena;

static void
setup(void)
{
	if (cand_fx_open(&st, "fuzz-candidate") != 0 || rs_arena_create(&arena, 0) != 0)
		abort();
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
