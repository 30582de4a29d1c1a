/* runfolder: the run folder of `rs-train pipeline` (pipeline.h): the stages' artifacts and
 * run.json, the run manifest that ties them to one run.
 *
 * run.json (format "rs-train-run") holds the run id, the wall-clock start, the options the
 * run was started with, and one record per finished stage: the md5 of every file the stage
 * wrote (paths relative to the folder) and the stage's own facts (durations, sizes, the
 * version it published). A stage checks the records of the stages it reads before it reads
 * anything (tr_runfolder_check: recorded, every file present and unchanged) and records
 * itself when it is done; recording a stage forgets the records of the stages after it, so a
 * stage run again invalidates what was computed from its old output. run.json is replaced
 * atomically (write + rename). */
#ifndef TR_RUNFOLDER_H
#define TR_RUNFOLDER_H

#include <jansson.h>

#include "util.h"

#define TR_RUN_FORMAT         "rs-train-run"
#define TR_RUN_FORMAT_VERSION 1

typedef struct tr_runfolder {
	char dir[4096];
	json_t *root; /* run.json */
} tr_runfolder;

/* tr_runfolder_create: start a new run in dir (created if needed): the files of an earlier
 * run's stages (stages[0..nstages) folders/files named in outputs) are removed and run.json
 * is written with run_id, the start time and options (a reference is taken). */
int tr_runfolder_create(tr_runfolder *rf, const char *dir, const char *run_id, json_t *options,
                        const char *const *outputs, size_t noutputs, tr_error *err);

/* tr_runfolder_open: read dir/run.json; a missing one says which stage starts a run. */
int tr_runfolder_open(tr_runfolder *rf, const char *dir, tr_error *err);

/* tr_runfolder_close: frees rf (a zeroed or closed rf is fine). */
void tr_runfolder_close(tr_runfolder *rf);

const char *tr_runfolder_run_id(const tr_runfolder *rf);
double tr_runfolder_started(const tr_runfolder *rf);
json_t *tr_runfolder_options(const tr_runfolder *rf); /* borrowed */

/* tr_runfolder_check: RS_EINVAL unless stage is recorded and each of its files has the md5
 * it was recorded with (the message names the file and the stage to run). */
int tr_runfolder_check(const tr_runfolder *rf, const char *stage, tr_error *err);

/* tr_runfolder_info: the facts stage recorded (borrowed), or NULL. */
json_t *tr_runfolder_info(const tr_runfolder *rf, const char *stage);

/* tr_runfolder_record: record stage with the md5 of every regular file under each of paths
 * (files or folders, relative to the folder) and info (a reference is stolen); the records
 * of later stages (the names after stage in order[0..n)) are dropped. Saves run.json. */
int tr_runfolder_record(tr_runfolder *rf, const char *stage, const char *const *paths,
                        size_t npaths, json_t *info, const char *const *order, size_t n,
                        tr_error *err);

/* tr_runfolder_path: dir/rel into buf. */
char *tr_runfolder_path(const tr_runfolder *rf, const char *rel, char *buf, size_t n);

/* tr_rm_rf: remove a file or folder tree (best effort; a missing path is fine) */
void tr_rm_rf(const char *path);

/* tr_wall_now: seconds since the epoch (run.json's clock: stages run in different processes) */
double tr_wall_now(void);

#endif
