/* rs_blas: OpenBLAS's kernels for the CPU the process runs on.
 *
 * OpenBLAS (Debian's build: DYNAMIC_ARCH) picks its kernels from the CPU's family and model
 * when the library is loaded, before main. Debian 12's 0.3.21 falls back to its oldest x86-64
 * kernels, "Prescott" (SSE3), for an Intel model it does not know, whatever the CPU can do
 * (OpenBLAS issue #4267, fixed in 0.3.25 by falling back on the CPU's features): an Emerald
 * Rapids Xeon (family 6, model 207, AVX-512) got SSE3 sgemv, ssyrk and Cholesky in every
 * process. The library reads OPENBLAS_CORETYPE at load time only, so rs_blas_init runs the
 * program again, once, with it set to the kernels the CPU's features allow.
 *
 * Its threads too: loaded, OpenBLAS starts a worker per core but one, and an idle worker spins
 * (sched_yield) for 2^28 TSC ticks (its default timeout) before it sleeps, after the load and after
 * every call that used it. Every program here runs its own threads and calls
 * openblas_set_num_threads itself (1, or EASE's count for its BLAS-3 factorisation, which
 * starts the workers then); a worker spinning beside them takes a core away from them (on 2
 * cores, rs-train's ALS lost most of its second thread: docs/BENCHMARKS.md). Loaded with
 * OPENBLAS_NUM_THREADS=1 it starts none. */
#ifndef RS_BLAS_H
#define RS_BLAS_H

#include <stddef.h>

/* CPU features the choice depends on (what the CPU and the OS's saved state allow). */
enum {
	RS_CPU_AVX2 = 1u << 0,
	RS_CPU_FMA = 1u << 1,
	RS_CPU_AVX512 = 1u << 2, /* F, CD, BW, DQ and VL: what OpenBLAS's SkylakeX kernels use */
};

/* rs_cpu_features: this CPU's RS_CPU_* bits. */
unsigned rs_cpu_features(void);

/* rs_blas_core_for: the OPENBLAS_CORETYPE to ask for when OpenBLAS chose `detected` on a CPU
 * with `features`: "SkylakeX" or "Haswell" when it fell back to "Prescott" (any case) on a
 * CPU that has AVX-512 or AVX2 and FMA; NULL (keep what it chose) otherwise. */
const char *rs_blas_core_for(const char *detected, unsigned features);

/* rs_blas_init: first thing in main of a program that calls BLAS (the test suites that do
 * call it from a constructor: tests/support/blas_kernels.c). When OPENBLAS_CORETYPE is unset and
 * rs_blas_core_for names better kernels than the ones loaded, sets it (and RS_BLAS_DETECTED to
 * what OpenBLAS had chosen); when OPENBLAS_NUM_THREADS is unset and OpenBLAS started workers,
 * sets it to 1. Then executes the program's file (/proc/self/exe's target, so the process
 * keeps its name) again, once for both, with the arguments in /proc/self/cmdline: it does not
 * return then. Returns otherwise (also when that fails: the process goes on as loaded, the
 * variables removed again). Variables set by the caller are left alone. */
void rs_blas_init(void);

/* rs_blas_describe: " blas=<core>" and, after rs_blas_init replaced OpenBLAS's choice,
 * " blas_detected=<its choice>", into buf (for a service's svc.ready line). */
void rs_blas_describe(char *buf, size_t n);

#endif
