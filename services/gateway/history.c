#include "history.h"

#include "feature.pb-c.h"
#include "metrics.h"
#include "render.h"
#include "rs_err.h"
#include "rs_time.h"
#include "titles.h"
#include "util.h"

#include <stdio.h>

void
gw_handle_history(gw_server *srv, gw_req *req)
{
	int64_t user_id;
	int limit;
	Rs__RequestHeader hdr = RS__REQUEST_HEADER__INIT;
	Rs__UserFeaturesRequest freq = RS__USER_FEATURES_REQUEST__INIT;
	Rs__UserFeaturesResponse *feat = NULL;
	Rs__Status status = RS__STATUS__STATUS_OK;
	char err[200] = "";

	if (gw_parse_id(req->r_params[0], &user_id) != 0) {
		gw_reply_error(req, 400, "bad_request", "user id must be a positive integer");
		return;
	}
	if (gw_query_int(req, "limit", 1, GW_HISTORY_MAX, GW_HISTORY_DEFAULT, &limit) != 0)
		return;
	hdr.request_id = req->r_request_id;
	hdr.deadline_unix_ms = rs_now_ms() + srv->s_cfg.deadline_ms;
	freq.header = &hdr;
	freq.user_id = user_id;
	freq.max_events = (uint32_t) limit;
	double t0 = rs_mono_ms();
	int rv = rs_rpc_request(srv->s_clients[GW_FEATURE], RS__METHOD__METHOD_USER_FEATURES,
	                        &freq.base, &rs__user_features_response__descriptor,
	                        srv->s_cfg.deadline_ms, req->r_arena, (void **) &feat, &status, err,
	                        sizeof(err));
	int ok = rv == 0 && status == RS__STATUS__STATUS_OK && feat != NULL;
	gw_metrics_hop("feature", rs_mono_ms() - t0,
	               ok                   ? NULL
	               : rv == RS_ETIMEDOUT ? "timeout"
	               : rv == RS_EUNAVAIL  ? "unavailable"
	                                    : "error");
	if (!ok) {
		if (rv == 0 && status == RS__STATUS__STATUS_INVALID)
			gw_reply_error(req, 400, "bad_request", "feature: %s", err);
		else
			gw_reply_error(req, 503, "unavailable", "the history is unavailable: %s",
			               rv != 0 ? rs_strerror(rv) : err);
		return;
	}

	int64_t *ids = rs_arena_alloc(req->r_arena, (feat->n_recent + 1) * sizeof(*ids));
	if (ids == NULL) {
		gw_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	for (size_t i = 0; i < feat->n_recent; i++)
		ids[i] = feat->recent[i]->item_id;
	gw_titles titles;
	int trv = gw_titles_lookup(srv->s_db, req->r_arena, ids, feat->n_recent, &titles);

	gw_jw w;
	gw_jw_init(&w, 256 + feat->n_recent * 160);
	gw_jw_lit(&w, "{\"user_id\":");
	gw_jw_int(&w, user_id);
	gw_jw_lit(&w, ",\"events\":[");
	for (size_t i = 0; i < feat->n_recent; i++) {
		const Rs__HistoryEvent *e = feat->recent[i];
		const gw_title *t = gw_titles_find(&titles, e->item_id);
		if (i > 0)
			gw_jw_lit(&w, ",");
		gw_jw_lit(&w, "{\"item_id\":");
		gw_jw_int(&w, e->item_id);
		gw_jw_lit(&w, ",\"type\":");
		gw_jw_str(&w, gw_event_type_name(e->type));
		gw_jw_lit(&w, ",\"ts_ms\":");
		gw_jw_int(&w, e->ts_ms);
		if (e->value != 0) { /* a rating's value, a quantity */
			gw_jw_lit(&w, ",\"value\":");
			gw_jw_real(&w, e->value);
		}
		gw_jw_lit(&w, ",\"title\":");
		gw_jw_str(&w, t != NULL ? t->t_title : "");
		gw_jw_lit(&w, ",\"category\":");
		gw_jw_str(&w, t != NULL ? t->t_category : "");
		gw_jw_lit(&w, ",\"price\":");
		if (t != NULL && t->t_has_price)
			gw_jw_real(&w, t->t_price);
		else
			gw_jw_lit(&w, "null");
		gw_jw_lit(&w, "}");
	}
	gw_jw_lit(&w, "]");
	if (trv != 0) {
		gw_jw_lit(&w, ",\"catalog_error\":");
		gw_jw_str(&w, trv == RS_EUNAVAIL
		                      ? "catalog unavailable: the database cannot be reached"
		                      : "catalog lookup failed");
		req->r_note = "degraded";
	}
	gw_jw_lit(&w, "}");
	gw_reply_jw(req, 200, &w);
}
