/* metrics: see metrics.h. */
#include "metrics.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "opts.h"
#include "ids.h"
#include "rs_err.h"

const char *const tr_metric_names[TR_M_COUNT] = {
        "Recall",  "RecallPlain", "NDCG",     "MAP",    "MRR",
        "HitRate", "Precision",   "Coverage", "AvgPop", "Novelty",
};

typedef struct rec_row {
	double rank;
	int64_t pos; /* file order */
	int32_t u, i;
} rec_row;

static int
rec_cmp(const void *a, const void *b)
{
	const rec_row *x = a, *y = b;

	if (x->u != y->u)
		return (x->u > y->u) - (x->u < y->u);
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return (x->pos > y->pos) - (x->pos < y->pos);
}

/* CSR of distinct items per user */
static void
metrics_csr(int32_t n_users, int32_t n_items, int64_t n, const int32_t *u, const int32_t *i,
            int64_t **ptr_out, int32_t **idx_out)
{
	int64_t *ptr = tr_xcalloc((size_t) n_users + 1, sizeof(int64_t)), *fill, r;
	int32_t *idx = tr_xmalloc((size_t) (n > 0 ? n : 1) * sizeof(int32_t));
	int32_t *seen = tr_xmalloc(((size_t) n_items + 1) * sizeof(int32_t));
	int32_t a;

	for (r = 0; r < n; r++)
		ptr[u[r] + 1]++;
	for (a = 0; a < n_users; a++)
		ptr[a + 1] += ptr[a];
	fill = tr_xmalloc(((size_t) n_users + 1) * sizeof(int64_t));
	memcpy(fill, ptr, ((size_t) n_users + 1) * sizeof(int64_t));
	for (r = 0; r < n; r++)
		idx[fill[u[r]]++] = i[r];
	/* dedup within each user (keeps the compact prefix) */
	memset(seen, 0xff, ((size_t) n_items + 1) * sizeof(int32_t));
	{
		int64_t out = 0, start;
		for (a = 0; a < n_users; a++) {
			start = out;
			for (r = ptr[a]; r < ptr[a + 1]; r++)
				if (seen[idx[r]] != a) {
					seen[idx[r]] = a;
					idx[out++] = idx[r];
				}
			ptr[a] = start;
		}
		ptr[n_users] = out;
	}
	free(fill);
	free(seen);
	*ptr_out = ptr;
	*idx_out = idx;
}

/* One evaluation in progress: the test and train rows by user (CSR), the recommendations of
 * evaluated users sorted by (user, rank), and the per-cut-off sums. */
typedef struct mx_run {
	const int *ks;
	int nk, maxk, drop_train;
	int32_t nu, ni;
	int64_t *tp, *rp; /* test / train rows of user u: [tp[u], tp[u + 1]) of ti, ... */
	int32_t *ti, *ri;
	int32_t *tmark, *rmark, *dmark; /* item -> the user whose test / train / seen row it is */
	int32_t *covered;               /* item -> the smallest cut-off index it was shown at */
	double *pop;                    /* item -> train rows */
	double *sum, *sq;          /* nk x TR_M_PER_USER: sums of the per-user values, squares */
	double *pop_sum, *nov_sum; /* nk: popularity and novelty of the shown items */
	int64_t *slots;            /* nk: items shown */
	rec_row *rows;
	int64_t nrows;
	long n_catalog, n_train_users, n_eval;
	double cumdisc[4096 + 1]; /* cumdisc[q] = sum of 1 / log2(j + 1), j = 1..q */
} mx_run;

static void
mx_init(mx_run *x, const tr_eval_input *in, const int *ks, int nk, int drop_train)
{
	int32_t ni = in->n_items, u, a;
	int64_t r;
	int q;

	x->ks = ks;
	x->nk = nk;
	x->maxk = ks[nk - 1];
	x->drop_train = drop_train;
	x->nu = in->n_users;
	x->ni = ni;
	x->tmark = tr_xmalloc(((size_t) ni + 1) * sizeof(int32_t));
	x->rmark = tr_xmalloc(((size_t) ni + 1) * sizeof(int32_t));
	x->dmark = tr_xmalloc(((size_t) ni + 1) * sizeof(int32_t));
	x->pop = tr_xcalloc((size_t) ni + 1, sizeof(double));
	x->sum = tr_xcalloc((size_t) nk * TR_M_PER_USER, sizeof(double));
	x->sq = tr_xcalloc((size_t) nk * TR_M_PER_USER, sizeof(double));
	x->pop_sum = tr_xcalloc((size_t) nk, sizeof(double));
	x->nov_sum = tr_xcalloc((size_t) nk, sizeof(double));
	x->slots = tr_xcalloc((size_t) nk, sizeof(int64_t));
	x->covered = tr_xmalloc(((size_t) ni + 1) * sizeof(int32_t));
	x->rows = tr_xmalloc((size_t) (in->n_recs > 0 ? in->n_recs : 1) * sizeof(rec_row));
	x->nrows = 0;
	x->n_catalog = x->n_train_users = x->n_eval = 0;
	metrics_csr(x->nu, ni, in->n_test, in->test_u, in->test_i, &x->tp, &x->ti);
	metrics_csr(x->nu, ni, in->n_train, in->train_u, in->train_i, &x->rp, &x->ri);
	for (u = 0; u < x->nu; u++) {
		if (x->rp[u + 1] > x->rp[u])
			x->n_train_users++;
		for (r = x->rp[u]; r < x->rp[u + 1]; r++)
			x->pop[x->ri[r]] += 1;
	}
	for (a = 0; a < ni; a++) {
		x->n_catalog += x->pop[a] > 0;
		x->covered[a] = nk;
	}
	x->cumdisc[0] = 0;
	for (q = 1; q <= 4096; q++)
		x->cumdisc[q] = x->cumdisc[q - 1] + 1.0 / log2((double) q + 1.0);
	for (r = 0; r < in->n_recs; r++) {
		u = in->rec_u[r];
		if (u < 0 || u >= x->nu || x->tp[u + 1] == x->tp[u])
			continue;
		x->rows[x->nrows].u = u;
		x->rows[x->nrows].i = in->rec_i[r];
		x->rows[x->nrows].rank = in->rec_rank[r];
		x->rows[x->nrows].pos = r;
		x->nrows++;
	}
	qsort(x->rows, (size_t) x->nrows, sizeof(rec_row), rec_cmp);
	memset(x->tmark, 0xff, ((size_t) ni + 1) * sizeof(int32_t));
	memset(x->rmark, 0xff, ((size_t) ni + 1) * sizeof(int32_t));
	memset(x->dmark, 0xff, ((size_t) ni + 1) * sizeof(int32_t));
}

static void
mx_free(mx_run *x)
{
	free(x->tp);
	free(x->ti);
	free(x->rp);
	free(x->ri);
	free(x->tmark);
	free(x->rmark);
	free(x->dmark);
	free(x->pop);
	free(x->sum);
	free(x->sq);
	free(x->pop_sum);
	free(x->nov_sum);
	free(x->slots);
	free(x->covered);
	free(x->rows);
}

/* The per-user values of user u (n test rows, h, dcg, ap, rr by cut-off) into the sums. */
static void
mx_user_sums(mx_run *x, int64_t n, const double *h, const double *dcg, const double *ap,
             const double *rr)
{
	for (int q = 0; q < x->nk; q++) {
		double k = x->ks[q], den = n < k ? (double) n : k, v[TR_M_PER_USER];
		v[TR_M_RECALL] = h[q] / den;
		v[TR_M_RECALL_PLAIN] = h[q] / (double) n;
		v[TR_M_NDCG] = dcg[q] / x->cumdisc[(int) den];
		v[TR_M_MAP] = ap[q] / den;
		v[TR_M_MRR] = rr[q];
		v[TR_M_HITRATE] = h[q] > 0;
		v[TR_M_PRECISION] = h[q] / k;
		for (int m = 0; m < TR_M_PER_USER; m++) {
			x->sum[q * TR_M_PER_USER + m] += v[m];
			x->sq[q * TR_M_PER_USER + m] += v[m] * v[m];
		}
	}
}

/* User u's recommendations, rows [*r, ...) of x->rows, scored against its test rows. */
static void
mx_user(mx_run *x, int32_t u, int64_t *r, tr_metrics *out)
{
	const int nk = x->nk;
	int64_t n = x->tp[u + 1] - x->tp[u], pos = 0;
	double h[TR_MAX_K] = {0}, dcg[TR_MAX_K] = {0}, ap[TR_MAX_K] = {0};
	double rr[TR_MAX_K] = {0}, hits = 0;
	int any = 0, q;

	while (*r < x->nrows && x->rows[*r].u < u)
		(*r)++;
	if (n == 0)
		return;
	x->n_eval++;
	for (q = 0; q < (int) n; q++)
		x->tmark[x->ti[x->tp[u] + q]] = u;
	for (q = 0; q < (int) (x->rp[u + 1] - x->rp[u]); q++)
		x->rmark[x->ri[x->rp[u] + q]] = u;
	for (; *r < x->nrows && x->rows[*r].u == u; (*r)++) {
		int32_t it = x->rows[*r].i;
		int in_train = x->rmark[it] == u, hit, kk;
		if (x->dmark[it] == u) { /* repeated (user, item): keep the first */
			out->duplicate_rows++;
			continue;
		}
		x->dmark[it] = u;
		if (in_train && x->drop_train)
			continue;
		any = 1;
		if (pos >= x->maxk)
			continue;
		hit = x->tmark[it] == u;
		hits += hit;
		for (kk = 0; kk < nk; kk++) {
			if (pos >= x->ks[kk])
				continue;
			if (hit) {
				h[kk] += 1;
				dcg[kk] += 1.0 / log2((double) pos + 2.0);
				ap[kk] += hits / (double) (pos + 1);
				if (rr[kk] == 0)
					rr[kk] = 1.0 / (double) (pos + 1);
			}
			if (x->covered[it] > kk)
				x->covered[it] = kk;
			x->pop_sum[kk] += x->pop[it];
			x->nov_sum[kk] +=
			        -log2((x->pop[it] > 1 ? x->pop[it] : 1.0) /
			              (double) (x->n_train_users > 0 ? x->n_train_users : 1));
			x->slots[kk]++;
			if (in_train && kk == nk - 1)
				out->train_items_in_recs++;
		}
		pos++;
	}
	if (!any)
		out->users_without_recs++;
	mx_user_sums(x, n, h, dcg, ap, rr);
}

/* The means, their standard errors and the catalog figures of every cut-off into out. */
static void
mx_finish(const mx_run *x, tr_metrics *out)
{
	long n_eval = x->n_eval;

	out->users_evaluated = n_eval;
	for (int q = 0; q < x->nk; q++) {
		long cov = 0;
		for (int m = 0; m < TR_M_PER_USER; m++) {
			double s = x->sum[q * TR_M_PER_USER + m], s2 = x->sq[q * TR_M_PER_USER + m];
			double mean = n_eval ? s / (double) n_eval : 0;
			out->val[q][m] = mean;
			out->se[q][m] =
			        n_eval > 1 ? sqrt(fmax(0, (s2 - (double) n_eval * mean * mean) /
			                                          (double) (n_eval - 1)) /
			                          (double) n_eval)
			                   : 0;
		}
		for (int32_t a = 0; a < x->ni; a++)
			cov += x->covered[a] <= q && x->pop[a] > 0;
		out->val[q][TR_M_COVERAGE] =
		        (double) cov / (double) (x->n_catalog > 0 ? x->n_catalog : 1);
		out->val[q][TR_M_AVGPOP] = x->slots[q] ? x->pop_sum[q] / (double) x->slots[q] : 0;
		out->val[q][TR_M_NOVELTY] = x->slots[q] ? x->nov_sum[q] / (double) x->slots[q] : 0;
	}
}

void
tr_metrics_compute(const tr_eval_input *in, const int *ks, int nk, int drop_train, tr_metrics *out)
{
	mx_run *x = tr_xmalloc(sizeof(*x));
	int64_t r = 0;

	memset(out, 0, sizeof(*out));
	out->nk = nk;
	memcpy(out->ks, ks, (size_t) nk * sizeof(int));
	mx_init(x, in, ks, nk, drop_train);
	out->test_interactions = (long) x->tp[x->nu];
	out->rec_rows = (long) in->n_recs;
	for (int32_t u = 0; u < x->nu; u++)
		mx_user(x, u, &r, out);
	mx_finish(x, out);
	mx_free(x);
	free(x);
}

/* ------------------------------------------------------------------ reading files */

typedef struct ev_cols {
	tr_ids *users, *items;
	int add_users;
	const char *path;
	int32_t *u, *i;
	double *rank;
	int64_t n, cap;
} ev_cols;

static int
ev_row(void *vctx, char **vals, long line, tr_error *err)
{
	ev_cols *c = vctx;
	size_t ul = strlen(vals[0]);

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1 << 16;
		c->u = tr_xrealloc(c->u, (size_t) c->cap * sizeof(int32_t));
		c->i = tr_xrealloc(c->i, (size_t) c->cap * sizeof(int32_t));
		if (c->rank != NULL || !c->add_users)
			c->rank = tr_xrealloc(c->rank, (size_t) c->cap * sizeof(double));
	}
	c->u[c->n] = c->add_users ? tr_ids_intern(c->users, vals[0], ul)
	                          : tr_ids_find(c->users, vals[0], ul);
	c->i[c->n] = tr_ids_intern(c->items, vals[1], strlen(vals[1]));
	if (!c->add_users && tr_parse_double(vals[2], &c->rank[c->n]) != 0)
		return tr_error_set(err, RS_EINVAL, "%s:%ld: rank '%s' is not a number", c->path,
		                    line, vals[2]);
	c->n++;
	return 0;
}

int
tr_evaluate_files(const char *test, const char *train, const char *recs, const int *ks, int nk,
                  int drop_train, tr_metrics *out, tr_error *err)
{
	static const char *const cols[] = {"user", "item", "rank"};
	tr_ids users, items;
	ev_cols t = {0}, tr = {0}, rc = {0};
	tr_eval_input in;
	int rv;

	tr_ids_init(&users);
	tr_ids_init(&items);
	t.users = tr.users = rc.users = &users;
	t.items = tr.items = rc.items = &items;
	t.add_users = tr.add_users = 1;
	t.path = test;
	tr.path = train;
	rc.path = recs;
	if ((rv = tr_csv_each(test, cols, 2, 2, ev_row, &t, err)) != 0 ||
	    (rv = tr_csv_each(recs, cols, 3, 3, ev_row, &rc, err)) != 0 ||
	    (rv = tr_csv_each(train, cols, 2, 2, ev_row, &tr, err)) != 0)
		goto out;
	in.n_users = tr_ids_count(&users);
	in.n_items = tr_ids_count(&items);
	in.n_test = t.n;
	in.test_u = t.u;
	in.test_i = t.i;
	in.n_train = tr.n;
	in.train_u = tr.u;
	in.train_i = tr.i;
	in.n_recs = rc.n;
	in.rec_u = rc.u;
	in.rec_i = rc.i;
	in.rec_rank = rc.rank;
	tr_metrics_compute(&in, ks, nk, drop_train, out);
out:
	free(t.u);
	free(t.i);
	free(tr.u);
	free(tr.i);
	free(rc.u);
	free(rc.i);
	free(rc.rank);
	tr_ids_fini(&users);
	tr_ids_fini(&items);
	return rv;
}

void
tr_metrics_print(const tr_metrics *m, void *file)
{
	FILE *f = file;
	int q, x;

	fprintf(f, "| metric |");
	for (q = 0; q < m->nk; q++)
		fprintf(f, " @%d |", m->ks[q]);
	fprintf(f, "\n|---|");
	for (q = 0; q < m->nk; q++)
		fprintf(f, "---:|");
	fprintf(f, "\n");
	for (x = 0; x < TR_M_COUNT; x++) {
		fprintf(f, "| %s |", tr_metric_names[x]);
		for (q = 0; q < m->nk; q++)
			fprintf(f, x >= TR_M_AVGPOP ? " %.2f |" : " %.4f |", m->val[q][x]);
		fprintf(f, "\n");
	}
	fprintf(f,
	        "\nusers evaluated: %ld  without recs: %ld  train items in recs@%d: %ld  "
	        "duplicate rows: %ld\n",
	        m->users_evaluated, m->users_without_recs, m->ks[m->nk - 1], m->train_items_in_recs,
	        m->duplicate_rows);
}

int
tr_metrics_json(const tr_metrics *m, const char *path, tr_error *err)
{
	json_t *root = json_object(), *mv = json_object(), *se = json_object(), *ks = json_array();
	char name[64];
	int q, x, rc;

	for (q = 0; q < m->nk; q++) {
		json_array_append_new(ks, json_integer(m->ks[q]));
		for (x = 0; x < TR_M_COUNT; x++) {
			snprintf(name, sizeof(name), "%s@%d", tr_metric_names[x], m->ks[q]);
			json_object_set_new(mv, name, json_real(m->val[q][x]));
			if (x < TR_M_PER_USER)
				json_object_set_new(se, name, json_real(m->se[q][x]));
		}
	}
	json_object_set_new(root, "k", ks);
	json_object_set_new(root, "metrics", mv);
	json_object_set_new(root, "stderr", se);
	json_object_set_new(root, "counts",
	                    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "test_users_evaluated",
	                              (json_int_t) m->users_evaluated, "users_without_recs",
	                              (json_int_t) m->users_without_recs, "duplicate_rec_rows",
	                              (json_int_t) m->duplicate_rows, "train_items_in_recs",
	                              (json_int_t) m->train_items_in_recs, "rec_rows",
	                              (json_int_t) m->rec_rows, "test_interactions",
	                              (json_int_t) m->test_interactions));
	rc = json_dump_file(root, path, JSON_INDENT(2));
	json_decref(root);
	return rc == 0 ? 0 : tr_error_set(err, RS_EIO, "%s: cannot write", path);
}
