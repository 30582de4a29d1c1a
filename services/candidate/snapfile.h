/* cand_snapfile: a built snapshot (snapshot.h) persisted to one file, so a restarted
 * rs-candidate answers at once instead of after a whole rebuild from PostgreSQL.
 *
 * The file: a fixed header (magic "RSCSNAP", CAND_SNAPFILE_FORMAT, byte order, the build
 * settings, the events fingerprint the snapshot covers, the active model version when it was
 * written, the catalog's row count and hash sum, every array's length, FNV-1a 64 of the payload
 * and of the header itself), then the arrays. Written to "<path>.tmp", fsync'ed, renamed over
 * path and the folder fsync'ed: a reader sees the old file or the new one, never a mix.
 *
 * The reader refuses, with a message naming why, anything it cannot prove whole: a short or
 * long file, another magic, format or byte order, a checksum that differs, another build
 * setting, an index out of range or ids out of order. It never returns part of a snapshot. */
#ifndef CAND_SNAPFILE_H
#define CAND_SNAPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"

#define CAND_SNAPFILE_FORMAT 1u
#define CAND_SNAPFILE_NAME   "candidate.snap"

/* What a snapshot was built with; a file written with other values is stale (RS_EVERSION). */
typedef struct cand_snapfile_key {
	uint32_t covisit_n;
	uint32_t category_top;
	uint32_t window_days;
	uint32_t max_events;
	double half_life_h;
} cand_snapfile_key;

/* cand_snapfile_write: write s to path atomically (see above). model_version is the active
 * model version's name ("" = none). Returns 0, RS_EIO (err says which step), RS_EINVAL. */
int cand_snapfile_write(const char *path, const cand_snap *s, const cand_snapfile_key *key,
                        const char *model_version, char *err, size_t errn);

/* cand_snapfile_read: load the snapshot of path if it was written with the settings of key.
 * Returns 0, *out (one reference) and the model version it was written with in model_version
 * (mvn bytes); RS_ENOTFOUND (no file), RS_EVERSION (another format, byte order or settings),
 * RS_ECORRUPT (truncated, checksum, inconsistent content), RS_EIO, RS_ENOMEM; err says why. */
int cand_snapfile_read(const char *path, const cand_snapfile_key *key, cand_snap **out,
                       char *model_version, size_t mvn, char *err, size_t errn);

#endif
