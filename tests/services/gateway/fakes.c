#include "fakes.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "candidate.pb-c.h"
#include "event.pb-c.h"
#include "feature.pb-c.h"
#include "ranking.pb-c.h"
#include "rs_rpc.h"
#include "rs_time.h"

t_fake_state t_fake;

static rs_rpc_server *fakes[4]; /* ingest feature candidate ranking */
static gw_server *gw;
static CURL *curl;
static char base_url[64];

static const char *const fake_urls[4] = {"inproc://t-ingest", "inproc://t-feature",
                                         "inproc://t-candidate", "inproc://t-ranking"};

static void
fake_feature(void *ud, rs_rpc_call *call)
{
	Rs__UserFeaturesRequest *req;
	Rs__UserFeaturesResponse resp = RS__USER_FEATURES_RESPONSE__INIT;
	Rs__ResponseHeader h;
	static Rs__HistoryEvent e1 = RS__HISTORY_EVENT__INIT, e2 = RS__HISTORY_EVENT__INIT;
	static Rs__HistoryEvent *recent[2] = {&e1, &e2};
	static float emb[4] = {0.1f, 0.2f, 0.3f, 0.4f};
	(void) ud;
	if (rs_rpc_unpack(call, &rs__user_features_request__descriptor, (void **) &req) != 0)
		return;
	atomic_fetch_add(&t_fake.feature_calls, 1);
	snprintf(t_fake.last_request_id, sizeof(t_fake.last_request_id), "%s",
	         req->header != NULL ? req->header->request_id : "");
	e1.item_id = 7;
	e1.type = RS__EVENT_TYPE__EVENT_VIEW;
	e1.ts_ms = 1700000000000;
	e2.item_id = 8;
	e2.type = RS__EVENT_TYPE__EVENT_PURCHASE;
	e2.ts_ms = 1700000001000;
	rs_rpc_header_init(call, &h, "feature", "");
	resp.header = &h;
	resp.user_id = req->user_id;
	resp.n_recent = 2;
	resp.recent = recent;
	resp.n_embedding = 4;
	resp.embedding = emb;
	resp.total_events = 2;
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
	}
	rs_rpc_header_init(call, &h, "candidate", "cand-v1");
	resp.header = &h;
	if (req->user_id == 0)
		fake_fill_candidates(call, T_POPULAR_BASE, 20, &resp);
	else
		fake_fill_candidates(call, 100, T_FAKE_NCAND, &resp);
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
	int delay = atomic_load(&t_fake.ranking_delay_ms);
	if (delay > 0)
		usleep((useconds_t) delay * 1000);
	if (rs_rpc_unpack(call, &rs__rank_request__descriptor, (void **) &req) != 0)
		return;
	atomic_fetch_add(&t_fake.ranking_calls, 1);
	atomic_store(&t_fake.last_rank_n_cands, (int) req->n_candidates);
	size_t n = req->n_candidates < req->k ? req->n_candidates : req->k;
	resp.n_items = n;
	resp.items = rs_arena_alloc(call->arena, (n ? n : 1) * sizeof(Rs__RankedItem *));
	for (size_t i = 0; i < n; i++) {
		const Rs__Candidate *c = req->candidates[req->n_candidates - 1 - i];
		Rs__RankedItem *it = rs_arena_alloc(call->arena, sizeof(*it));
		rs__ranked_item__init(it);
		it->item_id = c->item_id;
		it->score = 10.0f - (float) i;
		it->reason = "because you viewed Item 7";
		it->title = c->title; /* category, price and sources left for the gateway */
		if (req->explain) {
			Rs__Feature *f = rs_arena_alloc(call->arena, sizeof(*f));
			Rs__Feature **fv = rs_arena_alloc(call->arena, sizeof(*fv));
			rs__feature__init(f);
			f->name = "cand_score";
			f->value = c->score;
			fv[0] = f;
			it->n_features = 1;
			it->features = fv;
		}
		resp.items[i] = it;
	}
	rs_rpc_header_init(call, &h, "ranking", "rank-v1");
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

static const rs_rpc_route ingest_routes[] = {{RS__METHOD__METHOD_EVENT_BATCH, "events", fake_ingest},
                                             {0, NULL, NULL}};
static const rs_rpc_route feature_routes[] = {
        {RS__METHOD__METHOD_USER_FEATURES, "features", fake_feature}, {0, NULL, NULL}};
static const rs_rpc_route candidate_routes[] = {
        {RS__METHOD__METHOD_CANDIDATES, "candidates", fake_candidate},
        {RS__METHOD__METHOD_SIMILAR, "similar", fake_similar},
        {0, NULL, NULL}};
static const rs_rpc_route ranking_routes[] = {{RS__METHOD__METHOD_RANK, "rank", fake_ranking},
                                              {0, NULL, NULL}};
static const rs_rpc_route *const fake_routes[4] = {ingest_routes, feature_routes,
                                                   candidate_routes, ranking_routes};

static int
fake_index(int which)
{
	switch (which) {
	case T_INGEST:
		return 0;
	case T_FEATURE:
		return 1;
	case T_CANDIDATE:
		return 2;
	default:
		return 3;
	}
}

void
t_start(int mask)
{
	gw_config cfg = {
	        .http_addr = "127.0.0.1:0",
	        .threads = 2,
	        .deadline_ms = 250,
	        .ingest_url = fake_urls[0],
	        .feature_url = fake_urls[1],
	        .candidate_url = fake_urls[2],
	        .ranking_url = fake_urls[3],
	        .log_level = RS_LOG_WARN,
	        .max_connections = 64,
	        .max_body = 4096,
	        .idle_timeout_s = 10,
	        .events_timeout_ms = 1000,
	        .health_timeout_ms = 200,
	        .popular_refresh_ms = 100,
	        .popular_k = 50,
	        .access_log = 0,
	};
	memset(&t_fake, 0, sizeof(t_fake));
	rs_log_init("gateway-test", RS_LOG_WARN);
	for (int i = 0; i < 4; i++)
		if (mask & (1 << i))
			cr_assert_eq(rs_rpc_server_open(&fakes[i], fake_urls[i], 2, fake_routes[i],
			                                NULL),
			             0, "fake %s", fake_urls[i]);
	cr_assert_eq(gw_server_open(&gw, &cfg), 0, "gateway did not start");
	snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", gw_server_port(gw));
	for (int i = 0; i < 4; i++) {
		if (!(mask & (1 << i)))
			continue;
		for (int t = 0; t < 400 && rs_rpc_client_connected(gw->s_clients[i]) == 0; t++)
			usleep(5000);
		cr_assert_gt(rs_rpc_client_connected(gw->s_clients[i]), 0, "%s not connected",
		             fake_urls[i]);
	}
	curl = curl_easy_init();
	cr_assert_not_null(curl);
}

gw_server *
t_gateway(void)
{
	return gw;
}

void
t_stop_fake(int which)
{
	int i = fake_index(which);
	rs_rpc_server_close(fakes[i]);
	fakes[i] = NULL;
	for (int t = 0; t < 400 && rs_rpc_client_connected(gw->s_clients[i]) > 0; t++)
		usleep(5000);
	cr_assert_eq(rs_rpc_client_connected(gw->s_clients[i]), 0);
}

void
t_stop(void)
{
	if (curl != NULL)
		curl_easy_cleanup(curl);
	curl = NULL;
	gw_server_close(gw);
	gw = NULL;
	for (int i = 0; i < 4; i++) {
		rs_rpc_server_close(fakes[i]);
		fakes[i] = NULL;
	}
}

static size_t
t_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	t_resp *r = ud;
	size_t n = size * nmemb;
	char *nb = realloc(r->body, r->len + n + 1);
	if (nb == NULL)
		return 0;
	memcpy(nb + r->len, ptr, n);
	r->body = nb;
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static void
t_copy_header(const char *line, size_t n, const char *name, char *out, size_t outn)
{
	size_t nl = strlen(name);
	if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	const char *v = line + nl + 1;
	while (*v == ' ')
		v++;
	size_t vl = n - (size_t) (v - line);
	while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
		vl--;
	if (vl >= outn)
		vl = outn - 1;
	memcpy(out, v, vl);
	out[vl] = '\0';
}

static size_t
t_header(char *line, size_t size, size_t nmemb, void *ud)
{
	t_resp *r = ud;
	size_t n = size * nmemb;
	t_copy_header(line, n, "X-Request-Id", r->request_id, sizeof(r->request_id));
	t_copy_header(line, n, "Allow", r->allow, sizeof(r->allow));
	return n;
}

void
t_http(const char *method, const char *path, const char *body, const char *extra_header,
       t_resp *out)
{
	char url[512];
	struct curl_slist *hdrs = NULL;
	char *ct = NULL;
	json_error_t jerr;

	memset(out, 0, sizeof(*out));
	snprintf(url, sizeof(url), "%s%s", base_url, path);
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, t_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, t_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (extra_header != NULL)
		hdrs = curl_slist_append(hdrs, extra_header);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	if (body != NULL) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
	}
	double t0 = rs_mono_ms();
	CURLcode rc = curl_easy_perform(curl);
	out->ms = rs_mono_ms() - t0;
	curl_slist_free_all(hdrs);
	cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
	curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &out->connects);
	snprintf(out->ctype, sizeof(out->ctype), "%s", ct != NULL ? ct : "");
	if (out->body == NULL)
		out->body = calloc(1, 1);
	out->json = json_loads(out->body, 0, &jerr);
}

void
t_resp_free(t_resp *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

void
t_expect_error(const char *method, const char *path, const char *body, long status,
               const char *code)
{
	t_resp r;
	t_http(method, path, body, NULL, &r);
	cr_assert_eq(r.status, status, "%s %s: got %ld %s", method, path, r.status, r.body);
	cr_assert(strstr(r.ctype, "application/json") != NULL, "%s %s: content type %s", method,
	          path, r.ctype);
	cr_assert_not_null(r.json, "%s %s: not JSON: %s", method, path, r.body);
	json_t *e = json_object_get(r.json, "error");
	cr_assert(json_is_object(e), "%s %s: no error object: %s", method, path, r.body);
	cr_assert(json_is_string(json_object_get(e, "message")), "%s", r.body);
	cr_assert(json_is_string(json_object_get(e, "code")), "%s", r.body);
	if (code != NULL)
		cr_assert_str_eq(json_string_value(json_object_get(e, "code")), code, "%s %s: %s",
		                 method, path, r.body);
	cr_assert_neq(r.request_id[0], '\0', "no X-Request-Id on an error");
	t_resp_free(&r);
}
