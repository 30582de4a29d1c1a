/* expreport: GET /v1/admin/experiments/{id}/report?window_hours=H (1..720, default 24).
 *
 * PostgreSQL computes the sums (rs_experiment_kpis, db/migrations/0006: attribution, exposure,
 * per-unit sums of squares and products, retention cohorts, coverage, novelty); this file
 * turns them into KPIs with 95 % intervals and the tests (expstats.h):
 *   ctr = clicks / impressions, add_to_cart_rate = add-to-carts / impressions: ratios over
 *     units (customer-days in a day row, customers in the totals), delta-method intervals
 *   conversion = units with an order / units (Wald); retention_d1/d7 = retained / cohort
 *   gmv_per_customer = GMV / exposed (mean per unit); arppu = GMV / buyers (mean per buyer);
 *   aov = GMV / orders (delta method over units); orders, gmv: counts
 *   coverage = distinct items shown / available catalog items; novelty (see the SQL)
 *   ltv = cumulative GMV / cumulative customers first exposed, through the day (totals: to
 *     date); ltv_projected_30d = ltv * 30 / (mean days since first exposure), a linear
 *     projection of GMV per customer to 30 days
 * Primary metric: every variant against the control (the first variant): the difference, its
 * interval and lift, and the test: two-proportion z (conversion), Welch's t
 * (gmv_per_customer), a z test on the delta-method ratios (ctr, add_to_cart_rate);
 * significant when p < 0.05.
 * SRM: Pearson's chi-square of exposed customers against the shares; flagged when p < 0.001.
 * CUPED: for gmv_per_customer and conversion, with x = a customer's events in the 28 days
 * before the start; theta = cov(y, x) / var(x) pooled over all variants; adjusted mean
 * ybar - theta (xbar_v - xbar), its variance var(y) - 2 theta cov(y, x) + theta^2 var(x) in
 * the variant; variance_reduction = 1 - that / var(y); and Welch's test on the adjusted means. */
#include "db.h"
#include "experiments.h"
#include "expstats.h"
#include "render.h"
#include "util.h"

#include "rs_err.h"
#include "rs_pg.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REP_WINDOW_DEFAULT 24
#define REP_WINDOW_MAX     720
#define REP_ALPHA          0.05
#define REP_SRM_ALPHA      0.001
#define REP_PRE            "28 days"

enum {
	C_VARIANT,
	C_DAY,
	C_EXPOSED,
	C_IMPS,
	C_CLICKS,
	C_ATC,
	C_ORDERS,
	C_BUYERS,
	C_GMV,
	C_IMP2,
	C_CLK2,
	C_CLK_IMP,
	C_ATC2,
	C_ATC_IMP,
	C_GMV2,
	C_ORD2,
	C_GMV_ORD,
	C_NEW,
	C_COH1,
	C_RET1,
	C_COH7,
	C_RET7,
	C_ITEMS,
	C_NOVELTY,
	C_PRE,
	C_PRE2,
	C_PRE_GMV,
	C_PRE_BUY,
	C_DAYS_EXPOSED,
	C_N
};

typedef struct rep_row {
	double v[C_N]; /* numeric columns (NAN when NULL) */
} rep_row;

static double
col(PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? NAN : strtod(PQgetvalue(res, r, c), NULL);
}

static json_t *
est_json(gw_est e)
{
	if (!e.ok)
		return json_null();
	return json_pack("{s:o,s:o,s:o,s:o}", "value", gw_json_num(e.value), "se",
	                 gw_json_num(e.se), "lo", gw_json_num(e.lo), "hi", gw_json_num(e.hi));
}

static json_t *
num_or_null(double v)
{
	return isfinite(v) ? gw_json_num(v) : json_null();
}

/* The KPIs of one row. catalog: available items. cum_gmv / cum_new: through this row. */
static json_t *
rep_kpis(const rep_row *r, double catalog, double cum_gmv, double cum_new)
{
	const double *v = r->v;
	json_t *o = json_object();
	json_object_set_new(o, "exposed", json_integer((json_int_t) v[C_EXPOSED]));
	json_object_set_new(o, "impressions", json_integer((json_int_t) v[C_IMPS]));
	json_object_set_new(o, "clicks", json_integer((json_int_t) v[C_CLICKS]));
	json_object_set_new(o, "add_to_carts", json_integer((json_int_t) v[C_ATC]));
	json_object_set_new(o, "orders", json_integer((json_int_t) v[C_ORDERS]));
	json_object_set_new(o, "buyers", json_integer((json_int_t) v[C_BUYERS]));
	json_object_set_new(o, "gmv", gw_json_num(v[C_GMV]));
	json_object_set_new(o, "ctr",
	                    est_json(gw_es_ratio(v[C_EXPOSED], v[C_CLICKS], v[C_IMPS], v[C_CLK2],
	                                         v[C_IMP2], v[C_CLK_IMP])));
	json_object_set_new(o, "add_to_cart_rate",
	                    est_json(gw_es_ratio(v[C_EXPOSED], v[C_ATC], v[C_IMPS], v[C_ATC2],
	                                         v[C_IMP2], v[C_ATC_IMP])));
	json_object_set_new(o, "conversion", est_json(gw_es_prop(v[C_EXPOSED], v[C_BUYERS])));
	json_object_set_new(o, "gmv_per_customer",
	                    est_json(gw_es_mean(v[C_EXPOSED], v[C_GMV], v[C_GMV2])));
	json_object_set_new(o, "arppu", est_json(gw_es_mean(v[C_BUYERS], v[C_GMV], v[C_GMV2])));
	json_object_set_new(o, "aov",
	                    est_json(gw_es_ratio(v[C_EXPOSED], v[C_GMV], v[C_ORDERS], v[C_GMV2],
	                                         v[C_ORD2], v[C_GMV_ORD])));
	json_object_set_new(o, "new_customers", json_integer((json_int_t) v[C_NEW]));
	json_object_set_new(o, "retention_d1", est_json(gw_es_prop(v[C_COH1], v[C_RET1])));
	json_object_set_new(o, "retention_d7", est_json(gw_es_prop(v[C_COH7], v[C_RET7])));
	json_object_set_new(o, "items_shown", json_integer((json_int_t) v[C_ITEMS]));
	json_object_set_new(o, "coverage",
	                    catalog > 0 ? gw_json_num(v[C_ITEMS] / catalog) : json_null());
	json_object_set_new(o, "novelty", num_or_null(v[C_NOVELTY]));
	json_object_set_new(o, "ltv", cum_new > 0 ? gw_json_num(cum_gmv / cum_new) : json_null());
	return o;
}

/* The primary metric's estimate of a whole-experiment row. */
static gw_est
rep_primary(const char *metric, const double *v)
{
	if (strcmp(metric, "ctr") == 0)
		return gw_es_ratio(v[C_EXPOSED], v[C_CLICKS], v[C_IMPS], v[C_CLK2], v[C_IMP2],
		                   v[C_CLK_IMP]);
	if (strcmp(metric, "add_to_cart_rate") == 0)
		return gw_es_ratio(v[C_EXPOSED], v[C_ATC], v[C_IMPS], v[C_ATC2], v[C_IMP2],
		                   v[C_ATC_IMP]);
	if (strcmp(metric, "conversion") == 0)
		return gw_es_prop(v[C_EXPOSED], v[C_BUYERS]);
	return gw_es_mean(v[C_EXPOSED], v[C_GMV], v[C_GMV2]);
}

/* A comparison object of b against control a. */
static json_t *
rep_compare(const char *name, gw_est a, gw_est b, const char *test, double stat, double df,
            double p)
{
	double diff = b.value - a.value, se = sqrt(a.se * a.se + b.se * b.se);
	json_t *o = json_pack(
	        "{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:s,s:o,s:o,s:b}", "variant", name, "control_value",
	        gw_json_num(a.value), "value", gw_json_num(b.value), "diff", gw_json_num(diff),
	        "diff_lo", gw_json_num(diff - GW_ES_Z95 * se), "diff_hi",
	        gw_json_num(diff + GW_ES_Z95 * se), "lift",
	        a.value != 0 ? gw_json_num(diff / a.value) : json_null(), "test", test, "statistic",
	        gw_json_num(stat), "p_value", gw_json_num(p), "significant", p < REP_ALPHA);
	if (df > 0)
		json_object_set_new(o, "df", gw_json_num(df));
	return o;
}

/* CUPED for one per-customer metric (y: sum, sum of squares, sum of x*y columns or values). */
typedef struct rep_y {
	double sy, syy, sxy;
} rep_y;

static json_t *
rep_cuped(const rep_row *tot, int nv, json_t *variants, const rep_y *ys, gw_est *adj)
{
	double N = 0, Sx = 0, Sxx = 0, Sy = 0, Sxy = 0;
	for (int i = 0; i < nv; i++) {
		N += tot[i].v[C_EXPOSED];
		Sx += tot[i].v[C_PRE];
		Sxx += tot[i].v[C_PRE2];
		Sy += ys[i].sy;
		Sxy += ys[i].sxy;
	}
	double varx = N > 1 ? (Sxx - Sx * Sx / N) / (N - 1) : 0;
	double cov = N > 1 ? (Sxy - Sx * Sy / N) / (N - 1) : 0;
	double theta = varx > 0 ? cov / varx : 0, xbar = N > 0 ? Sx / N : 0;
	json_t *a = json_array();
	for (int i = 0; i < nv; i++) {
		double n = tot[i].v[C_EXPOSED];
		gw_est plain = gw_es_mean(n, ys[i].sy, ys[i].syy);
		double mx = n > 0 ? tot[i].v[C_PRE] / n : 0, my = n > 0 ? ys[i].sy / n : 0;
		double vy = n > 1 ? (ys[i].syy - n * my * my) / (n - 1) : 0;
		double vx = n > 1 ? (tot[i].v[C_PRE2] - n * mx * mx) / (n - 1) : 0;
		double cxy = n > 1 ? (ys[i].sxy - n * mx * my) / (n - 1) : 0;
		double va = vy - 2 * theta * cxy + theta * theta * vx;
		if (va < 0)
			va = 0;
		adj[i] = (gw_est){0, 0, 0, 0, 0};
		if (n >= 1) {
			double m = my - theta * (mx - xbar), se = sqrt(va / n);
			adj[i] = (gw_est){1, m, se, m - GW_ES_Z95 * se, m + GW_ES_Z95 * se};
		}
		json_array_append_new(
		        a, json_pack("{s:O,s:o,s:o,s:o}", "variant",
		                     json_object_get(json_array_get(variants, (size_t) i), "name"),
		                     "unadjusted", est_json(plain), "adjusted", est_json(adj[i]),
		                     "variance_reduction",
		                     vy > 0 ? gw_json_num(1 - va / vy) : json_null()));
	}
	return json_pack("{s:o,s:o,s:o}", "theta", gw_json_num(theta), "pre_mean",
	                 gw_json_num(xbar), "variants", a);
}

void
gw_handle_exp_report(gw_server *srv, gw_req *req)
{
	static const char exp_sql[] =
	        "select x.primary_metric, x.status, "
	        "(select json_agg(json_build_object('name', v.name, 'strategy', v.strategy, "
	        "'model_version', v.model_version, 'model_kind', v.model_kind, 'share', v.share) "
	        "order by v.position) "
	        "from experiment_variants v where v.experiment_id = x.experiment_id)::text, "
	        "(select count(*) from items where available), x.name "
	        "from experiments x where x.experiment_id = $1::bigint";
	static const char kpi_sql[] =
	        "select variant, to_char(day, 'YYYY-MM-DD'), exposed, impressions, clicks, "
	        "add_to_carts, orders, buyers, gmv, sum_imp2, sum_clk2, sum_clk_imp, sum_atc2, "
	        "sum_atc_imp, sum_gmv2, sum_ord2, sum_gmv_ord, new_customers, cohort_d1, "
	        "retained_d1, cohort_d7, retained_d7, items_shown, novelty, pre_sum, pre_sum2, "
	        "pre_gmv, pre_buy, days_exposed "
	        "from rs_experiment_kpis($1::bigint, make_interval(hours => $2::int), "
	        "interval '" REP_PRE "')";
	char id[24], hours_s[16];
	int64_t idv;
	int hours, rv;
	json_error_t jerr;

	if (req->r_nparams < 1 || gw_parse_id(req->r_params[0], &idv) != 0) {
		gw_reply_error(req, 400, "bad_request", "experiment id must be a positive integer");
		return;
	}
	if (gw_query_int(req, "window_hours", 1, REP_WINDOW_MAX, REP_WINDOW_DEFAULT, &hours) != 0)
		return;
	snprintf(id, sizeof(id), "%lld", (long long) idv);
	snprintf(hours_s, sizeof(hours_s), "%d", hours);

	PGresult *er = gw_db_query(srv->s_db, exp_sql, 1, (const char *const[]){id}, &rv);
	if (er == NULL || rs_pg_check(NULL, er, PGRES_TUPLES_OK, "gw.report.experiment") != 0) {
		PQclear(er);
		gw_reply_error(req, 503, "unavailable", "the experiments store is unavailable");
		return;
	}
	if (PQntuples(er) != 1) {
		PQclear(er);
		gw_reply_error(req, 404, "not_found", "no experiment %s", id);
		return;
	}
	char metric[32];
	snprintf(metric, sizeof(metric), "%s", PQgetvalue(er, 0, 0));
	json_t *variants = json_loads(PQgetvalue(er, 0, 2), 0, &jerr);
	double catalog = strtod(PQgetvalue(er, 0, 3), NULL);
	json_t *head =
	        json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t) idv, "name", PQgetvalue(er, 0, 4),
	                  "status", PQgetvalue(er, 0, 1), "primary_metric", metric);
	PQclear(er);
	int nv = variants != NULL ? (int) json_array_size(variants) : 0;
	if (nv < 1 || nv > GW_EXP_VARIANTS_MAX) {
		json_decref(variants);
		json_decref(head);
		gw_reply_error(req, 500, "internal", "experiment %s has no variants", id);
		return;
	}

	PGresult *kr = gw_db_query(srv->s_db, kpi_sql, 2, (const char *const[]){id, hours_s}, &rv);
	if (kr == NULL || rs_pg_check(NULL, kr, PGRES_TUPLES_OK, "gw.report.kpis") != 0) {
		PQclear(kr);
		json_decref(variants);
		json_decref(head);
		gw_reply_error(req, 503, "unavailable", "the KPI query failed or timed out");
		return;
	}
	rep_row tot[GW_EXP_VARIANTS_MAX];
	memset(tot, 0, sizeof(tot));
	json_t *out_v = json_array();
	for (int i = 0; i < nv; i++) {
		json_t *vj = json_array_get(variants, (size_t) i);
		const char *vname = json_string_value(json_object_get(vj, "name"));
		json_t *days = json_array();
		double cum_gmv = 0, cum_new = 0;
		for (int r = 0; r < PQntuples(kr); r++) {
			if (strcmp(PQgetvalue(kr, r, C_VARIANT), vname) != 0)
				continue;
			rep_row row;
			for (int c = C_EXPOSED; c < C_N; c++)
				row.v[c] = col(kr, r, c);
			if (PQgetisnull(kr, r, C_DAY)) {
				tot[i] = row;
				continue;
			}
			cum_gmv += row.v[C_GMV];
			cum_new += row.v[C_NEW];
			json_t *k = rep_kpis(&row, catalog, cum_gmv, cum_new);
			json_object_set_new(k, "day", json_string(PQgetvalue(kr, r, C_DAY)));
			json_array_append_new(days, k);
		}
		json_t *t = rep_kpis(&tot[i], catalog, tot[i].v[C_GMV], tot[i].v[C_NEW]);
		double mean_days = tot[i].v[C_EXPOSED] > 0 && tot[i].v[C_DAYS_EXPOSED] > 0
		                           ? tot[i].v[C_DAYS_EXPOSED] / tot[i].v[C_EXPOSED]
		                           : NAN;
		double ltv = tot[i].v[C_NEW] > 0 ? tot[i].v[C_GMV] / tot[i].v[C_NEW] : NAN;
		json_object_set_new(t, "ltv_projected_30d", num_or_null(ltv * 30 / mean_days));
		json_array_append_new(
		        out_v, json_pack("{s:O,s:O,s:O,s:O,s:O,s:o,s:o}", "name",
		                         json_object_get(vj, "name"), "strategy",
		                         json_object_get(vj, "strategy"), "model_version",
		                         json_object_get(vj, "model_version"), "model_kind",
		                         json_object_get(vj, "model_kind"), "share",
		                         json_object_get(vj, "share"), "totals", t, "days", days));
	}
	PQclear(kr);

	/* SRM: exposed customers against the shares */
	double total = 0, chi2 = 0;
	for (int i = 0; i < nv; i++)
		total += tot[i].v[C_EXPOSED];
	json_t *expected = json_object(), *observed = json_object();
	for (int i = 0; i < nv; i++) {
		json_t *vj = json_array_get(variants, (size_t) i);
		const char *vname = json_string_value(json_object_get(vj, "name"));
		double e = total * json_number_value(json_object_get(vj, "share"));
		if (e > 0)
			chi2 += (tot[i].v[C_EXPOSED] - e) * (tot[i].v[C_EXPOSED] - e) / e;
		json_object_set_new(expected, vname, gw_json_num(e));
		json_object_set_new(observed, vname,
		                    json_integer((json_int_t) tot[i].v[C_EXPOSED]));
	}
	double srm_p = total > 0 ? gw_es_chi2_q(chi2, nv - 1) : 1;
	json_t *srm = json_pack("{s:o,s:i,s:o,s:b,s:f,s:o,s:o}", "chi2", gw_json_num(chi2), "df",
	                        nv - 1, "p_value", gw_json_num(srm_p), "flagged",
	                        total > 0 && srm_p < REP_SRM_ALPHA, "alpha", REP_SRM_ALPHA,
	                        "expected", expected, "observed", observed);

	/* The primary metric: every variant against the control. */
	json_t *cmp = json_array();
	gw_est a = rep_primary(metric, tot[0].v);
	for (int i = 1; i < nv; i++) {
		const char *vname = json_string_value(
		        json_object_get(json_array_get(variants, (size_t) i), "name"));
		gw_est b = rep_primary(metric, tot[i].v);
		double stat = 0, df = 0, p = 1;
		const char *test;
		if (strcmp(metric, "conversion") == 0) {
			test = "two_proportion_z";
			gw_es_two_prop(tot[i].v[C_BUYERS], tot[i].v[C_EXPOSED], tot[0].v[C_BUYERS],
			               tot[0].v[C_EXPOSED], &stat, &p);
		} else if (strcmp(metric, "gmv_per_customer") == 0) {
			test = "welch_t";
			gw_es_welch(b.value - a.value, b.se * b.se, tot[i].v[C_EXPOSED],
			            a.se * a.se, tot[0].v[C_EXPOSED], &stat, &df, &p);
		} else {
			test = "delta_method_z";
			double se = sqrt(a.se * a.se + b.se * b.se);
			stat = se > 0 ? (b.value - a.value) / se : 0;
			p = se > 0 ? gw_es_norm_p2(stat) : 1;
		}
		if (a.ok && b.ok)
			json_array_append_new(cmp, rep_compare(vname, a, b, test, stat, df, p));
	}

	/* CUPED for the two per-customer metrics. */
	rep_y gy[GW_EXP_VARIANTS_MAX], by[GW_EXP_VARIANTS_MAX];
	gw_est gadj[GW_EXP_VARIANTS_MAX], badj[GW_EXP_VARIANTS_MAX];
	for (int i = 0; i < nv; i++) {
		gy[i] = (rep_y){tot[i].v[C_GMV], tot[i].v[C_GMV2], tot[i].v[C_PRE_GMV]};
		by[i] = (rep_y){tot[i].v[C_BUYERS], tot[i].v[C_BUYERS], tot[i].v[C_PRE_BUY]};
		for (int c = C_PRE; c <= C_PRE_BUY; c++)
			if (!isfinite(tot[i].v[c]))
				tot[i].v[c] = 0;
		gy[i].sxy = tot[i].v[C_PRE_GMV];
		by[i].sxy = tot[i].v[C_PRE_BUY];
	}
	json_t *cg = rep_cuped(tot, nv, variants, gy, gadj);
	json_t *cb = rep_cuped(tot, nv, variants, by, badj);
	const gw_est *padj = strcmp(metric, "gmv_per_customer") == 0 ? gadj
	                     : strcmp(metric, "conversion") == 0     ? badj
	                                                             : NULL;
	json_t *ccmp = json_array();
	for (int i = 1; padj != NULL && i < nv; i++) {
		double stat, df, p;
		if (!padj[0].ok || !padj[i].ok)
			continue;
		gw_es_welch(padj[i].value - padj[0].value, padj[i].se * padj[i].se,
		            tot[i].v[C_EXPOSED], padj[0].se * padj[0].se, tot[0].v[C_EXPOSED],
		            &stat, &df, &p);
		json_array_append_new(
		        ccmp, rep_compare(json_string_value(json_object_get(
		                                  json_array_get(variants, (size_t) i), "name")),
		                          padj[0], padj[i], "welch_t", stat, df, p));
	}
	json_t *cuped =
	        json_pack("{s:s,s:o,s:o,s:o}", "covariate",
	                  "the customer's events in the " REP_PRE " before the start",
	                  "gmv_per_customer", cg, "conversion", cb, "primary_comparisons", ccmp);

	json_t *body = json_pack(
	        "{s:o,s:{s:i,s:s},s:I,s:o,s:{s:s,s:s,s:o},s:o,s:o,s:s}", "experiment", head,
	        "attribution", "window_hours", hours, "rules",
	        "an event whose rec_id names a stored list belongs to that list's variant; any "
	        "other click, add-to-cart or purchase to the customer's latest impression of the "
	        "item in the experiment within the attribution window before it (both edges "
	        "included)",
	        "catalog_items", (json_int_t) catalog, "variants", out_v, "primary", "metric",
	        metric, "control",
	        json_string_value(json_object_get(json_array_get(variants, 0), "name")),
	        "comparisons", cmp, "srm", srm, "cuped", cuped, "request_id", req->r_request_id);
	json_decref(variants);
	gw_reply_json(req, 200, body);
}
