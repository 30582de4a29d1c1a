/* Request handlers of rs-ranking: RANK and HEALTH. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ranking.h"
#include "ranking.pb-c.h"
#include "rankwire.h"
#include "rs_err.h"
#include "rs_topk.h"
#include "rs_time.h"

#define RANK_SVC "ranking"

/* The request's candidates by id (open addressing, first occurrence kept): de-duplication
 * and the titles of reasons. */
typedef struct cand_index {
	int32_t *slot; /* candidate position, -1 empty; cap a power of two >= 2 n */
	size_t mask;
	Rs__Candidate *const *cv;
} cand_index;

static size_t
cand_hash(int64_t id, size_t mask)
{
	uint64_t h = (uint64_t) id * 0x9E3779B97F4A7C15ULL;
	return (size_t) (h >> 32) & mask;
}

static int
cand_index_init(cand_index *ix, rs_arena *a, Rs__Candidate *const *cv, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	if ((ix->slot = rs_arena_alloc(a, cap * sizeof(*ix->slot))) == NULL)
		return RS_ENOMEM;
	memset(ix->slot, 0xff, cap * sizeof(*ix->slot));
	ix->mask = cap - 1;
	ix->cv = cv;
	return 0;
}

/* the position of id's first candidate; with add (position pos) it is added when new */
static int32_t
cand_index_find(cand_index *ix, int64_t id, int32_t add)
{
	for (size_t h = cand_hash(id, ix->mask);; h = (h + 1) & ix->mask) {
		int32_t at = ix->slot[h];
		if (at < 0) {
			if (add >= 0)
				ix->slot[h] = add;
			return add >= 0 ? add : -1;
		}
		if (ix->cv[at]->item_id == id)
			return at;
	}
}

/* Titles for reasons: the request's candidates first, then the catalog. */
typedef struct title_ctx {
	cand_index *cands;
	const rank_catalog *cat;
} title_ctx;

static const char *
title_lookup(void *arg, int64_t id)
{
	const title_ctx *t = arg;
	int32_t at = cand_index_find(t->cands, id, -1);
	const Rs__Candidate *hit = at >= 0 ? t->cands->cv[at] : NULL;
	if (hit != NULL && hit->title != NULL && hit->title[0] != '\0')
		return hit->title;
	int64_t ci = rank_catalog_find(t->cat, id);
	return ci >= 0 ? t->cat->titles[ci] : NULL;
}

static int
rank_validate(rs_rpc_call *call, const Rs__RankRequest *req)
{
	const Rs__CandidatesResponse *cr = req->retrieval;
	size_t nc = cr != NULL ? cr->n_candidates : 0;
	if (req->user_id < 0) {
		rs_rpc_fail(call, RS__STATUS__STATUS_INVALID, "user_id must not be negative");
		return RS_EINVAL;
	}
	if (req->k > RANK_MAX_K) {
		rs_rpc_fail(call, RS__STATUS__STATUS_INVALID, "k must be between 1 and %d",
		            RANK_MAX_K);
		return RS_EINVAL;
	}
	if (nc > RANK_MAX_CANDIDATES || req->n_recent > RANK_MAX_HISTORY) {
		rs_rpc_fail(call, RS__STATUS__STATUS_INVALID,
		            "at most %d candidates and %d history events", RANK_MAX_CANDIDATES,
		            RANK_MAX_HISTORY);
		return RS_EINVAL;
	}
	for (size_t i = 0; i < nc; i++) {
		const Rs__Candidate *c = cr->candidates[i];
		if (c->item_id <= 0) {
			rs_rpc_fail(call, RS__STATUS__STATUS_INVALID,
			            "candidate %zu has a non-positive item_id", i);
			return RS_EINVAL;
		}
		if (c->n_ranker_scores != cr->n_ranker_sources ||
		    c->n_ranker_ranks != cr->n_ranker_sources) {
			rs_rpc_fail(
			        call, RS__STATUS__STATUS_INVALID,
			        "candidate %zu has %zu ranker scores and %zu ranks for %zu ranker "
			        "sources",
			        i, c->n_ranker_scores, c->n_ranker_ranks, cr->n_ranker_sources);
			return RS_EINVAL;
		}
	}
	return 0;
}

/* One item's explain row: every feature with its label, value and contribution. */
static Rs__Feature **
rank_explain(rs_rpc_call *call, const float *x, const float *contrib, const char *const *names,
             char *const *labels, int nf)
{
	Rs__Feature **fp = rs_arena_alloc(call->arena, (size_t) nf * sizeof(*fp));
	Rs__Feature *fs = rs_arena_alloc(call->arena, (size_t) nf * sizeof(*fs));
	if (fp == NULL || fs == NULL)
		return NULL;
	for (int f = 0; f < nf; f++) {
		rs__feature__init(&fs[f]);
		fs[f].name = (char *) names[f];
		fs[f].label = labels[f];
		fs[f].value = x[f];
		fs[f].contribution = contrib[f];
		fp[f] = &fs[f];
	}
	return fp;
}

/* The labels of a scorer's features (labels.h), once per request; a name without one (a source
 * the table does not know) is shown as itself. Arena memory; NULL when out of memory. */
static char **
rank_labels(rs_rpc_call *call, const char *const *names, int nf)
{
	char **out = rs_arena_alloc(call->arena, (size_t) nf * sizeof(*out));
	char buf[160];
	for (int f = 0; out != NULL && f < nf; f++) {
		const char *l = rank_feature_label(names[f], buf, sizeof(buf));
		if ((out[f] = rs_arena_strdup(call->arena, l != NULL ? l : names[f])) == NULL)
			return NULL;
	}
	return out;
}

/* The scorer a request is served with: the version its header names (an active one by name is
 * the current scorer; another one comes from the watch's cache, *vm holding it for the
 * request), else the current scorer. NULL after failing the call (STATUS_NOT_FOUND for a
 * version that is not published). */
static rank_scorer *
rank_request_scorer(rank_state *st, rs_rpc_call *call, const Rs__RequestHeader *hdr, rs_model **vm)
{
	const char *v = hdr != NULL ? hdr->model_version : NULL;
	rank_scorer *s = rank_current_scorer(st);
	char err[300];
	int rv;

	*vm = NULL;
	if (v == NULL || v[0] == '\0' || strcmp(s->version, v) == 0)
		return s;
	rank_scorer_unref(s);
	if ((rv = rs_model_watch_get(st->rs_watch, v, vm, err, sizeof(err))) != 0) {
		rs_rpc_fail(call, rs_rpc_status_of(rv), "%s", err);
		return NULL;
	}
	if ((s = rank_version_scorer(st, *vm)) == NULL) {
		rs_model_unref(*vm);
		*vm = NULL;
		rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "out of memory");
	}
	return s;
}

static void
rank_handle_rank(void *ud, rs_rpc_call *call)
{
	rank_state *st = ud;
	Rs__RankRequest *req;
	Rs__RankResponse resp = RS__RANK_RESPONSE__INIT;
	Rs__ResponseHeader h;
	rank_catalog *cat = NULL;
	rank_scorer *scorer = NULL;
	rs_model *vm = NULL;  /* a version the request names (held while its scorer is used) */
	rank_user user = {0}; /* the linear scorer's only */
	size_t n = 0;

	int wrv = rank_wire_unpack(call->body, call->body_len, call->arena, &req);
	if (wrv != 0) {
		if (wrv == RS_ENOMEM)
			rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "out of memory");
		else
			rs_rpc_fail(call, RS__STATUS__STATUS_INVALID, "body is not a valid %s",
			            rs__rank_request__descriptor.short_name);
		return;
	}
	if (rank_validate(call, req) != 0)
		return;
	if ((scorer = rank_request_scorer(st, call, req->header, &vm)) == NULL)
		return;
	uint32_t k = req->k != 0 ? req->k : (uint32_t) st->rs_cfg.default_k;
	Rs__Candidate *const *cv = req->retrieval != NULL ? req->retrieval->candidates : NULL;
	size_t nc = req->retrieval != NULL ? req->retrieval->n_candidates : 0, nh = req->n_recent;
	const rank_ranker *rk = scorer->ranker;
	rank_cand *cands = rs_arena_alloc(call->arena, (nc ? nc : 1) * sizeof(*cands));
	size_t *from = rs_arena_alloc(call->arena, (nc ? nc : 1) * sizeof(*from));
	cand_index ix;
	if (cands == NULL || from == NULL || cand_index_init(&ix, call->arena, cv, nc) != 0)
		goto nomem;

	/* De-duplicate candidates by id (the first occurrence wins). The sources' scores and the
	 * user's summary are the linear scorer's features only: the learned ranker reads its rows
	 * from the request (rank_ranker_rows). */
	for (size_t i = 0; i < nc; i++) {
		const Rs__Candidate *c = cv[i];
		rank_cand *rc = &cands[n];
		if (cand_index_find(&ix, c->item_id, (int32_t) i) != (int32_t) i)
			continue;
		memset(rc, 0, sizeof(*rc));
		rc->item_id = c->item_id;
		rc->first_stage =
		        isfinite(c->score) ? c->score : 0; /* bad input must not poison the sort */
		rc->category = c->category != NULL ? c->category : "";
		for (size_t s = 0; rk == NULL && s < c->n_sources; s++) {
			int si = rank_source_index(c->sources[s]->source);
			if (si < 0)
				continue;
			rc->src[si] = isfinite(c->sources[s]->score) ? c->sources[s]->score : 0;
			rc->because[si] = c->sources[s]->because_item;
		}
		from[n++] = i;
	}

	cat = rank_current_catalog(st);
	for (size_t i = 0; i < n; i++) {
		int64_t ci;
		if (cands[i].category[0] == '\0' &&
		    (ci = rank_catalog_find(cat, cands[i].item_id)) >= 0)
			cands[i].category = cat->categories[ci];
	}
	if (rk == NULL) {
		rank_hist *hist = rs_arena_alloc(call->arena, (nh ? nh : 1) * sizeof(*hist));
		if (hist == NULL)
			goto nomem;
		for (size_t i = 0; i < nh; i++)
			hist[i] = (rank_hist){req->recent[i]->item_id, req->recent[i]->ts_ms,
			                      (int32_t) req->recent[i]->type};
		if (rank_user_build(call->arena, hist, nh, cat, rs_now_ms(), &user) != 0)
			goto nomem;
	}
	int nf = rk != NULL ? rank_ranker_nfeat(rk) : RANK_NF;
	/* the rows the scorer reads: the learned ranker's, else the linear features (computed
	 * only for the linear scorer; the contributions of the shown items feed the reasons) */
	float *rx = rs_arena_alloc(call->arena, (n ? n : 1) * (size_t) nf * sizeof(float));
	float *contrib = rs_arena_alloc(call->arena, (n ? n : 1) * RANK_NF * sizeof(float));
	float *scores = rs_arena_alloc(call->arena, (n ? n : 1) * sizeof(float));
	rs_topk_ent *ord = rs_arena_alloc(call->arena, (n ? n : 1) * sizeof(*ord));
	int64_t *because = NULL;
	if (rx == NULL || contrib == NULL || scores == NULL || ord == NULL)
		goto nomem;
	double t_score = rs_mono_ms();
	if (rk != NULL) {
		const Rs__Candidate **cp = rs_arena_alloc(call->arena, (n ? n : 1) * sizeof(*cp));
		int missing = 0;
		because = rs_arena_alloc(call->arena, (n ? n : 1) * sizeof(*because));
		if (cp == NULL || because == NULL)
			goto nomem;
		for (size_t i = 0; i < n; i++)
			cp[i] = cv[from[i]];
		int rrv = rank_ranker_rows(rk, req, (const Rs__Candidate *const *) cp, n,
		                           call->arena, rx, because, &missing);
		if (rrv != 0) {
			rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "ranker features: %s",
			            rs_strerror(rrv));
			goto out;
		}
		if (missing > 0)
			rs_metric_add(st->rs_missing_sources, (uint64_t) missing);
	} else {
		rank_features_compute(&user, cands, n, rx);
	}
	int rv = rank_scorer_score(scorer, rx, n, scores, rk != NULL ? NULL : contrib);
	if (rv != 0) {
		rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "scorer failed: %s",
		            rs_strerror(rv));
		goto out;
	}
	/* The answer: the best k; with explain, the best explain_items of all (each with its
	 * features and their contributions). Without explain nothing beyond k is computed. */
	size_t nout = n < k ? n : k;
	if (req->explain && req->explain_items > nout)
		nout = req->explain_items < n ? req->explain_items : n;
	for (size_t i = 0; i < n; i++) /* equal scores keep the candidate order */
		ord[i] = rs_topk_ent_of(scores[i], (uint32_t) i, (uint32_t) i);
	rs_topk_select(ord, n, nout);
	float *ct = NULL; /* learned ranker: contributions of the rows shown, (nf + 1) each */
	if (rk != NULL && nout > 0) {
		/* contributions (approximate) only for the rows shown, which already have their
		 * scores, mapped onto the reason groups of the linear features */
		float *xt = rs_arena_alloc(call->arena, nout * (size_t) nf * sizeof(float));
		ct = rs_arena_alloc(call->arena, nout * (size_t) (nf + 1) * sizeof(float));
		if (xt == NULL || ct == NULL)
			goto nomem;
		for (size_t r = 0; r < nout; r++)
			memcpy(xt + r * (size_t) nf, rx + ord[r].val * (size_t) nf,
			       (size_t) nf * sizeof(float));
		if ((rv = rank_ranker_predict(rk, xt, nout, NULL, ct)) != 0) {
			rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "scorer failed: %s",
			            rs_strerror(rv));
			goto out;
		}
		for (size_t r = 0; r < nout; r++) {
			size_t i = ord[r].val;
			float *lc = &contrib[i * RANK_NF];
			memset(lc, 0, RANK_NF * sizeof(float));
			for (int f = 0; f < nf; f++) {
				int g = rank_ranker_reason_group(rk, f);
				if (g >= 0)
					lc[g] += ct[r * (size_t) (nf + 1) + (size_t) f];
			}
		}
	}
	rs_metric_observe(rk != NULL ? st->rs_xgb_ms : st->rs_linear_ms, rs_mono_ms() - t_score);
	Rs__RankedItem *items = rs_arena_alloc(call->arena, (nout ? nout : 1) * sizeof(*items));
	Rs__RankedItem **ip = rs_arena_alloc(call->arena, (nout ? nout : 1) * sizeof(*ip));
	if (items == NULL || ip == NULL)
		goto nomem;
	const char *const *names = rk != NULL ? rank_ranker_names(rk) : rank_feature_names;
	char **labels = NULL;
	if (req->explain && (labels = rank_labels(call, names, nf)) == NULL)
		goto nomem;
	title_ctx tctx = {&ix, cat};
	rs_reason_hist rhist; /* what a reason may name, with which verb */
	if (rs_reason_hist_build(call->arena, req->recent, req->n_recent, &rhist) != 0)
		goto nomem;
	for (size_t r = 0; r < nout; r++) {
		size_t i = ord[r].val;
		const Rs__Candidate *c = cv[from[i]];
		Rs__RankedItem *it = &items[r];
		char reason[256];
		int64_t ci = rank_catalog_find(cat, c->item_id);

		rs__ranked_item__init(it);
		it->item_id = c->item_id;
		it->score = scores[i];
		rank_reason(&rhist, c, cands[i].category, &contrib[i * RANK_NF],
		            because != NULL ? because[i] : 0, title_lookup, &tctx, reason,
		            sizeof(reason));
		it->reason = rs_arena_strdup(call->arena, reason);
		it->n_sources = c->n_sources;
		it->sources = c->sources; /* the request's, alive until the reply is sent */
		it->title = c->title != NULL && c->title[0] != '\0' ? c->title
		            : ci >= 0                               ? cat->titles[ci]
		                                                    : "";
		it->category = (char *) cands[i].category;
		it->price = c->price;
		if (req->explain) {
			const float *cb =
			        rk != NULL ? &ct[r * (size_t) (nf + 1)] : &contrib[i * RANK_NF];
			if ((it->features = rank_explain(call, &rx[i * (size_t) nf], cb, names,
			                                 labels, nf)) == NULL)
				goto nomem;
			it->n_features = (size_t) nf;
		}
		if (it->reason == NULL)
			goto nomem;
		ip[r] = it;
	}
	rs_rpc_header_init(call, &h, RANK_SVC, scorer->version);
	resp.header = &h;
	resp.items = ip;
	resp.n_items = nout;
	if (req->explain) {
		/* score = base_score + the contributions: the linear scorer has no intercept; the
		 * learned ranker's bias column (base_score + the trees' root means) is the same for
		 * every row */
		resp.ranker = (char *) scorer->ops->name;
		resp.base_score = rk != NULL && nout > 0 ? ct[nf] : 0.0f;
		resp.contributions = rk != NULL ? "approximate" : "exact";
	}
	rs_rpc_reply(call, &resp.base); /* packs now: catalog strings are still referenced */
	goto out;
nomem:
	rs_rpc_fail(call, RS__STATUS__STATUS_INTERNAL, "out of memory");
out:
	rank_scorer_unref(scorer); /* after the reply is packed: it names the version */
	rs_model_unref(vm);        /* after its scorer: a named version owns it */
	rank_catalog_unref(cat);
}

static void
rank_handle_health(void *ud, rs_rpc_call *call)
{
	rank_state *st = ud;
	Rs__HealthResponse resp = RS__HEALTH_RESPONSE__INIT;
	Rs__ResponseHeader h;
	char detail[160];
	rank_catalog *cat = rank_current_catalog(st);
	rank_scorer *scorer = rank_current_scorer(st);

	snprintf(detail, sizeof(detail), "scorer=%s pg=%s catalog_items=%zu",
	         scorer != NULL ? scorer->version : "none",
	         atomic_load(&st->rs_pg_ok) ? "up" : "down", cat != NULL ? cat->n : 0);
	rank_catalog_unref(cat);
	rs_rpc_header_init(call, &h, RANK_SVC,
	                   scorer != NULL ? rs_arena_strdup(call->arena, scorer->version) : "");
	resp.header = &h;
	resp.ready = scorer != NULL; /* titles are optional: reasons fall back to ids */
	rank_scorer_unref(scorer);
	resp.detail = rs_arena_strdup(call->arena, detail);
	resp.uptime_ms = (int64_t) (rs_mono_ms() - st->rs_started_ms);
	rs_rpc_reply(call, &resp.base);
}

const rs_rpc_route rank_routes[] = {
        {RS__METHOD__METHOD_RANK, "rank", rank_handle_rank},
        {RS__METHOD__METHOD_HEALTH, "health", rank_handle_health},
        {0, NULL, NULL},
};
