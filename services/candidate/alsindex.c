/* cand_als_index: see alsindex.h. */
#include "alsindex.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "factors.h"
#include "rs_err.h"

/* Block 0: the last n % 4 codes, in code order: OpenBLAS's sgemv_t kernels take rows four at
 * a time and sum the rows left over at the end of a call another way, so those rows are
 * scored at the end of a call of their own, as at the end of the call over all items. Blocks
 * 1..: the other codes by decreasing norm, CAND_ALS_BLOCK rows each (a multiple of 4; the last
 * block's length too). */
struct cand_als_index {
	uint32_t n, f, nblocks, tail;
	uint32_t *code; /* n: block 0's codes, then the others by decreasing norm (non-finite
	                 * norms first) */
	float *V;       /* n x f: their factors in that order */
	double *bnorm;  /* nblocks: the largest norm in block b and after (+inf: block 0, a
	                 * non-finite norm) */
};

typedef struct als_norm {
	double norm;
	uint32_t code;
} als_norm;

static int
cmp_norm_desc(const void *a, const void *b)
{
	const als_norm *x = a, *y = b;
	if (x->norm != y->norm)
		return x->norm > y->norm ? -1 : 1;
	return (x->code > y->code) - (x->code < y->code);
}

/* every item's block score equals its score among all items, bit for bit, for u */
static int
als_index_same(const cand_als_index *x, const float *V, const float *u, float *all, float *blk)
{
	cand_factor_scores(V, x->n, x->f, u, all);
	for (uint32_t b = 0; b < x->nblocks; b++) {
		const uint32_t *codes;
		uint32_t len = cand_als_index_score(x, b, u, blk, &codes);
		for (uint32_t q = 0; q < len; q++)
			if (memcmp(&blk[q], &all[codes[q]], sizeof(float)) != 0)
				return 0;
	}
	return 1;
}

int
cand_als_index_build(const float *V, uint32_t n, uint32_t f, cand_als_index **out)
{
	cand_als_index *x;
	als_norm *nr;
	float *all, *blk, *u;
	int rv = 0;

	if (V == NULL || n == 0 || f == 0 || f > 1024) /* the bound's margin covers f <= ~1,600 */
		return RS_EINVAL;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return RS_ENOMEM;
	x->n = n;
	x->f = f;
	x->tail = n % 4;
	x->nblocks = 1 + (n - x->tail + CAND_ALS_BLOCK - 1) / CAND_ALS_BLOCK;
	x->code = malloc((size_t) n * sizeof(*x->code));
	x->V = malloc((size_t) n * f * sizeof(*x->V));
	x->bnorm = malloc((size_t) x->nblocks * sizeof(*x->bnorm));
	nr = malloc((size_t) n * sizeof(*nr));
	all = malloc((size_t) n * sizeof(*all));
	blk = malloc(CAND_ALS_BLOCK * sizeof(*blk));
	u = malloc((size_t) f * sizeof(*u));
	if (x->code == NULL || x->V == NULL || x->bnorm == NULL || nr == NULL || all == NULL ||
	    blk == NULL || u == NULL) {
		rv = RS_ENOMEM;
		goto out;
	}
	uint32_t head = n - x->tail; /* the codes sorted by norm */
	for (uint32_t i = 0; i < n; i++) {
		double s = 0;
		for (uint32_t q = 0; q < f; q++)
			s += (double) V[(size_t) i * f + q] * (double) V[(size_t) i * f + q];
		nr[i] = (als_norm){i >= head ? INFINITY : isfinite(s) ? sqrt(s) : INFINITY, i};
	}
	qsort(nr, head, sizeof(*nr), cmp_norm_desc);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t c = i < x->tail ? head + i : nr[i - x->tail].code;
		x->code[i] = c;
		memcpy(x->V + (size_t) i * f, V + (size_t) c * f, f * sizeof(float));
	}
	x->bnorm[0] = INFINITY;
	for (uint32_t b = 1; b < x->nblocks; b++)
		x->bnorm[b] = nr[(size_t) (b - 1) * CAND_ALS_BLOCK].norm;
	/* the check: the longest row, the first rows' mean, and alternating small values */
	int same = 1;
	for (int t = 0; t < 3 && same; t++) {
		for (uint32_t q = 0; q < f; q++) {
			if (t == 0)
				u[q] = x->V[(size_t) x->tail * f + q]; /* the longest row */
			else if (t == 1)
				u[q] = (V[q] + V[(size_t) (n / 2) * f + q] +
				        V[(size_t) (n - 1) * f + q]) /
				       3;
			else
				u[q] = (q % 2 ? -1.0f : 1.0f) / (float) (q + 3);
		}
		same = als_index_same(x, V, u, all, blk);
	}
	if (!same)
		rv = RS_EINVAL;
out:
	free(nr);
	free(all);
	free(blk);
	free(u);
	if (rv != 0) {
		cand_als_index_destroy(x);
		return rv;
	}
	*out = x;
	return 0;
}

void
cand_als_index_destroy(cand_als_index *x)
{
	if (x == NULL)
		return;
	free(x->code);
	free(x->V);
	free(x->bnorm);
	free(x);
}

size_t
cand_als_index_bytes(const cand_als_index *x)
{
	return x == NULL ? 0
	                 : sizeof(*x) + (size_t) x->n * (sizeof(uint32_t) + x->f * sizeof(float)) +
	                           (size_t) x->nblocks * sizeof(double);
}

uint32_t
cand_als_index_blocks(const cand_als_index *x)
{
	return x->nblocks;
}

double
cand_als_index_norm(const cand_als_index *x, const float *u)
{
	double s = 0;
	for (uint32_t q = 0; q < x->f; q++)
		s += (double) u[q] * (double) u[q];
	return sqrt(s);
}

double
cand_als_index_bound(const cand_als_index *x, uint32_t b, double unorm)
{
	/* a float dot product of length f is within f * 2^-24 * |v| |u| of the exact one (and
	 * the exact one within |v| |u|): 1e-4 covers f up to ~1,600 */
	return x->bnorm[b] * unorm * (1.0 + 1e-4);
}

uint32_t
cand_als_index_score(const cand_als_index *x, uint32_t b, const float *u, float *sc,
                     const uint32_t **codes)
{
	size_t from = b == 0 ? 0 : x->tail + (size_t) (b - 1) * CAND_ALS_BLOCK;
	uint32_t len = b == 0                         ? x->tail
	               : x->n - from < CAND_ALS_BLOCK ? (uint32_t) (x->n - from)
	                                              : CAND_ALS_BLOCK;
	if (len > 0)
		cand_factor_scores(x->V + from * x->f, len, x->f, u, sc);
	*codes = x->code + from;
	return len;
}
