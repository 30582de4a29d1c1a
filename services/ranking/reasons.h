/* Human-readable reasons of ranked items: the scorer's per-feature contributions, summed in
 * reason groups, say which of the reasons that are true for an item (common/rs_reason.h: only
 * what the item's sources and the customer's history back) it gets. */
#ifndef RANK_REASONS_H
#define RANK_REASONS_H

#include <stddef.h>
#include <stdint.h>

#include "candidate.pb-c.h"
#include "featurize.h"
#include "rs_reason.h"

/* rank_title_fn: the title of item id for a reason ("" or NULL when unknown). */
typedef const char *(*rank_title_fn)(void *ctx, int64_t id);

/* rank_reason: write the reason for candidate c (category: its category path, as ranked) into
 * buf. contrib: RANK_NF floats in the linear features' layout (featurize.h; the learned
 * ranker's contributions mapped onto it by rank_ranker_reason_group); the positive groups
 *   bought together (src_bought_together)          -> "often bought together with <title>"
 *   co-visitation (src_covisit + recency)           -> "because you <verb> <title>"
 *   category (src_category + category_affinity)     -> "popular in <category leaf>"
 *   popularity (src_popular + first_stage)          -> "trending now"
 * are preferred, largest first, among the reasons rs_reason_write finds true; hint is the
 * history item the learned ranker found closest to the item (0: none), named when one of the
 * item's sources gives it. An unknown title is "item <id>". */
void rank_reason(const rs_reason_hist *h, const Rs__Candidate *c, const char *category,
                 const float *contrib, int64_t hint, rank_title_fn title, void *ctx, char *buf,
                 size_t n);

#endif
