/* Target events_json: a POST /v1/events body through gw_events_parse (yajl's streaming parser
 * and the gateway's callbacks, services/gateway/events_parse.c). Properties: no memory error;
 * 0, or 400/413 with an error code and message (500 only when out of memory, which does not
 * happen here); on 0 every event index and rejection index is below the body's event count,
 * valid + rejected events add up to that count, each kept event has positive ids and a known
 * type, and the batch is at most GW_EVENTS_MAX events. */
#include "fuzz.h"

#include "events.h"
#include "rs_arena.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rs_arena *a;
	gw_events ev;
	const char *code = NULL;
	char msg[256] = "";
	/* the HTTP glue hands the parser a NUL-terminated copy */
	char *body = malloc(size + 1);
	if (body == NULL || rs_arena_create(&a, 0) != 0)
		abort();
	memcpy(body, data, size);
	body[size] = '\0';
	int st = gw_events_parse(body, size, a, &ev, &code, msg, sizeof(msg));
	if (st != 0) {
		FUZZ_CHECK(st == 400 || st == 413, "status %d", st);
		FUZZ_CHECK(code != NULL && code[0] != '\0' && msg[0] != '\0',
		           "status %d without "
		           "code or message",
		           st);
	} else {
		FUZZ_CHECK(ev.e_total <= GW_EVENTS_MAX, "%zu events", ev.e_total);
		FUZZ_CHECK(ev.e_n + ev.e_nrejected == ev.e_total, "%zu kept + %zu rejected != %zu",
		           ev.e_n, ev.e_nrejected, ev.e_total);
		for (size_t i = 0; i < ev.e_n; i++) {
			const Rs__Event *e = ev.e_events[i];
			FUZZ_CHECK(ev.e_index[i] < ev.e_total, "index %u", ev.e_index[i]);
			FUZZ_CHECK(e->user_id > 0 && e->item_id > 0, "ids %lld %lld",
			           (long long) e->user_id, (long long) e->item_id);
			FUZZ_CHECK(e->type > 0, "type %d", (int) e->type);
		}
		for (size_t i = 0; i < ev.e_nrejected; i++) {
			FUZZ_CHECK(ev.e_rejected[i].index < ev.e_total, "rejected index %u",
			           ev.e_rejected[i].index);
			FUZZ_CHECK(ev.e_rejected[i].reason != NULL, "rejection without reason");
		}
		/* what the gateway sends on to ingest: the kept events packed as an EventBatch */
		Rs__EventBatch b = RS__EVENT_BATCH__INIT;
		b.events = ev.e_events;
		b.n_events = ev.e_n;
		size_t n = rs__event_batch__get_packed_size(&b);
		uint8_t *buf = malloc(n ? n : 1);
		FUZZ_CHECK(rs__event_batch__pack(&b, buf) == n, "pack");
		Rs__EventBatch *back = rs__event_batch__unpack(NULL, n, buf);
		FUZZ_CHECK(back != NULL && back->n_events == ev.e_n, "round trip");
		rs__event_batch__free_unpacked(back, NULL);
		free(buf);
	}
	rs_arena_destroy(a);
	free(body);
	return 0;
}
