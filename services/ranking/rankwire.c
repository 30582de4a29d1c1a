/* rankwire: see rankwire.h. */
#include "rankwire.h"

#include <string.h>

#include "rs_err.h"
#include "rs_pbwire.h"

/* Field numbers (proto/ranking.proto, proto/candidate.proto). */
enum { RANKREQ_RETRIEVAL = 9, CANDRESP_CANDIDATES = 2 };
enum {
	CAND_ITEM_ID = 1,
	CAND_SCORE = 2,
	CAND_SOURCES = 3,
	CAND_TITLE = 4,
	CAND_CATEGORY = 5,
	CAND_PRICE = 6,
	CAND_RANKER_SCORES = 7,
	CAND_RANKER_RANKS = 8,
};
enum { SRC_SOURCE = 1, SRC_SCORE = 2, SRC_RANK = 3, SRC_BECAUSE = 4 };

static char *
wire_str(rs_arena *a, const rs_pbw_field *f)
{
	char *s = rs_arena_alloc(a, f->f_len + 1);
	if (s != NULL) {
		if (f->f_len > 0)
			memcpy(s, f->f_data, f->f_len);
		s[f->f_len] = '\0';
	}
	return s;
}

static float
wire_f32(uint64_t bits)
{
	uint32_t b = (uint32_t) bits;
	float v;
	memcpy(&v, &b, sizeof(v));
	return v;
}

/* The source names of one request: a handful of distinct strings over every candidate's
 * SourceScores, each copied once and shared (read-only, like the rest of the request). */
enum { WIRE_NAMES = 16 };

typedef struct wire_ctx {
	rs_arena *a;
	int n;
	const char *name[WIRE_NAMES];
	size_t len[WIRE_NAMES];
} wire_ctx;

static char *
wire_name(wire_ctx *cx, const rs_pbw_field *f)
{
	for (int i = 0; i < cx->n; i++)
		if (cx->len[i] == f->f_len && memcmp(cx->name[i], f->f_data, f->f_len) == 0)
			return (char *) cx->name[i];
	char *s = wire_str(cx->a, f);
	if (s != NULL && cx->n < WIRE_NAMES) {
		cx->name[cx->n] = s;
		cx->len[cx->n++] = f->f_len;
	}
	return s;
}

static int
wire_sourcescore(const uint8_t *p, const uint8_t *end, wire_ctx *cx, Rs__SourceScore *out)
{
	rs_pbw_field f;
	int r;
	uint64_t v;
	rs__source_score__init(out);
	for (;;) {
		/* the fields as rs-candidate writes them (one-byte tags of the expected wire
		 * types, a short name): read in place; anything else takes rs_pbw_next below */
		if (p < end && *p == (SRC_SOURCE << 3 | RS_PBW_LEN) && end - p >= 2 &&
		    p[1] < 0x80 && p[1] <= end - p - 2) {
			rs_pbw_field nf = {.f_data = p + 2, .f_len = p[1]};
			if ((out->source = wire_name(cx, &nf)) == NULL)
				return RS_ENOMEM;
			p += 2 + p[1];
			continue;
		}
		if (p < end && *p == (SRC_SCORE << 3 | RS_PBW_I32) && end - p >= 5) {
			memcpy(&out->score, p + 1, sizeof(float)); /* little-endian, as the wire */
			p += 5;
			continue;
		}
		if (p < end && (*p == (SRC_RANK << 3 | RS_PBW_VARINT) ||
		                *p == (SRC_BECAUSE << 3 | RS_PBW_VARINT))) {
			int rank = *p++ == (SRC_RANK << 3 | RS_PBW_VARINT);
			if (rs_pbw_varint(&p, end, &v) != 0)
				return RS_EPROTO;
			if (rank)
				out->rank = (uint32_t) v;
			else
				out->because_item = (int64_t) v;
			continue;
		}
		if ((r = rs_pbw_next(&p, end, &f)) != 1)
			break;
		switch (f.f_num) {
		case SRC_SOURCE:
			if (f.f_type != RS_PBW_LEN || (out->source = wire_name(cx, &f)) == NULL)
				return f.f_type != RS_PBW_LEN ? RS_EPROTO : RS_ENOMEM;
			break;
		case SRC_SCORE:
			if (f.f_type != RS_PBW_I32)
				return RS_EPROTO;
			out->score = wire_f32(f.f_varint);
			break;
		case SRC_RANK:
			if (f.f_type != RS_PBW_VARINT)
				return RS_EPROTO;
			out->rank = (uint32_t) f.f_varint;
			break;
		case SRC_BECAUSE:
			if (f.f_type != RS_PBW_VARINT)
				return RS_EPROTO;
			out->because_item = (int64_t) f.f_varint;
			break;
		default:
			break; /* unknown: skipped */
		}
	}
	return r == 0 ? 0 : RS_EPROTO;
}

/* The varints of a packed payload: their count, or -1 when one is malformed. */
static long
wire_count_varints(const uint8_t *p, const uint8_t *end)
{
	long n = 0;
	uint64_t v;
	while (p < end) {
		if (rs_pbw_varint(&p, end, &v) != 0)
			return -1;
		n++;
	}
	return n;
}

/* One Candidate: a first walk counts the repeated fields, a second fills them. */
static int
wire_candidate(const uint8_t *p0, const uint8_t *end, wire_ctx *cx, Rs__Candidate *out)
{
	const uint8_t *p = p0;
	rs_pbw_field f;
	size_t ns = 0, nsc = 0, nrk = 0;
	long m;
	int r;

	rs__candidate__init(out);
	while ((r = rs_pbw_next(&p, end, &f)) == 1) {
		switch (f.f_num) {
		case CAND_SOURCES:
			if (f.f_type != RS_PBW_LEN)
				return RS_EPROTO;
			ns++;
			break;
		case CAND_RANKER_SCORES:
			if (f.f_type == RS_PBW_I32)
				nsc++;
			else if (f.f_type == RS_PBW_LEN && f.f_len % 4 == 0)
				nsc += f.f_len / 4;
			else
				return RS_EPROTO;
			break;
		case CAND_RANKER_RANKS:
			if (f.f_type == RS_PBW_VARINT)
				nrk++;
			else if (f.f_type == RS_PBW_LEN &&
			         (m = wire_count_varints(f.f_data, f.f_data + f.f_len)) >= 0)
				nrk += (size_t) m;
			else
				return RS_EPROTO;
			break;
		default:
			break;
		}
	}
	if (r != 0)
		return RS_EPROTO;
	/* one allocation for the repeated fields (SourceScores, their pointers, scores, ranks) */
	size_t sz = ns * (sizeof(Rs__SourceScore) + sizeof(Rs__SourceScore *)) +
	            (nsc + nrk) * sizeof(uint32_t);
	if (sz > 0) {
		unsigned char *blk = rs_arena_alloc(cx->a, sz);
		if (blk == NULL)
			return RS_ENOMEM;
		Rs__SourceScore *ss = (Rs__SourceScore *) blk;
		blk += ns * sizeof(Rs__SourceScore);
		if (ns > 0)
			out->sources = (Rs__SourceScore **) blk;
		blk += ns * sizeof(Rs__SourceScore *);
		for (size_t i = 0; i < ns; i++)
			out->sources[i] = &ss[i];
		if (nsc > 0)
			out->ranker_scores = (float *) blk;
		blk += nsc * sizeof(float);
		if (nrk > 0)
			out->ranker_ranks = (uint32_t *) blk;
	}
	for (p = p0; rs_pbw_next(&p, end, &f) == 1;) {
		switch (f.f_num) {
		case CAND_ITEM_ID:
			if (f.f_type != RS_PBW_VARINT)
				return RS_EPROTO;
			out->item_id = (int64_t) f.f_varint;
			break;
		case CAND_SCORE:
			if (f.f_type != RS_PBW_I32)
				return RS_EPROTO;
			out->score = wire_f32(f.f_varint);
			break;
		case CAND_SOURCES:
			if ((r = wire_sourcescore(f.f_data, f.f_data + f.f_len, cx,
			                          out->sources[out->n_sources++])) != 0)
				return r;
			break;
		case CAND_TITLE:
		case CAND_CATEGORY: {
			char *s;
			if (f.f_type != RS_PBW_LEN)
				return RS_EPROTO;
			if ((s = wire_str(cx->a, &f)) == NULL)
				return RS_ENOMEM;
			if (f.f_num == CAND_TITLE)
				out->title = s;
			else
				out->category = s;
			break;
		}
		case CAND_PRICE: {
			if (f.f_type != RS_PBW_I64)
				return RS_EPROTO;
			memcpy(&out->price, &f.f_varint, sizeof(out->price));
			break;
		}
		case CAND_RANKER_SCORES:
			if (f.f_type == RS_PBW_I32) {
				out->ranker_scores[out->n_ranker_scores++] = wire_f32(f.f_varint);
				break;
			}
			for (size_t q = 0; q < f.f_len; q += 4) {
				float v;
				memcpy(&v, f.f_data + q,
				       sizeof(v)); /* little-endian, as the wire */
				out->ranker_scores[out->n_ranker_scores++] = v;
			}
			break;
		case CAND_RANKER_RANKS:
			if (f.f_type == RS_PBW_VARINT) {
				out->ranker_ranks[out->n_ranker_ranks++] = (uint32_t) f.f_varint;
				break;
			}
			for (const uint8_t *q = f.f_data, *qe = f.f_data + f.f_len; q < qe;) {
				uint64_t v;
				if (rs_pbw_varint(&q, qe, &v) != 0)
					return RS_EPROTO;
				out->ranker_ranks[out->n_ranker_ranks++] = (uint32_t) v;
			}
			break;
		default:
			break;
		}
	}
	return 0;
}

/* Copies every field of [p, end) but those numbered skip into a new buffer (arena) for
 * protobuf-c, and counts the skipped ones (each must be a LEN field). */
static int
wire_split(const uint8_t *p, const uint8_t *end, uint32_t skip, rs_arena *a, uint8_t **rest,
           size_t *rest_len, size_t *n_skip)
{
	rs_pbw_field f;
	int r;
	uint8_t *buf = rs_arena_alloc(a, (size_t) (end - p) + 1);
	if (buf == NULL)
		return RS_ENOMEM;
	*rest_len = 0;
	*n_skip = 0;
	while ((r = rs_pbw_next(&p, end, &f)) == 1) {
		if (f.f_num == skip) {
			if (f.f_type != RS_PBW_LEN)
				return RS_EPROTO;
			(*n_skip)++;
			continue;
		}
		memcpy(buf + *rest_len, f.f_start, f.f_total);
		*rest_len += f.f_total;
	}
	*rest = buf;
	return r == 0 ? 0 : RS_EPROTO;
}

static int
wire_candidates_response(const uint8_t *p0, const uint8_t *end, rs_arena *a,
                         Rs__CandidatesResponse **out)
{
	uint8_t *rest;
	size_t rest_len, nc;
	rs_pbw_field f;
	int r;

	if ((r = wire_split(p0, end, CANDRESP_CANDIDATES, a, &rest, &rest_len, &nc)) != 0)
		return r;
	Rs__CandidatesResponse *cr = (Rs__CandidatesResponse *) protobuf_c_message_unpack(
	        &rs__candidates_response__descriptor, rs_arena_pb(a), rest_len, rest);
	if (cr == NULL)
		return RS_EPROTO;
	if (nc > 0) {
		wire_ctx cx = {.a = a, .n = 0};
		Rs__Candidate *cs = rs_arena_alloc(a, nc * sizeof(*cs));
		if (cs == NULL ||
		    (cr->candidates = rs_arena_alloc(a, nc * sizeof(*cr->candidates))) == NULL)
			return RS_ENOMEM;
		for (const uint8_t *p = p0; rs_pbw_next(&p, end, &f) == 1;) {
			if (f.f_num != CANDRESP_CANDIDATES)
				continue;
			Rs__Candidate *c = &cs[cr->n_candidates];
			if ((r = wire_candidate(f.f_data, f.f_data + f.f_len, &cx, c)) != 0)
				return r;
			cr->candidates[cr->n_candidates++] = c;
		}
	}
	*out = cr;
	return 0;
}

int
rank_wire_unpack(const uint8_t *body, size_t len, rs_arena *a, Rs__RankRequest **out)
{
	const uint8_t *end = body + len;
	uint8_t *rest;
	size_t rest_len, nret;
	rs_pbw_field f;
	int r;

	if ((r = wire_split(body, end, RANKREQ_RETRIEVAL, a, &rest, &rest_len, &nret)) != 0)
		return r;
	if (nret > 1) { /* several copies merge: protobuf-c's rules */
		rest = (uint8_t *) body;
		rest_len = len;
	}
	Rs__RankRequest *req = (Rs__RankRequest *) protobuf_c_message_unpack(
	        &rs__rank_request__descriptor, rs_arena_pb(a), rest_len, rest);
	if (req == NULL)
		return RS_EPROTO;
	if (nret == 1)
		for (const uint8_t *p = body; rs_pbw_next(&p, end, &f) == 1;)
			if (f.f_num == RANKREQ_RETRIEVAL &&
			    (r = wire_candidates_response(f.f_data, f.f_data + f.f_len, a,
			                                  &req->retrieval)) != 0)
				return r;
	*out = req;
	return 0;
}
