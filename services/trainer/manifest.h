/* manifest: the JSON file that describes a model folder (jansson). */
#ifndef TR_MANIFEST_H
#define TR_MANIFEST_H

#include "params.h"

/* tr_manifest_write: dir/manifest.json from m (params, data fingerprint, sizes). */
int tr_manifest_write(const tr_model *m, const char *dir, tr_error *err);

/* tr_manifest_read: fill kind, params, sizes and fingerprint of m from dir/manifest.json.
 * Another format or format_version is RS_EVERSION; missing fields RS_ECORRUPT. */
int tr_manifest_read(const char *dir, tr_model *m, int *ease_dual, tr_error *err);

#endif
