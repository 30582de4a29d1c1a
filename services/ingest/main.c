/* rs-ingest: wiring only (see handler.c and writer.c for the logic).
 *   rs-ingest            serve (RS_INGEST_URL), publish (RS_INGEST_PUB_URL)
 *   rs-ingest migrate    apply pending db/migrations and exit */
#include "ingest.h"
#include "rs_migrate.h"
#include "rs_cfg.h"
#include "rs_err.h"
#include "rs_metrics_http.h"
#include "rs_pg.h"
#include "rs_proc.h"
#include "rs_rpc.h"
#include "rs_time.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const rs_cfg_field ing_cfg[] = {
        RS_CFG_SECRET("RS_PG_DSN", ing_config, pg_dsn,
                      "host=127.0.0.1 port=25432 user=postgres dbname=recsys"),
        RS_CFG_STR("RS_INGEST_URL", ing_config, listen_url, "tcp://127.0.0.1:7100"),
        RS_CFG_STR("RS_INGEST_PUB_URL", ing_config, pub_url, "tcp://127.0.0.1:7101"),
        RS_CFG_STR("RS_INGEST_METRICS_ADDR", ing_config, metrics_addr, "127.0.0.1:7190"),
        RS_CFG_STR("RS_INGEST_SPOOL_DIR", ing_config, spool_dir, "var/spool"),
        RS_CFG_STR("RS_INGEST_MIGRATIONS_DIR", ing_config, migrations_dir, "db/migrations"),
        RS_CFG_INT("RS_INGEST_WORKERS", ing_config, workers, 4, 1, 64),
        RS_CFG_INT("RS_INGEST_MAX_CONNS", ing_config, max_conns, 256, 1, 65536),
        RS_CFG_INT("RS_INGEST_WRITERS", ing_config, writers, 2, 1, 16),
        RS_CFG_INT("RS_INGEST_MAX_BATCH", ing_config, max_batch, 1000, 1, 100000),
        RS_CFG_INT("RS_INGEST_GROUP_MAX", ing_config, group_max, 20000, 1, 1000000),
        RS_CFG_INT("RS_INGEST_MIGRATE", ing_config, migrate_on_start, 0, 0, 1),
        RS_CFG_LEVEL("RS_LOG_LEVEL", ing_config, log_level, "info"),
        RS_CFG_ENUM("RS_RPC_TRANSPORT", ing_config, rpc_transport, "socket", RS_RPC_TRANSPORTS),
        RS_CFG_END,
};

static int
ing_run_migrations(const ing_config *cfg)
{
	PGconn *conn;
	int applied = 0, rv;
	if ((rv = rs_pg_connect(cfg->pg_dsn, &conn)) != 0)
		return rv;
	rv = rs_migrate_apply(conn, cfg->migrations_dir, &applied);
	PQfinish(conn);
	if (rv == 0)
		rs_log_info("migrate.done", "applied=%d dir=%s", applied, cfg->migrations_dir);
	return rv;
}

int
main(int argc, char **argv)
{
	ing_config cfg;
	char err[512];
	ing_writer *writer = NULL;
	rs_rpc_server *srv = NULL;
	rs_metrics_http *mh = NULL;
	ing_ctx ctx;
	int rv;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: rs-ingest [migrate]\n"
		       "  (no argument)  serve EventBatch on RS_INGEST_URL, publish on "
		       "RS_INGEST_PUB_URL\n"
		       "  migrate        apply pending RS_INGEST_MIGRATIONS_DIR migrations and "
		       "exit\n"
		       "See services/ingest/README.md for the environment.\n");
		return 0;
	}
	if (rs_cfg_load(ing_cfg, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "rs-ingest: %s\n", err);
		return 2;
	}
	rs_log_init("ingest", cfg.log_level);
	rs_rpc_set_transport((rs_rpc_transport) cfg.rpc_transport);
	if (argc > 1 && strcmp(argv[1], "migrate") == 0) {
		rv = ing_run_migrations(&cfg);
		if (rv != 0)
			fprintf(stderr, "rs-ingest migrate: %s\n", rs_strerror(rv));
		return rv == 0 ? 0 : 1;
	}
	if (argc > 1) {
		fprintf(stderr, "rs-ingest: unknown argument %s (try --help)\n", argv[1]);
		return 2;
	}
	rs_cfg_log(ing_cfg, &cfg);
	rs_proc_install_signals();
	if (cfg.migrate_on_start && (rv = ing_run_migrations(&cfg)) != 0) {
		rs_log_error("ingest.migrate_failed", "err=%s", rs_strerror(rv));
		return 1;
	}

	ing_writer_opts wo = {
	        .dsn = cfg.pg_dsn,
	        .spool_dir = cfg.spool_dir[0] ? cfg.spool_dir : NULL,
	        .pub_url = cfg.pub_url[0] ? cfg.pub_url : NULL,
	        .group_max_events = (size_t) cfg.group_max,
	        .writers = cfg.writers,
	};
	if ((rv = ing_writer_open(&writer, &wo)) != 0) {
		rs_log_error("ingest.start_failed", "what=writer err=%s", rs_strerror(rv));
		return 1;
	}
	ctx.writer = writer;
	ctx.max_batch = cfg.max_batch;
	ctx.started_ms = rs_now_ms();
	rs_rpc_server_cfg rcfg = {.workers = cfg.workers, .max_conns = cfg.max_conns};
	if ((rv = rs_rpc_server_start(&srv, cfg.listen_url, &rcfg, ing_routes, &ctx)) != 0) {
		rs_log_error("ingest.start_failed", "what=rpc url=%s err=%s", cfg.listen_url,
		             rs_strerror(rv));
		ing_writer_close(writer);
		return 1;
	}
	if ((rv = rs_metrics_http_start(&mh, cfg.metrics_addr, "ingest")) != 0) {
		rs_log_error("ingest.start_failed", "what=metrics addr=%s err=%s", cfg.metrics_addr,
		             rs_strerror(rv));
		rs_rpc_server_close(srv);
		ing_writer_close(writer);
		return 1;
	}
	rs_log_info("svc.ready",
	            "listen=%s metrics=%s pub=%s spool=%s workers=%d writers=%d max_batch=%d",
	            cfg.listen_url, cfg.metrics_addr, cfg.pub_url, cfg.spool_dir, cfg.workers,
	            cfg.writers, cfg.max_batch);
	while (!rs_proc_stop_requested())
		usleep(100 * 1000);
	rs_log_info("svc.stopping", "reason=signal");
	rs_rpc_server_close(srv); /* answers in-flight batches (the writer is still running) */
	rs_metrics_http_stop(mh);
	ing_writer_close(writer);
	rs_log_info("svc.stopped", "ok=1");
	return 0;
}
