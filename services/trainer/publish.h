/* publish: turn a fitted model folder into an immutable model version folder for the
 * online services:
 *   VERSION/manifest.json   the model's manifest plus "published" (time, source folder,
 *                           metrics from --metrics if given) and "lmdb_layout": 1
 *   VERSION/data.mdb        LMDB (read-only memory-mapped by candidate/feature), named dbs:
 *     items        u32 code (MDB_INTEGERKEY) -> item id bytes
 *     item_codes   item id bytes -> u32 code
 *     item_factors u32 code -> float32[factors]    (als, or two-stage's als source)
 *     neighbours   u32 code -> {u32 code, float32 sim}[<= 100], best first
 *                                                  (itemknn, or two-stage's itemknn source)
 *     popular      "all" -> u32 codes of the 1,000 most popular items, best first
 *     meta         "factors" -> u32, "model" -> name, "items" -> u32
 *   two-stage models whose folder has the ranker's serving data (twostage.c, since feature
 *   layout 1; older folders publish without it and rs-ranking keeps its linear scorer):
 *     item_features u32 code -> float32[RS_RANKFEAT_ITEM] (common/rs_rankfeat.h order)
 *     transitions   u32 code -> {u32 code, float32 share}[], codes ascending: share of the
 *                   item's "next item" transitions in the training data going to that code
 *     knn_rows      u32 code -> {u32 code, float32 sim}[], codes ascending: the itemknn
 *                   source's full rows (the ranker's seq_sim features); absent rows = none
 *     source_scores "pop" -> float32[items]: the pop source's scores (by code)
 *     meta          "rankfeat_layout" -> u32, "cand_n" -> u32, "tmax", "span", "mean_n" ->
 *                   float64 (the row's normalisers)
 *   VERSION/ranker.json     two-stage only (XGBoost model); manifest "published"."ranker" =
 *                           {layout, sources, features (names in row order), cand_n,
 *                           knn_source, tmax, span, mean_n}
 * Values are native-endian and not aligned: copy them out (memcpy) before use.
 * An existing VERSION folder is never overwritten (RS_EEXIST). */
#ifndef TR_PUBLISH_H
#define TR_PUBLISH_H

#include "util.h"

int tr_publish(const char *model_dir, const char *version_dir, const char *metrics_json,
               tr_error *err);

#endif
