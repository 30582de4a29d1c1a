/* csv: see csv.h. Records come from trainer_dataio's reader (csvr.h): commas, no quoting,
 * blanks around fields dropped. */
#include "csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csvr.h"
#include "rs_err.h"

#define CSV_MAX_COLS 64

/* A header name without the quotes around it ("user" or 'user'). */
static char *
csv_unquote(char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
		s[n - 1] = '\0';
		return s + 1;
	}
	return s;
}

static int
csv_open(tr_csvr *r, const char *path, const tr_csv_dialect *d, tr_error *err)
{
	if (tr_csvr_open(r, path, d) != 0)
		return tr_error_set(err, RS_EIO, "%s: cannot open: %s", path, strerror(errno));
	return 0;
}

/* The end of a read: r's error (if rv is 0) named, r closed; returns the error. */
static int
csv_close(tr_csvr *r, int rv, int last, const char *path, tr_error *err)
{
	if (rv == 0 && last < 0)
		rv = tr_error_set(err, last, "%s:%ld: %s", path, r->lineno,
		                  last == RS_EIO ? "read error" : rs_strerror(last));
	tr_csvr_close(r);
	return rv;
}

/* The columns of the header r holds into idx[] (-1 = absent) and the fields a data line needs
 * into *need; a missing required column is an error. */
static int
csv_header(const tr_csvr *r, const char *path, const char *const *cols, int ncols, int nrequired,
           int *idx, int *need, tr_error *err)
{
	for (int j = 0; j < ncols; j++) {
		idx[j] = -1;
		for (size_t k = 0; k < r->nfields; k++)
			if (strcasecmp(csv_unquote(r->fields[k]), cols[j]) == 0) {
				idx[j] = (int) k;
				break;
			}
		if (idx[j] < 0 && j < nrequired)
			return tr_error_set(err, RS_EINVAL,
			                    "%s:%ld: missing column '%s' in the header "
			                    "(expected e.g. 'user,item,timestamp')",
			                    path, r->lineno, cols[j]);
		if (idx[j] + 1 > *need)
			*need = idx[j] + 1;
	}
	return 0;
}

int
tr_csv_each(const char *path, const char *const *cols, int ncols, int nrequired, tr_csv_row_fn fn,
            void *ctx, tr_error *err)
{
	static const tr_csv_dialect dialect = {.delim = ",", .trim = 1};
	char *vals[CSV_MAX_COLS];
	int idx[CSV_MAX_COLS], j, need = 0, rv = 0, r = 0;
	tr_csvr f;

	if (ncols > CSV_MAX_COLS)
		return tr_error_set(err, RS_EINVAL, "too many columns requested");
	if ((rv = csv_open(&f, path, &dialect, err)) != 0)
		return rv;
	while (rv == 0 && (r = tr_csvr_next(&f)) == 1) {
		if (f.records == 1) {
			rv = csv_header(&f, path, cols, ncols, nrequired, idx, &need, err);
			continue;
		}
		if ((int) f.nfields < need) {
			rv = tr_error_set(
			        err, RS_EINVAL,
			        "%s:%ld: expected at least %d comma-separated fields, found %zu",
			        path, f.lineno, need, f.nfields);
			break;
		}
		for (j = 0; j < ncols; j++)
			vals[j] = idx[j] >= 0 ? f.fields[idx[j]] : NULL;
		for (j = 0; j < nrequired && rv == 0; j++)
			if (vals[j][0] == '\0')
				rv = tr_error_set(err, RS_EINVAL, "%s:%ld: empty '%s' field", path,
				                  f.lineno, cols[j]);
		if (rv == 0)
			rv = fn(ctx, vals, f.lineno, err);
	}
	if (rv == 0 && r == 0 && f.records == 0)
		rv = tr_error_set(err, RS_EINVAL, "%s: file is empty (expected a header line)",
		                  path);
	return csv_close(&f, rv, r, path, err);
}

int
tr_lines_each(const char *path, const char *skip_header, tr_csv_row_fn fn, void *ctx, tr_error *err)
{
	static const tr_csv_dialect whole_line = {.delim = "", .trim = 1};
	int rv, r;
	tr_csvr f;

	if ((rv = csv_open(&f, path, &whole_line, err)) != 0)
		return rv;
	while ((r = tr_csvr_next(&f)) == 1) {
		if (f.lineno == 1 && skip_header != NULL &&
		    strcasecmp(f.fields[0], skip_header) == 0)
			continue;
		if ((rv = fn(ctx, f.fields, f.lineno, err)) != 0)
			break;
	}
	return csv_close(&f, rv, r, path, err);
}
