/* split: interaction log -> train.csv, test.csv, split.json, with the protocols, filters
 * and file formats of shared/bench/split.py (read its docstring). Output is byte-identical
 * to split.py for temporal-user, leave-one-out and global-time on numeric timestamps;
 * random-user uses our own seeded generator (numpy's default_rng stream is not
 * reproduced), so its per-user orders differ from split.py's for the same seed.
 * Not supported: quoted CSV fields (split.py switches to Python's csv module when the file
 * contains '"'); ISO-8601 timestamps are read as "YYYY-MM-DD[ T]HH:MM:SS" (UTC) only. */
#ifndef TR_SPLIT_H
#define TR_SPLIT_H

#include <stdint.h>

#include "util.h"

typedef struct tr_split_opts {
	const char *input, *out_dir;
	const char *format;   /* auto, csv, tsv, ml100k, space, dat, seq, basket */
	const char *columns;  /* NULL or "user,item,-,timestamp" */
	const char *protocol; /* temporal-user, global-time, random-user, leave-one-out */
	int header;           /* -1 auto, 0 no, 1 yes */
	double test_frac, min_rating;
	int has_min_rating, min_holdout, min_user, min_item, keep_cold;
	int quiet; /* do not print the one-line JSON summary */
	uint64_t seed;
} tr_split_opts;

void tr_split_opts_defaults(tr_split_opts *o);

/* tr_split_run: do everything and write the three files. Prints split.py's one-line JSON
 * summary to stdout unless o->quiet. */
int tr_split_run(const tr_split_opts *o, tr_error *err);

/* tr_split_format_ts: a timestamp as split.py writes it: as_int -> "%lld", else Python's
 * repr(float). */
void tr_split_format_ts(double v, int as_int, char *buf, size_t n);

#endif
