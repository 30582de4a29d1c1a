/* Request handlers of rs-candidate: CANDIDATES, SIMILAR and HEALTH. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "candidate.h"
#include "candidate.pb-c.h"
#include "ranker_in.h"
#include "rs_err.h"
#include "rs_time.h"
#include "wire.h"

#define CAND_SVC "candidate"

/* CandidatesResponse.filtered: one FilterCount per reason that removed anything. */
static int
cand_filtered_pb(rs_rpc_call *call, const cand_filtered *fl, Rs__CandidatesResponse *resp)
{
	Rs__FilterCount **fp = rs_arena_alloc(call->arena, CAND_NWHY * sizeof(*fp));
	Rs__FilterCount *fc = rs_arena_alloc(call->arena, CAND_NWHY * sizeof(*fc));
	if (fp == NULL || fc == NULL)
		return RS_ENOMEM;
	for (int w = 0; w < CAND_NWHY; w++) {
		if (fl[w].count == 0)
			continue;
		Rs__FilterCount *c = &fc[resp->n_filtered];
		rs__filter_count__init(c);
		c->reason = (char *) cand_why_names[w];
		c->count = fl[w].count;
		c->n_items = fl[w].n_ids;
		c->items = (int64_t *) fl[w].ids;
		fp[resp->n_filtered++] = c;
	}
	resp->filtered = fp;
	return 0;
}

/* CandidatesResponse.ranker_sources (every candidate's ranker_scores / ranker_ranks are written
 * by cand_wire_pack). */
static int
cand_rin_pb(rs_rpc_call *call, const cand_rin *rin, Rs__CandidatesResponse *resp)
{
	Rs__SourceStats **sp = rs_arena_alloc(call->arena, (size_t) rin->ns * sizeof(*sp));
	Rs__SourceStats *ss = rs_arena_alloc(call->arena, (size_t) rin->ns * sizeof(*ss));
	if (sp == NULL || ss == NULL)
		return RS_ENOMEM;
	for (int j = 0; j < rin->ns; j++) {
		rs__source_stats__init(&ss[j]);
		ss[j].source = (char *) rin->name[j];
		ss[j].top = rin->stat[j].top;
		ss[j].low = rin->stat[j].low;
		ss[j].count = rin->stat[j].count;
		sp[j] = &ss[j];
	}
	resp->ranker_sources = sp;
	resp->n_ranker_sources = (size_t) rin->ns;
	return 0;
}

static void
cand_reply(rs_rpc_call *call, const cand_snap *snap, const rs_model *model, const cand_result *res,
           size_t n, const cand_stat *stats, const cand_filtered *filtered, const cand_rin *rin)
{
	Rs__CandidatesResponse resp = RS__CANDIDATES_RESPONSE__INIT;
	Rs__ResponseHeader h;
	if (rin != NULL && rin->ns > 0 && cand_rin_pb(call, rin, &resp) != 0) {
		rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "out of memory");
		return;
	}
	rs_rpc_header_init(call, &h, CAND_SVC,
	                   model != NULL ? rs_model_version(model) : snap->version);
	resp.header = &h;
	if (stats != NULL) { /* each source's own list, for the learned ranker's normalisers */
		Rs__SourceStats **sp = rs_arena_alloc(call->arena, CAND_NSRC * sizeof(*sp));
		Rs__SourceStats *ss = rs_arena_alloc(call->arena, CAND_NSRC * sizeof(*ss));
		if (sp == NULL || ss == NULL) {
			rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "out of memory");
			return;
		}
		for (int s = 0; s < CAND_NSRC; s++) {
			if (stats[s].count == 0)
				continue;
			rs__source_stats__init(&ss[resp.n_source_stats]);
			ss[resp.n_source_stats].source = (char *) cand_src_names[s];
			ss[resp.n_source_stats].top = stats[s].top;
			ss[resp.n_source_stats].low = stats[s].low;
			ss[resp.n_source_stats].count = stats[s].count;
			sp[resp.n_source_stats] = &ss[resp.n_source_stats];
			resp.n_source_stats++;
		}
		resp.source_stats = sp;
	}
	if (filtered != NULL && cand_filtered_pb(call, filtered, &resp) != 0) {
		rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "out of memory");
		return;
	}
	/* The list straight from the results (strings borrowed from snap, which the caller keeps
	 * referenced until here): the reply's bytes are protobuf-c's, without its two walks. */
	if (cand_wire_pack(&resp, snap, res, n, rin, call->arena, &call->resp, &call->resp_len) !=
	    0)
		rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "out of memory");
}

/* The version a request is served with: the one its header names (RequestHeader.model_version,
 * opened on demand by the watch's version cache), else the active one (NULL when none is).
 * Returns 0, or fails the call (STATUS_NOT_FOUND for a version that is not published) and
 * returns an RS_E*. */
static int
cand_request_model(cand_state *st, rs_rpc_call *call, const Rs__RequestHeader *hdr, rs_model **out)
{
	char err[300];
	int rv;

	if (hdr == NULL || hdr->model_version == NULL || hdr->model_version[0] == '\0') {
		*out = cand_current_model(st);
		return 0;
	}
	if ((rv = rs_model_watch_get(st->cs_watch, hdr->model_version, out, err, sizeof(err))) == 0)
		return 0;
	rs_rpc_fail(call, rs_rpc_status_of(rv), "%s", err);
	return rv;
}

/* What a request reads from start to end, whatever is refreshed or activated meanwhile. */
typedef struct cand_view {
	cand_snap *snap;
	rs_model *model; /* the version the header names, else the active one (NULL: none) */
	cand_join *join; /* of snap and model (NULL without a model) */
} cand_view;

/* cand_view_begin: 0, or the call has failed (no snapshot yet, an unknown version).
 * cand_view_end drops the references. */
static int
cand_view_begin(cand_state *st, rs_rpc_call *call, const Rs__RequestHeader *hdr, cand_view *v)
{
	int rv;

	if ((v->snap = cand_current(st)) == NULL) {
		rs_rpc_fail(call, RS__STATUS__STATUS_UNAVAILABLE, "no data loaded yet");
		return RS_EUNAVAIL;
	}
	if ((rv = cand_request_model(st, call, hdr, &v->model)) != 0) {
		cand_snap_unref(v->snap);
		return rv;
	}
	v->join = cand_join_get(st, v->snap, v->model);
	return 0;
}

static void
cand_view_end(cand_view *v)
{
	cand_join_unref(v->join);
	rs_model_unref(v->model);
	cand_snap_unref(v->snap);
}

/* The k a request asks for is at most CAND_MAX_K (0 = the default); else the call fails. */
static int
cand_k_ok(rs_rpc_call *call, uint32_t k)
{
	if (k <= CAND_MAX_K)
		return 1;
	rs_rpc_fail(call, RS__STATUS__STATUS_INVALID, "k must be between 1 and %d", CAND_MAX_K);
	return 0;
}

static void
cand_handle_candidates(void *ud, rs_rpc_call *call)
{
	cand_state *st = ud;
	Rs__CandidatesRequest *req;
	cand_filter filt = {0};
	cand_view v;
	size_t n = 0;

	if (rs_rpc_unpack(call, &rs__candidates_request__descriptor, (void **) &req) != 0)
		return;
	if (req->user_id < 0) {
		rs_rpc_fail(call, RS__STATUS__STATUS_INVALID, "user_id must not be negative");
		return;
	}
	if (!cand_k_ok(call, req->k))
		return;
	if (req->n_recent > CAND_MAX_HISTORY) {
		rs_rpc_fail(call, RS__STATUS__STATUS_INVALID, "at most %d history events",
		            CAND_MAX_HISTORY);
		return;
	}
	if (req->filter != NULL) {
		const Rs__CandidateFilter *f = req->filter;
		if (!isfinite(f->min_price) || !isfinite(f->max_price) || f->min_price < 0 ||
		    f->max_price < 0 || (f->max_price > 0 && f->min_price > f->max_price)) {
			rs_rpc_fail(call, RS__STATUS__STATUS_INVALID,
			            "price range must satisfy 0 <= min_price <= max_price");
			return;
		}
		if (f->n_exclude_items > CAND_MAX_EXCLUDED) {
			rs_rpc_fail(call, RS__STATUS__STATUS_INVALID, "at most %d excluded items",
			            CAND_MAX_EXCLUDED);
			return;
		}
		filt.category = f->category;
		filt.min_price = f->min_price;
		filt.max_price = f->max_price;
		filt.in_stock_only = f->in_stock_only;
		filt.exclude = f->exclude_items;
		filt.n_exclude = f->n_exclude_items;
	}
	uint32_t k = req->k != 0 ? req->k : (uint32_t) st->cs_cfg.default_k;
	cand_hist *h =
	        rs_arena_alloc(call->arena, (req->n_recent ? req->n_recent : 1) * sizeof(*h));
	cand_result *res = rs_arena_alloc(call->arena, k * sizeof(*res));
	if (h == NULL || res == NULL) {
		rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "out of memory");
		return;
	}
	for (size_t i = 0; i < req->n_recent; i++) {
		const Rs__HistoryEvent *e = req->recent[i];
		h[i] = (cand_hist){e->item_id, e->ts_ms, e->value, (int32_t) e->type};
	}
	for (size_t i = 0; i < req->n_embedding; i++)
		if (!isfinite(req->embedding[i])) {
			rs_rpc_fail(call, RS__STATUS__STATUS_INVALID, "embedding must be finite");
			return;
		}
	if (cand_view_begin(st, call, req->header, &v) != 0)
		return;
	cand_stat stats[CAND_NSRC] = {{0, 0, 0}};
	cand_filtered filtered[CAND_NWHY];
	cand_model_in mi = {v.join, req->embedding, req->n_embedding, stats, 0, filtered};
	if (v.model != NULL) /* a two-stage version: its ranker normalises by the top cand_n */
		mi.stat_n = (uint32_t) rs_model_param(v.model, "cand_n", 0);
	if (v.model != NULL && req->embedding_version != NULL &&
	    req->embedding_version[0] != '\0' &&
	    strcmp(req->embedding_version, rs_model_version(v.model)) != 0)
		mi.n_emb = 0; /* computed with another version's factors (a switch in progress) */
	cand_rin rin;
	int rv = cand_retrieve_ex(v.snap, &mi, req->user_id, h, req->n_recent, &filt, k, res, &n);
	if (rv == 0 && v.join != NULL) /* the learned ranker's inputs, for this version */
		rv = cand_rin_build(v.join, h, req->n_recent, res, n, stats, mi.emb, mi.n_emb,
		                    call->arena, &rin);
	if (rv != 0)
		rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "%s", rs_strerror(rv));
	else
		cand_reply(call, v.snap, v.join != NULL ? v.model : NULL, res, n, stats, filtered,
		           v.join != NULL ? &rin : NULL);
	cand_view_end(&v);
}

static void
cand_handle_similar(void *ud, rs_rpc_call *call)
{
	cand_state *st = ud;
	Rs__SimilarRequest *req;
	cand_view v;
	size_t n = 0;

	if (rs_rpc_unpack(call, &rs__similar_request__descriptor, (void **) &req) != 0)
		return;
	if (req->item_id <= 0) {
		rs_rpc_fail(call, RS__STATUS__STATUS_INVALID, "item_id must be positive");
		return;
	}
	if (!cand_k_ok(call, req->k))
		return;
	int bought = req->mode != NULL && strcmp(req->mode, "bought_together") == 0;
	if (!bought && req->mode != NULL && req->mode[0] != '\0') {
		rs_rpc_fail(call, RS__STATUS__STATUS_INVALID,
		            "mode must be \"\" (similar) or \"bought_together\"");
		return;
	}
	uint32_t k = req->k != 0 ? req->k : CAND_SIMILAR_K;
	cand_result *res = rs_arena_alloc(call->arena, k * sizeof(*res));
	if (res == NULL) {
		rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "out of memory");
		return;
	}
	if (cand_view_begin(st, call, req->header, &v) != 0)
		return;
	cand_model_in mi = {v.join, NULL, 0};
	int64_t idx = cand_snap_find(v.snap, req->item_id);
	if (idx < 0)
		rs_rpc_fail(call, RS__STATUS__STATUS_NOT_FOUND, "item %lld is unknown",
		            (long long) req->item_id);
	else if ((bought ? cand_bought_together(v.snap, (uint32_t) idx, k, res, &n)
	                 : cand_similar_ex(v.snap, &mi, (uint32_t) idx, k, res, &n)) != 0)
		rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "out of memory");
	else
		cand_reply(call, v.snap, v.join != NULL ? v.model : NULL, res, n, NULL, NULL, NULL);
	cand_view_end(&v);
}

static void
cand_handle_health(void *ud, rs_rpc_call *call)
{
	cand_state *st = ud;
	Rs__HealthResponse resp = RS__HEALTH_RESPONSE__INIT;
	Rs__ResponseHeader h;
	char detail[200];
	cand_snap *snap = cand_current(st);
	rs_model *model = cand_current_model(st);

	if (snap != NULL)
		snprintf(detail, sizeof(detail), "pg=%s version=%s items=%zu events=%zu model=%s",
		         atomic_load(&st->cs_pg_ok) ? "up" : "down", snap->version, snap->n_items,
		         snap->n_events, model != NULL ? rs_model_version(model) : "none");
	else
		snprintf(detail, sizeof(detail), "pg=%s no snapshot yet",
		         atomic_load(&st->cs_pg_ok) ? "up" : "down");
	rs_rpc_header_init(call, &h, CAND_SVC, snap != NULL ? snap->version : "");
	resp.header = &h;
	resp.ready = snap != NULL;
	resp.detail = rs_arena_strdup(call->arena, detail);
	resp.uptime_ms = (int64_t) (rs_mono_ms() - st->cs_started_ms);
	if (snap != NULL)
		h.model_version = rs_arena_strdup(
		        call->arena, model != NULL ? rs_model_version(model) : snap->version);
	rs_model_unref(model);
	cand_snap_unref(snap);
	rs_rpc_reply(call, &resp.base);
}

const rs_rpc_route cand_routes[] = {
        {RS__METHOD__METHOD_CANDIDATES, "candidates", cand_handle_candidates},
        {RS__METHOD__METHOD_SIMILAR, "similar", cand_handle_similar},
        {RS__METHOD__METHOD_HEALTH, "health", cand_handle_health},
        {0, NULL, NULL},
};
