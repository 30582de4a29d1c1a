/* The candidate list in protobuf's wire format: see wire.h. Field numbers and wire types are
 * those of proto/candidate.proto (Candidate, SourceScore); proto3 leaves out a scalar equal to
 * zero and an empty string, and packs repeated numbers, as protobuf-c does. */
#include "wire.h"

#include <string.h>

#include "rs_err.h"
#include "rs_pbwire.h"

enum {
	TAG_RESP_CANDIDATE = (2 << 3) | RS_PBW_LEN,
	TAG_C_ITEM_ID = (1 << 3) | RS_PBW_VARINT,
	TAG_C_SCORE = (2 << 3) | RS_PBW_I32,
	TAG_C_SOURCE = (3 << 3) | RS_PBW_LEN,
	TAG_C_TITLE = (4 << 3) | RS_PBW_LEN,
	TAG_C_CATEGORY = (5 << 3) | RS_PBW_LEN,
	TAG_C_PRICE = (6 << 3) | RS_PBW_I64,
	TAG_C_RANKER_SCORES = (7 << 3) | RS_PBW_LEN,
	TAG_C_RANKER_RANKS = (8 << 3) | RS_PBW_LEN,
	TAG_S_SOURCE = (1 << 3) | RS_PBW_LEN,
	TAG_S_SCORE = (2 << 3) | RS_PBW_I32,
	TAG_S_RANK = (3 << 3) | RS_PBW_VARINT,
	TAG_S_BECAUSE = (4 << 3) | RS_PBW_VARINT,
};

static size_t
vsize(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* a length-delimited field of len payload bytes, tag included */
static size_t
lsize(size_t len)
{
	return 1 + vsize(len) + len;
}

static uint8_t *
put_tag_len(uint8_t *p, uint8_t tag, size_t len)
{
	*p++ = tag;
	return p + rs_pbw_put_varint(p, len);
}

static uint8_t *
put_bytes(uint8_t *p, uint8_t tag, const void *s, size_t len)
{
	p = put_tag_len(p, tag, len);
	memcpy(p, s, len);
	return p + len;
}

static uint8_t *
put_f32(uint8_t *p, uint8_t tag, float v)
{
	uint32_t b;
	memcpy(&b, &v, sizeof(b));
	*p++ = tag;
	for (int i = 0; i < 4; i++)
		*p++ = (uint8_t) (b >> (8 * i));
	return p;
}

static uint8_t *
put_f64(uint8_t *p, uint8_t tag, double v)
{
	uint64_t b;
	memcpy(&b, &v, sizeof(b));
	*p++ = tag;
	for (int i = 0; i < 8; i++)
		*p++ = (uint8_t) (b >> (8 * i));
	return p;
}

static uint8_t *
put_varint(uint8_t *p, uint8_t tag, uint64_t v)
{
	*p++ = tag;
	return p + rs_pbw_put_varint(p, v);
}

/* the payload size of one SourceScore */
static size_t
source_size(const cand_src *s, size_t name_len)
{
	return (name_len > 0 ? lsize(name_len) : 0) + (s->score != 0 ? 5 : 0) +
	       (s->rank != 0 ? 1 + vsize(s->rank) : 0) +
	       (s->because != 0 ? 1 + vsize((uint64_t) s->because) : 0);
}

/* The sizes one candidate needs, computed once and used to write it. */
typedef struct cand_sizes {
	size_t title, category, ranks, body;
} cand_sizes;

static size_t
candidate_size(const cand_item *it, const cand_result *r, const cand_rin *rin, size_t i,
               const size_t *name_len, cand_sizes *z)
{
	size_t b = 0;
	z->title = strlen(it->title);
	z->category = strlen(it->category);
	z->ranks = 0;
	b += it->id != 0 ? 1 + vsize((uint64_t) it->id) : 0;
	b += r->score != 0 ? 5 : 0;
	for (int s = 0; s < CAND_NSRC; s++)
		if (r->has & (1u << s))
			b += lsize(source_size(&r->src[s], name_len[s]));
	b += z->title > 0 ? lsize(z->title) : 0;
	b += z->category > 0 ? lsize(z->category) : 0;
	double price = it->has_price ? it->price : 0;
	b += price != 0 ? 9 : 0;
	if (rin != NULL && rin->ns > 0) {
		const uint32_t *rk = &rin->rank[i * (size_t) rin->ns];
		b += lsize(4 * (size_t) rin->ns);
		for (int j = 0; j < rin->ns; j++)
			z->ranks += vsize(rk[j]);
		b += lsize(z->ranks);
	}
	z->body = b;
	return b;
}

static uint8_t *
candidate_put(uint8_t *p, const cand_item *it, const cand_result *r, const cand_rin *rin, size_t i,
              const size_t *name_len, const cand_sizes *z)
{
	p = put_tag_len(p, TAG_RESP_CANDIDATE, z->body);
	if (it->id != 0)
		p = put_varint(p, TAG_C_ITEM_ID, (uint64_t) it->id);
	if (r->score != 0)
		p = put_f32(p, TAG_C_SCORE, r->score);
	for (int s = 0; s < CAND_NSRC; s++) {
		if (!(r->has & (1u << s)))
			continue;
		const cand_src *src = &r->src[s];
		p = put_tag_len(p, TAG_C_SOURCE, source_size(src, name_len[s]));
		if (name_len[s] > 0)
			p = put_bytes(p, TAG_S_SOURCE, cand_src_names[s], name_len[s]);
		if (src->score != 0)
			p = put_f32(p, TAG_S_SCORE, src->score);
		if (src->rank != 0)
			p = put_varint(p, TAG_S_RANK, src->rank);
		if (src->because != 0)
			p = put_varint(p, TAG_S_BECAUSE, (uint64_t) src->because);
	}
	if (z->title > 0)
		p = put_bytes(p, TAG_C_TITLE, it->title, z->title);
	if (z->category > 0)
		p = put_bytes(p, TAG_C_CATEGORY, it->category, z->category);
	double price = it->has_price ? it->price : 0;
	if (price != 0)
		p = put_f64(p, TAG_C_PRICE, price);
	if (rin != NULL && rin->ns > 0) {
		const float *sc = &rin->score[i * (size_t) rin->ns];
		const uint32_t *rk = &rin->rank[i * (size_t) rin->ns];
		p = put_tag_len(p, TAG_C_RANKER_SCORES, 4 * (size_t) rin->ns);
		for (int j = 0; j < rin->ns; j++) {
			uint32_t b;
			memcpy(&b, &sc[j], sizeof(b));
			for (int q = 0; q < 4; q++)
				*p++ = (uint8_t) (b >> (8 * q));
		}
		p = put_tag_len(p, TAG_C_RANKER_RANKS, z->ranks);
		for (int j = 0; j < rin->ns; j++)
			p += rs_pbw_put_varint(p, rk[j]);
	}
	return p;
}

int
cand_wire_pack(const Rs__CandidatesResponse *m, const cand_snap *snap, const cand_result *res,
               size_t n, const cand_rin *rin, rs_arena *a, uint8_t **out, size_t *len)
{
	/* field 1 (the header) before the list, fields 3.. after it */
	Rs__CandidatesResponse head = RS__CANDIDATES_RESPONSE__INIT;
	Rs__CandidatesResponse tail = *m;
	head.header = m->header;
	tail.header = NULL;
	tail.n_candidates = 0;
	tail.candidates = NULL;
	size_t nh = protobuf_c_message_get_packed_size(&head.base);
	size_t nt = protobuf_c_message_get_packed_size(&tail.base);

	size_t name_len[CAND_NSRC];
	for (int s = 0; s < CAND_NSRC; s++)
		name_len[s] = strlen(cand_src_names[s]);
	cand_sizes *z = rs_arena_alloc(a, (n ? n : 1) * sizeof(*z));
	if (z == NULL)
		return RS_ENOMEM;
	size_t total = nh + nt;
	for (size_t i = 0; i < n; i++)
		total += lsize(candidate_size(&snap->items[res[i].item], &res[i], rin, i, name_len,
		                              &z[i]));
	uint8_t *buf = rs_arena_alloc(a, total ? total : 1);
	if (buf == NULL)
		return RS_ENOMEM;
	uint8_t *p = buf + protobuf_c_message_pack(&head.base, buf);
	for (size_t i = 0; i < n; i++)
		p = candidate_put(p, &snap->items[res[i].item], &res[i], rin, i, name_len, &z[i]);
	p += protobuf_c_message_pack(&tail.base, p);
	*out = buf;
	*len = (size_t) (p - buf);
	return 0;
}
