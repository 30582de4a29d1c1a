/* rs_rpc_sp: rs_rpc's transport for tcp:// and ipc:// URLs, NNG's SP wire protocol (REQ/REP
 * version 0 over the TCP and IPC mappings) spoken over plain blocking sockets.
 *
 * Why: an NNG req/rep round trip costs ~12 context switches on this machine (the caller, NNG's
 * poller and task-queue threads on both sides, the handler); a blocking socket per call costs
 * 2 (the caller wakes the connection's server thread, which answers and wakes the caller).
 * The bytes on the wire are the same as NNG's, so NNG req sockets (tests/support/rpc_raw.h,
 * nngcat) can still call an rs_rpc server and rs_rpc clients can call a plain NNG rep socket.
 *
 * Server: a listening socket, an accept thread and one thread per connection, at most
 * `max_conns` of them: at the cap it stops accepting and further connections wait in the
 * kernel's listen backlog until one closes (back-pressure instead of unbounded threads); a
 * semaphore keeps at most `workers` handlers running at once. Client: a pool of idle connections
 * (one call at a time per connection, opened on demand) plus one monitor connection that tells
 * whether the peer is up and reconnects in the background with backoff (20 ms .. 500 ms).
 *
 * Internal to common/ (rs_rpc.c is the only user). */
#ifndef RS_RPC_SP_H
#define RS_RPC_SP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "rs_arena.h"
#include "rs_metrics.h"

/* rpc_sp_handles: 1 when this transport can serve url (tcp://, tcp4://, tcp6://, ipc://);
 * rs_rpc uses it for them unless rs_rpc_set_transport() chose NNG's sockets. */
int rpc_sp_handles(const char *url);

/* Handles one request (the body after the SP header). The reply is *pre (prelen bytes)
 * followed by *body (bodylen bytes), memory that stays valid until the arena is reset.
 * Returns 0, or non-zero to send no reply (the connection is closed). */
typedef int (*rpc_sp_handler)(void *ud, rs_arena *arena, const uint8_t *req, size_t len,
                              uint8_t **pre, size_t *prelen, const uint8_t **body, size_t *bodylen);

typedef struct rpc_sp_server rpc_sp_server;

/* rpc_sp_server_open: listen on url (tcp port 0: one the kernel picks); at most `workers`
 * calls of fn at once and `max_conns` (>= 1) connections. ud must outlive the server. Returns 0,
 * RS_EINVAL (bad url or max_conns), RS_EEXIST (address in use), RS_ENOMEM, RS_EIO. */
int rpc_sp_server_open(rpc_sp_server **out, const char *url, int workers, int max_conns,
                       rpc_sp_handler fn, void *ud);

/* rpc_sp_server_port: the bound TCP port (0 for ipc). */
int rpc_sp_server_port(const rpc_sp_server *s);

/* rpc_sp_server_conns: connections open now (each with its thread). */
int rpc_sp_server_conns(rpc_sp_server *s);

/* rpc_sp_server_close: stop accepting, let every request being handled be answered, close all
 * connections, join all threads, free. An ipc:// socket file is removed. NULL is a no-op. */
void rpc_sp_server_close(rpc_sp_server *s);

/* rpc_conn_metrics: a server's connection metrics (both transports), with labels:
 * rs_rpc_connections (gauge) and rs_rpc_connections_full_total (counter). */
void rpc_conn_metrics(const char *labels, rs_metric **conns, rs_metric **full);

typedef struct rpc_sp_client rpc_sp_client;

/* rpc_sp_client_open: a client for url; connecting happens in the background. Returns 0,
 * RS_EINVAL, RS_ENOMEM. */
int rpc_sp_client_open(rpc_sp_client **out, const char *url);

/* rpc_sp_client_close: close every connection, stop the monitor, free. No call may be in
 * progress. NULL is a no-op. */
void rpc_sp_client_close(rpc_sp_client *c);

/* rpc_sp_client_connected: live connections (0 while the peer is down). */
int rpc_sp_client_connected(const rpc_sp_client *c);

/* The pieces a request body may come in (rpc_sp_call). */
#define RPC_SP_BODY_MAX 4

/* rpc_sp_call: send the request made of pre (plen bytes) followed by the nbody (0..
 * RPC_SP_BODY_MAX) pieces of body, in one sendmsg without copying them together; wait at most
 * timeout_ms for the reply; on 0 *resp is arena memory of *resplen bytes (the body after the
 * SP header). Thread-safe. Per call, when the reply comes within the deadline: one sendmsg and
 * usually one recv. Errors: RS_EUNAVAIL (peer down or refusing connections), RS_ETIMEDOUT,
 * RS_EPROTO (bad reply), RS_EIO, RS_ENOMEM, RS_EINVAL (too many pieces). */
int rpc_sp_call(rpc_sp_client *c, const uint8_t *pre, size_t plen, const struct iovec *body,
                int nbody, int timeout_ms, rs_arena *arena, uint8_t **resp, size_t *resplen);

/* The framing, separate from the sockets (tests/fuzz feeds it bytes). A message on the wire is
 * a prefix (ipc: 0x01 then, tcp: only) of a 64-bit big-endian length, then that many bytes:
 * the SP header and the body. */
#define RPC_SP_MAX_MSG (64u << 20)

/* rpc_sp_frame_len: the message length announced by a prefix (9 bytes over ipc, 8 over tcp).
 * Returns 0 and *n in [4, RPC_SP_MAX_MSG], or RS_EPROTO (bad ipc marker, length out of range). */
int rpc_sp_frame_len(const uint8_t *pre, int ipc, uint64_t *n);

/* rpc_sp_header_len: the length of a request's SP header in msg (n bytes): the 32-bit words up
 * to and including the first with its high bit set, at most 8 of them. 0 when there is none
 * (such a message is dropped, as NNG does). */
size_t rpc_sp_header_len(const uint8_t *msg, size_t n);

#endif
