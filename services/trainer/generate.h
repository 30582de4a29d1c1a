/* generate: synthetic implicit data for speed tests. Every user gets nnz/users distinct
 * items (the first nnz % users users one more), drawn from a Zipf(s) popularity over items
 * (P(rank r) proportional to r^-s). Output: user,item,timestamp CSV (timestamp = row). */
#ifndef TR_GENERATE_H
#define TR_GENERATE_H

#include <stdint.h>

#include "util.h"

int tr_generate(const char *path, int64_t users, int64_t items, int64_t nnz, double zipf,
                uint64_t seed, tr_error *err);

#endif
