/* dataset: a training set of implicit positives as sparse user x item matrices.
 *
 * Users and items get dense codes in order of first appearance in the CSV (the same order
 * shared/bench/reference.py uses, so tie-breaks by item code agree). Each (user, item)
 * pair is kept once, at its earliest (timestamp, row). Rows of a user are ordered by
 * (timestamp, row in file), so "the user's last items" are the latest ones.
 *
 * A dataset owns its id tables unless it was made by tr_dataset_subset(), which borrows
 * them from its parent (the parent must outlive it). */
#ifndef TR_DATASET_H
#define TR_DATASET_H

#include <stdint.h>

#include "ids.h"
#include "util.h"

typedef struct tr_dataset {
	tr_ids *users, *items;
	int owns_ids;
	int32_t n_users, n_items;
	int64_t nnz;
	int64_t *u_ptr;   /* n_users + 1 */
	int32_t *u_items; /* nnz, per user in (timestamp, row) order */
	double *u_ts;     /* nnz, timestamps (row number when the CSV has none) */
	int64_t *i_ptr;   /* n_items + 1 */
	int32_t *i_users; /* nnz, per item, users ascending */
	int has_ts;
	/* Weighted data (event logs with types, see events.h); NULL/0 for plain user,item CSVs,
	 * whose behaviour does not change. u_w[e] > 0 is the confidence weight of entry e (in
	 * u_items order), i_w the same in i_users order. Explicit negatives (not_interested,
	 * low ratings) are kept apart from the positives, per user in time order: items
	 * neg_items[neg_ptr[u] .. neg_ptr[u+1]) with strength neg_w > 0 and time neg_ts. */
	float *u_w, *i_w;
	int64_t n_neg;
	int64_t *neg_ptr; /* n_users + 1, or NULL when there are no negatives */
	int32_t *neg_items;
	float *neg_w;
	double *neg_ts;
	long rows_read, duplicates;
	uint64_t fingerprint; /* of the id lists and the pairs; see tr_dataset_fingerprint */
} tr_dataset;

/* tr_dataset_build: from n triples of codes (u < n_users, i < n_items), taking ownership
 * of the id tables (which may be NULL for tests). Duplicates keep the earliest. */
void tr_dataset_build(tr_dataset *ds, tr_ids *users, tr_ids *items, int32_t n_users,
                      int32_t n_items, int64_t n, const int32_t *u, const int32_t *i,
                      const double *ts);

/* tr_dataset_build_signed: like tr_dataset_build for unique (u, i) pairs with a signed
 * weight w[r]: w > 0 a positive of that confidence, w < 0 an explicit negative of strength
 * -w, w == 0 dropped. The fingerprint also covers the weights and the negatives. */
void tr_dataset_build_signed(tr_dataset *ds, tr_ids *users, tr_ids *items, int32_t n_users,
                             int32_t n_items, int64_t n, const int32_t *u, const int32_t *i,
                             const double *ts, const float *w);

/* tr_dataset_is_weighted: 1 if ds carries weights or negatives (an event log). */
static inline int
tr_dataset_is_weighted(const tr_dataset *ds)
{
	return ds->u_w != NULL || ds->n_neg > 0;
}

/* tr_dataset_subset: the entries e (in u_ptr order) with keep[e] != 0, same code space,
 * borrowing parent's id tables. Weights follow their entries; a user's negatives are kept
 * up to the time of the user's last kept entry (none if the user keeps no entry), so a
 * time-ordered holdout does not see later negatives. */
void tr_dataset_subset(const tr_dataset *parent, const unsigned char *keep, tr_dataset *out);

/* tr_dataset_holdout: mark each user's last entries as held out, like split.py
 * temporal-user (n_out = max(1, floor(frac*n + 0.5)), or exactly 1 when frac <= 0),
 * for users with at least min_n entries. out[nnz] is written 1 for held-out entries. */
void tr_dataset_holdout(const tr_dataset *ds, double frac, int min_n, unsigned char *out);

/* tr_dataset_holdout_protocol: held[e] = 1 for a validation slice carved like
 * shared/bench/split.py's protocol: temporal-user (each user's last frac, users with >= min_n
 * entries), leave-one-out (the last entry), random-user (random frac per user, our seeded
 * generator), global-time (the latest frac of all entries). RS_EINVAL for another name. */
int tr_dataset_holdout_protocol(const tr_dataset *ds, const char *protocol, double frac, int min_n,
                                uint64_t seed, unsigned char *held, tr_error *err);

/* tr_dataset_item_pop: number of users of each item, as float (n_items). Caller frees. */
float *tr_dataset_item_pop(const tr_dataset *ds);

void tr_dataset_fini(tr_dataset *ds);

#endif
