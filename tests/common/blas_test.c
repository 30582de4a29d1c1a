/* rs_blas: the kernels asked for, and a program that starts on OpenBLAS's fallback kernels or
 * with its spinning workers running again on the ones its CPU supports and without them
 * (tests/common/blas_probe.c, run as a program). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rs_blas.h"

#define ALL (RS_CPU_AVX512 | RS_CPU_AVX2 | RS_CPU_FMA)

Test(blas, core_for_the_fallback_only)
{
	cr_assert_str_eq(rs_blas_core_for("Prescott", ALL), "SkylakeX");
	cr_assert_str_eq(rs_blas_core_for("PRESCOTT", RS_CPU_AVX2 | RS_CPU_FMA), "Haswell");
	/* AVX-512 without AVX2 and FMA is no CPU; without FMA the Haswell kernels would fault */
	cr_assert_null(rs_blas_core_for("Prescott", RS_CPU_AVX512 | RS_CPU_AVX2));
	cr_assert_null(rs_blas_core_for("Prescott", RS_CPU_AVX2));
	cr_assert_null(rs_blas_core_for("Prescott", 0));
	/* a choice OpenBLAS made from the model is kept, even a worse one */
	cr_assert_null(rs_blas_core_for("Haswell", ALL));
	cr_assert_null(rs_blas_core_for("Sandybridge", ALL));
	cr_assert_null(rs_blas_core_for(NULL, ALL));
}

/* The probe's one line, run with OPENBLAS_CORETYPE set to `coretype` and OPENBLAS_NUM_THREADS
 * to `threads` (NULL: unset), and `arg` (NULL: none). */
static void
probe(const char *coretype, const char *threads, const char *arg, char *line, size_t n)
{
	char cmd[4096];
	if (coretype != NULL)
		setenv("OPENBLAS_CORETYPE", coretype, 1);
	else
		unsetenv("OPENBLAS_CORETYPE");
	if (threads != NULL)
		setenv("OPENBLAS_NUM_THREADS", threads, 1);
	else
		unsetenv("OPENBLAS_NUM_THREADS");
	unsetenv("RS_BLAS_DETECTED");
	snprintf(cmd, sizeof(cmd), "%s%s%s", RS_BLAS_PROBE, arg != NULL ? " " : "",
	         arg != NULL ? arg : "");
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p, "cannot run %s", cmd);
	line[0] = '\0';
	char *got = fgets(line, (int) n, p);
	cr_assert_eq(pclose(p), 0, "%s failed", cmd);
	cr_assert_not_null(got, "%s printed nothing", cmd);
	line[strcspn(line, "\n")] = '\0';
}

/* OpenBLAS's workers for 2 threads on this machine (it starts no more than there are CPUs). */
static int
two_or_cpus(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus >= 2 ? 2 : 1;
}

/* OpenBLAS's own choice on this CPU, read through the variables it honours: the probe with
 * OPENBLAS_CORETYPE naming a core prints that core and that nothing was replaced; with
 * OPENBLAS_NUM_THREADS=2, OpenBLAS's two threads (a worker beside the main one). */
Test(blas, caller_choice_is_kept)
{
	char line[128], want[128];
	probe("Prescott", "2", NULL, line, sizeof(line));
	snprintf(want, sizeof(want), " blas=Prescott comm=rs_blas_probe threads=%d tasks=%d",
	         two_or_cpus(), two_or_cpus());
	cr_assert_str_eq(line, want);
}

/* On a CPU with AVX2 and FMA a program never stays on the SSE3 fallback: either OpenBLAS knew
 * the model, or rs_blas_init ran the program again with the kernels the features allow (and
 * says which it replaced), under the program's own name (not "exe"). Either way it runs
 * without OpenBLAS's workers (one thread: the program's own). */
Test(blas, fallback_replaced_on_this_cpu)
{
	char line[128], want[128];
	unsigned f = rs_cpu_features();
	probe(NULL, NULL, NULL, line, sizeof(line));
	cr_assert(strncmp(line, " blas=", 6) == 0, "probe printed \"%s\"", line);
	const char *at = strstr(line, " blas_detected=");
	if (at != NULL) {
		char detected[64];
		at += strlen(" blas_detected=");
		snprintf(detected, sizeof(detected), "%.*s", (int) strcspn(at, " "), at);
		const char *core = rs_blas_core_for(detected, f);
		cr_assert_not_null(core, "replaced %s on a CPU without the features: \"%s\"",
		                   detected, line);
		snprintf(want, sizeof(want),
		         " blas=%s blas_detected=%s comm=rs_blas_probe threads=1 tasks=1", core,
		         detected);
		cr_assert_str_eq(line, want, "the program runs again under its own name");
	}
	if ((f & (RS_CPU_AVX2 | RS_CPU_FMA)) == (RS_CPU_AVX2 | RS_CPU_FMA))
		cr_assert(strncmp(line, " blas=Prescott", 14) != 0,
		          "AVX2 and FMA, still on OpenBLAS's SSE3 kernels: \"%s\"", line);
	cr_assert(strstr(line, " comm=rs_blas_probe threads=1 tasks=1") != NULL,
	          "OpenBLAS's workers started beside the program: \"%s\"", line);
}

/* Loaded without workers, OpenBLAS still starts them when the program asks (EASE's
 * factorisation sets its thread count before its BLAS-3 calls). */
Test(blas, workers_start_when_asked)
{
	char line[128], want[64];
	probe(NULL, NULL, "grow", line, sizeof(line));
	snprintf(want, sizeof(want), " comm=rs_blas_probe threads=%d tasks=%d", two_or_cpus(),
	         two_or_cpus());
	cr_assert(strstr(line, want) != NULL, "probe printed \"%s\", want \"%s\"", line, want);
}
