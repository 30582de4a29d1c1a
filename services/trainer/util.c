/* util: see util.h. */
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rs_err.h"

int
tr_error_set(tr_error *err, int rv, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return rv;
}

static void
util_oom(size_t n)
{
	fprintf(stderr, "rs-train: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
tr_xmalloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);

	if (p == NULL)
		util_oom(n);
	return p;
}

void *
tr_xcalloc(size_t count, size_t size)
{
	void *p;

	if (count == 0 || size == 0)
		count = size = 1;
	p = calloc(count, size);
	if (p == NULL)
		util_oom(count * size);
	return p;
}

void *
tr_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n == 0 ? 1 : n);

	if (q == NULL)
		util_oom(n);
	return q;
}

char *
tr_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = tr_xmalloc(n);

	memcpy(p, s, n);
	return p;
}

double
tr_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

int
tr_nthreads(void)
{
	const char *s = getenv("RS_TRAIN_THREADS");
	long n;

	if (s != NULL && (n = strtol(s, NULL, 10)) > 0 && n <= 1024)
		return (int) n;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int) n : 1;
}

struct pfor {
	size_t n, chunk;
	_Atomic size_t next;
	tr_range_fn fn;
	void *ctx;
	int tid;
	struct pfor *shared;
};

static void *
pfor_worker(void *arg)
{
	struct pfor *w = arg, *s = w->shared;
	size_t b;

	while ((b = atomic_fetch_add(&s->next, s->chunk)) < s->n) {
		size_t e = b + s->chunk < s->n ? b + s->chunk : s->n;
		s->fn(s->ctx, b, e, w->tid);
	}
	return NULL;
}

void
tr_parallel_for(size_t n, size_t chunk, int nthreads, tr_range_fn fn, void *ctx)
{
	struct pfor shared, *workers;
	pthread_t *th;
	int t, started;

	if (n == 0)
		return;
	if (chunk == 0)
		chunk = 1;
	if (nthreads <= 1 || n <= chunk) {
		fn(ctx, 0, n, 0);
		return;
	}
	shared.n = n;
	shared.chunk = chunk;
	atomic_init(&shared.next, 0);
	shared.fn = fn;
	shared.ctx = ctx;
	workers = tr_xcalloc((size_t) nthreads, sizeof(*workers));
	th = tr_xcalloc((size_t) nthreads, sizeof(*th));
	started = 0;
	for (t = 1; t < nthreads; t++) {
		workers[t].tid = t;
		workers[t].shared = &shared;
		if (pthread_create(&th[t], NULL, pfor_worker, &workers[t]) != 0)
			break; /* fewer threads: the rest still runs on this one */
		started = t;
	}
	workers[0].tid = 0;
	workers[0].shared = &shared;
	pfor_worker(&workers[0]);
	for (t = 1; t <= started; t++)
		pthread_join(th[t], NULL);
	free(th);
	free(workers);
}

void
tr_progress(const char *what, size_t done, size_t total, double t0)
{
	double el = tr_now() - t0;

	if (!isatty(2) || total == 0)
		return;
	fprintf(stderr, "\r%s %zu/%zu, %.1fs elapsed, ETA %.1fs   ", what, done, total, el,
	        done > 0 ? el * (double) (total - done) / (double) done : 0.0);
	if (done >= total)
		fputc('\n', stderr);
}

int
tr_read_file(const char *path, char **out, size_t *len, tr_error *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (f == NULL)
		return tr_error_set(err, RS_EIO, "%s: cannot open: %s", path, strerror(errno));
	for (;;) {
		if (cap - n < (1u << 20)) {
			cap = cap ? cap * 2 : (1u << 22);
			buf = tr_xrealloc(buf, cap + 1);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return tr_error_set(err, RS_EIO, "%s: read error", path);
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	if (len != NULL)
		*len = n;
	return 0;
}

char *
tr_path_join(char *buf, size_t n, const char *dir, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
	return buf;
}

int
tr_mkdir_p(const char *path, tr_error *err)
{
	char tmp[4096];
	size_t i, n = strlen(path);

	if (n == 0 || n >= sizeof(tmp))
		return tr_error_set(err, RS_EINVAL, "bad directory name '%s'", path);
	memcpy(tmp, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (tmp[i] == '/' || tmp[i] == '\0') {
			char c = tmp[i];
			tmp[i] = '\0';
			if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
				return tr_error_set(err, RS_EIO, "%s: cannot create directory: %s",
				                    tmp, strerror(errno));
			tmp[i] = c;
		}
	}
	return 0;
}

int
tr_blob_write(const char *dir, const char *name, const void *data, size_t bytes, tr_error *err)
{
	char path[4096];
	FILE *f;

	tr_path_join(path, sizeof(path), dir, name);
	if ((f = fopen(path, "wb")) == NULL)
		return tr_error_set(err, RS_EIO, "%s: cannot create: %s", path, strerror(errno));
	int bad = bytes > 0 && fwrite(data, 1, bytes, f) != bytes;
	if (fclose(f) != 0) /* closed whether or not the write failed */
		bad = 1;
	if (bad)
		return tr_error_set(err, RS_EIO, "%s: write failed", path);
	return 0;
}

int
tr_blob_read(const char *dir, const char *name, size_t bytes, void **out, tr_error *err)
{
	char path[4096];
	FILE *f;
	struct stat st;
	void *buf;

	tr_path_join(path, sizeof(path), dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		return tr_error_set(err, RS_EIO, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) != 0 || (size_t) st.st_size != bytes) {
		fclose(f);
		return tr_error_set(err, RS_ECORRUPT, "%s: expected %zu bytes, found %lld", path,
		                    bytes, (long long) st.st_size);
	}
	buf = tr_xmalloc(bytes);
	if (bytes > 0 && fread(buf, 1, bytes, f) != bytes) {
		fclose(f);
		free(buf);
		return tr_error_set(err, RS_EIO, "%s: read failed", path);
	}
	fclose(f);
	*out = buf;
	return 0;
}
