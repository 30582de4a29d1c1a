/* rs_model_layout: the layout of a published model version, named once. rs-train publish
 * (services/trainer/publish.c) writes it; rs_model (rs_model.c) reads it for every serving
 * process, rs-ranking's learned ranker included (through rs_model, one LMDB environment per
 * version and process); the test fixtures (tests/support/model_fixture.h) build it.
 *
 *   VERSION/manifest.json   the model's manifest plus "published": {"at", "from", "metrics" (from
 *                           --metrics), "lmdb_layout": RS_MODEL_LAYOUT, "item_factors",
 *                           "neighbours" (bools), two-stage: "ranker" (below)}; "format":
 *                           RS_MODEL_FORMAT. Written after the LMDB commit, so a folder with a
 *                           manifest is complete. A reader refuses another format or layout.
 *   VERSION/data.mdb        LMDB, read-only memory-mapped by the services; named dbs:
 *     items          u32 code (MDB_INTEGERKEY) -> item id bytes
 *     item_codes     item id bytes -> u32 code
 *     item_factors   u32 code -> float32[factors]   (als, or two-stage's als source)
 *     neighbours     u32 code -> {u32 code, float32 sim}[<= 100], best first
 *                                                    (itemknn, or two-stage's itemknn source)
 *     popular        "all" -> u32 codes of the 1,000 most popular items, best first
 *     meta           "factors" -> u32, "model" -> name, "items" -> u32
 *   two-stage models with the ranker's serving data (since feature layout 1; older versions have
 *   none and rs-ranking serves them with its linear scorer):
 *     item_features  u32 code -> float32[RS_RANKFEAT_ITEM] (common/rs_rankfeat.h order)
 *     transitions    u32 code -> {u32 code, float32 share}[], codes ascending: share of the
 *                    item's "next item" transitions in the training data going to that code
 *     knn_rows       u32 code -> {u32 code, float32 sim}[], codes ascending: the itemknn
 *                    source's full rows (the ranker's seq_sim features); absent rows = none
 *     source_scores  "pop" -> float32[items]: the pop source's scores (by code)
 *     meta           "rankfeat_layout" -> u32, "cand_n" -> u32, "tmax", "span", "mean_n" ->
 *                    float64 (the row's normalisers)
 *   VERSION/ranker.json     two-stage only (XGBoost model); manifest "published"."ranker" =
 *                           {layout, sources, features (names in row order), cand_n,
 *                           knn_source, tmax, span, mean_n, weighted}
 * Values are native-endian and not aligned: copy them out (memcpy) before use. A published
 * version is immutable (publish refuses an existing folder). */
#ifndef RS_MODEL_LAYOUT_H
#define RS_MODEL_LAYOUT_H

#define RS_MODEL_FORMAT  "rs-train-model" /* manifest "format" */
#define RS_MODEL_LAYOUT  1                /* manifest "published"."lmdb_layout" */
#define RS_MODEL_MAX_DBS 16               /* mdb_env_set_maxdbs for data.mdb */

#define RS_MODEL_MANIFEST "manifest.json"
#define RS_MODEL_RANKER   "ranker.json"

/* data.mdb: the named databases */
#define RS_MDB_ITEMS         "items"
#define RS_MDB_ITEM_CODES    "item_codes"
#define RS_MDB_ITEM_FACTORS  "item_factors"
#define RS_MDB_NEIGHBOURS    "neighbours"
#define RS_MDB_POPULAR       "popular"
#define RS_MDB_META          "meta"
#define RS_MDB_ITEM_FEATURES "item_features"
#define RS_MDB_TRANSITIONS   "transitions"
#define RS_MDB_KNN_ROWS      "knn_rows"
#define RS_MDB_SOURCE_SCORES "source_scores"

/* keys */
#define RS_MDB_POPULAR_ALL   "all"             /* popular */
#define RS_MDB_META_ITEMS    "items"           /* meta: u32 */
#define RS_MDB_META_FACTORS  "factors"         /* meta: u32 */
#define RS_MDB_META_MODEL    "model"           /* meta: the model kind's name */
#define RS_MDB_META_RANKFEAT "rankfeat_layout" /* meta: u32 */
#define RS_MDB_META_CAND_N   "cand_n"          /* meta: u32 */
#define RS_MDB_META_TMAX     "tmax"            /* meta: float64 */
#define RS_MDB_META_SPAN     "span"            /* meta: float64 */
#define RS_MDB_META_MEAN_N   "mean_n"          /* meta: float64 */
#define RS_MDB_SOURCE_POP    "pop"             /* source_scores */

#endif
