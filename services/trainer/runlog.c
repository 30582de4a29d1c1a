/* runlog: see runlog.h. */
#include "runlog.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "rs_err.h"
#include "rs_hash.h"

static long long
runlog_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void
runlog_exp_id(const char *experiment, char out[16])
{
	snprintf(out, 16, "%" PRIu64,
	         rs_fnv1a64(RS_FNV1A64_INIT, experiment, strlen(experiment)) % 1000000000u);
}

static int
runlog_write(const char *dir, const char *name, const char *mode, const char *text, tr_error *err)
{
	char path[4096];
	FILE *f;

	tr_path_join(path, sizeof(path), dir, name);
	if ((f = fopen(path, mode)) == NULL)
		return tr_error_set(err, RS_EIO, "%s: cannot write: %s", path, strerror(errno));
	fputs(text, f);
	if (fclose(f) != 0)
		return tr_error_set(err, RS_EIO, "%s: write failed", path);
	return 0;
}

static int
runlog_dirs(const char *store, const char *experiment, const char *run_id, char *run_dir, size_t n,
            tr_error *err)
{
	char exp_dir[4096], meta[1024], abs_store[4096], eid[16];
	struct stat st;
	int rv;

	runlog_exp_id(experiment, eid);
	if ((rv = tr_mkdir_p(store, err)) != 0)
		return rv;
	if (realpath(store, abs_store) == NULL)
		snprintf(abs_store, sizeof(abs_store), "%s", store);
	snprintf(exp_dir, sizeof(exp_dir), "%s/%s", store, eid);
	tr_path_join(meta, sizeof(meta), exp_dir, "meta.yaml");
	if (stat(meta, &st) != 0) {
		char text[4096 + 512];
		long long now = runlog_ms();
		if ((rv = tr_mkdir_p(exp_dir, err)) != 0)
			return rv;
		snprintf(text, sizeof(text),
		         "artifact_location: file://%s/%s\ncreation_time: %lld\nexperiment_id: "
		         "'%s'\n"
		         "last_update_time: %lld\nlifecycle_stage: active\nname: %s\n",
		         abs_store, eid, now, eid, now, experiment);
		if ((rv = runlog_write(exp_dir, "meta.yaml", "w", text, err)) != 0)
			return rv;
	}
	snprintf(run_dir, n, "%s/%s", exp_dir, run_id);
	return 0;
}

int
tr_runlog_fit(const char *store, const char *experiment, const tr_model *m, const char *train_path,
              const char *model_dir, char run_id[33], tr_error *err)
{
	long long end = runlog_ms();
	uint64_t h = rs_fnv1a64(RS_FNV1A64_INIT, &end, sizeof(end));
	pid_t pid = getpid();
	uint64_t h2;

	h = rs_fnv1a64(h, &m->fingerprint, sizeof(m->fingerprint));
	h2 = rs_fnv1a64(h ^ 0x5bd1e995u, &pid, sizeof(pid));
	snprintf(run_id, 33, "%016" PRIx64 "%016" PRIx64, h, h2);
	return tr_runlog_fit_as(store, experiment, m, train_path, model_dir, run_id, 0, err);
}

int
tr_runlog_fit_as(const char *store, const char *experiment, const tr_model *m,
                 const char *train_path, const char *model_dir, const char *run_id,
                 double run_seconds, tr_error *err)
{
	char run_dir[4200], sub[4300], text[8192], abs_store[4096], eid[16], v[64];
	long long end = runlog_ms(),
	          start = end -
	                  (long long) ((run_seconds > 0 ? run_seconds : m->fit_seconds) * 1000);
	const tr_params *p = &m->params;
	int rv;
	struct {
		const char *name;
		double v;
	} nums[] = {{"half_life", p->half_life}, {"k", p->knn_k},
	            {"shrink", p->shrink},       {"seq_weight", p->seq_weight},
	            {"factors", p->factors},     {"iterations", p->iterations},
	            {"cg_steps", p->cg_steps},   {"reg", p->reg},
	            {"alpha", p->alpha},         {"lambda", p->lambda},
	            {"candidates", p->cand_n},   {"trees", p->trees},
	            {"depth", p->depth},         {"eta", p->eta}};

	if ((rv = runlog_dirs(store, experiment, run_id, run_dir, sizeof(run_dir), err)) != 0)
		return rv;
	runlog_exp_id(experiment, eid);
	if (realpath(store, abs_store) == NULL)
		snprintf(abs_store, sizeof(abs_store), "%s", store);
	snprintf(sub, sizeof(sub), "%s/params", run_dir);
	if ((rv = tr_mkdir_p(sub, err)) != 0)
		return rv;
	for (size_t a = 0; a < sizeof(nums) / sizeof(nums[0]); a++) {
		snprintf(v, sizeof(v), "%g", nums[a].v);
		if ((rv = runlog_write(sub, nums[a].name, "w", v, err)) != 0)
			return rv;
	}
	if ((rv = runlog_write(sub, "model", "w", tr_kind_name(m->kind), err)) != 0 ||
	    (m->kind == TR_TWOSTAGE &&
	     (rv = runlog_write(sub, "sources", "w", p->sources, err)) != 0) ||
	    (m->kind == TR_TWOSTAGE &&
	     (rv = runlog_write(sub, "objective", "w", p->objective, err)) != 0))
		return rv;
	snprintf(sub, sizeof(sub), "%s/tags", run_dir);
	if ((rv = tr_mkdir_p(sub, err)) != 0)
		return rv;
	snprintf(v, sizeof(v), "%016" PRIx64, m->fingerprint);
	if ((rv = runlog_write(sub, "data.fingerprint", "w", v, err)) != 0 ||
	    (rv = runlog_write(sub, "data.train", "w", train_path, err)) != 0 ||
	    (rv = runlog_write(sub, "model.folder", "w", model_dir, err)) != 0 ||
	    (rv = runlog_write(sub, "mlflow.runName", "w", tr_kind_name(m->kind), err)) != 0 ||
	    (rv = runlog_write(sub, "mlflow.user", "w", "rs-train", err)) != 0 ||
	    (getenv("RS_GIT_REV") != NULL &&
	     (rv = runlog_write(sub, "mlflow.source.git.commit", "w", getenv("RS_GIT_REV"), err)) !=
	             0))
		return rv;
	snprintf(sub, sizeof(sub), "%s/metrics", run_dir);
	if ((rv = tr_mkdir_p(sub, err)) != 0)
		return rv;
	snprintf(text, sizeof(text), "%lld %.6f 0\n", end, m->fit_seconds);
	if ((rv = runlog_write(sub, "fit_seconds", "a", text, err)) != 0)
		return rv;
	snprintf(text, sizeof(text), "%lld %d 0\n", end, m->n_users);
	if ((rv = runlog_write(sub, "data.users", "a", text, err)) != 0)
		return rv;
	snprintf(text, sizeof(text), "%lld %d 0\n", end, m->n_items);
	if ((rv = runlog_write(sub, "data.items", "a", text, err)) != 0)
		return rv;
	snprintf(sub, sizeof(sub), "%s/artifacts", run_dir);
	if ((rv = tr_mkdir_p(sub, err)) != 0)
		return rv;
	snprintf(text, sizeof(text),
	         "artifact_uri: file://%s/%s/%s/artifacts\nend_time: %lld\nentry_point_name: ''\n"
	         "experiment_id: '%s'\nlifecycle_stage: active\nrun_id: %s\nrun_name: %s\n"
	         "run_uuid: %s\nsource_name: ''\nsource_type: 4\nsource_version: ''\n"
	         "start_time: %lld\nstatus: 3\ntags: []\nuser_id: rs-train\n",
	         abs_store, eid, run_id, end, eid, run_id, tr_kind_name(m->kind), run_id, start);
	return runlog_write(run_dir, "meta.yaml", "w", text, err);
}

int
tr_runlog_metric(const char *store, const char *experiment, const char *run_id, const char *name,
                 double value, tr_error *err)
{
	char run_dir[4200], sub[4300], text[128];
	struct stat st;
	int rv;

	if ((rv = runlog_dirs(store, experiment, run_id, run_dir, sizeof(run_dir), err)) != 0)
		return rv;
	if (stat(run_dir, &st) != 0)
		return tr_error_set(err, RS_ENOTFOUND, "%s: no such run", run_dir);
	snprintf(sub, sizeof(sub), "%s/metrics", run_dir);
	if ((rv = tr_mkdir_p(sub, err)) != 0)
		return rv;
	snprintf(text, sizeof(text), "%lld %.10g 0\n", runlog_ms(), value);
	return runlog_write(sub, name, "a", text, err);
}

int
tr_runlog_tag(const char *store, const char *experiment, const char *run_id, const char *name,
              const char *value, tr_error *err)
{
	char run_dir[4200], sub[4300];
	int rv;

	if ((rv = runlog_dirs(store, experiment, run_id, run_dir, sizeof(run_dir), err)) != 0)
		return rv;
	snprintf(sub, sizeof(sub), "%s/tags", run_dir);
	if ((rv = tr_mkdir_p(sub, err)) != 0)
		return rv;
	return runlog_write(sub, name, "w", value, err);
}
