/* The trained model's side of retrieval: a join between one catalog snapshot and one published
 * model version (model code -> snapshot item, and the snapshot's items the model does not know,
 * i.e. added after training), the exact top-K scorer over all item factors, and the metadata
 * similarity that stands in for trained neighbours of new items.
 *
 * A cand_join is immutable and reference-counted; it holds a reference to its snapshot and its
 * model, so neither can be freed (or its address reused) while the join is in use. */
#ifndef CAND_MODELSRC_H
#define CAND_MODELSRC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "alsindex.h"
#include "rs_model.h"
#include "rs_ranksrc.h"
#include "snapshot.h"

#define CAND_NO_ITEM   UINT32_MAX
#define CAND_NEW_ITEMS 2000 /* newest absent items considered by the new_items source */

typedef struct cand_join {
	atomic_int refs;
	cand_snap *snap;
	rs_model *model;
	uint32_t *code2idx;  /* per model code: snapshot index or CAND_NO_ITEM */
	uint32_t *idx2code;  /* per snapshot item: model code or CAND_NO_ITEM (the request path's
	                      * lookups of seeds and candidates read it instead of the model's
	                      * id -> code hash) */
	uint32_t *new_items; /* snapshot indices absent from the model, highest id first */
	size_t n_new;        /* at most CAND_NEW_ITEMS */
} cand_join;

/* cand_join_build: join snap and model (both referenced by the join). Returns 0 and *out (one
 * reference) or RS_ENOMEM. */
int cand_join_build(cand_snap *snap, rs_model *model, cand_join **out);
cand_join *cand_join_ref(cand_join *j);
void cand_join_unref(cand_join *j); /* NULL ok */

/* What rs-candidate derives from a version once, when the model watch opens it (the watch's
 * prepare callback attaches it as the version's aux; it closes with the version). */
typedef struct cand_vaux {
	rs_ranksrc *rin;     /* the learned ranker's sources (ranker_in.h); NULL: none */
	cand_als_index *als; /* the als source's index (alsindex.h); NULL: score every item */
} cand_vaux;

/* cand_vaux_prepare: the model watch's prepare callback: attaches m's cand_vaux: the ranker
 * sources when m has a learned ranker with serving data (one that fails to load is logged as
 * candidate.ranker_sources_failed: retrieval without ranker inputs), the als index when m has
 * item factors (refused: candidate.als_index_unused, every item scored). Always 0: retrieval
 * never refuses a version for either. */
int cand_vaux_prepare(void *ud, rs_model *m);

/* cand_vaux_of: m's cand_vaux, NULL for none (m NULL, or nothing derived). */
const cand_vaux *cand_vaux_of(const rs_model *m);

/* cand_meta_sim: 0..1 metadata similarity of two catalog items: shared leading category path
 * segments (0.6), same brand (0.25), price within a factor of 4 (0.15, log scale); 0 unless
 * they share a category prefix or a brand. */
float cand_meta_sim(const cand_item *a, const cand_item *b);

#endif
