/* Fake downstreams (feature, candidate, ranking, ingest) as rs_rpc servers on inproc://,
 * a gateway started on an ephemeral 127.0.0.1 port, and a libcurl helper. */
#ifndef GW_TEST_FAKES_H
#define GW_TEST_FAKES_H

#include <jansson.h>
#include <stdatomic.h>

#include "gateway.h"

#define T_FAKE_NCAND   30  /* candidates the fake candidate returns (ids 101..130) */
#define T_POPULAR_BASE 200 /* the popular list (user 0) is ids 201..220 */

/* What the fakes saw and how they behave; reset by t_start. */
typedef struct t_fake_state {
	atomic_int feature_calls, candidate_calls, ranking_calls, ingest_calls;
	atomic_int last_cand_n_recent, last_cand_k, last_rank_n_cands, last_ingest_n;
	atomic_long last_cand_user;
	atomic_int ranking_delay_ms; /* sleep before answering */
	char last_request_id[80];   /* the feature call's request id */
} t_fake_state;

extern t_fake_state t_fake;

enum { T_INGEST = 1, T_FEATURE = 2, T_CANDIDATE = 4, T_RANKING = 8, T_ALL = 15 };

/* t_start: start the fakes in mask and a gateway on 127.0.0.1:0 dialling all four, wait
 * until the started fakes are connected. deadline_ms 250, max body 4096. */
void t_start(int mask);

/* t_stop_fake: close one fake (T_RANKING...) and wait until the gateway sees it gone. */
void t_stop_fake(int which);

/* t_stop: close the gateway and the remaining fakes. */
void t_stop(void);

gw_server *t_gateway(void);

typedef struct t_resp {
	long status;
	char *body;
	size_t len;
	char ctype[128];
	char request_id[96];
	char allow[96];
	double ms;
	long connects; /* new connections opened by this transfer */
	json_t *json;  /* parsed body or NULL */
} t_resp;

/* t_http: one request on a shared keep-alive curl handle; body may be NULL; extra_header
 * ("Name: value") may be NULL. Asserts the transfer worked. */
void t_http(const char *method, const char *path, const char *body, const char *extra_header,
            t_resp *out);
void t_resp_free(t_resp *r);

/* t_expect_error: the reply is status with a JSON {"error": {"code", "message"}} body;
 * returns nothing, asserts. code may be NULL (not checked). */
void t_expect_error(const char *method, const char *path, const char *body, long status,
                    const char *code);

#endif
