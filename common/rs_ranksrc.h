/* rs_ranksrc: the learned ranker's first-stage sources, scored online exactly as rs-train
 * scores them (services/trainer/twostage.c, ts_user_rows), and the user's items as rs-train
 * sees them. rs-candidate scores every candidate it sends under each source of the version's
 * ranker (proto/candidate.proto: CandidatesResponse.ranker_sources, Candidate.ranker_scores
 * and ranker_ranks); rs-ranking builds the ranker's rows from those and from the user's items
 * (activity, recency, the last items), so neither recomputes what the other did.
 *
 * The sources of a version's ranker (manifest published.ranker.sources), online:
 *   pop      RS_RANKSRC_POP: the version's published scores (LMDB source_scores "pop"), also
 *            for the user's own items; the user's list is the best cand_n items by (score
 *            desc, code asc) without the user's items (rs-train's tr_topk order);
 *   knn      RS_RANKSRC_KNN (published.ranker.knn_source, "itemknn"): the sum of the knn_rows
 *            of the user's items, in the user's order (float sums depend on it), weighted and
 *            minus the explicit negatives' rows for a model trained on an event log; the
 *            user's items score -inf; the list is the best cand_n of ALL items (those no row
 *            reaches score 0 and fill it in code order);
 *   als      RS_RANKSRC_CALLER: the caller's own (rs-candidate: factors . embedding, the ranks
 *            of its retrieval);
 *   other    RS_RANKSRC_UNSERVED (ease: its item matrix is not published).
 *
 * The user's items ("positives"): every history item except, for plain pairs, not_interested
 * events; each once, at its first event, ordered by (time, position) for plain pairs. For an
 * event log (published.ranker.weighted) each item's events are summed with the manifest's
 * params.weights exactly like rs-train's events.c into a weighted positive (at its first
 * time) or an explicit negative (at its last negative event), ordered by (time, item code).
 *
 * A rs_ranksrc is immutable after rs_ranksrc_open (safe from many threads); lists and users
 * are arena memory of one request. */
#ifndef RS_RANKSRC_H
#define RS_RANKSRC_H

#include <stddef.h>
#include <stdint.h>

#include "rs_arena.h"
#include "rs_event.h"
#include "rs_model.h"

#define RS_RANKSRC_MAX 6 /* sources of one ranker (RS_RANKFEAT_MAX_SRC) */

enum {
	RS_RANKSRC_UNSERVED, /* no online scores */
	RS_RANKSRC_CALLER,   /* "als": the caller scores it */
	RS_RANKSRC_POP,
	RS_RANKSRC_KNN,
};

/* The event weights the version was trained with (rs_event.h, as rs-train weighs). */
typedef struct rs_ranksrc_weights {
	int weighted; /* 1: trained on an event log; 0: plain pairs, every interaction counts 1 */
	rs_event_weights ev;
} rs_ranksrc_weights;

/* rs_ranksrc_weights_init: the weights of a model trained on an event log (weighted 1; spec
 * = the manifest's params.weights in rs_event_weights_format, NULL or "" = rs-train's defaults) or
 * on plain pairs (weighted 0, spec ignored). 0, or -1 for a spec that does not parse. */
int rs_ranksrc_weights_init(rs_ranksrc_weights *w, int weighted, const char *spec);

/* One history event (the feature service's HistoryEvent). */
typedef struct rs_ranksrc_event {
	int64_t item_id;
	int64_t ts_ms;
	int32_t type; /* rs.EventType number */
	double value; /* ratings */
} rs_ranksrc_event;

typedef struct rs_ranksrc_item {
	int64_t id;
	int64_t ts_ms; /* positives: the first event; negatives: the last negative event */
	uint32_t code; /* UINT32_MAX: unknown to the version */
	float w;       /* rs-train's weight (1 for plain pairs) */
} rs_ranksrc_item;

typedef struct rs_ranksrc_user {
	rs_ranksrc_item *pos; /* the positives in rs-train's order (oldest first) */
	size_t npos;
	rs_ranksrc_item *neg; /* event logs: the explicit negatives, (time, code) order */
	size_t nneg;
	uint32_t *codes; /* the positives' codes known to the version, ascending */
	size_t ncodes;
} rs_ranksrc_user;

/* rs_ranksrc_user_build: the user's items from the history ev[0..n) (any order) for version m
 * with weights w. Arena memory. 0 or RS_ENOMEM. */
int rs_ranksrc_user_build(const rs_model *m, const rs_ranksrc_weights *w,
                          const rs_ranksrc_event *ev, size_t n, rs_arena *a, rs_ranksrc_user *out);

/* ---- the sources of one version's ranker ---- */

typedef struct rs_ranksrc rs_ranksrc;

/* rs_ranksrc_open: the ranker sources of version m (manifest published.ranker, LMDB
 * source_scores and knn_rows). m is borrowed and must outlive the result (attach it as m's aux:
 * it closes with m). 0 and *out; RS_ENOTFOUND when m has no ranker with serving data (not an
 * error: nothing to score), RS_EVERSION, RS_ECORRUPT, RS_EIO, RS_ENOMEM with err saying why. */
int rs_ranksrc_open(rs_model *m, rs_ranksrc **out, char *err, size_t errn);
void rs_ranksrc_destroy(rs_ranksrc *r); /* NULL ok */

int rs_ranksrc_count(const rs_ranksrc *r);               /* sources of the ranker */
const char *rs_ranksrc_name(const rs_ranksrc *r, int s); /* the manifest's name */
int rs_ranksrc_kind(const rs_ranksrc *r, int s);         /* RS_RANKSRC_* */
int rs_ranksrc_cand_n(const rs_ranksrc *r);              /* the lists' length */
const rs_ranksrc_weights *rs_ranksrc_weights_of(const rs_ranksrc *r);

/* One source's list for one user. */
typedef struct rs_ranksrc_list {
	const float *score; /* every code's score (n_items; -inf for the user's items under knn),
	                     * where reached says it is set */
	const uint8_t *reached; /* NULL: every score is set; else per code, 0 = the score is 0
	                         * and not stored (knn: no row of the user's reached it) */
	uint32_t *pairs;        /* the list as {code, rank (1-based)} pairs sorted by code */
	uint32_t n;             /* entries, at most cand_n */
	float top, low;         /* the list's first and last score (0 when empty) */
} rs_ranksrc_list;

/* rs_ranksrc_list_build: the list of source s (RS_RANKSRC_POP or _KNN) for user u (built with
 * rs_ranksrc_weights_of(r)). Arena memory. 0, RS_ENOMEM, RS_EINVAL (another kind). */
int rs_ranksrc_list_build(const rs_ranksrc *r, int s, const rs_ranksrc_user *u, rs_arena *a,
                          rs_ranksrc_list *out);

/* rs_ranksrc_list_score: the score of code under l's source (0 for UINT32_MAX, an item the
 * version does not know) and *rank its 1-based rank in the list, 0 when not in it. */
float rs_ranksrc_list_score(const rs_ranksrc_list *l, uint32_t code, uint32_t *rank);

#endif
