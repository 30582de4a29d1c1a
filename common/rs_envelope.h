/* rs_envelope: the rs.Envelope (proto/common.proto) every message between services travels in,
 * the req/rep hops of rs_rpc and the ingest -> feature event stream alike, written and read in
 * place: the body is never copied into or out of an Envelope (protobuf-c's unpack would copy
 * it, ~30 KB for a candidate list, on both sides of every hop). */
#ifndef RS_ENVELOPE_H
#define RS_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "common.pb-c.h"

#define RS_SCHEMA_VERSION 1 /* Envelope.schema_version this code writes; it reads >= 1 */

/* An Envelope read in place: body and error point into the message. */
typedef struct rs_env {
	uint32_t e_schema_version;
	int32_t e_method;
	int32_t e_status;
	const uint8_t *e_body; /* "" when absent */
	size_t e_body_len;
	const char *e_error; /* not NUL-terminated; "" when absent */
	size_t e_error_len;
} rs_env;

/* rs_env_parse: read data (len bytes) as an Envelope into *e. Returns 0, or -1 when it is not a
 * well-formed Envelope (a known field with the wrong wire type, a truncated field). Later
 * occurrences of a field win, as in protobuf. */
int rs_env_parse(const uint8_t *data, size_t len, rs_env *e);

#define RS_ENV_PREFIX_MAX 32

/* rs_env_prefix: the Envelope's fields before its body (schema_version RS_SCHEMA_VERSION,
 * method unless 0, the body's tag and length when body_len > 0) into out (RS_ENV_PREFIX_MAX
 * bytes); the message is these bytes followed by the body. Returns their length. */
size_t rs_env_prefix(uint8_t *out, Rs__Method method, size_t body_len);

#endif
