/* rs-gateway: wiring only. Config -> log -> server (clients, popular cache, HTTP) -> wait for
 * SIGTERM/SIGINT -> close (in-flight requests finish) -> exit 0. With arguments: the account
 * tooling (cli.h: `rs-gateway account ...`, `rs-gateway apikey ...`, `rs-gateway --help`). */
#include "cli.h"
#include "gateway.h"

#include "rs_err.h"
#include "rs_log.h"
#include "rs_proc.h"
#include "rs_rpc.h"

#include <stdio.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	gw_config cfg;
	gw_server *srv = NULL;
	char err[512];
	int rv;

	if (argc > 1)
		return gw_cli_main(argc, argv);
	if (gw_config_load(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "rs-gateway: %s\n", err);
		return 2;
	}
	rs_log_init("gateway", cfg.log_level);
	rs_rpc_set_transport((rs_rpc_transport) cfg.rpc_transport);
	gw_config_log(&cfg);
	rs_proc_install_signals();
	if ((rv = gw_server_open(&srv, &cfg)) != 0) {
		rs_log_error("svc.start_failed", "err=\"%s\"", rs_strerror(rv));
		return 1;
	}
	rs_log_info("svc.ready", "http=%s port=%d threads=%d deadline_ms=%d", cfg.http_addr,
	            gw_server_port(srv), cfg.threads, cfg.deadline_ms);
	while (!rs_proc_stop_requested())
		usleep(50 * 1000);
	rs_log_info("svc.stopping", "reason=signal");
	gw_server_close(srv);
	rs_log_info("svc.stopped", "ok=1");
	return 0;
}
