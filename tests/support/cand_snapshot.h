/* cand_snapshot.h: rs-candidate's state over a snapshot built in memory, without PostgreSQL
 * (the DSN names port 1 and the refresh waits an hour): 60 items in 3 categories ("A/X",
 * "A/Y", "B"; every 4th without a price, every 5th out of stock), 40 users with 6 events
 * each. For tests/services/candidate/fuzz_test.c and the libFuzzer
 * target tests/fuzz/rpc_candidate.c, which feed the handlers mutated bodies over it.
 * Header-only; needs candidate_lib. */
#ifndef RS_TEST_CAND_SNAPSHOT_H
#define RS_TEST_CAND_SNAPSHOT_H

#include "candidate.h"
#include "rs_log.h"

/* cand_fx_open: the state (log name log_name, errors only) with the snapshot installed.
 * Returns 0 and *out (cand_close frees it, the snapshot too), or -1. */
static inline int
cand_fx_open(cand_state **out, const char *log_name)
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
	static cand_item_row items[60];
	static cand_event_row ev[240];
	static const char *cats[] = {"A/X", "A/Y", "B"};
	cand_build_params bp = {3600e3, 20, 10, 50, 100};
	cand_state *st;
	cand_snap *snap;

	rs_log_init(log_name, RS_LOG_ERROR);
	if (cand_open(&st, &cfg) != 0)
		return -1;
	for (int i = 0; i < 60; i++)
		items[i] =
		        (cand_item_row){1 + i, "t", cats[i % 3], 1.0 + i, i % 4 != 0, i % 5 != 0};
	for (int u = 0; u < 40; u++)
		for (int e = 0; e < 6; e++)
			ev[u * 6 + e] =
			        (cand_event_row){u, 1 + (u * 7 + e * 3) % 60, e, 0, 1 + e % 6};
	if (cand_snap_build(items, 60, ev, 240, &bp, 1, &snap) != 0) {
		cand_close(st);
		return -1;
	}
	st->cs_snap = snap; /* owned by the state from here */
	*out = st;
	return 0;
}

#endif
