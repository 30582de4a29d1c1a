/* rs-train describe: every figure of the report on a small hand-made event set, with the
 * answers worked out by hand below (not by the code under test). The set goes through the real
 * command (tr_cmd_describe with --json), read back with jansson. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "describe.h"
#include "helpers.h"

TestSuite(describe, .fini = th_cleanup);

/* R = 1700000000 = 2023-11-14T22:13:20Z, 80000 s into its UTC day (day 19675). */
#define R     1700000000LL
#define NOW_S "1702592000" /* R + 30 days */

static char dir[256];

static void
put(FILE *f, int id, int user, int item, const char *type, const char *price, long long ts_ms)
{
	fprintf(f, "e%d,%d,%d,%s,,%s,%lld\n", id, user, item, type, price, ts_ms);
}

/* The hand-made set (offsets in seconds from R):
 *  u1: i1 view 0, i1 add_to_cart 60, i1 purchase 120 (price 12, the catalog says 10),
 *      i1 purchase +22 days (1900800), i2 view 180, i2 view 180 (an exact duplicate)
 *  u2: i1 view 3600, i3 view 5600 (2000 s later: a new session), i3 add_to_cart 5700,
 *      i5 view 5800 (price 5; i5 has no catalog row)
 *  u3: 70 views of i4 every 0.5 s from +20 days (1728000): a bot (70 > 60 in 60 s)
 *  u4: i3 purchase +25 days (2160000), i2 view at now + 1 day (future), i1 view at 1000 s after
 *      1970 (before the sane epoch)
 * Catalog: i1 Cat/A 10.00, i2 Cat/A 20.00, i3 Cat/B 40.00, i4 Cat/B no price. */
static const char *
write_set(void)
{
	char path[300];
	FILE *f;
	int id = 1;

	snprintf(dir, sizeof(dir), "%s", th_tmpdir());
	snprintf(path, sizeof(path), "%s/items.csv", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("item_id,external_id,title,category,brand,price,in_stock\n"
	      "1,,\"Knife, large\",Cat/A,b,10.00,true\n"
	      "2,,B,Cat/A,b,20.00,true\n"
	      "3,,C,Cat/B,b,40.00,true\n"
	      "4,,D,Cat/B,b,,true\n",
	      f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/events.csv", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("event_id,user_id,item_id,type,value,price,ts_ms\n", f);
	put(f, id++, 1, 1, "1", "", R * 1000);
	put(f, id++, 1, 1, "3", "", (R + 60) * 1000);
	put(f, id++, 1, 1, "4", "12.00", (R + 120) * 1000);
	put(f, id++, 1, 1, "4", "", (R + 1900800) * 1000);
	put(f, id++, 1, 2, "1", "", (R + 180) * 1000);
	put(f, id++, 1, 2, "1", "", (R + 180) * 1000);
	put(f, id++, 2, 1, "1", "", (R + 3600) * 1000);
	put(f, id++, 2, 3, "1", "", (R + 5600) * 1000);
	put(f, id++, 2, 3, "3", "", (R + 5700) * 1000);
	put(f, id++, 2, 5, "1", "5.00", (R + 5800) * 1000);
	for (int k = 0; k < 70; k++)
		put(f, id++, 3, 4, "1", "", (R + 1728000) * 1000 + k * 500);
	put(f, id++, 4, 3, "4", "", (R + 2160000) * 1000);
	put(f, id++, 4, 2, "1", "", (R + 2592000 + 86400) * 1000);
	put(f, id++, 4, 1, "1", "", 1000 * 1000);
	fclose(f);
	cr_assert_eq(id, 84);
	static char ev[300];
	snprintf(ev, sizeof(ev), "%s/events.csv", dir);
	return ev;
}

static json_t *
run_describe(const char *input, const char *format, const char *extra1, const char *extra2)
{
	char out[300], html[300];
	snprintf(out, sizeof(out), "%s/report.json", dir);
	snprintf(html, sizeof(html), "%s/report.html", dir);
	char *argv[16];
	int argc = 0;
	argv[argc++] = "describe";
	argv[argc++] = "--input";
	argv[argc++] = (char *) input;
	if (format != NULL) {
		argv[argc++] = "--format";
		argv[argc++] = (char *) format;
	}
	argv[argc++] = "--now";
	argv[argc++] = NOW_S;
	argv[argc++] = "--json";
	argv[argc++] = out;
	argv[argc++] = "--html";
	argv[argc++] = html;
	argv[argc++] = "--quiet";
	if (extra1 != NULL)
		argv[argc++] = (char *) extra1;
	if (extra2 != NULL)
		argv[argc++] = (char *) extra2;
	argv[argc] = NULL;
	cr_assert_eq(tr_cmd_describe(argc, argv), 0);
	json_error_t je;
	json_t *r = json_load_file(out, 0, &je);
	cr_assert_not_null(r, "report.json: %s", je.text);
	return r;
}

static const json_t *
at(const json_t *o, const char *path)
{
	char buf[200], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k != NULL; k = strtok_r(NULL, ".", &save)) {
		cr_assert(json_is_object(o), "%s: no object above '%s'", path, k);
		o = json_object_get(o, k);
		cr_assert_not_null(o, "%s: no key '%s'", path, k);
	}
	return o;
}

static void
is_num(const json_t *r, const char *path, double want)
{
	const json_t *v = at(r, path);
	cr_assert(json_is_number(v), "%s is not a number", path);
	cr_assert(fabs(json_number_value(v) - want) < 1e-6, "%s = %.9g, want %.9g", path,
	          json_number_value(v), want);
}

static void
is_str(const json_t *r, const char *path, const char *want)
{
	const json_t *v = at(r, path);
	cr_assert(json_is_string(v), "%s is not a string", path);
	cr_assert_str_eq(json_string_value(v), want, "%s", path);
}

static const json_t *
find_cat(const json_t *arr, const char *name)
{
	for (size_t k = 0; k < json_array_size(arr); k++)
		if (strcmp(json_string_value(json_object_get(json_array_get(arr, k), "category")),
		           name) == 0)
			return json_array_get(arr, k);
	cr_assert_fail("no category %s", name);
	return NULL;
}

Test(describe, counts_density_and_types)
{
	json_t *r = run_describe(write_set(), NULL, NULL, NULL);
	is_str(r, "format", "events"); /* detected from the header */
	is_num(r, "counts.events", 83);
	is_num(r, "counts.users", 4);
	is_num(r, "counts.items", 5);
	is_num(r, "counts.catalog_items", 4);
	/* pairs: (1,1) (1,2) (2,1) (2,3) (2,5) (3,4) (4,3) (4,2) (4,1) */
	is_num(r, "counts.pairs", 9);
	is_num(r, "counts.density", 9.0 / 20.0);
	is_num(r, "counts.by_type.view", 78); /* 6 + 70 bot views + the future + the 1970 one */
	is_num(r, "counts.by_type.add_to_cart", 2);
	is_num(r, "counts.by_type.purchase", 3);
	is_num(r, "counts.by_type.rating", 0);
	cr_assert_null(json_object_get(at(r, "counts.by_type"), "interaction"));
	json_decref(r);
}

Test(describe, time_span_and_events_per_day)
{
	json_t *r = run_describe(write_set(), NULL, NULL, NULL);
	/* the future and the 1970 event are left out: first R, last R + 25 days */
	is_str(r, "time.first", "2023-11-14T22:13:20Z");
	is_str(r, "time.last", "2023-12-09T22:13:20Z");
	is_num(r, "time.span_days", 25.0);
	/* UTC days 0..25 of the series: day 0 holds 9 events (R+5800 s is still day 0: 80000 +
	 * 5800 < 86400), day 20 the 70 bot views, day 22 and day 25 one each, 22 days none */
	is_num(r, "time.days", 26);
	is_num(r, "time.events_per_day.mean", 81.0 / 26.0);
	is_num(r, "time.events_per_day.median", 0);
	is_num(r, "time.events_per_day.max", 70);
	is_num(r, "time.series_bucket_days", 1);
	is_str(r, "time.series_start", "2023-11-14T00:00:00Z");
	const json_t *s = at(r, "time.series");
	cr_assert_eq(json_array_size(s), 26);
	cr_assert_eq(json_integer_value(json_array_get(s, 0)), 9);
	cr_assert_eq(json_integer_value(json_array_get(s, 20)), 70);
	cr_assert_eq(json_integer_value(json_array_get(s, 22)), 1);
	cr_assert_eq(json_integer_value(json_array_get(s, 25)), 1);
	cr_assert_eq(json_integer_value(json_array_get(s, 10)), 0);
	json_decref(r);
}

Test(describe, user_and_item_distributions)
{
	json_t *r = run_describe(write_set(), NULL, NULL, NULL);
	/* events per user: u1 6, u2 4, u3 70, u4 3 -> [3, 4, 6, 70] */
	is_num(r, "user_activity.min", 3);
	is_num(r, "user_activity.p25", 3); /* x[ceil(1) - 1] */
	is_num(r, "user_activity.median", 4);
	is_num(r, "user_activity.p75", 6);
	is_num(r, "user_activity.p90", 70);
	is_num(r, "user_activity.max", 70);
	is_num(r, "user_activity.mean", 83.0 / 4.0);
	/* Gini: (-3*3 - 1*4 + 1*6 + 3*70) / (4 * 83) = 203 / 332 */
	is_num(r, "user_activity.gini", 203.0 / 332.0);
	/* histogram bins [1] [2] [3-4] [5-8] [9-16] [17-32] [33-64] [65-128]: 0 0 2 1 0 0 0 1 */
	const json_t *h = at(r, "user_activity.histogram");
	static const int want_h[] = {0, 0, 2, 1, 0, 0, 0, 1};
	cr_assert_eq(json_array_size(h), 8);
	for (int k = 0; k < 8; k++)
		is_num(json_array_get(h, (size_t) k), "count", want_h[k]);
	is_num(json_array_get(h, 7), "from", 65);
	is_num(json_array_get(h, 7), "to", 128);

	/* events per item: i1 6, i2 3, i3 3, i4 70, i5 1 -> [1, 3, 3, 6, 70] */
	is_num(r, "item_popularity.min", 1);
	is_num(r, "item_popularity.p25", 3);
	is_num(r, "item_popularity.median", 3);
	is_num(r, "item_popularity.p75", 6);
	is_num(r, "item_popularity.p90", 70);
	is_num(r, "item_popularity.mean", 83.0 / 5.0);
	/* (-4*1 - 2*3 + 0*3 + 2*6 + 4*70) / (5 * 83) = 282 / 415 */
	is_num(r, "item_popularity.gini", 282.0 / 415.0);
	/* top 1% of 5 items = ceil(0.05) = 1 item (i4, 70 events) */
	is_num(r, "item_popularity.top1pct_items", 1);
	is_num(r, "item_popularity.top1pct_share", 70.0 / 83.0);
	is_num(r, "item_popularity.items_for_50pct", 1);
	is_num(r, "item_popularity.items_for_80pct", 1); /* 70 >= 0.8 * 83 = 66.4 */
	/* long tail: 101 points (0%, 1%, ..., 100%); 20% of 5 items = 1 item */
	const json_t *lt = at(r, "item_popularity.long_tail");
	cr_assert_eq(json_array_size(lt), 101);
	cr_assert_float_eq(json_real_value(json_array_get(json_array_get(lt, 20), 1)), 70.0 / 83.0,
	                   1e-9);
	cr_assert_float_eq(json_real_value(json_array_get(json_array_get(lt, 40), 1)), 76.0 / 83.0,
	                   1e-9); /* + i1 */
	cr_assert_float_eq(json_real_value(json_array_get(json_array_get(lt, 100), 1)), 1.0, 1e-9);
	json_decref(r);
}

Test(describe, funnel_overall_and_per_category)
{
	json_t *r = run_describe(write_set(), NULL, NULL, NULL);
	/* view pairs: every pair but (4,3) = 8; cart pairs (1,1) (2,3); purchase pairs (1,1) (4,3)
	 */
	is_num(r, "funnel.overall.view", 8);
	is_num(r, "funnel.overall.add_to_cart", 2);
	is_num(r, "funnel.overall.purchase", 2);
	is_num(r, "funnel.overall.view_to_cart", 2.0 / 8.0);
	is_num(r, "funnel.overall.cart_to_purchase", 1.0 / 2.0);
	is_num(r, "funnel.overall.view_to_purchase", 1.0 / 8.0);
	const json_t *bc = at(r, "funnel.by_category");
	cr_assert_eq(json_array_size(bc), 3);
	/* ordered by events: Cat/B (i3 3 + i4 70), Cat/A (i1 6 + i2 3), (none) (i5) */
	is_str(json_array_get(bc, 0), "category", "Cat/B");
	is_str(json_array_get(bc, 2), "category", "(none)");
	const json_t *a = find_cat(bc, "Cat/A"), *b = find_cat(bc, "Cat/B");
	is_num(a, "events", 9);
	is_num(a, "view", 5); /* (1,1) (1,2) (2,1) (4,2) (4,1) */
	is_num(a, "view_to_cart", 1.0 / 5.0);
	is_num(a, "cart_to_purchase", 1.0);
	is_num(a, "view_to_purchase", 1.0 / 5.0);
	is_num(b, "events", 73);
	is_num(b, "view", 2); /* (2,3) (3,4) */
	is_num(b, "view_to_cart", 0.5);
	is_num(b, "cart_to_purchase", 0.0); /* (2,3) carted, (4,3) bought without a cart */
	is_num(b, "view_to_purchase", 0.0);
	json_decref(r);
}

Test(describe, repeat_purchases_sessions_and_cold)
{
	json_t *r = run_describe(write_set(), NULL, NULL, NULL);
	/* bought pairs (1,1) twice, (4,3) once; buyers u1 (2 purchases), u4 (1) */
	is_num(r, "repeat_purchase.bought_pairs", 2);
	is_num(r, "repeat_purchase.repeat_pair_rate", 0.5);
	is_num(r, "repeat_purchase.buyers", 2);
	is_num(r, "repeat_purchase.repeat_buyer_rate", 0.5);
	/* sessions (gap 1800 s): u1 [0..180] 5 events 180 s, [+22 d] 1; u2 [3600] 1,
	 * [5600..5800] 3 events 200 s; u3 70 events 34.5 s; u4 [+25 d] 1 */
	is_num(r, "sessions.gap_s", 1800);
	is_num(r, "sessions.count", 6);
	is_num(r, "sessions.events.median", 1); /* [1 1 1 3 5 70] */
	is_num(r, "sessions.events.p75", 5);
	is_num(r, "sessions.events.max", 70);
	is_num(r, "sessions.events.mean", 81.0 / 6.0);
	is_num(r, "sessions.duration_s.median", 0); /* [0 0 0 34.5 180 200] */
	is_num(r, "sessions.duration_s.p75", 180);
	is_num(r, "sessions.duration_s.max", 200);
	is_num(r, "sessions.duration_s.mean", 414.5 / 6.0);
	/* the last 7 days start at R + 25 d - 7 d = R + 18 d: active users u1 (+22 d), u3, u4;
	 * new among them u3 (first +20 d) and u4 (first timed +25 d). Items active: i1, i3, i4;
	 * new: i4 */
	is_str(r, "cold.period_start", "2023-12-02T22:13:20Z");
	is_num(r, "cold.active_users", 3);
	is_num(r, "cold.cold_users", 2);
	is_num(r, "cold.cold_user_share", 2.0 / 3.0);
	is_num(r, "cold.active_items", 3);
	is_num(r, "cold.cold_items", 1);
	is_num(r, "cold.cold_item_share", 1.0 / 3.0);
	json_decref(r);
}

Test(describe, prices_per_category)
{
	json_t *r = run_describe(write_set(), NULL, NULL, NULL);
	/* catalog prices win over event prices (i1 10, not 12); i5 has only its event price 5;
	 * i4 none: priced i1 10, i2 20, i3 40, i5 5 */
	is_num(r, "prices.priced_items", 4);
	const json_t *bc = at(r, "prices.by_category");
	const json_t *all = find_cat(bc, "(all)"), *a = find_cat(bc, "Cat/A");
	is_num(all, "min", 5);
	is_num(all, "median", 10); /* [5 10 20 40] */
	is_num(all, "p75", 20);
	is_num(all, "max", 40);
	is_num(all, "mean", 18.75);
	is_num(a, "n", 2);
	is_num(a, "median", 10);
	is_num(a, "mean", 15);
	is_num(find_cat(bc, "Cat/B"), "max", 40);
	is_num(find_cat(bc, "(none)"), "max", 5);
	cr_assert_eq(json_array_size(bc), 4);
	json_decref(r);
}

Test(describe, data_quality)
{
	json_t *r = run_describe(write_set(), NULL, NULL, NULL);
	is_num(r, "quality.duplicates", 1);
	is_num(r, "quality.duplicate_share", 1.0 / 83.0);
	is_num(r, "quality.unknown_item_events", 1); /* i5 */
	is_num(r, "quality.future_events", 1);
	is_num(r, "quality.before_epoch_events", 1);
	is_num(r, "quality.bots.users", 1);
	is_num(r, "quality.bots.events", 70);
	cr_assert_str_eq(json_string_value(json_array_get(at(r, "quality.bots.user_ids"), 0)), "3");
	json_decref(r);
	/* "within 60 s" = less than 60 s apart. u1's busiest minute holds 2 events (the two at
	 * 180 s; 0, 60, 120 are 60 s apart), u2's 1 (gaps of 100 s and more), u4's 1. */
	r = run_describe(write_set(), NULL, "--bot-rate", "2");
	is_num(r, "quality.bots.users", 1);
	json_decref(r);
	r = run_describe(write_set(), NULL, "--bot-rate", "1");
	is_num(r, "quality.bots.users", 2); /* u1 and u3 */
	is_num(r, "quality.bots.events", 76);
	json_decref(r);
}

Test(describe, train_csv_and_importer_formats)
{
	write_set();
	/* the CSV fit --train reads: no types -> untyped interactions, no catalog */
	const char *train = th_write_tmp("user,item,timestamp\n"
	                                 "a,x,1700000000\n"
	                                 "a,y,1700000100\n"
	                                 "b,x,1700000200\n"
	                                 "b,x,1700000200\n");
	json_t *r = run_describe(train, NULL, NULL, NULL);
	is_str(r, "format", "train");
	is_num(r, "counts.events", 4);
	is_num(r, "counts.by_type.interaction", 4);
	is_num(r, "counts.pairs", 3);
	is_num(r, "quality.duplicates", 1);
	cr_assert(json_is_null(at(r, "quality.unknown_item_events")));
	cr_assert(json_is_null(at(r, "prices")));
	json_decref(r);
	/* RetailRocket's events.csv through the importer: visitor 0 -> user 1 */
	const char *rr = th_write_tmp("timestamp,visitorid,event,itemid,transactionid\n"
	                              "1433221332117,0,view,10,\n"
	                              "1433224214164,0,addtocart,10,\n"
	                              "1433221999827,7,view,10,\n"
	                              "1433224214165,0,transaction,10,4000\n");
	r = run_describe(rr, "retailrocket", NULL, NULL);
	is_num(r, "counts.users", 2);
	is_num(r, "counts.items", 1);
	is_num(r, "funnel.overall.view", 2);
	is_num(r, "funnel.overall.view_to_cart", 0.5);
	is_num(r, "funnel.overall.cart_to_purchase", 1.0);
	is_str(r, "time.first", "2015-06-02T05:02:12Z");
	json_decref(r);
	/* sequences carry order only: no time figures */
	const char *seq = th_write_tmp("1 5 6 7\n2 5\n");
	r = run_describe(seq, "sequence", NULL, NULL);
	is_num(r, "counts.by_type.purchase", 4);
	is_num(r, "counts.items", 3);
	cr_assert(json_is_null(at(r, "time")));
	cr_assert(json_is_null(at(r, "sessions")));
	json_decref(r);
}

Test(describe, errors_name_the_file_and_line)
{
	write_set();
	const char *bad = th_write_tmp("event_id,user_id,item_id,type,value,price,ts_ms\n"
	                               "e1,1,1,view,,,1000\n"
	                               "e2,1,1,teleport,,,2000\n");
	char *argv[] = {"describe", "--input", (char *) bad, "--quiet", NULL};
	cr_assert_eq(tr_cmd_describe(4, argv), 1);
	tr_desc_input in;
	tr_error err;
	char want[400];
	tr_desc_input_init(&in);
	cr_assert_neq(tr_desc_load_file(&in, bad, NULL, NULL, 0, NULL, &err), 0);
	snprintf(want, sizeof(want), "%s:3: unknown event type 'teleport'", bad);
	cr_assert_str_eq(err.msg, want);
	tr_desc_input_fini(&in);
	char *argv2[] = {"describe", "--dsn", "x", "--input", "y", NULL};
	cr_assert_eq(tr_cmd_describe(5, argv2), 2);
	char *argv3[] = {"describe", "--input", (char *) bad, "--format", "nope", "--quiet", NULL};
	cr_assert_eq(tr_cmd_describe(6, argv3), 1);
}
