/* rs-blas-probe: what blas_test.c runs: rs_blas_init as a program's main does, then one line,
 * rs_blas_describe's, on stdout. */
#include <stdio.h>

#include "rs_blas.h"

int
main(void)
{
	char line[128];

	rs_blas_init();
	rs_blas_describe(line, sizeof(line));
	printf("%s\n", line);
	return 0;
}
