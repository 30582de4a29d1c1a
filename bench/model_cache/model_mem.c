/* model_mem: what one more open model version costs rs-feature, rs-candidate and rs-ranking
 * (each keeps up to RS_<SVC>_MODEL_CACHE versions open besides the active one for requests
 * that name a version). For a published version folder it opens the version as each service
 * does (rs-feature: + the fold-in's Gram matrix; rs-candidate: the version alone, the join with
 * the catalog snapshot is counted separately; rs-ranking: + the learned ranker with WORKERS
 * boosters, when the version has one) and prints rs_model_bytes and the growth of the resident
 * set (VmRSS, which includes the version's LMDB pages read so far: the map itself is shared
 * page cache and not counted until touched).
 *
 *   model_mem VERSION_DIR [WORKERS (4)]
 *
 * Example: bench/model_cache/run.sh (the ML-100K two-stage model of bench/accuracy/ci_smoke.sh
 * and a 20,000 x 64 ALS version written by the script). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"
#include "ranker.h"
#include "rs_err.h"
#include "rs_model.h"

static long
rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = atol(line + 6);
	fclose(f);
	return kb;
}

int
main(int argc, char **argv)
{
	char err[512] = "";
	rs_model *m;
	rank_ranker *rk = NULL;
	int workers = argc > 2 ? atoi(argv[2]) : 4;

	if (argc < 2) {
		fprintf(stderr, "usage: model_mem VERSION_DIR [WORKERS]\n");
		return 2;
	}
	long r0 = rss_kb();
	if (rs_model_open(argv[1], NULL, &m, err, sizeof(err)) != 0) {
		fprintf(stderr, "model_mem: %s\n", err);
		return 1;
	}
	long r1 = rss_kb();
	size_t b1 = rs_model_bytes(m);
	if (feat_fold_prepare(NULL, m) != 0) {
		fprintf(stderr, "model_mem: fold prepare failed\n");
		return 1;
	}
	long r2 = rss_kb();
	size_t b2 = rs_model_bytes(m);
	int rv = rank_ranker_open(m, workers, &rk, err, sizeof(err));
	long r3 = rss_kb();
	printf("model_mem: %s: %u items x %u factors, kind %s\n", rs_model_version(m),
	       rs_model_n_items(m), rs_model_factors(m), rs_model_kind(m));
	printf("model_mem: the version (rs-candidate): rs_model_bytes %.2f MB, RSS +%.2f MB\n",
	       b1 / 1e6, (r1 - r0) / 1024.0);
	printf("model_mem: + fold-in Gram matrix (rs-feature): rs_model_bytes %.2f MB, RSS +%.2f "
	       "MB\n",
	       b2 / 1e6, (r2 - r0) / 1024.0);
	if (rv == 0)
		printf("model_mem: + learned ranker, %d boosters (rs-ranking): RSS +%.2f MB (the "
		       "ranker alone +%.2f MB)\n",
		       workers, (r3 - r0) / 1024.0, (r3 - r2) / 1024.0);
	else
		printf("model_mem: no learned ranker (%s): rs-ranking adds nothing but a linear "
		       "scorer\n",
		       err);
	rank_ranker_destroy(rk);
	rs_model_unref(m);
	return 0;
}
