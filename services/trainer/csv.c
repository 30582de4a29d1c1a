/* csv: see csv.h. The whole file is read into memory and split in place. */
#include "csv.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rs_err.h"

#define CSV_MAX_FIELDS 64

static char *
csv_trim(char *s, char *end)
{
	while (s < end && isspace((unsigned char) *s))
		s++;
	while (end > s && isspace((unsigned char) end[-1]))
		end--;
	*end = '\0';
	return s;
}

/* Split the line [s, end) at commas into at most max fields; returns the field count
 * (which may exceed max: extra fields are counted but not stored). */
static int
csv_split(char *s, char *end, char **fields, int max)
{
	int n = 0;
	char *p = s, *q;

	for (;;) {
		q = memchr(p, ',', (size_t) (end - p));
		if (q == NULL)
			q = end;
		if (n < max)
			fields[n] = csv_trim(p, q);
		n++;
		if (q == end)
			break;
		p = q + 1;
	}
	return n;
}

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

int
tr_csv_each(const char *path, const char *const *cols, int ncols, int nrequired, tr_csv_row_fn fn,
            void *ctx, tr_error *err)
{
	char *buf = NULL, *p, *end, *nl, *fields[CSV_MAX_FIELDS], *vals[CSV_MAX_FIELDS];
	int idx[CSV_MAX_FIELDS], nf, j, k, need = 0, rv, header_seen = 0;
	size_t len;
	long line = 0;

	if (ncols > CSV_MAX_FIELDS)
		return tr_error_set(err, RS_EINVAL, "too many columns requested");
	if ((rv = tr_read_file(path, &buf, &len, err)) != 0)
		return rv;
	p = buf;
	end = buf + len;
	rv = 0;
	while (p < end) {
		nl = memchr(p, '\n', (size_t) (end - p));
		if (nl == NULL)
			nl = end;
		line++;
		{
			char *le = nl;
			if (le > p && le[-1] == '\r')
				le--;
			char *t = p;
			while (t < le && isspace((unsigned char) *t))
				t++;
			if (t == le) { /* blank line */
				p = nl + 1;
				continue;
			}
			nf = csv_split(p, le, fields, CSV_MAX_FIELDS);
		}
		p = nl + 1;
		if (!header_seen) {
			header_seen = 1;
			for (j = 0; j < ncols; j++) {
				idx[j] = -1;
				for (k = 0; k < nf && k < CSV_MAX_FIELDS; k++)
					if (strcasecmp(csv_unquote(fields[k]), cols[j]) == 0) {
						idx[j] = k;
						break;
					}
				if (idx[j] < 0 && j < nrequired) {
					rv = tr_error_set(
					        err, RS_EINVAL,
					        "%s:%ld: missing column '%s' in the header "
					        "(expected e.g. 'user,item,timestamp')",
					        path, line, cols[j]);
					goto out;
				}
				if (idx[j] + 1 > need)
					need = idx[j] + 1;
			}
			continue;
		}
		if (nf < need) {
			rv = tr_error_set(
			        err, RS_EINVAL,
			        "%s:%ld: expected at least %d comma-separated fields, found %d",
			        path, line, need, nf);
			goto out;
		}
		for (j = 0; j < ncols; j++)
			vals[j] = idx[j] >= 0 ? fields[idx[j]] : NULL;
		for (j = 0; j < nrequired; j++)
			if (vals[j][0] == '\0') {
				rv = tr_error_set(err, RS_EINVAL, "%s:%ld: empty '%s' field", path,
				                  line, cols[j]);
				goto out;
			}
		if ((rv = fn(ctx, vals, line, err)) != 0)
			goto out;
	}
	if (!header_seen)
		rv = tr_error_set(err, RS_EINVAL, "%s: file is empty (expected a header line)",
		                  path);
out:
	free(buf);
	return rv;
}

int
tr_lines_each(const char *path, const char *skip_header, tr_csv_row_fn fn, void *ctx, tr_error *err)
{
	char *buf = NULL, *p, *end, *nl, *s;
	size_t len;
	long line = 0;
	int rv;

	if ((rv = tr_read_file(path, &buf, &len, err)) != 0)
		return rv;
	p = buf;
	end = buf + len;
	while (p < end) {
		nl = memchr(p, '\n', (size_t) (end - p));
		if (nl == NULL)
			nl = end;
		line++;
		s = csv_trim(p, nl);
		p = nl + 1;
		if (*s == '\0')
			continue;
		if (line == 1 && skip_header != NULL && strcasecmp(s, skip_header) == 0)
			continue;
		if ((rv = fn(ctx, &s, line, err)) != 0)
			break;
	}
	free(buf);
	return rv;
}
