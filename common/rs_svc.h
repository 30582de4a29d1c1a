/* rs_svc: the main() of an RPC service (rs-feature, rs-candidate, rs-ranking): configuration,
 * logging, the service's state, the RPC server and the /metrics listener, a wait for a stop
 * signal, then the shut-down in reverse order. The service's main.c keeps its configuration
 * table and says what it opens (rs_svc). */
#ifndef RS_SVC_H
#define RS_SVC_H

#include <stddef.h>

#include "rs_cfg.h"
#include "rs_rpc.h"

/* Where rs_svc_main finds the settings every RPC service has in the service's configuration
 * struct: byte offsets of url (RS_<SVC>_URL), metrics_addr (RS_<SVC>_METRICS_ADDR), workers,
 * max_conns (int), log_level (rs_log_level) and rpc_transport (int, rs_rpc_transport). */
typedef struct rs_svc_fields {
	size_t url, metrics_addr, workers, max_conns, log_level, rpc_transport;
} rs_svc_fields;

/* RS_SVC_FIELDS(T): the offsets for a configuration struct T whose members carry those names. */
#define RS_SVC_FIELDS(T)                                                                           \
	{                                                                                          \
		offsetof(T, url), offsetof(T, metrics_addr), offsetof(T, workers),                 \
		        offsetof(T, max_conns), offsetof(T, log_level), offsetof(T, rpc_transport) \
	}

typedef struct rs_svc {
	const char *name;               /* "candidate": the log's and the metrics' service name */
	const rs_cfg_field *cfg_fields; /* the configuration table (rs_cfg_load) */
	void *cfg;                      /* the configuration struct the table fills */
	rs_svc_fields at;               /* RS_SVC_FIELDS(that struct's type) */
	const rs_rpc_route *routes;     /* served with the state as their ud */
	/* open: the state from the configuration: 0, or an RS_E* code (logged as NAME.open_failed;
	 * the service exits). close: frees what open made; called with NULL when open failed. */
	int (*open)(void **state, const void *cfg);
	void (*close)(void *state);
	/* describe: optional, " key=value ..." for the svc.ready line (into buf, size n), called
	 * once both listeners are up. */
	void (*describe)(void *state, const void *cfg, char *buf, size_t n);
} rs_svc;

/* rs_svc_main: run the service until SIGTERM or SIGINT. Returns main's exit status: 0 after a
 * stop signal, 2 for a bad configuration (the reason on stderr), 1 when it could not start
 * (logged: NAME.open_failed, svc.listen_failed). */
int rs_svc_main(const rs_svc *svc);

#endif
