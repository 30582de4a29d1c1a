/* util: small helpers shared by the trainer modules.
 *
 * Out-of-memory policy: rs-train is a batch job, so tr_xmalloc/tr_xcalloc/tr_xrealloc log
 * the size and abort instead of returning NULL. Allocations whose size follows from the
 * data and may be huge (EASE's dense matrices) are checked against a budget BEFORE they
 * are made, with a clear message (see ease.c).
 *
 * Errors: functions that can fail for reasons a user should see take a tr_error *, write
 * a one-line, lowercase message into it (file and line for bad input) and return a
 * negative RS_E* code (common/rs_err.h). The message is printed once, by main.c. */
#ifndef TR_UTIL_H
#define TR_UTIL_H

#include <stddef.h>
#include <stdint.h>

typedef struct tr_error {
	char msg[768];
} tr_error;

/* tr_error_set: format a message into err (if err is not NULL); returns rv for chaining. */
int tr_error_set(tr_error *err, int rv, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void *tr_xmalloc(size_t n);
void *tr_xcalloc(size_t count, size_t size);
void *tr_xrealloc(void *p, size_t n);
char *tr_xstrdup(const char *s);

/* tr_now: monotonic seconds. */
double tr_now(void);

/* tr_nthreads: worker threads to use: $RS_TRAIN_THREADS if set, else the online CPUs. */
int tr_nthreads(void);

/* tr_parallel_for: run fn(ctx, begin, end, tid) over [0, n) in chunks of `chunk` on
 * nthreads threads (tid in [0, nthreads)). Chunks are handed out dynamically, so uneven
 * rows balance. Runs inline when nthreads <= 1. */
typedef void (*tr_range_fn)(void *ctx, size_t begin, size_t end, int tid);
void tr_parallel_for(size_t n, size_t chunk, int nthreads, tr_range_fn fn, void *ctx);

/* tr_progress: when stderr is a terminal, redraw one line "what done/total, ETA s" (the
 * estimate assumes constant speed since t0); done == total ends the line. No-op otherwise. */
void tr_progress(const char *what, size_t done, size_t total, double t0);

/* tr_read_file: read a whole file into a NUL-terminated buffer (*out, caller frees).
 * Returns 0, or RS_EIO with err naming the path. */
int tr_read_file(const char *path, char **out, size_t *len, tr_error *err);

/* tr_path_join: "dir/name" into buf (size n). Returns buf. */
char *tr_path_join(char *buf, size_t n, const char *dir, const char *name);

/* tr_mkdir_p: create a directory and its parents (existing is fine). 0 or RS_EIO. */
int tr_mkdir_p(const char *path, tr_error *err);

/* tr_blob_write/read: raw arrays in a model folder. read checks the exact byte size
 * (RS_ECORRUPT otherwise) and returns a tr_xmalloc'ed buffer the caller frees. */
int tr_blob_write(const char *dir, const char *name, const void *data, size_t bytes, tr_error *err);
int tr_blob_read(const char *dir, const char *name, size_t bytes, void **out, tr_error *err);

#endif
