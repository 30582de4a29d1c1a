/* Human-readable reasons, chosen from the scorer's per-feature contributions: the group of
 * features that added most to an item's score names the reason. */
#ifndef RANK_REASONS_H
#define RANK_REASONS_H

#include <stddef.h>

#include "featurize.h"

/* rank_title_fn: the title of item id for a reason ("" or NULL when unknown). */
typedef const char *(*rank_title_fn)(void *ctx, int64_t id);

/* rank_reason: write the reason for candidate c (its contributions: RANK_NF floats) into buf:
 *   "often bought together with <title>", "because you viewed|bought <title>",
 *   "because you added <title> to your cart", "popular in <category leaf>", "trending now",
 *   or "recommended for you" when nothing stands out. */
void rank_reason(const rank_user *u, const rank_cand *c, const float *contrib, rank_title_fn title,
                 void *ctx, char *buf, size_t n);

#endif
