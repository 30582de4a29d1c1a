/* rs_topk: the best k of a set of scored entries, the one implementation rs-candidate,
 * rs-ranking, the learned ranker's online sources (rs_ranksrc) and rs-train share.
 *
 * Order: higher score first, ties by the smaller id (ids distinct within one selection, so
 * the order is total and every exact selection gives the same answer). Each entry carries a
 * 64-bit key whose integer order is that order (rs_topk_key: the score's bits mapped to an
 * unsigned integer that grows with the score, above the id's complement), so one comparison
 * is one integer compare. -0 and +0 are the same score; NaN has no place in the order (callers
 * drop it before, as rs_topk_floats does).
 *
 * Selection is quickselect over the keys (median of three, Hoare partition), then a sort of
 * the k kept: O(n + k log k). A stream keeps its entries in caller room of more than k and,
 * each time the room fills, selects its best k and keeps the k-th key as the bar the next
 * entries must pass (one compare for most of them). Pure functions over caller memory: no
 * allocation, no locks. */
#ifndef RS_TOPK_H
#define RS_TOPK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct rs_topk_ent {
	uint64_t key; /* rs_topk_key(score, id) */
	float score;  /* the score as given (bit for bit) */
	uint32_t val; /* the caller's payload (an index, a code) */
} rs_topk_ent;

/* rs_topk_key: the key of (score, id): a larger key is a better entry. */
static inline uint64_t
rs_topk_key(float score, uint32_t id)
{
	uint32_t b;
	memcpy(&b, &score, sizeof(b));
	b = (b << 1) != 0 ? b : 0u; /* -0 is +0 */
	/* negative: all bits flipped (a larger magnitude is smaller); else the sign bit set */
	b ^= (uint32_t) ((int32_t) b >> 31) | 0x80000000u;
	return (uint64_t) b << 32 | (uint32_t) ~id;
}

static inline rs_topk_ent
rs_topk_ent_of(float score, uint32_t id, uint32_t val)
{
	return (rs_topk_ent){rs_topk_key(score, id), score, val};
}

/* rs_topk_select: moves the best k of e[0..n) to e[0..k), best first (k >= n: sorts all);
 * e[k..n) keeps the other entries in no order (e stays a permutation). */
void rs_topk_select(rs_topk_ent *e, size_t n, size_t k);

/* A stream's best k in caller room of cap > k entries (2k or more: few selections). */
typedef struct rs_topk {
	rs_topk_ent *e;
	size_t n, k, cap;
	uint64_t bar; /* an entry enters only with a larger key (0: none yet) */
} rs_topk;

static inline void
rs_topk_init(rs_topk *t, rs_topk_ent *room, size_t cap, size_t k)
{
	t->e = room;
	t->n = 0;
	t->k = k;
	t->cap = cap;
	t->bar = k > 0 ? 0 : UINT64_MAX; /* k = 0: nothing ever enters */
}

void rs_topk_flush(rs_topk *t); /* internal to rs_topk_push */

/* rs_topk_push: offers one entry. */
static inline void
rs_topk_push(rs_topk *t, rs_topk_ent v)
{
	if (v.key <= t->bar)
		return;
	t->e[t->n++] = v;
	if (t->n == t->cap)
		rs_topk_flush(t);
}

/* rs_topk_sorted: orders the best k of the stream best first in t->e[0..] and returns how
 * many (at most k). The stream is finished: push no more. */
size_t rs_topk_sorted(rs_topk *t);

/* rs_topk_floats: the best k of scores[0..n) by (score desc, index asc), skipping NaN and
 * -inf; room: cap > k entries of working memory. Writes up to k indices (and their scores,
 * when out_score is not NULL) best first and returns how many. */
size_t rs_topk_floats(const float *scores, uint32_t n, size_t k, rs_topk_ent *room, size_t cap,
                      uint32_t *out_idx, float *out_score);

#endif
