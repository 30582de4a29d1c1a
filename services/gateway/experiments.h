/* experiments: A/B experiments across published model versions (db/migrations/0006).
 *
 * Admin routes (GW_ACCESS_ADMIN), every one answering JSON; a refused call changes nothing:
 *   POST /v1/admin/experiments             create a draft: {"name", "hypothesis"?,
 *        "primary_metric" (ctr | add_to_cart_rate | conversion | gmv_per_customer), "salt"?
 *        (16-64 printable ASCII; default 32 random hex digits), "variants": 2-4 of {"name"
 *        ([a-z0-9_-]{1,32}, unique), "model_version" (a published version) | "model_kind"
 *        (follow a kind: below) | "strategy": "popular", "share" (0 < share <= 1)}} with
 *        shares summing to 1 (within 1e-6) and at most GW_EXP_VERSIONS_MAX distinct model
 *        versions, a kind counting as one -> 201 the experiment. 400 bad input (an unknown
 *        version, a kind no published version is of, both model_version and model_kind
 *        included). Names need not be unique: the id identifies.
 *   POST /v1/admin/experiments/{id}/start  draft -> running (a running one: 200, unchanged);
 *        409 when another one is running (experiments never overlap) or this one stopped.
 *   POST /v1/admin/experiments/{id}/stop   running -> stopped (a stopped one: 200, unchanged);
 *        409 for a draft.
 *   GET  /v1/admin/experiments             every experiment, newest first, and the running id.
 *   GET  /v1/admin/experiments/{id}        one experiment.
 *   Every experiment's variants carry "serving_version": the version this gateway's copy
 *   serves the variant now (null: popular, or the experiment is not running).
 *   GET  /v1/admin/experiments/{id}/report its KPIs (expreport.c).
 *
 * Assignment. A background thread reads the running experiment through the pool every
 * refresh period (RS_GATEWAY_EXPERIMENTS_REFRESH_MS, default 1000; start and stop through this
 * gateway apply at once, another gateway's within one period). The recommendation path reads
 * only that in-memory copy, never the database. A customer's variant is
 *   h = BLAKE2b-64(key = salt, message = the customer id as 8 little-endian bytes)
 *   u = (h >> 11) / 2^53  (uniform in [0, 1))
 * and the first variant (in order) whose cumulative share exceeds u (the last one takes the
 * rounding remainder): deterministic per customer and salt, independent across experiments.
 *
 * Model kinds (0008). A "model_kind" variant serves the newest published version of that kind
 * (model_versions.params->>'model', written by rs-train pipeline; newest by created_at), as the
 * refresher resolves it each period: a version published mid-experiment is served within one
 * period. A kind left without versions (rows deleted) serves the active version (logged).
 *
 * Bounded versions: rs-feature, rs-candidate and rs-ranking keep the active version plus an LRU
 * of RS_<SVC>_MODEL_CACHE other versions (default 2, rs_model.h). An experiment names at most
 * GW_EXP_VERSIONS_MAX (= that default) distinct model versions, so every version it serves
 * stays open in every service while it runs, whichever version is active. */
#ifndef GW_EXPERIMENTS_H
#define GW_EXPERIMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "req.h"

#define GW_EXP_VARIANTS_MAX     4
#define GW_EXP_VERSIONS_MAX     2
#define GW_EXP_NAME_MAX         100
#define GW_EXP_VARIANT_NAME_MAX 32
#define GW_EXP_VERSION_MAX      200
#define GW_EXP_SALT_MIN         16
#define GW_EXP_SALT_MAX         64
#define GW_EXP_REFRESH_DEFAULT  1000

typedef struct gw_experiments gw_experiments;

/* One customer's assignment (copied out of the running experiment). */
typedef struct gw_exp_assignment {
	int64_t a_experiment; /* 0 = no experiment is running */
	char a_variant[GW_EXP_VARIANT_NAME_MAX + 1];
	int a_popular;                          /* strategy "popular" */
	char a_version[GW_EXP_VERSION_MAX + 1]; /* strategy "model": the version */
} gw_exp_assignment;

/* gw_exp_bucket: the variant index (0..n-1) of customer user for salt and shares (n >= 1,
 * summing to 1). Pure; the rule above. */
int gw_exp_bucket(const char *salt, int64_t user, const double *shares, int n);

/* gw_experiments_open: the running-experiment copy and its refresher over db (refresh_ms <= 0:
 * the default). Returns 0 or RS_ENOMEM. */
int gw_experiments_open(gw_experiments **out, gw_db *db, int refresh_ms);
void gw_experiments_close(gw_experiments *e); /* NULL ok */

/* gw_experiments_reload: read the running experiment now (blocking, through the pool).
 * 0 or RS_EUNAVAIL (the copy is kept). */
int gw_experiments_reload(gw_experiments *e);

/* gw_experiments_assign: the assignment of user under the running experiment (a_experiment 0
 * when none). Never blocks on the database. */
void gw_experiments_assign(gw_experiments *e, int64_t user, gw_exp_assignment *out);

void gw_handle_exp_create(gw_server *srv, gw_req *req);
void gw_handle_exp_list(gw_server *srv, gw_req *req);
void gw_handle_exp_get(gw_server *srv, gw_req *req);
void gw_handle_exp_start(gw_server *srv, gw_req *req);
void gw_handle_exp_stop(gw_server *srv, gw_req *req);
void gw_handle_exp_report(gw_server *srv, gw_req *req); /* expreport.c */

#endif
