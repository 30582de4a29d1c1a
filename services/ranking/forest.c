/* rank_forest: see forest.h. */
#include "forest.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FOREST_X86 1
#endif

/* 16 bytes: a tree of depth 6 (127 nodes) fits in 2 kB of cache. Missing values never occur
 * (rs_rankfeat rows are finite), so the default direction is not kept. */
typedef struct forest_node {
	int32_t left, right; /* absolute node indices; left < 0: a leaf */
	uint32_t feat;
	float cond; /* split condition, or the leaf value */
} forest_node;

/* The layout predict walks: a node's children are consecutive (right = left + 1), and a leaf
 * points at itself with an infinite condition, so every row takes exactly depth steps per
 * tree with no branch on the data (several rows walk at once). 12 bytes per node. */
typedef struct forest_step {
	int32_t left; /* the left child, or the leaf itself */
	uint32_t feat;
	float cond; /* +inf at a leaf: x < +inf always, so it stays */
} forest_step;

/* The layout rank_forest_predict walks: each tree as a perfect binary tree of its depth D in
 * implicit order (node p's children are 2p + 1 and 2p + 2, the 2^D leaves follow the 2^D - 1
 * inner nodes), a leaf above depth D grown into a subtree whose every leaf holds its value, so
 * the walk is index arithmetic only: no child pointers to load. feat is pre-scaled to the
 * transposed block of rows predict reads (feat x FOREST_BLOCK). 8 bytes per node. */
typedef struct forest_pnode {
	float cond; /* +inf in a grown leaf (either side holds the same value) */
	uint32_t feat;
} forest_pnode;

enum {
	FOREST_BLOCK = 8,         /* rows walked at once */
	FOREST_PERFECT_MAX = 12,  /* deeper trees: predict walks the step layout */
	FOREST_PERFECT_FEAT = 64, /* more features: predict walks the step layout */
	FOREST_WIDE = 16,         /* rows per block of the AVX-512 walk */
	FOREST_WIDE_DEPTH = 6     /* deeper trees: no AVX-512 walk (its node masks: 4 registers) */
};

struct rank_forest {
	int nfeat, ntrees;
	float base;
	int32_t *root;          /* ntrees */
	int32_t *croot, *depth; /* per tree: root and depth in steps */
	forest_step *steps;
	float *leafv; /* per step node: the leaf value (0 for inner nodes) */
	float *cmean; /* per step node: the node mean (Saabas) */
	forest_node *nodes;
	float *mean; /* per node: hessian-weighted mean of the leaves below (Saabas) */
	size_t nnodes;
	forest_pnode *pnode; /* NULL: no perfect layout (a tree too deep, too many features) */
	float *pleaf;
	float *pdelta; /* per perfect node, inner then leaves: its mean - its parent's (root: mean)
	                */
	const forest_pnode **ptree; /* per tree: its first inner node (in pnode) */
	const float **pleaves;      /* per tree: its first leaf (in pleaf) */
	const float **pdeltas;      /* per tree: its root (in pdelta) */
	rank_forest_walk walk;      /* what rank_forest_predict walks */
};

static int forest_err(char *err, size_t errn, int rv, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int
forest_err(char *err, size_t errn, int rv, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errn, fmt, ap);
	va_end(ap);
	return rv;
}

static double
json_num(json_t *v)
{
	if (json_is_string(v))
		return strtod(json_string_value(v), NULL);
	return json_number_value(v);
}

/* hessian-weighted means, children before parents (node ids of a tree are not ordered) */
static double
forest_mean(const forest_node *nd, float *mean, const double *hess, int32_t at, int depth)
{
	if (nd[at].left < 0 || depth > 64) {
		mean[at] = nd[at].cond;
		return nd[at].cond;
	}
	double l = forest_mean(nd, mean, hess, nd[at].left, depth + 1);
	double r = forest_mean(nd, mean, hess, nd[at].right, depth + 1);
	double hl = hess[nd[at].left], hr = hess[nd[at].right];
	double m = hl + hr > 0 ? (l * hl + r * hr) / (hl + hr) : (l + r) / 2;
	mean[at] = (float) m;
	return m;
}

/* the step layout (see forest_step): breadth first per tree, children side by side */
static int
forest_compile(rank_forest *f, char *err, size_t errn, const char *path)
{
	int32_t *queue = malloc((f->nnodes + 1) * sizeof(int32_t)); /* original ids */
	int32_t *lvl = malloc((f->nnodes + 1) * sizeof(int32_t));
	f->croot = calloc((size_t) f->ntrees + 1, sizeof(int32_t));
	f->depth = calloc((size_t) f->ntrees + 1, sizeof(int32_t));
	f->steps = calloc(f->nnodes + 1, sizeof(forest_step));
	f->leafv = calloc(f->nnodes + 1, sizeof(float));
	f->cmean = calloc(f->nnodes + 1, sizeof(float));
	int rv = 0;

	if (queue == NULL || lvl == NULL || f->croot == NULL || f->depth == NULL ||
	    f->steps == NULL || f->leafv == NULL || f->cmean == NULL) {
		rv = RS_ENOMEM;
		goto out;
	}
	size_t next = 0;
	for (int t = 0; t < f->ntrees; t++) {
		size_t base = next, head = 0, tail = 0, end;
		/* tree t's original nodes span [root[t], root[t + 1]) */
		end = t + 1 < f->ntrees ? (size_t) f->root[t + 1] : f->nnodes;
		queue[tail] = f->root[t];
		lvl[tail++] = 0;
		f->croot[t] = (int32_t) base;
		next = base + 1; /* the root takes slot base */
		while (head < tail) {
			int32_t o = queue[head];
			int32_t d = lvl[head];
			size_t slot = base + head;
			forest_step *st = &f->steps[slot];
			head++;
			f->cmean[slot] = f->mean[o];
			if (f->nodes[o].left < 0) {
				st->left = (int32_t) slot;
				st->feat = 0;
				st->cond = INFINITY;
				f->leafv[slot] = f->nodes[o].cond;
				if (d > f->depth[t])
					f->depth[t] = d;
				continue;
			}
			if (next + 2 > end || tail + 2 > end - (size_t) f->root[t] || d > 64) {
				rv = forest_err(err, errn, RS_EINVAL, "%s: tree %d: %s", path, t,
				                "not a tree");
				goto out;
			}
			st->left = (int32_t) next;
			st->feat = f->nodes[o].feat;
			st->cond = f->nodes[o].cond;
			queue[tail] = f->nodes[o].left;
			lvl[tail++] = d + 1;
			queue[tail] = f->nodes[o].right;
			lvl[tail++] = d + 1;
			next += 2;
		}
		next = base + tail;
	}
out:
	free(queue);
	free(lvl);
	return rv;
}

/* fills perfect node p (depth d of D) of one tree from step node slot (see forest_pnode) */
static void
forest_perfect_fill(rank_forest *f, forest_pnode *nd, float *leaf, float *delta, int32_t slot,
                    float up, size_t p, int d, int D)
{
	const forest_step *st = &f->steps[slot];
	int is_leaf = st->left == slot;
	float mean = f->cmean[slot];

	delta[p] = p == 0 ? mean : mean - up; /* as the walk computed it: child - parent */
	if (d == D) {
		leaf[p - (((size_t) 1 << D) - 1)] = f->leafv[slot];
		return;
	}
	nd[p].cond = is_leaf ? INFINITY : st->cond;
	nd[p].feat = is_leaf ? 0 : st->feat * FOREST_BLOCK;
	forest_perfect_fill(f, nd, leaf, delta, is_leaf ? slot : st->left, mean, 2 * p + 1, d + 1,
	                    D);
	forest_perfect_fill(f, nd, leaf, delta, is_leaf ? slot : st->left + 1, mean, 2 * p + 2,
	                    d + 1, D);
}

/* the perfect layout (forest_pnode); left out (NULL) for trees deeper than FOREST_PERFECT_MAX
 * or rows wider than FOREST_PERFECT_FEAT. 0 or RS_ENOMEM. */
static int
forest_perfect(rank_forest *f)
{
	size_t inner = 0, leaves = 0;

	if (f->nfeat > FOREST_PERFECT_FEAT)
		return 0;
	for (int t = 0; t < f->ntrees; t++) {
		if (f->depth[t] > FOREST_PERFECT_MAX)
			return 0;
		inner += ((size_t) 1 << f->depth[t]) - 1;
		leaves += (size_t) 1 << f->depth[t];
	}
	f->pnode = malloc((inner + 1) * sizeof(*f->pnode));
	f->pleaf = malloc((leaves + 1) * sizeof(*f->pleaf));
	f->ptree = malloc(((size_t) f->ntrees + 1) * sizeof(*f->ptree));
	f->pleaves = malloc(((size_t) f->ntrees + 1) * sizeof(*f->pleaves));
	f->pdelta = malloc((inner + leaves + 1) * sizeof(*f->pdelta));
	f->pdeltas = malloc(((size_t) f->ntrees + 1) * sizeof(*f->pdeltas));
	if (f->pnode == NULL || f->pleaf == NULL || f->ptree == NULL || f->pleaves == NULL ||
	    f->pdelta == NULL || f->pdeltas == NULL)
		return RS_ENOMEM;
	inner = leaves = 0;
	for (int t = 0; t < f->ntrees; t++) {
		f->ptree[t] = f->pnode + inner;
		f->pleaves[t] = f->pleaf + leaves;
		f->pdeltas[t] = f->pdelta + inner + leaves;
		forest_perfect_fill(f, f->pnode + inner, f->pleaf + leaves,
		                    f->pdelta + inner + leaves, f->croot[t], 0.0f, 0, 0,
		                    f->depth[t]);
		inner += ((size_t) 1 << f->depth[t]) - 1;
		leaves += (size_t) 1 << f->depth[t];
	}
	return 0;
}

int
rank_forest_load(const char *path, int nfeat, rank_forest **out, char *err, size_t errn)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr), *learner, *gb, *trees, *info;
	rank_forest *f = NULL;
	double *hess = NULL;
	int rv = 0;

	if (root == NULL)
		return forest_err(err, errn, RS_EIO, "%s: %s", path, jerr.text);
	learner = json_object_get(root, "learner");
	gb = json_object_get(learner, "gradient_booster");
	trees = json_object_get(json_object_get(gb, "model"), "trees");
	info = json_object_get(json_object_get(gb, "model"), "tree_info");
	const char *gbname = json_string_value(json_object_get(gb, "name"));
	json_t *mp = json_object_get(learner, "learner_model_param");
	if (gbname == NULL || strcmp(gbname, "gbtree") != 0 || !json_is_array(trees) ||
	    json_num(json_object_get(mp, "num_class")) > 1 ||
	    json_num(json_object_get(mp, "num_target")) > 1 ||
	    (int) json_num(json_object_get(mp, "num_feature")) != nfeat) {
		rv = forest_err(err, errn, RS_EINVAL, "%s: %s", path,
		                "not a single-output gbtree model of the expected width");
		goto out;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		rv = RS_ENOMEM;
		goto out;
	}
	f->nfeat = nfeat;
	f->ntrees = (int) json_array_size(trees);
	f->base = (float) json_num(json_object_get(mp, "base_score"));
	for (int t = 0; t < f->ntrees; t++)
		f->nnodes += json_array_size(
		        json_object_get(json_array_get(trees, (size_t) t), "left_children"));
	f->root = calloc((size_t) f->ntrees + 1, sizeof(*f->root));
	f->nodes = calloc(f->nnodes + 1, sizeof(*f->nodes));
	f->mean = calloc(f->nnodes + 1, sizeof(*f->mean));
	hess = calloc(f->nnodes + 1, sizeof(*hess));
	if (f->root == NULL || f->nodes == NULL || f->mean == NULL || hess == NULL) {
		rv = RS_ENOMEM;
		goto out;
	}
	size_t at = 0;
	for (int t = 0; t < f->ntrees; t++) {
		json_t *tr = json_array_get(trees, (size_t) t);
		json_t *lc = json_object_get(tr, "left_children"),
		       *rc = json_object_get(tr, "right_children");
		json_t *si = json_object_get(tr, "split_indices"),
		       *sc = json_object_get(tr, "split_conditions");
		json_t *sh = json_object_get(tr, "sum_hessian");
		json_t *st = json_object_get(tr, "split_type");
		size_t nn = json_array_size(lc);
		if (json_integer_value(json_array_get(info, (size_t) t)) != 0 || nn == 0 ||
		    json_array_size(rc) != nn || json_array_size(si) != nn ||
		    json_array_size(sc) != nn || json_array_size(sh) != nn) {
			rv = forest_err(err, errn, RS_EINVAL, "%s: tree %d: %s", path, t,
			                "unexpected shape");
			goto out;
		}
		f->root[t] = (int32_t) at;
		for (size_t q = 0; q < nn; q++) {
			forest_node *nd = &f->nodes[at + q];
			json_int_t l = json_integer_value(json_array_get(lc, q));
			json_int_t r = json_integer_value(json_array_get(rc, q));
			json_int_t feat = json_integer_value(json_array_get(si, q));
			if (json_integer_value(json_array_get(st, q)) != 0 ||
			    l >= (json_int_t) nn || r >= (json_int_t) nn ||
			    (l >= 0 && (r < 0 || feat < 0 || feat >= nfeat))) {
				rv = forest_err(err, errn, RS_EINVAL, "%s: tree %d: %s", path, t,
				                "categorical split or bad node");
				goto out;
			}
			nd->left = l >= 0 ? (int32_t) (at + (size_t) l) : -1;
			nd->right = l >= 0 ? (int32_t) (at + (size_t) r) : -1;
			nd->feat = (uint32_t) (feat > 0 ? feat : 0);
			nd->cond = (float) json_real_value(json_array_get(sc, q));
			if (json_is_integer(json_array_get(sc, q)))
				nd->cond = (float) json_integer_value(json_array_get(sc, q));
			hess[at + q] = json_num(json_array_get(sh, q));
		}
		forest_mean(f->nodes, f->mean, hess, f->root[t], 0);
		at += nn;
	}
	rv = forest_compile(f, err, errn, path);
	if (rv == 0)
		rv = forest_perfect(f);
	if (rv == 0)
		f->walk = rank_forest_walk_usable(f, RANK_FOREST_WALK_AVX512)
		                  ? RANK_FOREST_WALK_AVX512
		                  : RANK_FOREST_WALK_PORTABLE;
out:
	json_decref(root);
	free(hess);
	if (rv != 0) {
		rank_forest_destroy(f);
		return rv;
	}
	*out = f;
	return 0;
}

void
rank_forest_destroy(rank_forest *f)
{
	if (f == NULL)
		return;
	free(f->root);
	free(f->nodes);
	free(f->mean);
	free(f->croot);
	free(f->depth);
	free(f->steps);
	free(f->leafv);
	free(f->cmean);
	free(f->pnode);
	free(f->pleaf);
	free(f->ptree);
	free(f->pleaves);
	free(f->pdelta);
	free(f->pdeltas);
	free(f);
}

int
rank_forest_trees(const rank_forest *f)
{
	return f->ntrees;
}

/* the step layout's walk: trees outside, rows inside, 8 rows at once */
static void
forest_predict_steps(const rank_forest *f, const float *x, size_t n, float *out)
{
	const forest_step *st = f->steps;
	size_t w = (size_t) f->nfeat;

	for (size_t i = 0; i < n; i++)
		out[i] = f->base;
	/* trees outside, rows inside: one tree stays in cache for all rows; each row still adds
	 * the trees in order (float sums depend on it). 8 rows walk at once, branch-free. */
	for (int t = 0; t < f->ntrees; t++) {
		int32_t root = f->croot[t], depth = f->depth[t];
		for (size_t i = 0; i < n; i += 8) {
			size_t m = n - i < 8 ? n - i : 8;
			int32_t at[8];
			const float *row[8];
			for (size_t j = 0; j < 8; j++) {
				at[j] = root;
				row[j] = x + (i + (j < m ? j : 0)) * w;
			}
			for (int32_t d = 0; d < depth; d++)
				for (size_t j = 0; j < 8; j++) {
					const forest_step *s = &st[at[j]];
					at[j] = s->left + !(row[j][s->feat] < s->cond);
				}
			for (size_t j = 0; j < m; j++)
				out[i + j] += f->leafv[at[j]];
		}
	}
}

/* the perfect layout's portable walk */
static void
forest_predict_perfect(const rank_forest *f, const float *x, size_t n, float *out)
{
	size_t w = (size_t) f->nfeat;
	float xb[FOREST_PERFECT_FEAT * FOREST_BLOCK];

	/* A block of 8 rows at a time, transposed (feature-major) so that a node's feature is
	 * one offset for all 8; all trees per block, each row adding the trees in order from
	 * base_score as XGBoost does (float sums depend on the order). The forest (8 bytes a
	 * node) stays in cache across blocks. */
	for (size_t i = 0; i < n; i += FOREST_BLOCK) {
		size_t m = n - i < FOREST_BLOCK ? n - i : FOREST_BLOCK;
		float acc[FOREST_BLOCK];
		for (size_t j = 0; j < FOREST_BLOCK; j++) {
			const float *row =
			        x + (i + (j < m ? j : 0)) * w; /* a short block repeats */
			for (size_t q = 0; q < w; q++)
				xb[q * FOREST_BLOCK + j] = row[q];
			acc[j] = f->base;
		}
		for (int t = 0; t < f->ntrees; t++) {
			const forest_pnode *nd = f->ptree[t];
			const float *lv = f->pleaves[t];
			int32_t depth = f->depth[t];
			size_t at[FOREST_BLOCK] = {0}; /* 64-bit: nd[at] is one address */
			for (int32_t d = 0; d < depth; d++)
				for (size_t j = 0; j < FOREST_BLOCK; j++) {
					const forest_pnode *s = &nd[at[j]];
					at[j] = 2 * at[j] + 1 +
					        (size_t) !(xb[s->feat + j] < s->cond);
				}
			size_t inner = ((size_t) 1 << depth) - 1;
			for (size_t j = 0; j < FOREST_BLOCK; j++)
				acc[j] += lv[at[j] - inner];
		}
		for (size_t j = 0; j < m; j++)
			out[i + j] = acc[j];
	}
}

#ifdef FOREST_X86
/* The AVX-512 walk of the perfect layout, 16 rows per block (trees of depth <= 6), without
 * gathers (an AVX2 walk that gathered each lane's node and feature took twice the CPU of the
 * portable walk on this machine's EPYC, docs/BENCHMARKS.md). Per tree, first every inner
 * node's outcome for all 16 rows: one compare of the node's feature row of the transposed
 * block (16 values side by side) with its condition gives a 16-bit mask, "which rows go
 * right" (!(x < cond), the portable walk's test). Then the 16 rows walk at once in heap
 * order (root 1, children 2p and 2p + 1): a row's next step is bit `row` of its node's mask,
 * and the masks of a level are looked up by permutes over registers (nodes 1..15 in one,
 * 16..31 in another, 32..63 in two), as are the leaf values. Each row adds its trees' leaves
 * in tree order from base_score, as the portable walk: the same float sums, bit for bit. */
/* The trees over nb (1 or 2, a constant where inlined) blocks of 16 rows transposed into xb
 * (feature q of block b's rows at xb + (q * nb + b) * 16); acc[b] += every tree's leaf. */
__attribute__((target("avx512f"), always_inline)) static inline void
forest_avx512_trees(const rank_forest *f, const float *xb, int nb, __m512 *acc)
{
	uint32_t mask[2][64] __attribute__((aligned(64))); /* per block, per heap node 1..63 */
	const __m512i lane = _mm512_setr_epi32(1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5,
	                                       1 << 6, 1 << 7, 1 << 8, 1 << 9, 1 << 10, 1 << 11,
	                                       1 << 12, 1 << 13, 1 << 14, 1 << 15);
	const __m512i one = _mm512_set1_epi32(1);

	for (int t = 0; t < f->ntrees; t++) {
		const forest_pnode *nd = f->ptree[t];
		const float *lv = f->pleaves[t];
		int depth = f->depth[t];
		size_t inner = ((size_t) 1 << depth) - 1;
		/* every inner node's outcome for the rows: feat is pre-scaled to the 8-row block,
		 * so 2 nb feat is its row in xb; !(x < cond) written as !(cond > x) lets the
		 * compare read x from memory (the same test, NaN included) */
		for (size_t p = 0; p < inner; p++) {
			const float *xr = xb + 2 * (size_t) nb * nd[p].feat;
			__m512 c = _mm512_set1_ps(nd[p].cond);
			for (int b = 0; b < nb; b++)
				mask[b][p + 1] = _mm512_cmp_ps_mask(c, _mm512_load_ps(xr + 16 * b),
				                                    _CMP_NGT_UQ);
		}
		for (int b = 0; b < nb; b++) {
			__m512i m0 = _mm512_load_si512(mask[b]), at = one, mw;
			__m512i m1 = depth > 4 ? _mm512_load_si512(mask[b] + 16) : m0;
			__m512i m2 = depth > 5 ? _mm512_load_si512(mask[b] + 32) : m0;
			__m512i m3 = depth > 5 ? _mm512_load_si512(mask[b] + 48) : m0;
			for (int d = 0; d < depth; d++) {
				if (d < 4) /* nodes 1..15 */
					mw = _mm512_permutexvar_epi32(at, m0);
				else if (d == 4) /* 16..31: the low 4 bits */
					mw = _mm512_permutexvar_epi32(at, m1);
				else /* 32..63: the low 5 bits */
					mw = _mm512_permutex2var_epi32(m2, at, m3);
				__mmask16 right = _mm512_test_epi32_mask(mw, lane);
				at = _mm512_add_epi32(at, at);
				at = _mm512_mask_add_epi32(at, right, at, one);
			}
			/* the leaf: at - 2^depth, one of 2^depth <= 64 values */
			__m512i li = _mm512_sub_epi32(at, _mm512_set1_epi32(1 << depth));
			__m512 leaf;
			if (depth <= 4) {
				leaf = _mm512_permutexvar_ps(
				        li, _mm512_maskz_loadu_ps(
				                    (__mmask16) ((1u << (1 << depth)) - 1), lv));
			} else {
				leaf = _mm512_permutex2var_ps(_mm512_loadu_ps(lv), li,
				                              _mm512_loadu_ps(lv + 16));
				if (depth == 6) {
					__m512 hi =
					        _mm512_permutex2var_ps(_mm512_loadu_ps(lv + 32), li,
					                               _mm512_loadu_ps(lv + 48));
					leaf = _mm512_mask_blend_ps(
					        _mm512_test_epi32_mask(li, _mm512_set1_epi32(32)),
					        leaf, hi);
				}
			}
			acc[b] = _mm512_add_ps(acc[b], leaf);
		}
	}
}

__attribute__((target("avx512f"))) static void
forest_predict_avx512(const rank_forest *f, const float *x, size_t n, float *out)
{
	size_t w = (size_t) f->nfeat;
	float xb[FOREST_PERFECT_FEAT * 2 * FOREST_WIDE] __attribute__((aligned(64)));

	/* two blocks of 16 rows per pass over the trees (a node's condition and feature read
	 * once for 32 rows), one block for the last 16 or fewer */
	for (size_t i = 0; i < n; i += 2 * FOREST_WIDE) {
		size_t m = n - i < 2 * FOREST_WIDE ? n - i : 2 * FOREST_WIDE;
		int nb = m > FOREST_WIDE ? 2 : 1;
		size_t lanes = (size_t) nb * FOREST_WIDE;
		__m512 acc[2] = {_mm512_set1_ps(f->base), _mm512_set1_ps(f->base)};
		float res[2 * FOREST_WIDE] __attribute__((aligned(64)));
		for (size_t j = 0; j < lanes; j++) {
			const float *row =
			        x + (i + (j < m ? j : 0)) * w; /* a short block repeats */
			for (size_t q = 0; q < w; q++)
				xb[q * lanes + j] = row[q];
		}
		if (nb == 2)
			forest_avx512_trees(f, xb, 2, acc);
		else
			forest_avx512_trees(f, xb, 1, acc);
		_mm512_store_ps(res, acc[0]);
		_mm512_store_ps(res + FOREST_WIDE, acc[1]);
		memcpy(out + i, res, m * sizeof(float));
	}
}
#endif

int
rank_forest_walk_available(rank_forest_walk w)
{
	switch (w) {
	case RANK_FOREST_WALK_PORTABLE:
		return 1;
	case RANK_FOREST_WALK_AVX512:
#ifdef FOREST_X86
		__builtin_cpu_init();
		return __builtin_cpu_supports("avx512f") != 0;
#else
		return 0;
#endif
	}
	return 0;
}

int
rank_forest_walk_usable(const rank_forest *f, rank_forest_walk w)
{
	if (!rank_forest_walk_available(w))
		return 0;
	if (w == RANK_FOREST_WALK_AVX512) {
		if (f->pnode == NULL)
			return 0;
		for (int t = 0; t < f->ntrees; t++)
			if (f->depth[t] > FOREST_WIDE_DEPTH)
				return 0;
	}
	return 1;
}

int
rank_forest_set_walk(rank_forest *f, rank_forest_walk w)
{
	if (!rank_forest_walk_usable(f, w))
		return RS_EINVAL;
	f->walk = w;
	return 0;
}

rank_forest_walk
rank_forest_get_walk(const rank_forest *f)
{
	return f->walk;
}

const char *
rank_forest_walk_name(rank_forest_walk w)
{
	return w == RANK_FOREST_WALK_AVX512 ? "avx512" : "portable";
}

void
rank_forest_predict(const rank_forest *f, const float *x, size_t n, float *out)
{
	if (f->pnode == NULL)
		forest_predict_steps(f, x, n, out);
#ifdef FOREST_X86
	else if (f->walk == RANK_FOREST_WALK_AVX512)
		forest_predict_avx512(f, x, n, out);
#endif
	else
		forest_predict_perfect(f, x, n, out);
}

/* the step layout's contributions (a forest without the perfect layout) */
static void
forest_contrib_steps(const rank_forest *f, const float *x, size_t n, float *contrib)
{
	const forest_step *st = f->steps;
	size_t nf = (size_t) f->nfeat, w = nf + 1;

	for (size_t i = 0; i < n; i++) {
		float *c = contrib + i * w;
		const float *row = x + i * nf;
		memset(c, 0, w * sizeof(float));
		c[nf] = f->base;
		for (int t = 0; t < f->ntrees; t++) {
			int32_t at = f->croot[t];
			float v = f->cmean[at];
			c[nf] += v;
			for (int32_t d = 0; d < f->depth[t]; d++) {
				const forest_step *s = &st[at];
				int32_t child = s->left + !(row[s->feat] < s->cond);
				float mc = f->cmean[child];
				c[s->feat] += mc - v;
				v = mc;
				at = child;
			}
		}
	}
}

void
rank_forest_contrib(const rank_forest *f, const float *x, size_t n, float *contrib)
{
	size_t nf = (size_t) f->nfeat, w = nf + 1;

	if (f->pnode == NULL) {
		forest_contrib_steps(f, x, n, contrib);
		return;
	}
	/* Blocks of 8 rows walking at once (independent chains, as rank_forest_predict's
	 * portable walk) over the perfect layout, into a local block of rows (no store that the
	 * compiler must assume changes the forest or the input); each step adds its node's
	 * precomputed change of the mean (pdelta: the same float subtraction). Each column gets
	 * its terms in (tree, depth) order, as one row walking alone; a step inside a grown leaf
	 * adds +0 (mean - mean) to column 0, which changes no sum (a float sum that starts at +0
	 * is never -0, and x + +0 = x for every other x), as the step walk's leaves did. */
	for (size_t i = 0; i < n; i += FOREST_BLOCK) {
		size_t m = n - i < FOREST_BLOCK ? n - i : FOREST_BLOCK;
		float c[FOREST_BLOCK][FOREST_PERFECT_FEAT + 1];
		for (size_t j = 0; j < m; j++) {
			memset(c[j], 0, w * sizeof(float));
			c[j][nf] = f->base;
		}
		for (int t = 0; t < f->ntrees; t++) {
			const forest_pnode *nd = f->ptree[t];
			const float *delta = f->pdeltas[t];
			int32_t depth = f->depth[t];
			size_t at[FOREST_BLOCK] = {0};
			for (size_t j = 0; j < m; j++)
				c[j][nf] += delta[0];
			for (int32_t d = 0; d < depth; d++)
				for (size_t j = 0; j < m; j++) {
					const forest_pnode *s = &nd[at[j]];
					size_t q = s->feat / FOREST_BLOCK; /* pre-scaled */
					size_t child = 2 * at[j] + 1 +
					               (size_t) !(x[(i + j) * nf + q] < s->cond);
					c[j][q] += delta[child];
					at[j] = child;
				}
		}
		for (size_t j = 0; j < m; j++)
			memcpy(contrib + (i + j) * w, c[j], w * sizeof(float));
	}
}

void
rank_forest_sample_rows(const rank_forest *f, float *x, size_t n, uint64_t seed)
{
	uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	for (size_t i = 0; i < n * (size_t) f->nfeat; i++)
		x[i] = 0;
	for (size_t i = 0; i < n; i++) {
		float *row = x + i * (size_t) f->nfeat;
		/* walk random paths: each split on the way sets its feature just left or right of
		 * the condition, so the rows sit on the model's boundaries */
		for (int t = 0; t < f->ntrees; t++) {
			int32_t at = f->root[t];
			while (f->nodes[at].left >= 0) {
				s = s * 6364136223846793005ULL + 1442695040888963407ULL;
				const forest_node *nd = &f->nodes[at];
				int left = (s >> 33) & 1;
				if ((s >> 40) % 4 == 0) /* sometimes set it, else follow the row */
					row[nd->feat] =
					        left ? nextafterf(nd->cond, -INFINITY) : nd->cond;
				at = row[nd->feat] < nd->cond ? nd->left : nd->right;
			}
		}
	}
}
