/* mkseeds: writes the binary seeds of tests/fuzz/corpus/ (the text seeds are written by hand):
 * valid protobuf bodies like the ones the handler tests send, Envelopes, SP streams and model
 * versions in model_file's record format. Usage: mkseeds CORPUS_DIR (the target folders must
 * exist). Deterministic: the same files on every run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate.pb-c.h"
#include "event.pb-c.h"
#include "feature.pb-c.h"
#include "ranking.pb-c.h"
#include "rs_envelope.h"

static const char *root;

static void
put(const char *target, const char *name, const uint8_t *sel, size_t nsel, const void *p, size_t n)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(sel, 1, nsel, f) != nsel || (n > 0 && fwrite(p, 1, n, f) != n) ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* m packed into a malloc'd buffer */
static uint8_t *
pack(const ProtobufCMessage *m, size_t *n)
{
	*n = protobuf_c_message_get_packed_size(m);
	uint8_t *b = malloc(*n ? *n : 1);
	protobuf_c_message_pack(m, b);
	return b;
}

/* the body as an Envelope for method */
static uint8_t *
envelope(Rs__Method method, const uint8_t *body, size_t len, size_t *n)
{
	uint8_t *m = malloc(RS_ENV_PREFIX_MAX + len);
	size_t k = rs_env_prefix(m, method, len);
	if (len > 0)
		memcpy(m + k, body, len);
	*n = k + len;
	return m;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t) v;
}

/* model_file records */
static size_t
rec(uint8_t *out, int db, const void *k, size_t kl, const void *v, size_t vl)
{
	out[0] = (uint8_t) db;
	out[1] = (uint8_t) kl;
	memcpy(out + 2, k, kl);
	out[2 + kl] = (uint8_t) vl;
	out[3 + kl] = (uint8_t) (vl >> 8);
	memcpy(out + 4 + kl, v, vl);
	return 4 + kl + vl;
}

static void
model_seed(const char *name, uint32_t n, uint32_t f, int knn, int manifest)
{
	uint8_t buf[16384];
	size_t o = 0;
	char id[16];
	for (uint32_t c = 0; c < n; c++) {
		unsigned int code = c;
		int l = snprintf(id, sizeof(id), "%u", 100 + c * 7);
		o += rec(buf + o, 0, &code, 4, id, (size_t) l);
		o += rec(buf + o, 1, id, (size_t) l, &code, 4);
		if (f > 0) {
			float v[8];
			for (uint32_t j = 0; j < f; j++)
				v[j] = (float) (c + 1) * 0.1f * (float) (j + 1);
			o += rec(buf + o, 2, &code, 4, v, f * sizeof(float));
		}
		struct {
			uint32_t code;
			float sim;
		} nb[2] = {{(c + 1) % n, 0.5f}, {(c + 2) % n, 0.25f}};
		o += rec(buf + o, 3, &code, 4, nb, sizeof(nb));
		if (knn)
			o += rec(buf + o, 8, &code, 4, nb, sizeof(nb));
	}
	uint32_t pop[16];
	for (uint32_t i = 0; i < n; i++)
		pop[i] = n - 1 - i;
	o += rec(buf + o, 4, "all", 3, pop, n * sizeof(uint32_t));
	o += rec(buf + o, 5, "items", 5, &n, 4);
	o += rec(buf + o, 5, "factors", 7, &f, 4);
	o += rec(buf + o, 5, "model", 5, knn ? "two-stage" : "als", knn ? 9 : 3);
	if (knn) {
		float s[16];
		for (uint32_t i = 0; i < n; i++)
			s[i] = (float) i;
		o += rec(buf + o, 9, "pop", 3, s, n * sizeof(float));
	}
	if (manifest) {
		static const char m[] =
		        "{\"format\": \"rs-train-model\", \"model\": \"two-stage\", \"params\": "
		        "{\"alpha\": 2.5, \"reg\": 0.1}, \"published\": {\"lmdb_layout\": 1, "
		        "\"item_factors\": true}}";
		o += rec(buf + o, 10, "", 0, m, sizeof(m) - 1);
	}
	put("model_file", name, NULL, 0, buf, o);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds CORPUS_DIR\n");
		return 2;
	}
	root = argv[1];
	size_t n, en;
	uint8_t *b, *e;
	static const uint8_t s0[] = {0}, s1[] = {1};

	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	h.request_id = "seed-1";
	h.deadline_unix_ms = 0;
	Rs__HistoryEvent he[4], *hp[4];
	for (int i = 0; i < 4; i++) {
		rs__history_event__init(&he[i]);
		he[i].item_id = 1 + i * 5;
		he[i].type = (Rs__EventType) (1 + i);
		he[i].ts_ms = 1000 * i;
		hp[i] = &he[i];
	}

	/* feature */
	Rs__UserFeaturesRequest uf = RS__USER_FEATURES_REQUEST__INIT;
	uf.header = &h;
	uf.user_id = 3;
	uf.max_events = 20;
	b = pack(&uf.base, &n);
	put("rpc_feature", "user_features", s0, 1, b, n);
	free(b);
	uf.hypothetical = hp;
	uf.n_hypothetical = 2;
	b = pack(&uf.base, &n);
	put("rpc_feature", "what_if", s0, 1, b, n);
	free(b);
	put("rpc_feature", "health", s1, 1, NULL, 0);

	/* candidate */
	Rs__CandidatesRequest cr = RS__CANDIDATES_REQUEST__INIT;
	Rs__CandidateFilter cf = RS__CANDIDATE_FILTER__INIT;
	int64_t excl[2] = {2, 3};
	float emb[4] = {0.1f, 0.2f, 0.3f, 0.4f};
	cf.category = "A";
	cf.max_price = 50;
	cf.exclude_items = excl;
	cf.n_exclude_items = 2;
	cr.header = &h;
	cr.user_id = 3;
	cr.k = 20;
	cr.recent = hp;
	cr.n_recent = 4;
	cr.filter = &cf;
	b = pack(&cr.base, &n);
	put("rpc_candidate", "candidates", s0, 1, b, n);
	free(b);
	cr.embedding = emb;
	cr.n_embedding = 4;
	cr.filter = NULL;
	b = pack(&cr.base, &n);
	put("rpc_candidate", "candidates_embedding", s0, 1, b, n);
	free(b);
	Rs__SimilarRequest sr = RS__SIMILAR_REQUEST__INIT;
	sr.header = &h;
	sr.item_id = 7;
	sr.k = 10;
	b = pack(&sr.base, &n);
	put("rpc_candidate", "similar", s1, 1, b, n);
	free(b);
	sr.mode = "bought_together";
	b = pack(&sr.base, &n);
	put("rpc_candidate", "bought_together", s1, 1, b, n);
	free(b);

	/* ranking: 12 candidates with sources, the recent history, explain */
	Rs__RankRequest rr = RS__RANK_REQUEST__INIT;
	Rs__CandidatesResponse ret = RS__CANDIDATES_RESPONSE__INIT;
	Rs__Candidate c[12], *cp[12];
	Rs__SourceScore ss[12][2], *sp[12][2];
	static char *names[] = {"covisit", "popular", "category", "bought_together", "als"};
	for (int i = 0; i < 12; i++) {
		rs__candidate__init(&c[i]);
		c[i].item_id = 100 + i;
		c[i].score = (float) i;
		c[i].title = "t";
		c[i].category = i % 2 ? "A/B" : "";
		for (int j = 0; j < 2; j++) {
			rs__source_score__init(&ss[i][j]);
			ss[i][j].source = names[(i + j) % 5];
			ss[i][j].score = (float) (i * j);
			ss[i][j].rank = (uint32_t) (1 + i);
			ss[i][j].because_item = i % 3 ? 1 + i % 5 : 0;
			sp[i][j] = &ss[i][j];
		}
		c[i].sources = sp[i];
		c[i].n_sources = 2;
		cp[i] = &c[i];
	}
	ret.candidates = cp;
	ret.n_candidates = 12;
	rr.header = &h;
	rr.user_id = 9;
	rr.k = 5;
	rr.recent = hp;
	rr.n_recent = 4;
	rr.retrieval = &ret;
	b = pack(&rr.base, &n);
	put("rpc_ranking", "rank", s0, 1, b, n);
	free(b);
	rr.explain = 1;
	rr.explain_items = 8;
	b = pack(&rr.base, &n);
	put("rpc_ranking", "rank_explain", s0, 1, b, n);
	/* the envelope and SP seeds carry this request too */
	e = envelope(RS__METHOD__METHOD_RANK, b, n, &en);
	put("envelope", "rank", NULL, 0, e, en);
	{
		uint8_t *st = malloc(en + 32);
		st[0] = 0; /* tcp */
		put_be64(st + 1, en + 4);
		st[9] = 0x80;
		st[10] = 0;
		st[11] = 0;
		st[12] = 7;
		memcpy(st + 13, e, en);
		put("sp_frame", "tcp_rank", NULL, 0, st, 13 + en);
		st[0] = 1; /* ipc: marker, length, a hop word, the request id */
		st[1] = 1;
		put_be64(st + 2, en + 8);
		memcpy(st + 10, "\x00\x00\x00\x01\x80\x00\x00\x09", 8);
		memcpy(st + 18, e, en);
		put("sp_frame", "ipc_hop_rank", NULL, 0, st, 18 + en);
		free(st);
	}
	free(e);
	free(b);
	put("rpc_ranking", "health", s1, 1, NULL, 0);

	/* envelope: health, metrics, an unknown method, a reply-shaped one */
	e = envelope(RS__METHOD__METHOD_HEALTH, NULL, 0, &en);
	put("envelope", "health", NULL, 0, e, en);
	{
		uint8_t st[64];
		st[0] = 0;
		put_be64(st + 1, en + 4);
		memcpy(st + 9, "\x80\x00\x00\x01", 4);
		memcpy(st + 13, e, en);
		put_be64(st + 13 + en, en + 4);
		memcpy(st + 21 + en, "\x80\x00\x00\x02", 4);
		memcpy(st + 25 + en, e, en);
		put("sp_frame", "tcp_two_health", NULL, 0, st, 25 + 2 * en);
	}
	free(e);
	e = envelope(RS__METHOD__METHOD_METRICS, NULL, 0, &en);
	put("envelope", "metrics", NULL, 0, e, en);
	free(e);
	{
		static const uint8_t odd[] = {0x08, 0x01, 0x10, 0x63, 0x1a, 0x02, 0x0a, 0x00,
		                              0x20, 0x02, 0x2a, 0x03, 'b',  'a',  'd'};
		put("envelope", "unknown_method_with_error", NULL, 0, odd, sizeof(odd));
	}

	/* ingest: a batch of three events (one invalid) and a health check */
	Rs__EventBatch eb = RS__EVENT_BATCH__INIT;
	Rs__Event ev[3], *evp[3];
	static const char *ids[] = {"seed-e1", "seed-e2", ""};
	for (int i = 0; i < 3; i++) {
		rs__event__init(&ev[i]);
		ev[i].event_id = (char *) ids[i];
		ev[i].user_id = 1 + i;
		ev[i].item_id = i == 2 ? 0 : 10 + i;
		ev[i].type = (Rs__EventType) (1 + i);
		ev[i].ts_ms = 1764000000000LL + i;
		evp[i] = &ev[i];
	}
	ev[1].has_value = 1;
	ev[1].value = 4.5;
	ev[1].price = 19.99;
	eb.events = evp;
	eb.n_events = 3;
	b = pack(&eb.base, &n);
	put("rpc_ingest", "batch", s0, 1, b, n);
	free(b);
	put("rpc_ingest", "health", s1, 1, NULL, 0);

	/* model versions */
	model_seed("als_4x3", 4, 3, 0, 0);
	model_seed("two_stage_6", 6, 2, 1, 1);
	model_seed("itemknn_5", 5, 0, 0, 0);
	return 0;
}
