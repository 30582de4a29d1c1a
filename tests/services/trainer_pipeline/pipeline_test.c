/* rs-train pipeline against PostgreSQL (RS_TEST_PG_DSN): a small generated shop is snapshotted,
 * models are fitted and evaluated, the best is published as a version folder, registered in
 * model_versions and activated; runs land in training_runs. A second run activates a new version
 * and keeps the old folder; a failing run changes nothing. */
#include <criterion/criterion.h>
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
