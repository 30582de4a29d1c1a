/* rankwire: the hand reader of RankRequest.retrieval against protobuf-c's unpack of the same
 * bytes, field by field: random requests (packed and unpacked repeated scalars, unknown
 * fields, empty and missing strings), and mutated bodies (both accept or both reject; what
 * both accept is the same). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rankwire.h"
#include "ranking.pb-c.h"
#include "rs_arena.h"
#include "rs_err.h"
#include "rs_pbwire.h"

static uint32_t
rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t) (*s >> 33);
}

static void
same_str(const char *a, const char *b, const char *what)
{
	cr_assert(a != NULL && b != NULL, "%s: NULL", what);
	cr_assert_str_eq(a, b, "%s", what);
}

static void
same_f32(float a, float b, const char *what)
{
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0, "%s: %a vs %a", what, (double) a, (double) b);
}

/* got (rank_wire_unpack) is want (protobuf-c) in every field ranking reads. */
static void
same_request(const Rs__RankRequest *got, const Rs__RankRequest *want)
{
	cr_assert_eq(got->user_id, want->user_id);
	cr_assert_eq(got->k, want->k);
	cr_assert_eq(got->explain, want->explain);
	cr_assert_eq(got->explain_items, want->explain_items);
	cr_assert_eq(got->n_recent, want->n_recent);
	for (size_t i = 0; i < got->n_recent; i++)
		cr_assert_eq(got->recent[i]->item_id, want->recent[i]->item_id);
	cr_assert_eq(got->header == NULL, want->header == NULL);
	if (got->header != NULL)
		same_str(got->header->model_version, want->header->model_version, "model_version");
	cr_assert_eq(got->retrieval == NULL, want->retrieval == NULL);
	if (want->retrieval == NULL)
		return;
	const Rs__CandidatesResponse *g = got->retrieval, *w = want->retrieval;
	cr_assert_eq(g->n_ranker_sources, w->n_ranker_sources);
	for (size_t i = 0; i < g->n_ranker_sources; i++) {
		same_str(g->ranker_sources[i]->source, w->ranker_sources[i]->source, "rsrc");
		same_f32(g->ranker_sources[i]->top, w->ranker_sources[i]->top, "rsrc top");
	}
	cr_assert_eq(g->n_source_stats, w->n_source_stats);
	cr_assert_eq(g->n_candidates, w->n_candidates);
	for (size_t i = 0; i < g->n_candidates; i++) {
		const Rs__Candidate *a = g->candidates[i], *b = w->candidates[i];
		cr_assert_eq(a->item_id, b->item_id, "candidate %zu", i);
		same_f32(a->score, b->score, "score");
		same_str(a->title, b->title, "title");
		same_str(a->category, b->category, "category");
		cr_assert_eq(memcmp(&a->price, &b->price, sizeof(double)), 0, "price");
		cr_assert_eq(a->n_sources, b->n_sources, "candidate %zu sources", i);
		for (size_t s = 0; s < a->n_sources; s++) {
			same_str(a->sources[s]->source, b->sources[s]->source, "source");
			same_f32(a->sources[s]->score, b->sources[s]->score, "source score");
			cr_assert_eq(a->sources[s]->rank, b->sources[s]->rank);
			cr_assert_eq(a->sources[s]->because_item, b->sources[s]->because_item);
		}
		cr_assert_eq(a->n_ranker_scores, b->n_ranker_scores);
		for (size_t s = 0; s < a->n_ranker_scores; s++)
			same_f32(a->ranker_scores[s], b->ranker_scores[s], "ranker score");
		cr_assert_eq(a->n_ranker_ranks, b->n_ranker_ranks);
		for (size_t s = 0; s < a->n_ranker_ranks; s++)
			cr_assert_eq(a->ranker_ranks[s], b->ranker_ranks[s]);
	}
}

/* Appends field num with a varint to buf. */
static size_t
put_varint_field(uint8_t *buf, uint32_t num, uint64_t v)
{
	size_t n = rs_pbw_put_varint(buf, (uint64_t) num << 3 | RS_PBW_VARINT);
	return n + rs_pbw_put_varint(buf + n, v);
}

/* A random request packed by protobuf-c, then re-encoded with extras the reader must handle:
 * ranker scores and ranks unpacked (one field per value) in some candidates, unknown fields. */
static size_t
random_body(uint64_t *seed, uint8_t *out, size_t cap)
{
	static const char *names[] = {"covisit", "popular", "", "als", "itemknn"};
	enum { MAXC = 40 };
	Rs__RankRequest req = RS__RANK_REQUEST__INIT;
	Rs__RequestHeader hdr = RS__REQUEST_HEADER__INIT;
	Rs__CandidatesResponse cr = RS__CANDIDATES_RESPONSE__INIT;
	Rs__SourceStats rs[3], *rsp[3];
	Rs__Candidate c[MAXC], *cp[MAXC];
	Rs__SourceScore s[MAXC][3], *sp[MAXC][3];
	float sc[MAXC][3];
	uint32_t rk[MAXC][3];
	Rs__HistoryEvent h[4], *hp[4];
	char titles[MAXC][16];

	hdr.model_version = "v1";
	req.header = rnd(seed) % 4 ? &hdr : NULL;
	req.user_id = (int64_t) rnd(seed) - 1000;
	req.k = rnd(seed) % 30;
	req.explain = rnd(seed) % 2;
	req.explain_items = rnd(seed) % 5;
	req.n_recent = rnd(seed) % 5;
	for (size_t i = 0; i < req.n_recent; i++) {
		rs__history_event__init(&h[i]);
		h[i].item_id = rnd(seed);
		hp[i] = &h[i];
	}
	req.recent = hp;
	size_t nsrc = rnd(seed) % 4;
	for (size_t i = 0; i < nsrc; i++) {
		rs__source_stats__init(&rs[i]);
		rs[i].source = (char *) names[rnd(seed) % 5];
		rs[i].top = (float) rnd(seed) / 7.0f;
		rsp[i] = &rs[i];
	}
	cr.ranker_sources = rsp;
	cr.n_ranker_sources = nsrc;
	cr.n_candidates = rnd(seed) % MAXC;
	for (size_t i = 0; i < cr.n_candidates; i++) {
		rs__candidate__init(&c[i]);
		c[i].item_id = rnd(seed) % 7 == 0 ? -(int64_t) rnd(seed) : (int64_t) rnd(seed) << 8;
		c[i].score = rnd(seed) % 9 == 0 ? NAN : (float) rnd(seed) / 3.0f - 1e8f;
		snprintf(titles[i], sizeof(titles[i]), "t%u", rnd(seed) % 1000);
		c[i].title = rnd(seed) % 3 ? titles[i] : "";
		c[i].category = rnd(seed) % 2 ? "A/B" : "";
		c[i].price = rnd(seed) % 2 ? (double) rnd(seed) / 100.0 : 0;
		c[i].n_sources = rnd(seed) % 4;
		for (size_t j = 0; j < c[i].n_sources; j++) {
			rs__source_score__init(&s[i][j]);
			s[i][j].source = (char *) names[rnd(seed) % 5];
			s[i][j].score = (float) rnd(seed) / 11.0f;
			s[i][j].rank = rnd(seed) % 3 ? rnd(seed) % 200 : 0;
			s[i][j].because_item = rnd(seed) % 2 ? (int64_t) rnd(seed) * -3 : 0;
			sp[i][j] = &s[i][j];
		}
		c[i].sources = sp[i];
		c[i].n_ranker_scores = c[i].n_ranker_ranks = nsrc;
		for (size_t j = 0; j < nsrc; j++) {
			sc[i][j] = rnd(seed) % 5 == 0 ? -INFINITY : (float) rnd(seed) / 13.0f;
			rk[i][j] = rnd(seed) % 2 ? rnd(seed) : 0;
		}
		c[i].ranker_scores = sc[i];
		c[i].ranker_ranks = rk[i];
		cp[i] = &c[i];
	}
	cr.candidates = cp;
	req.retrieval = rnd(seed) % 8 ? &cr : NULL;

	/* the retrieval's bytes, each candidate re-encoded: some with unpacked repeated
	 * scalars and an unknown field */
	uint8_t *cb = malloc(1 << 16), *one = malloc(4096);
	size_t cn = 0;
	cr_assert(cb != NULL && one != NULL);
	Rs__CandidatesResponse head = cr;
	head.n_candidates = 0;
	cn = protobuf_c_message_pack(&head.base, cb);
	for (size_t i = 0; i < cr.n_candidates; i++) {
		Rs__Candidate ci = c[i];
		size_t n;
		int unpacked = rnd(seed) % 3 == 0;
		if (unpacked)
			ci.n_ranker_scores = ci.n_ranker_ranks = 0;
		n = protobuf_c_message_pack(&ci.base, one);
		if (unpacked) {
			for (size_t j = 0; j < nsrc; j++) {
				n += rs_pbw_put_varint(one + n, 7u << 3 | RS_PBW_I32);
				memcpy(one + n, &sc[i][j], 4);
				n += 4;
				n += put_varint_field(one + n, 8, rk[i][j]);
			}
			n += put_varint_field(one + n, 99, 12345); /* unknown */
		}
		cn += rs_pbw_put_varint(cb + cn, 2u << 3 | RS_PBW_LEN);
		cn += rs_pbw_put_varint(cb + cn, n);
		memcpy(cb + cn, one, n);
		cn += n;
	}
	Rs__CandidatesResponse *none = req.retrieval;
	req.retrieval = NULL;
	size_t len = protobuf_c_message_pack(&req.base, out);
	if (none != NULL) {
		cr_assert_lt(len + cn + 20, cap);
		len += rs_pbw_put_varint(out + len, 9u << 3 | RS_PBW_LEN);
		len += rs_pbw_put_varint(out + len, cn);
		memcpy(out + len, cb, cn);
		len += cn;
	}
	free(cb);
	free(one);
	return len;
}

/* 1 when both readers accept body (and agree), 0 when both reject it. */
static int
check_body(const uint8_t *body, size_t len)
{
	rs_arena *a;
	Rs__RankRequest *got = NULL;
	cr_assert_eq(rs_arena_create(&a, 0), 0);
	Rs__RankRequest *want = (Rs__RankRequest *) protobuf_c_message_unpack(
	        &rs__rank_request__descriptor, NULL, len, body);
	int rv = rank_wire_unpack(body, len, a, &got);
	cr_assert(rv == 0 || rv == RS_EPROTO, "rv %d", rv);
	cr_assert_eq(rv == 0, want != NULL, "rankwire %s what protobuf-c %s",
	             rv == 0 ? "accepts" : "rejects", want != NULL ? "accepts" : "rejects");
	if (want != NULL)
		same_request(got, want);
	if (want != NULL)
		protobuf_c_message_free_unpacked(&want->base, NULL);
	rs_arena_destroy(a);
	return rv == 0;
}

Test(ranking_wire, random_requests_read_as_protobuf_c_reads_them)
{
	uint64_t seed = 11;
	uint8_t *body = malloc(1 << 17);
	int candidates = 0;
	cr_assert(body != NULL);
	for (int t = 0; t < 150; t++) {
		size_t len = random_body(&seed, body, 1 << 17);
		cr_assert(check_body(body, len), "request %d rejected", t);
		rs_arena *a;
		Rs__RankRequest *got;
		cr_assert_eq(rs_arena_create(&a, 0), 0);
		cr_assert_eq(rank_wire_unpack(body, len, a, &got), 0);
		candidates += got->retrieval != NULL && got->retrieval->n_candidates > 0;
		rs_arena_destroy(a);
	}
	cr_assert_gt(candidates, 100, "the requests carried candidates");
	free(body);
}

Test(ranking_wire, mutated_requests_accepted_and_rejected_alike)
{
	uint64_t seed = 5;
	uint8_t *body = malloc(1 << 17);
	int accepted = 0, rejected = 0;
	cr_assert(body != NULL);
	for (int t = 0; t < 1000; t++) {
		size_t len = random_body(&seed, body, 1 << 17);
		if (len == 0)
			continue;
		switch (rnd(&seed) % 3) {
		case 0: /* a random byte */
			body[rnd(&seed) % len] = (uint8_t) rnd(&seed);
			break;
		case 1: /* cut short */
			len = rnd(&seed) % len;
			break;
		default: /* a few random bits */
			for (int b = 0; b < 3; b++)
				body[rnd(&seed) % len] ^= (uint8_t) (1u << (rnd(&seed) % 8));
		}
		if (check_body(body, len))
			accepted++;
		else
			rejected++;
	}
	cr_log_info("rankwire: mutated bodies: %d accepted, %d rejected by both", accepted,
	            rejected);
	cr_assert_gt(accepted, 50);
	cr_assert_gt(rejected, 50);
	free(body);
}

Test(ranking_wire, retrieval_twice_merges_like_protobuf_c)
{
	uint64_t seed = 3;
	uint8_t *body = malloc(1 << 18);
	cr_assert(body != NULL);
	for (int t = 0; t < 20; t++) {
		size_t len = random_body(&seed, body, 1 << 17);
		memcpy(body + len, body, len); /* the same fields again: retrieval twice */
		check_body(body, 2 * len);
	}
	free(body);
}
