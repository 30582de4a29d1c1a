/* rs-ingest: validate event batches, make them durable exactly once, publish them.
 * See README.md for the messages, rules and environment. */
#ifndef ING_INGEST_H
#define ING_INGEST_H

#include "rs_log.h"
#include "rs_rpc.h"
#include "writer.h"

typedef struct ing_config {
	const char *pg_dsn;
	const char *listen_url;
	const char *pub_url;
	const char *spool_dir;
	const char *migrations_dir;
	const char *metrics_addr; /* RS_INGEST_METRICS_ADDR: /metrics listener */
	int workers;
	int max_conns; /* RS_INGEST_MAX_CONNS: RPC connections served at once */
	int writers;
	int max_batch;
	int group_max;
	int migrate_on_start;
	rs_log_level log_level;
	int rpc_transport; /* rs_rpc_transport */
} ing_config;

/* The state every handler sees (the rs_rpc user data). */
typedef struct ing_ctx {
	ing_writer *writer; /* borrowed; outlives the server */
	int max_batch;      /* events per EventBatch; more is STATUS_INVALID */
	int64_t started_ms;
} ing_ctx;

/* handler.c: the route table (EVENT_BATCH, HEALTH) for rs_rpc_server_open with an ing_ctx. */
extern const rs_rpc_route ing_routes[];

void ing_handle_event_batch(void *ud, rs_rpc_call *call);
void ing_handle_health(void *ud, rs_rpc_call *call);

#endif
