/* labels: every feature rs-ranking can show under explain, in words, from one table
 * (labels.c): the linear scorer's features (featurize.h) and the learned ranker's columns
 * (common/rs_rankfeat.h: per-source `<source>_norm|_ratio|_rank` for the sources rs-train
 * can publish, then the item, user and sequence columns). The inspector shows the label; the
 * name stays the stable key. */
#ifndef RANK_LABELS_H
#define RANK_LABELS_H

#include <stddef.h>

/* rank_feature_label: the label of feature `name` ("co-visited with your recent items"), or
 * NULL when the table has none. A per-source column's label is composed into buf (n bytes)
 * and buf is returned; other labels are static. */
const char *rank_feature_label(const char *name, char *buf, size_t n);

/* The first-stage sources whose per-source ranker columns have labels (rs-train's model kinds
 * that can feed a two-stage ranker). NULL-terminated. */
extern const char *const rank_label_sources[];

#endif
