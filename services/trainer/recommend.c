/* recommend: see recommend.h. */
#include "recommend.h"

#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"
#include "stage1.h"
#include "twostage.h"

/* rec_twostage_filtered: two-stage lists without the user's explicit negatives (the ranker
 * may still place them): ask for k + the most negatives any user has, drop, keep k */
static int
rec_twostage_filtered(const tr_model *m, const tr_dataset *ds, const int32_t *users, size_t n,
                      int k, int32_t *out, int *counts, tr_error *err)
{
	int64_t extra = 0, p;
	size_t j;
	int32_t *tmp;
	int *tc, rv, r, kk;
	unsigned char *neg = tr_xcalloc((size_t) ds->n_items + 1, 1);

	for (j = 0; j < n; j++)
		if (users[j] >= 0 && users[j] < ds->n_users &&
		    ds->neg_ptr[users[j] + 1] - ds->neg_ptr[users[j]] > extra)
			extra = ds->neg_ptr[users[j] + 1] - ds->neg_ptr[users[j]];
	kk = k + (int) (extra < 100000 ? extra : 100000);
	tmp = tr_xmalloc((n > 0 ? n : 1) * (size_t) kk * sizeof(int32_t));
	tc = tr_xcalloc(n > 0 ? n : 1, sizeof(int));
	rv = tr_twostage_recommend_batch(m->ts, m, ds, users, n, kk, tmp, tc, err);
	for (j = 0; rv == 0 && j < n; j++) {
		int32_t u = users[j];
		int got = 0;
		if (u >= 0 && u < ds->n_users)
			for (p = ds->neg_ptr[u]; p < ds->neg_ptr[u + 1]; p++)
				neg[ds->neg_items[p]] = 1;
		for (r = 0; r < tc[j] && got < k; r++) {
			int32_t it = tmp[j * (size_t) kk + (size_t) r];
			if (!neg[it])
				out[j * (size_t) k + (size_t) got++] = it;
		}
		counts[j] = got;
		if (u >= 0 && u < ds->n_users)
			for (p = ds->neg_ptr[u]; p < ds->neg_ptr[u + 1]; p++)
				neg[ds->neg_items[p]] = 0;
	}
	free(tmp);
	free(tc);
	free(neg);
	return rv;
}

int
tr_recommend_batch(const tr_model *m, const tr_dataset *ds, const int32_t *users, size_t n, int k,
                   int32_t *out, int *counts, tr_error *err)
{
	if (k <= 0)
		return tr_error_set(err, RS_EINVAL, "--k must be positive");
	if (m->kind != TR_TWOSTAGE)
		return tr_stage1_recommend_batch(m, ds, users, n, k, out, counts);
	/* our threads score users in parallel; BLAS threads inside them only contend */
	openblas_set_num_threads(1);
	return ds->neg_ptr != NULL
	               ? rec_twostage_filtered(m, ds, users, n, k, out, counts, err)
	               : tr_twostage_recommend_batch(m->ts, m, ds, users, n, k, out, counts, err);
}

int
tr_recommend_write(const char *path, const tr_dataset *ds, char *const *names, size_t n, int k,
                   const int32_t *out, const int *counts, tr_error *err)
{
	FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
	size_t j;
	int r, bad;

	if (f == NULL)
		return tr_error_set(err, RS_EIO, "%s: cannot create: %s", path, strerror(errno));
	fputs("user,item,rank\n", f);
	for (j = 0; j < n; j++)
		for (r = 0; r < counts[j]; r++)
			fprintf(f, "%s,%s,%d\n", names[j],
			        tr_ids_name(ds->items, out[j * (size_t) k + (size_t) r]), r + 1);
	bad = ferror(f);
	if (f != stdout)
		bad |= fclose(f) != 0;
	else
		bad |= fflush(f) != 0;
	if (bad)
		return tr_error_set(err, RS_EIO, "%s: write failed", path);
	return 0;
}
