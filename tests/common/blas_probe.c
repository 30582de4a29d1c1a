/* rs_blas_probe: what blas_test.c runs: rs_blas_init as a program's main does, then one line on
 * stdout, rs_blas_describe's and the process's name (/proc/self/comm). */
#include <stdio.h>
#include <string.h>

#include "rs_blas.h"

int
main(void)
{
	char line[128];

	char comm[64] = "?";
	rs_blas_init();
	rs_blas_describe(line, sizeof(line));
	FILE *f = fopen("/proc/self/comm", "r");
	if (f != NULL) {
		if (fgets(comm, sizeof(comm), f) == NULL)
			snprintf(comm, sizeof(comm), "?");
		comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	printf("%s comm=%s\n", line, comm);
	return 0;
}
