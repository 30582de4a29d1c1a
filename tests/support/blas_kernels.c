/* Linked into the test suites that call BLAS (candidate, feature, trainer): they run on the
 * kernels the services and rs-train run on (common/rs_blas.h; the runner executes itself again
 * before main when OpenBLAS fell back to SSE3 on a CPU with AVX2 and FMA). */
#include "rs_blas.h"

__attribute__((constructor)) static void
tests_blas_kernels(void)
{
	rs_blas_init();
}
