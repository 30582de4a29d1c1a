/* Fake downstreams: handlers for ingest, feature, candidate and ranking that answer fixed
 * protobuf replies, shared by the tests (inproc://) and gw-fake-downstreams (tcp://). */
#ifndef GW_TEST_FAKE_SERVERS_H
#define GW_TEST_FAKE_SERVERS_H

#include <stdatomic.h>

#include "rs_rpc.h"

#define T_FAKE_NCAND   30  /* candidates the fake candidate returns (ids 101..130) */
#define T_POPULAR_BASE 200 /* the popular list (user 0) is ids 201..220 */

/* What the fakes saw and how they behave; reset by t_start. */
typedef struct t_fake_state {
	atomic_int feature_calls, candidate_calls, ranking_calls, ingest_calls;
	atomic_int last_cand_n_recent, last_cand_k, last_rank_n_cands, last_ingest_n;
	atomic_long last_cand_user;
	atomic_int ranking_delay_ms; /* sleep before answering */
	atomic_int feature_delay_ms;
	char last_request_id[80]; /* the feature call's request id */
} t_fake_state;

extern t_fake_state t_fake;
extern int fake_ncand; /* candidates per answer (T_FAKE_NCAND unless changed) */

/* Route tables, in the order ingest, feature, candidate, ranking. */
extern const rs_rpc_route *const fake_routes[4];

#endif
