/* Request handlers of rs-feature: USER_FEATURES and HEALTH. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "event.pb-c.h"
#include "feature.h"
#include "feature.pb-c.h"
#include "rs_err.h"
#include "rs_time.h"

#define FEAT_SVC "feature"

static Rs__Status
feat_status_of(int rv)
{
	switch (rv) {
	case RS_ETIMEDOUT:
		return RS__STATUS__STATUS_DEADLINE;
	case RS_EUNAVAIL:
	case RS_EDB:
		return RS__STATUS__STATUS_UNAVAILABLE;
	default:
		return RS__STATUS__STATUS_INTERNAL;
	}
}

/* The version a request is served with: the one its header names (opened on demand by the
 * watch's cache), else the active one (NULL when none is active). Returns 0, or fails the call
 * (STATUS_NOT_FOUND for a version that is not published) and returns an RS_E*. */
static int
feat_request_model(feat_state *st, rs_rpc_call *call, const Rs__RequestHeader *hdr, rs_model **out)
{
	char err[300];
	int rv;

	if (hdr == NULL || hdr->model_version == NULL || hdr->model_version[0] == '\0') {
		*out = rs_model_slot_get(st->fs_slot);
		return 0;
	}
	if ((rv = rs_model_watch_get(st->fs_watch, hdr->model_version, out, err, sizeof(err))) == 0)
		return 0;
	rs_rpc_fail(call, rs_rpc_status_of(rv), "%s", err);
	return rv;
}

/* A what-if request's hypothetical events must be plain events on real ids. */
static int
feat_check_hypothetical(rs_rpc_call *call, const Rs__UserFeaturesRequest *req)
{
	if (req->n_hypothetical > FEAT_MAX_HYPOTHETICAL) {
		rs_rpc_fail(call, RS__STATUS__STATUS_INVALID, "at most %d hypothetical events",
		            FEAT_MAX_HYPOTHETICAL);
		return RS_EINVAL;
	}
	for (size_t i = 0; i < req->n_hypothetical; i++) {
		const Rs__HistoryEvent *e = req->hypothetical[i];
		if (e->item_id <= 0 || e->type <= RS__EVENT_TYPE__EVENT_UNSPECIFIED ||
		    e->type > RS__EVENT_TYPE__EVENT_NOT_INTERESTED || !isfinite(e->value)) {
			rs_rpc_fail(call, RS__STATUS__STATUS_INVALID,
			            "hypothetical event %zu needs item_id > 0 and a known type", i);
			return RS_EINVAL;
		}
	}
	return 0;
}

/* The history the answer and the embedding use: the hypothetical events as if they had just
 * happened (the last one given is the newest, 1 ms apart, ending now), then the stored ones.
 * Arena memory; nothing is written back. NULL when out of memory. */
static feat_event *
feat_with_hypothetical(rs_rpc_call *call, const Rs__UserFeaturesRequest *req, const feat_event *ev,
                       uint32_t n)
{
	size_t nh = req->n_hypothetical;
	feat_event *all = rs_arena_alloc(call->arena, (n + nh) * sizeof(*all));
	int64_t now = rs_now_ms();
	if (all == NULL)
		return NULL;
	for (size_t i = 0; i < nh; i++) {
		const Rs__HistoryEvent *e = req->hypothetical[nh - 1 - i];
		all[i] =
		        (feat_event){e->item_id, now - (int64_t) i, e->value, 0, (int32_t) e->type};
	}
	if (n > 0)
		memcpy(all + nh, ev, n * sizeof(*ev));
	return all;
}

static void
feat_handle_user_features(void *ud, rs_rpc_call *call)
{
	feat_state *st = ud;
	Rs__UserFeaturesRequest *req;
	Rs__UserFeaturesResponse resp = RS__USER_FEATURES_RESPONSE__INIT;
	Rs__ResponseHeader h;
	uint32_t want, n = 0;
	uint64_t total = 0;
	int known = 0, rv;

	if (rs_rpc_unpack(call, &rs__user_features_request__descriptor, (void **) &req) != 0)
		return;
	if (req->user_id <= 0) {
		rs_rpc_fail(call, RS__STATUS__STATUS_INVALID, "user_id must be positive");
		return;
	}
	if (req->max_events > FEAT_MAX_EVENTS_LIMIT) {
		rs_rpc_fail(call, RS__STATUS__STATUS_INVALID, "max_events must be at most %d",
		            FEAT_MAX_EVENTS_LIMIT);
		return;
	}
	if (feat_check_hypothetical(call, req) != 0)
		return;
	/* The version this request is served with (an unknown one fails before any work). */
	rs_model *model;
	if (feat_request_model(st, call, req->header, &model) != 0)
		return;
	want = req->max_events != 0 ? req->max_events : (uint32_t) st->fs_cfg.max_events;
	if (want > (uint32_t) st->fs_cfg.history_cap)
		want = (uint32_t) st->fs_cfg.history_cap;

	/* A load fetches what this request needs and at least what a request that names no
	 * length needs (the recommendation path), not all history_cap events: the newest `load`
	 * events are what the cache entry then serves (a longer request loads again). The count
	 * is always all of the user's events. */
	uint32_t load =
	        want > (uint32_t) st->fs_cfg.max_events ? want : (uint32_t) st->fs_cfg.max_events;
	if (load > (uint32_t) st->fs_cfg.history_cap)
		load = (uint32_t) st->fs_cfg.history_cap;
	feat_event *ev = rs_arena_alloc(call->arena, load * sizeof(feat_event));
	if (ev == NULL) {
		rs_model_unref(model);
		rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "out of memory");
		return;
	}
	/* Connected first, then the epoch: an epoch read after seeing a live connection is at
	 * least the one that connection started (sub.c bumps it before counting the pipe). */
	int live = feat_sub_complete(st->fs_sub);
	uint64_t epoch = feat_sub_epoch(st->fs_sub);
	uint64_t gen = 0; /* the cached history's generation: 0 = not from the cache */
	if (live && feat_cache_get(st->fs_cache, req->user_id, epoch, st->fs_cfg.cache_ttl_ms, want,
	                           ev, &n, &total, &known, &gen) == 0) {
		rs_metric_add(st->fs_hits, 1);
	} else {
		gen = 0;
		rs_metric_add(st->fs_misses, 1);
		rv = feat_store_load_user(st->fs_store, req->user_id, load, call->deadline_unix_ms,
		                          ev, &n, &total, &known);
		if (rv != 0) {
			rs_model_unref(model);
			rs_metric_add(st->fs_pg_fail, 1);
			rs_rpc_fail(call, feat_status_of(rv), "history unavailable: %s",
			            rs_strerror(rv));
			return;
		}
		/* Cached even when the stream is down: harmless, and it is the entry a
		 * reconnect would invalidate anyway. */
		if (feat_cache_put(st->fs_cache, req->user_id, epoch, ev, n, total, known, load,
		                   &gen) != 0)
			gen = 0;
		if (n > want)
			n = want;
	}
	if (req->n_hypothetical > 0) { /* what-if: for this answer only */
		if ((ev = feat_with_hypothetical(call, req, ev, n)) == NULL) {
			rs_model_unref(model);
			rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "out of memory");
			return;
		}
		n += (uint32_t) req->n_hypothetical;
		total += req->n_hypothetical;
		known = 1;
	}

	Rs__HistoryEvent *hs = rs_arena_alloc(call->arena, (n ? n : 1) * sizeof(*hs));
	Rs__HistoryEvent **hp = rs_arena_alloc(call->arena, (n ? n : 1) * sizeof(*hp));
	if (hs == NULL || hp == NULL) {
		rs_model_unref(model);
		rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "out of memory");
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		rs__history_event__init(&hs[i]);
		hs[i].item_id = ev[i].item_id;
		hs[i].type = (Rs__EventType) ev[i].type;
		hs[i].ts_ms = ev[i].ts_ms;
		hs[i].value = ev[i].value;
		hp[i] = &hs[i];
	}
	/* The embedding of the version this request sees, from the returned history: folded
	 * once per state of a cached history (memoized with it), else for this request. */
	if (model != NULL && rs_model_aux(model) != NULL && n > 0) {
		uint32_t f = rs_model_factors(model);
		float *emb = rs_arena_alloc(call->arena, f * sizeof(float));
		const char *ver = rs_model_version(model);
		int memo = gen != 0 && req->n_hypothetical == 0;
		if (emb == NULL) {
			rv = RS_ENOMEM;
		} else if (memo && feat_cache_emb_get(st->fs_cache, req->user_id, gen, ver, n, f,
		                                      emb, &rv) == 0) {
			rs_metric_add(st->fs_emb_hits, 1);
		} else {
			double t0 = rs_mono_ms();
			rv = feat_fold_user(model, ev, n, emb);
			rs_metric_observe(st->fs_fold_ms, rs_mono_ms() - t0);
			if (memo && rv >= 0)
				feat_cache_emb_put(st->fs_cache, req->user_id, gen, ver, n, f, emb,
				                   rv);
		}
		if (rv > 0) {
			resp.embedding = emb;
			resp.n_embedding = f;
		} else if (rv < 0) {
			rs_log_warn("feature.fold_failed", "user=%lld version=%s err=\"%s\"",
			            (long long) req->user_id, rs_model_version(model),
			            rs_strerror(rv));
		}
	}
	rs_rpc_header_init(call, &h, FEAT_SVC,
	                   model != NULL ? rs_arena_strdup(call->arena, rs_model_version(model))
	                                 : "");
	rs_model_unref(model); /* the header holds an arena copy */
	resp.header = &h;
	resp.user_id = req->user_id;
	resp.n_recent = n;
	resp.recent = hp;
	resp.total_events = total > UINT32_MAX ? UINT32_MAX : (uint32_t) total;
	resp.known_user = known;
	rs_rpc_reply(call, &resp.base);
}

static void
feat_handle_health(void *ud, rs_rpc_call *call)
{
	feat_state *st = ud;
	Rs__HealthResponse resp = RS__HEALTH_RESPONSE__INIT;
	Rs__ResponseHeader h;
	char detail[192], stream[32];
	int pg = feat_store_ready(st->fs_store);
	rs_model *model = rs_model_slot_get(st->fs_slot);

	/* connected, disconnected, or partial:N/M when only N of M ingest replicas are */
	int pipes = feat_sub_connected(st->fs_sub), pubs = feat_sub_publishers(st->fs_sub);
	if (st->fs_sub == NULL)
		snprintf(stream, sizeof(stream), "off");
	else if (feat_sub_complete(st->fs_sub) || pipes == 0)
		snprintf(stream, sizeof(stream), "%s", pipes > 0 ? "connected" : "disconnected");
	else
		snprintf(stream, sizeof(stream), "partial:%d/%d", pipes, pubs);
	snprintf(detail, sizeof(detail), "pg=%s stream=%s users_cached=%zu model=%s",
	         pg ? "up" : "down", stream, feat_cache_users(st->fs_cache),
	         model != NULL ? rs_model_version(model) : "none");
	rs_rpc_header_init(call, &h, FEAT_SVC,
	                   model != NULL ? rs_arena_strdup(call->arena, rs_model_version(model))
	                                 : "");
	rs_model_unref(model);
	resp.header = &h;
	resp.ready = pg;
	resp.detail = rs_arena_strdup(call->arena, detail);
	resp.uptime_ms = (int64_t) (rs_mono_ms() - st->fs_started_ms);
	rs_rpc_reply(call, &resp.base);
}

const rs_rpc_route feat_routes[] = {
        {RS__METHOD__METHOD_USER_FEATURES, "user_features", feat_handle_user_features},
        {RS__METHOD__METHOD_HEALTH, "health", feat_handle_health},
        {0, NULL, NULL},
};
