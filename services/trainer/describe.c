/* describe: see describe.h. Input loaders, the figures (three passes over the events: counts,
 * per user by (item, time), per user by time) and the terminal summary. */
#include "describe.h"

#include <errno.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "csv.h"
#include "csvr.h"
#include "dataio.h"
#include "dataset.h"
#include "dio.h"
#include "rs_err.h"
#include "rs_event.h"
#include "rs_pg.h"
#include "snapshot.h"
#include "load.h"
#include "opts.h"

void
tr_desc_opts_defaults(tr_desc_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->now = (double) time(NULL);
	o->session_gap_s = 1800;
	o->period_days = 7;
	o->bot_per_min = 60;
	o->sane_epoch = 631152000; /* 1990-01-01T00:00:00Z */
}

/* ------------------------------------------------------------------ input */

void
tr_desc_input_init(tr_desc_input *in)
{
	memset(in, 0, sizeof(*in));
	tr_event_log_init(&in->log);
	tr_ids_init(&in->cats);
}

void
tr_desc_input_fini(tr_desc_input *in)
{
	tr_event_log_fini(&in->log);
	tr_ids_fini(&in->cats);
	free(in->price);
	free(in->item_cat);
	free(in->item_price);
	free(in->item_known);
	memset(in, 0, sizeof(*in));
}

/* desc_price_sync: the per-event price array covers every event of the log (NAN = none). */
static void
desc_price_sync(tr_desc_input *in)
{
	if (in->price_cap < in->log.cap) {
		in->price = tr_xrealloc(in->price, (size_t) in->log.cap * sizeof(double));
		for (int64_t k = in->price_cap; k < in->log.cap; k++)
			in->price[k] = NAN;
		in->price_cap = in->log.cap;
	}
}

void
tr_desc_input_event(tr_desc_input *in, const char *user, const char *item, int type, double value,
                    double price, double ts)
{
	tr_event_log_push(&in->log, user, strlen(user), item, strlen(item), type, value, ts);
	desc_price_sync(in);
	in->price[in->log.n - 1] = price;
}

void
tr_desc_input_item(tr_desc_input *in, const char *item, const char *category, double price,
                   int known)
{
	int32_t code = tr_ids_intern(in->log.items, item, strlen(item));
	if (code >= in->item_cap) {
		int32_t cap = in->item_cap ? in->item_cap : 1024;
		while (cap <= code)
			cap *= 2;
		in->item_cat = tr_xrealloc(in->item_cat, (size_t) cap * sizeof(int32_t));
		in->item_price = tr_xrealloc(in->item_price, (size_t) cap * sizeof(double));
		in->item_known = tr_xrealloc(in->item_known, (size_t) cap);
		for (int32_t k = in->item_cap; k < cap; k++) {
			in->item_cat[k] = -1;
			in->item_price[k] = NAN;
			in->item_known[k] = 0;
		}
		in->item_cap = cap;
	}
	in->item_cat[code] = category != NULL && category[0] != '\0'
	                             ? tr_ids_intern(&in->cats, category, strlen(category))
	                             : -1;
	in->item_price[code] = price;
	in->item_known[code] = (uint8_t) (known != 0);
}

/* ---- events.csv (+ items.csv) of generate/import --out ---- */

typedef struct ev_ctx {
	tr_desc_input *in;
	const char *path;
} ev_ctx;

static int
events_row(void *vctx, char **vals, long line, tr_error *err)
{
	ev_ctx *c = vctx;
	double ts, value = NAN, price = NAN;
	int type = rs_event_type_parse(vals[2]);

	if (type < 0)
		return tr_error_set(err, RS_EINVAL, "%s:%ld: unknown event type '%s'", c->path,
		                    line, vals[2]);
	if (tr_parse_double(vals[3], &ts) != 0)
		return tr_error_set(err, RS_EINVAL, "%s:%ld: ts_ms '%s' is not a number", c->path,
		                    line, vals[3]);
	if (vals[4] != NULL && vals[4][0] != '\0' && tr_parse_double(vals[4], &value) != 0)
		return tr_error_set(err, RS_EINVAL, "%s:%ld: value '%s' is not a number", c->path,
		                    line, vals[4]);
	if (vals[5] != NULL && vals[5][0] != '\0' && tr_parse_double(vals[5], &price) != 0)
		return tr_error_set(err, RS_EINVAL, "%s:%ld: price '%s' is not a number", c->path,
		                    line, vals[5]);
	tr_desc_input_event(c->in, vals[0], vals[1], type, value, price > 0 ? price : NAN,
	                    ts / 1000.0);
	return 0;
}

/* items.csv (RFC 4180 quoted titles). */
static int
load_items_csv(tr_desc_input *in, const char *path, tr_error *err)
{
	static const tr_csv_dialect dialect = {.delim = ",", .quotes = 1};
	tr_csvr f;
	int r, cid = -1, ccat = -1, cprice = -1;

	if (tr_csvr_open(&f, path, &dialect) != 0)
		return tr_error_set(err, RS_EIO, "cannot read %s", path);
	while ((r = tr_csvr_next(&f)) == 1) {
		if (cid < 0) {
			for (size_t j = 0; j < f.nfields; j++) {
				if (strcasecmp(f.fields[j], "item_id") == 0)
					cid = (int) j;
				else if (strcasecmp(f.fields[j], "category") == 0)
					ccat = (int) j;
				else if (strcasecmp(f.fields[j], "price") == 0)
					cprice = (int) j;
			}
			if (cid < 0) {
				tr_csvr_close(&f);
				return tr_error_set(err, RS_EINVAL,
				                    "%s:1: missing column 'item_id' in the header",
				                    path);
			}
			continue;
		}
		if ((size_t) cid >= f.nfields)
			continue;
		double price = NAN;
		if (cprice >= 0 && (size_t) cprice < f.nfields && f.fields[cprice][0] != '\0' &&
		    tr_parse_double(f.fields[cprice], &price) != 0)
			price = NAN;
		tr_desc_input_item(in, f.fields[cid],
		                   ccat >= 0 && (size_t) ccat < f.nfields ? f.fields[ccat] : "",
		                   price, 1);
	}
	tr_csvr_close(&f);
	if (r == RS_EINVAL)
		return tr_error_set(err, RS_EINVAL, "%s:%ld: unterminated quote", path, f.lineno);
	if (r < 0)
		return tr_error_set(err, r, "%s: %s", path, rs_strerror(r));
	in->has_catalog = 1;
	return 0;
}

static int
load_events_csv(tr_desc_input *in, const char *path, const char *catalog, tr_error *err)
{
	static const char *const cols[] = {"user_id", "item_id", "type", "ts_ms", "value", "price"};
	ev_ctx c = {in, path};
	char items[1024];
	int rv;

	if (catalog == NULL) { /* items.csv next to events.csv, when present */
		const char *slash = strrchr(path, '/');
		int dl = slash != NULL ? (int) (slash - path) : 0;
		snprintf(items, sizeof(items), "%.*s%sitems.csv", dl, path,
		         slash != NULL ? "/" : "");
		if (access(items, R_OK) == 0)
			catalog = items;
	}
	if (catalog != NULL && (rv = load_items_csv(in, catalog, err)) != 0)
		return rv;
	in->has_ts = 1;
	return tr_csv_each(path, cols, 6, 4, events_row, &c, err);
}

/* ---- importer formats through trainer_dataio's importer ---- */

static int
imp_item(void *ctx, const dio_item *it)
{
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long) it->id);
	tr_desc_input_item(ctx, id, it->category, it->price >= 0 ? it->price : NAN, 1);
	return 0;
}

static int
imp_event(void *ctx, const dio_event *e)
{
	char u[24], i[24];
	snprintf(u, sizeof(u), "%lld", (long long) e->user_id);
	snprintf(i, sizeof(i), "%lld", (long long) e->item_id);
	tr_desc_input_event(ctx, u, i, e->type, e->has_value ? e->value : NAN,
	                    e->price > 0 ? e->price : NAN, (double) e->ts_ms / 1000.0);
	return 0;
}

static int
load_import(tr_desc_input *in, const char *path, const char *format, const char *catalog,
            int imp_argc, char **imp_argv, tr_error *err)
{
	char **argv = tr_xcalloc((size_t) imp_argc + 8, sizeof(char *));
	int argc = 0, rv;
	char msg[512];
	dio_sink_fns fns = {imp_item, imp_event, in};

	argv[argc++] = "describe";
	argv[argc++] = "--format";
	argv[argc++] = (char *) format;
	argv[argc++] = "--input";
	argv[argc++] = (char *) path;
	if (catalog != NULL) {
		argv[argc++] = "--catalog";
		argv[argc++] = (char *) catalog;
	}
	for (int k = 0; k < imp_argc; k++)
		argv[argc++] = imp_argv[k];
	/* sequence files carry order only; a generic csv has times when a ts column is mapped */
	in->has_ts = strcmp(format, "sequence") != 0;
	if (strcmp(format, "csv") == 0) {
		in->has_ts = 0;
		for (int k = 0; k + 1 < imp_argc; k++)
			if (strcmp(imp_argv[k], "--map") == 0 &&
			    strstr(imp_argv[k + 1], "ts=") != NULL)
				in->has_ts = 1;
	}
	in->has_catalog = catalog != NULL;
	rv = trn_import_each(argc, argv, &fns, msg, sizeof(msg));
	free(argv);
	if (rv != 0)
		return tr_error_set(err, rv, "%s", msg);
	return 0;
}

static int
header_has(const char *path, const char *a, const char *b)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int ok = 0;
	if (f == NULL)
		return 0;
	if (fgets(line, sizeof(line), f) != NULL)
		ok = strstr(line, a) != NULL && strstr(line, b) != NULL;
	fclose(f);
	return ok;
}

int
tr_desc_load_file(tr_desc_input *in, const char *path, const char *format, const char *catalog,
                  int imp_argc, char **imp_argv, tr_error *err)
{
	int rv;

	if (access(path, R_OK) != 0)
		return tr_error_set(err, RS_EIO, "cannot read %s: %s", path, strerror(errno));
	if (format == NULL)
		format = header_has(path, "event_id", "ts_ms") ? "events" : "train";
	snprintf(in->source, sizeof(in->source), "%s", path);
	snprintf(in->format, sizeof(in->format), "%s", format);
	if (strcmp(format, "train") == 0) {
		if (imp_argc > 0 || catalog != NULL)
			return tr_error_set(err, RS_EINVAL,
			                    "format train takes no importer options or --catalog");
		rv = tr_event_log_read_csv(path, &in->log, &in->has_ts, err);
	} else if (strcmp(format, "events") == 0) {
		if (imp_argc > 0)
			return tr_error_set(err, RS_EINVAL,
			                    "format events takes no importer options");
		rv = load_events_csv(in, path, catalog, err);
	} else {
		rv = load_import(in, path, format, catalog, imp_argc, imp_argv, err);
	}
	desc_price_sync(in);
	if (rv == 0 && in->log.n == 0)
		rv = tr_error_set(err, RS_EINVAL, "%s: no events", path);
	return rv;
}

int
tr_desc_load_dsn(tr_desc_input *in, const char *dsn, tr_error *err)
{
	PGconn *conn = PQconnectdb(dsn);
	tr_snapshot_info info;
	PGresult *res;
	int rv;

	snprintf(in->source, sizeof(in->source), "event store");
	snprintf(in->format, sizeof(in->format), "dsn");
	if (PQstatus(conn) != CONNECTION_OK) {
		rv = tr_error_set(err, RS_EUNAVAIL, "cannot connect to postgresql: %s",
		                  PQerrorMessage(conn));
		PQfinish(conn);
		return rv;
	}
	res = PQexec(conn, "select item_id::text, category, price::float8, "
	                   "coalesce(attributes->>'placeholder', '') = 'true' from items");
	if (rs_pg_result(conn, res, PGRES_TUPLES_OK) != 0) {
		rv = tr_error_set(err, RS_EDB, "items: %s", PQresultErrorMessage(res));
		PQclear(res);
		PQfinish(conn);
		return rv;
	}
	for (int r = 0; r < PQntuples(res); r++)
		tr_desc_input_item(in, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
		                   PQgetisnull(res, r, 2) ? NAN : atof(PQgetvalue(res, r, 2)),
		                   strcmp(PQgetvalue(res, r, 3), "t") != 0);
	PQclear(res);
	in->has_catalog = 1;
	in->has_ts = 1;
	rv = tr_snapshot_events(conn, &in->log, &info, err);
	desc_price_sync(in);
	PQfinish(conn);
	if (rv == 0 && in->log.n == 0)
		rv = tr_error_set(err, RS_EINVAL, "the event store has no events");
	return rv;
}

/* ------------------------------------------------------------------ figures */

typedef struct drec {
	double ts, value;
	int32_t u, i;
	int8_t type;
	uint8_t timed;
} drec;

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

/* by item, then time, type, value (NAN equal to NAN): equal records are exact duplicates */
static int
cmp_item_time(const void *a, const void *b)
{
	const drec *x = a, *y = b;
	if (x->i != y->i)
		return x->i < y->i ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	int xn = isnan(x->value), yn = isnan(y->value);
	if (xn || yn)
		return xn - yn;
	return x->value < y->value ? -1 : x->value > y->value;
}

static int
same_event(const drec *x, const drec *y)
{
	return x->i == y->i && x->ts == y->ts && x->type == y->type &&
	       ((isnan(x->value) && isnan(y->value)) || x->value == y->value);
}

static int
cmp_time(const void *a, const void *b)
{
	const drec *x = a, *y = b;
	if (x->timed != y->timed)
		return x->timed > y->timed ? -1 : 1; /* timed first */
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static json_t *
iso_time(double t)
{
	char buf[32];
	struct tm tm;
	time_t s = (time_t) floor(t);
	if (gmtime_r(&s, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static json_t *
ratio(double num, double den)
{
	return den > 0 ? json_real(num / den) : json_null();
}

static double
quantile(const double *x, size_t n, double p)
{
	if (n == 0)
		return NAN;
	size_t k = p <= 0 ? 0 : (size_t) ceil(p * (double) n) - 1;
	return x[k < n ? k : n - 1];
}

/* dist_json: x sorted ascending in place; quantiles, mean, Gini (counts) and log2 histogram
 * (bins [1,1], [2,2], [3,4], [5,8], ...; for counts >= 1). */
static json_t *
dist_json(double *x, size_t n, int counts)
{
	json_t *d = json_object();
	double sum = 0, wsum = 0;

	qsort(x, n, sizeof(*x), cmp_double);
	for (size_t k = 0; k < n; k++) {
		sum += x[k];
		wsum += (2.0 * (double) (k + 1) - (double) n - 1.0) * x[k];
	}
	json_object_set_new(d, "n", json_integer((json_int_t) n));
	if (n == 0)
		return d;
	static const struct {
		const char *name;
		double p;
	} qs[] = {{"min", 0},    {"p25", 0.25}, {"median", 0.5}, {"p75", 0.75},
	          {"p90", 0.90}, {"p99", 0.99}, {"max", 1.0}};
	for (size_t q = 0; q < sizeof(qs) / sizeof(qs[0]); q++)
		json_object_set_new(d, qs[q].name, json_real(quantile(x, n, qs[q].p)));
	json_object_set_new(d, "mean", json_real(sum / (double) n));
	if (counts) {
		json_object_set_new(d, "gini", ratio(wsum, (double) n * sum));
		json_t *h = json_array();
		size_t k = 0;
		for (double lo = 1, hi = 1; k < n; lo = hi + 1, hi *= 2) {
			json_int_t c = 0;
			while (k < n && x[k] <= hi) {
				if (x[k] >= lo)
					c++;
				k++;
			}
			json_t *b = json_object();
			json_object_set_new(b, "from", json_integer((json_int_t) lo));
			json_object_set_new(b, "to", json_integer((json_int_t) hi));
			json_object_set_new(b, "count", json_integer(c));
			json_array_append_new(h, b);
		}
		json_object_set_new(d, "histogram", h);
	}
	return d;
}

typedef struct funnel {
	int64_t events, view, cart, purchase, view_cart, cart_purchase, view_purchase;
} funnel;

static json_t *
funnel_json(const funnel *f, const char *category)
{
	json_t *o = json_object();
	if (category != NULL)
		json_object_set_new(o, "category", json_string(category));
	json_object_set_new(o, "events", json_integer(f->events));
	json_object_set_new(o, "view", json_integer(f->view));
	json_object_set_new(o, "add_to_cart", json_integer(f->cart));
	json_object_set_new(o, "purchase", json_integer(f->purchase));
	json_object_set_new(o, "view_and_cart", json_integer(f->view_cart));
	json_object_set_new(o, "cart_and_purchase", json_integer(f->cart_purchase));
	json_object_set_new(o, "view_and_purchase", json_integer(f->view_purchase));
	json_object_set_new(o, "view_to_cart", ratio((double) f->view_cart, (double) f->view));
	json_object_set_new(o, "cart_to_purchase",
	                    ratio((double) f->cart_purchase, (double) f->cart));
	json_object_set_new(o, "view_to_purchase",
	                    ratio((double) f->view_purchase, (double) f->view));
	return o;
}

typedef struct cat_sort {
	int64_t key;
	int32_t cat;
} cat_sort;

static int
cmp_cat_sort(const void *a, const void *b)
{
	const cat_sort *x = a, *y = b;
	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return x->cat < y->cat ? -1 : x->cat > y->cat;
}

typedef struct progress {
	int on;
	int64_t done, total, next;
	double t0;
} progress;

static void
progress_add(progress *p, int64_t n)
{
	p->done += n;
	if (p->on && (p->done >= p->next || p->done >= p->total)) {
		tr_progress("describe: figures (3 passes over the events)", (size_t) p->done,
		            (size_t) p->total, p->t0);
		p->next = p->done + (p->total / 50 > 0 ? p->total / 50 : 1);
	}
}

/* One description in progress: the input, the three passes' results, the report's parts. */
typedef struct desc_calc {
	const tr_desc_input *in;
	const tr_desc_opts *o;
	const tr_event_log *L;
	int64_t n;
	int32_t U, I, C;
	progress pg;
	/* pass 1 */
	int64_t bytype[RS_EVENT_NTYPES], future, past, unknown, timed_n;
	int64_t *ucnt, *icnt;                     /* events per user, per item */
	double *ifirst, *ilast, *ufirst, *iprice; /* first/last times, the item's price */
	double tmin, tmax, future_lim;
	drec *rec; /* the events bucketed by user: rec[uoff[u] .. uoff[u + 1]) */
	int64_t *uoff;
	int32_t nitems;    /* items with events */
	int32_t *item_cat; /* item -> category, -1 = none */
	/* pass 2 */
	funnel all, *fc; /* fc[cat + 1] */
	int64_t dups, pairs, bought_pairs, repeat_pairs, buyers, repeat_buyers;
	/* pass 3 */
	double pstart; /* the cold-start period's first second */
	int64_t nsess, bot_users, bot_events, active_users, cold_users, active_items, cold_items;
	double *sess_ev, *sess_dur;
	json_t *bot_ids;
} desc_calc;

static void
desc_calc_free(desc_calc *dr)
{
	free(dr->ucnt);
	free(dr->icnt);
	free(dr->ifirst);
	free(dr->ilast);
	free(dr->ufirst);
	free(dr->iprice);
	free(dr->rec);
	free(dr->uoff);
	free(dr->item_cat);
	free(dr->fc);
	free(dr->sess_ev);
	free(dr->sess_dur);
	free(dr);
}

/* pass 1: counts, clock skew, first/last times, unknown items; records bucketed by user */
static void
desc_pass1(desc_calc *dr)
{
	for (int32_t k = 0; k < dr->I; k++) {
		dr->ifirst[k] = INFINITY;
		dr->ilast[k] = -INFINITY;
		dr->iprice[k] = k < dr->in->item_cap ? dr->in->item_price[k] : NAN;
	}
	for (int32_t k = 0; k < dr->U; k++)
		dr->ufirst[k] = INFINITY;
	dr->rec = tr_xmalloc(((size_t) dr->n + 1) * sizeof(drec));
	dr->uoff = tr_xcalloc((size_t) dr->U + 2, sizeof(int64_t));
	for (int64_t e = 0; e < dr->n; e++) {
		dr->ucnt[dr->L->u[e]]++;
		dr->icnt[dr->L->i[e]]++;
	}
	for (int32_t u = 0; u < dr->U; u++)
		dr->uoff[u + 1] = dr->uoff[u] + dr->ucnt[u];
	{
		int64_t *fill = tr_xmalloc(((size_t) dr->U + 1) * sizeof(int64_t));
		memcpy(fill, dr->uoff, (size_t) dr->U * sizeof(int64_t));
		for (int64_t e = 0; e < dr->n; e++) {
			int32_t u = dr->L->u[e], i = dr->L->i[e];
			int t = dr->L->type[e];
			double ts = dr->L->ts[e];
			int timed = dr->in->has_ts;
			dr->bytype[t >= 0 && t < RS_EVENT_NTYPES ? t : 0]++;
			if (dr->in->has_ts && ts > dr->future_lim) {
				dr->future++;
				timed = 0;
			} else if (dr->in->has_ts && ts < dr->o->sane_epoch) {
				dr->past++;
				timed = 0;
			}
			if (dr->in->has_catalog && !(i < dr->in->item_cap && dr->in->item_known[i]))
				dr->unknown++;
			if (!isnan(dr->in->price[e]) &&
			    !(i < dr->in->item_cap && !isnan(dr->in->item_price[i])))
				dr->iprice[i] = dr->in->price[e]; /* no catalog price: the last
				                                     event price */
			if (timed) {
				dr->timed_n++;
				if (ts < dr->tmin)
					dr->tmin = ts;
				if (ts > dr->tmax)
					dr->tmax = ts;
				if (ts < dr->ifirst[i])
					dr->ifirst[i] = ts;
				if (ts > dr->ilast[i])
					dr->ilast[i] = ts;
				if (ts < dr->ufirst[u])
					dr->ufirst[u] = ts;
			}
			dr->rec[fill[u]++] = (drec){.ts = ts,
			                            .value = dr->L->value[e],
			                            .u = u,
			                            .i = i,
			                            .type = (int8_t) t,
			                            .timed = (uint8_t) timed};
			if ((e & 0xffff) == 0xffff)
				progress_add(&dr->pg, 0x10000);
		}
		progress_add(&dr->pg, dr->n - dr->pg.done);
		free(fill);
	}

	/* items with events, their categories */
	for (int32_t k = 0; k < dr->I; k++)
		dr->nitems += dr->icnt[k] > 0;
	dr->item_cat = tr_xmalloc(((size_t) dr->I + 1) * sizeof(int32_t));
	for (int32_t k = 0; k < dr->I; k++)
		dr->item_cat[k] = k < dr->in->item_cap ? dr->in->item_cat[k] : -1;
}

/* pass 2: per user by (item, time): duplicates, pairs, funnel, repeat purchases */
static void
desc_pass2(desc_calc *dr)
{
	dr->fc = tr_xcalloc((size_t) dr->C + 1, sizeof(funnel)); /* fc[cat + 1] */
	for (int32_t u = 0; u < dr->U; u++) {
		drec *s = dr->rec + dr->uoff[u];
		int64_t m = dr->uoff[u + 1] - dr->uoff[u], purchases = 0;
		qsort(s, (size_t) m, sizeof(drec), cmp_item_time);
		for (int64_t a = 0; a < m;) {
			int64_t b = a;
			int has[RS_EVENT_NTYPES] = {0};
			int64_t np = 0;
			for (; b < m && s[b].i == s[a].i; b++) {
				if (b > a && same_event(&s[b], &s[b - 1]))
					dr->dups++;
				has[s[b].type]++;
				np += s[b].type == RS__EVENT_TYPE__EVENT_PURCHASE;
			}
			funnel *f = &dr->fc[dr->item_cat[s[a].i] + 1];
			for (int pass = 0; pass < 2; pass++, f = &dr->all) {
				f->events += b - a;
				f->view += has[RS__EVENT_TYPE__EVENT_VIEW] > 0;
				f->cart += has[RS__EVENT_TYPE__EVENT_ADD_TO_CART] > 0;
				f->purchase += has[RS__EVENT_TYPE__EVENT_PURCHASE] > 0;
				f->view_cart += has[RS__EVENT_TYPE__EVENT_VIEW] &&
				                has[RS__EVENT_TYPE__EVENT_ADD_TO_CART];
				f->cart_purchase += has[RS__EVENT_TYPE__EVENT_ADD_TO_CART] &&
				                    has[RS__EVENT_TYPE__EVENT_PURCHASE];
				f->view_purchase += has[RS__EVENT_TYPE__EVENT_VIEW] &&
				                    has[RS__EVENT_TYPE__EVENT_PURCHASE];
			}
			dr->pairs++;
			dr->bought_pairs += np > 0;
			dr->repeat_pairs += np > 1;
			purchases += np;
			a = b;
		}
		dr->buyers += purchases > 0;
		dr->repeat_buyers += purchases > 1;
		progress_add(&dr->pg, m);
	}
}

/* pass 3: per user by time: sessions, bots, cold users and items */
static void
desc_pass3(desc_calc *dr)
{
	dr->pstart = dr->tmax - dr->o->period_days * 86400.0;
	dr->sess_ev = tr_xmalloc(((size_t) dr->timed_n + 1) * sizeof(double));
	dr->sess_dur = tr_xmalloc(((size_t) dr->timed_n + 1) * sizeof(double));
	dr->bot_ids = json_array();
	for (int32_t u = 0; u < dr->U; u++) {
		drec *s = dr->rec + dr->uoff[u];
		int64_t m = dr->uoff[u + 1] - dr->uoff[u], mt = 0, win = 0;
		qsort(s, (size_t) m, sizeof(drec), cmp_time);
		while (mt < m && s[mt].timed)
			mt++;
		for (int64_t a = 0, lo = 0; a < mt; a++) {
			if (a == 0 || s[a].ts - s[a - 1].ts > dr->o->session_gap_s) {
				dr->sess_ev[dr->nsess] = 0;
				dr->sess_dur[dr->nsess] = 0;
				dr->nsess++;
			}
			dr->sess_ev[dr->nsess - 1] += 1;
			if (a > 0 && dr->sess_ev[dr->nsess - 1] > 1)
				dr->sess_dur[dr->nsess - 1] += s[a].ts - s[a - 1].ts;
			while (s[a].ts - s[lo].ts >= 60.0)
				lo++;
			if (a - lo + 1 > win)
				win = a - lo + 1;
		}
		if ((double) win > dr->o->bot_per_min) {
			dr->bot_users++;
			dr->bot_events += m;
			if (json_array_size(dr->bot_ids) < 20)
				json_array_append_new(dr->bot_ids,
				                      json_string(tr_ids_name(dr->L->users, u)));
		}
		if (mt > 0 && s[mt - 1].ts > dr->pstart) {
			dr->active_users++;
			dr->cold_users += dr->ufirst[u] > dr->pstart;
		}
		progress_add(&dr->pg, m);
	}
	for (int32_t k = 0; k < dr->I; k++)
		if (dr->icnt[k] > 0 && dr->ilast[k] > dr->pstart) {
			dr->active_items++;
			dr->cold_items += dr->ifirst[k] > dr->pstart;
		}
}

/* the report: the definitions and the counts */
static void
desc_json_counts(const desc_calc *dr, json_t *r)
{
	json_t *defs = json_object();
	json_object_set_new(defs, "density",
	                    json_string("distinct (user, item) pairs / (users x items)"));
	json_object_set_new(defs, "quantiles",
	                    json_string("nearest rank: x[ceil(p n) - 1] of the ascending values"));
	json_object_set_new(defs, "gini",
	                    json_string("sum (2i - n - 1) x_i / (n sum x_i), x ascending"));
	json_object_set_new(defs, "funnel",
	                    json_string("(user, item) pairs: view->cart = pairs with view and "
	                                "add_to_cart / pairs with view"));
	json_object_set_new(defs, "session_gap_s", json_real(dr->o->session_gap_s));
	json_object_set_new(defs, "cold_period_days", json_real(dr->o->period_days));
	json_object_set_new(defs, "bot_events_per_minute", json_real(dr->o->bot_per_min));
	json_object_set_new(defs, "sane_epoch", iso_time(dr->o->sane_epoch));
	json_object_set_new(defs, "now", iso_time(dr->o->now));
	json_object_set_new(r, "source", json_string(dr->in->source));
	json_object_set_new(r, "format", json_string(dr->in->format));
	json_object_set_new(r, "definitions", defs);

	json_t *counts = json_object(), *bt = json_object();
	json_object_set_new(counts, "events", json_integer(dr->n));
	json_object_set_new(counts, "users", json_integer(dr->U));
	json_object_set_new(counts, "items", json_integer(dr->nitems));
	json_object_set_new(counts, "catalog_items", json_null());
	if (dr->in->has_catalog) {
		json_int_t cat_rows = 0;
		for (int32_t k = 0; k < dr->I && k < dr->in->item_cap; k++)
			cat_rows += dr->in->item_known[k];
		json_object_set_new(counts, "catalog_items", json_integer(cat_rows));
	}
	json_object_set_new(counts, "pairs", json_integer(dr->pairs));
	json_object_set_new(counts, "density",
	                    ratio((double) dr->pairs, (double) dr->U * (double) dr->nitems));
	for (int t = 0; t < RS_EVENT_NTYPES; t++)
		if (t > 0 || dr->bytype[0] > 0)
			json_object_set_new(bt, t == 0 ? "interaction" : rs_event_type_name(t),
			                    json_integer(dr->bytype[t]));
	json_object_set_new(counts, "by_type", bt);
	json_object_set_new(r, "counts", counts);
}

/* the report: time: first, last, events per day */
static void
desc_json_time(const desc_calc *dr, json_t *r)
{
	if (dr->in->has_ts && dr->timed_n > 0) {
		json_t *tj = json_object();
		int64_t d0 = (int64_t) floor(dr->tmin / 86400.0),
		        d1 = (int64_t) floor(dr->tmax / 86400.0);
		int64_t days = d1 - d0 + 1;
		double *per_day = tr_xcalloc((size_t) days, sizeof(double));
		for (int64_t e = 0; e < dr->n; e++)
			if (dr->rec[e].timed)
				per_day[(int64_t) floor(dr->rec[e].ts / 86400.0) - d0] += 1;
		int64_t bucket = (days + 399) / 400;
		json_t *series = json_array();
		for (int64_t d = 0; d < days; d += bucket) {
			double c = 0;
			for (int64_t k = d; k < d + bucket && k < days; k++)
				c += per_day[k];
			json_array_append_new(series, json_integer((json_int_t) c));
		}
		json_object_set_new(tj, "first", iso_time(dr->tmin));
		json_object_set_new(tj, "last", iso_time(dr->tmax));
		json_object_set_new(tj, "span_days", json_real((dr->tmax - dr->tmin) / 86400.0));
		json_object_set_new(tj, "days", json_integer(days));
		json_object_set_new(tj, "events_per_day", dist_json(per_day, (size_t) days, 0));
		json_object_set_new(tj, "series_start", iso_time((double) d0 * 86400.0));
		json_object_set_new(tj, "series_bucket_days", json_integer(bucket));
		json_object_set_new(tj, "series", series);
		json_object_set_new(r, "time", tj);
		free(per_day);
	} else {
		json_object_set_new(r, "time", json_null());
	}
}

/* the report: users and items: activity, popularity, the long tail */
static void
desc_json_popularity(const desc_calc *dr, json_t *r)
{
	{
		double *x =
		        tr_xmalloc(((size_t) (dr->U > dr->I ? dr->U : dr->I) + 1) * sizeof(double));
		for (int32_t u = 0; u < dr->U; u++)
			x[u] = (double) dr->ucnt[u];
		json_object_set_new(r, "user_activity", dist_json(x, (size_t) dr->U, 1));
		size_t m = 0;
		for (int32_t k = 0; k < dr->I; k++)
			if (dr->icnt[k] > 0)
				x[m++] = (double) dr->icnt[k];
		json_t *ip = dist_json(x, m, 1); /* x ascending now */
		double total = 0, cum = 0;
		for (size_t k = 0; k < m; k++)
			total += x[k];
		size_t top = (m + 99) / 100, for50 = 0, for80 = 0; /* ceil(1% of m) */
		json_t *curve = json_array();
		json_array_append_new(curve, json_pack("[f,f]", 0.0, 0.0));
		size_t pct = 1;
		for (size_t k = 0; k < m; k++) {
			cum += x[m - 1 - k];
			if (k + 1 == top)
				json_object_set_new(ip, "top1pct_share", ratio(cum, total));
			if (for50 == 0 && cum >= 0.5 * total)
				for50 = k + 1;
			if (for80 == 0 && cum >= 0.8 * total)
				for80 = k + 1;
			while (pct <= 100 && (k + 1) * 100 >= pct * m) { /* >= ceil(pct% of m) */
				json_array_append_new(curve,
				                      json_pack("[f,f]", (double) pct / 100.0,
				                                total > 0 ? cum / total : 0.0));
				pct++;
			}
		}
		json_object_set_new(ip, "top1pct_items", json_integer((json_int_t) top));
		json_object_set_new(ip, "items_for_50pct", json_integer((json_int_t) for50));
		json_object_set_new(ip, "items_for_80pct", json_integer((json_int_t) for80));
		json_object_set_new(ip, "long_tail", curve);
		json_object_set_new(r, "item_popularity", ip);
		free(x);
	}
}

/* the report: the funnel, overall and by category */
static void
desc_json_funnel(const desc_calc *dr, json_t *r)
{
	{
		json_t *fj = json_object(), *bycat = json_array();
		json_object_set_new(fj, "overall", funnel_json(&dr->all, NULL));
		cat_sort *cs = tr_xmalloc(((size_t) dr->C + 1) * sizeof(cat_sort));
		int32_t nc = 0;
		for (int32_t c = -1; c < dr->C; c++)
			if (dr->fc[c + 1].events > 0)
				cs[nc++] = (cat_sort){dr->fc[c + 1].events, c};
		qsort(cs, (size_t) nc, sizeof(cat_sort), cmp_cat_sort);
		if (!(nc == 1 && cs[0].cat < 0)) /* only "(none)": the overall figures again */
			for (int32_t k = 0; k < nc; k++)
				json_array_append_new(
				        bycat,
				        funnel_json(&dr->fc[cs[k].cat + 1],
				                    cs[k].cat < 0 ? "(none)"
				                                  : tr_ids_name(&dr->in->cats,
				                                                cs[k].cat)));
		json_object_set_new(fj, "by_category", bycat);
		json_object_set_new(r, "funnel", fj);
		free(cs);
	}
}

/* the report: repeat purchases */
static void
desc_json_repeat(const desc_calc *dr, json_t *r)
{
	{
		json_t *rp = json_object();
		json_object_set_new(rp, "bought_pairs", json_integer(dr->bought_pairs));
		json_object_set_new(rp, "repeat_pairs", json_integer(dr->repeat_pairs));
		json_object_set_new(rp, "repeat_pair_rate",
		                    ratio((double) dr->repeat_pairs, (double) dr->bought_pairs));
		json_object_set_new(rp, "buyers", json_integer(dr->buyers));
		json_object_set_new(rp, "repeat_buyers", json_integer(dr->repeat_buyers));
		json_object_set_new(rp, "repeat_buyer_rate",
		                    ratio((double) dr->repeat_buyers, (double) dr->buyers));
		json_object_set_new(r, "repeat_purchase", rp);
	}
}

/* the report: sessions and cold start */
static void
desc_json_sessions(const desc_calc *dr, json_t *r)
{
	if (dr->in->has_ts && dr->timed_n > 0) {
		json_t *sj = json_object();
		json_object_set_new(sj, "gap_s", json_real(dr->o->session_gap_s));
		json_object_set_new(sj, "count", json_integer(dr->nsess));
		json_object_set_new(sj, "events", dist_json(dr->sess_ev, (size_t) dr->nsess, 1));
		json_object_set_new(sj, "duration_s",
		                    dist_json(dr->sess_dur, (size_t) dr->nsess, 0));
		json_object_set_new(r, "sessions", sj);
		json_t *cj = json_object();
		json_object_set_new(cj, "period_days", json_real(dr->o->period_days));
		json_object_set_new(cj, "period_start", iso_time(dr->pstart));
		json_object_set_new(cj, "active_users", json_integer(dr->active_users));
		json_object_set_new(cj, "cold_users", json_integer(dr->cold_users));
		json_object_set_new(cj, "cold_user_share",
		                    ratio((double) dr->cold_users, (double) dr->active_users));
		json_object_set_new(cj, "active_items", json_integer(dr->active_items));
		json_object_set_new(cj, "cold_items", json_integer(dr->cold_items));
		json_object_set_new(cj, "cold_item_share",
		                    ratio((double) dr->cold_items, (double) dr->active_items));
		json_object_set_new(r, "cold", cj);
	} else {
		json_object_set_new(r, "sessions", json_null());
		json_object_set_new(r, "cold", json_null());
	}
}

/* the report: prices per category (catalog price, else the item's last event price) */
static void
desc_json_prices(const desc_calc *dr, json_t *r)
{
	{
		int32_t *pc_n = tr_xcalloc((size_t) dr->C + 1, sizeof(int32_t));
		int32_t priced = 0;
		for (int32_t k = 0; k < dr->I; k++)
			if (!isnan(dr->iprice[k])) {
				pc_n[dr->item_cat[k] + 1]++;
				priced++;
			}
		if (priced == 0) {
			json_object_set_new(r, "prices", json_null());
		} else {
			json_t *pj = json_object(), *bycat = json_array();
			double *x = tr_xmalloc((size_t) priced * sizeof(double));
			size_t m = 0;
			for (int32_t k = 0; k < dr->I; k++)
				if (!isnan(dr->iprice[k]))
					x[m++] = dr->iprice[k];
			json_t *d = dist_json(x, m, 0);
			json_object_set_new(d, "category", json_string("(all)"));
			json_array_append_new(bycat, d);
			cat_sort *cs = tr_xmalloc(((size_t) dr->C + 1) * sizeof(cat_sort));
			int32_t nc = 0;
			for (int32_t c = -1; c < dr->C; c++)
				if (pc_n[c + 1] > 0)
					cs[nc++] = (cat_sort){pc_n[c + 1], c};
			qsort(cs, (size_t) nc, sizeof(cat_sort), cmp_cat_sort);
			for (int32_t q = 0; q < nc && nc > 1; q++) {
				m = 0;
				for (int32_t k = 0; k < dr->I; k++)
					if (!isnan(dr->iprice[k]) && dr->item_cat[k] == cs[q].cat)
						x[m++] = dr->iprice[k];
				d = dist_json(x, m, 0);
				json_object_set_new(d, "category",
				                    json_string(cs[q].cat < 0
				                                        ? "(none)"
				                                        : tr_ids_name(&dr->in->cats,
				                                                      cs[q].cat)));
				json_array_append_new(bycat, d);
			}
			json_object_set_new(pj, "priced_items", json_integer(priced));
			json_object_set_new(pj, "by_category", bycat);
			json_object_set_new(r, "prices", pj);
			free(cs);
			free(x);
		}
		free(pc_n);
	}
}

/* the report: data quality */
static void
desc_json_quality(const desc_calc *dr, json_t *r)
{
	{
		json_t *q = json_object(), *bots = json_object();
		json_object_set_new(q, "duplicates", json_integer(dr->dups));
		json_object_set_new(q, "duplicate_share", ratio((double) dr->dups, (double) dr->n));
		json_object_set_new(q, "unknown_item_events",
		                    dr->in->has_catalog ? json_integer(dr->unknown) : json_null());
		json_object_set_new(q, "future_events", json_integer(dr->future));
		json_object_set_new(q, "before_epoch_events", json_integer(dr->past));
		json_object_set_new(
		        bots, "rule",
		        json_sprintf("more than %g events within 60 s", dr->o->bot_per_min));
		json_object_set_new(bots, "users", json_integer(dr->bot_users));
		json_object_set_new(bots, "events", json_integer(dr->bot_events));
		json_object_set_new(bots, "event_share",
		                    ratio((double) dr->bot_events, (double) dr->n));
		json_object_set_new(bots, "user_ids", dr->bot_ids);
		json_object_set_new(q, "bots", bots);
		json_object_set_new(r, "quality", q);
	}
}

json_t *
tr_describe(const tr_desc_input *in, const tr_desc_opts *o)
{
	desc_calc *dr = tr_xcalloc(1, sizeof(*dr));
	json_t *r = json_object();

	dr->in = in;
	dr->o = o;
	dr->L = &in->log;
	dr->n = dr->L->n;
	dr->U = tr_ids_count(dr->L->users);
	dr->I = tr_ids_count(dr->L->items);
	dr->C = tr_ids_count(&in->cats);
	dr->pg = (progress){o->progress && dr->n >= 200000, 0, 3 * dr->n, 0, tr_now()};
	dr->ucnt = tr_xcalloc((size_t) dr->U + 1, sizeof(int64_t));
	dr->icnt = tr_xcalloc((size_t) dr->I + 1, sizeof(int64_t));
	dr->ifirst = tr_xmalloc(((size_t) dr->I + 1) * sizeof(double));
	dr->ilast = tr_xmalloc(((size_t) dr->I + 1) * sizeof(double));
	dr->ufirst = tr_xmalloc(((size_t) dr->U + 1) * sizeof(double));
	dr->iprice = tr_xmalloc(((size_t) dr->I + 1) * sizeof(double));
	dr->tmin = INFINITY;
	dr->tmax = -INFINITY;
	dr->future_lim = o->now + 300;
	desc_pass1(dr);
	desc_pass2(dr);
	desc_pass3(dr);
	desc_json_counts(dr, r);
	desc_json_time(dr, r);
	desc_json_popularity(dr, r);
	desc_json_funnel(dr, r);
	desc_json_repeat(dr, r);
	desc_json_sessions(dr, r);
	desc_json_prices(dr, r);
	desc_json_quality(dr, r);
	desc_calc_free(dr);
	return r;
}

/* ------------------------------------------------------------------ terminal summary */

static double
jnum(const json_t *o, const char *path)
{
	char buf[128], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k != NULL && o != NULL;
	     k = strtok_r(NULL, ".", &save))
		o = json_object_get(o, k);
	return o != NULL && json_is_number(o) ? json_number_value(o) : NAN;
}

static const char *
jstr(const json_t *o, const char *path)
{
	char buf[128], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k != NULL && o != NULL;
	     k = strtok_r(NULL, ".", &save))
		o = json_object_get(o, k);
	return o != NULL && json_is_string(o) ? json_string_value(o) : "-";
}

static void
text_dist(FILE *f, const char *label, const json_t *d)
{
	fprintf(f, "  %-22s min %g  p25 %g  median %g  p75 %g  p90 %g  p99 %g  max %g  mean %.2f",
	        label, jnum(d, "min"), jnum(d, "p25"), jnum(d, "median"), jnum(d, "p75"),
	        jnum(d, "p90"), jnum(d, "p99"), jnum(d, "max"), jnum(d, "mean"));
	if (!isnan(jnum(d, "gini")))
		fprintf(f, "  gini %.3f", jnum(d, "gini"));
	fputc('\n', f);
}

static void
text_pct(FILE *f, double v)
{
	if (isnan(v))
		fputs("-", f);
	else
		fprintf(f, "%.1f%%", 100.0 * v);
}

void
tr_describe_text(FILE *f, const json_t *r)
{
	const json_t *bt = json_object_get(json_object_get(r, "counts"), "by_type");
	const char *key;
	json_t *v;

	fprintf(f, "data report: %s (%s)\n", jstr(r, "source"), jstr(r, "format"));
	fprintf(f, "  events %.0f  users %.0f  items %.0f  pairs %.0f  density %.4f%%\n",
	        jnum(r, "counts.events"), jnum(r, "counts.users"), jnum(r, "counts.items"),
	        jnum(r, "counts.pairs"), 100.0 * jnum(r, "counts.density"));
	fputs("  by type:", f);
	json_object_foreach((json_t *) bt, key, v)
	        fprintf(f, " %s %lld", key, (long long) json_integer_value(v));
	fputc('\n', f);
	if (json_is_object(json_object_get(r, "time")))
		fprintf(f, "  time %s .. %s (%.1f days), events/day mean %.1f median %g max %g\n",
		        jstr(r, "time.first"), jstr(r, "time.last"), jnum(r, "time.span_days"),
		        jnum(r, "time.events_per_day.mean"), jnum(r, "time.events_per_day.median"),
		        jnum(r, "time.events_per_day.max"));
	else
		fputs("  time: the input has no timestamps (no time, session or cold figures)\n",
		      f);
	text_dist(f, "events per user", json_object_get(r, "user_activity"));
	text_dist(f, "events per item", json_object_get(r, "item_popularity"));
	fputs("  top 1% of items (", f);
	fprintf(f, "%.0f) hold ", jnum(r, "item_popularity.top1pct_items"));
	text_pct(f, jnum(r, "item_popularity.top1pct_share"));
	fprintf(f, " of events; %.0f items hold 50%%, %.0f hold 80%%\n",
	        jnum(r, "item_popularity.items_for_50pct"),
	        jnum(r, "item_popularity.items_for_80pct"));
	fputs("  funnel (pairs): view->cart ", f);
	text_pct(f, jnum(r, "funnel.overall.view_to_cart"));
	fputs("  cart->purchase ", f);
	text_pct(f, jnum(r, "funnel.overall.cart_to_purchase"));
	fputs("  view->purchase ", f);
	text_pct(f, jnum(r, "funnel.overall.view_to_purchase"));
	fprintf(f, "  (%zu categories in the JSON/HTML)\n",
	        json_array_size(json_object_get(json_object_get(r, "funnel"), "by_category")));
	fputs("  repeat purchase: pairs bought twice+ ", f);
	text_pct(f, jnum(r, "repeat_purchase.repeat_pair_rate"));
	fputs(", buyers with 2+ purchases ", f);
	text_pct(f, jnum(r, "repeat_purchase.repeat_buyer_rate"));
	fputc('\n', f);
	if (json_is_object(json_object_get(r, "sessions"))) {
		fprintf(f, "  sessions (gap %.0f min): %.0f, ", jnum(r, "sessions.gap_s") / 60.0,
		        jnum(r, "sessions.count"));
		fprintf(f, "events median %g p90 %g, duration median %.0f s p90 %.0f s\n",
		        jnum(r, "sessions.events.median"), jnum(r, "sessions.events.p90"),
		        jnum(r, "sessions.duration_s.median"), jnum(r, "sessions.duration_s.p90"));
		fprintf(f, "  cold in the last %.0f days: users %.0f/%.0f (",
		        jnum(r, "cold.period_days"), jnum(r, "cold.cold_users"),
		        jnum(r, "cold.active_users"));
		text_pct(f, jnum(r, "cold.cold_user_share"));
		fprintf(f, "), items %.0f/%.0f (", jnum(r, "cold.cold_items"),
		        jnum(r, "cold.active_items"));
		text_pct(f, jnum(r, "cold.cold_item_share"));
		fputs(")\n", f);
	}
	const json_t *pc = json_object_get(json_object_get(r, "prices"), "by_category");
	if (json_array_size(pc) > 0) {
		fprintf(f, "  prices: %.0f priced items", jnum(r, "prices.priced_items"));
		const json_t *a = json_array_get(pc, 0);
		fprintf(f, ", median %.2f (p25 %.2f, p75 %.2f), %zu categories\n",
		        jnum(a, "median"), jnum(a, "p25"), jnum(a, "p75"),
		        json_array_size(pc) > 1 ? json_array_size(pc) - 1 : 0);
	}
	char unk[48] = "n/a (no catalog)";
	if (!json_is_null(json_object_get(json_object_get(r, "quality"), "unknown_item_events")))
		snprintf(unk, sizeof(unk), "%.0f", jnum(r, "quality.unknown_item_events"));
	fprintf(f,
	        "  quality: duplicates %.0f, unknown-item events %s, future %.0f, before %s %.0f, "
	        "bots %.0f users (%s)\n",
	        jnum(r, "quality.duplicates"), unk, jnum(r, "quality.future_events"),
	        jstr(r, "definitions.sane_epoch"), jnum(r, "quality.before_epoch_events"),
	        jnum(r, "quality.bots.users"), jstr(r, "quality.bots.rule"));
}

/* ------------------------------------------------------------------ command */

static const char describe_usage_text[] =
        "usage: rs-train describe (--input FILE [--format F] | --dsn DSN) [--json PATH] "
        "[--html PATH]\n"
        "                         [--catalog FILE] [--now UNIX_S] [--session-gap S] "
        "[--period-days D]\n"
        "                         [--bot-rate N] [--quiet] [importer options]\n\n"
        "An exploratory report of an event log: counts, density, time span, activity and\n"
        "popularity distributions (quantiles, Gini, top-1% share, long tail), funnel,\n"
        "repeat purchases, sessions, cold users/items, prices per category, data quality.\n"
        "formats: train (the CSV fit --train reads: user,item[,timestamp,type,value]),\n"
        "  events (events.csv of generate/import --out; items.csv next to it is the catalog),\n"
        "  and the importer formats movielens-100k, movielens, retailrocket, sequence, csv\n"
        "  (importer options --map --delimiter --no-header --ts-unit --ids --type --start\n"
        "  are passed on; see rs-train import --help). Default: events when the header has\n"
        "  event_id and ts_ms, else train.\n";

/* the command line of describe */
typedef struct desc_args {
	const char *input, *format, *dsn, *json_path, *html, *catalog;
	int quiet, npass, nnames;
	char **pass;          /* importer options passed on: "--name" [value] ... */
	char (*passname)[32]; /* the "--name" strings pass points to */
	tr_desc_opts o;
} desc_args;

/* an importer option: passed on as "--name" and its value, if any */
static int
desc_opt_pass(const char *cmd, const tr_opt *o, const char *arg)
{
	desc_args *a = o->dst;

	(void) cmd;
	snprintf(a->passname[a->nnames], 32, "--%s", o->name);
	a->pass[a->npass++] = a->passname[a->nnames++];
	if (arg != NULL)
		a->pass[a->npass++] = (char *) arg;
	return 0;
}

static int
desc_opt_error(const tr_opts_spec *s, const tr_opt *o, const char *arg)
{
	(void) arg;
	if (o == NULL)
		tr_opts_usage(s, stderr);
	else
		fprintf(stderr, "rs-train describe: --%s wants a number >= 0\n", o->name);
	return 2;
}

/* desc_parse: argv into *a; -1 to go on, else the exit code */
static int
desc_parse(int argc, char **argv, desc_args *a)
{
	int first, rv;
	const tr_opt t[] = {
	        TR_OPT_STR("input", &a->input, "FILE", "the event log"),
	        TR_OPT_STR("format", &a->format, "F", "its format (see above)"),
	        TR_OPT_STR("dsn", &a->dsn, "DSN", "the event store instead of --input"),
	        TR_OPT_STR("json", &a->json_path, "PATH", "also write the report as JSON"),
	        TR_OPT_STR("html", &a->html, "PATH", "also write the report as an HTML page"),
	        TR_OPT_STR("catalog", &a->catalog, "FILE", "the items' catalog"),
	        TR_OPT_DBL("session-gap", &a->o.session_gap_s, 0, HUGE_VAL, "S",
	                   "a gap above S seconds starts a new session (1800)"),
	        TR_OPT_DBL("period-days", &a->o.period_days, 0, HUGE_VAL, "D",
	                   "the latest period for cold users/items (7)"),
	        TR_OPT_DBL("bot-rate", &a->o.bot_per_min, 0, HUGE_VAL, "N",
	                   "a user with more than N events within 60 s is a bot (60)"),
	        TR_OPT_DBL("now", &a->o.now, 0, HUGE_VAL, "UNIX_S",
	                   "reference time for events in the future (default: the clock)"),
	        TR_OPT_FLAG("quiet", &a->quiet, "no summary on stdout"),
	        TR_OPT_HEAD("importer options (passed on; see rs-train import --help):"),
	        TR_OPT_FN("map", desc_opt_pass, a, "SPEC", "csv: the columns"),
	        TR_OPT_FN("delimiter", desc_opt_pass, a, "C", "csv: the delimiter"),
	        TR_OPT_FN("no-header", desc_opt_pass, a, NULL, "csv: no header line"),
	        TR_OPT_FN("ts-unit", desc_opt_pass, a, "U", "csv: s|ms|iso"),
	        TR_OPT_FN("ids", desc_opt_pass, a, "keep|map", "sequence/csv: the ids"),
	        TR_OPT_FN("type", desc_opt_pass, a, "T", "the event type when the file has none"),
	        TR_OPT_FN("start", desc_opt_pass, a, "UNIX_S",
	                  "base time for files without timestamps"),
	};
	const tr_opts_spec spec = {
	        "describe", describe_usage_text, t, sizeof(t) / sizeof(t[0]), desc_opt_error, 0};

	if ((rv = tr_opts_parse(&spec, argc, argv, &first)) != -1)
		return rv;
	if ((a->input == NULL) == (a->dsn == NULL) || first < argc ||
	    (a->dsn != NULL && (a->format != NULL || a->npass > 0 || a->catalog != NULL))) {
		fprintf(stderr, "rs-train describe: give --input FILE [--format F] or --dsn DSN\n");
		tr_opts_usage(&spec, stderr);
		return 2;
	}
	return -1;
}

/* desc_run: read, describe, write; the exit code */
static int
desc_run(desc_args *a)
{
	const char *input = a->input, *json_path = a->json_path, *html = a->html;
	tr_desc_opts o = a->o;
	tr_error err;
	int rv;

	{
		tr_desc_input in;
		double t0 = tr_now();
		tr_desc_input_init(&in);
		if (o.progress && isatty(2))
			fprintf(stderr, "describe: reading %s...\r",
			        input ? input : "the event store");
		rv = input != NULL ? tr_desc_load_file(&in, input, a->format, a->catalog, a->npass,
		                                       a->pass, &err)
		                   : tr_desc_load_dsn(&in, a->dsn, &err);
		if (rv != 0) {
			fprintf(stderr, "rs-train describe: %s\n", err.msg);
			tr_desc_input_fini(&in);
			return 1;
		}
		double t_read = tr_now() - t0;
		json_t *r = tr_describe(&in, &o);
		double t_all = tr_now() - t0;
		json_object_set_new(r, "seconds",
		                    json_pack("{s:f,s:f}", "read", t_read, "total", t_all));
		tr_desc_input_fini(&in);
		if (!a->quiet)
			tr_describe_text(stdout, r);
		if (json_path != NULL &&
		    json_dump_file(r, json_path, JSON_INDENT(1) | JSON_REAL_PRECISION(10)) != 0) {
			fprintf(stderr, "rs-train describe: cannot write %s\n", json_path);
			rv = 1;
		}
		if (rv == 0 && html != NULL && tr_describe_html(r, html, &err) != 0) {
			fprintf(stderr, "rs-train describe: %s\n", err.msg);
			rv = 1;
		}
		fprintf(stderr, "rs-train describe: %lld events in %.3f s (read %.3f s)\n",
		        (long long) json_integer_value(
		                json_object_get(json_object_get(r, "counts"), "events")),
		        t_all, t_read);
		json_decref(r);
	}
	return rv;
}

int
tr_cmd_describe(int argc, char **argv)
{
	desc_args a = {0};
	int rv;

	a.pass = tr_xcalloc((size_t) argc * 2 + 1, sizeof(char *));
	a.passname = tr_xcalloc((size_t) argc + 1, 32);
	tr_desc_opts_defaults(&a.o);
	a.o.progress = 1;
	if ((rv = desc_parse(argc, argv, &a)) == -1)
		rv = desc_run(&a);
	free(a.pass);
	free(a.passname);
	return rv;
}
