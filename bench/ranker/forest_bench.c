/* forest_bench: the learned ranker's flat trees (services/ranking/forest.h) on a published
 * ranker.json: CPU per request of the scores of `rows` candidates and of the contributions of
 * the 10 rows shown (thread CPU time, so the machine's other load does not count), over rows
 * sampled along the model's splits.
 *
 *   forest_bench RANKER_JSON NFEAT [ROWS (100)] [ITERATIONS (2000)]
 *
 * e.g. forest_bench var/bench-serving/models/<version>/ranker.json 19 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "forest.h"

static double
cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
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
	float *x = malloc((size_t) NCHECK * (size_t) nfeat * sizeof(float));
	float *a = malloc(NCHECK * sizeof(float));
	float *ct = malloc(10 * ((size_t) nfeat + 1) * sizeof(float));
	if (x == NULL || a == NULL || ct == NULL)
		return 1;
	rank_forest_sample_rows(f, x, NCHECK, 7);
	double t0 = cpu_ms(), sink = 0;
	for (int i = 0; i < iter; i++) {
		rank_forest_predict(f, x + (size_t) (i % (NCHECK / rows)) * rows * nfeat,
		                    (size_t) rows, a);
		sink += a[0];
	}
	double t2 = cpu_ms();
	for (int i = 0; i < iter; i++) {
		rank_forest_contrib(f, x + (size_t) (i % (NCHECK / 10)) * 10 * nfeat, 10, ct);
		sink += ct[0];
	}
	double t3 = cpu_ms();
	printf("forest_bench: %d trees, %d features; %d rows per request: scores %.4f ms; "
	       "contributions of 10 rows %.4f ms (checksum %.3g)\n",
	       rank_forest_trees(f), nfeat, rows, (t2 - t0) / iter, (t3 - t2) / iter, sink);
	rank_forest_destroy(f);
	free(x);
	free(a);
	free(ct);
	return 0;
}
