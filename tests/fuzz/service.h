/* service: the shape of the per-service targets. Input: the first byte picks one of the
 * service's routes (mod their number, in the order of its route table), the rest is that method's
 * request body; the body travels in a request Envelope through the service's rs_rpc server
 * (rs_rpc_server_handle: the same dispatch as on the wire) into its handler. Header-only. */
#ifndef RS_FUZZ_SERVICE_H
#define RS_FUZZ_SERVICE_H

#include "rpc.h"

static inline int
fuzz_service_one(rs_rpc_server *s, const rs_rpc_route *routes, rs_arena *a, const uint8_t *data,
                 size_t size)
{
	size_t nr = 0;
	while (routes[nr].fn != NULL)
		nr++;
	if (size < 1)
		return -1;
	Rs__Method m = routes[data[0] % nr].method;
	size_t len;
	uint8_t *msg = fuzz_envelope(m, data + 1, size - 1, &len);
	int st = fuzz_rpc_handle(s, a, msg, len);
	free(msg);
	rs_arena_reset(a);
	return st;
}

#endif
