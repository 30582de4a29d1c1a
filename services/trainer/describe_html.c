/* describe_html: the report as one self-contained HTML page: inline CSS, inline SVG charts with
 * <title> tooltips, no scripts, no external resources (it opens offline). Drawn from the JSON
 * report only, so it shows exactly what --json says. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "describe.h"
#include "rs_err.h"

#define W  640 /* chart width (viewBox units; the page scales it) */
#define H  220 /* chart height */
#define ML 56  /* left margin (y labels) */
#define MB 34  /* bottom margin (x labels) */
#define MT 10
#define MR 12

static void
esc(FILE *f, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

static const json_t *
jget(const json_t *o, const char *path)
{
	char buf[128], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k != NULL && o != NULL;
	     k = strtok_r(NULL, ".", &save))
		o = json_object_get(o, k);
	return o;
}

static double
num(const json_t *o, const char *path)
{
	const json_t *v = jget(o, path);
	return v != NULL && json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *
str(const json_t *o, const char *path)
{
	const json_t *v = jget(o, path);
	return v != NULL && json_is_string(v) ? json_string_value(v) : "";
}

/* a number for people: integers with thin grouping, others with 3 significant digits */
static void
fmt_num(char *buf, size_t n, double v)
{
	if (isnan(v)) {
		snprintf(buf, n, "–");
	} else if (fabs(v - round(v)) < 1e-9 && fabs(v) < 1e15) {
		char raw[32];
		int len = snprintf(raw, sizeof(raw), "%.0f", v), o = 0, neg = raw[0] == '-';
		for (int k = 0; k < len && (size_t) o + 2 < n; k++) {
			if (k > neg && (len - k) % 3 == 0)
				buf[o++] = ',';
			buf[o++] = raw[k];
		}
		buf[o] = '\0';
	} else {
		snprintf(buf, n, "%.3g", v);
	}
}

static void
pct(char *buf, size_t n, double v)
{
	if (isnan(v))
		snprintf(buf, n, "–");
	else
		snprintf(buf, n, "%.1f%%", 100.0 * v);
}

static void
tile(FILE *f, const char *label, const char *value)
{
	fputs("<div class=\"tile\"><div class=\"v\">", f);
	esc(f, value);
	fputs("</div><div class=\"l\">", f);
	esc(f, label);
	fputs("</div></div>\n", f);
}

static void
tile_num(FILE *f, const char *label, double v)
{
	char b[48];
	fmt_num(b, sizeof(b), v);
	tile(f, label, b);
}

static void
tile_pct(FILE *f, const char *label, double v)
{
	char b[48];
	pct(b, sizeof(b), v);
	tile(f, label, b);
}

static void
svg_open(FILE *f, const char *label)
{
	fprintf(f, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", W, H);
	esc(f, label);
	fputs("\" xmlns=\"http://www.w3.org/2000/svg\">\n", f);
}

/* y axis 0..ymax with 4 grid lines; ylabel as a rotated caption */
static void
svg_yaxis(FILE *f, double ymax, int as_pct)
{
	for (int g = 0; g <= 4; g++) {
		double y = MT + (H - MT - MB) * (1.0 - g / 4.0);
		char b[48];
		if (as_pct)
			pct(b, sizeof(b), ymax * g / 4.0);
		else
			fmt_num(b, sizeof(b),
			        ymax >= 10 ? round(ymax * g / 4.0)
			                   : round(ymax * g / 4.0 * 100) / 100);
		fprintf(f,
		        "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
		        "<text x=\"%d\" y=\"%.1f\" class=\"ax\" text-anchor=\"end\">%s</text>\n",
		        ML, W - MR, y, y, ML - 4, y + 4, b);
	}
}

/* bars: vals[k] labelled labels[k] (x labels drawn for at most ~12 bars) */
static void
svg_bars(FILE *f, const char *label, char (*labels)[48], const double *vals, size_t n,
         const char *xcaption)
{
	double ymax = 0;
	for (size_t k = 0; k < n; k++)
		if (vals[k] > ymax)
			ymax = vals[k];
	if (ymax <= 0)
		ymax = 1;
	svg_open(f, label);
	svg_yaxis(f, ymax, 0);
	double bw = (double) (W - ML - MR) / (double) (n > 0 ? n : 1);
	size_t every = n / (strlen(n > 0 ? labels[0] : "") > 6 ? 6 : 12) + 1;
	for (size_t k = 0; k < n; k++) {
		double h = (H - MT - MB) * vals[k] / ymax;
		char b[48];
		fmt_num(b, sizeof(b), vals[k]);
		fprintf(f,
		        "<rect class=\"bar\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\">"
		        "<title>%s: %s</title></rect>\n",
		        ML + k * bw + (bw > 4 ? 1 : 0), H - MB - h, bw > 4 ? bw - 2 : bw, h,
		        labels[k], b);
		if (k % every == 0)
			fprintf(f,
			        "<text x=\"%.1f\" y=\"%d\" class=\"ax\" "
			        "text-anchor=\"middle\">%s</text>\n",
			        ML + (k + 0.5) * bw, H - MB + 14, labels[k]);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"cap\" text-anchor=\"middle\">", (W + ML) / 2,
	        H - 4);
	esc(f, xcaption);
	fputs("</text></svg>\n", f);
}

static void
hist_chart(FILE *f, const json_t *dist, const char *label, const char *xcaption)
{
	const json_t *h = json_object_get(dist, "histogram");
	size_t n = json_array_size(h);
	if (n == 0) {
		fputs("<p class=\"muted\">no data</p>\n", f);
		return;
	}
	double *vals = tr_xcalloc(n, sizeof(double));
	char(*labels)[48] = tr_xcalloc(n, 48);
	for (size_t k = 0; k < n; k++) {
		const json_t *b = json_array_get(h, k);
		long long lo = (long long) num(b, "from"), hi = (long long) num(b, "to");
		vals[k] = num(b, "count");
		if (lo == hi)
			snprintf(labels[k], 48, "%lld", lo);
		else
			snprintf(labels[k], 48, "%lld–%lld", lo, hi);
	}
	svg_bars(f, label, labels, vals, n, xcaption);
	free(vals);
	free(labels);
}

static void
dist_table(FILE *f, const json_t *d, const char *unit)
{
	static const char *const keys[] = {"min", "p25", "median", "p75",
	                                   "p90", "p99", "max",    "mean"};
	fputs("<table class=\"q\"><tr>", f);
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		fprintf(f, "<th scope=\"col\">%s</th>", keys[k]);
	if (!isnan(num(d, "gini")))
		fputs("<th scope=\"col\">Gini</th>", f);
	fputs("</tr><tr>", f);
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		char b[48];
		fmt_num(b, sizeof(b), num(d, keys[k]));
		fprintf(f, "<td>%s%s</td>", b, unit);
	}
	if (!isnan(num(d, "gini")))
		fprintf(f, "<td>%.3f</td>", num(d, "gini"));
	fputs("</tr></table>\n", f);
}

static void
series_chart(FILE *f, const json_t *t)
{
	const json_t *s = json_object_get(t, "series");
	size_t n = json_array_size(s);
	long long bucket = (long long) num(t, "series_bucket_days");
	double *vals = tr_xcalloc(n + 1, sizeof(double));
	char(*labels)[48] = tr_xcalloc(n + 1, 48);
	double start = 0;
	struct tm tm = {0};
	if (strptime(str(t, "series_start"), "%Y-%m-%dT%H:%M:%SZ", &tm) != NULL)
		start = (double) timegm(&tm);
	for (size_t k = 0; k < n; k++) {
		time_t day = (time_t) (start + (double) k * (double) bucket * 86400.0);
		struct tm d;
		vals[k] = (double) json_integer_value(json_array_get(s, k));
		gmtime_r(&day, &d);
		strftime(labels[k], 48, "%Y-%m-%d", &d);
	}
	char cap[96];
	snprintf(cap, sizeof(cap),
	         bucket > 1 ? "events per %lld days (UTC)" : "events per day (UTC)", bucket);
	svg_bars(f, "events over time", labels, vals, n, cap);
	free(vals);
	free(labels);
}

static void
long_tail_chart(FILE *f, const json_t *curve)
{
	size_t n = json_array_size(curve);
	svg_open(f, "long-tail curve: share of events held by the most popular share of items");
	svg_yaxis(f, 1.0, 1);
	fputs("<polyline class=\"line\" points=\"", f);
	for (size_t k = 0; k < n; k++) {
		const json_t *p = json_array_get(curve, k);
		double x = json_number_value(json_array_get(p, 0)),
		       y = json_number_value(json_array_get(p, 1));
		fprintf(f, "%.2f,%.2f ", ML + x * (W - ML - MR), MT + (1 - y) * (H - MT - MB));
	}
	fputs("\"/>\n", f);
	fprintf(f, "<line class=\"diag\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", ML, H - MB,
	        W - MR, MT);
	for (int g = 0; g <= 4; g++)
		fprintf(f,
		        "<text x=\"%.1f\" y=\"%d\" class=\"ax\" "
		        "text-anchor=\"middle\">%d%%</text>\n",
		        ML + g / 4.0 * (W - ML - MR), H - MB + 14, g * 25);
	fprintf(f,
	        "<text x=\"%d\" y=\"%d\" class=\"cap\" text-anchor=\"middle\">share of items, most "
	        "popular first (dashed: no long tail)</text></svg>\n",
	        (W + ML) / 2, H - 4);
}

static void
funnel_section(FILE *f, const json_t *fu)
{
	const json_t *o = json_object_get(fu, "overall");
	static const char *const steps[] = {"view", "add_to_cart", "purchase"};
	double vmax = 1;
	for (int k = 0; k < 3; k++)
		if (num(o, steps[k]) > vmax)
			vmax = num(o, steps[k]);
	fprintf(f,
	        "<svg viewBox=\"0 0 %d 110\" role=\"img\" aria-label=\"funnel\" "
	        "xmlns=\"http://www.w3.org/2000/svg\">\n",
	        W);
	for (int k = 0; k < 3; k++) {
		char b[48];
		double w = (W - 200) * num(o, steps[k]) / vmax;
		fmt_num(b, sizeof(b), num(o, steps[k]));
		fprintf(f,
		        "<text x=\"110\" y=\"%d\" class=\"ax\" text-anchor=\"end\">%s</text>"
		        "<rect class=\"bar\" x=\"116\" y=\"%d\" width=\"%.1f\" "
		        "height=\"24\"><title>%s "
		        "pairs: %s</title></rect><text x=\"%.1f\" y=\"%d\" "
		        "class=\"ax\">%s</text>\n",
		        k * 34 + 20, steps[k], k * 34 + 4, w, steps[k], b, 122 + w, k * 34 + 20, b);
	}
	fputs("</svg>\n", f);
	char a[32], b[32], c[32];
	pct(a, sizeof(a), num(o, "view_to_cart"));
	pct(b, sizeof(b), num(o, "cart_to_purchase"));
	pct(c, sizeof(c), num(o, "view_to_purchase"));
	fprintf(f,
	        "<p>view → add-to-cart <b>%s</b>, add-to-cart → purchase <b>%s</b>, view → "
	        "purchase <b>%s</b> (of (user, item) pairs).</p>\n",
	        a, b, c);
	const json_t *bc = json_object_get(fu, "by_category");
	if (json_array_size(bc) == 0)
		return;
	fputs("<table><tr><th scope=\"col\">category</th><th scope=\"col\">events</th><th "
	      "scope=\"col\">view pairs</th><th scope=\"col\">view→cart</th><th "
	      "scope=\"col\">cart→purchase</th><th scope=\"col\">view→purchase</th></tr>\n",
	      f);
	for (size_t k = 0; k < json_array_size(bc); k++) {
		const json_t *row = json_array_get(bc, k);
		char e[48], v[48];
		fmt_num(e, sizeof(e), num(row, "events"));
		fmt_num(v, sizeof(v), num(row, "view"));
		pct(a, sizeof(a), num(row, "view_to_cart"));
		pct(b, sizeof(b), num(row, "cart_to_purchase"));
		pct(c, sizeof(c), num(row, "view_to_purchase"));
		fputs("<tr><td>", f);
		esc(f, str(row, "category"));
		fprintf(f, "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", e,
		        v, a, b, c);
	}
	fputs("</table>\n", f);
}

static void
price_section(FILE *f, const json_t *pr)
{
	const json_t *bc = json_object_get(pr, "by_category");
	size_t n = json_array_size(bc);
	double lo = INFINITY, hi = 0;
	for (size_t k = 0; k < n; k++) {
		const json_t *d = json_array_get(bc, k);
		if (num(d, "min") > 0 && num(d, "min") < lo)
			lo = num(d, "min");
		if (num(d, "max") > hi)
			hi = num(d, "max");
	}
	if (!(lo < hi) || lo <= 0) {
		lo = 0.5;
		hi = hi > 1 ? hi : 1;
	}
	double l0 = floor(log10(lo)), l1 = ceil(log10(hi));
	if (l1 <= l0)
		l1 = l0 + 1;
	int rowh = 22, h = (int) n * rowh + 40;
	fprintf(f,
	        "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"prices per category (log "
	        "scale): min-max line, p25-p75 box, median tick\" "
	        "xmlns=\"http://www.w3.org/2000/svg\">\n",
	        W, h);
#define PX(v) (200.0 + (log10((v) > 0 ? (v) : lo) - l0) / (l1 - l0) * (W - 200 - MR))
	for (double e = l0; e <= l1; e++) {
		double x = PX(pow(10, e));
		fprintf(f,
		        "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"0\" y2=\"%d\"/>"
		        "<text class=\"ax\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n",
		        x, x, h - 24, x, h - 8, pow(10, e));
	}
	for (size_t k = 0; k < n; k++) {
		const json_t *d = json_array_get(bc, k);
		double y = (double) k * rowh + 12;
		char m[48];
		fmt_num(m, sizeof(m), num(d, "median"));
		fprintf(f, "<text class=\"ax\" x=\"194\" y=\"%.1f\" text-anchor=\"end\">", y + 4);
		esc(f, str(d, "category"));
		fprintf(f,
		        "</text><line class=\"whisk\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
		        "y2=\"%.1f\"/>"
		        "<rect class=\"box\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		        "height=\"12\"><title>",
		        PX(num(d, "min")), PX(num(d, "max")), y, y, PX(num(d, "p25")), y - 6,
		        PX(num(d, "p75")) - PX(num(d, "p25")) + 0.5);
		esc(f, str(d, "category"));
		fprintf(f,
		        ": median %s, %g items</title></rect><line class=\"med\" x1=\"%.1f\" "
		        "x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>\n",
		        m, num(d, "n"), PX(num(d, "median")), PX(num(d, "median")), y - 7, y + 7);
	}
#undef PX
	fputs("</svg>\n", f);
}

static const char CSS[] =
        "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;"
        "color:#1d2430;background:#f6f7f9}main{max-width:1000px;margin:0 auto;padding:16px}"
        "h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:0 0 8px}"
        "section{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:14px;"
        "margin:12px 0}.tiles{display:flex;flex-wrap:wrap;gap:8px}.tile{border:1px solid "
        "#dde1e6;border-radius:6px;padding:8px 12px;min-width:120px}.tile .v{font-size:18px;"
        "font-weight:600}.tile .l{color:#555e6b;font-size:12px}svg{width:100%;height:auto;"
        "display:block}.bar{fill:#3565b5}.line{fill:none;stroke:#3565b5;stroke-width:2}"
        ".diag{stroke:#8a93a0;stroke-dasharray:4 4}.grid{stroke:#e6e9ee}.ax{font-size:11px;"
        "fill:#4a5361}.cap{font-size:12px;fill:#333b47}.box{fill:#a9c1ea;stroke:#3565b5}"
        ".whisk{stroke:#4a5361}.med{stroke:#1d2430;stroke-width:2}table{border-collapse:"
        "collapse;width:100%;overflow-x:auto;display:block}td,th{border-bottom:1px solid "
        "#e6e9ee;padding:4px 8px;text-align:right;white-space:nowrap}td:first-child,"
        "th:first-child{text-align:left}.muted{color:#555e6b}.warn{color:#9a3412}";

static void
html_head(FILE *f, const json_t *r)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	      "<title>Data report: ",
	      f);
	esc(f, str(r, "source"));
	fprintf(f, "</title><style>%s</style></head><body><main>\n<h1>Data report</h1>\n", CSS);
	fputs("<p class=\"muted\">", f);
	esc(f, str(r, "source"));
	fputs(" (format ", f);
	esc(f, str(r, "format"));
	fputs("), reference time ", f);
	esc(f, str(r, "definitions.now"));
	fputs(". Written by <code>rs-train describe</code>.</p>\n", f);
}

static void
html_overview(FILE *f, const json_t *r)
{
	char b[64], c[64];
	const char *key;
	json_t *v;

	fputs("<section id=\"overview\"><h2>Overview</h2><div class=\"tiles\">\n", f);
	tile_num(f, "events", num(r, "counts.events"));
	tile_num(f, "users", num(r, "counts.users"));
	tile_num(f, "items", num(r, "counts.items"));
	snprintf(b, sizeof(b), "%.4f%%", 100 * num(r, "counts.density"));
	tile(f, "density (pairs / users × items)", b);
	json_object_foreach((json_t *) jget(r, "counts.by_type"), key, v)
	{
		snprintf(c, sizeof(c), "%s events", key);
		tile_num(f, c, (double) json_integer_value(v));
	}
	fputs("</div></section>\n", f);
}

static void
html_time(FILE *f, const json_t *r)
{
	const json_t *t = json_object_get(r, "time");
	char b[64];

	fputs("<section id=\"time\"><h2>Time</h2>\n", f);
	if (json_is_object(t)) {
		fputs("<div class=\"tiles\">", f);
		tile(f, "first event", str(t, "first"));
		tile(f, "last event", str(t, "last"));
		snprintf(b, sizeof(b), "%.1f", num(t, "span_days"));
		tile(f, "span (days)", b);
		snprintf(b, sizeof(b), "%.1f", num(t, "events_per_day.mean"));
		tile(f, "events per day (mean)", b);
		tile_num(f, "events per day (median)", num(t, "events_per_day.median"));
		fputs("</div>\n", f);
		series_chart(f, t);
	} else {
		fputs("<p class=\"muted\">The input has no timestamps: no time, session or "
		      "cold-start "
		      "figures.</p>\n",
		      f);
	}
	fputs("</section>\n", f);
}

/* user activity and item popularity */
static void
html_activity(FILE *f, const json_t *r)
{
	const json_t *ip = json_object_get(r, "item_popularity");
	char b[64], c[64];

	fputs("<section id=\"users\"><h2>User activity (events per user)</h2>\n", f);
	dist_table(f, json_object_get(r, "user_activity"), "");
	hist_chart(f, json_object_get(r, "user_activity"), "users by number of events",
	           "events per user (log2 bins); bar = number of users");
	fputs("</section>\n", f);
	fputs("<section id=\"items\"><h2>Item popularity (events per item)</h2>\n", f);
	dist_table(f, ip, "");
	pct(b, sizeof(b), num(ip, "top1pct_share"));
	fmt_num(c, sizeof(c), num(ip, "top1pct_items"));
	fprintf(f, "<p>The top 1%% of items (%s) hold <b>%s</b> of the events; ", c, b);
	fmt_num(b, sizeof(b), num(ip, "items_for_50pct"));
	fmt_num(c, sizeof(c), num(ip, "items_for_80pct"));
	fprintf(f, "%s items hold half of them, %s items 80%%.</p>\n", b, c);
	hist_chart(f, ip, "items by number of events",
	           "events per item (log2 bins); bar = number of items");
	long_tail_chart(f, json_object_get(ip, "long_tail"));
	fputs("</section>\n", f);
}

/* funnel and repeat purchases */
static void
html_purchases(FILE *f, const json_t *r)
{
	fputs("<section id=\"funnel\"><h2>Funnel</h2>\n", f);
	funnel_section(f, json_object_get(r, "funnel"));
	fputs("</section>\n", f);
	fputs("<section id=\"repeat\"><h2>Repeat purchases</h2><div class=\"tiles\">", f);
	tile_num(f, "bought (user, item) pairs", num(r, "repeat_purchase.bought_pairs"));
	tile_pct(f, "pairs bought twice or more", num(r, "repeat_purchase.repeat_pair_rate"));
	tile_num(f, "buyers", num(r, "repeat_purchase.buyers"));
	tile_pct(f, "buyers with 2+ purchases", num(r, "repeat_purchase.repeat_buyer_rate"));
	fputs("</div></section>\n", f);
}

/* sessions and cold start (inputs with timestamps) */
static void
html_sessions(FILE *f, const json_t *r)
{
	const json_t *s = json_object_get(r, "sessions"), *cold = json_object_get(r, "cold");

	if (!json_is_object(s))
		return;
	fprintf(f,
	        "<section id=\"sessions\"><h2>Sessions (a gap over %.0f min starts a new "
	        "one)</h2>\n",
	        num(s, "gap_s") / 60);
	fputs("<div class=\"tiles\">", f);
	tile_num(f, "sessions", num(s, "count"));
	tile_num(f, "median events per session", num(s, "events.median"));
	tile_num(f, "median duration (s)", num(s, "duration_s.median"));
	tile_num(f, "p90 duration (s)", num(s, "duration_s.p90"));
	fputs("</div>\n", f);
	hist_chart(f, json_object_get(s, "events"), "sessions by number of events",
	           "events per session (log2 bins); bar = number of sessions");
	fputs("</section>\n", f);
	fprintf(f, "<section id=\"cold\"><h2>Cold start in the latest %.0f days (from ",
	        num(cold, "period_days"));
	esc(f, str(cold, "period_start"));
	fputs(")</h2><div class=\"tiles\">", f);
	tile_num(f, "active users", num(cold, "active_users"));
	tile_pct(f, "of them new (first event in the period)", num(cold, "cold_user_share"));
	tile_num(f, "active items", num(cold, "active_items"));
	tile_pct(f, "of them new", num(cold, "cold_item_share"));
	fputs("</div></section>\n", f);
}

static void
html_quality(FILE *f, const json_t *r)
{
	const json_t *q = json_object_get(r, "quality");
	char b[64], c[64];

	fputs("<section id=\"quality\"><h2>Data quality</h2><table>\n", f);
	fmt_num(b, sizeof(b), num(q, "duplicates"));
	pct(c, sizeof(c), num(q, "duplicate_share"));
	fprintf(f, "<tr><td>exact duplicate events</td><td>%s (%s)</td></tr>\n", b, c);
	if (json_is_null(json_object_get(q, "unknown_item_events")))
		fputs("<tr><td>events for unknown items</td><td>n/a (no catalog)</td></tr>\n", f);
	else {
		fmt_num(b, sizeof(b), num(q, "unknown_item_events"));
		fprintf(f, "<tr><td>events for unknown items</td><td>%s</td></tr>\n", b);
	}
	fmt_num(b, sizeof(b), num(q, "future_events"));
	fprintf(f, "<tr><td>events in the future (clock skew)</td><td>%s</td></tr>\n", b);
	fmt_num(b, sizeof(b), num(q, "before_epoch_events"));
	fputs("<tr><td>events before ", f);
	esc(f, str(r, "definitions.sane_epoch"));
	fprintf(f, "</td><td>%s</td></tr>\n", b);
	fmt_num(b, sizeof(b), num(q, "bots.users"));
	fmt_num(c, sizeof(c), num(q, "bots.events"));
	fputs("<tr><td>bots (", f);
	esc(f, str(q, "bots.rule"));
	fprintf(f, ")</td><td>%s users, %s events</td></tr>\n", b, c);
	fputs("</table></section>\n", f);
}

int
tr_describe_html(const json_t *r, const char *path, tr_error *err)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return tr_error_set(err, RS_EIO, "cannot write %s", path);
	html_head(f, r);
	html_overview(f, r);
	html_time(f, r);
	html_activity(f, r);
	html_purchases(f, r);
	html_sessions(f, r);
	fputs("<section id=\"prices\"><h2>Prices per category</h2>\n", f);
	if (json_is_object(json_object_get(r, "prices")))
		price_section(f, json_object_get(r, "prices"));
	else
		fputs("<p class=\"muted\">No prices in this input.</p>\n", f);
	fputs("</section>\n", f);
	html_quality(f, r);
	fputs("</main></body></html>\n", f);
	if (fclose(f) != 0)
		return tr_error_set(err, RS_EIO, "cannot write %s", path);
	return 0;
}
