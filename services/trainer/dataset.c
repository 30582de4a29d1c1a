/* dataset: see dataset.h. */
#include "dataset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rs_err.h"
#include "rs_hash.h"

/* entry order inside a user: timestamp, then original row */
typedef struct ent {
	double ts;
	int64_t row;
	int32_t item;
	float w;
} ent;

static int
ent_cmp(const void *a, const void *b)
{
	const ent *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (x->row > y->row) - (x->row < y->row);
}

static void
dataset_fingerprint(tr_dataset *ds)
{
	uint64_t h = RS_FNV1A64_INIT;
	int32_t c;

	h = rs_fnv1a64(h, &ds->n_users, sizeof(ds->n_users));
	h = rs_fnv1a64(h, &ds->n_items, sizeof(ds->n_items));
	if (ds->users != NULL)
		for (c = 0; c < ds->n_users; c++) {
			const char *s = tr_ids_name(ds->users, c);
			h = rs_fnv1a64(h, s, strlen(s) + 1);
		}
	if (ds->items != NULL)
		for (c = 0; c < ds->n_items; c++) {
			const char *s = tr_ids_name(ds->items, c);
			h = rs_fnv1a64(h, s, strlen(s) + 1);
		}
	h = rs_fnv1a64(h, ds->u_ptr, (size_t) (ds->n_users + 1) * sizeof(int64_t));
	h = rs_fnv1a64(h, ds->u_items, (size_t) ds->nnz * sizeof(int32_t));
	if (ds->u_w != NULL) /* plain data keeps its old fingerprint */
		h = rs_fnv1a64(h, ds->u_w, (size_t) ds->nnz * sizeof(float));
	if (ds->n_neg > 0) {
		h = rs_fnv1a64(h, ds->neg_ptr, (size_t) (ds->n_users + 1) * sizeof(int64_t));
		h = rs_fnv1a64(h, ds->neg_items, (size_t) ds->n_neg * sizeof(int32_t));
		h = rs_fnv1a64(h, ds->neg_w, (size_t) ds->n_neg * sizeof(float));
	}
	ds->fingerprint = h;
}

static void
dataset_index_items(tr_dataset *ds)
{
	int64_t *fill;
	int32_t u;
	int64_t e;

	ds->i_ptr = tr_xcalloc((size_t) ds->n_items + 1, sizeof(int64_t));
	ds->i_users = tr_xmalloc((size_t) (ds->nnz > 0 ? ds->nnz : 1) * sizeof(int32_t));
	if (ds->u_w != NULL)
		ds->i_w = tr_xmalloc((size_t) (ds->nnz > 0 ? ds->nnz : 1) * sizeof(float));
	for (e = 0; e < ds->nnz; e++)
		ds->i_ptr[ds->u_items[e] + 1]++;
	for (u = 0; u < ds->n_items; u++)
		ds->i_ptr[u + 1] += ds->i_ptr[u];
	fill = tr_xmalloc((size_t) ds->n_items * sizeof(int64_t));
	memcpy(fill, ds->i_ptr, (size_t) ds->n_items * sizeof(int64_t));
	for (u = 0; u < ds->n_users; u++)
		for (e = ds->u_ptr[u]; e < ds->u_ptr[u + 1]; e++) {
			int64_t at = fill[ds->u_items[e]]++;
			ds->i_users[at] = u;
			if (ds->i_w != NULL)
				ds->i_w[at] = ds->u_w[e];
		}
	free(fill);
}

/* dataset_build: rows r with keep_r (w == NULL or w[r] > 0) become entries; weights are
 * kept when w != NULL */
static void
dataset_build(tr_dataset *ds, tr_ids *users, tr_ids *items, int32_t n_users, int32_t n_items,
              int64_t n, const int32_t *u, const int32_t *i, const double *ts, const float *w)
{
	int64_t *start = tr_xcalloc((size_t) n_users + 1, sizeof(int64_t));
	int64_t *fill;
	ent *ents = tr_xmalloc((size_t) (n > 0 ? n : 1) * sizeof(ent));
	int32_t *seen = tr_xmalloc((size_t) (n_items > 0 ? n_items : 1) * sizeof(int32_t));
	int64_t r, e, out = 0;
	int32_t uu;

	memset(ds, 0, sizeof(*ds));
	ds->users = users;
	ds->items = items;
	ds->owns_ids = 1;
	ds->n_users = n_users;
	ds->n_items = n_items;
	ds->rows_read = (long) n;
	ds->has_ts = ts != NULL;
	for (r = 0; r < n; r++)
		if (w == NULL || w[r] > 0)
			start[u[r] + 1]++;
	for (uu = 0; uu < n_users; uu++)
		start[uu + 1] += start[uu];
	fill = tr_xmalloc(((size_t) n_users + 1) * sizeof(int64_t));
	memcpy(fill, start, ((size_t) n_users + 1) * sizeof(int64_t));
	for (r = 0; r < n; r++) {
		if (w != NULL && !(w[r] > 0))
			continue;
		ent *x = &ents[fill[u[r]]++];
		x->ts = ts != NULL ? ts[r] : (double) r;
		x->row = r;
		x->item = i[r];
		x->w = w != NULL ? w[r] : 1.0f;
	}
	free(fill);
	ds->u_ptr = tr_xcalloc((size_t) n_users + 1, sizeof(int64_t));
	ds->u_items = tr_xmalloc((size_t) (n > 0 ? n : 1) * sizeof(int32_t));
	ds->u_ts = tr_xmalloc((size_t) (n > 0 ? n : 1) * sizeof(double));
	if (w != NULL)
		ds->u_w = tr_xmalloc((size_t) (n > 0 ? n : 1) * sizeof(float));
	memset(seen, 0xff, (size_t) (n_items > 0 ? n_items : 1) * sizeof(int32_t));
	for (uu = 0; uu < n_users; uu++) {
		qsort(ents + start[uu], (size_t) (start[uu + 1] - start[uu]), sizeof(ent), ent_cmp);
		for (e = start[uu]; e < start[uu + 1]; e++) {
			if (seen[ents[e].item] == uu) { /* later copy of the pair */
				ds->duplicates++;
				continue;
			}
			seen[ents[e].item] = uu;
			ds->u_items[out] = ents[e].item;
			ds->u_ts[out] = ents[e].ts;
			if (ds->u_w != NULL)
				ds->u_w[out] = ents[e].w;
			out++;
		}
		ds->u_ptr[uu + 1] = out;
	}
	ds->nnz = out;
	free(ents);
	free(seen);
	free(start);
}

void
tr_dataset_build(tr_dataset *ds, tr_ids *users, tr_ids *items, int32_t n_users, int32_t n_items,
                 int64_t n, const int32_t *u, const int32_t *i, const double *ts)
{
	dataset_build(ds, users, items, n_users, n_items, n, u, i, ts, NULL);
	dataset_index_items(ds);
	dataset_fingerprint(ds);
}

/* negatives of a user in time order */
typedef struct neg_ent {
	double ts;
	int32_t item;
	float w;
} neg_ent;

static int
neg_cmp(const void *a, const void *b)
{
	const neg_ent *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (x->item > y->item) - (x->item < y->item);
}

void
tr_dataset_build_signed(tr_dataset *ds, tr_ids *users, tr_ids *items, int32_t n_users,
                        int32_t n_items, int64_t n, const int32_t *u, const int32_t *i,
                        const double *ts, const float *w)
{
	int64_t r, nn = 0, *fill;
	neg_ent *ne;
	int32_t uu;

	dataset_build(ds, users, items, n_users, n_items, n, u, i, ts, w);
	for (r = 0; r < n; r++)
		nn += w[r] < 0;
	if (nn > 0) {
		ds->n_neg = nn;
		ds->neg_ptr = tr_xcalloc((size_t) n_users + 1, sizeof(int64_t));
		ds->neg_items = tr_xmalloc((size_t) nn * sizeof(int32_t));
		ds->neg_w = tr_xmalloc((size_t) nn * sizeof(float));
		ds->neg_ts = tr_xmalloc((size_t) nn * sizeof(double));
		ne = tr_xmalloc((size_t) nn * sizeof(neg_ent));
		for (r = 0; r < n; r++)
			if (w[r] < 0)
				ds->neg_ptr[u[r] + 1]++;
		for (uu = 0; uu < n_users; uu++)
			ds->neg_ptr[uu + 1] += ds->neg_ptr[uu];
		fill = tr_xmalloc(((size_t) n_users + 1) * sizeof(int64_t));
		memcpy(fill, ds->neg_ptr, ((size_t) n_users + 1) * sizeof(int64_t));
		for (r = 0; r < n; r++)
			if (w[r] < 0)
				ne[fill[u[r]]++] =
				        (neg_ent){ts != NULL ? ts[r] : (double) r, i[r], -w[r]};
		free(fill);
		for (uu = 0; uu < n_users; uu++)
			qsort(ne + ds->neg_ptr[uu],
			      (size_t) (ds->neg_ptr[uu + 1] - ds->neg_ptr[uu]), sizeof(neg_ent),
			      neg_cmp);
		for (r = 0; r < nn; r++) {
			ds->neg_items[r] = ne[r].item;
			ds->neg_w[r] = ne[r].w;
			ds->neg_ts[r] = ne[r].ts;
		}
		free(ne);
	}
	dataset_index_items(ds);
	dataset_fingerprint(ds);
}

/* subset_negatives: parent's negatives of each user up to the user's last kept entry */
static void
subset_negatives(const tr_dataset *parent, tr_dataset *out)
{
	int64_t e, n = 0;
	int32_t u;

	out->neg_ptr = tr_xcalloc((size_t) parent->n_users + 1, sizeof(int64_t));
	out->neg_items = tr_xmalloc((size_t) parent->n_neg * sizeof(int32_t));
	out->neg_w = tr_xmalloc((size_t) parent->n_neg * sizeof(float));
	out->neg_ts = tr_xmalloc((size_t) parent->n_neg * sizeof(double));
	for (u = 0; u < parent->n_users; u++) {
		double last = -INFINITY;
		for (e = out->u_ptr[u]; e < out->u_ptr[u + 1]; e++)
			if (out->u_ts[e] > last)
				last = out->u_ts[e];
		for (e = parent->neg_ptr[u]; e < parent->neg_ptr[u + 1]; e++)
			if (parent->neg_ts[e] <= last) {
				out->neg_items[n] = parent->neg_items[e];
				out->neg_w[n] = parent->neg_w[e];
				out->neg_ts[n] = parent->neg_ts[e];
				n++;
			}
		out->neg_ptr[u + 1] = n;
	}
	out->n_neg = n;
}

void
tr_dataset_subset(const tr_dataset *parent, const unsigned char *keep, tr_dataset *out)
{
	int64_t e, n = 0;
	int32_t u;

	memset(out, 0, sizeof(*out));
	out->users = parent->users;
	out->items = parent->items;
	out->owns_ids = 0;
	out->n_users = parent->n_users;
	out->n_items = parent->n_items;
	out->has_ts = parent->has_ts;
	out->u_ptr = tr_xcalloc((size_t) parent->n_users + 1, sizeof(int64_t));
	out->u_items = tr_xmalloc((size_t) (parent->nnz > 0 ? parent->nnz : 1) * sizeof(int32_t));
	out->u_ts = tr_xmalloc((size_t) (parent->nnz > 0 ? parent->nnz : 1) * sizeof(double));
	if (parent->u_w != NULL)
		out->u_w = tr_xmalloc((size_t) (parent->nnz > 0 ? parent->nnz : 1) * sizeof(float));
	for (u = 0; u < parent->n_users; u++) {
		for (e = parent->u_ptr[u]; e < parent->u_ptr[u + 1]; e++)
			if (keep[e]) {
				out->u_items[n] = parent->u_items[e];
				out->u_ts[n] = parent->u_ts[e];
				if (out->u_w != NULL)
					out->u_w[n] = parent->u_w[e];
				n++;
			}
		out->u_ptr[u + 1] = n;
	}
	out->nnz = n;
	out->rows_read = (long) n;
	if (parent->n_neg > 0)
		subset_negatives(parent, out);
	dataset_index_items(out);
	dataset_fingerprint(out);
}

void
tr_dataset_holdout(const tr_dataset *ds, double frac, int min_n, unsigned char *out)
{
	int32_t u;
	int64_t e;

	memset(out, 0, (size_t) ds->nnz);
	for (u = 0; u < ds->n_users; u++) {
		int64_t b = ds->u_ptr[u], n = ds->u_ptr[u + 1] - b, k;
		if (n < min_n || n == 0)
			continue;
		if (frac <= 0)
			k = 1;
		else {
			k = (int64_t) (frac * (double) n + 0.5);
			if (k < 1)
				k = 1;
		}
		for (e = b + n - k; e < b + n; e++)
			out[e] = 1;
	}
}

static int
ds_cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return (x > y) - (x < y);
}

int
tr_dataset_holdout_protocol(const tr_dataset *ds, const char *protocol, double frac, int min_n,
                            uint64_t seed, unsigned char *held, tr_error *err)
{
	int64_t e;
	int32_t u;

	if (strcmp(protocol, "temporal-user") == 0) {
		tr_dataset_holdout(ds, frac, min_n, held);
	} else if (strcmp(protocol, "leave-one-out") == 0) {
		tr_dataset_holdout(ds, 0, min_n, held);
	} else if (strcmp(protocol, "random-user") == 0) {
		memset(held, 0, (size_t) ds->nnz);
		for (u = 0; u < ds->n_users; u++) {
			int64_t b = ds->u_ptr[u], n = ds->u_ptr[u + 1] - b, k, a;
			if (n < min_n)
				continue;
			k = (int64_t) floor(frac * (double) n + 0.5);
			k = k < 1 ? 1 : k;
			for (a = 0; a < k; a++) { /* k distinct random entries */
				int64_t at = b + (int64_t) (rs_splitmix64(&seed) % (uint64_t) n);
				while (held[at])
					at = b + (at - b + 1) % n;
				held[at] = 1;
			}
		}
	} else if (strcmp(protocol, "global-time") == 0) {
		double *t = tr_xmalloc((size_t) ds->nnz * sizeof(double)), cut;
		memcpy(t, ds->u_ts, (size_t) ds->nnz * sizeof(double));
		qsort(t, (size_t) ds->nnz, sizeof(double), ds_cmp_double);
		cut = t[(size_t) floor((1.0 - frac) * (double) (ds->nnz - 1))];
		free(t);
		for (e = 0; e < ds->nnz; e++)
			held[e] = ds->u_ts[e] >= cut;
	} else {
		return tr_error_set(err, RS_EINVAL, "unknown protocol '%s'", protocol);
	}
	return 0;
}

float *
tr_dataset_item_pop(const tr_dataset *ds)
{
	float *pop = tr_xmalloc((size_t) (ds->n_items > 0 ? ds->n_items : 1) * sizeof(float));
	int32_t i;

	for (i = 0; i < ds->n_items; i++)
		pop[i] = (float) (ds->i_ptr[i + 1] - ds->i_ptr[i]);
	return pop;
}

void
tr_dataset_fini(tr_dataset *ds)
{
	if (ds == NULL)
		return;
	if (ds->owns_ids) {
		if (ds->users != NULL) {
			tr_ids_fini(ds->users);
			free(ds->users);
		}
		if (ds->items != NULL) {
			tr_ids_fini(ds->items);
			free(ds->items);
		}
	}
	free(ds->u_ptr);
	free(ds->u_items);
	free(ds->u_ts);
	free(ds->i_ptr);
	free(ds->i_users);
	free(ds->u_w);
	free(ds->i_w);
	free(ds->neg_ptr);
	free(ds->neg_items);
	free(ds->neg_w);
	free(ds->neg_ts);
	memset(ds, 0, sizeof(*ds));
}
