/* rpc_raw: send an arbitrary body to a service over a plain req socket, bypassing rs_rpc's
 * client, so tests can feed malformed bodies to a handler. Header-only, like pg_fixture.h. */
#ifndef RPC_RAW_H
#define RPC_RAW_H

#include <criterion/criterion.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "common.pb-c.h"
#include "rs_rpc.h"

/* rpc_raw_call: body wrapped in an Envelope for method, sent to url; returns the reply's
 * status. Fails the test if the service does not answer within 2 s. */
static int
rpc_raw_call(const char *url, Rs__Method method, const uint8_t *body, size_t len)
{
	nng_socket s;
	Rs__Envelope env = RS__ENVELOPE__INIT;
	uint8_t buf[512];
	void *reply;
	size_t rlen;

	env.schema_version = RS_SCHEMA_VERSION;
	env.method = method;
	env.body.data = (uint8_t *) body;
	env.body.len = len;
	cr_assert_leq(rs__envelope__get_packed_size(&env), sizeof(buf));
	size_t n = rs__envelope__pack(&env, buf);
	cr_assert_eq(nng_req0_open(&s), 0);
	cr_assert_eq(nng_dial(s, url, NULL, 0), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 2000);
	cr_assert_eq(nng_send(s, buf, n, 0), 0);
	cr_assert_eq(nng_recv(s, &reply, &rlen, NNG_FLAG_ALLOC), 0);
	Rs__Envelope *r = rs__envelope__unpack(NULL, rlen, reply);
	cr_assert_not_null(r);
	int status = (int) r->status;
	rs__envelope__free_unpacked(r, NULL);
	nng_free(reply, rlen);
	nng_close(s);
	return status;
}

#endif
