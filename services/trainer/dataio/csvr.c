/* csvr: see csvr.h. Fields are split in place: the write position never passes the read
 * position (a delimiter becomes one NUL, an escaped quote one character). */
#include "csvr.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "rs_err.h"

int
tr_csv_blank(const char *s)
{
	while (isspace((unsigned char) *s))
		s++;
	return *s == '\0';
}

/* The length of the delimiter that starts at p (dl = strlen(d->delim)), 0 if none does. */
static size_t
csv_delim_at(const char *p, const tr_csv_dialect *d, size_t dl)
{
	size_t n = 0;

	if (d->delim == NULL) {
		while (isspace((unsigned char) p[n]))
			n++;
		return n;
	}
	if (dl == 1)
		return *p == d->delim[0];
	return dl > 0 && strncmp(p, d->delim, dl) == 0 ? dl : 0;
}

/* The quoted section at *pp (on its opening quote) copied unescaped to *op; -1 when the
 * text ends before the closing quote. */
static int
csv_unquote(char **pp, char **op)
{
	char *p = *pp + 1, *o = *op;

	for (;;) {
		if (*p == '\0')
			return -1;
		if (*p == '"' && p[1] == '"') {
			*o++ = '"';
			p += 2;
		} else if (*p == '"') {
			p++;
			break;
		} else {
			*o++ = *p++;
		}
	}
	*pp = p;
	*op = o;
	return 0;
}

int
tr_csv_split(char *line, const tr_csv_dialect *d, char **f, size_t max)
{
	size_t dl = d->delim != NULL ? strlen(d->delim) : 0, n = 0, k;
	char *p = line, *o = line;

	if (d->delim == NULL) {
		while (isspace((unsigned char) *p))
			p++;
		if (*p == '\0')
			return 0;
	}
	for (;;) {
		char *start = o, *end;
		for (;;) {
			if (d->quotes && *p == '"' && o == start) {
				if (csv_unquote(&p, &o) != 0)
					return -1;
				continue;
			}
			k = *p == '\0' ? 0 : csv_delim_at(p, d, dl);
			if (*p == '\0' || k > 0)
				break;
			*o++ = *p++;
		}
		p += k;
		end = o;
		if (d->trim) {
			while (start < end && isspace((unsigned char) *start))
				start++;
			while (end > start && isspace((unsigned char) end[-1]))
				end--;
		}
		*end = '\0';
		*o = '\0';
		if (n < max)
			f[n] = start;
		n++;
		if (k == 0 || (d->delim == NULL && *p == '\0'))
			break;
		o++;
	}
	return (int) n;
}

/* Drops the line ending (a run of \n and \r) of s[0..n); the new length. */
static size_t
csvr_chomp(char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return n;
}

/* The next physical line into cr_line without its ending: its length, or -1 at the end of
 * the file (or on a read error: ferror tells). */
static ssize_t
csvr_getline(tr_csvr *r)
{
	ssize_t n = getline(&r->cr_line, &r->cr_linecap, r->cr_f);

	if (n < 0)
		return -1;
	r->lineno++;
	return (ssize_t) csvr_chomp(r->cr_line, (size_t) n);
}

static int
csvr_reserve(char **buf, size_t *cap, size_t need)
{
	size_t c = *cap > 0 ? *cap : 256;
	char *b;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	if ((b = realloc(*buf, c)) == NULL)
		return RS_ENOMEM;
	*buf = b;
	*cap = c;
	return 0;
}

/* Room in r->fields for every field a text of len bytes can hold (len + 1). */
static int
csvr_fields_reserve(tr_csvr *r, size_t len)
{
	size_t c = r->cr_fieldcap > 0 ? r->cr_fieldcap : 32;
	char **f;

	if (len + 1 <= r->cr_fieldcap)
		return 0;
	while (c < len + 1)
		c *= 2;
	if ((f = realloc(r->fields, c * sizeof(*f))) == NULL)
		return RS_ENOMEM;
	r->fields = f;
	r->cr_fieldcap = c;
	return 0;
}

/* The record that starts in cr_line (length len) when quotes are on: lines are added (joined
 * by \n) until every quoted field is closed; a copy of the text is split, so that a retry
 * starts again from the original. Returns the field count or an RS_E* code. */
static int
csvr_quoted(tr_csvr *r, size_t len)
{
	ssize_t n;
	int nf;

	if (csvr_reserve(&r->cr_raw, &r->cr_rawcap, len + 1) != 0)
		return RS_ENOMEM;
	memcpy(r->cr_raw, r->cr_line, len + 1);
	for (;;) {
		if (csvr_reserve(&r->cr_work, &r->cr_workcap, len + 1) != 0 ||
		    csvr_fields_reserve(r, len) != 0)
			return RS_ENOMEM;
		memcpy(r->cr_work, r->cr_raw, len + 1);
		if ((nf = tr_csv_split(r->cr_work, &r->cr_d, r->fields, r->cr_fieldcap)) >= 0)
			return nf;
		if ((n = csvr_getline(r)) < 0)
			return ferror(r->cr_f) ? RS_EIO : RS_EINVAL;
		if (csvr_reserve(&r->cr_raw, &r->cr_rawcap, len + (size_t) n + 2) != 0)
			return RS_ENOMEM;
		r->cr_raw[len++] = '\n';
		memcpy(r->cr_raw + len, r->cr_line, (size_t) n + 1);
		len += (size_t) n;
	}
}

int
tr_csvr_open(tr_csvr *r, const char *path, const tr_csv_dialect *d)
{
	memset(r, 0, sizeof(*r));
	r->cr_d = *d;
	r->cr_f = fopen(path, "r");
	return r->cr_f != NULL ? 0 : RS_EIO;
}

int
tr_csvr_next(tr_csvr *r)
{
	ssize_t n;
	int nf;

	do {
		if ((n = csvr_getline(r)) < 0)
			return ferror(r->cr_f) ? RS_EIO : 0;
	} while (tr_csv_blank(r->cr_line));
	if (r->cr_d.quotes) {
		nf = csvr_quoted(r, (size_t) n);
	} else if (csvr_fields_reserve(r, (size_t) n) != 0) {
		nf = RS_ENOMEM;
	} else {
		nf = tr_csv_split(r->cr_line, &r->cr_d, r->fields, r->cr_fieldcap);
	}
	if (nf < 0)
		return nf;
	r->nfields = (size_t) nf;
	r->records++;
	return 1;
}

void
tr_csvr_close(tr_csvr *r)
{
	if (r->cr_f != NULL)
		fclose(r->cr_f);
	free(r->cr_line);
	free(r->cr_raw);
	free(r->cr_work);
	free(r->fields);
	r->cr_f = NULL;
	r->cr_line = r->cr_raw = r->cr_work = NULL;
	r->fields = NULL;
	r->nfields = r->cr_linecap = r->cr_rawcap = r->cr_workcap = r->cr_fieldcap = 0;
}
