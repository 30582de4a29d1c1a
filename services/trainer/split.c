/* split: see split.h. The steps follow split.py: read -> min-rating -> dedup (earliest) ->
 * k-core -> protocol -> drop cold -> write. */
#include "split.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "csvr.h"
#include "opts.h"
#include "ids.h"
#include "md5.h"
#include "rs_err.h"
#include "rs_hash.h"
#include "rs_time.h"

enum { R_USER = 0, R_ITEM, R_RATING, R_TS, R_SKIP };
static const char *const role_names[] = {"user", "item", "rating", "timestamp", "-"};

static const char *const alias_user[] = {"user",       "userid",      "user_id",     "uid",
                                         "u",          "customerid",  "customer_id", "visitorid",
                                         "reviewerid", "reviewer_id", "member_id",   NULL};
static const char *const alias_item[] = {
        "item",     "itemid",      "item_id",    "iid",      "i",         "movieid",
        "movie_id", "productid",   "product_id", "asin",     "isbn",      "bookid",
        "book_id",  "trackid",     "track_id",   "artistid", "artist_id", "songid",
        "song_id",  "business_id", "recipe_id",  NULL};
static const char *const alias_rating[] = {"rating", "ratings", "score",       "stars",
                                           "value",  "weight",  "book-rating", "playcount",
                                           "plays",  "count",   "r",           NULL};
static const char *const alias_ts[] = {
        "timestamp", "time",       "ts",         "date", "datetime",       "unixtime",
        "unix_time", "created_at", "event_time", "t",    "unixreviewtime", NULL};
static const char *const *const aliases[] = {alias_user, alias_item, alias_rating, alias_ts};

typedef struct sp_data {
	tr_ids users, items;
	int32_t *u, *i;
	double *ts, *rating;
	int64_t n, cap;
	int has_rating, has_ts, ts_position, header_used;
	long malformed;
	char fmt[16], delim[8], roles[160];
} sp_data;

void
tr_split_opts_defaults(tr_split_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->format = "auto";
	o->protocol = "temporal-user";
	o->header = -1;
	o->test_frac = 0.2;
	o->min_holdout = 5;
	o->min_user = 1;
	o->min_item = 1;
}

static void
sp_push(sp_data *d, const char *u, size_t ul, const char *i, size_t il, double ts, double r)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 1 << 16;
		d->u = tr_xrealloc(d->u, (size_t) d->cap * sizeof(int32_t));
		d->i = tr_xrealloc(d->i, (size_t) d->cap * sizeof(int32_t));
		d->ts = tr_xrealloc(d->ts, (size_t) d->cap * sizeof(double));
		d->rating = tr_xrealloc(d->rating, (size_t) d->cap * sizeof(double));
	}
	d->u[d->n] = tr_ids_intern(&d->users, u, ul);
	d->i[d->n] = tr_ids_intern(&d->items, i, il);
	d->ts[d->n] = ts;
	d->rating[d->n] = r;
	d->n++;
}

/* trim in place (Python str.strip) */
static char *
sp_strip(char *s)
{
	char *e;

	while (*s && isspace((unsigned char) *s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char) e[-1]))
		e--;
	*e = '\0';
	return s;
}

static int
sp_is_number(const char *s)
{
	char buf[128], *t, *e;
	size_t n = strlen(s);

	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n + 1);
	t = sp_strip(buf);
	if (*t == '\0')
		return 0;
	strtod(t, &e);
	return *e == '\0';
}

static int
sp_parse_ts(const char *s, double *out)
{
	char buf[128], *t;
	int y, mo, d, h = 0, mi = 0, got;
	double sec = 0;
	size_t n = strlen(s);

	if (n >= sizeof(buf))
		return RS_EINVAL;
	memcpy(buf, s, n + 1);
	t = sp_strip(buf);
	if (tr_parse_double(t, out) == 0)
		return 0;
	if (*t == '"')
		t++;
	got = sscanf(t, "%d-%d-%d%*[ T]%d:%d:%lf", &y, &mo, &d, &h, &mi, &sec);
	if (got != 3 && got < 5)
		return RS_EINVAL;
	*out = (double) rs_time_utc(y, mo, d, h, mi, 0) + sec;
	return 0;
}

static void
sp_norm(const char *s, char *out, size_t n)
{
	size_t k = 0;
	char tmp[256], *t;

	snprintf(tmp, sizeof(tmp), "%s", s);
	t = sp_strip(tmp);
	while (*t == '"' || *t == '\'')
		t++;
	for (; *t && k + 1 < n; t++)
		if (*t != ' ')
			out[k++] = (char) tolower((unsigned char) *t);
	while (k > 0 && (out[k - 1] == '"' || out[k - 1] == '\''))
		k--;
	out[k] = '\0';
}

static int
sp_alias_role(const char *field)
{
	char n[256];
	int r, a;

	sp_norm(field, n, sizeof(n));
	for (r = 0; r < 4; r++)
		for (a = 0; aliases[r][a] != NULL; a++)
			if (strcmp(n, aliases[r][a]) == 0)
				return r;
	return R_SKIP;
}

static int
sp_cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return (x > y) - (x < y);
}

#define SP_MAXF  64
#define SP_PROBE 1001 /* records read to detect a header and the columns' roles */

/* How sp_read_delimited reads a delimited file: its dialect, whether the first record is a
 * header, and the role of each column. */
typedef struct sp_layout {
	tr_csv_dialect dialect; /* delim NULL: runs of white space */
	int header;             /* the first record is a header */
	int roles[SP_MAXF], nroles;
	int idx[4]; /* the column of each role but R_SKIP, -1 if none */
	int need;   /* fields a data line must have */
} sp_layout;

/* The first SP_PROBE records of a file, as far as the detection of a header and of the
 * columns' roles looks at them. */
typedef struct sp_probe {
	int64_t nrec;        /* records read */
	int alias0;          /* record 0 names a known column */
	int num0, num1;      /* record 0 / 1 holds a number */
	int roles0[SP_MAXF]; /* record 0's names as roles (aliases; unknown names are R_SKIP) */
	int nroles0;
	int nf[SP_PROBE];                  /* fields of each record */
	double third[SP_PROBE];            /* its third field as a number (3 fields or more) */
	unsigned char third_num[SP_PROBE]; /* ... which is a number */
} sp_probe;

/* --columns (or ml100k's fixed columns) into l->roles. */
static int
sp_columns(const tr_split_opts *o, sp_layout *l, tr_error *err)
{
	char cb[256], *tok, *save = NULL;
	int k;

	snprintf(cb, sizeof(cb), "%s", o->columns ? o->columns : "user,item,rating,timestamp");
	for (tok = strtok_r(cb, ",", &save); tok && l->nroles < SP_MAXF;
	     tok = strtok_r(NULL, ",", &save)) {
		char *t = sp_strip(tok);
		for (k = 0; k < 5 && strcmp(t, role_names[k]) != 0; k++)
			;
		if (k == 5)
			return tr_error_set(err, RS_EINVAL,
			                    "--columns: unknown name '%s'; use user, item, rating, "
			                    "timestamp or -",
			                    t);
		l->roles[l->nroles++] = k;
	}
	return 0;
}

static int
sp_open(tr_csvr *r, const char *path, const sp_layout *l, tr_error *err)
{
	if (tr_csvr_open(r, path, &l->dialect) != 0)
		return tr_error_set(err, RS_EIO, "%s: cannot open: %s", path, strerror(errno));
	return 0;
}

/* The end of a read of path: a read error (last < 0) named unless rv is one already. */
static int
sp_close(tr_csvr *r, int rv, int last, const char *path, tr_error *err)
{
	if (rv == 0 && last < 0)
		rv = tr_error_set(err, last, "%s:%ld: %s", path, r->lineno, rs_strerror(last));
	tr_csvr_close(r);
	return rv;
}

/* One record of the probe into p. */
static void
sp_probe_record(sp_probe *p, char **f, size_t nf)
{
	size_t k;

	for (k = 0; k < nf && k < SP_MAXF; k++) {
		if (p->nrec == 0) {
			p->roles0[p->nroles0++] = sp_alias_role(f[k]);
			p->alias0 |= p->roles0[k] != R_SKIP;
			p->num0 |= sp_is_number(f[k]);
		} else if (p->nrec == 1) {
			p->num1 |= sp_is_number(f[k]);
		}
	}
	p->nf[p->nrec] = (int) nf;
	if (nf >= 3) {
		char *e;
		p->third[p->nrec] = strtod(f[2], &e);
		p->third_num[p->nrec] = !(e == f[2] || *sp_strip(e) != '\0');
	}
	p->nrec++;
}

/* The first SP_PROBE records of the file into p. */
static int
sp_probe_read(const char *path, const sp_layout *l, sp_probe *p, tr_error *err)
{
	tr_csvr r;
	int rv, last = 0;

	if ((rv = sp_open(&r, path, l, err)) != 0)
		return rv;
	while (p->nrec < SP_PROBE && (last = tr_csvr_next(&r)) == 1)
		sp_probe_record(p, r.fields, r.nfields);
	return sp_close(&r, 0, last, path, err);
}

/* header auto: a header names a known column, or is all text over a row with numbers. */
static int
sp_detect_header(const sp_probe *p)
{
	return p->alias0 || (p->nrec > 1 && !p->num0 && p->num1);
}

/* No header and no --columns: roles by position from the first 1000 data lines: user, item,
 * then a third column that is a timestamp when it is not numeric or its median exceeds 1e6,
 * else a rating; with 4 or more columns rating, timestamp and skipped columns. */
static int
sp_positional_roles(sp_layout *l, const sp_probe *p, tr_error *err)
{
	int64_t start = l->header, r, lim = start + 1000 < p->nrec ? start + 1000 : p->nrec,
	        cnt = 0;
	int mn = 1 << 30, mx = 0, isnum = 1, nf, k, rv = 0;
	double *third = tr_xmalloc(1000 * sizeof(double));

	for (r = start; r < lim; r++) {
		nf = p->nf[r];
		mn = nf < mn ? nf : mn;
		mx = nf > mx ? nf : mx;
		if (nf >= 3) {
			third[cnt] = p->third[r];
			if (!p->third_num[r])
				isnum = 0;
			cnt++;
		}
	}
	if (mx != mn && mx > 4)
		rv = tr_error_set(err, RS_EINVAL,
		                  "lines have different numbers of fields; for one line per user "
		                  "use --format seq (user first) or --format basket");
	else if (mn < 2)
		rv = tr_error_set(err, RS_EINVAL, "need at least 2 columns (user, item)");
	if (rv != 0) {
		free(third);
		return rv;
	}
	l->roles[l->nroles++] = R_USER;
	l->roles[l->nroles++] = R_ITEM;
	if (mn == 3) {
		double med = 0;
		if (isnum && cnt > 0) {
			qsort(third, (size_t) cnt, sizeof(double), sp_cmp_double);
			med = cnt % 2 ? third[cnt / 2] : (third[cnt / 2 - 1] + third[cnt / 2]) / 2;
		}
		l->roles[l->nroles++] = (!isnum || med > 1e6) ? R_TS : R_RATING;
	} else if (mn >= 4) {
		l->roles[l->nroles++] = R_RATING;
		l->roles[l->nroles++] = R_TS;
		for (k = 4; k < mn && l->nroles < SP_MAXF; k++)
			l->roles[l->nroles++] = R_SKIP;
	}
	free(third);
	return 0;
}

/* l->roles into l->idx and l->need, and d's record of them (has_rating, has_ts, roles). */
static int
sp_resolve_roles(const tr_split_opts *o, sp_layout *l, sp_data *d, tr_error *err)
{
	int k;

	for (k = 0; k < 4; k++)
		l->idx[k] = -1;
	for (k = l->nroles - 1; k >= 0; k--)
		if (l->roles[k] != R_SKIP)
			l->idx[l->roles[k]] = k;
	if (l->idx[R_USER] < 0 || l->idx[R_ITEM] < 0)
		return tr_error_set(err, RS_EINVAL,
		                    "%s: cannot find user and item columns; pass --columns",
		                    o->input);
	for (k = 0; k < 4; k++)
		if (l->idx[k] + 1 > l->need)
			l->need = l->idx[k] + 1;
	d->has_rating = l->idx[R_RATING] >= 0;
	d->has_ts = l->idx[R_TS] >= 0;
	d->roles[0] = '\0';
	for (k = 0; k < l->nroles; k++) {
		size_t used = strlen(d->roles);
		snprintf(d->roles + used, sizeof(d->roles) - used, "%s%s", k ? "," : "",
		         role_names[l->roles[k]]);
	}
	return 0;
}

/* One data record into d: a short one is counted as malformed, a bad rating or timestamp is
 * an error. */
static int
sp_parse_row(const tr_split_opts *o, const sp_layout *l, char **f, size_t nf, sp_data *d,
             tr_error *err)
{
	const int *idx = l->idx;
	double ts = 0, rating = 0;
	char *us, *is;

	if ((int) nf < l->need) {
		d->malformed++;
		return 0;
	}
	if (d->has_rating && tr_parse_double(sp_strip(f[idx[R_RATING]]), &rating) != 0)
		return tr_error_set(err, RS_EINVAL, "%s: non-numeric rating '%s'; check --columns",
		                    o->input, f[idx[R_RATING]]);
	if (d->has_ts && sp_parse_ts(f[idx[R_TS]], &ts) != 0)
		return tr_error_set(err, RS_EINVAL,
		                    "%s: cannot parse timestamp '%s' (need a number or "
		                    "ISO-8601 date)",
		                    o->input, f[idx[R_TS]]);
	us = sp_strip(f[idx[R_USER]]);
	is = sp_strip(f[idx[R_ITEM]]);
	sp_push(d, us, strlen(us), is, strlen(is), ts, rating);
	return 0;
}

/* The data records of o->input into d. */
static int
sp_parse_rows(const tr_split_opts *o, const sp_layout *l, sp_data *d, tr_error *err)
{
	tr_csvr r;
	int rv, last;

	if ((rv = sp_open(&r, o->input, l, err)) != 0)
		return rv;
	while ((last = tr_csvr_next(&r)) == 1)
		if ((r.records > 1 || !l->header) &&
		    (rv = sp_parse_row(o, l, r.fields, r.nfields, d, err)) != 0)
			break;
	return sp_close(&r, rv, last, o->input, err);
}

/* A delimited file (fmt csv, tsv, ml100k, space, dat) into d: the column roles come from
 * --columns, else a header, else the positions. The file is read twice: its first records
 * for the roles, then every record. */
static int
sp_read_delimited(const tr_split_opts *o, const char *fmt, sp_data *d, tr_error *err)
{
	sp_layout l = {.dialect = {.delim = NULL}};
	sp_probe *p;
	int header = o->header, rv = 0;

	if (strcmp(fmt, "csv") == 0)
		l.dialect.delim = ",";
	else if (strcmp(fmt, "tsv") == 0 || strcmp(fmt, "ml100k") == 0)
		l.dialect.delim = "\t";
	else if (strcmp(fmt, "dat") == 0)
		l.dialect.delim = "::";
	snprintf(d->delim, sizeof(d->delim), "%s", l.dialect.delim ? l.dialect.delim : "");
	if (strcmp(fmt, "ml100k") == 0 && header < 0)
		header = 0;
	if ((o->columns != NULL || strcmp(fmt, "ml100k") == 0) &&
	    (rv = sp_columns(o, &l, err)) != 0)
		return rv;
	p = tr_xcalloc(1, sizeof(*p));
	if ((rv = sp_probe_read(o->input, &l, p, err)) == 0 && p->nrec == 0)
		rv = tr_error_set(err, RS_EINVAL, "%s: no data rows", o->input);
	if (rv == 0) {
		l.header = header < 0 ? sp_detect_header(p) : header != 0;
		d->header_used = l.header;
		if (l.header && l.nroles == 0) {
			memcpy(l.roles, p->roles0, sizeof(l.roles));
			l.nroles = p->nroles0;
		}
		if (l.nroles == 0)
			rv = sp_positional_roles(&l, p, err);
	}
	free(p);
	if (rv == 0)
		rv = sp_resolve_roles(o, &l, d, err);
	if (rv == 0)
		rv = sp_parse_rows(o, &l, d, err);
	return rv;
}

static int
sp_read_seq(const tr_split_opts *o, int basket, char *buf, size_t len, sp_data *d)
{
	char *p = buf, *end = buf + len, *nl;
	int comma = -1;
	long lineno = 0;

	(void) o;
	while (p <= end) {
		char *e;
		nl = p;
		while (nl < end && *nl != '\n' && *nl != '\r')
			nl++;
		e = nl;
		if (nl < end && *nl == '\r' && nl + 1 < end && nl[1] == '\n')
			nl++;
		*e = '\0';
		if (p == end && e == end)
			break; /* no line after a final newline */
		lineno++;
		if (comma < 0 && *sp_strip(p) != '\0') { /* first non-blank line decides */
			comma = strchr(p, ',') != NULL;
			snprintf(d->delim, sizeof(d->delim), "%s", comma ? "," : "");
		}
		{
			/* tokens: split at ',' (or whitespace), stripped, empty ones dropped */
			char *q = p, *first = NULL;
			long pos = 0;
			char ub[32];
			snprintf(ub, sizeof(ub), "%ld", lineno);
			while (*q) {
				char *t = q, *te;
				if (comma > 0) {
					while (*q && *q != ',')
						q++;
				} else {
					while (*q && isspace((unsigned char) *q))
						q++;
					t = q;
					while (*q && !isspace((unsigned char) *q))
						q++;
				}
				te = q;
				if (*q)
					q++;
				*te = '\0';
				t = sp_strip(t);
				if (*t == '\0')
					continue;
				if (!basket && first == NULL) {
					first = t;
					continue;
				}
				if (basket)
					sp_push(d, ub, strlen(ub), t, strlen(t), (double) pos, 0);
				else
					sp_push(d, first, strlen(first), t, strlen(t), (double) pos,
					        0);
				pos++;
			}
			if (!basket && first != NULL && pos == 0)
				d->malformed++;
		}
		p = nl + 1;
	}
	d->has_ts = 1;
	d->ts_position = 1;
	snprintf(d->roles, sizeof(d->roles), "%s", basket ? "items..." : "user,items...");
	return 0;
}

/* ------------------------------------------------------------------ processing */

typedef struct sp_sort {
	const int32_t *u, *i;
	const double *t, *key;
	const int64_t *row;
} sp_sort;

static int
sp_cmp_uitr(const void *a, const void *b, void *vctx) /* (u, i, t, row) */
{
	const sp_sort *c = vctx;
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

	if (c->u[x] != c->u[y])
		return c->u[x] < c->u[y] ? -1 : 1;
	if (c->i[x] != c->i[y])
		return c->i[x] < c->i[y] ? -1 : 1;
	if (c->t[x] != c->t[y])
		return c->t[x] < c->t[y] ? -1 : 1;
	return (c->row[x] > c->row[y]) - (c->row[x] < c->row[y]);
}

static int
sp_cmp_ukr(const void *a, const void *b, void *vctx) /* (u, key, row) */
{
	const sp_sort *c = vctx;
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

	if (c->u != NULL && c->u[x] != c->u[y])
		return c->u[x] < c->u[y] ? -1 : 1;
	if (c->key[x] != c->key[y])
		return c->key[x] < c->key[y] ? -1 : 1;
	return (c->row[x] > c->row[y]) - (c->row[x] < c->row[y]);
}

static int
sp_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

void
tr_split_format_ts(double v, int as_int, char *buf, size_t n)
{
	char e[64], digits[32];
	int p, exp10, nd = 0, k;
	size_t at = 0;

	if (as_int) {
		snprintf(buf, n, "%lld", (long long) v);
		return;
	}
	if (isnan(v)) {
		snprintf(buf, n, "nan");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, n, v > 0 ? "inf" : "-inf");
		return;
	}
	for (p = 1; p <= 17; p++) { /* shortest round trip, like Python's repr */
		snprintf(e, sizeof(e), "%.*e", p - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	{ /* e = [-]d[.ddd]e[+-]XX */
		char *s = e, *x = strchr(e, 'e');
		exp10 = atoi(x + 1);
		if (*s == '-')
			buf[at++] = *s++;
		for (; s < x; s++)
			if (isdigit((unsigned char) *s))
				digits[nd++] = *s;
		while (nd > 1 && digits[nd - 1] == '0')
			nd--;
	}
	if (exp10 >= -5 + 1 && exp10 < 16) { /* fixed notation */
		if (exp10 < 0) {
			at += (size_t) snprintf(buf + at, n - at, "0.");
			for (k = 0; k < -exp10 - 1; k++)
				buf[at++] = '0';
			for (k = 0; k < nd; k++)
				buf[at++] = digits[k];
		} else {
			for (k = 0; k <= exp10; k++)
				buf[at++] = k < nd ? digits[k] : '0';
			buf[at++] = '.';
			if (nd > exp10 + 1)
				for (k = exp10 + 1; k < nd; k++)
					buf[at++] = digits[k];
			else
				buf[at++] = '0';
		}
		buf[at] = '\0';
		return;
	}
	buf[at++] = digits[0];
	if (nd > 1) {
		buf[at++] = '.';
		for (k = 1; k < nd; k++)
			buf[at++] = digits[k];
	}
	snprintf(buf + at, n - at, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
}

static int
sp_write(const char *path, const sp_data *d, const int32_t *u, const int32_t *i, const double *t,
         const int64_t *row, const int64_t *sel, int64_t n, tr_error *err)
{
	FILE *f = fopen(path, "w");
	int64_t *idx = tr_xmalloc((size_t) (n > 0 ? n : 1) * sizeof(int64_t)), k;
	sp_sort c = {u, NULL, t, t, row};
	int as_int = n > 0;
	char tb[64];

	if (f == NULL) {
		free(idx);
		return tr_error_set(err, RS_EIO, "%s: cannot create: %s", path, strerror(errno));
	}
	memcpy(idx, sel, (size_t) n * sizeof(int64_t));
	qsort_r(idx, (size_t) n, sizeof(int64_t), sp_cmp_ukr, &c);
	for (k = 0; k < n && as_int; k++) {
		double v = t[idx[k]];
		as_int = isfinite(v) && v == round(v) && fabs(v) < 9007199254740992.0;
	}
	fputs("user,item,timestamp\n", f);
	for (k = 0; k < n; k++) {
		tr_split_format_ts(t[idx[k]], as_int, tb, sizeof(tb));
		fprintf(f, "%s,%s,%s\n", tr_ids_name(&d->users, u[idx[k]]),
		        tr_ids_name(&d->items, i[idx[k]]), tb);
	}
	free(idx);
	if (ferror(f) | (fclose(f) != 0))
		return tr_error_set(err, RS_EIO, "%s: write failed", path);
	return 0;
}

static int64_t
sp_distinct(const int32_t *codes, const int64_t *sel, int64_t n, int32_t ncodes)
{
	unsigned char *m = tr_xcalloc((size_t) ncodes + 1, 1);
	int64_t k, c = 0;

	for (k = 0; k < n; k++)
		if (!m[codes[sel[k]]]) {
			m[codes[sel[k]]] = 1;
			c++;
		}
	free(m);
	return c;
}

/* The state of one split, from the file read to the train and test selections. tr_split_run
 * owns every array (sp_split_free). sel, trs and tes hold row numbers into d. */
typedef struct sp_split {
	const tr_split_opts *o;
	int per_user, loo, gt, rnd; /* the protocol */
	char *buf;                  /* the input file; d's strings are copied out of it */
	size_t len;
	char md5[33];
	sp_data d;
	int64_t n, *row;    /* rows read; row[k] = k, the tie-break of every sort */
	int64_t *sel, nsel; /* the rows left after each filter */
	long after_rating, after_dedup;
	unsigned char *is_test; /* by row */
	double t_cut;           /* global-time: the first test timestamp, else NAN */
	long kept_whole;        /* users with fewer than min_holdout rows */
	int64_t *trs, *tes, ntrain, ntest, ncold;
} sp_split;

static void
sp_split_free(sp_split *s)
{
	free(s->buf);
	free(s->row);
	free(s->sel);
	free(s->trs);
	free(s->tes);
	free(s->is_test);
	free(s->d.u);
	free(s->d.i);
	free(s->d.ts);
	free(s->d.rating);
	tr_ids_fini(&s->d.users);
	tr_ids_fini(&s->d.items);
}

static int
sp_protocol(sp_split *s, tr_error *err)
{
	const char *p = s->o->protocol;

	s->per_user = strcmp(p, "temporal-user") == 0;
	s->loo = strcmp(p, "leave-one-out") == 0;
	s->gt = strcmp(p, "global-time") == 0;
	s->rnd = strcmp(p, "random-user") == 0;
	if (!s->per_user && !s->loo && !s->gt && !s->rnd)
		return tr_error_set(err, RS_EINVAL,
		                    "unknown protocol '%s' (temporal-user, global-time, "
		                    "random-user, leave-one-out)",
		                    p);
	return 0;
}

/* --format auto: the first non-blank line's delimiter decides. */
static int
sp_detect_format(sp_split *s, const char **fmt, tr_error *err)
{
	char *p = s->buf, *e;

	while (*p && isspace((unsigned char) *p))
		p++;
	if (*p == '\0')
		return tr_error_set(err, RS_EINVAL, "%s: file is empty", s->o->input);
	e = strchr(p, '\n');
	if (e != NULL)
		*e = '\0';
	*fmt = strstr(p, "::") ? "dat" : strchr(p, '\t') ? "tsv" : strchr(p, ',') ? "csv" : "space";
	if (e != NULL)
		*e = '\n';
	return 0;
}

/* Reads o->input into s->d and numbers the rows; rows without a timestamp get their position. */
static int
sp_read(sp_split *s, tr_error *err)
{
	const tr_split_opts *o = s->o;
	const char *fmt = o->format;
	int64_t k;
	int rv;

	if ((rv = tr_read_file(o->input, &s->buf, &s->len, err)) != 0)
		return rv;
	tr_md5_hex(s->buf, s->len, s->md5);
	if (strcmp(fmt, "auto") == 0 && (rv = sp_detect_format(s, &fmt, err)) != 0)
		return rv;
	snprintf(s->d.fmt, sizeof(s->d.fmt), "%s", fmt);
	if (strcmp(fmt, "seq") == 0 || strcmp(fmt, "basket") == 0)
		rv = sp_read_seq(o, fmt[0] == 'b', s->buf, s->len, &s->d);
	else if (strcmp(fmt, "csv") == 0 || strcmp(fmt, "tsv") == 0 || strcmp(fmt, "ml100k") == 0 ||
	         strcmp(fmt, "space") == 0 || strcmp(fmt, "dat") == 0)
		rv = sp_read_delimited(o, fmt, &s->d, err);
	else
		rv = tr_error_set(err, RS_EINVAL, "unknown --format '%s'", fmt);
	if (rv != 0)
		return rv;
	s->n = s->d.n;
	s->row = tr_xmalloc((size_t) (s->n > 0 ? s->n : 1) * sizeof(int64_t));
	for (k = 0; k < s->n; k++)
		s->row[k] = k;
	if (!s->d.has_ts) {
		for (k = 0; k < s->n; k++)
			s->d.ts[k] = (double) k;
		fprintf(stderr, "rs-train split: no timestamp column; using file order as time\n");
	}
	if (o->has_min_rating && !s->d.has_rating)
		return tr_error_set(err, RS_EINVAL,
		                    "--min-rating given but the file has no rating column");
	return 0;
}

/* min rating, then dedup keeping the earliest (ts, row) of each (user, item): s->sel. */
static void
sp_filter_dedup(sp_split *s)
{
	const sp_data *d = &s->d;
	sp_sort c = {d->u, d->i, d->ts, NULL, s->row};
	int64_t k, m, nsel;

	s->sel = tr_xmalloc((size_t) (s->n > 0 ? s->n : 1) * sizeof(int64_t));
	for (nsel = 0, k = 0; k < s->n; k++)
		if (!s->o->has_min_rating || d->rating[k] >= s->o->min_rating)
			s->sel[nsel++] = k;
	s->after_rating = (long) nsel;
	qsort_r(s->sel, (size_t) nsel, sizeof(int64_t), sp_cmp_uitr, &c);
	for (m = 0, k = 0; k < nsel; k++)
		if (k == 0 || d->u[s->sel[k]] != d->u[s->sel[k - 1]] ||
		    d->i[s->sel[k]] != d->i[s->sel[k - 1]])
			s->sel[m++] = s->sel[k];
	s->nsel = m;
	qsort(s->sel, (size_t) s->nsel, sizeof(int64_t), sp_cmp_i64);
	s->after_dedup = (long) s->nsel;
}

/* k-core, iterated until stable: drops from s->sel the rows of users and items with too few. */
static void
sp_kcore(sp_split *s)
{
	const sp_data *d = &s->d;
	size_t nu = (size_t) tr_ids_count(&d->users) + 1, ni = (size_t) tr_ids_count(&d->items) + 1;
	int64_t *cu, *ci, k, m;

	if (s->o->min_user <= 1 && s->o->min_item <= 1)
		return;
	cu = tr_xmalloc(nu * sizeof(int64_t));
	ci = tr_xmalloc(ni * sizeof(int64_t));
	for (;;) {
		memset(cu, 0, nu * sizeof(int64_t));
		memset(ci, 0, ni * sizeof(int64_t));
		for (k = 0; k < s->nsel; k++) {
			cu[d->u[s->sel[k]]]++;
			ci[d->i[s->sel[k]]]++;
		}
		for (m = 0, k = 0; k < s->nsel; k++)
			if (cu[d->u[s->sel[k]]] >= s->o->min_user &&
			    ci[d->i[s->sel[k]]] >= s->o->min_item)
				s->sel[m++] = s->sel[k];
		if (m == s->nsel)
			break;
		s->nsel = m;
	}
	free(cu);
	free(ci);
}

/* global-time: every row at or after the timestamp at (1 - test_frac) of the selection. */
static void
sp_mark_global_time(sp_split *s)
{
	sp_sort c = {NULL, NULL, NULL, s->d.ts, s->row};
	int64_t *tmp = tr_xmalloc((size_t) s->nsel * sizeof(int64_t)), cut, k;

	memcpy(tmp, s->sel, (size_t) s->nsel * sizeof(int64_t));
	qsort_r(tmp, (size_t) s->nsel, sizeof(int64_t), sp_cmp_ukr, &c);
	cut = (int64_t) floor((1.0 - s->o->test_frac) * (double) s->nsel);
	if (cut < s->nsel) {
		s->t_cut = s->d.ts[tmp[cut]];
		for (k = 0; k < s->nsel; k++)
			s->is_test[s->sel[k]] = s->d.ts[s->sel[k]] >= s->t_cut;
	}
	free(tmp);
}

/* temporal-user, random-user, leave-one-out: the last rows of each user in time (or a seeded
 * random) order, for users with at least min_holdout rows. */
static void
sp_mark_per_user(sp_split *s)
{
	const tr_split_opts *o = s->o;
	const sp_data *d = &s->d;
	double *key = d->ts;
	int32_t nu = tr_ids_count(&d->users);
	int64_t *cnt = tr_xcalloc((size_t) nu + 1, sizeof(int64_t)), *tmp, k;
	sp_sort c = {d->u, NULL, NULL, NULL, s->row};
	uint64_t seed = o->seed * 0x2545f4914f6cdd1dULL + 12345;

	if (s->rnd) {
		key = tr_xmalloc((size_t) (s->n > 0 ? s->n : 1) * sizeof(double));
		for (k = 0; k < s->nsel; k++)
			key[s->sel[k]] = (double) (rs_splitmix64(&seed) >> 11) / 9007199254740992.0;
	}
	c.key = key;
	tmp = tr_xmalloc((size_t) s->nsel * sizeof(int64_t));
	memcpy(tmp, s->sel, (size_t) s->nsel * sizeof(int64_t));
	qsort_r(tmp, (size_t) s->nsel, sizeof(int64_t), sp_cmp_ukr, &c);
	for (k = 0; k < s->nsel; k++)
		cnt[d->u[s->sel[k]]]++;
	for (k = 0; k < s->nsel;) {
		int64_t nuser = cnt[d->u[tmp[k]]], nt, q;
		nt = s->loo ? 1 : (int64_t) floor(o->test_frac * (double) nuser + 0.5);
		if (nt < 1)
			nt = 1;
		if (nuser >= o->min_holdout)
			for (q = nuser - nt; q < nuser; q++)
				s->is_test[tmp[k + q]] = 1;
		k += nuser;
	}
	for (k = 0; k < nu; k++)
		s->kept_whole += cnt[k] > 0 && cnt[k] < o->min_holdout;
	if (s->rnd)
		free(key);
	free(tmp);
	free(cnt);
}

/* The selection into s->trs and s->tes; test rows of users or items without a train row are
 * dropped (counted in s->ncold) unless keep_cold. */
static void
sp_drop_cold(sp_split *s)
{
	const sp_data *d = &s->d;
	unsigned char *tu = tr_xcalloc((size_t) tr_ids_count(&d->users) + 1, 1);
	unsigned char *ti = tr_xcalloc((size_t) tr_ids_count(&d->items) + 1, 1);
	int64_t k;

	s->trs = tr_xmalloc((size_t) s->nsel * sizeof(int64_t));
	s->tes = tr_xmalloc((size_t) s->nsel * sizeof(int64_t));
	for (k = 0; k < s->nsel; k++)
		if (!s->is_test[s->sel[k]]) {
			tu[d->u[s->sel[k]]] = 1;
			ti[d->i[s->sel[k]]] = 1;
			s->trs[s->ntrain++] = s->sel[k];
		}
	for (k = 0; k < s->nsel; k++)
		if (s->is_test[s->sel[k]]) {
			if (s->o->keep_cold || (tu[d->u[s->sel[k]]] && ti[d->i[s->sel[k]]]))
				s->tes[s->ntest++] = s->sel[k];
			else
				s->ncold++;
		}
	free(tu);
	free(ti);
}

/* The counts of split.json and of the summary line (a new reference). */
static json_t *
sp_counts(const sp_split *s)
{
	const sp_data *d = &s->d;
	int32_t nu = tr_ids_count(&d->users), ni = tr_ids_count(&d->items);
	json_t *counts = json_pack(
	        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	        "s:I, s:I}",
	        "rows_read", (json_int_t) s->n, "rows_malformed", (json_int_t) d->malformed,
	        "after_min_rating", (json_int_t) s->after_rating, "after_dedup",
	        (json_int_t) s->after_dedup, "after_kcore", (json_int_t) s->nsel, "users",
	        (json_int_t) sp_distinct(d->u, s->sel, s->nsel, nu), "items",
	        (json_int_t) sp_distinct(d->i, s->sel, s->nsel, ni), "interactions",
	        (json_int_t) s->nsel, "train_interactions", (json_int_t) s->ntrain, "train_users",
	        (json_int_t) sp_distinct(d->u, s->trs, s->ntrain, nu), "train_items",
	        (json_int_t) sp_distinct(d->i, s->trs, s->ntrain, ni), "test_interactions",
	        (json_int_t) s->ntest, "test_users",
	        (json_int_t) sp_distinct(d->u, s->tes, s->ntest, nu), "test_items",
	        (json_int_t) sp_distinct(d->i, s->tes, s->ntest, ni),
	        "cold_test_interactions_dropped", (json_int_t) s->ncold);

	if (!s->gt)
		json_object_set_new(counts, "users_kept_whole_in_train",
		                    json_integer(s->kept_whole));
	return counts;
}

/* split.py's one-line summary on stdout. */
static void
sp_print_summary(const sp_split *s, json_t *counts)
{
	json_t *sum = json_pack("{s:s}", "protocol", s->o->protocol);
	char *line;

	json_object_update(sum, counts);
	line = json_dumps(sum, JSON_COMPACT);
	if (!s->o->quiet)
		printf("%s\n", line);
	free(line);
	json_decref(sum);
}

/* DIR/split.json: the options, the input and the counts (the reference is stolen). */
static int
sp_write_meta(const sp_split *s, json_t *counts, double t0, tr_error *err)
{
	const tr_split_opts *o = s->o;
	const sp_data *d = &s->d;
	const char *base = strrchr(o->input, '/');
	char path[4096];
	int rv = 0;
	json_t *root =
	        json_pack("{s:s, s:s, s:f, s:i}", "created_by", "rs-train split", "protocol",
	                  o->protocol, "test_frac", o->test_frac, "min_holdout", o->min_holdout);

	json_object_set_new(root, "seed",
	                    s->rnd ? json_integer((json_int_t) o->seed) : json_null());
	json_object_set_new(root, "min_rating",
	                    o->has_min_rating ? json_real(o->min_rating) : json_null());
	json_object_set_new(root, "min_user", json_integer(o->min_user));
	json_object_set_new(root, "min_item", json_integer(o->min_item));
	json_object_set_new(root, "keep_cold", json_boolean(o->keep_cold));
	json_object_set_new(root, "global_time_cut",
	                    isnan(s->t_cut) ? json_null() : json_real(s->t_cut));
	json_object_set_new(root, "timestamp_source",
	                    json_string(d->ts_position ? "position_in_line"
	                                : d->has_ts    ? "column"
	                                               : "row_order"));
	json_object_set_new(root, "random_generator",
	                    json_string(s->rnd ? "splitmix64 (not numpy default_rng)" : "none"));
	json_object_set_new(root, "input",
	                    json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:I, s:I}", "file",
	                              base ? base + 1 : o->input, "md5", s->md5, "format", d->fmt,
	                              "delimiter", d->delim, "header", d->header_used, "columns",
	                              d->roles, "rows_read", (json_int_t) s->n, "rows_malformed",
	                              (json_int_t) d->malformed));
	json_object_set_new(root, "counts", counts);
	json_object_set_new(root, "seconds", json_real(round((tr_now() - t0) * 100) / 100));
	tr_path_join(path, sizeof(path), o->out_dir, "split.json");
	if (json_dump_file(root, path, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) != 0)
		rv = tr_error_set(err, RS_EIO, "%s: cannot write", path);
	json_decref(root);
	return rv;
}

int
tr_split_run(const tr_split_opts *o, tr_error *err)
{
	sp_split s = {.o = o, .t_cut = NAN};
	char path[4096];
	double t0 = tr_now();
	json_t *counts;
	int rv;

	tr_ids_init(&s.d.users);
	tr_ids_init(&s.d.items);
	if ((rv = sp_protocol(&s, err)) != 0 || (rv = sp_read(&s, err)) != 0)
		goto out;
	sp_filter_dedup(&s);
	sp_kcore(&s);
	if (s.nsel == 0) {
		rv = tr_error_set(err, RS_EINVAL, "no interactions left after filtering");
		goto out;
	}
	s.is_test = tr_xcalloc((size_t) s.n + 1, 1);
	if (s.gt)
		sp_mark_global_time(&s);
	else
		sp_mark_per_user(&s);
	sp_drop_cold(&s);
	if ((rv = tr_mkdir_p(o->out_dir, err)) != 0)
		goto out;
	tr_path_join(path, sizeof(path), o->out_dir, "train.csv");
	if ((rv = sp_write(path, &s.d, s.d.u, s.d.i, s.d.ts, s.row, s.trs, s.ntrain, err)) != 0)
		goto out;
	tr_path_join(path, sizeof(path), o->out_dir, "test.csv");
	if ((rv = sp_write(path, &s.d, s.d.u, s.d.i, s.d.ts, s.row, s.tes, s.ntest, err)) != 0)
		goto out;
	counts = sp_counts(&s);
	sp_print_summary(&s, counts);
	rv = sp_write_meta(&s, counts, t0, err);
out:
	sp_split_free(&s);
	return rv;
}
