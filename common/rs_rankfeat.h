/* rs_rankfeat: the learned ranker's feature row, one pure function shared by rs-train
 * (services/trainer/twostage.c, where the ranker is fitted and evaluated) and rs-ranking (where
 * it serves), so offline and online rows cannot drift apart.
 *
 * Layout RS_RANKFEAT_LAYOUT (1), for a model with n_src first-stage sources (nfeat =
 * 3 n_src + 10 floats, in this order):
 *   for each source s (the model's order):
 *     <s>_norm   (score - low) / (top - low), 0 if top - low <= 1e-12  (min-max within the
 *                user's top cand_n of s)
 *     <s>_ratio  score / best  (best = |top|, or 1 when |top| <= 1e-12 or the list is empty)
 *     <s>_rank   1-based rank in the user's top cand_n of s, cand_n + 1 if not in it
 *   item_log_pop         log((interactions + 1) / (max interactions + 1))   (published per item)
 *   item_log_recent_pop  the same over the newest 10 % of the training interactions
 *   item_age_last        (tmax - the item's newest interaction) / span       (1 if none)
 *   item_age_first       (tmax - the item's first interaction) / span        (0 if none)
 *   user_log_activity    log((user's interactions + 1) / (mean_n + 1))
 *   user_age_last        (tmax - the user's newest interaction) / span        (1 if none)
 *   seq_sim_last         item-kNN similarity of the user's last item to the candidate
 *   seq_sim_sum          the same summed over the user's last RS_RANKFEAT_LAST items
 *   seq_trans_last       share of the transitions leaving the last item that go to the candidate
 *   seq_trans_sum        the same summed over the last RS_RANKFEAT_LAST items
 * A value that is not finite becomes 0 (XGBoost refuses inf/nan). Timestamps are in the
 * training data's unit (seconds for every importer; rs-ranking divides ts_ms by 1000).
 * The arithmetic (float vs double, order of sums) is part of the layout: change it only with a
 * new layout number. */
#ifndef RS_RANKFEAT_H
#define RS_RANKFEAT_H

#include <stddef.h>
#include <stdint.h>

#define RS_RANKFEAT_LAYOUT  1
#define RS_RANKFEAT_MAX_SRC 6
#define RS_RANKFEAT_ITEM    4 /* per-item features (published: LMDB db item_features) */
#define RS_RANKFEAT_USER    2
#define RS_RANKFEAT_SEQ     4
#define RS_RANKFEAT_LAST    3 /* how many of the user's last items the seq_ features use */
#define RS_RANKFEAT_MAX \
	(3 * RS_RANKFEAT_MAX_SRC + RS_RANKFEAT_ITEM + RS_RANKFEAT_USER + RS_RANKFEAT_SEQ)

/* One source's normalisers for one user: from the scores of the source's top list. */
typedef struct rs_rankfeat_src {
	float top;  /* the best score of the list (0 when empty) */
	float low;  /* the last (lowest) score of the list (0 when empty) */
	float best; /* |top|, or 1 when |top| <= 1e-12 or the list is empty */
} rs_rankfeat_src;

/* Normalisers of the training data (published as meta entries). */
typedef struct rs_rankfeat_norm {
	double tmax;   /* newest training timestamp */
	double span;   /* tmax - oldest (1 if not positive) */
	double mean_n; /* interactions per active user */
} rs_rankfeat_norm;

/* The user's part of the row. */
typedef struct rs_rankfeat_user {
	int64_t n_items; /* the user's interactions */
	int has_last;    /* n_items > 0 */
	double last_ts;  /* the user's newest interaction (when has_last) */
} rs_rankfeat_user;

/* One candidate. */
typedef struct rs_rankfeat_cand {
	const float *score;  /* n_src raw scores of the candidate under each source */
	const int32_t *rank; /* n_src ranks (cand_n + 1 when not in the source's top list) */
	const float *item;   /* RS_RANKFEAT_ITEM item features */
	int nlast;           /* 0..RS_RANKFEAT_LAST last items known */
	const float *sim;    /* nlast: kNN similarity last[t] -> candidate (newest first) */
	const float *trans;  /* nlast: transition share last[t] -> candidate */
} rs_rankfeat_cand;

/* rs_rankfeat_nfeat: columns of a row for n_src sources. */
int rs_rankfeat_nfeat(int n_src);

/* rs_rankfeat_src_init: the normalisers of a source whose top list has got entries, the first
 * scoring top and the last low. */
void rs_rankfeat_src_init(rs_rankfeat_src *s, float top, float low, int got);

/* rs_rankfeat_row: write rs_rankfeat_nfeat(n_src) floats to row (n_src <= RS_RANKFEAT_MAX_SRC). */
void rs_rankfeat_row(int n_src, const rs_rankfeat_src *src, const rs_rankfeat_norm *norm,
                     const rs_rankfeat_user *user, const rs_rankfeat_cand *c, float *row);

/* rs_rankfeat_name: the name of column f for sources named src[0..n_src) into buf (e.g.
 * "als_rank", "item_log_pop"). Returns 0, or -1 when f is out of range. */
int rs_rankfeat_name(const char *const *src, int n_src, int f, char *buf, size_t n);

#endif
