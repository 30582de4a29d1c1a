/* generate: see generate.h. */
#include "generate.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"
#include "rs_hash.h"

int
tr_generate(const char *path, int64_t users, int64_t items, int64_t nnz, double zipf, uint64_t seed,
            tr_error *err)
{
	double *cdf;
	int64_t *mark, u, j, row = 0;
	uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 7;
	FILE *f;

	if (users <= 0 || items <= 0 || nnz < users || nnz > users * items / 2)
		return tr_error_set(err, RS_EINVAL,
		                    "generate: need users, items > 0 and users <= nnz <= "
		                    "users * items / 2");
	if ((f = fopen(path, "w")) == NULL)
		return tr_error_set(err, RS_EIO, "%s: cannot create: %s", path, strerror(errno));
	cdf = tr_xmalloc((size_t) items * sizeof(double));
	mark = tr_xmalloc((size_t) items * sizeof(int64_t));
	for (j = 0; j < items; j++) {
		cdf[j] = (j ? cdf[j - 1] : 0) + pow((double) (j + 1), -zipf);
		mark[j] = -1;
	}
	fputs("user,item,timestamp\n", f);
	for (u = 0; u < users; u++) {
		int64_t deg = nnz / users + (u < nnz % users), got = 0;
		while (got < deg) {
			double x = (double) (rs_splitmix64(&s) >> 11) / 9007199254740992.0 *
			           cdf[items - 1];
			int64_t lo = 0, hi = items - 1;
			while (lo < hi) {
				int64_t mid = (lo + hi) / 2;
				if (cdf[mid] < x)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (mark[lo] == u)
				continue;
			mark[lo] = u;
			fprintf(f, "%lld,%lld,%lld\n", (long long) u, (long long) lo,
			        (long long) row++);
			got++;
		}
	}
	free(cdf);
	free(mark);
	if (ferror(f) | (fclose(f) != 0))
		return tr_error_set(err, RS_EIO, "%s: write failed", path);
	return 0;
}
