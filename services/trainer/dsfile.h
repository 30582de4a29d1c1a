/* dsfile: a tr_dataset as a folder, written and read back exactly (the pipeline's run folder
 * keeps its snapshot and its split this way, see pipeline.h).
 *
 * The folder holds dataset.json (format "rs-train-dataset", format_version, sizes, flags,
 * fingerprint, and a caller's tag such as the run id) and the dataset's arrays as raw
 * little-endian files (u_ptr.i64 u_items.i32 u_ts.f64 i_ptr.i64 i_users.i32; weighted data:
 * u_w.f32 i_w.f32; negatives: neg_ptr.i64 neg_items.i32 neg_w.f32 neg_ts.f64) and, for a
 * dataset that owns its id tables, users.ids and items.ids (the ids in code order, each
 * followed by a NUL byte). A dataset that borrows its ids (tr_dataset_subset) is written
 * without them and read back borrowing them from the same parent. Sizes are checked on
 * load; the fingerprint is recomputed by nobody: the arrays are the dataset. */
#ifndef TR_DSFILE_H
#define TR_DSFILE_H

#include "dataset.h"

#define TR_DATASET_FORMAT         "rs-train-dataset"
#define TR_DATASET_FORMAT_VERSION 1

/* tr_dsfile_write: create dir (and parents) and write ds into it; tag (may be "") is stored
 * as dataset.json's "tag". */
int tr_dsfile_write(const tr_dataset *ds, const char *dir, const char *tag, tr_error *err);

/* tr_dsfile_read: read a folder written by tr_dsfile_write into *ds (zeroed first). A folder
 * without ids needs parent (its ids are borrowed, parent must outlive ds and have the same
 * sizes); a folder with ids ignores parent. A tag other than tag (when tag is not NULL) is
 * RS_EINVAL naming both; a missing or short file RS_EIO/RS_ECORRUPT naming it. */
int tr_dsfile_read(const char *dir, const tr_dataset *parent, const char *tag, tr_dataset *ds,
                   tr_error *err);

#endif
