/* cand_wire_pack against protobuf-c: for random answers (ids, scores with zeros, -0, NaN and
 * infinities, empty and multi-byte strings, prices with and without, ranks of one and several
 * varint bytes, 0-7 sources per candidate, 0-4 ranker columns, header and trailing fields),
 * the bytes it writes are exactly those protobuf_c_message_pack writes for the same
 * CandidatesResponse built the generated way here, and they unpack to the same values. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "candidate.pb-c.h"
#include "ranker_in.h"
#include "retrieve.h"
#include "rs_arena.h"
#include "snapshot.h"
#include "wire.h"

#define NI 64

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t) (rng % n);
}

static float
rnd_f32(void)
{
	switch (rnd(8)) {
	case 0:
		return 0.0f;
	case 1:
		return -0.0f;
	case 2:
		return NAN;
	case 3:
		return rnd(2) ? INFINITY : -INFINITY;
	default:
		return ((float) rnd(2000000) - 1000000.0f) / 1024.0f;
	}
}

static uint32_t
rnd_u32(void)
{
	switch (rnd(4)) {
	case 0:
		return 0;
	case 1:
		return 1 + rnd(127);
	case 2:
		return 128 + rnd(100000);
	default:
		return UINT32_MAX - rnd(3);
	}
}

static const char *const titles[] = {"", "Lamp", "Émaillé — café ☕", "x"};
static const char *const cats[] = {"", "home/garden", "électronique/audio"};

/* The same answer the way the generated code builds it: independent of wire.c. */
static Rs__CandidatesResponse *
build_pb(rs_arena *a, const cand_snap *s, const cand_result *res, size_t n, const cand_rin *rin,
         const Rs__CandidatesResponse *rest)
{
	Rs__CandidatesResponse *m = rs_arena_alloc(a, sizeof(*m));
	*m = *rest;
	m->n_candidates = n;
	m->candidates = rs_arena_alloc(a, (n ? n : 1) * sizeof(*m->candidates));
	for (size_t i = 0; i < n; i++) {
		const cand_item *it = &s->items[res[i].item];
		Rs__Candidate *c = rs_arena_alloc(a, sizeof(*c));
		rs__candidate__init(c);
		c->item_id = it->id;
		c->score = res[i].score;
		c->title = it->title;
		c->category = it->category;
		c->price = it->has_price ? it->price : 0;
		c->sources = rs_arena_alloc(a, CAND_NSRC * sizeof(*c->sources));
		for (int q = 0; q < CAND_NSRC; q++) {
			if (!(res[i].has & (1u << q)))
				continue;
			Rs__SourceScore *ss = rs_arena_alloc(a, sizeof(*ss));
			rs__source_score__init(ss);
			ss->source = (char *) cand_src_names[q];
			ss->score = res[i].src[q].score;
			ss->rank = res[i].src[q].rank;
			ss->because_item = res[i].src[q].because;
			c->sources[c->n_sources++] = ss;
		}
		if (rin != NULL && rin->ns > 0) {
			c->n_ranker_scores = c->n_ranker_ranks = (size_t) rin->ns;
			c->ranker_scores = &rin->score[i * (size_t) rin->ns];
			c->ranker_ranks = &rin->rank[i * (size_t) rin->ns];
		}
		m->candidates[i] = c;
	}
	return m;
}

Test(wire, same_bytes_as_protobuf_c)
{
	cand_item items[NI];
	cand_snap snap;
	memset(&snap, 0, sizeof(snap));
	memset(items, 0, sizeof(items));
	for (int i = 0; i < NI; i++) {
		items[i].id = i == 0 ? 0 : rnd(3) == 0 ? (int64_t) 1 << 40 : 1 + rnd(50000);
		items[i].title = (char *) titles[rnd(4)];
		items[i].category = (char *) cats[rnd(3)];
		items[i].has_price = (int) rnd(3) != 0;
		items[i].price = rnd(4) == 0 ? 0.0 : rnd(100000) / 100.0;
	}
	snap.items = items;
	snap.n_items = NI;
	rs_arena *a = NULL;
	cr_assert_eq(rs_arena_create(&a, 1 << 16), 0);
	for (int round = 0; round < 400; round++) {
		size_t n = round == 0 ? 0 : rnd(40);
		cand_result *res = rs_arena_alloc(a, (n ? n : 1) * sizeof(*res));
		memset(res, 0, (n ? n : 1) * sizeof(*res));
		for (size_t i = 0; i < n; i++) {
			res[i].item = rnd(NI);
			res[i].score = rnd_f32();
			res[i].has = rnd(1u << CAND_NSRC);
			for (int q = 0; q < CAND_NSRC; q++)
				res[i].src[q] = (cand_src){rnd_f32(), rnd_u32(),
				                           rnd(3) == 0 ? 0
				                           : rnd(2)    ? 7
				                                       : -(int64_t) rnd(99)};
		}
		cand_rin rin = {.ns = (int) rnd(5)};
		static const char *const rnames[] = {"als", "itemknn", "pop", "ease"};
		rin.score = rs_arena_alloc(a, (n ? n : 1) * 4 * sizeof(float));
		rin.rank = rs_arena_alloc(a, (n ? n : 1) * 4 * sizeof(uint32_t));
		for (size_t i = 0; i < n * 4; i++) {
			rin.score[i] = rnd_f32();
			rin.rank[i] = rnd_u32();
		}
		/* header and the fields after the list, as cand_reply fills them */
		Rs__CandidatesResponse rest = RS__CANDIDATES_RESPONSE__INIT;
		Rs__ResponseHeader h = RS__RESPONSE_HEADER__INIT;
		h.service = "candidate";
		h.model_version = rnd(2) ? "v1" : "";
		h.status = rnd(2);
		rest.header = rnd(4) ? &h : NULL;
		Rs__SourceStats st[4], *sp[4];
		for (int j = 0; j < rin.ns; j++) {
			rs__source_stats__init(&st[j]);
			st[j].source = (char *) rnames[j];
			st[j].top = rnd_f32();
			st[j].low = rnd_f32();
			st[j].count = rnd_u32();
			sp[j] = &st[j];
		}
		rest.n_ranker_sources = (size_t) rin.ns;
		rest.ranker_sources = sp;
		rest.n_source_stats = (size_t) (rin.ns > 2 ? 2 : rin.ns);
		rest.source_stats = sp;
		Rs__FilterCount fc = RS__FILTER_COUNT__INIT, *fp = &fc;
		int64_t ids[2] = {3, 5};
		fc.reason = "purchased";
		fc.count = 2;
		fc.n_items = 2;
		fc.items = ids;
		rest.n_filtered = rnd(2);
		rest.filtered = &fp;

		const cand_rin *r = rnd(2) ? &rin : NULL;
		Rs__CandidatesResponse *m = build_pb(a, &snap, res, n, r, &rest);
		size_t want_n = protobuf_c_message_get_packed_size(&m->base);
		uint8_t *want = malloc(want_n ? want_n : 1);
		cr_assert_eq(protobuf_c_message_pack(&m->base, want), want_n);

		uint8_t *got;
		size_t got_n;
		cr_assert_eq(cand_wire_pack(&rest, &snap, res, n, r, a, &got, &got_n), 0);
		cr_assert_eq(got_n, want_n, "round %d: %zu bytes, protobuf-c %zu", round, got_n,
		             want_n);
		cr_assert(memcmp(got, want, want_n) == 0, "round %d: bytes differ", round);

		Rs__CandidatesResponse *back = rs__candidates_response__unpack(NULL, got_n, got);
		cr_assert_not_null(back);
		cr_assert_eq(back->n_candidates, n);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(back->candidates[i]->item_id, snap.items[res[i].item].id);
		rs__candidates_response__free_unpacked(back, NULL);
		free(want);
		rs_arena_reset(a);
	}
	rs_arena_destroy(a);
}
