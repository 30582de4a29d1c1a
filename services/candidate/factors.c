/* factors: see factors.h. */
#include "factors.h"

#include <cblas.h>

void
cand_factor_scores_blas(const float *V, size_t n, size_t f, const float *u, float *out)
{
	cblas_sgemv(CblasRowMajor, CblasNoTrans, (blasint) n, (blasint) f, 1.0f, V, (blasint) f, u,
	            1, 0.0f, out, 1);
}

/* Eight independent partial sums per row so the compiler can keep them in vector registers
 * without reassociating a single reduction. */
void
cand_factor_scores_loop(const float *V, size_t n, size_t f, const float *u, float *out)
{
	for (size_t i = 0; i < n; i++) {
		const float *r = V + i * f;
		float acc[8] = {0};
		size_t j = 0;
		for (; j + 8 <= f; j += 8)
			for (int l = 0; l < 8; l++)
				acc[l] += r[j + l] * u[j + l];
		float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) +
		          ((acc[2] + acc[6]) + (acc[3] + acc[7]));
		for (; j < f; j++)
			s += r[j] * u[j];
		out[i] = s;
	}
}

void
cand_factor_scores(const float *V, size_t n, size_t f, const float *u, float *out)
{
	cand_factor_scores_blas(V, n, f, u, out);
}
