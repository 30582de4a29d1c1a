/* rs_svc: see rs_svc.h. */
#include "rs_svc.h"

#include <stdio.h>
#include <time.h>

#include "rs_err.h"
#include "rs_log.h"
#include "rs_metrics_http.h"
#include "rs_proc.h"
#include "rs_time.h"

#define SVC_AT(svc, T, field) (*(T *) ((char *) (svc)->cfg + (svc)->at.field))

/* The configuration loaded and logged, logging and the RPC transport set; 0 or 2 (main's
 * exit status for a bad configuration). */
static int
svc_configure(const rs_svc *svc)
{
	char err[256];

	if (rs_cfg_load(svc->cfg_fields, svc->cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "rs-%s: %s\n", svc->name, err);
		return 2;
	}
	rs_log_init(svc->name, SVC_AT(svc, rs_log_level, log_level));
	rs_rpc_set_transport((rs_rpc_transport) SVC_AT(svc, int, rpc_transport));
	rs_cfg_log(svc->cfg_fields, svc->cfg);
	rs_proc_install_signals();
	return 0;
}

int
rs_svc_main(const rs_svc *svc)
{
	const char *url, *metrics_addr;
	rs_rpc_server *srv = NULL;
	rs_metrics_http *mh = NULL;
	void *st = NULL;
	char event[64], more[256] = "";
	int rv;

	if (svc_configure(svc) != 0)
		return 2;
	url = SVC_AT(svc, const char *, url);
	metrics_addr = SVC_AT(svc, const char *, metrics_addr);
	rs_rpc_server_cfg rcfg = {.workers = SVC_AT(svc, int, workers),
	                          .max_conns = SVC_AT(svc, int, max_conns)};
	if ((rv = svc->open(&st, svc->cfg)) != 0) {
		snprintf(event, sizeof(event), "%s.open_failed", svc->name);
		rs_log_error(event, "err=\"%s\"", rs_strerror(rv));
		goto out;
	}
	if ((rv = rs_rpc_server_start(&srv, url, &rcfg, svc->routes, st)) != 0) {
		rs_log_error("svc.listen_failed", "url=%s err=\"%s\"", url, rs_strerror(rv));
		goto out;
	}
	if ((rv = rs_metrics_http_start(&mh, metrics_addr, svc->name)) != 0) {
		rs_log_error("svc.listen_failed", "metrics=%s err=\"%s\"", metrics_addr,
		             rs_strerror(rv));
		goto out;
	}
	if (svc->describe != NULL)
		svc->describe(st, svc->cfg, more, sizeof(more));
	rs_log_info("svc.ready", "url=%s metrics=%s workers=%d%s", url, metrics_addr, rcfg.workers,
	            more);
	while (!rs_proc_stop_requested())
		rs_sleep_ms(100);
	rs_log_info("svc.stopping", "reason=signal");
out:
	rs_rpc_server_close(srv); /* finishes in-flight requests */
	rs_metrics_http_stop(mh);
	svc->close(st);
	return rv == 0 ? 0 : 1;
}
