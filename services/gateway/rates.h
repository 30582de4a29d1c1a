/* rates: per-client request rates on every route (token buckets, ratelimit.h), answered 429
 * with Retry-After and a JSON error before any handler runs.
 *
 * Each route belongs to a rate class (gw_rate_class: the route table in router.c). A request is
 * charged to exactly one bucket, chosen by who is calling (auth.h resolves it first):
 *  - an API key: that key's bucket (RS_GATEWAY_RATE_APIKEY), shared by all its routes; the
 *    admin token counts as one more key (it is a machine credential too);
 *  - a customer's or an admin's session: that account's bucket of the route's class;
 *  - anyone else (no credentials, a wrong bearer token, an ended session): the client
 *    address's bucket of the route's class.
 * A class's rate is "N/s" or "N/m" (N tokens per second or minute), optionally ":B" for the
 * burst (tokens a bucket holds; default twice the rate per second, at least 1), or "off". The
 * defaults (RS_GATEWAY_RATE_* in config.c, docs/SECURITY.md says why) are far above what the
 * web UI and the benchmarks send. Memory is fixed: GW_RATE_TRACKED buckets per class. */
#ifndef GW_RATES_H
#define GW_RATES_H

#include "gateway.h"
#include "req.h"

typedef enum gw_rate_class {
	GW_RATE_READ = 0, /* GET routes of the API, the UI's files, 404/405 answers */
	GW_RATE_WRITE,    /* events, impressions, catalog writes */
	GW_RATE_LOGIN,    /* POST /v1/auth/login and /logout */
	GW_RATE_ADMIN,    /* every /v1/admin/ route */
	GW_RATE_OPS,      /* /healthz, /readyz, /metrics */
	GW_RATE_NCLASS,
} gw_rate_class;

#define GW_RATE_TRACKED 8192 /* buckets per class (and for API keys) */

/* The defaults of the configuration table (config.c). */
#define GW_RATE_READ_DEFAULT   "200/s:400"
#define GW_RATE_WRITE_DEFAULT  "200/s:400"
#define GW_RATE_LOGIN_DEFAULT  "10/s:20"
#define GW_RATE_ADMIN_DEFAULT  "50/s:100"
#define GW_RATE_OPS_DEFAULT    "100/s:200"
#define GW_RATE_APIKEY_DEFAULT "50000/s:100000"

typedef struct gw_limits gw_limits;

/* gw_limits_parse: a rate spec ("200/s", "6/m:2", "off") -> rate tokens per per_ms, burst;
 * rate 0 = off. Returns 0 or -1. */
int gw_limits_parse(const char *spec, int *rate, int64_t *per_ms, int *burst);

/* gw_limits_open: the buckets for cfg's RS_GATEWAY_RATE_* (NULL fields: the defaults). Returns
 * 0, RS_EINVAL (a bad spec, named in the log) or RS_ENOMEM. */
int gw_limits_open(gw_limits **out, const gw_config *cfg);

/* gw_limits_close: free. NULL is a no-op. */
void gw_limits_close(gw_limits *l);

/* gw_limits_admit: charge req (r_who resolved) to its bucket of cls. 0: go on; -1: the 429
 * (Retry-After, JSON error "rate_limited") is in req. l NULL: always 0. */
int gw_limits_admit(gw_limits *l, gw_req *req, gw_rate_class cls);

#endif
