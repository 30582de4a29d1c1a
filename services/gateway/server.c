#include "account.h"
#include "auth.h"
#include "datareport.h"
#include "db.h"
#include "experiments.h"
#include "gateway.h"
#include "http.h"
#include "impressions.h"
#include "rates.h"
#include "metrics.h"
#include "popular.h"
#include "router.h"
#include "static.h"

#include "rs_err.h"
#include "rs_log.h"

#include <jansson.h>
#include <stdlib.h>

int
gw_server_open(gw_server **out, const gw_config *cfg)
{
	gw_server *srv;
	const char *urls[GW_NDOWN];
	const char *routes[GW_METRICS_MAX_ROUTES];
	int rv;

	/* jansson seeds its hash function on first use; do it before threads exist. */
	json_object_seed(0);
	gw_metrics_init(routes, gw_route_names(routes, GW_METRICS_MAX_ROUTES));
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return RS_ENOMEM;
	srv->s_cfg = *cfg;
	urls[GW_INGEST] = cfg->ingest_url;
	urls[GW_FEATURE] = cfg->feature_url;
	urls[GW_CANDIDATE] = cfg->candidate_url;
	urls[GW_RANKING] = cfg->ranking_url;
	for (int i = 0; i < GW_NDOWN; i++) {
		if ((rv = rs_rpc_client_open(&srv->s_clients[i], urls[i])) != 0) {
			rs_log_error("gw.dial_failed", "svc=%s url=%s err=\"%s\"",
			             gw_downstream_names[i], urls[i], rs_strerror(rv));
			goto fail;
		}
	}
	if ((rv = gw_db_open(&srv->s_db, cfg->pg_dsn, cfg->pg_pool, cfg->pg_timeout_ms)) != 0)
		goto fail;
	rv = gw_popular_create(&srv->s_popular, srv->s_clients[GW_CANDIDATE], srv->s_db,
	                       cfg->popular_refresh_ms, cfg->popular_k, cfg->deadline_ms);
	if (rv != 0)
		goto fail;
	if ((rv = gw_auth_open(&srv->s_auth, srv->s_db)) != 0)
		goto fail;
	if ((rv = gw_account_open(&srv->s_account)) != 0)
		goto fail;
	if ((rv = gw_limits_open(&srv->s_limits, cfg)) != 0)
		goto fail;
	if ((rv = gw_experiments_open(&srv->s_experiments, srv->s_db,
	                              cfg->experiments_refresh_ms)) != 0)
		goto fail;
	if ((rv = gw_impressions_open(&srv->s_impressions, cfg->pg_dsn, cfg->impressions_queue)) !=
	    0)
		goto fail;
	if ((rv = gw_datareport_open(&srv->s_datareport, GW_DATAREPORT_TTL_S)) != 0)
		goto fail;
	if (cfg->ui_dir != NULL && cfg->ui_dir[0] != '\0' &&
	    (rv = gw_static_open(&srv->s_static, cfg->ui_dir)) != 0)
		goto fail;
	if ((rv = gw_http_open(&srv->s_http, srv, &srv->s_cfg)) != 0)
		goto fail;
	*out = srv;
	return 0;
fail:
	gw_server_close(srv);
	return rv;
}

int
gw_server_port(const gw_server *srv)
{
	return gw_http_port(srv->s_http);
}

void
gw_server_close(gw_server *srv)
{
	if (srv == NULL)
		return;
	gw_http_close(srv->s_http);
	gw_impressions_close(srv->s_impressions); /* after the requests: writes what they queued */
	gw_popular_destroy(srv->s_popular);
	gw_account_close(srv->s_account);
	gw_limits_close(srv->s_limits);
	gw_experiments_close(srv->s_experiments); /* stops the refresher, which uses the pool */
	gw_auth_close(srv->s_auth);               /* stops the refresher, which uses the pool */
	gw_datareport_close(srv->s_datareport);
	gw_db_close(srv->s_db);
	gw_static_close(srv->s_static);
	for (int i = 0; i < GW_NDOWN; i++)
		rs_rpc_client_close(srv->s_clients[i]);
	free(srv);
}
