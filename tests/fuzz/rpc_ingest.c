/* Target rpc_ingest: METHOD_EVENT_BATCH bodies through rs-ingest's handler (protobuf-c's unpack
 * of the EventBatch, the per-event validation and normalisation, the writer) with a writer whose
 * PostgreSQL is unreachable, so every accepted batch is appended to its spool (a temporary
 * folder under /dev/shm, removed at exit). Properties: no memory error; a well-formed reply
 * with a known status; a reply that is OK accounts for every event of the batch (accepted +
 * duplicates + rejected = events, each rejection index below the batch size). */
#include "service.h"

#include <ftw.h>

#include "ingest.h"

static ing_writer *writer;
static ing_ctx ctx;
static rs_rpc_server *srv;
static rs_arena *arena;
static char spool[64];

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void) sb;
	(void) flag;
	(void) ftw;
	return remove(path);
}

static void
cleanup(void)
{
	if (spool[0] != '\0')
		nftw(spool, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void
setup(void)
{
	rs_log_init("fuzz-ingest", RS_LOG_ERROR);
	snprintf(spool, sizeof(spool), "/dev/shm/rs-fuzz-spool-XXXXXX");
	if (mkdtemp(spool) == NULL)
		abort();
	atexit(cleanup);
	ing_writer_opts o = {.dsn = "host=127.0.0.1 port=1 user=postgres dbname=none "
	                            "connect_timeout=1",
	                     .spool_dir = spool,
	                     .reconnect_ms = 60000,
	                     .spool_segment_bytes = 1 << 20,
	                     .writers = 1};
	if (ing_writer_open(&writer, &o) != 0 || rs_arena_create(&arena, 0) != 0)
		abort();
	ctx = (ing_ctx){.writer = writer, .max_batch = 1000};
	srv = fuzz_rpc_server(ing_routes, &ctx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (writer == NULL)
		setup();
	if (size < 1)
		return 0;
	size_t len;
	Rs__Method m = data[0] & 1 ? RS__METHOD__METHOD_HEALTH : RS__METHOD__METHOD_EVENT_BATCH;
	uint8_t *msg = fuzz_envelope(m, data + 1, size - 1, &len);
	uint8_t *pre = NULL;
	const uint8_t *body = NULL;
	size_t prelen = 0, bodylen = 0;
	int st = fuzz_rpc_handle(srv, arena, msg, len);
	if (st == RS__STATUS__STATUS_OK && m == RS__METHOD__METHOD_EVENT_BATCH) {
		Rs__EventBatch *req = rs__event_batch__unpack(NULL, size - 1, data + 1);
		FUZZ_CHECK(req != NULL, "OK for a body protobuf-c cannot read");
		FUZZ_CHECK(rs_rpc_server_handle(srv, msg, len, arena, &pre, &prelen, &body,
		                                &bodylen) == 0,
		           "handle");
		Rs__EventBatchResponse *r = rs__event_batch_response__unpack(NULL, bodylen, body);
		FUZZ_CHECK(r != NULL, "reply body is not an EventBatchResponse");
		FUZZ_CHECK((size_t) r->accepted + r->duplicates + r->n_rejected == req->n_events,
		           "%u accepted + %u duplicates + %zu rejected != %zu events", r->accepted,
		           r->duplicates, r->n_rejected, req->n_events);
		for (size_t i = 0; i < r->n_rejected; i++)
			FUZZ_CHECK(r->rejected[i]->index < req->n_events, "rejection index %u",
			           r->rejected[i]->index);
		rs__event_batch_response__free_unpacked(r, NULL);
		rs__event_batch__free_unpacked(req, NULL);
	}
	free(msg);
	rs_arena_reset(arena);
	return 0;
}
