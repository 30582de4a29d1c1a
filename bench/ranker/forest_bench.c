/* forest_bench: the learned ranker's flat trees (services/ranking/forest.h) on a published
 * ranker.json: first checks rank_forest_predict against XGBoost's own predictor on the same
 * file, bit for bit, over 10,000 rows sampled along the model's splits and 10,000 random rows
 * (each feature uniform over its splits' range, widened; in blocks of every length 1..10, so
 * a short last block is walked too), exit 1 on any difference; then prints the CPU per
 * request of the scores of `rows` candidates and of the contributions of the 10 rows shown
 * (thread CPU time, so the machine's other load does not count). Each walk of forest.h this
 * CPU can take (portable, AVX-512) is checked and timed, the one rank_forest_load chose last.
 *
 *   forest_bench RANKER_JSON NFEAT [ROWS (100)] [ITERATIONS (2000)]
 *
 * e.g. forest_bench var/bench-serving/models/<version>/ranker.json 19 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xgboost/c_api.h>

#include "forest.h"

static double
cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

/* rows [NCHECK, 2 NCHECK) of x: random, each feature uniform over [lo - 1, hi + 1] of the
 * values the sampled rows [0, NCHECK) give it (the splits' range), one in 8 values exactly a
 * sampled row's */
static void
random_rows(float *x, size_t ncheck, int nfeat)
{
	uint64_t s = 99;
	for (int q = 0; q < nfeat; q++) {
		float lo = x[q], hi = x[q];
		for (size_t i = 0; i < ncheck; i++) {
			float v = x[i * (size_t) nfeat + (size_t) q];
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
		for (size_t i = ncheck; i < 2 * ncheck; i++) {
			s = s * 6364136223846793005ULL + 1442695040888963407ULL;
			double u = (double) (s >> 11) / 9007199254740992.0;
			float *v = &x[i * (size_t) nfeat + (size_t) q];
			*v = (s >> 3) % 8 == 0
			             ? x[((s >> 20) % ncheck) * (size_t) nfeat + (size_t) q]
			             : (float) ((lo - 1) + u * ((double) hi - lo + 2));
		}
	}
}

/* rank_forest_predict against XGBoost on rows x[0..n): the rows that differ, -1 on an
 * XGBoost error */
static long
check_xgboost(const char *path, const rank_forest *f, const float *x, size_t n, int nfeat)
{
	BoosterHandle b = NULL;
	DMatrixHandle dm = NULL;
	bst_ulong len = 0;
	const float *want = NULL;
	float *got = malloc(n * sizeof(float));
	long diff = -1;

	if (got != NULL && XGBoosterCreate(NULL, 0, &b) == 0 && XGBoosterLoadModel(b, path) == 0 &&
	    XGBoosterSetParam(b, "nthread", "1") == 0 &&
	    XGDMatrixCreateFromMat(x, n, (bst_ulong) nfeat, NAN, &dm) == 0 &&
	    XGBoosterPredict(b, dm, 0, 0, 0, &len, &want) == 0 && len == n) {
		/* in blocks of 1, 2, ..., 10 rows: every short last block of the 8-row walk */
		for (size_t i = 0, blk = 1; i < n; i += blk, blk = blk % 10 + 1)
			rank_forest_predict(f, x + i * (size_t) nfeat, n - i < blk ? n - i : blk,
			                    got + i);
		diff = 0;
		for (size_t i = 0; i < n; i++)
			diff += memcmp(&got[i], &want[i], sizeof(float)) != 0;
	} else {
		fprintf(stderr, "forest_bench: xgboost: %s\n", XGBGetLastError());
	}
	if (dm != NULL)
		XGDMatrixFree(dm);
	if (b != NULL)
		XGBoosterFree(b);
	free(got);
	return diff;
}

/* the walk f takes: checked against XGBoost (0 differ, else 1), then the CPU of its scores */
static int
bench_walk(const char *path, const rank_forest *f, float *x, int nfeat, int rows, int iter,
           double *sink)
{
	enum { NCHECK = 10000 };
	const char *walk = rank_forest_walk_name(rank_forest_get_walk(f));
	float *a = malloc(NCHECK * sizeof(float));
	long diff = a != NULL ? check_xgboost(path, f, x, 2 * NCHECK, nfeat) : -1;
	printf("forest_bench: %s walk: scores vs XGBoost's predictor on %d rows (%d on the "
	       "splits, %d random): %ld differ\n",
	       walk, 2 * NCHECK, NCHECK, NCHECK, diff);
	if (diff != 0) {
		free(a);
		return 1;
	}
	double t0 = cpu_ms();
	for (int i = 0; i < iter; i++) {
		rank_forest_predict(f, x + (size_t) (i % (NCHECK / rows)) * rows * nfeat,
		                    (size_t) rows, a);
		*sink += a[0];
	}
	printf("forest_bench: %s walk: %d rows per request: scores %.4f ms\n", walk, rows,
	       (cpu_ms() - t0) / iter);
	free(a);
	return 0;
}

int
main(int argc, char **argv)
{
	rank_forest *f;
	char err[256];
	enum { NCHECK = 10000 };

	if (argc < 3) {
		fprintf(stderr, "usage: forest_bench RANKER_JSON NFEAT [ROWS] [ITERATIONS]\n");
		return 2;
	}
	int nfeat = atoi(argv[2]), rows = argc > 3 ? atoi(argv[3]) : 100;
	int iter = argc > 4 ? atoi(argv[4]) : 2000;
	if (nfeat < 1 || rows < 1 || rows > NCHECK || iter < 1 ||
	    rank_forest_load(argv[1], nfeat, &f, err, sizeof(err)) != 0) {
		fprintf(stderr, "forest_bench: %s\n", err[0] ? err : "bad arguments");
		return 1;
	}
	float *x = malloc(2 * (size_t) NCHECK * (size_t) nfeat * sizeof(float));
	float *ct = malloc(10 * ((size_t) nfeat + 1) * sizeof(float));
	int rv = x == NULL || ct == NULL;
	if (rv == 0) {
		rank_forest_sample_rows(f, x, NCHECK, 7);
		random_rows(x, NCHECK, nfeat);
	}
	/* every walk this CPU can take (forest.h), the default (fastest) one last */
	rank_forest_walk best = rank_forest_get_walk(f),
	                 walks[] = {RANK_FOREST_WALK_PORTABLE, RANK_FOREST_WALK_AVX512};
	double sink = 0;
	for (size_t k = 0; rv == 0 && k < sizeof(walks) / sizeof(walks[0]); k++)
		if (walks[k] != best && rank_forest_set_walk(f, walks[k]) == 0)
			rv = bench_walk(argv[1], f, x, nfeat, rows, iter, &sink);
	rank_forest_set_walk(f, best);
	if (rv == 0)
		rv = bench_walk(argv[1], f, x, nfeat, rows, iter, &sink);
	if (rv == 0) {
		double t2 = cpu_ms();
		for (int i = 0; i < iter; i++) {
			rank_forest_contrib(f, x + (size_t) (i % (NCHECK / 10)) * 10 * nfeat, 10,
			                    ct);
			sink += ct[0];
		}
		printf("forest_bench: %d trees, %d features; contributions of 10 rows %.4f ms "
		       "(checksum %.3g)\n",
		       rank_forest_trees(f), nfeat, (cpu_ms() - t2) / iter, sink);
	}
	rank_forest_destroy(f);
	free(x);
	free(ct);
	return rv;
}
