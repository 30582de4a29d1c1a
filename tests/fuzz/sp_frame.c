/* Target sp_frame: the bytes a peer sends on an RPC connection (common/rs_rpc_sp.c) after the
 * 8-byte SP handshake, read the way a server connection reads them: frame prefix
 * (rpc_sp_frame_len), message, SP header (rpc_sp_header_len), then the body through the
 * server's dispatch, and the reply framed as the server frames it and read back as a client
 * reads it. Input: the first byte's low bit picks the ipc mapping (a 0x01 marker before each
 * length), the rest is the stream. Each message is copied into a buffer of exactly its size, so
 * a read past it is an ASan report. Properties: no memory error; an accepted frame announces
 * 4..64 MiB; an SP header is whole 32-bit words, at most 8, inside the message and ends with
 * the word whose high bit is set; the reply frame announces exactly what follows it. */
#include "rpc.h"

#include "rs_rpc_sp.h"

static rs_rpc_server *srv;
static rs_arena *arena;

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t) v;
		v >>= 8;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (srv == NULL) {
		rs_log_init("fuzz-sp-frame", RS_LOG_ERROR);
		srv = fuzz_rpc_server(NULL, NULL);
		if (rs_arena_create(&arena, 0) != 0)
			abort();
	}
	if (size < 1)
		return 0;
	int ipc = data[0] & 1;
	size_t plen = ipc ? 9 : 8, off = 1;
	for (int msgs = 0; msgs < 64; msgs++) {
		if (size - off < plen)
			break; /* the connection would wait for the rest or close */
		uint8_t pre[9];
		memcpy(pre, data + off, plen);
		off += plen;
		uint64_t n;
		if (rpc_sp_frame_len(pre, ipc, &n) != 0)
			break; /* the server closes the connection */
		FUZZ_CHECK(n >= 4 && n <= RPC_SP_MAX_MSG, "length %llu", (unsigned long long) n);
		if (n > size - off)
			break;
		uint8_t *msg = malloc((size_t) n);
		if (msg == NULL)
			abort();
		memcpy(msg, data + off, (size_t) n);
		off += (size_t) n;
		size_t hl = rpc_sp_header_len(msg, (size_t) n);
		if (hl == 0) {
			free(msg);
			continue; /* dropped */
		}
		FUZZ_CHECK(hl % 4 == 0 && hl <= 32 && hl <= n, "header length %zu of %llu", hl,
		           (unsigned long long) n);
		FUZZ_CHECK(msg[hl - 4] & 0x80, "header does not end with the request id");
		for (size_t w = 0; w + 4 < hl; w += 4)
			FUZZ_CHECK(!(msg[w] & 0x80), "a hop word with the high bit set");
		uint8_t *rpre = NULL;
		const uint8_t *body = NULL;
		size_t rprelen = 0, bodylen = 0;
		FUZZ_CHECK(rs_rpc_server_handle(srv, msg + hl, (size_t) n - hl, arena, &rpre,
		                                &rprelen, &body, &bodylen) == 0,
		           "dispatch");
		/* the reply frame: prefix, the request's SP header echoed, envelope, body */
		uint8_t rp[9] = {1};
		uint64_t rn = (uint64_t) (hl + rprelen + bodylen);
		put64(rp + plen - 8, rn);
		uint64_t got;
		FUZZ_CHECK(rpc_sp_frame_len(rp, ipc, &got) == 0 && got == rn, "reply frame");
		rs_arena_reset(arena);
		free(msg);
	}
	return 0;
}
