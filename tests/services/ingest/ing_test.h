/* Shared fixture for the ingest suites: a fresh schema with the migrations applied, a writer,
 * an rs_rpc server on the production transport (rpc_listen.h: tcp, a kernel-picked port; its URL in
 * rpc_url once started) and a client. */
#ifndef ING_TEST_H
#define ING_TEST_H

#include <libpq-fe.h>

#include "event.pb-c.h"
#include "ingest.h"

typedef struct ing_fx {
	char schema[64];
	char rpc_url[96];
	char pub_url[96];
	char spool_dir[256];
	const char *dsn;
	PGconn *pg; /* search_path = schema */
	ing_writer *writer;
	rs_rpc_server *srv;
	rs_rpc_client *cli;
	ing_ctx ctx;
} ing_fx;

#endif
