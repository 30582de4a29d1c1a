/* rs-train simulate end to end: a small generated shop, an ALS version published by
 * `rs-train pipeline`, the five services, and a three-day simulation of popular vs ALS. Checked
 * against what PostgreSQL holds (not against the simulator's own counts): the experiment exists
 * with its two variants and its start at the first simulated midnight; every simulated event is
 * stored with the rec_id of a list of this experiment shown to the same customer; the report's
 * clicks and orders per variant are those events counted by the variant of the list they name;
 * the report's days are the simulated days. The same seed on a fresh copy of the same shop gives
 * the same report, a second run on a used shop is refused, and bad arguments are refused with
 * exit status 2 and a message naming the problem, creating nothing. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stack.h"

#define TOKEN "it-simulate-token-0123456789ab"
#define USERS "60"
#define ITEMS "200"
#define DAYS  3

static test_stack st;
static char apikey_file[256], work[64];
static long long base_s;

static void
kill_leftovers(void)
{
	stack_kill_all(&st);
}

/* Runs a shell command; its output (stdout and stderr) into out (n bytes). Exit status. */
static int
run(char *out, size_t n, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p, "%s", cmd);
	size_t len = 0, got;
	char sink[4096];
	while ((got = fread(len + 1 < n ? out + len : sink, 1,
	                    len + 1 < n ? n - 1 - len : sizeof(sink), p)) > 0)
		if (len + 1 < n)
			len += got;
	out[len] = '\0';
	int status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static long long
sql_ll(const char *sql)
{
	char v[64];
	cr_assert_eq(stack_sql_value(&st, sql, v, sizeof(v)), 0, "%s", sql);
	return atoll(v);
}

static const char *
train_bin(void)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/services/trainer/rs-train", getenv("RS_TEST_BUILD"));
	return path;
}

/* A fresh database with the shop (history ending at the first simulated day) and the ALS
 * version "it-sim-als" published by the pipeline, then the stack. */
static void
fresh_shop(void)
{
	static char out[16384];
	static int copy;
	copy++;
	cr_assert_eq(stack_db_reset(&st, "rs_it_simulate"), 0);
	cr_assert_eq(run(out, sizeof(out),
	                 "%s generate --dsn '%s' --users " USERS " --items " ITEMS
	                 " --sessions 30 --seed 5 --end %lld 2>&1",
	                 train_bin(), st.dsn, base_s),
	             0, "%s", out);
	cr_assert_eq(
	        run(out, sizeof(out),
	            "RS_TRAIN_THREADS=1 %s pipeline --dsn '%s' --models-dir %s/models%d --quick "
	            "--models als --version it-sim-als 2>&1",
	            train_bin(), st.dsn, work, copy),
	        0, "%s", out);
	cr_assert(strstr(out, "published it-sim-als: als") != NULL, "%s", out);
	char key[160];
	cr_assert_eq(stack_apikey(&st, "simulate", key, sizeof(key)), 0);
	FILE *f = fopen(apikey_file, "w");
	cr_assert_not_null(f);
	fprintf(f, "%s\n", key);
	fclose(f);
	static char model_dir[128];
	snprintf(model_dir, sizeof(model_dir), "RS_MODEL_DIR=%s/models%d", work, copy);
	st.extra_env[0] = "RS_ADMIN_TOKEN=" TOKEN;
	st.extra_env[1] = model_dir;
	cr_assert_eq(stack_start(&st, 18960, 30000), 0, "stack did not become ready");
}

#define SIM_ARGS                                                                                   \
	"%s simulate --url %s --dsn '%s' --admin-token " TOKEN " --api-key-file %s --shop-seed 5 " \
	"--shop-users " USERS " --shop-items " ITEMS " --k 5 --seed 11 "

static json_t *
simulate(char *out, size_t n, const char *json_path)
{
	int rc = run(out, n,
	             SIM_ARGS "--days %d --variant popular=popular --variant als=it-sim-als "
	                      "--json %s 2>&1",
	             train_bin(), st.url, st.dsn, apikey_file, DAYS, json_path);
	cr_assert_eq(rc, 0, "simulate failed: %s", out);
	json_error_t jerr;
	json_t *rep = json_load_file(json_path, 0, &jerr);
	cr_assert_not_null(rep, "%s: %s", json_path, jerr.text);
	return rep;
}

Test(simulate, a_closed_loop_experiment_through_the_stack, .timeout = 280, .fini = kill_leftovers)
{
	static char out[65536], out2[65536];
	char p1[300], p2[300];
	snprintf(work, sizeof(work), "/tmp/rs-it-sim-XXXXXX");
	cr_assert_not_null(mkdtemp(work));
	snprintf(apikey_file, sizeof(apikey_file), "%s/api-key", work);
	snprintf(p1, sizeof(p1), "%s/r1.json", work);
	snprintf(p2, sizeof(p2), "%s/r2.json", work);
	base_s = ((long long) time(NULL) / 86400 - DAYS) * 86400;
	fresh_shop();

	/* bad arguments: exit 2, the problem named, nothing created */
	static const char *const bad[][2] = {
	        {"--days 3 --variant popular=popular", "--variant"},
	        {"--days 0 --variant popular=popular --variant als=it-sim-als", "--days"},
	        {"--days 3 --variant popular --variant als=it-sim-als", "--variant popular"},
	        {"--days 3 --variant a=popular --variant a=it-sim-als", "twice"},
	        {"--days 3 --k 101 --variant popular=popular --variant als=it-sim-als", "--k"},
	        {"--days 3 --metric revenue --variant popular=popular --variant als=it-sim-als",
	         "--metric"},
	        {"--days 3 --customers 61 --variant popular=popular --variant als=it-sim-als",
	         "--customers"},
	        {"--days 3 --bogus --variant popular=popular --variant als=it-sim-als", "--bogus"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = run(out, sizeof(out), SIM_ARGS "%s 2>&1", train_bin(), st.url, st.dsn,
		             apikey_file, bad[i][0]);
		cr_assert_eq(rc, 2, "%s: exit %d: %s", bad[i][0], rc, out);
		cr_assert(strstr(out, "rs-train simulate: ") != NULL && strstr(out, bad[i][1]),
		          "%s: %s", bad[i][0], out);
	}
	/* an unknown version: the gateway refuses the experiment (exit 1, its message) */
	cr_assert_eq(run(out, sizeof(out),
	                 SIM_ARGS "--days 3 --variant popular=popular --variant als=no-such 2>&1",
	                 train_bin(), st.url, st.dsn, apikey_file),
	             1, "%s", out);
	cr_assert(strstr(out, "HTTP 400") != NULL, "%s", out);
	cr_assert_eq(sql_ll("select count(*) from experiments"), 0);

	json_t *r1 = simulate(out, sizeof(out), p1);
	fprintf(stderr, "simulate: %s", out);
	cr_assert(strstr(out, "lift over popular") != NULL, "%s", out);

	/* the experiment and its variants, started at the first simulated midnight */
	long long id = sql_ll("select experiment_id from experiments");
	cr_assert_eq(sql_ll("select count(*) from experiment_variants where (position, name, "
	                    "strategy, coalesce(model_version, '')) in ((0, 'popular', "
	                    "'popular', ''), (1, 'als', 'model', 'it-sim-als'))"),
	             2);
	char sql[1024];
	snprintf(sql, sizeof(sql),
	         "select count(*) from experiments where started_at = to_timestamp(%lld) and "
	         "status = 'stopped'",
	         base_s);
	cr_assert_eq(sql_ll(sql), 1);

	/* every simulated event names a list of this experiment shown to the same customer,
	 * within the simulated days */
	long long nev = sql_ll("select count(*) from events where event_id like 'sim11-%'");
	cr_assert_gt(nev, 60, "only %lld events", nev);
	snprintf(sql, sizeof(sql),
	         "select count(*) from events e where e.event_id like 'sim11-%%' and exists "
	         "(select 1 from impressions i where i.rec_id = e.rec_id and i.user_id = e.user_id "
	         "and i.experiment_id = %lld and e.item_id = any (i.items) and not i.degraded "
	         "and i.surface = 'recommendations') and e.ts >= "
	         "to_timestamp(%lld) and e.ts < to_timestamp(%lld)",
	         id, base_s, base_s + DAYS * 86400LL);
	cr_assert_eq(sql_ll(sql), nev);
	/* the report's clicks and orders per variant: the events by the variant of their list */
	size_t i;
	json_t *v;
	cr_assert_eq(json_array_size(json_object_get(r1, "variants")), 2);
	json_array_foreach(json_object_get(r1, "variants"), i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		json_t *t = json_object_get(v, "totals");
		static const char *const types[][2] = {{"clicks", "2"}, {"orders", "4"}};
		for (int k = 0; k < 2; k++) {
			snprintf(sql, sizeof(sql),
			         "select count(*) from events e where e.event_id like 'sim11-%%' "
			         "and "
			         "e.type = %s and (select min(i.variant) from impressions i where "
			         "i.rec_id = e.rec_id) = '%s'",
			         types[k][1], name);
			cr_assert_eq(json_integer_value(json_object_get(t, types[k][0])),
			             sql_ll(sql), "%s %s", name, types[k][0]);
		}
		snprintf(sql, sizeof(sql),
		         "select count(distinct user_id) from impressions where experiment_id = "
		         "%lld and variant = '%s'",
		         id, name);
		cr_assert_eq(json_integer_value(json_object_get(t, "exposed")), sql_ll(sql));
		/* its days are the simulated ones, the first one with everybody */
		json_t *days = json_object_get(v, "days"), *d;
		size_t j;
		cr_assert_gt(json_array_size(days), 0);
		json_array_foreach(days, j, d)
		{
			struct tm tm = {0};
			cr_assert_not_null(strptime(json_string_value(json_object_get(d, "day")),
			                            "%Y-%m-%d", &tm));
			long long at = (long long) timegm(&tm);
			cr_assert(at >= base_s && at < base_s + DAYS * 86400LL, "day %s",
			          json_string_value(json_object_get(d, "day")));
		}
	}
	cr_assert_eq(
	        json_integer_value(json_object_get(
	                json_object_get(json_array_get(json_object_get(r1, "variants"), 0),
	                                "totals"),
	                "exposed")) +
	                json_integer_value(json_object_get(
	                        json_object_get(json_array_get(json_object_get(r1, "variants"), 1),
	                                        "totals"),
	                        "exposed")),
	        60);

	/* the same seed again on this shop: refused (its events are there already) */
	cr_assert_eq(run(out2, sizeof(out2),
	                 SIM_ARGS "--days %d --variant popular=popular --variant als=it-sim-als "
	                          "2>&1",
	                 train_bin(), st.url, st.dsn, apikey_file, DAYS),
	             1, "%s", out2);
	cr_assert(strstr(out2, "already holds a simulation") != NULL, "%s", out2);

	/* the same seed on a fresh copy of the shop: the same report */
	cr_assert_eq(stack_stop(&st), 0, "a service did not exit 0 on SIGTERM");
	fresh_shop();
	json_t *r2 = simulate(out2, sizeof(out2), p2);
	cr_assert(json_equal(json_object_get(r1, "variants"), json_object_get(r2, "variants")),
	          "the variants differ:\n%s\n---\n%s", out, out2);
	cr_assert(json_equal(json_object_get(r1, "primary"), json_object_get(r2, "primary")));
	json_decref(r1);
	json_decref(r2);
	cr_assert_eq(stack_stop(&st), 0, "a service did not exit 0 on SIGTERM");
	char rm[128];
	snprintf(rm, sizeof(rm), "rm -rf %s", work);
	cr_assert_eq(system(rm), 0);
}

/* --retrain: a two-day simulation whose "als" variant follows the kind als. Between the days
 * rs-train simulate publishes a new ALS version (trained on the shop and day 1, not activated)
 * and day 2's lists are that version's: checked against what PostgreSQL holds (the version
 * the registry gained, the version every stored list of the variant names, per day) and
 * against the printed per-day summary. */
Test(simulate, retrain_between_days_serves_the_new_version, .timeout = 280, .fini = kill_leftovers)
{
	static char out[65536];
	char sql[1024], line[512];
	snprintf(work, sizeof(work), "/tmp/rs-it-simr-XXXXXX");
	cr_assert_not_null(mkdtemp(work));
	snprintf(apikey_file, sizeof(apikey_file), "%s/api-key", work);
	base_s = ((long long) time(NULL) / 86400 - 2) * 86400;
	fresh_shop(); /* it-sim-als: the only ALS version, and the active one */

	/* --retrain without a kind to follow, or without --models-dir: refused, nothing made */
	static const char *const bad[][2] = {
	        {"--days 2 --retrain --models-dir /tmp --variant popular=popular --variant "
	         "als=it-sim-als",
	         "kind:KIND"},
	        {"--days 2 --retrain --variant popular=popular --variant als=kind:als",
	         "--models-dir"},
	        {"--days 2 --variant popular=popular --variant als=kind:no-such-model", "kind:"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = run(out, sizeof(out), SIM_ARGS "%s 2>&1", train_bin(), st.url, st.dsn,
		             apikey_file, bad[i][0]);
		cr_assert_eq(rc, 2, "%s: exit %d: %s", bad[i][0], rc, out);
		cr_assert(strstr(out, "rs-train simulate: ") != NULL && strstr(out, bad[i][1]),
		          "%s: %s", bad[i][0], out);
	}
	cr_assert_eq(sql_ll("select count(*) from experiments"), 0);

	int rc = run(out, sizeof(out),
	             "RS_TRAIN_THREADS=1 " SIM_ARGS
	             "--days 2 --variant popular=popular --variant als=kind:als --retrain "
	             "--models-dir %s/models1 2>&1",
	             train_bin(), st.url, st.dsn, apikey_file, work);
	fprintf(stderr, "simulate --retrain: %s", out);
	cr_assert_eq(rc, 0, "simulate --retrain failed: %s", out);

	/* the registry gained exactly one version, an ALS one, not active */
	cr_assert_eq(sql_ll("select count(*) from model_versions"), 2);
	char retrained[128];
	cr_assert_eq(stack_sql_value(&st,
	                             "select version from model_versions where version <> "
	                             "'it-sim-als' and params->>'model' = 'als' and not active",
	                             retrained, sizeof(retrained)),
	             0);
	cr_assert_gt(strlen(retrained), 0);
	cr_assert_eq(sql_ll("select count(*) from model_versions where active and version = "
	                    "'it-sim-als'"),
	             1, "the active version changed");
	long long id = sql_ll("select experiment_id from experiments");
	cr_assert_eq(sql_ll("select count(*) from experiment_variants where name = 'als' and "
	                    "strategy = 'model' and model_kind = 'als' and model_version is null"),
	             1);
	/* the lists of each day: all from one version, day 1 the old, day 2 the retrained */
	for (int d = 0; d < 2; d++) {
		const char *want = d == 0 ? "it-sim-als" : retrained;
		snprintf(sql, sizeof(sql),
		         "select count(*) from impressions where experiment_id = %lld and variant "
		         "= 'als' and ts >= to_timestamp(%lld) and ts < to_timestamp(%lld)",
		         id, base_s + d * 86400LL, base_s + (d + 1) * 86400LL);
		long long all = sql_ll(sql);
		cr_assert_gt(all, 0, "no als lists on day %d", d + 1);
		snprintf(sql, sizeof(sql),
		         "select count(*) from impressions where experiment_id = %lld and variant "
		         "= 'als' and ts >= to_timestamp(%lld) and ts < to_timestamp(%lld) and "
		         "model_version = '%s'",
		         id, base_s + d * 86400LL, base_s + (d + 1) * 86400LL, want);
		cr_assert_eq(sql_ll(sql), all, "day %d: not every als list is %s's", d + 1, want);
		/* the printed summary names the same version for the day */
		char day[16];
		time_t t = (time_t) (base_s + d * 86400LL);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(day, sizeof(day), "%Y-%m-%d", &tm);
		snprintf(line, sizeof(line), "\n%-12s %-10s %-28s", "als", day, want);
		cr_assert(strstr(out, line) != NULL, "no line \"%s\" in:\n%s", line + 1, out);
	}
	snprintf(line, sizeof(line), "retrained after day 1: als -> %s", retrained);
	cr_assert(strstr(out, line) != NULL, "%s", out);
	cr_assert_eq(stack_stop(&st), 0, "a service did not exit 0 on SIGTERM");
	char rm[128];
	snprintf(rm, sizeof(rm), "rm -rf %s", work);
	cr_assert_eq(system(rm), 0);
}
