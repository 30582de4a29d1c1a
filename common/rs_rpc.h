/* rs_rpc: request/reply with protobuf envelopes (proto/common.proto Envelope).
 *
 * Transports: tcp:// (tcp4://, tcp6://) and ipc:// URLs are served over plain blocking sockets
 * speaking NNG's SP REQ0/REP0 wire protocol (rs_rpc_sp.c: ~2 context switches per call instead
 * of NNG's ~16; NNG req/rep sockets still interoperate), unless rs_rpc_set_transport() chose
 * NNG's sockets. Every other scheme (inproc://, ...) goes through NNG's req/rep sockets.
 *
 * Server: over plain sockets a thread per connection (at most max_conns: back-pressure beyond)
 * and at most N handlers at once; over NNG one rep socket and N worker threads, each with its
 * own nng context and arena, so N requests are handled at once. A route table maps Method ->
 * handler. HEALTH has a default (ready) and METRICS is built in (the process registry).
 * rs_rpc_server_close() lets every in-flight request finish and be answered before it returns.
 *
 * Client: one req socket dialled in the background (reconnects on its own); rs_rpc_request()
 * opens a context per call, so any number of threads may call at once. Every call has a
 * timeout; with no connected peer it fails at once with RS_EUNAVAIL instead of waiting. */
#ifndef RS_RPC_H
#define RS_RPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <protobuf-c/protobuf-c.h>

#include "common.pb-c.h"
#include "rs_arena.h"
#include "rs_envelope.h" /* RS_SCHEMA_VERSION */

/* The transport of tcp:// and ipc:// URLs, one per process. Services take it from their
 * RS_RPC_TRANSPORT setting (RS_CFG_ENUM over RS_RPC_TRANSPORTS): "socket" (default) = rs_rpc_sp.c,
 * "nng" = NNG's own req/rep sockets (the same wire bytes at several times the CPU per call; kept
 * so either side can be a plain NNG peer, and tested by ctest integration_nng). */
typedef enum rs_rpc_transport {
	RS_RPC_TRANSPORT_SOCKET = 0,
	RS_RPC_TRANSPORT_NNG = 1,
} rs_rpc_transport;
#define RS_RPC_TRANSPORTS "socket,nng" /* the names, in the enum's order */

/* rs_rpc_set_transport: the transport of every server and client opened after the call. */
void rs_rpc_set_transport(rs_rpc_transport t);

typedef struct rs_rpc_call {
	rs_arena *arena; /* per request; reset after the reply is sent */
	Rs__Method method;
	const uint8_t *body; /* request body, borrowed for the handler's duration */
	size_t body_len;
	const char *request_id;   /* "" when the body has none */
	int64_t deadline_unix_ms; /* 0 when none */
	/* written by the handler (rs_rpc_reply / rs_rpc_fail): */
	Rs__Status status;
	char error[256];
	uint8_t *resp; /* arena memory */
	size_t resp_len;
} rs_rpc_call;

typedef void (*rs_rpc_fn)(void *ud, rs_rpc_call *call);

typedef struct rs_rpc_route {
	Rs__Method method;
	const char *name; /* for logs and metrics: "rank", "health" */
	rs_rpc_fn fn;
} rs_rpc_route;

typedef struct rs_rpc_server rs_rpc_server;

#define RS_RPC_MAX_CONNS_DEFAULT 256

typedef struct rs_rpc_server_cfg {
	int workers; /* handlers running at once (1..256) */
	/* plain sockets (tcp://, ipc://): connections served at once, each by its own thread
	 * (1..65536; 0 = RS_RPC_MAX_CONNS_DEFAULT). At the cap the server stops accepting:
	 * further connections wait in the kernel's listen backlog, and their calls up to their
	 * deadline, until a connection closes (back-pressure, never more threads). Each client
	 * holds one connection per call in flight plus one to watch the server. NNG's sockets
	 * (RS_RPC_TRANSPORT=nng, inproc://) have no thread per connection and accept on their
	 * own: there a connection beyond the cap is closed as soon as it is negotiated (the
	 * client's dialer redials after its back-off); the same metrics count it. */
	int max_conns;
} rs_rpc_server_cfg;

/* rs_rpc_server_start: listen on url (a tcp:// port 0 asks the kernel for a free one:
 * rs_rpc_server_url names it) as cfg says. routes ends with an entry whose fn is NULL. ud is
 * passed to every handler; it must outlive the server. Returns 0, RS_EINVAL (bad url or cfg),
 * RS_EEXIST (address in use), RS_ENOMEM. */
int rs_rpc_server_start(rs_rpc_server **out, const char *url, const rs_rpc_server_cfg *cfg,
                        const rs_rpc_route *routes, void *ud);

/* rs_rpc_server_open: rs_rpc_server_start with `workers` handlers and the default cap. */
int rs_rpc_server_open(rs_rpc_server **out, const char *url, int workers,
                       const rs_rpc_route *routes, void *ud);

/* rs_rpc_server_url: the URL clients dial: url with a tcp port 0 replaced by the bound port. */
const char *rs_rpc_server_url(const rs_rpc_server *s);

/* rs_rpc_server_conns: connections (NNG: pipes) the server holds open now. */
int rs_rpc_server_conns(const rs_rpc_server *s);

/* rs_rpc_server_handle: one request message (the Envelope as a transport received it, len
 * bytes) through the server's dispatch, on the caller's thread: Envelope, request header,
 * route, handler. The reply Envelope is *pre (prelen bytes) followed by *body (bodylen bytes),
 * arena or static memory. Returns 0 or RS_ENOMEM. The same dispatch both transports run; the
 * fuzz targets of tests/fuzz feed it bytes without a socket. */
int rs_rpc_server_handle(rs_rpc_server *s, const uint8_t *msg, size_t len, rs_arena *arena,
                         uint8_t **pre, size_t *prelen, const uint8_t **body, size_t *bodylen);

/* rs_rpc_server_close: stop taking requests, finish the in-flight ones, join the workers,
 * close the socket. NULL is a no-op. */
void rs_rpc_server_close(rs_rpc_server *s);

/* Handler helpers. rs_rpc_unpack parses the request body as desc into the arena; on failure
 * it sets STATUS_INVALID and returns RS_EPROTO. rs_rpc_reply packs m into the arena as the
 * reply body (status OK unless already set). rs_rpc_fail sets status and error text. */
int rs_rpc_unpack(rs_rpc_call *call, const ProtobufCMessageDescriptor *desc, void **out);
int rs_rpc_reply(rs_rpc_call *call, const ProtobufCMessage *m);
void rs_rpc_fail(rs_rpc_call *call, Rs__Status status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* rs_rpc_header_ok: fill a ResponseHeader (arena strings) for the typed reply. */
void rs_rpc_header_init(rs_rpc_call *call, Rs__ResponseHeader *h, const char *svc,
                        const char *model_version);

typedef struct rs_rpc_client rs_rpc_client;

/* rs_rpc_client_open: a client for url; dialling happens in the background, so this
 * succeeds while the server is down. Over plain sockets the client keeps one monitor
 * connection (connected > 0 while it is up) and a pool of call connections opened on demand.
 * Returns 0, RS_EINVAL, RS_ENOMEM. */
int rs_rpc_client_open(rs_rpc_client **out, const char *url);
void rs_rpc_client_close(rs_rpc_client *c);          /* NULL is a no-op */
int rs_rpc_client_connected(const rs_rpc_client *c); /* number of live connections */
const char *rs_rpc_client_url(const rs_rpc_client *c);

/* rs_rpc_request: send req as `method`, wait at most timeout_ms for the reply, and parse its
 * body as resp_desc into arena. On 0, *resp is arena memory and *status the server's status
 * (err, if given, gets its error text). Errors: RS_EUNAVAIL (no peer connected),
 * RS_ETIMEDOUT, RS_EPROTO (reply not parseable), RS_ENOMEM. */
int rs_rpc_request(rs_rpc_client *c, Rs__Method method, const ProtobufCMessage *req,
                   const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, rs_arena *arena,
                   void **resp, Rs__Status *status, char *err, size_t errn);

/* rs_rpc_request_packed: rs_rpc_request with the request body already packed (body, len)
 * and the reply body returned as bytes (*resp, *resp_len: arena memory, or static "" when
 * empty) for the caller to read or unpack; *status and err as above. Same errors, except
 * that an unparseable body is the caller's business. */
int rs_rpc_request_packed(rs_rpc_client *c, Rs__Method method, const uint8_t *body, size_t len,
                          int timeout_ms, rs_arena *arena, const uint8_t **resp, size_t *resp_len,
                          Rs__Status *status, char *err, size_t errn);

/* rs_rpc_request_iov: rs_rpc_request_packed with the body in nbody (0..RS_RPC_BODY_MAX) pieces,
 * sent in order as one body: over plain sockets without copying them together first (a
 * message that embeds bytes received from another service, RankRequest.retrieval, is sent
 * from where they are). Same results; RS_EINVAL for too many pieces. */
#define RS_RPC_BODY_MAX 4
int rs_rpc_request_iov(rs_rpc_client *c, Rs__Method method, const struct iovec *body, int nbody,
                       int timeout_ms, rs_arena *arena, const uint8_t **resp, size_t *resp_len,
                       Rs__Status *status, char *err, size_t errn);

/* rs_rpc_status_name: "ok", "invalid", "unavailable", ... */
const char *rs_rpc_status_name(Rs__Status s);

/* rs_rpc_status_of: the reply status for a handler's RS_E* failure: RS_ENOTFOUND -> NOT_FOUND,
 * RS_EINVAL -> INVALID, RS_ETIMEDOUT -> DEADLINE, RS_ENOMEM / RS_EINTERNAL -> INTERNAL, anything
 * else -> UNAVAILABLE (a dependency the handler needs is not usable). */
Rs__Status rs_rpc_status_of(int rv);

#endif
