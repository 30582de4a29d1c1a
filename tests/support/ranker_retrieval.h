/* ranker_retrieval.h: rs-candidate's answer for rs-train's candidates of one user, as the
 * learned ranker reads it (RankRequest.retrieval): the candidates rs-train generated for the
 * user (tr_twostage_user), each with its ranker_scores / ranker_ranks, and ranker_sources with
 * each source's normalisers, in the version's source order.
 *
 * pop and the knn source are scored the way rs-candidate scores them (common/rs_ranksrc.h,
 * from the request history `recent`), so a caller that compares the ranker's rows with
 * rs-train's also checks those against rs-train; the sources rs-candidate does not score
 * itself (als: its own retrieval; ease: not served online) carry rs-train's values.
 * Header-only (tests/services/ranking/ranker_test.c, bench/ranker/ranker_agree.c); all memory
 * in the arena. Returns NULL on failure, with why in err. */
#ifndef RS_TEST_RANKER_RETRIEVAL_H
#define RS_TEST_RANKER_RETRIEVAL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate.pb-c.h"
#include "feature.pb-c.h"
#include "model.h"
#include "rs_arena.h"
#include "rs_err.h"
#include "rs_model.h"
#include "rs_ranksrc.h"
#include "twostage.h"

static inline Rs__CandidatesResponse *
rr_retrieval(rs_arena *a, const tr_model *m, const tr_dataset *ds, const tr_twostage_row *row,
             rs_model *vm, const rs_ranksrc *rsrc, Rs__HistoryEvent *const *recent, size_t nrecent,
             char *err, size_t errn)
{
	Rs__CandidatesResponse *cr = rs_arena_alloc(a, sizeof(*cr));
	Rs__ResponseHeader *h = rs_arena_alloc(a, sizeof(*h));
	int ns = row->n_src, cand_n = m->params.cand_n;
	rs_ranksrc_event *ev = rs_arena_alloc(a, (nrecent ? nrecent : 1) * sizeof(*ev));
	rs_ranksrc_list list[RS_RANKSRC_MAX];
	rs_ranksrc_user u;
	int rv;

	if (cr == NULL || h == NULL || ev == NULL || ns > RS_RANKSRC_MAX ||
	    rs_ranksrc_count(rsrc) != ns) {
		snprintf(err, errn, "out of memory, or %d sources where the version has %d", ns,
		         rs_ranksrc_count(rsrc));
		return NULL;
	}
	rs__candidates_response__init(cr);
	rs__response_header__init(h);
	h->model_version = (char *) rs_model_version(vm);
	cr->header = h;
	for (size_t i = 0; i < nrecent; i++)
		ev[i] = (rs_ranksrc_event){recent[i]->item_id, recent[i]->ts_ms,
		                           (int32_t) recent[i]->type, recent[i]->value};
	if ((rv = rs_ranksrc_user_build(vm, rs_ranksrc_weights_of(rsrc), ev, nrecent, a, &u)) !=
	    0) {
		snprintf(err, errn, "user: %s", rs_strerror(rv));
		return NULL;
	}
	cr->ranker_sources = rs_arena_alloc(a, (size_t) ns * sizeof(void *));
	for (int s = 0; s < ns; s++) {
		Rs__SourceStats *ss = rs_arena_alloc(a, sizeof(*ss));
		int k = rs_ranksrc_kind(rsrc, s);
		rs__source_stats__init(ss);
		ss->source = (char *) rs_ranksrc_name(rsrc, s);
		if (strcmp(ss->source, tr_twostage_source(m->ts, s)) != 0) {
			snprintf(err, errn, "source %d: %s online, %s offline", s, ss->source,
			         tr_twostage_source(m->ts, s));
			return NULL;
		}
		if (k == RS_RANKSRC_POP || k == RS_RANKSRC_KNN) {
			if ((rv = rs_ranksrc_list_build(rsrc, s, &u, a, &list[s])) != 0) {
				snprintf(err, errn, "%s list: %s", ss->source, rs_strerror(rv));
				return NULL;
			}
			ss->top = list[s].top;
			ss->low = list[s].low;
			ss->count = list[s].n;
		} else {
			ss->top = row->norm[s].top;
			ss->low = row->norm[s].low;
			ss->count = 1; /* rs-train's list (its length does not enter the row) */
		}
		cr->ranker_sources[s] = ss;
	}
	cr->n_ranker_sources = (size_t) ns;
	cr->candidates = rs_arena_alloc(a, ((size_t) row->n + 1) * sizeof(void *));
	for (int c = 0; c < row->n; c++) {
		Rs__Candidate *cd = rs_arena_alloc(a, sizeof(*cd));
		uint32_t code;
		rs__candidate__init(cd);
		cd->item_id = atoll(tr_ids_name(ds->items, row->items[c]));
		if (rs_model_code(vm, cd->item_id, &code) != 0)
			code = UINT32_MAX;
		cd->ranker_scores = rs_arena_alloc(a, (size_t) ns * sizeof(float));
		cd->ranker_ranks = rs_arena_alloc(a, (size_t) ns * sizeof(uint32_t));
		for (int s = 0; s < ns; s++) {
			int k = rs_ranksrc_kind(rsrc, s);
			if (k == RS_RANKSRC_POP || k == RS_RANKSRC_KNN) {
				cd->ranker_scores[s] =
				        rs_ranksrc_list_score(&list[s], code, &cd->ranker_ranks[s]);
			} else {
				int32_t rk = row->rank[c * ns + s];
				cd->ranker_scores[s] = row->score[c * ns + s];
				cd->ranker_ranks[s] = rk <= cand_n ? (uint32_t) rk : 0;
			}
		}
		cd->n_ranker_scores = cd->n_ranker_ranks = (size_t) ns;
		cr->candidates[c] = cd;
	}
	cr->n_candidates = (size_t) row->n;
	return cr;
}

#endif
