/* helpers for the trainer tests: temp files and tiny datasets. */
#ifndef TR_TEST_HELPERS_H
#define TR_TEST_HELPERS_H

#include <stdint.h>

#include "dataset.h"

/* th_write_tmp: write text to a new temp file; returns its path (static buffer per call
 * slot 0..7). The file is removed by th_cleanup(). */
const char *th_write_tmp(const char *text);
/* th_tmpdir: a new empty temp directory (removed by th_cleanup). */
const char *th_tmpdir(void);
void th_cleanup(void);

/* th_dataset: build from "u:i,i,i;u:i,..." style integer lists: pairs (u[k], i[k]) in time
 * order, with numeric ids "u<code>", "i<code>". */
void th_dataset(tr_dataset *ds, int32_t n_users, int32_t n_items, int n, const int32_t *u,
                const int32_t *i);

#endif
