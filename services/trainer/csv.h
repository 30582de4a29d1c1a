/* csv: the comma-separated files the benchmarks exchange (one header line, no quoting, ids
 * must not contain commas), by column name, over csvr.h's reader. Errors name the file and the
 * 1-based line. */
#ifndef TR_CSV_H
#define TR_CSV_H

#include "util.h"

/* Called once per data row with vals[j] = the field of column cols[j] (trimmed,
 * NUL-terminated, valid only during the call), or NULL for a missing optional column.
 * Return 0 to go on, or a negative RS_E* (with err set) to stop. */
typedef int (*tr_csv_row_fn)(void *ctx, char **vals, long line, tr_error *err);

/* tr_csv_each: read path, find columns by name in the header (case-insensitive, quotes
 * stripped); the first nrequired of cols must exist (else RS_EINVAL naming the column),
 * the rest are optional. Blank lines are skipped; a line with too few fields is an error
 * naming path:line. Returns 0 or the first error. */
int tr_csv_each(const char *path, const char *const *cols, int ncols, int nrequired,
                tr_csv_row_fn fn, void *ctx, tr_error *err);

/* tr_lines_each: one call per non-blank line of a plain text file (trimmed), e.g. users.txt.
 * vals[0] is the line. A first line equal to `skip_header` (if not NULL) is skipped. */
int tr_lines_each(const char *path, const char *skip_header, tr_csv_row_fn fn, void *ctx,
                  tr_error *err);

#endif
