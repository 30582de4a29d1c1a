/* runfolder: see runfolder.h. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "runfolder.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "md5.h"
#include "rs_err.h"

double
tr_wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static int
runfolder_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	return remove(path);
}

void
tr_rm_rf(const char *path)
{
	struct stat st;

	if (path[0] != '\0' && lstat(path, &st) == 0)
		nftw(path, runfolder_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *
tr_runfolder_path(const tr_runfolder *rf, const char *rel, char *buf, size_t n)
{
	return tr_path_join(buf, n, rf->dir, rel);
}

/* runfolder_md5_file: the md5 of a whole file */
static int
runfolder_md5_file(const char *path, char out[33], tr_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rv;

	if ((rv = tr_read_file(path, &buf, &len, err)) != 0)
		return rv;
	tr_md5_hex(buf, len, out);
	free(buf);
	return 0;
}

/* runfolder_hash: the md5 of every regular file under dir/rel into files[rel/...] */
static int
runfolder_hash(const char *dir, const char *rel, json_t *files, tr_error *err)
{
	char path[4096], sub[4096], md5[33];
	struct stat st;
	DIR *d;
	struct dirent *e;
	int rv = 0;

	tr_path_join(path, sizeof(path), dir, rel);
	if (stat(path, &st) != 0)
		return tr_error_set(err, RS_EIO, "%s: %s", path, strerror(errno));
	if (S_ISREG(st.st_mode)) {
		if ((rv = runfolder_md5_file(path, md5, err)) == 0)
			json_object_set_new(files, rel, json_string(md5));
		return rv;
	}
	if (!S_ISDIR(st.st_mode) || (d = opendir(path)) == NULL)
		return tr_error_set(err, RS_EIO, "%s: not a file or a readable folder", path);
	while (rv == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", rel, e->d_name);
		rv = runfolder_hash(dir, sub, files, err);
	}
	closedir(d);
	return rv;
}

/* runfolder_save: run.json through a temporary file and rename */
static int
runfolder_save(const tr_runfolder *rf, tr_error *err)
{
	char path[4200], tmp[4200];

	tr_path_join(path, sizeof(path), rf->dir, "run.json");
	tr_path_join(tmp, sizeof(tmp), rf->dir, "run.json.tmp");
	if (json_dump_file(rf->root, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) != 0)
		return tr_error_set(err, RS_EIO, "%s: cannot write", tmp);
	if (rename(tmp, path) != 0)
		return tr_error_set(err, RS_EIO, "%s -> %s: %s", tmp, path, strerror(errno));
	return 0;
}

int
tr_runfolder_create(tr_runfolder *rf, const char *dir, const char *run_id, json_t *options,
                    const char *const *outputs, size_t noutputs, tr_error *err)
{
	char path[4200];
	int rv;

	memset(rf, 0, sizeof(*rf));
	if (strlen(dir) >= sizeof(rf->dir) - 200)
		return tr_error_set(err, RS_EINVAL, "--run-dir: path too long");
	snprintf(rf->dir, sizeof(rf->dir), "%s", dir);
	if ((rv = tr_mkdir_p(dir, err)) != 0)
		return rv;
	tr_rm_rf(tr_path_join(path, sizeof(path), dir, "run.json"));
	for (size_t a = 0; a < noutputs; a++)
		tr_rm_rf(tr_path_join(path, sizeof(path), dir, outputs[a]));
	rf->root = json_pack("{s:s, s:i, s:s, s:f, s:O, s:{}}", "format", TR_RUN_FORMAT,
	                     "format_version", TR_RUN_FORMAT_VERSION, "run_id", run_id, "started",
	                     tr_wall_now(), "options", options, "stages");
	if (rf->root == NULL)
		return tr_error_set(err, RS_EINTERNAL, "run.json: cannot build");
	return runfolder_save(rf, err);
}

int
tr_runfolder_open(tr_runfolder *rf, const char *dir, tr_error *err)
{
	char path[4200];
	json_error_t jerr;
	const char *format = "", *run_id = "";
	int version = -1;
	double started = 0;
	json_t *options = NULL, *stages = NULL;

	memset(rf, 0, sizeof(*rf));
	if (strlen(dir) >= sizeof(rf->dir) - 200)
		return tr_error_set(err, RS_EINVAL, "--run-dir: path too long");
	snprintf(rf->dir, sizeof(rf->dir), "%s", dir);
	tr_path_join(path, sizeof(path), dir, "run.json");
	if ((rf->root = json_load_file(path, 0, &jerr)) == NULL)
		return tr_error_set(err, RS_EINVAL,
		                    "%s: no run here (%s); the snapshot stage starts a run", path,
		                    jerr.text);
	if (json_unpack_ex(rf->root, &jerr, 0, "{s:s, s:i, s:s, s:F, s:o, s:o}", "format", &format,
	                   "format_version", &version, "run_id", &run_id, "started", &started,
	                   "options", &options, "stages", &stages) != 0 ||
	    strcmp(format, TR_RUN_FORMAT) != 0 || version != TR_RUN_FORMAT_VERSION ||
	    !json_is_object(stages)) {
		tr_runfolder_close(rf);
		return tr_error_set(err, RS_ECORRUPT,
		                    "%s: not an rs-train run manifest of version %d", path,
		                    TR_RUN_FORMAT_VERSION);
	}
	return 0;
}

void
tr_runfolder_close(tr_runfolder *rf)
{
	json_decref(rf->root);
	rf->root = NULL;
}

const char *
tr_runfolder_run_id(const tr_runfolder *rf)
{
	return json_string_value(json_object_get(rf->root, "run_id"));
}

double
tr_runfolder_started(const tr_runfolder *rf)
{
	return json_number_value(json_object_get(rf->root, "started"));
}

json_t *
tr_runfolder_options(const tr_runfolder *rf)
{
	return json_object_get(rf->root, "options");
}

json_t *
tr_runfolder_info(const tr_runfolder *rf, const char *stage)
{
	return json_object_get(json_object_get(json_object_get(rf->root, "stages"), stage), "info");
}

int
tr_runfolder_check(const tr_runfolder *rf, const char *stage, tr_error *err)
{
	json_t *rec = json_object_get(json_object_get(rf->root, "stages"), stage);
	json_t *files = json_object_get(rec, "files"), *want;
	const char *rel;
	char path[4200], md5[33];
	struct stat st;

	if (rec == NULL || !json_is_object(files))
		return tr_error_set(
		        err, RS_EINVAL,
		        "run %s in %s: the %s stage has not run (or ran before a stage it "
		        "depends on was run again); run it first",
		        tr_runfolder_run_id(rf), rf->dir, stage);
	json_object_foreach(files, rel, want)
	{
		tr_path_join(path, sizeof(path), rf->dir, rel);
		if (stat(path, &st) != 0)
			return tr_error_set(err, RS_EINVAL,
			                    "run %s: %s is missing; run the %s stage again",
			                    tr_runfolder_run_id(rf), path, stage);
		if (runfolder_md5_file(path, md5, err) != 0)
			return RS_EIO;
		if (strcmp(md5, json_string_value(want)) != 0)
			return tr_error_set(
			        err, RS_EINVAL,
			        "run %s: %s is not the file the %s stage wrote (md5 %s, "
			        "recorded %s); run the %s stage again",
			        tr_runfolder_run_id(rf), path, stage, md5, json_string_value(want),
			        stage);
	}
	return 0;
}

int
tr_runfolder_record(tr_runfolder *rf, const char *stage, const char *const *paths, size_t npaths,
                    json_t *info, const char *const *order, size_t n, tr_error *err)
{
	json_t *stages = json_object_get(rf->root, "stages"), *files = json_object();
	size_t at = n;
	int rv = 0;

	for (size_t a = 0; rv == 0 && a < npaths; a++)
		rv = runfolder_hash(rf->dir, paths[a], files, err);
	if (rv != 0) {
		json_decref(files);
		json_decref(info);
		return rv;
	}
	for (size_t a = 0; a < n; a++)
		if (strcmp(order[a], stage) == 0)
			at = a;
	for (size_t a = at + 1; a < n; a++)
		json_object_del(stages, order[a]);
	json_object_set_new(stages, stage,
	                    json_pack("{s:o, s:o, s:f}", "files", files, "info",
	                              info != NULL ? info : json_object(), "finished",
	                              tr_wall_now()));
	return runfolder_save(rf, err);
}
