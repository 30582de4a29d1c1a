/* publish: turn a fitted model folder into an immutable model version folder for the
 * online services, in the layout common/rs_model_layout.h names (its manifest, data.mdb with
 * its named dbs and keys, ranker.json for two-stage models; the ranker's serving data only for
 * folders that have it, since feature layout 1). An existing VERSION folder is never
 * overwritten (RS_EEXIST). */
#ifndef TR_PUBLISH_H
#define TR_PUBLISH_H

#include "util.h"

int tr_publish(const char *model_dir, const char *version_dir, const char *metrics_json,
               tr_error *err);

#endif
