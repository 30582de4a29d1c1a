/* Fake downstreams: handlers for ingest, feature, candidate and ranking that answer fixed
 * protobuf replies, shared by the tests and gw-fake-downstreams (both tcp://). */
#ifndef GW_TEST_FAKE_SERVERS_H
#define GW_TEST_FAKE_SERVERS_H

#include <stdatomic.h>

#include "rs_rpc.h"

#define T_FAKE_NCAND   30  /* candidates the fake candidate returns (ids 101..130) */
#define T_POPULAR_BASE 200 /* the popular list (user 0) is ids 201..220 */
/* This customer's history also has a purchase of the most popular item (T_POPULAR_BASE + 1)
 * and the second (T_POPULAR_BASE + 2) marked not interested. */
#define T_USER_POPULAR_BUYER 77

/* What the fakes saw and how they behave; reset by t_start. */
typedef struct t_fake_state {
	atomic_int feature_calls, candidate_calls, ranking_calls, ingest_calls;
	atomic_int last_cand_n_recent, last_cand_k, last_rank_n_cands, last_ingest_n;
	atomic_long last_cand_user;
	atomic_int ranking_delay_ms; /* sleep before answering */
	atomic_int feature_delay_ms;
	char last_request_id[80]; /* the feature call's request id */
	/* what the last recommendation's hops carried (inspector parameters) */
	atomic_int last_feat_n_hyp, last_feat_max_events, last_cand_n_exclude,
	        last_rank_explain_items;
	atomic_long last_feat_hyp_item0, last_cand_exclude0;
	atomic_int last_feat_hyp_type0;
	char last_feat_version[64], last_cand_version[64], last_rank_version[64];
	/* 1 when the last RankRequest.retrieval was the fake candidate's answer whole (header,
	 * source_stats, filtered, ranker_sources and every candidate's ranker scores) */
	atomic_int last_rank_retrieval_whole;
} t_fake_state;

/* A model version the fakes do not know: feature, candidate and ranking answer NOT_FOUND. */
#define T_MISSING_VERSION "no-such-version"
/* Every candidate from "covisit" (odd positions; even ones are "popular") was led there by
 * history item 7 (its because_item), which every customer viewed.
 * The fake candidate's answer also carries (explain): "als" ranks 1..6 on items 111..116
 * (score 0.06 - 0.01 (rank - 1)), source_stats for popular, covisit and als, a filtered
 * report {purchased: 2, [7, 9]} (CandidatesResponse.filtered), and ranker_sources "als" and
 * "pop" with each candidate's ranker_scores {0.5, item id} and ranker_ranks {1, 2}. The fake
 * ranking answers explain with ranker "linear", base_score 0.25, contributions "exact" and two
 * features per item whose contributions add up to the score. */
#define T_FAKE_BASE_SCORE 0.25f

extern t_fake_state t_fake;
extern int fake_ncand; /* candidates per answer (T_FAKE_NCAND unless changed) */

/* Route tables, in the order ingest, feature, candidate, ranking. */
extern const rs_rpc_route *const fake_routes[4];

#endif
