/* csvr: rs-train's one reader of delimited text files (CSV, TSV, `::`, blank-separated, RFC 4180
 * quotes or none), record by record. Its users: csv.h (columns by header name: fit, evaluate,
 * describe), split.c, and import.c and describe.c (quoted catalogs). Errors are codes; the
 * caller names the file and the line (tr_csvr.lineno). */
#ifndef TR_CSVR_H
#define TR_CSVR_H

#include <stddef.h>
#include <stdio.h>

/* How a file separates its fields. */
typedef struct tr_csv_dialect {
	/* ",", "\t", "|", "::" (any string); NULL = runs of blanks (isspace), blanks before the
	 * first and after the last field ignored; "" = no delimiter: the line is one field */
	const char *delim;
	/* RFC 4180: a field that starts with '"' runs to the closing '"' ("" stands for one '"')
	 * and may hold delimiters and line breaks; what follows the closing quote up to the next
	 * delimiter is kept as it is */
	int quotes;
	int trim; /* strip blanks (isspace) around every field */
} tr_csv_dialect;

/* tr_csv_split: split the NUL-terminated line in place into fields (delimiters become NULs,
 * quoted fields are unescaped, f[j] point into line). Stores at most max pointers and returns
 * the number of fields (which may exceed max), or -1 when d->quotes and the line ends inside
 * a quoted field (line is then partly rewritten). */
int tr_csv_split(char *line, const tr_csv_dialect *d, char **f, size_t max);

/* tr_csv_blank: 1 when s holds nothing but blanks (isspace). */
int tr_csv_blank(const char *s);

/* A file being read. The caller provides the storage (tr_csvr_open / tr_csvr_close). */
typedef struct tr_csvr {
	char **fields;  /* the record's fields, valid until the next tr_csvr_next */
	size_t nfields; /* stored: the reader keeps room for every field of a line */
	long lineno;    /* the 1-based line of the record's last line */
	long records;   /* returned so far: 1 for the first record (a header, if the file has one),
	                   which need not be on line 1 (blank lines are skipped) */
	/* the reader's own */
	FILE *cr_f;
	tr_csv_dialect cr_d;
	char *cr_line, *cr_raw, *cr_work; /* getline's buffer; a quoted record, its copy to split */
	size_t cr_linecap, cr_rawcap, cr_workcap, cr_fieldcap;
} tr_csvr;

/* tr_csvr_open: 0, or RS_EIO (errno says why; *r then needs no tr_csvr_close). d is copied;
 * d->delim must outlive r. */
int tr_csvr_open(tr_csvr *r, const char *path, const tr_csv_dialect *d);

/* tr_csvr_next: the next record that is not a blank line, its line ending (\n, \r\n) dropped,
 * into r->fields / r->nfields. Returns 1 (a record), 0 (end of the file), RS_EINVAL (the file
 * ends inside a quoted field), RS_EIO (a read error) or RS_ENOMEM. */
int tr_csvr_next(tr_csvr *r);

/* tr_csvr_close: close the file and free the buffers (the fields die with them). */
void tr_csvr_close(tr_csvr *r);

#endif
