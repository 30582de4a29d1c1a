/* The fake downstreams' handlers (no Criterion here: also linked into gw-fake-downstreams). */
#include "fake_servers.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "candidate.pb-c.h"
#include "event.pb-c.h"
#include "feature.pb-c.h"
#include "ranking.pb-c.h"

t_fake_state t_fake;
int fake_ncand = T_FAKE_NCAND;

/* The string fields of t_fake: several fake handler threads may write them at once (the
 * gateway calls a downstream from more than one request; TSan saw two feature calls). */
static pthread_mutex_t fake_str_mu = PTHREAD_MUTEX_INITIALIZER;

/* The version a request names ("" when none), noted in last (64 bytes). */

static const char *
fake_version(const Rs__RequestHeader *h, char *last)
{
	const char *v = h != NULL && h->model_version != NULL ? h->model_version : "";
	pthread_mutex_lock(&fake_str_mu);
	snprintf(last, 64, "%s", v);
	pthread_mutex_unlock(&fake_str_mu);
	return v;
}

static void
fake_feature(void *ud, rs_rpc_call *call)
{
	Rs__UserFeaturesRequest *req;
	Rs__UserFeaturesResponse resp = RS__USER_FEATURES_RESPONSE__INIT;
	Rs__ResponseHeader h;
	(void) ud;
	int delay = atomic_load(&t_fake.feature_delay_ms);
	if (delay > 0)
		usleep((useconds_t) delay * 1000);
	if (rs_rpc_unpack(call, &rs__user_features_request__descriptor, (void **) &req) != 0)
		return;
	atomic_fetch_add(&t_fake.feature_calls, 1);
	pthread_mutex_lock(&fake_str_mu);
	snprintf(t_fake.last_request_id, sizeof(t_fake.last_request_id), "%s",
	         req->header != NULL ? req->header->request_id : "");
	pthread_mutex_unlock(&fake_str_mu);
	const char *version = fake_version(req->header, t_fake.last_feat_version);
	if (strcmp(version, T_MISSING_VERSION) == 0) {
		rs_rpc_fail(call, RS__STATUS__STATUS_NOT_FOUND, "model version %s is not published",
		            version);
		return;
	}
	atomic_store(&t_fake.last_feat_max_events, (int) req->max_events);
	atomic_store(&t_fake.last_feat_n_hyp, (int) req->n_hypothetical);
	atomic_store(&t_fake.last_feat_hyp_item0,
	             req->n_hypothetical > 0 ? (long) req->hypothetical[0]->item_id : 0);
	atomic_store(&t_fake.last_feat_hyp_type0,
	             req->n_hypothetical > 0 ? (int) req->hypothetical[0]->type : 0);
	/* like rs-feature: the hypothetical events first (the last given newest), then 7, 8
	 * (and for T_USER_POPULAR_BUYER the two most popular items) */
	size_t nh = req->n_hypothetical, nown = req->user_id == T_USER_POPULAR_BUYER ? 4 : 2;
	size_t n = nh + nown;
	Rs__HistoryEvent *ev = rs_arena_alloc(call->arena, n * sizeof(*ev));
	Rs__HistoryEvent **recent = rs_arena_alloc(call->arena, n * sizeof(*recent));
	float *emb = rs_arena_alloc(call->arena, 4 * sizeof(*emb));
	for (size_t i = 0; i < nh; i++) {
		ev[i] = *req->hypothetical[nh - 1 - i];
		ev[i].base.n_unknown_fields = 0;
		ev[i].ts_ms = 1800000000000 - (int64_t) i;
		recent[i] = &ev[i];
	}
	for (size_t i = 0; i < nown; i++) {
		static const Rs__EventType types[4] = {
		        RS__EVENT_TYPE__EVENT_VIEW, RS__EVENT_TYPE__EVENT_PURCHASE,
		        RS__EVENT_TYPE__EVENT_PURCHASE, RS__EVENT_TYPE__EVENT_NOT_INTERESTED};
		rs__history_event__init(&ev[nh + i]);
		ev[nh + i].item_id = i < 2 ? 7 + (int64_t) i : T_POPULAR_BASE + (int64_t) i - 1;
		ev[nh + i].type = types[i];
		ev[nh + i].ts_ms = 1700000000000 + 1000 * (int64_t) i;
		recent[nh + i] = &ev[nh + i];
	}
	for (int i = 0; i < 4; i++)
		emb[i] = 0.1f * (float) (i + 1);
	rs_rpc_header_init(call, &h, "feature", version);
	resp.header = &h;
	resp.user_id = req->user_id;
	resp.n_recent = n;
	resp.recent = recent;
	resp.n_embedding = 4;
	resp.embedding = emb;
	resp.total_events = (uint32_t) nown;
	resp.known_user = 1;
	rs_rpc_reply(call, &resp.base);
}

static void
fake_fill_candidates(rs_rpc_call *call, int64_t base, int n, Rs__CandidatesResponse *resp)
{
	resp->n_candidates = (size_t) n;
	resp->candidates = rs_arena_alloc(call->arena, (size_t) n * sizeof(Rs__Candidate *));
	for (int i = 0; i < n; i++) {
		Rs__Candidate *c = rs_arena_alloc(call->arena, sizeof(*c));
		Rs__SourceScore *s = rs_arena_alloc(call->arena, sizeof(*s));
		Rs__SourceScore **sv = rs_arena_alloc(call->arena, sizeof(*sv));
		char title[32];
		rs__candidate__init(c);
		rs__source_score__init(s);
		s->source = i % 2 == 0 ? "popular" : "covisit";
		s->score = 1.0f - (float) i * 0.01f;
		s->rank = (uint32_t) i + 1;
		s->because_item = i % 2 == 0 ? 0 : 7;
		sv[0] = s;
		c->item_id = base + i + 1;
		c->score = s->score;
		c->n_sources = 1;
		c->sources = sv;
		snprintf(title, sizeof(title), "Item %lld", (long long) c->item_id);
		c->title = rs_arena_strdup(call->arena, title);
		c->category = "Books/Fiction";
		c->price = 10.5 + i;
		resp->candidates[i] = c;
	}
}

static void
fake_candidate(void *ud, rs_rpc_call *call)
{
	Rs__CandidatesRequest *req;
	Rs__CandidatesResponse resp = RS__CANDIDATES_RESPONSE__INIT;
	Rs__ResponseHeader h;
	(void) ud;
	if (rs_rpc_unpack(call, &rs__candidates_request__descriptor, (void **) &req) != 0)
		return;
	if (req->user_id != 0) {
		atomic_fetch_add(&t_fake.candidate_calls, 1);
		atomic_store(&t_fake.last_cand_user, (long) req->user_id);
		atomic_store(&t_fake.last_cand_n_recent, (int) req->n_recent);
		atomic_store(&t_fake.last_cand_k, (int) req->k);
		const Rs__CandidateFilter *f = req->filter;
		atomic_store(&t_fake.last_cand_n_exclude, f != NULL ? (int) f->n_exclude_items : 0);
		atomic_store(&t_fake.last_cand_exclude0,
		             f != NULL && f->n_exclude_items > 0 ? (long) f->exclude_items[0] : 0);
	}
	/* the gateway's popular refresher (user 0) runs in the background: it must not overwrite
	 * what a test's request sent */
	char refresher_version[64];
	const char *version = fake_version(req->header, req->user_id != 0 ? t_fake.last_cand_version
	                                                                  : refresher_version);
	if (strcmp(version, T_MISSING_VERSION) == 0) {
		rs_rpc_fail(call, RS__STATUS__STATUS_NOT_FOUND, "model version %s is not published",
		            version);
		return;
	}
	rs_rpc_header_init(call, &h, "candidate", version[0] != '\0' ? version : "cand-v1");
	resp.header = &h;
	if (req->user_id == 0) {
		fake_fill_candidates(call, T_POPULAR_BASE, 20, &resp);
		rs_rpc_reply(call, &resp.base);
		return;
	}
	fake_fill_candidates(call, 100, fake_ncand, &resp);
	/* the inspector's extras: als ranks 1..6 on items 111..116, each source's list
	 * statistics, and what was filtered */
	for (int i = 10; i < 16 && i < fake_ncand; i++) {
		Rs__Candidate *c = resp.candidates[i];
		Rs__SourceScore **sv = rs_arena_alloc(call->arena, 2 * sizeof(*sv));
		Rs__SourceScore *als = rs_arena_alloc(call->arena, sizeof(*als));
		rs__source_score__init(als);
		als->source = "als";
		als->rank = (uint32_t) (i - 9);
		als->score = 0.06f - 0.01f * (float) (i - 10);
		sv[0] = c->sources[0];
		sv[1] = als;
		c->sources = sv;
		c->n_sources = 2;
	}
	static const char *const stat_src[3] = {"popular", "covisit", "als"};
	Rs__SourceStats *ss = rs_arena_alloc(call->arena, 3 * sizeof(*ss));
	resp.source_stats = rs_arena_alloc(call->arena, 3 * sizeof(*resp.source_stats));
	for (int i = 0; i < 3; i++) {
		rs__source_stats__init(&ss[i]);
		ss[i].source = (char *) stat_src[i];
		ss[i].count = (uint32_t) (15 - 5 * i);
		ss[i].top = 1.0f - 0.1f * (float) i;
		ss[i].low = 0.5f - 0.1f * (float) i;
		resp.source_stats[i] = &ss[i];
	}
	resp.n_source_stats = 3;
	static const char *const rk_src[2] = {"als", "pop"};
	Rs__SourceStats *rs = rs_arena_alloc(call->arena, 2 * sizeof(*rs));
	resp.ranker_sources = rs_arena_alloc(call->arena, 2 * sizeof(*resp.ranker_sources));
	for (int i = 0; i < 2; i++) {
		rs__source_stats__init(&rs[i]);
		rs[i].source = (char *) rk_src[i];
		rs[i].count = 10;
		rs[i].top = 2.0f;
		resp.ranker_sources[i] = &rs[i];
	}
	resp.n_ranker_sources = 2;
	for (int i = 0; i < fake_ncand; i++) {
		Rs__Candidate *c = resp.candidates[i];
		c->ranker_scores = rs_arena_alloc(call->arena, 2 * sizeof(float));
		c->ranker_ranks = rs_arena_alloc(call->arena, 2 * sizeof(uint32_t));
		c->ranker_scores[0] = 0.5f;
		c->ranker_scores[1] = (float) c->item_id;
		c->ranker_ranks[0] = 1;
		c->ranker_ranks[1] = 2;
		c->n_ranker_scores = c->n_ranker_ranks = 2;
	}
	static int64_t filtered_items[2] = {7, 9};
	Rs__FilterCount fc = RS__FILTER_COUNT__INIT, *fcp = &fc;
	fc.reason = "purchased";
	fc.count = 2;
	fc.n_items = 2;
	fc.items = filtered_items;
	resp.n_filtered = 1;
	resp.filtered = &fcp;
	rs_rpc_reply(call, &resp.base);
}

static void
fake_similar(void *ud, rs_rpc_call *call)
{
	Rs__SimilarRequest *req;
	Rs__CandidatesResponse resp = RS__CANDIDATES_RESPONSE__INIT;
	Rs__ResponseHeader h;
	(void) ud;
	if (rs_rpc_unpack(call, &rs__similar_request__descriptor, (void **) &req) != 0)
		return;
	if (req->item_id == 404) {
		rs_rpc_fail(call, RS__STATUS__STATUS_NOT_FOUND, "no such item");
		return;
	}
	rs_rpc_header_init(call, &h, "candidate", "cand-v1");
	resp.header = &h;
	fake_fill_candidates(call, 300, (int) req->k, &resp);
	rs_rpc_reply(call, &resp.base);
}

/* Ranks the candidates in reverse order, so ranking order differs from candidate order. */
static void
fake_ranking(void *ud, rs_rpc_call *call)
{
	Rs__RankRequest *req;
	Rs__RankResponse resp = RS__RANK_RESPONSE__INIT;
	Rs__ResponseHeader h;
	(void) ud;
	atomic_fetch_add(&t_fake.ranking_calls, 1); /* counted on arrival, before the delay */
	int delay = atomic_load(&t_fake.ranking_delay_ms);
	if (delay > 0)
		usleep((useconds_t) delay * 1000);
	if (rs_rpc_unpack(call, &rs__rank_request__descriptor, (void **) &req) != 0)
		return;
	Rs__Candidate **cv = req->retrieval != NULL ? req->retrieval->candidates : NULL;
	size_t nc = req->retrieval != NULL ? req->retrieval->n_candidates : 0;
	atomic_store(&t_fake.last_rank_n_cands, (int) nc);
	const Rs__CandidatesResponse *cr = req->retrieval;
	int whole = cr != NULL && cr->header != NULL &&
	            strcmp(cr->header->service, "candidate") == 0 && cr->n_source_stats == 3 &&
	            cr->n_filtered == 1 && cr->n_ranker_sources == 2 &&
	            strcmp(cr->ranker_sources[1]->source, "pop") == 0;
	for (size_t i = 0; whole && i < nc; i++)
		whole = cv[i]->n_ranker_scores == 2 && cv[i]->n_ranker_ranks == 2 &&
		        cv[i]->ranker_scores[1] == (float) cv[i]->item_id &&
		        cv[i]->ranker_ranks[1] == 2;
	atomic_store(&t_fake.last_rank_retrieval_whole, whole);
	atomic_store(&t_fake.last_rank_explain_items, (int) req->explain_items);
	const char *version = fake_version(req->header, t_fake.last_rank_version);
	if (strcmp(version, T_MISSING_VERSION) == 0) {
		rs_rpc_fail(call, RS__STATUS__STATUS_NOT_FOUND, "model version %s is not published",
		            version);
		return;
	}
	size_t want = req->explain && req->explain_items > req->k ? req->explain_items : req->k;
	size_t n = nc < want ? nc : want;
	resp.n_items = n;
	resp.items = rs_arena_alloc(call->arena, (n ? n : 1) * sizeof(Rs__RankedItem *));
	for (size_t i = 0; i < n; i++) {
		const Rs__Candidate *c = cv[nc - 1 - i];
		Rs__RankedItem *it = rs_arena_alloc(call->arena, sizeof(*it));
		rs__ranked_item__init(it);
		it->item_id = c->item_id;
		it->score = 10.0f - (float) i;
		it->reason = "because you viewed Item 7";
		it->title = c->title; /* the item as the real ranking fills it (ranking.proto) */
		it->category = c->category;
		it->price = c->price;
		it->sources = c->sources;
		it->n_sources = c->n_sources;
		if (req->explain) { /* base_score + the contributions = the score */
			Rs__Feature *f = rs_arena_alloc(call->arena, 2 * sizeof(*f));
			Rs__Feature **fv = rs_arena_alloc(call->arena, 2 * sizeof(*fv));
			rs__feature__init(&f[0]);
			f[0].name = "cand_score";
			f[0].label = "the candidate's own score";
			f[0].value = c->score;
			f[0].contribution = 1.0f;
			rs__feature__init(&f[1]);
			f[1].name = "position";
			f[1].label = "how far down the list it came";
			f[1].value = (float) i;
			f[1].contribution = it->score - T_FAKE_BASE_SCORE - 1.0f;
			fv[0] = &f[0];
			fv[1] = &f[1];
			it->n_features = 2;
			it->features = fv;
		}
		resp.items[i] = it;
	}
	if (req->explain) {
		resp.ranker = "linear";
		resp.base_score = T_FAKE_BASE_SCORE;
		resp.contributions = "exact";
	}
	rs_rpc_header_init(call, &h, "ranking", version[0] != '\0' ? version : "rank-v1");
	resp.header = &h;
	rs_rpc_reply(call, &resp.base);
}

/* Counts an event_id starting with "dup" as a duplicate and rejects item 999. */
static void
fake_ingest(void *ud, rs_rpc_call *call)
{
	Rs__EventBatch *req;
	Rs__EventBatchResponse resp = RS__EVENT_BATCH_RESPONSE__INIT;
	Rs__ResponseHeader h;
	(void) ud;
	if (rs_rpc_unpack(call, &rs__event_batch__descriptor, (void **) &req) != 0)
		return;
	atomic_fetch_add(&t_fake.ingest_calls, 1);
	atomic_store(&t_fake.last_ingest_n, (int) req->n_events);
	resp.rejected = rs_arena_alloc(call->arena, (req->n_events + 1) * sizeof(void *));
	for (size_t i = 0; i < req->n_events; i++) {
		const Rs__Event *e = req->events[i];
		if (strncmp(e->event_id, "dup", 3) == 0) {
			resp.duplicates++;
		} else if (e->item_id == 999) {
			Rs__EventRejection *r = rs_arena_alloc(call->arena, sizeof(*r));
			rs__event_rejection__init(r);
			r->index = (uint32_t) i;
			r->reason = "unknown item";
			resp.rejected[resp.n_rejected++] = r;
		} else {
			resp.accepted++;
		}
	}
	rs_rpc_header_init(call, &h, "ingest", "");
	resp.header = &h;
	rs_rpc_reply(call, &resp.base);
}

static const rs_rpc_route ingest_routes[] = {
        {RS__METHOD__METHOD_EVENT_BATCH, "events", fake_ingest}, {0, NULL, NULL}};
static const rs_rpc_route feature_routes[] = {
        {RS__METHOD__METHOD_USER_FEATURES, "features", fake_feature}, {0, NULL, NULL}};
static const rs_rpc_route candidate_routes[] = {
        {RS__METHOD__METHOD_CANDIDATES, "candidates", fake_candidate},
        {RS__METHOD__METHOD_SIMILAR, "similar", fake_similar},
        {0, NULL, NULL}};
static const rs_rpc_route ranking_routes[] = {{RS__METHOD__METHOD_RANK, "rank", fake_ranking},
                                              {0, NULL, NULL}};
const rs_rpc_route *const fake_routes[4] = {ingest_routes, feature_routes, candidate_routes,
                                            ranking_routes};
