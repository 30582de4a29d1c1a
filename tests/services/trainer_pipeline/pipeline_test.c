/* rs-train pipeline against PostgreSQL (RS_TEST_PG_DSN): a small generated shop is snapshotted,
 * models are fitted and evaluated, the best is published as a version folder, registered in
 * model_versions and activated; runs land in training_runs. A second run activates a new version
 * and keeps the old folder; a failing run changes nothing. The five stages run one by one through
 * a run folder publish what the one-shot run publishes (LMDB byte for byte, the manifest but its
 * clock fields, the registry's metrics and parameters), and refuse inputs that are missing,
 * changed, of another run or made with other options. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataio.h"
#include "pg_fixture.h"
#include "pipeline.h"
#include "rs_err.h"

static fx_pg fx;
static char models_dir[64];

static void
setup(void)
{
	fx_pg_setup(&fx, "trainer_pipeline");
	snprintf(models_dir, sizeof(models_dir), "/tmp/rs-pipeline-XXXXXX");
	cr_assert_not_null(mkdtemp(models_dir));
}

static void
teardown(void)
{
	char cmd[128];

	fx_pg_teardown(&fx);
	if (models_dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", models_dir);
		cr_assert_eq(system(cmd), 0);
	}
}

TestSuite(pipeline, .init = setup, .fini = teardown, .timeout = 60);

/* a one-value query */
static char *
q1(const char *sql)
{
	PGresult *r = PQexec(fx.conn, sql);
	char *v;

	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	cr_assert_eq(PQntuples(r), 1, "%s: %d rows", sql, PQntuples(r));
	v = strdup(PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

static void
generate_shop(void)
{
	char *argv[] = {"generate", "--dsn",  fx.dsn, "--users", "80", "--items",
	                "300",      "--days", "21",   "--seed",  "7",  NULL};
	cr_assert_eq(trn_cmd_generate(11, argv), 0);
}

static void
quick_opts(tr_pipeline_opts *o)
{
	tr_pipeline_opts_defaults(o);
	o->dsn = fx.dsn;
	o->models_dir = models_dir;
	o->models = "pop,itemknn,als";
	o->tune = 0;
	o->base.factors = 8;
	o->base.iterations = 4;
	o->base.nthreads = 2;
	o->out = NULL;
}

static int
is_dir(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
has_file(const char *dir, const char *version, const char *file)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, version, file);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

Test(pipeline, publishes_activates_and_records_then_a_second_run_switches)
{
	tr_pipeline_opts o;
	tr_pipeline_result r1, r2;
	tr_error err;
	char sql[512], *v;

	generate_shop();
	quick_opts(&o);
	cr_assert_eq(tr_pipeline_run(&o, &r1, &err), 0, "%s", err.msg);
	cr_assert(r1.ndcg > r1.ndcg_pop, "best %s %g vs pop %g", r1.model, r1.ndcg, r1.ndcg_pop);
	cr_assert_str_eq(r1.previous, "");
	cr_assert(is_dir(models_dir, r1.version));
	cr_assert(has_file(models_dir, r1.version, "manifest.json"));
	cr_assert(has_file(models_dir, r1.version, "data.mdb"));
	/* exactly one active version, pointing at the folder (relative to RS_MODEL_DIR) */
	v = q1("select count(*) from model_versions where active");
	cr_assert_str_eq(v, "1");
	free(v);
	v = q1("select version || ' ' || path from model_versions where active");
	snprintf(sql, sizeof(sql), "%s %s", r1.version, r1.version);
	cr_assert_str_eq(v, sql);
	free(v);
	v = q1("select (metrics ? 'NDCG@20')::text || (params ? 'model')::text || "
	       "length(data_fingerprint) from model_versions where active");
	cr_assert_str_eq(v, "truetrue16");
	free(v);
	snprintf(
	        sql, sizeof(sql),
	        "select status || ' ' || command || ' ' || model_version || ' ' || "
	        "(finished_at >= started_at)::text || ' ' || (durations ? 'total')::text || ' ' || "
	        "(metrics ? 'pop')::text || ' ' || (git_revision is not null)::text "
	        "from training_runs where run_id = '%s'",
	        r1.run_id);
	v = q1(sql);
	snprintf(sql, sizeof(sql), "finished pipeline %s true true true true", r1.version);
	cr_assert_str_eq(v, sql);
	free(v);
	/* the MLflow-compatible folder of the same run */
	cr_assert(is_dir(models_dir, "mlruns"));

	/* a second run: a new version becomes the active one, the old folder stays */
	cr_assert_eq(tr_pipeline_run(&o, &r2, &err), 0, "%s", err.msg);
	cr_assert_str_neq(r2.version, r1.version);
	cr_assert_str_eq(r2.previous, r1.version);
	v = q1("select version from model_versions where active");
	cr_assert_str_eq(v, r2.version);
	free(v);
	v = q1("select count(*) from model_versions");
	cr_assert_str_eq(v, "2");
	free(v);
	cr_assert(has_file(models_dir, r1.version, "manifest.json"));
	cr_assert(has_file(models_dir, r2.version, "manifest.json"));
	v = q1("select count(*) from training_runs where status = 'finished'");
	cr_assert_str_eq(v, "2");
	free(v);

	/* an explicit version name that exists is refused, and changes nothing */
	snprintf(sql, sizeof(sql), "%s", r1.version);
	o.version = sql;
	cr_assert_eq(tr_pipeline_run(&o, &r1, &err), RS_EEXIST);
	cr_assert(strstr(err.msg, "already exists") != NULL, "%s", err.msg);
	v = q1("select version from model_versions where active");
	cr_assert_str_eq(v, r2.version);
	free(v);
}

Test(pipeline, an_empty_event_store_fails_clearly_and_leaves_the_active_version)
{
	tr_pipeline_opts o;
	tr_pipeline_result r;
	tr_error err;
	char *v;

	fx_sql(&fx, "insert into model_versions (version, path) values ('old', 'old'); "
	            "select rs_model_activate('old')");
	quick_opts(&o);
	cr_assert_neq(tr_pipeline_run(&o, &r, &err), 0);
	cr_assert(strstr(err.msg, "the event store has no events") != NULL, "%s", err.msg);
	v = q1("select version from model_versions where active");
	cr_assert_str_eq(v, "old");
	free(v);
	v = q1("select count(*) from model_versions");
	cr_assert_str_eq(v, "1");
	free(v);
	v = q1("select status || ': ' || error from training_runs");
	cr_assert(strstr(v, "failed: snapshot: the event store has no events") == v, "%s", v);
	free(v);
	/* nothing published: the models folder holds no version (no stray temp folders) */
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", models_dir);
	cr_assert_eq(system(cmd), 0, "%s is not empty", models_dir);
}

Test(pipeline, bad_arguments_are_named)
{
	tr_pipeline_opts o;
	tr_pipeline_result r;
	tr_error err;

	quick_opts(&o);
	o.models = "pop,svd";
	cr_assert_eq(tr_pipeline_run(&o, &r, &err), RS_EINVAL);
	cr_assert(strstr(err.msg, "unknown model 'svd'") != NULL, "%s", err.msg);
	quick_opts(&o);
	o.dsn = "host=127.0.0.1 port=1 dbname=nope connect_timeout=2";
	cr_assert_eq(tr_pipeline_run(&o, &r, &err), RS_EUNAVAIL);
	cr_assert(strstr(err.msg, "cannot connect to PostgreSQL") != NULL, "%s", err.msg);
	quick_opts(&o);
	o.version = "../x";
	cr_assert_eq(tr_pipeline_run(&o, &r, &err), RS_EINVAL);
}

/* ------------------------------------------------------------------ stages */

static char *
slurp(const char *dir, const char *version, const char *file, size_t *len)
{
	char path[512], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, version, file);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	cr_assert(n > 0, "%s is empty", path);
	rewind(f);
	buf = malloc((size_t) n);
	cr_assert_eq(fread(buf, 1, (size_t) n, f), (size_t) n);
	fclose(f);
	*len = (size_t) n;
	return buf;
}

/* the manifest of a published version without what the clock or the folder name decide */
static json_t *
manifest_of(const char *version)
{
	char path[512];
	json_error_t jerr;
	json_t *m, *pub;

	snprintf(path, sizeof(path), "%s/%s/manifest.json", models_dir, version);
	m = json_load_file(path, 0, &jerr);
	cr_assert_not_null(m, "%s: %s", path, jerr.text);
	pub = json_object_get(m, "published");
	cr_assert(json_is_object(json_object_get(pub, "metrics")), "%s: no published.metrics",
	          path);
	cr_assert_eq(json_object_del(m, "created"), 0);
	cr_assert_eq(json_object_del(m, "fit_seconds"), 0);
	cr_assert_eq(json_object_del(pub, "at"), 0);
	cr_assert_eq(json_object_del(pub, "from"), 0);
	return m;
}

static tr_error stage_err;

static int
stage(tr_pipeline_opts *o, tr_stage s, tr_pipeline_result *r)
{
	return tr_pipeline_stage(o, s, r, &stage_err);
}

Test(pipeline, the_stages_one_by_one_publish_what_the_one_shot_run_publishes)
{
	tr_pipeline_opts o;
	tr_pipeline_result one, staged;
	tr_error err;
	char run_dir[128], sql[512], *a, *b, *v;
	size_t la, lb;
	json_t *ma, *mb;

	generate_shop();
	quick_opts(&o);
	o.models = "pop,itemknn,als,two-stage";
	o.base.cand_n = 20;
	o.base.trees = 20;
	o.version = "one-shot";
	cr_assert_eq(tr_pipeline_run(&o, &one, &err), 0, "%s", err.msg);

	snprintf(run_dir, sizeof(run_dir), "%s/runs/r1", models_dir);
	o.run_dir = run_dir;
	o.version = "staged";
	for (int s = 0; s < TR_STAGE_COUNT; s++)
		cr_assert_eq(stage(&o, (tr_stage) s, &staged), 0, "%s: %s",
		             tr_stage_name((tr_stage) s), stage_err.msg);
	cr_assert_str_eq(staged.model, one.model);
	cr_assert_eq(staged.ndcg, one.ndcg);
	cr_assert_eq(staged.ndcg_pop, one.ndcg_pop);
	cr_assert_str_eq(staged.previous, "one-shot");
	cr_assert_str_neq(staged.run_id, one.run_id);

	/* the serving data byte for byte, the manifests but their clock fields */
	a = slurp(models_dir, "one-shot", "data.mdb", &la);
	b = slurp(models_dir, "staged", "data.mdb", &lb);
	cr_assert_eq(la, lb, "data.mdb: %zu vs %zu bytes", la, lb);
	cr_assert_eq(memcmp(a, b, la), 0, "data.mdb differs");
	free(a);
	free(b);
	ma = manifest_of("one-shot");
	mb = manifest_of("staged");
	a = json_dumps(ma, JSON_SORT_KEYS);
	b = json_dumps(mb, JSON_SORT_KEYS);
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
	json_decref(ma);
	json_decref(mb);
	/* the registry: the same metrics (but the fit time), parameters and data */
	v = q1("select count(distinct (metrics - 'fit_seconds')::text || params::text || "
	       "data_fingerprint) || ' ' || count(*) from model_versions");
	cr_assert_str_eq(v, "1 2");
	free(v);
	/* every model's evaluation (two-stage included), but the fit times */
	v = q1("select count(distinct (select jsonb_object_agg(k, case when jsonb_typeof(x) = "
	       "'object' then x - 'fit_seconds' else x end) from jsonb_each(metrics) e(k, "
	       "x))::text) "
	       "|| ' ' || count(*) || ' ' || bool_and(metrics ? 'two-stage') from training_runs");
	cr_assert_str_eq(v, "1 2 true");
	free(v);
	/* the staged run is recorded once, finished, with every stage's durations */
	snprintf(
	        sql, sizeof(sql),
	        "select status || ' ' || model_version || ' ' || (durations ?& array['snapshot', "
	        "'split', 'models', 'evaluate', 'refit', 'publish', 'register', 'total'])::text || "
	        "' ' || (params->'data'->>'events') from training_runs where run_id = '%s'",
	        staged.run_id);
	v = q1(sql);
	a = q1("select count(*) from events");
	snprintf(sql, sizeof(sql), "finished staged true %s", a);
	cr_assert_str_eq(v, sql);
	free(v);
	free(a);
	/* a retried publish stage (its registration had committed): the same version, nothing new
	 */
	cr_assert_eq(stage(&o, TR_STAGE_PUBLISH, &staged), 0, "%s", stage_err.msg);
	cr_assert_str_eq(staged.version, "staged");
	v = q1("select count(*) || ' ' || (select version from model_versions where active) from "
	       "model_versions");
	cr_assert_str_eq(v, "2 staged");
	free(v);
	/* the one-shot run left no run folder behind */
	snprintf(sql, sizeof(sql), "test -z \"$(ls -A '%s' | grep '^\\.')\"", models_dir);
	cr_assert_eq(system(sql), 0, "a hidden folder is left in %s", models_dir);
}

Test(pipeline, a_stage_refuses_missing_changed_or_foreign_inputs_and_other_options)
{
	tr_pipeline_opts o;
	tr_pipeline_result r;
	char run_dir[128], other[128], path[256], cmd[600];
	FILE *f;

	generate_shop();
	quick_opts(&o);
	o.models = "pop,itemknn";
	snprintf(run_dir, sizeof(run_dir), "%s/runs/a", models_dir);
	snprintf(other, sizeof(other), "%s/runs/b", models_dir);
	o.run_dir = run_dir;

	/* no run in the folder: the snapshot stage starts one */
	cr_assert_eq(stage(&o, TR_STAGE_SPLIT, &r), RS_EINVAL);
	cr_assert(strstr(stage_err.msg, "no run here") != NULL, "%s", stage_err.msg);
	cr_assert(strstr(stage_err.msg, "the snapshot stage starts a run") != NULL, "%s",
	          stage_err.msg);
	cr_assert_eq(stage(&o, TR_STAGE_SNAPSHOT, &r), 0, "%s", stage_err.msg);
	/* out of order */
	cr_assert_eq(stage(&o, TR_STAGE_FIT, &r), RS_EINVAL);
	cr_assert(strstr(stage_err.msg, "the split stage has not run") != NULL, "%s",
	          stage_err.msg);
	cr_assert_eq(stage(&o, TR_STAGE_SPLIT, &r), 0, "%s", stage_err.msg);
	/* other options than the run was started with */
	o.models = "pop,als";
	cr_assert_eq(stage(&o, TR_STAGE_FIT, &r), RS_EINVAL);
	cr_assert(strstr(stage_err.msg, "was started with other options: --models \"pop,itemknn\", "
	                                "here \"pop,als\"") != NULL,
	          "%s", stage_err.msg);
	o.models = "pop,itemknn";
	/* a changed input */
	snprintf(path, sizeof(path), "%s/split/test_u.i32", run_dir);
	f = fopen(path, "ab");
	cr_assert_not_null(f);
	fputc(0, f);
	fclose(f);
	cr_assert_eq(stage(&o, TR_STAGE_FIT, &r), RS_EINVAL);
	cr_assert(strstr(stage_err.msg, "split/test_u.i32 is not the file the split stage wrote") !=
	                  NULL,
	          "%s", stage_err.msg);
	/* the split again: fit goes on; a later stage's record is dropped when an earlier reruns */
	cr_assert_eq(stage(&o, TR_STAGE_SPLIT, &r), 0, "%s", stage_err.msg);
	cr_assert_eq(stage(&o, TR_STAGE_FIT, &r), 0, "%s", stage_err.msg);
	cr_assert_eq(stage(&o, TR_STAGE_SPLIT, &r), 0, "%s", stage_err.msg);
	cr_assert_eq(stage(&o, TR_STAGE_EVALUATE, &r), RS_EINVAL);
	cr_assert(strstr(stage_err.msg, "the fit stage has not run") != NULL, "%s", stage_err.msg);
	cr_assert_eq(stage(&o, TR_STAGE_FIT, &r), 0, "%s", stage_err.msg);
	/* another run's file in this run's folder */
	o.run_dir = other;
	cr_assert_eq(stage(&o, TR_STAGE_SNAPSHOT, &r), 0, "%s", stage_err.msg);
	cr_assert_eq(stage(&o, TR_STAGE_SPLIT, &r), 0, "%s", stage_err.msg);
	cr_assert_eq(stage(&o, TR_STAGE_FIT, &r), 0, "%s", stage_err.msg);
	snprintf(cmd, sizeof(cmd), "cp '%s/fit/fit.json' '%s/fit/fit.json'", other, run_dir);
	cr_assert_eq(system(cmd), 0);
	o.run_dir = run_dir;
	cr_assert_eq(stage(&o, TR_STAGE_EVALUATE, &r), RS_EINVAL);
	cr_assert(strstr(stage_err.msg, "fit/fit.json is not the file the fit stage wrote") != NULL,
	          "%s", stage_err.msg);
	/* nothing was published by any of this */
	char *v = q1("select count(*) from model_versions");
	cr_assert_str_eq(v, "0");
	free(v);
}

/* --no-activate: the version is registered (with its kind) and its folder published, the
 * active version stays, and the run reports the one that stays active */
Test(pipeline, no_activate_registers_and_leaves_the_active_version)
{
	tr_pipeline_opts o;
	tr_pipeline_result r1, r2;
	tr_error err;
	char sql[512], *v;

	generate_shop();
	quick_opts(&o);
	o.models = "als";
	cr_assert_eq(tr_pipeline_run(&o, &r1, &err), 0, "%s", err.msg);
	o.activate = 0;
	cr_assert_eq(tr_pipeline_run(&o, &r2, &err), 0, "%s", err.msg);
	cr_assert_str_neq(r2.version, r1.version);
	cr_assert_str_eq(r2.model, "als");
	cr_assert_str_eq(r2.previous, r1.version, "the active version, which stays");
	v = q1("select version from model_versions where active");
	cr_assert_str_eq(v, r1.version);
	free(v);
	snprintf(sql, sizeof(sql),
	         "select active::text || ' ' || path || ' ' || (params->>'model') || ' ' || "
	         "(select model_version from training_runs where run_id = '%s') "
	         "from model_versions where version = '%s'",
	         r2.run_id, r2.version);
	v = q1(sql);
	snprintf(sql, sizeof(sql), "false %s als %s", r2.version, r2.version);
	cr_assert_str_eq(v, sql);
	free(v);
	cr_assert(has_file(models_dir, r2.version, "manifest.json"));
	cr_assert(has_file(models_dir, r2.version, "data.mdb"));
}
