/* The "how it works" inspector end to end: PostgreSQL, the five services as processes, two
 * published model versions (like admin_test.c), real HTTP.
 *  - what-if: a hypothetical purchase removes that item from the list, a hypothetical view
 *    brings in that item's neighbours, and the events table does not change;
 *  - version=A / version=B (admins) give answers of A and B while the default is the active
 *    one; a caller that is not an admin gets 403, an unpublished version 404;
 *  - explain's numbers equal the downstreams' answers and an independent computation (the
 *    fold-in and the als top 5 recomputed here from the published factors), its catalog the
 *    seeded titles;
 *  - GET /v1/users/{id}/history returns the seeded events with their titles. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "it_models.h"
#include "stack.h"

#define TOKEN "it-inspector-token-0123456789abcdef"

static test_stack st;
static const char *const admin[] = {"Authorization: Bearer " TOKEN, NULL};
static char key_header[200];
static const char *const key[] = {key_header, NULL};

static void
kill_leftovers(void)
{
	stack_kill_all(&st);
}

static json_t *
get_json(const char *path, const char *const *hdr, long want)
{
	http_reply r;
	json_error_t jerr;
	cr_assert_eq(http_do_h(&st, "GET", path, NULL, hdr, &r), 0, "GET %s failed", path);
	cr_assert_eq(r.status, want, "GET %s: status %ld, body %.600s", path, r.status, r.body);
	json_t *j = json_loads(r.body, 0, &jerr);
	cr_assert_not_null(j, "GET %s: not JSON: %s", path, r.body);
	http_reply_free(&r);
	return j;
}

static double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static const char *
error_code(json_t *j)
{
	return json_string_value(json_object_get(json_object_get(j, "error"), "code"));
}

static long
count(const char *sql)
{
	char v[32];
	cr_assert_eq(stack_sql_value(&st, sql, v, sizeof(v)), 0, "%s", sql);
	return atol(v);
}

/* Position of item in the answer's list, -1 if absent. */
static int
position(json_t *rec, long long item)
{
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(rec, "items"), i, it)
	{
		if (json_integer_value(json_object_get(it, "item_id")) == item)
			return (int) i;
	}
	return -1;
}

/* The explain candidate of item, NULL if absent. */
static json_t *
explain_candidate(json_t *rec, long long item)
{
	size_t i;
	json_t *c;
	json_array_foreach(
	        json_object_get(json_object_get(json_object_get(rec, "explain"), "candidate"),
	                        "candidates"),
	        i, c)
	{
		if (json_integer_value(json_object_get(c, "item_id")) == item)
			return c;
	}
	return NULL;
}

/* The source of a candidate, NULL if absent. */
static json_t *
source_of(json_t *cand, const char *name)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(cand, "sources"), i, s)
	{
		if (strcmp(json_string_value(json_object_get(s, "source")), name) == 0)
			return s;
	}
	return NULL;
}

/* The published factors of itm_publish (it_models.h), recomputed here. */
static double
itm_factor(int variant, uint32_t c, uint32_t f)
{
	return (double) (float) (0.1 + 0.05 * sin((double) (c * (variant + 3) + f * 7)));
}

/* rs-feature's fold-in, solved here in double precision: u = (Y'Y + sum (c_i - 1) y_i y_i' +
 * reg I)^-1 sum c_i y_i, c_i = 1 + alpha w_i (alpha 10, reg 0.1: itm_publish's params). */
static void
fold_in(int variant, const long long *items, const double *w, int n, double *u)
{
	enum { F = ITM_FACTORS };
	double A[F][F + 1];
	memset(A, 0, sizeof(A));
	for (uint32_t c = 0; c < ITM_ITEMS; c++)
		for (int a = 0; a < F; a++)
			for (int b = 0; b < F; b++)
				A[a][b] += itm_factor(variant, c, (uint32_t) a) *
				           itm_factor(variant, c, (uint32_t) b);
	for (int a = 0; a < F; a++)
		A[a][a] += 0.1;
	for (int h = 0; h < n; h++) {
		uint32_t code = (uint32_t) items[h] - 1;
		double ci = 1 + 10.0 * w[h];
		for (int a = 0; a < F; a++) {
			double ya = itm_factor(variant, code, (uint32_t) a);
			for (int b = 0; b < F; b++)
				A[a][b] += (ci - 1) * ya * itm_factor(variant, code, (uint32_t) b);
			A[a][F] += ci * ya;
		}
	}
	for (int p = 0; p < F; p++) {
		int best = p;
		for (int r = p + 1; r < F; r++)
			if (fabs(A[r][p]) > fabs(A[best][p]))
				best = r;
		for (int c = 0; c <= F; c++) {
			double t = A[p][c];
			A[p][c] = A[best][c];
			A[best][c] = t;
		}
		for (int r = 0; r < F; r++) {
			if (r == p)
				continue;
			double q = A[r][p] / A[p][p];
			for (int c = p; c <= F; c++)
				A[r][c] -= q * A[p][c];
		}
	}
	for (int a = 0; a < F; a++)
		u[a] = A[a][F] / A[a][a];
}

Test(inspector, what_if_versions_explain_and_history, .timeout = 180, .fini = kill_leftovers)
{
	char root[] = "/tmp/rs-it-inspector-XXXXXX";
	char path[256];

	fx_tmpdir(root);
	cr_assert_eq(stack_db_reset(&st, "rs_it_inspector"), 0);
	cr_assert_eq(stack_sql(&st, it_seed_sql), 0, "seeding failed");
	itm_publish(&st, root, "it-A", 0, "{\"ndcg@10\": 0.31}");
	itm_publish(&st, root, "it-B", 1, "{\"ndcg@10\": 0.35}");
	cr_assert_eq(stack_sql(&st, "select rs_model_activate('it-A');"), 0);
	char k[160];
	cr_assert_eq(stack_apikey(&st, "inspector-test", k, sizeof(k)), 0);
	snprintf(key_header, sizeof(key_header), "Authorization: Bearer %s", k);
	st.extra_env[0] = "RS_ADMIN_TOKEN=" TOKEN;
	cr_assert_eq(stack_start(&st, 18420, 20000), 0, "stack did not become ready");
	for (int i = 0; i < 200; i++) { /* every service on it-A */
		json_t *j = get_json("/v1/users/1/recommendations?k=5", key, 200);
		int a = strcmp(json_string_value(json_object_get(j, "model_version")), "it-A") == 0;
		json_decref(j);
		if (a)
			break;
		usleep(50 * 1000);
	}

	/* ---- explain against the downstreams and an independent computation ---- */
	/* user 1: viewed 2 and 22 two days ago, bought 2 a day ago (it_seed_sql) */
	json_t *base = get_json("/v1/users/1/recommendations?k=10&explain=1", key, 200);
	cr_assert_str_eq(json_string_value(json_object_get(base, "model_version")), "it-A");
	cr_assert(!json_is_true(json_object_get(base, "degraded")), "%s",
	          json_string_value(json_object_get(base, "degraded_reason")));
	json_t *ex = json_object_get(base, "explain");
	double u[ITM_FACTORS], norm = 0;
	fold_in(0, (long long[]){2, 22}, (double[]){3.0, 1.0}, 2, u);
	for (int a = 0; a < (int) ITM_FACTORS; a++)
		norm += u[a] * u[a];
	json_t *fe = json_object_get(ex, "feature");
	cr_assert_float_eq(json_number_value(json_object_get(fe, "embedding_norm")), sqrt(norm),
	                   1e-3 * sqrt(norm), "embedding_norm %g, expected %g",
	                   json_number_value(json_object_get(fe, "embedding_norm")), sqrt(norm));
	/* nearest = the als source's ranks 1..5 = the top 5 of factors . u without the bought 2 */
	double sc[ITM_ITEMS];
	int order[ITM_ITEMS], no = 0;
	for (uint32_t c = 0; c < ITM_ITEMS; c++) {
		sc[c] = 0;
		for (uint32_t f = 0; f < ITM_FACTORS; f++)
			sc[c] += itm_factor(0, c, f) * u[f];
		if (c + 1 != 2)
			order[no++] = (int) c;
	}
	for (int a = 1; a < no; a++) /* by score, best first */
		for (int b = a; b > 0 && sc[order[b]] > sc[order[b - 1]]; b--) {
			int t = order[b];
			order[b] = order[b - 1];
			order[b - 1] = t;
		}
	json_t *nearest = json_object_get(fe, "nearest");
	cr_assert_eq(json_array_size(nearest), 5, "nearest has %zu items",
	             json_array_size(nearest));
	for (size_t r = 0; r < 5; r++) {
		json_t *n = json_array_get(nearest, r);
		long long id = json_integer_value(json_object_get(n, "item_id"));
		double got = json_number_value(json_object_get(n, "score"));
		/* near-ties may swap in float: compare ids where the gap is clear */
		if (fabs(sc[order[r]] - sc[order[r + 1]]) > 1e-5 &&
		    (r == 0 || fabs(sc[order[r]] - sc[order[r - 1]]) > 1e-5))
			cr_assert_eq(id, order[r] + 1, "nearest %zu: %lld, expected %d", r, id,
			             order[r] + 1);
		cr_assert_float_eq(got, sc[id - 1], 1e-4, "item %lld: %g vs %g", id, got,
		                   sc[id - 1]);
		/* ... and it is what candidate answered: als rank r + 1 */
		json_t *als = source_of(explain_candidate(base, id), "als");
		cr_assert_not_null(als);
		cr_assert_eq(json_integer_value(json_object_get(als, "rank")), (json_int_t) r + 1);
	}
	/* the ranking items: every candidate sent, best first; the first k are the answer's; the
	 * contributions and the base score add up to each score */
	json_t *re = json_object_get(ex, "ranking");
	json_t *ritems = json_object_get(re, "items");
	size_t n_ranked = json_array_size(ritems);
	cr_assert_eq(
	        json_array_size(ritems),
	        json_array_size(json_object_get(json_object_get(ex, "candidate"), "candidates")));
	cr_assert_str_eq(json_string_value(json_object_get(re, "ranker")), "linear");
	cr_assert_str_eq(json_string_value(json_object_get(re, "contributions")), "exact");
	size_t i;
	json_t *it;
	json_array_foreach(ritems, i, it)
	{
		double sum = json_number_value(json_object_get(re, "base_score"));
		size_t f;
		json_t *ft;
		json_array_foreach(json_object_get(it, "features"), f, ft)
		{
			cr_assert_str_neq(json_string_value(json_object_get(ft, "label")),
			                  json_string_value(json_object_get(ft, "name")));
			sum += json_number_value(json_object_get(ft, "contribution"));
		}
		cr_assert_float_eq(sum, json_number_value(json_object_get(it, "score")), 1e-4);
		if (i < json_array_size(json_object_get(base, "items"))) {
			json_t *li = json_array_get(json_object_get(base, "items"), i);
			cr_assert_eq(json_integer_value(json_object_get(it, "item_id")),
			             json_integer_value(json_object_get(li, "item_id")));
			cr_assert_float_eq(json_number_value(json_object_get(it, "score")),
			                   json_number_value(json_object_get(li, "score")), 1e-6);
		}
	}
	/* the hops are the answer's timings */
	json_t *hops = json_object_get(ex, "hops");
	cr_assert_eq(json_array_size(hops), 4);
	cr_assert_float_eq(json_number_value(json_object_get(json_array_get(hops, 1), "ms")),
	                   json_number_value(json_object_get(json_object_get(base, "timings_ms"),
	                                                     "candidate")),
	                   1e-9);
	/* the catalog: the seeded title, category and price of every item mentioned */
	json_t *cat = json_object_get(ex, "catalog");
	cr_assert_null(json_object_get(ex, "catalog_error"));
	json_array_foreach(json_object_get(json_object_get(ex, "candidate"), "candidates"), i, it)
	{
		char id[24];
		long long item = json_integer_value(json_object_get(it, "item_id"));
		snprintf(id, sizeof(id), "%lld", item);
		json_t *c = json_object_get(cat, id);
		char want[32];
		snprintf(want, sizeof(want), "%s %lld", item <= 20 ? "Novel" : "Pan", item);
		cr_assert_str_eq(json_string_value(json_object_get(c, "title")), want);
		cr_assert_str_eq(json_string_value(json_object_get(c, "category")),
		                 item <= 20 ? "Books/Fiction" : "Home/Kitchen");
		cr_assert_float_eq(json_number_value(json_object_get(c, "price")), 10.0 + item,
		                   1e-9);
	}
	cr_assert_not_null(json_object_get(cat, "22"), "history items are in the catalog");

	/* ---- what-if: nothing stored, and the list changes as the events say ---- */
	long events = count("select count(*) from events");
	long long top = json_integer_value(
	        json_object_get(json_array_get(json_object_get(base, "items"), 0), "item_id"));
	snprintf(path, sizeof(path), "/v1/users/1/recommendations?k=10&what_if=purchase:%lld", top);
	json_t *bought = get_json(path, key, 200);
	cr_assert_eq(position(bought, top), -1, "a hypothetical purchase of %lld left it in", top);
	json_t *wi = json_array_get(json_object_get(bought, "what_if"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(wi, "type")), "purchase");
	cr_assert_eq(json_integer_value(json_object_get(wi, "item_id")), top);
	json_decref(bought);
	/* a new customer (no events) who views Y: Y's neighbours come in, led by Y + 20
	 * (co-visitation: every customer who viewed Y also viewed Y + 20), with the version's
	 * trained neighbours Y + 1..3 (itm_publish) as candidates */
	json_t *cold = get_json("/v1/users/77/recommendations?k=10&explain=1", key, 200);
	long long y = 0;
	for (long long c = 3; c <= 17 && y == 0; c++)
		if (position(cold, c) < 0 && position(cold, c + 20) < 0)
			y = c;
	cr_assert_neq(y, 0, "no item outside the cold list to try");
	cr_assert_null(source_of(explain_candidate(cold, y + 20), "covisit"));
	snprintf(path, sizeof(path),
	         "/v1/users/77/recommendations?k=10&explain=1&what_if=view:%lld", y);
	json_t *viewed = get_json(path, key, 200);
	json_t *recent = json_object_get(
	        json_object_get(json_object_get(viewed, "explain"), "feature"), "recent");
	cr_assert_eq(json_array_size(recent), 1);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(recent, 0), "item_id")), y);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(recent, 0), "type")),
	                 "view");
	json_t *cv = source_of(explain_candidate(viewed, y + 20), "covisit");
	cr_assert_not_null(cv, "%lld's co-visitation neighbour %lld is no candidate", y, y + 20);
	cr_assert_eq(json_integer_value(json_object_get(cv, "because_item")), y);
	cr_assert_eq(position(viewed, y + 20), 0,
	             "the neighbour %lld of the viewed %lld does not lead", y + 20, y);
	char reason[64];
	snprintf(reason, sizeof(reason), "because you viewed Novel %lld", y);
	cr_assert_str_eq(json_string_value(json_object_get(
	                         json_array_get(json_object_get(viewed, "items"), 0), "reason")),
	                 reason);
	for (long long n = y + 1; n <= y + 3; n++) {
		json_t *kn = source_of(explain_candidate(viewed, n), "itemknn");
		cr_assert_not_null(kn, "trained neighbour %lld of %lld is no candidate", n, y);
		cr_assert_eq(json_integer_value(json_object_get(kn, "because_item")), y);
	}
	cr_assert_gt(json_number_value(json_object_get(
	                     json_object_get(json_object_get(viewed, "explain"), "feature"),
	                     "embedding_norm")),
	             0, "one hypothetical view gives a new customer a vector");
	json_decref(viewed);
	json_decref(cold);
	cr_assert_eq(count("select count(*) from events"), events,
	             "a what-if request stored events");
	cr_assert_eq(count("select count(*) from events where user_id = 1"), 3);
	/* and the next plain answers are the ones from before */
	json_t *again = get_json("/v1/users/1/recommendations?k=10", key, 200);
	cr_assert_eq(position(again, top), 0);
	json_decref(again);
	again = get_json("/v1/users/77/history", key, 200);
	cr_assert_eq(json_array_size(json_object_get(again, "events")), 0);
	json_decref(again);

	/* ---- versions ---- */
	json_t *va =
	        get_json("/v1/users/1/recommendations?k=10&explain=1&version=it-A", admin, 200);
	json_t *vb =
	        get_json("/v1/users/1/recommendations?k=10&explain=1&version=it-B", admin, 200);
	json_t *vd = get_json("/v1/users/1/recommendations?k=10", admin, 200);
	cr_assert(!json_is_true(json_object_get(va, "degraded")), "version=it-A: %s",
	          json_string_value(json_object_get(va, "degraded_reason")));
	cr_assert(!json_is_true(json_object_get(vb, "degraded")), "version=it-B: %s",
	          json_string_value(json_object_get(vb, "degraded_reason")));
	cr_assert_str_eq(json_string_value(json_object_get(va, "model_version")), "it-A");
	cr_assert_str_eq(json_string_value(json_object_get(vb, "model_version")), "it-B");
	cr_assert_str_eq(json_string_value(json_object_get(vd, "model_version")), "it-A");
	/* B's answer comes from B's factors: its embedding norm is B's fold-in */
	double ub[ITM_FACTORS], nb = 0;
	fold_in(1, (long long[]){2, 22}, (double[]){3.0, 1.0}, 2, ub);
	for (int a = 0; a < (int) ITM_FACTORS; a++)
		nb += ub[a] * ub[a];
	cr_assert_float_eq(json_number_value(json_object_get(
	                           json_object_get(json_object_get(vb, "explain"), "feature"),
	                           "embedding_norm")),
	                   sqrt(nb), 1e-3 * sqrt(nb));
	json_decref(va);
	json_decref(vb);
	json_decref(vd);
	json_t *e = get_json("/v1/users/1/recommendations?version=it-B", key, 403);
	cr_assert_str_eq(error_code(e), "forbidden");
	json_decref(e);
	e = get_json("/v1/users/1/recommendations?version=it-nope", admin, 404);
	cr_assert_str_eq(error_code(e), "not_found");
	json_decref(e);
	e = get_json("/v1/users/1/recommendations?what_if=buy:3", key, 400);
	cr_assert(strstr(json_string_value(json_object_get(json_object_get(e, "error"), "message")),
	                 "buy:3") != NULL);
	json_decref(e);

	/* ---- history ---- */
	json_t *h = get_json("/v1/users/1/history?limit=10", key, 200);
	json_t *ev = json_object_get(h, "events");
	cr_assert_eq(json_array_size(ev), 3, "history of %zu events", json_array_size(ev));
	json_t *h0 = json_array_get(ev, 0);
	cr_assert_eq(json_integer_value(json_object_get(h0, "item_id")), 2);
	cr_assert_str_eq(json_string_value(json_object_get(h0, "type")), "purchase");
	cr_assert_str_eq(json_string_value(json_object_get(h0, "title")), "Novel 2");
	cr_assert_str_eq(json_string_value(json_object_get(h0, "category")), "Books/Fiction");
	cr_assert_float_eq(json_number_value(json_object_get(h0, "price")), 12.0, 1e-9);
	int seen2 = 0, seen22 = 0;
	json_array_foreach(ev, i, it)
	{
		long long id = json_integer_value(json_object_get(it, "item_id"));
		if (i > 0) {
			cr_assert_str_eq(json_string_value(json_object_get(it, "type")), "view");
			seen2 += id == 2;
			seen22 += id == 22;
			cr_assert_str_eq(json_string_value(json_object_get(it, "title")),
			                 id == 2 ? "Novel 2" : "Pan 22");
		}
		if (i > 0)
			cr_assert_leq(json_integer_value(json_object_get(it, "ts_ms")),
			              json_integer_value(
			                      json_object_get(json_array_get(ev, i - 1), "ts_ms")));
	}
	cr_assert(seen2 == 1 && seen22 == 1);
	json_decref(h);
	json_decref(base);

	/* what explain costs end to end (printed, not asserted: the machine is shared) */
	double ms[2] = {0, 0};
	size_t bytes[2] = {0, 0};
	for (int round = 0; round < 2; round++)
		for (int q = 0; q < 40; q++) {
			http_reply r;
			double t0 = now_ms();
			cr_assert_eq(http_do_h(&st, "GET",
			                       round ? "/v1/users/1/recommendations?k=10&explain=1"
			                             : "/v1/users/1/recommendations?k=10",
			                       NULL, key, &r),
			             0);
			ms[round] += now_ms() - t0;
			bytes[round] += r.len;
			cr_assert_eq(r.status, 200);
			http_reply_free(&r);
		}
	fprintf(stderr,
	        "inspector it: k=10 over HTTP: plain %.2f ms, %zu bytes; explain=1 (%zu candidates "
	        "explained, catalog query) %.2f ms, %zu bytes (mean of 40)\n",
	        ms[0] / 40, bytes[0] / 40, n_ranked, ms[1] / 40, bytes[1] / 40);

	cr_assert_eq(stack_stop(&st), 0, "a service did not exit 0 on SIGTERM");
	fx_rmtree(root);
}
