/* rs_blas_probe: what blas_test.c runs: rs_blas_init as a program's main does, then one line on
 * stdout: rs_blas_describe's, the process's name (/proc/self/comm), OpenBLAS's thread count and
 * the process's threads (/proc/self/task). With the argument "grow", asks OpenBLAS for 2
 * threads and runs one product first, as EASE does. */
#include <cblas.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_blas.h"

static int
probe_tasks(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

int
main(int argc, char **argv)
{
	char line[128];
	char comm[64] = "?";

	rs_blas_init();
	if (argc > 1 && strcmp(argv[1], "grow") == 0) {
		enum { N = 256 };
		float *a = calloc((size_t) N * N, sizeof(float)),
		      *c = calloc((size_t) N * N, sizeof(float));
		if (a == NULL || c == NULL)
			return 1;
		openblas_set_num_threads(2);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, a, N, a, N,
		            0.0f, c, N);
		free(a);
		free(c);
	}
	rs_blas_describe(line, sizeof(line));
	FILE *f = fopen("/proc/self/comm", "r");
	if (f != NULL) {
		if (fgets(comm, sizeof(comm), f) == NULL)
			snprintf(comm, sizeof(comm), "?");
		comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	printf("%s comm=%s threads=%d tasks=%d\n", line, comm, openblas_get_num_threads(),
	       probe_tasks());
	return 0;
}
