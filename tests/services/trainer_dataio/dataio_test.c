#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataio.h"
#include "dio.h"
#include "rs_err.h"
#include "rs_migrate.h"
#include "rs_log.h"

static char schema[64], dir[128], dsn[1024];
static char pa[300], pb[300], pc[300];
static PGconn *pg;

static void
sql(const char *q)
{
	PGresult *r = PQexec(pg, q);
	ExecStatusType st = PQresultStatus(r);
	cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", q,
	          PQresultErrorMessage(r));
	PQclear(r);
}

static long
count(const char *q)
{
	PGresult *r = PQexec(pg, q);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", q, PQresultErrorMessage(r));
	long n = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

static char *
text(const char *q)
{
	static char buf[512];
	PGresult *r = PQexec(pg, q);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", q, PQresultErrorMessage(r));
	cr_assert_gt(PQntuples(r), 0, "%s: no rows", q);
	snprintf(buf, sizeof(buf), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return buf;
}

static void
setup(void)
{
	static int seq;
	char q[256];
	rs_log_init("dataio-test", RS_LOG_WARN);
	const char *base = getenv("RS_TEST_PG_DSN");
	if (base == NULL || base[0] == '\0')
		cr_assert_fail(
		        "RS_TEST_PG_DSN is not set: the dataio tests need a PostgreSQL database "
		        "(e.g. RS_TEST_PG_DSN=\"$(scripts/pg.sh start)\")");
	snprintf(schema, sizeof(schema), "dio_t%d_%d", (int) getpid(), ++seq);
	snprintf(dir, sizeof(dir), "/tmp/rs-dataio-test-%s", schema);
	if (strstr(base, "://") != NULL)
		snprintf(dsn, sizeof(dsn), "%s%soptions=-csearch_path%%3D%s", base,
		         strchr(base, '?') ? "&" : "?", schema);
	else
		snprintf(dsn, sizeof(dsn), "%s options='-csearch_path=%s'", base, schema);
	pg = PQconnectdb(dsn);
	cr_assert_eq(PQstatus(pg), CONNECTION_OK, "connect: %s", PQerrorMessage(pg));
	snprintf(q, sizeof(q),
	         "set client_min_messages = warning; drop schema if exists %s cascade; "
	         "create schema %s",
	         schema, schema);
	sql(q);
	cr_assert_eq(rs_migrate_apply(pg, RS_SOURCE_DIR "/db/migrations", NULL), 0);
	snprintf(q, sizeof(q), "mkdir -p '%s'", dir);
	cr_assert_eq(system(q), 0);
}

static void
teardown(void)
{
	char q[256];
	if (pg != NULL) {
		snprintf(q, sizeof(q), "drop schema if exists %s cascade", schema);
		PQclear(PQexec(pg, q));
		PQfinish(pg);
		pg = NULL;
	}
	snprintf(q, sizeof(q), "rm -rf '%s'", dir);
	if (system(q) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(dataio, .init = setup, .fini = teardown, .timeout = 60);

static void
write_file(const char *name, const char *content)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(content, f);
	fclose(f);
}

static char *
path_of(const char *name)
{
	static char buf[4][256];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

/* run(fn, "cmd", args..., NULL): calls a subcommand like rs-train would. */
static int
run(int (*fn)(int, char **), ...)
{
	char *av[64];
	int ac = 0;
	va_list ap;
	va_start(ap, fn);
	for (char *a; ac < 63 && (a = va_arg(ap, char *)) != NULL;)
		av[ac++] = a;
	va_end(ap);
	av[ac] = NULL;
	return fn(ac, av);
}
#define RUN(fn, ...) run(fn, __VA_ARGS__, (char *) NULL)

static int
same_file(const char *a, const char *b)
{
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
	return system(cmd) == 0;
}

Test(dataio, generate_is_deterministic_by_seed)
{
	cr_assert_eq(RUN(trn_cmd_generate, "generate", "--out", path_of("a"), "--users", "50",
	                 "--items", "200", "--days", "14", "--seed", "7", "--end", "1790000000"),
	             0);
	cr_assert_eq(RUN(trn_cmd_generate, "generate", "--out", path_of("b"), "--users", "50",
	                 "--items", "200", "--days", "14", "--seed", "7", "--end", "1790000000"),
	             0);
	cr_assert_eq(RUN(trn_cmd_generate, "generate", "--out", path_of("c"), "--users", "50",
	                 "--items", "200", "--days", "14", "--seed", "8", "--end", "1790000000"),
	             0);
	const char *files[] = {"items.csv", "users.csv", "events.csv"};
	for (int i = 0; i < 3; i++) {
		snprintf(pa, sizeof(pa), "%s/a/%s", dir, files[i]);
		snprintf(pb, sizeof(pb), "%s/b/%s", dir, files[i]);
		snprintf(pc, sizeof(pc), "%s/c/%s", dir, files[i]);
		cr_assert(same_file(pa, pb), "%s differs between runs with the same seed",
		          files[i]);
		cr_assert(!same_file(pa, pc), "%s identical for different seeds", files[i]);
	}
}

Test(dataio, generate_loads_a_shop_and_a_rerun_stores_nothing_twice)
{
	cr_assert_eq(RUN(trn_cmd_generate, "generate", "--dsn", dsn, "--users", "200", "--items",
	                 "500", "--days", "21", "--seed", "3"),
	             0);
	cr_assert_eq(count("select count(*) from users"), 200);
	cr_assert_eq(count("select min(user_id) from users"), 1);
	cr_assert_eq(count("select count(*) from items"), 500);
	long ev = count("select count(*) from events");
	cr_assert_gt(ev, 5000, "only %ld events", ev);
	cr_assert_eq(count("select count(*) from event_ids"), ev);
	for (int t = 1; t <= 4; t++) {
		char q[96];
		snprintf(q, sizeof(q), "select count(*) from events where type = %d", t);
		cr_assert_gt(count(q), 0, "no events of type %d", t);
	}
	/* the funnel narrows */
	cr_assert_gt(count("select count(*) from events where type = 1"),
	             count("select count(*) from events where type = 3"));
	cr_assert_gt(count("select count(*) from events where type = 3"),
	             count("select count(*) from events where type = 4"));
	/* readable catalog: category paths, brands, titles with the brand, prices */
	cr_assert_eq(count("select count(*) from items where category !~ '^[A-Z][a-z]+/.+/.+' or "
	                   "brand = '' or position(brand in title) = 0 or price <= 0"),
	             0);
	cr_assert_eq(count("select count(*) from users where display_name is null"), 0);
	/* long tail: the top 10% of items get far more than 10% of the views */
	cr_assert_gt(count("with c as (select item_id, count(*) n from events where type = 1 group "
	                   "by 1), r as (select n, row_number() over (order by n desc) rk from c) "
	                   "select (100 * sum(n) filter (where rk <= 50) / sum(n))::int from r"),
	             25);
	/* time over weeks, ending near now */
	cr_assert_gt(count("select extract(epoch from max(ts) - min(ts))::bigint / 86400 from "
	                   "events"),
	             14);
	cr_assert_lt(count("select extract(epoch from now() - max(ts))::bigint / 3600 from events"),
	             3);
	/* repeat purchases of consumables */
	cr_assert_gt(count("select count(*) from (select user_id, item_id from events where type = "
	                   "4 group by 1, 2 having count(*) > 1) x"),
	             0);
	cr_assert_eq(RUN(trn_cmd_generate, "generate", "--dsn", dsn, "--users", "200", "--items",
	                 "500", "--days", "21", "--seed", "3"),
	             0);
	cr_assert_eq(count("select count(*) from events"), ev);
}

Test(dataio, import_movielens_100k_with_titles_and_genres)
{
	write_file("u.data", "1\t10\t4\t881250949\n1\t20\t3\t881250950\n2\t10\t5\t891717742\n"
	                     "3\t30\t1\t878887116\n");
	/* id|title|date|video|url|19 genre flags; Latin-1 title */
	write_file("u.item",
	           "10|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|"
	           "0|0|0|0|0\n"
	           "20|GoldenEye (1995)|01-Jan-1995||http://x|0|1|1|0|0|0|0|0|0|0|0|0|0|0|"
	           "0|0|1|0|0\n"
	           "30|Caf\xe9 Society (1995)|01-Jan-1995||http://x|0|0|0|0|0|0|0|0|1|0|0|0|"
	           "0|0|0|0|0|0|0\n");
	cr_assert_eq(RUN(trn_cmd_import, "import", "--format", "movielens-100k", "--input",
	                 path_of("u.data"), "--catalog", path_of("u.item"), "--dsn", dsn),
	             0);
	cr_assert_eq(count("select count(*) from events where type = 5"), 4);
	cr_assert_eq(count("select count(*) from users"), 3);
	cr_assert_str_eq(text("select title || '|' || category from items where item_id = 20"),
	                 "GoldenEye (1995)|Movies/Action");
	cr_assert_str_eq(text("select title from items where item_id = 30"),
	                 "Caf\xc3\xa9 Society (1995)");
	cr_assert_str_eq(text("select attributes->>'genres' from items where item_id = 10"),
	                 "[\"Animation\", \"Children's\", \"Comedy\"]");
	cr_assert_eq(count("select value::int from events where user_id = 2 and item_id = 10"), 5);
	cr_assert_str_eq(text("select to_char(ts at time zone 'UTC', 'YYYY-MM-DD') from events "
	                      "where user_id = 3"),
	                 "1997-11-07");
	/* re-import: nothing doubles */
	cr_assert_eq(RUN(trn_cmd_import, "import", "--format", "movielens-100k", "--input",
	                 path_of("u.data"), "--dsn", dsn),
	             0);
	cr_assert_eq(count("select count(*) from events"), 4);
}

Test(dataio, import_movielens_csv_with_quoted_titles)
{
	write_file("ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n"
	                          "1,3,4.5,964981247\n2,3,0.5,1445714835\n");
	write_file("movies.csv", "movieId,title,genres\n1,Toy Story (1995),"
	                         "Adventure|Animation|Children|Comedy|Fantasy\n"
	                         "3,\"American President, The (1995)\",Comedy|Drama|Romance\n");
	cr_assert_eq(RUN(trn_cmd_import, "import", "--format", "movielens", "--input",
	                 path_of("ratings.csv"), "--catalog", path_of("movies.csv"), "--dsn", dsn),
	             0);
	cr_assert_str_eq(text("select title || '|' || category from items where item_id = 3"),
	                 "American President, The (1995)|Movies/Comedy");
	cr_assert_eq(count("select count(*) from events where type = 5"), 3);
	cr_assert_eq(count("select (value * 10)::int from events where user_id = 2"), 5);
}

Test(dataio, import_retailrocket_events)
{
	write_file("events.csv", "timestamp,visitorid,event,itemid,transactionid\n"
	                         "1433221332117,257597,view,355908,\n"
	                         "1433224214164,992329,view,248676,\n"
	                         "1433221999827,0,addtocart,355908,\n"
	                         "1433222276276,0,transaction,355908,4000\n");
	cr_assert_eq(RUN(trn_cmd_import, "import", "--format", "retailrocket", "--input",
	                 path_of("events.csv"), "--dsn", dsn),
	             0);
	cr_assert_eq(count("select count(*) from events"), 4);
	cr_assert_eq(count("select count(*) from events where user_id = 1 and item_id = 355908 and "
	                   "type in (3, 4)"),
	             2);
	cr_assert_eq(count("select count(*) from events where user_id = 257598 and type = 1"), 1);
	cr_assert_eq(count("select (extract(epoch from ts) * 1000)::bigint from events where "
	                   "user_id = 992330"),
	             1433224214164);
}

Test(dataio, import_sequences_with_mapped_ids)
{
	write_file("seq.txt", "A1X B00X1 B00X2 B00X3\nA2Y B00X2 B00X9\n\nA1X B00X3\n");
	cr_assert_eq(RUN(trn_cmd_import, "import", "--format", "sequence", "--input",
	                 path_of("seq.txt")),
	             2, "no --dsn/--out is a usage error");
	cr_assert_eq(RUN(trn_cmd_import, "import", "--format", "sequence", "--input",
	                 path_of("seq.txt"), "--dsn", dsn),
	             1, "string ids need --ids map");
	cr_assert_eq(RUN(trn_cmd_import, "import", "--format", "sequence", "--input",
	                 path_of("seq.txt"), "--ids", "map", "--dsn", dsn),
	             0);
	cr_assert_eq(count("select count(*) from events where type = 4"), 6);
	cr_assert_eq(count("select count(*) from items"), 4);
	cr_assert_eq(count("select user_id from users where external_id = 'A2Y'"), 2);
	cr_assert_eq(count("select count(*) from events e join items i using (item_id) where "
	                   "i.external_id = 'B00X3'"),
	             2);
	/* order within a user is kept */
	cr_assert_str_eq(text("select string_agg(i.external_id, ' ' order by e.ts) from events e "
	                      "join items i using (item_id) join users u using (user_id) where "
	                      "u.external_id = 'A1X' and e.event_id like 'seq:1:%'"),
	                 "B00X1 B00X2 B00X3");
}

Test(dataio, import_generic_csv_with_a_column_mapping)
{
	write_file("log.tsv", "when\twho\twhat\taction\tstars\n"
	                      "2024-03-01 10:00:00\t5\t50\tview\t\n"
	                      "2024-03-01T10:05:00Z\t5\t50\tpurchase\t\n"
	                      "2024-03-02 08:00:00\t6\t51\trating\t4.5\n");
	cr_assert_eq(RUN(trn_cmd_import, "import", "--format", "csv", "--input", path_of("log.tsv"),
	                 "--delimiter", "tab", "--ts-unit", "iso", "--map",
	                 "user=who,item=what,ts=when,type=action,value=stars", "--dsn", dsn,
	                 "--out", path_of("out")),
	             0);
	cr_assert_eq(count("select count(*) from events"), 3);
	cr_assert_eq(count("select type from events where user_id = 5 and ts = '2024-03-01 "
	                   "10:05:00+00'"),
	             4);
	cr_assert_eq(count("select (value * 10)::int from events where type = 5"), 45);
	cr_assert_eq(RUN(trn_cmd_import, "import", "--format", "csv", "--input", path_of("log.tsv"),
	                 "--delimiter", "tab", "--map", "user=nobody,item=what", "--dsn", dsn),
	             1, "unknown column is an error");
	snprintf(pa, sizeof(pa), "%s/out/events.csv", dir);
	FILE *f = fopen(pa, "r");
	cr_assert_not_null(f, "csv output written");
	fclose(f);
}

static int
ts_event(void *ctx, const dio_event *e)
{
	*(int64_t *) ctx = e->ts_ms;
	return 0;
}

/* Imports one row with timestamp ts (unit s) through the importer without a database; the
 * event's ts_ms in *ts_ms. Returns trn_import_each's result, its message in err. */
static int
import_ts(const char *ts, int64_t *ts_ms, char *err, size_t errn)
{
	char body[256];
	snprintf(body, sizeof(body), "user,item,ts\n1,2,%s\n", ts);
	write_file("ts.csv", body);
	char *av[] = {"import",
	              "--format",
	              "csv",
	              "--input",
	              path_of("ts.csv"),
	              "--map",
	              "user=user,item=item,ts=ts",
	              NULL};
	dio_sink_fns fns = {.event = ts_event, .ctx = ts_ms};
	*ts_ms = -1;
	err[0] = '\0';
	return trn_import_each(7, av, &fns, err, errn);
}

/* A timestamp that does not fit unix milliseconds in an int64 (not finite, negative, after
 * 9999-12-31) is refused naming the line, instead of a conversion with undefined behaviour
 * (tests/fuzz import_lines found 1.17e25 seconds; its input is in the fuzz corpus). */
Test(dataio, import_refuses_timestamps_out_of_range)
{
	static const char *const bad[] = {
	        "11700000000000700000000000", "nan", "inf", "-1", "253402300800", "1e300"};
	char err[512];
	int64_t ts;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_neq(import_ts(bad[i], &ts, err, sizeof(err)), 0, "%s accepted", bad[i]);
		cr_assert(strstr(err, "ts.csv:2: bad timestamp") != NULL, "%s: %s", bad[i], err);
		cr_assert_eq(ts, -1, "%s: an event was handed on", bad[i]);
	}
	cr_assert_eq(import_ts("253402300799", &ts, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ts, 253402300799000LL, "9999-12-31T23:59:59Z");
	cr_assert_eq(import_ts("1700000000.5", &ts, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ts, 1700000000500LL);
}

static int
count_event(void *ctx, const dio_event *e)
{
	cr_assert_eq(e->user_id, 7);
	cr_assert_eq(e->item_id, 8);
	++*(int *) ctx;
	return 0;
}

/* The header is the first record, wherever it is: a file that starts with blank lines used to
 * leave the csv importer's columns unresolved (-1) and read fields[-1] (tests/fuzz import_lines,
 * ASan heap-buffer-overflow; its input is in the fuzz corpus). */
Test(dataio, import_finds_the_header_after_blank_lines)
{
	write_file("blank.csv", "\n  \nu;i\n7;8\n");
	char *av[] = {"import", "--format",      "csv",         "--input", path_of("blank.csv"),
	              "--map",  "user=u,item=i", "--delimiter", ";",       NULL};
	int n = 0;
	dio_sink_fns fns = {.event = count_event, .ctx = &n};
	char err[512] = "";
	cr_assert_eq(trn_import_each(9, av, &fns, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(n, 1);
	write_file("blank_ml.csv", "\nuserId,movieId,rating,timestamp\n7,8,4.5,964982703\n");
	char *av2[] = {"import", "--format", "movielens", "--input", path_of("blank_ml.csv"), NULL};
	n = 0;
	cr_assert_eq(trn_import_each(5, av2, &fns, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(n, 1);
}

Test(dataio, help_and_usage_errors)
{
	cr_assert_eq(RUN(trn_cmd_generate, "generate", "--help"), 0);
	cr_assert_eq(RUN(trn_cmd_import, "import", "--help"), 0);
	cr_assert_eq(RUN(trn_cmd_generate, "generate", "--users", "0", "--out", dir), 2);
	cr_assert_eq(
	        RUN(trn_cmd_import, "import", "--format", "nope", "--input", "x", "--out", dir), 1);
}

/* generate's and import's options come from option tables (opts.h): a number out of its range
 * is refused naming the option; the importer without a database (trn_import_each) gives the
 * reason to its caller instead of printing it. */
Test(dataio, option_tables_refuse_bad_values)
{
	cr_assert_eq(RUN(trn_cmd_generate, "generate", "--out", dir, "--days", "3651"), 2);
	cr_assert_eq(RUN(trn_cmd_generate, "generate", "--out", dir, "--seed", "-1"), 2);
	cr_assert_eq(RUN(trn_cmd_generate, "generate", "--out", dir, "--end", "12"), 2);
	cr_assert_eq(RUN(trn_cmd_generate, "generate", "--out", dir, "--sessions", "2.5"), 2);
	cr_assert_eq(RUN(trn_cmd_generate, "generate", "--users", "5"), 2, "no --dsn nor --out");
	cr_assert_eq(RUN(trn_cmd_import, "import", "--format", "sequence", "--input", "x", "--out",
	                 dir, "--start", "soon"),
	             2);

	write_file("seq.txt", "1 2 3\n");
	dio_sink_fns fns = {.event = ts_event};
	int64_t ts_ms = -1;
	char err[200] = "";
	char *bad[] = {"import",           "--format", "sequence", "--input",
	               path_of("seq.txt"), "--start",  "soon",     NULL};
	fns.ctx = &ts_ms;
	cr_assert_eq(trn_import_each(7, bad, &fns, err, sizeof(err)), RS_EINVAL);
	cr_assert_str_eq(err, "--start: 'soon' is not a number in [0, 2.53402e+11]");
	char *unknown[] = {"import",           "--format", "sequence", "--input",
	                   path_of("seq.txt"), "--bogus",  NULL};
	cr_assert_eq(trn_import_each(6, unknown, &fns, err, sizeof(err)), RS_EINVAL);
	cr_assert_str_eq(err, "unknown import option --bogus");
	char *help[] = {"import", "--help", NULL};
	cr_assert_eq(trn_import_each(2, help, &fns, err, sizeof(err)), RS_EINVAL);
	cr_assert_str_eq(err, "--help is not an import option here");
	char *start[] = {"import",           "--format", "sequence",   "--input",
	                 path_of("seq.txt"), "--start",  "1700000000", NULL};
	cr_assert_eq(trn_import_each(7, start, &fns, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ts_ms, 1700000000000LL + 120000,
	             "items 2 and 3 of user 1, a minute apart after --start: the last at +2 min");
}

/* The hidden taste model must make a personalised recommender beat popularity: split each
 * user's clicks/carts/purchases 80/20 in time, recommend 10 unseen items by popularity and by
 * item co-occurrence (cosine), and compare hit rates on the later 20%. */
#define QT_USERS 400
#define QT_ITEMS 1000

static int
qt_top10(const double *score, const unsigned char *seen, int *out)
{
	int n = 0;
	for (int k = 0; k < 10; k++) {
		int best = -1;
		for (int i = 1; i <= QT_ITEMS; i++) {
			if (seen[i] || score[i] <= 0)
				continue;
			int taken = 0;
			for (int j = 0; j < n; j++)
				taken |= out[j] == i;
			if (!taken && (best < 0 || score[i] > score[best]))
				best = i;
		}
		if (best < 0)
			break;
		out[n++] = best;
	}
	return n;
}

Test(dataio, hidden_tastes_beat_popularity)
{
	char users[16], items[16];
	snprintf(users, sizeof(users), "%d", QT_USERS);
	snprintf(items, sizeof(items), "%d", QT_ITEMS);
	cr_assert_eq(RUN(trn_cmd_generate, "generate", "--out", path_of("q"), "--users", users,
	                 "--items", items, "--seed", "5", "--end", "1790000000"),
	             0);
	snprintf(pa, sizeof(pa), "%s/q/events.csv", dir);
	FILE *f = fopen(pa, "r");
	cr_assert_not_null(f);
	/* per user, the interacted items in time order (the file is sorted per user) */
	static int seq[QT_USERS + 1][4096];
	static int nseq[QT_USERS + 1];
	char line[256];
	cr_assert_not_null(fgets(line, sizeof(line), f)); /* header */
	while (fgets(line, sizeof(line), f) != NULL) {
		char id[64];
		int u, i, t;
		if (sscanf(line, "%63[^,],%d,%d,%d", id, &u, &i, &t) != 4 || t < 2 || t > 4)
			continue;
		if (u >= 1 && u <= QT_USERS && nseq[u] < 4096)
			seq[u][nseq[u]++] = i;
	}
	fclose(f);
	static unsigned char train[QT_USERS + 1][QT_ITEMS + 1];
	static double co[QT_ITEMS + 1][QT_ITEMS + 1];
	static double pop[QT_ITEMS + 1];
	int cut[QT_USERS + 1];
	for (int u = 1; u <= QT_USERS; u++) {
		cut[u] = nseq[u] * 8 / 10;
		for (int k = 0; k < cut[u]; k++)
			train[u][seq[u][k]] = 1;
		for (int a = 1; a <= QT_ITEMS; a++) {
			if (!train[u][a])
				continue;
			pop[a] += 1;
			for (int b = 1; b <= QT_ITEMS; b++)
				if (train[u][b] && b != a)
					co[a][b] += 1;
		}
	}
	int users_eval = 0, hit_pop = 0, hit_knn = 0;
	static double score[QT_ITEMS + 1];
	for (int u = 1; u <= QT_USERS; u++) {
		unsigned char test[QT_ITEMS + 1] = {0};
		int ntest = 0, top[10], n;
		for (int k = cut[u]; k < nseq[u]; k++)
			if (!train[u][seq[u][k]] && !test[seq[u][k]]) {
				test[seq[u][k]] = 1;
				ntest++;
			}
		if (cut[u] == 0 || ntest == 0)
			continue;
		users_eval++;
		n = qt_top10(pop, train[u], top);
		for (int k = 0, h = 0; k < n && !h; k++)
			hit_pop += h = test[top[k]];
		memset(score, 0, sizeof(score));
		for (int a = 1; a <= QT_ITEMS; a++)
			if (train[u][a])
				for (int b = 1; b <= QT_ITEMS; b++)
					if (co[a][b] > 0)
						score[b] += co[a][b] / sqrt(pop[a] * pop[b]);
		n = qt_top10(score, train[u], top);
		for (int k = 0, h = 0; k < n && !h; k++)
			hit_knn += h = test[top[k]];
	}
	double hp = (double) hit_pop / users_eval, hk = (double) hit_knn / users_eval;
	fprintf(stderr, "hidden tastes: users=%d hit@10 popularity=%.3f item-knn=%.3f\n",
	        users_eval, hp, hk);
	cr_assert_gt(users_eval, QT_USERS / 2);
	cr_assert_gt(hk, hp * 1.25, "item-knn hit@10 %.3f is not clearly above popularity %.3f", hk,
	             hp);
}
