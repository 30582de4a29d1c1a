#include "events.h"
#include "http.h"
#include "metrics.h"
#include "render.h"
#include "router.h"
#include "util.h"

#include "rs_err.h"
#include "rs_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS_MAX_MS 4102444800000LL /* 2100-01-01 */

static const struct {
	const char *name;
	Rs__EventType type;
} ev_types[] = {
        {"view", RS__EVENT_TYPE__EVENT_VIEW},
        {"click", RS__EVENT_TYPE__EVENT_CLICK},
        {"add_to_cart", RS__EVENT_TYPE__EVENT_ADD_TO_CART},
        {"purchase", RS__EVENT_TYPE__EVENT_PURCHASE},
        {"rating", RS__EVENT_TYPE__EVENT_RATING},
        {"not_interested", RS__EVENT_TYPE__EVENT_NOT_INTERESTED},
};

/* An optional string field: absent/null -> "" ; too long, not a string or with NUL -> error. */
static int
ev_opt_str(json_t *o, const char *key, char **out)
{
	json_t *v = json_object_get(o, key);
	*out = "";
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > GW_EVENT_STR_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	*out = (char *) json_string_value(v);
	return 0;
}

static int
ev_id(json_t *o, const char *key, int64_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

/* Fills e from o; returns NULL or a static reason. */
static const char *
ev_from_json(json_t *o, Rs__Event *e)
{
	json_t *v;

	rs__event__init(e);
	if (!json_is_object(o))
		return "event must be an object";
	if (ev_id(o, "user_id", &e->user_id) != 0)
		return "user_id must be a positive integer";
	if (ev_id(o, "item_id", &e->item_id) != 0)
		return "item_id must be a positive integer";
	v = json_object_get(o, "type");
	if (v == NULL)
		return "type is required";
	for (size_t i = 0; json_is_string(v) && i < sizeof(ev_types) / sizeof(ev_types[0]); i++)
		if (strcmp(json_string_value(v), ev_types[i].name) == 0)
			e->type = ev_types[i].type;
	if (e->type == RS__EVENT_TYPE__EVENT_UNSPECIFIED)
		return "type must be one of view, click, add_to_cart, purchase, rating, "
		       "not_interested";
	if (ev_opt_str(o, "event_id", &e->event_id) != 0)
		return "event_id must be a string of at most 128 bytes";
	if (ev_opt_str(o, "rec_id", &e->rec_id) != 0)
		return "rec_id must be a string of at most 128 bytes";
	if (ev_opt_str(o, "variant", &e->variant) != 0)
		return "variant must be a string of at most 128 bytes";
	v = json_object_get(o, "ts");
	if (json_is_integer(v)) {
		if (json_integer_value(v) <= 0 || json_integer_value(v) > TS_MAX_MS)
			return "ts must be unix milliseconds between 1970 and 2100";
		e->ts_ms = json_integer_value(v);
	} else if (json_is_string(v)) {
		if (gw_parse_iso8601(json_string_value(v), &e->ts_ms) != 0 || e->ts_ms <= 0 ||
		    e->ts_ms > TS_MAX_MS)
			return "ts must be an ISO-8601 time with a zone, e.g. 2026-11-28T10:00:00Z";
	} else if (v != NULL && !json_is_null(v)) {
		return "ts must be unix milliseconds or an ISO-8601 string";
	}
	v = json_object_get(o, "value");
	if (json_is_number(v)) {
		e->value = json_number_value(v);
		e->has_value = 1;
	} else if (v != NULL && !json_is_null(v)) {
		return "value must be a number";
	}
	v = json_object_get(o, "price");
	if (json_is_number(v)) {
		e->price = json_number_value(v);
		if (e->price < 0)
			return "price must not be negative";
	} else if (v != NULL && !json_is_null(v)) {
		return "price must be a number";
	}
	return NULL;
}

int
gw_events_parse(const char *body, size_t len, rs_arena *a, gw_events *out, const char **code,
                char *msg, size_t msgn)
{
	json_error_t jerr;
	json_t *list;

	memset(out, 0, sizeof(*out));
	out->e_root = json_loadb(body, len, 0, &jerr);
	if (out->e_root == NULL) {
		*code = "bad_json";
		snprintf(msg, msgn, "malformed JSON: %s at line %d column %d", jerr.text, jerr.line,
		         jerr.column);
		return 400;
	}
	if (!json_is_object(out->e_root)) {
		*code = "bad_request";
		snprintf(msg, msgn, "body must be an event object or {\"events\": [...]}");
		return 400;
	}
	list = json_object_get(out->e_root, "events");
	if (list != NULL) {
		if (!json_is_array(list)) {
			*code = "bad_request";
			snprintf(msg, msgn, "events must be an array");
			return 400;
		}
		out->e_total = json_array_size(list);
	} else {
		out->e_single = 1;
		out->e_total = 1;
	}
	if (out->e_total == 0) {
		*code = "bad_request";
		snprintf(msg, msgn, "events must not be empty");
		return 400;
	}
	if (out->e_total > GW_EVENTS_MAX) {
		*code = "too_many_events";
		snprintf(msg, msgn, "at most %d events per request, got %zu", GW_EVENTS_MAX,
		         out->e_total);
		return 413;
	}
	size_t cap = out->e_total;
	Rs__Event *evs = rs_arena_alloc(a, cap * sizeof(*evs));
	out->e_events = rs_arena_alloc(a, cap * sizeof(*out->e_events));
	out->e_index = rs_arena_alloc(a, cap * sizeof(*out->e_index));
	/* room for the gateway's rejections plus ingest's, which never exceed the batch */
	out->e_rejected = rs_arena_alloc(a, 2 * cap * sizeof(*out->e_rejected));
	if (evs == NULL || out->e_events == NULL || out->e_index == NULL ||
	    out->e_rejected == NULL) {
		*code = "internal";
		snprintf(msg, msgn, "out of memory");
		return 500;
	}
	for (size_t i = 0; i < out->e_total; i++) {
		json_t *o = out->e_single ? out->e_root : json_array_get(list, i);
		const char *why = ev_from_json(o, &evs[i]);
		if (why != NULL) {
			out->e_rejected[out->e_nrejected++] = (gw_event_reject){(uint32_t) i, why};
			continue;
		}
		out->e_index[out->e_n] = (uint32_t) i;
		out->e_events[out->e_n++] = &evs[i];
	}
	if (out->e_single && out->e_nrejected > 0) {
		*code = "invalid_event";
		snprintf(msg, msgn, "%s", out->e_rejected[0].reason);
		return 400;
	}
	return 0;
}

void
gw_events_fini(gw_events *ev)
{
	json_decref(ev->e_root);
	ev->e_root = NULL;
}

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
		gw_events_fini(&ev);
		return;
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
			gw_events_fini(&ev);
			return;
		}
		accepted = resp->accepted;
		duplicates = resp->duplicates;
		for (size_t i = 0; i < resp->n_rejected && ev.e_nrejected < 2 * ev.e_total; i++) {
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
	gw_events_fini(&ev);
}
