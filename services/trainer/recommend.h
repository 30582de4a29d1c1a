/* recommend: top-k lists for many users on all cores, and the user,item,rank CSV. */
#ifndef TR_RECOMMEND_H
#define TR_RECOMMEND_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* tr_recommend_batch: for users[0..n) (codes of ds, or -1 for users ds does not know:
 * they get the popularity list), write up to k items into out[j*k ..] (caller storage of
 * n*k) and the count into counts[j]. A user's explicit negatives (events.h) are never in
 * their list, for every model kind. */
int tr_recommend_batch(const tr_model *m, const tr_dataset *ds, const int32_t *users, size_t n,
                       int k, int32_t *out, int *counts, tr_error *err);

/* tr_recommend_write: "user,item,rank" CSV with header; names[j] is user j's id. */
int tr_recommend_write(const char *path, const tr_dataset *ds, char *const *names, size_t n, int k,
                       const int32_t *out, const int *counts, tr_error *err);

#endif
