/* rs_blas: see rs_blas.h. */
#include "rs_blas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* OpenBLAS's own queries (cblas.h declares them; the prototypes are repeated so that this file
 * does not depend on which cblas.h the include path finds first). */
char *openblas_get_corename(void);
int openblas_get_num_threads(void);

#define BLAS_DETECTED_ENV "RS_BLAS_DETECTED"

unsigned
rs_cpu_features(void)
{
	unsigned f = 0;
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2"))
		f |= RS_CPU_AVX2;
	if (__builtin_cpu_supports("fma"))
		f |= RS_CPU_FMA;
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
	    __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
	    __builtin_cpu_supports("avx512vl"))
		f |= RS_CPU_AVX512;
#endif
	return f;
}

const char *
rs_blas_core_for(const char *detected, unsigned features)
{
	if (detected == NULL || strcasecmp(detected, "prescott") != 0)
		return NULL;
	if ((features & (RS_CPU_AVX512 | RS_CPU_AVX2 | RS_CPU_FMA)) ==
	    (RS_CPU_AVX512 | RS_CPU_AVX2 | RS_CPU_FMA))
		return "SkylakeX";
	if ((features & (RS_CPU_AVX2 | RS_CPU_FMA)) == (RS_CPU_AVX2 | RS_CPU_FMA))
		return "Haswell";
	return NULL;
}

/* The program's arguments from /proc/self/cmdline (NUL-terminated strings): a NULL-terminated
 * array in one allocation, or NULL. */
static char **
blas_cmdline(void)
{
	char buf[8192];
	size_t n = 0, r;
	FILE *f = fopen("/proc/self/cmdline", "rb");

	if (f == NULL)
		return NULL;
	while (n < sizeof(buf) && (r = fread(buf + n, 1, sizeof(buf) - n, f)) > 0)
		n += r;
	int longer = fgetc(f) != EOF;
	fclose(f);
	if (n == 0 || longer || buf[n - 1] != '\0')
		return NULL; /* empty, or longer than the buffer: not worth more code */
	size_t argc = 0;
	for (size_t i = 0; i < n; i++)
		argc += buf[i] == '\0';
	char **argv = malloc((argc + 1) * sizeof(char *) + n);
	if (argv == NULL)
		return NULL;
	char *strs = (char *) (argv + argc + 1);
	memcpy(strs, buf, n);
	for (size_t i = 0, a = 0; a < argc; a++) {
		argv[a] = strs + i;
		i += strlen(strs + i) + 1;
	}
	argv[argc] = NULL;
	return argv;
}

void
rs_blas_init(void)
{
	const char *detected = openblas_get_corename();
	const char *core = getenv("OPENBLAS_CORETYPE") == NULL
	                           ? rs_blas_core_for(detected, rs_cpu_features())
	                           : NULL;
	int one_thread = getenv("OPENBLAS_NUM_THREADS") == NULL && openblas_get_num_threads() > 1;
	char **argv;
	if ((core == NULL && !one_thread) || (argv = blas_cmdline()) == NULL)
		return;
	/* The program's own path, not /proc/self/exe: the kernel names a process after the file
	 * it executes ("exe" would be what ps, top and the logs show). */
	char path[4096];
	const char *exe = "/proc/self/exe";
	ssize_t len = readlink(exe, path, sizeof(path) - 1);
	if (len > 0 && (size_t) len < sizeof(path) - 1) {
		path[len] = '\0';
		if (access(path, X_OK) == 0) /* still there (a deleted one reads "... (deleted)") */
			exe = path;
	}
	if ((core == NULL || (setenv("OPENBLAS_CORETYPE", core, 1) == 0 &&
	                      setenv(BLAS_DETECTED_ENV, detected, 1) == 0)) &&
	    (!one_thread || setenv("OPENBLAS_NUM_THREADS", "1", 1) == 0))
		execv(exe, argv);
	/* Not executed: go on as loaded, the variables as they were. */
	if (core != NULL) {
		unsetenv("OPENBLAS_CORETYPE");
		unsetenv(BLAS_DETECTED_ENV);
	}
	if (one_thread)
		unsetenv("OPENBLAS_NUM_THREADS");
	free(argv);
}

void
rs_blas_describe(char *buf, size_t n)
{
	const char *detected = getenv(BLAS_DETECTED_ENV);
	snprintf(buf, n, " blas=%s%s%s", openblas_get_corename(),
	         detected != NULL ? " blas_detected=" : "", detected != NULL ? detected : "");
}
