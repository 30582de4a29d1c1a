/* rs_mhd: starting a libmicrohttpd daemon the one way every listener of ours does (the
 * gateway's API and the services' /metrics listener): a numeric "host:port" bind address,
 * MHD's own messages logged as warnings under the caller's event name, error logging on, IPv6
 * when the address is. Its own library (rs_mhd) so only what listens links libmicrohttpd. */
#ifndef RS_MHD_H
#define RS_MHD_H

#include <microhttpd.h>
#include <stddef.h>
#include <sys/socket.h>

/* rs_mhd_parse_addr: "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:0" (a numeric host) -> *ss
 * and, when len is not NULL, *len. Returns 0 or RS_EINVAL. */
int rs_mhd_parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len);

/* What differs between our daemons. Zero fields take MHD's defaults (no thread pool, MHD's
 * connection memory, no callbacks). */
typedef struct rs_mhd_opts {
	unsigned flags;           /* threading: MHD_USE_* (ERROR_LOG and IPv6 are added) */
	unsigned thread_pool;     /* MHD_OPTION_THREAD_POOL_SIZE */
	unsigned max_connections; /* MHD_OPTION_CONNECTION_LIMIT */
	unsigned idle_timeout_s;  /* MHD_OPTION_CONNECTION_TIMEOUT */
	size_t memory_limit;      /* MHD_OPTION_CONNECTION_MEMORY_LIMIT */
	MHD_RequestCompletedCallback completed;
	void *completed_cls;
	void *(*uri_log)(void *cls, const char *uri, struct MHD_Connection *conn);
	void *uri_log_cls;
} rs_mhd_opts;

/* rs_mhd_start: a daemon on addr answering with access(access_cls, ...); MHD's messages are
 * logged as warnings with event log_event (a string that outlives the daemon). *port gets the
 * bound TCP port. Returns 0 and *out, RS_EINVAL (addr is not a numeric host:port) or
 * RS_EEXIST (MHD could not start: the address is taken or not ours). */
int rs_mhd_start(struct MHD_Daemon **out, int *port, const char *addr, const rs_mhd_opts *o,
                 MHD_AccessHandlerCallback access, void *access_cls, const char *log_event);

#endif
