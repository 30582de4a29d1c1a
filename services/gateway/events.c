#include "events.h"
#include "metrics.h"
#include "render.h"
#include "util.h"

#include "rs_err.h"
#include "rs_time.h"

#include <stdlib.h>

static int
reject_cmp(const void *a, const void *b)
{
	const gw_event_reject *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

void
gw_handle_events(gw_server *srv, gw_req *req)
{
	gw_events ev;
	const char *code = NULL;
	char msg[256];
	uint32_t accepted = 0, duplicates = 0;

	int st = gw_events_parse(req->r_body, req->r_body_len, req->r_arena, &ev, &code, msg,
	                         sizeof(msg));
	if (st != 0) {
		gw_reply_error(req, (unsigned) st, code, "%s", msg);
		return;
	}
	/* A customer's session posts only that customer's events: all or nothing. */
	for (size_t i = 0; req->r_who.p_role == GW_ROLE_CUSTOMER && i < ev.e_n; i++) {
		if (ev.e_events[i]->user_id != req->r_who.p_user_id) {
			gw_reply_error(req, 403, "forbidden",
			               "a customer may only post their own events: event %u is for "
			               "user %lld; nothing was stored",
			               ev.e_index[i], (long long) ev.e_events[i]->user_id);
			return;
		}
	}
	if (ev.e_n > 0) {
		Rs__EventBatch batch = RS__EVENT_BATCH__INIT;
		Rs__RequestHeader hdr = RS__REQUEST_HEADER__INIT;
		Rs__EventBatchResponse *resp = NULL;
		Rs__Status rst = RS__STATUS__STATUS_OK;
		char err[160];
		int timeout = srv->s_cfg.events_timeout_ms;

		hdr.request_id = req->r_request_id;
		hdr.deadline_unix_ms = rs_now_ms() + timeout;
		batch.header = &hdr;
		batch.n_events = ev.e_n;
		batch.events = ev.e_events;
		double t0 = rs_mono_ms();
		int rv = rs_rpc_request(srv->s_clients[GW_INGEST], RS__METHOD__METHOD_EVENT_BATCH,
		                        &batch.base, &rs__event_batch_response__descriptor, timeout,
		                        req->r_arena, (void **) &resp, &rst, err, sizeof(err));
		const char *failure =
		        rv == RS_EUNAVAIL ? "unavailable"
		        : rv == RS_ETIMEDOUT || (rv == 0 && rst == RS__STATUS__STATUS_DEADLINE)
		                ? "timeout"
		        : rv != 0 || rst != RS__STATUS__STATUS_OK || resp == NULL ? "error"
		                                                                  : NULL;
		gw_metrics_hop("ingest", rs_mono_ms() - t0, failure);
		if (failure != NULL) {
			if (rv == 0 && rst == RS__STATUS__STATUS_INVALID)
				gw_reply_error(req, 400, "invalid_event",
				               "ingest refused the batch: %s", err);
			else if (rv == 0 && rst != RS__STATUS__STATUS_UNAVAILABLE &&
			         rst != RS__STATUS__STATUS_DEADLINE && rst != RS__STATUS__STATUS_OK)
				gw_reply_error(req, 502, "bad_gateway", "ingest answered %s: %s",
				               rs_rpc_status_name(rst), err);
			else
				gw_reply_error(req, 503, "unavailable", "ingest %s%s%s",
				               rv != 0 ? rs_strerror(rv) : rs_rpc_status_name(rst),
				               err[0] ? ": " : "", err);
			return;
		}
		accepted = resp->accepted;
		duplicates = resp->duplicates;
		for (size_t i = 0; i < resp->n_rejected && ev.e_nrejected < ev.e_rejected_cap;
		     i++) {
			uint32_t bi = resp->rejected[i]->index;
			if (bi >= ev.e_n)
				continue;
			ev.e_rejected[ev.e_nrejected++] = (gw_event_reject){
			        ev.e_index[bi],
			        resp->rejected[i]->reason != NULL ? resp->rejected[i]->reason : ""};
		}
	}
	qsort(ev.e_rejected, ev.e_nrejected, sizeof(*ev.e_rejected), reject_cmp);
	json_t *rej = json_array();
	for (size_t i = 0; i < ev.e_nrejected; i++)
		json_array_append_new(rej, json_pack("{s:I,s:o}", "index",
		                                     (json_int_t) ev.e_rejected[i].index, "reason",
		                                     gw_json_str(ev.e_rejected[i].reason)));
	json_t *body = json_pack("{s:I,s:I,s:o}", "accepted", (json_int_t) accepted, "duplicates",
	                         (json_int_t) duplicates, "rejected", rej);
	gw_reply_json(req, 202, body);
}
