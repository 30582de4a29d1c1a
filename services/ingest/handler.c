#include "ingest.h"
#include "rs_arena.h"
#include "rs_err.h"
#include "rs_proc.h"
#include "rs_time.h"
#include "validate.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define ING_SVC "ingest"

const rs_rpc_route ing_routes[] = {
        {RS__METHOD__METHOD_EVENT_BATCH, "event_batch", ing_handle_event_batch},
        {RS__METHOD__METHOD_HEALTH, "health", ing_handle_health},
        {0, NULL, NULL},
};

static int
handler_reject(rs_rpc_call *call, Rs__EventBatchResponse *resp, uint32_t index, const char *why)
{
	Rs__EventRejection *r = rs_arena_alloc(call->arena, sizeof(*r));
	if (r == NULL)
		return RS_ENOMEM;
	rs__event_rejection__init(r);
	r->index = index;
	r->reason = (char *) why;
	resp->rejected[resp->n_rejected++] = r;
	return 0;
}

void
ing_handle_event_batch(void *ud, rs_rpc_call *call)
{
	ing_ctx *ctx = ud;
	Rs__EventBatch *req;
	Rs__EventBatchResponse resp = RS__EVENT_BATCH_RESPONSE__INIT;
	Rs__ResponseHeader h;
	ing_job job = {0};
	uint32_t *orig;
	int64_t now = rs_now_ms();

	if (rs_rpc_unpack(call, &rs__event_batch__descriptor, (void **) &req) != 0)
		return;
	if (req->n_events > (size_t) ctx->max_batch) {
		rs_rpc_fail(call, RS__STATUS__STATUS_INVALID,
		            "batch has %zu events; the limit is %d per request", req->n_events,
		            ctx->max_batch);
		return;
	}
	size_t n = req->n_events;
	job.j_events = rs_arena_alloc(call->arena, (n ? n : 1) * sizeof(*job.j_events));
	job.j_results = rs_arena_alloc(call->arena, n ? n : 1);
	orig = rs_arena_alloc(call->arena, (n ? n : 1) * sizeof(*orig));
	resp.rejected = rs_arena_alloc(call->arena, (n ? n : 1) * sizeof(*resp.rejected));
	if (job.j_events == NULL || job.j_results == NULL || orig == NULL || resp.rejected == NULL)
		goto nomem;

	for (size_t i = 0; i < n; i++) {
		Rs__Event *ev = req->events[i];
		const char *why = ing_validate_event(ev, now);
		if (why != NULL) {
			if (handler_reject(call, &resp, (uint32_t) i, why) != 0)
				goto nomem;
			continue;
		}
		/* Normalize: assign what the client left out. */
		if (ev->event_id == NULL || ev->event_id[0] == '\0') {
			char *id = rs_arena_alloc(call->arena, 33);
			if (id == NULL)
				goto nomem;
			rs_proc_random_id(id, 33);
			ev->event_id = id;
		}
		if (ev->ts_ms == 0)
			ev->ts_ms = now;
		orig[job.j_n] = (uint32_t) i;
		job.j_events[job.j_n++] = ev;
	}

	int rv = ing_writer_submit(ctx->writer, &job);
	if (rv != 0) {
		if (rv == RS_EUNAVAIL)
			rs_rpc_fail(call, RS__STATUS__STATUS_UNAVAILABLE,
			            "event store unavailable: postgresql unreachable and spool not "
			            "writable");
		else
			rs_rpc_fail(call, RS__STATUS__STATUS_UNAVAILABLE, "event store error: %s",
			            rs_strerror(rv));
		return;
	}
	for (size_t k = 0; k < job.j_n; k++) {
		switch (job.j_results[k]) {
		case ING_R_ACCEPTED:
			resp.accepted++;
			break;
		case ING_R_DUPLICATE:
			resp.duplicates++;
			break;
		default:
			if (handler_reject(call, &resp, orig[k], "unknown item_id") != 0)
				goto nomem;
		}
	}
	/* Rejections in index order: validation ones came first, unknown items after. */
	for (size_t i = 1; i < resp.n_rejected; i++) {
		Rs__EventRejection *r = resp.rejected[i];
		size_t j = i;
		for (; j > 0 && resp.rejected[j - 1]->index > r->index; j--)
			resp.rejected[j] = resp.rejected[j - 1];
		resp.rejected[j] = r;
	}
	rs_rpc_header_init(call, &h, ING_SVC, NULL);
	resp.header = &h;
	rs_rpc_reply(call, &resp.base);
	if (rs_log_enabled(RS_LOG_DEBUG))
		rs_log_debug("ingest.batch",
		             "events=%zu accepted=%u duplicates=%u "
		             "rejected=%zu spooled=%d",
		             n, resp.accepted, resp.duplicates, resp.n_rejected, job.j_spooled);
	return;
nomem:
	rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "out of memory");
}

void
ing_handle_health(void *ud, rs_rpc_call *call)
{
	ing_ctx *ctx = ud;
	Rs__HealthResponse resp = RS__HEALTH_RESPONSE__INIT;
	Rs__ResponseHeader h;
	ing_writer_status st;
	char detail[160];

	ing_writer_status_get(ctx->writer, &st);
	snprintf(detail, sizeof(detail), "postgres=%s spool=%s spool_pending=%" PRIu64,
	         st.pg_up ? "up" : "down",
	         !st.spool_enabled   ? "off"
	         : st.spool_writable ? "writable"
	                             : "unwritable",
	         st.spool_pending);
	rs_rpc_header_init(call, &h, ING_SVC, NULL);
	resp.header = &h;
	resp.ready = st.pg_up || st.spool_writable;
	resp.detail = rs_arena_strdup(call->arena, detail);
	resp.uptime_ms = rs_now_ms() - ctx->started_ms;
	rs_rpc_reply(call, &resp.base);
}
