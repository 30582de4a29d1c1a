/* rpc: the rs_rpc side of the service targets: a server over the service's routes (listening on
 * a loopback port the kernel picks, never called through it: the targets hand it bytes with
 * rs_rpc_server_handle) and the checks every reply passes. Header-only. */
#ifndef RS_FUZZ_RPC_H
#define RS_FUZZ_RPC_H

#include "fuzz.h"

#include "rs_arena.h"
#include "rs_envelope.h"
#include "rs_log.h"
#include "rs_rpc.h"

static inline rs_rpc_server *
fuzz_rpc_server(const rs_rpc_route *routes, void *ud)
{
	static const rs_rpc_route none[] = {{0, NULL, NULL}};
	rs_rpc_server_cfg cfg = {.workers = 1, .max_conns = 1};
	rs_rpc_server *s;
	if (rs_rpc_server_start(&s, "tcp://127.0.0.1:0", &cfg, routes ? routes : none, ud) != 0)
		abort();
	return s;
}

/* fuzz_rpc_handle: one message through the server; the reply must be an Envelope of this
 * schema version with a known status whose body, when status is OK, is the handler's.
 * Returns the reply's status. */
static inline int
fuzz_rpc_handle(rs_rpc_server *s, rs_arena *a, const uint8_t *msg, size_t len)
{
	uint8_t *pre = NULL;
	const uint8_t *body = NULL;
	size_t prelen = 0, bodylen = 0;
	FUZZ_CHECK(rs_rpc_server_handle(s, msg, len, a, &pre, &prelen, &body, &bodylen) == 0,
	           "handle failed");
	uint8_t *reply = malloc(prelen + bodylen + 1);
	if (reply == NULL)
		abort();
	memcpy(reply, pre, prelen);
	if (bodylen > 0)
		memcpy(reply + prelen, body, bodylen);
	rs_env e;
	FUZZ_CHECK(rs_env_parse(reply, prelen + bodylen, &e) == 0, "reply is not an Envelope");
	FUZZ_CHECK(e.e_schema_version == RS_SCHEMA_VERSION, "schema %u", e.e_schema_version);
	FUZZ_CHECK(e.e_body_len == bodylen, "body %zu != %zu", e.e_body_len, bodylen);
	FUZZ_CHECK(protobuf_c_enum_descriptor_get_value(&rs__status__descriptor, e.e_status) !=
	                   NULL,
	           "unknown status %d", e.e_status);
	FUZZ_CHECK(e.e_status == 0 || e.e_error_len > 0, "status %d without an error text",
	           e.e_status);
	free(reply);
	return e.e_status;
}

/* fuzz_envelope: body wrapped as a request Envelope for method (what rs_rpc_request sends). */
static inline uint8_t *
fuzz_envelope(Rs__Method method, const uint8_t *body, size_t len, size_t *outlen)
{
	uint8_t *m = malloc(RS_ENV_PREFIX_MAX + len + 1);
	if (m == NULL)
		abort();
	size_t n = rs_env_prefix(m, method, len);
	if (len > 0)
		memcpy(m + n, body, len);
	*outlen = n + len;
	return m;
}

#endif
