/* The learned ranker's inputs: see ranker_in.h. */
#include "ranker_in.h"

#include <math.h>
#include <string.h>

#include "rs_err.h"

int
cand_rin_build(const cand_join *jn, const cand_hist *h, size_t nh, const cand_result *res, size_t n,
               const cand_stat *stats, const float *emb, size_t n_emb, rs_arena *a, cand_rin *out)
{
	const rs_model *m = jn != NULL ? jn->model : NULL;
	const cand_vaux *va = cand_vaux_of(m);
	const rs_ranksrc *r = va != NULL ? va->rin : NULL;
	const float *V = m != NULL ? rs_model_item_factors(m) : NULL;
	uint32_t f = m != NULL ? rs_model_factors(m) : 0;
	int als_ran = emb != NULL && V != NULL && f > 0 && n_emb == f;
	rs_ranksrc_list list[RS_RANKSRC_MAX];
	int src[RS_RANKSRC_MAX], rv;
	rs_ranksrc_user u = {0};

	memset(out, 0, sizeof(*out));
	if (r == NULL)
		return 0;
	uint32_t cand_n = (uint32_t) rs_ranksrc_cand_n(r);
	int lists = 0;
	for (int q = 0; q < rs_ranksrc_count(r); q++) {
		int kind = rs_ranksrc_kind(r, q);
		if (kind == RS_RANKSRC_UNSERVED || (kind == RS_RANKSRC_CALLER && !als_ran))
			continue;
		lists |= kind != RS_RANKSRC_CALLER;
		src[out->ns] = q;
		out->name[out->ns++] = rs_ranksrc_name(r, q);
	}
	if (out->ns == 0)
		return 0;
	out->score = rs_arena_alloc(a, (n ? n : 1) * (size_t) out->ns * sizeof(float));
	out->rank = rs_arena_alloc(a, (n ? n : 1) * (size_t) out->ns * sizeof(uint32_t));
	if (out->score == NULL || out->rank == NULL)
		return RS_ENOMEM;
	if (lists) { /* pop and knn: the user's items as rs-train sees them, then each list */
		rs_ranksrc_event *ev = rs_arena_alloc(a, (nh ? nh : 1) * sizeof(*ev));
		if (ev == NULL)
			return RS_ENOMEM;
		for (size_t i = 0; i < nh; i++)
			ev[i] = (rs_ranksrc_event){h[i].item_id, h[i].ts_ms, h[i].type, h[i].value};
		if ((rv = rs_ranksrc_user_build(m, rs_ranksrc_weights_of(r), ev, nh, a, &u)) != 0)
			return rv;
	}
	for (int j = 0; j < out->ns; j++) {
		if (rs_ranksrc_kind(r, src[j]) == RS_RANKSRC_CALLER) {
			out->stat[j] = stats[CAND_SRC_ALS];
			continue;
		}
		if ((rv = rs_ranksrc_list_build(r, src[j], &u, a, &list[j])) != 0)
			return rv;
		out->stat[j] = (cand_stat){list[j].top, list[j].low, list[j].n};
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t code = jn->idx2code[res[i].item]; /* CAND_NO_ITEM = UINT32_MAX: unknown */
		for (int j = 0; j < out->ns; j++) {
			float *v = &out->score[i * (size_t) out->ns + (size_t) j];
			uint32_t *rk = &out->rank[i * (size_t) out->ns + (size_t) j];
			if (rs_ranksrc_kind(r, src[j]) != RS_RANKSRC_CALLER) {
				*v = rs_ranksrc_list_score(&list[j], code, rk);
				continue;
			}
			/* als: the retrieval's score and rank when it retrieved the item, else
			 * factors . embedding (rank 0) */
			const cand_src *al = &res[i].src[CAND_SRC_ALS];
			float d = 0;
			if (res[i].has & (1u << CAND_SRC_ALS)) {
				d = al->score;
				*rk = al->rank >= 1 && al->rank <= cand_n ? al->rank : 0;
			} else if (code != UINT32_MAX) {
				const float *y = V + (size_t) code * f;
				for (uint32_t q = 0; q < f; q++)
					d += y[q] * emb[q];
				*rk = 0;
			} else {
				*rk = 0;
			}
			*v = isfinite(d) ? d : 0.0f;
		}
	}
	return 0;
}
