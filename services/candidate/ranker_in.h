/* The learned ranker's inputs: with a model version whose learned ranker rs-ranking serves,
 * every candidate of a CandidatesResponse carries its score and rank under each of the
 * ranker's sources (proto/candidate.proto: ranker_sources, ranker_scores, ranker_ranks), so
 * rs-ranking builds the ranker's rows without scoring the sources again.
 *
 * The sources and how they are scored: common/rs_ranksrc.h. pop and the knn source are
 * scored here for every candidate exactly as rs-train scores them (the user's items from the
 * request history); als comes from this request's retrieval (factors . embedding for every
 * candidate, its rank when within the ranker's cand_n, the normalisers of its top cand_n), and
 * only when als ran (the request's embedding is of this version). Retrieval sources name only
 * what they retrieved (Candidate.sources): the als scores of the other candidates travel
 * here. */
#ifndef CAND_RANKER_IN_H
#define CAND_RANKER_IN_H

#include <stddef.h>
#include <stdint.h>

#include "modelsrc.h"
#include "retrieve.h"
#include "rs_arena.h"
#include "rs_model.h"
#include "rs_ranksrc.h"
#include "snapshot.h"

/* The ranker sources served for one request. */
typedef struct cand_rin {
	int ns;                           /* sources served (0: none, nothing to send) */
	const char *name[RS_RANKSRC_MAX]; /* borrowed from the version */
	cand_stat stat[RS_RANKSRC_MAX];   /* each list's top, low and length */
	float *score;                     /* n x ns, candidate-major */
	uint32_t *rank;                   /* n x ns: 1-based within cand_n, 0 = not in the list */
} cand_rin;

/* cand_rin_build: the inputs for the n retrieved candidates res of the join's snapshot with
 * history h[0..nh) under the join's version (a join NULL, or a version without ranker sources,
 * cand_vaux_of(m)->rin: out->ns = 0). stats: the retrieval's per-source list normalisers
 * (cand_retrieve_ex with stat_n = cand_n); emb[0..n_emb): the embedding the als source ran with
 * (NULL or another width than the version's factors: als did not run, no als column). Arena memory.
 * 0 or RS_ENOMEM. */
int cand_rin_build(const cand_join *j, const cand_hist *h, size_t nh, const cand_result *res,
                   size_t n, const cand_stat *stats, const float *emb, size_t n_emb, rs_arena *a,
                   cand_rin *out);

#endif
