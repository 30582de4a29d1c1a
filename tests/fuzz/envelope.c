/* Target envelope: any message an rs_rpc server receives (after the SP header), through the
 * in-place Envelope reader (common/rs_envelope.c, common/rs_pbwire.h) and the server's dispatch
 * (rs_rpc_server_handle: Envelope, the body's RequestHeader, method lookup, the built-in HEALTH
 * and METRICS). Properties: no memory error; what rs_env_parse accepts and protobuf-c's unpack
 * also accepts has the same fields in both; the body and error point inside the input; writing
 * the Envelope back (rs_env_prefix + body) reads back the same method and body; every reply is
 * a well-formed Envelope with a known status. */
#include "rpc.h"

static rs_rpc_server *srv;
static rs_arena *arena;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (srv == NULL) {
		rs_log_init("fuzz-envelope", RS_LOG_ERROR);
		srv = fuzz_rpc_server(NULL, NULL);
		if (rs_arena_create(&arena, 0) != 0)
			abort();
	}
	rs_env e;
	if (rs_env_parse(data, size, &e) == 0) {
		if (e.e_body_len > 0)
			FUZZ_CHECK(e.e_body >= data && e.e_body + e.e_body_len <= data + size,
			           "body outside the input");
		if (e.e_error_len > 0)
			FUZZ_CHECK((const uint8_t *) e.e_error >= data &&
			                   (const uint8_t *) e.e_error + e.e_error_len <=
			                           data + size,
			           "error outside the input");
		Rs__Envelope *pb = rs__envelope__unpack(NULL, size, data);
		if (pb != NULL) {
			FUZZ_CHECK(pb->schema_version == e.e_schema_version, "schema %u != %u",
			           pb->schema_version, e.e_schema_version);
			FUZZ_CHECK((int32_t) pb->method == e.e_method, "method");
			FUZZ_CHECK((int32_t) pb->status == e.e_status, "status");
			FUZZ_CHECK(pb->body.len == e.e_body_len &&
			                   (e.e_body_len == 0 ||
			                    memcmp(pb->body.data, e.e_body, e.e_body_len) == 0),
			           "body");
			rs__envelope__free_unpacked(pb, NULL);
		}
		size_t n;
		uint8_t *again = fuzz_envelope((Rs__Method) e.e_method, e.e_body, e.e_body_len, &n);
		rs_env e2;
		FUZZ_CHECK(rs_env_parse(again, n, &e2) == 0, "rewritten envelope unreadable");
		FUZZ_CHECK(e2.e_method == e.e_method && e2.e_body_len == e.e_body_len &&
		                   e2.e_schema_version == RS_SCHEMA_VERSION,
		           "rewritten envelope differs");
		free(again);
	}
	fuzz_rpc_handle(srv, arena, data, size);
	rs_arena_reset(arena);
	return 0;
}
